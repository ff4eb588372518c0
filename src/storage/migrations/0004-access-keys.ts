import type { Kysely, Migration } from 'kysely';

/**
 * The AWS-compatible face: long-term access keys (secrets sealed: SigV4 is symmetric, so they
 * must be recoverable), temporary STS credentials (secret sealed, session token as SHA-256
 * only, with the MFA facts of the session), roles with their trust policies, and the serial
 * numbers of virtual MFA devices created through IAM.
 */
export const migration0004: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('access_keys')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull().references('principals.id'))
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('last_used_service', 'varchar(16)')
      .addColumn('deactivated_by_guardrail', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('access_keys_principal')
      .on('access_keys')
      .columns(['account_id', 'principal_id'])
      .execute();

    await db.schema
      .createTable('temporary_credentials')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('source', 'varchar(16)', (c) => c.notNull())
      .addColumn('role_id', 'varchar(32)')
      .addColumn('role_session_name', 'varchar(64)')
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('mfa', 'text')
      .addColumn('parent_key_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('temporary_credentials_principal')
      .on('temporary_credentials')
      .columns(['account_id', 'principal_id'])
      .execute();

    await db.schema
      .createTable('aws_roles')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('name', 'varchar(64)', (c) => c.notNull())
      // Lower-cased name: IAM role names are unique case-insensitively.
      .addColumn('name_key', 'varchar(64)', (c) => c.notNull())
      .addColumn('path', 'varchar(512)', (c) => c.notNull())
      .addColumn('description', 'varchar(1000)', (c) => c.notNull())
      .addColumn('trust_policy', 'text', (c) => c.notNull())
      .addColumn('max_session_duration', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('aws_roles_account_name', ['account_id', 'name_key'])
      .execute();

    await db.schema
      .createTable('aws_mfa_devices')
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('serial_number', 'varchar(256)', (c) => c.notNull())
      .addColumn('name', 'varchar(64)', (c) => c.notNull())
      .addColumn('path', 'varchar(512)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('factor_id', 'varchar(32)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('aws_mfa_devices_pk', ['account_id', 'serial_number'])
      .execute();
    await db.schema.createIndex('aws_mfa_devices_factor').on('aws_mfa_devices').column('factor_id').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['aws_mfa_devices', 'aws_roles', 'temporary_credentials', 'access_keys']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
