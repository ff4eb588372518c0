import type { Kysely, Migration } from 'kysely';

/**
 * WebAuthn: the credential behind each `webauthn` factor (the factor row itself lives in
 * `factors`, so limits, names, listing and removal apply unchanged), the server-side ceremony
 * challenges (single use, short-lived), and each account's imported FIDO metadata.
 */
export const migration0005: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('webauthn_credentials')
      .addColumn('factor_id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull())
      // base64url of at most 1023 bytes (WebAuthn Level 3 §7.1 step 24) is at most 1364 characters.
      .addColumn('credential_id', 'varchar(1400)', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('algorithm', 'integer', (c) => c.notNull())
      .addColumn('sign_count', 'bigint', (c) => c.notNull())
      .addColumn('transports', 'text', (c) => c.notNull())
      .addColumn('aaguid', 'varchar(36)', (c) => c.notNull())
      .addColumn('backup_eligible', 'integer', (c) => c.notNull())
      .addColumn('backed_up', 'integer', (c) => c.notNull())
      .addColumn('user_verified', 'integer', (c) => c.notNull())
      .addColumn('attestation_format', 'varchar(32)', (c) => c.notNull())
      .addColumn('attestation_verified', 'integer', (c) => c.notNull())
      .addColumn('aaguid_allowed', 'integer', (c) => c.notNull())
      .addColumn('discoverable', 'integer', (c) => c.notNull())
      .addColumn('user_handle', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addUniqueConstraint('webauthn_credentials_account_credential', ['account_id', 'credential_id'])
      .execute();
    await db.schema
      .createIndex('webauthn_credentials_principal')
      .on('webauthn_credentials')
      .columns(['account_id', 'principal_id'])
      .execute();

    await db.schema
      .createTable('webauthn_challenges')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
      .addColumn('challenge', 'varchar(128)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(12)')
      .addColumn('principal_id', 'varchar(32)')
      .addColumn('session_id', 'varchar(32)')
      .addColumn('flow_id', 'varchar(32)')
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('webauthn_challenges_expires')
      .on('webauthn_challenges')
      .column('expires_at')
      .execute();

    await db.schema
      .createTable('webauthn_metadata')
      .addColumn('account_id', 'varchar(12)', (c) => c.primaryKey())
      .addColumn('serial_number', 'bigint', (c) => c.notNull())
      .addColumn('next_update', 'varchar(10)', (c) => c.notNull())
      .addColumn('entries', 'text', (c) => c.notNull())
      .addColumn('imported_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['webauthn_metadata', 'webauthn_challenges', 'webauthn_credentials']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
