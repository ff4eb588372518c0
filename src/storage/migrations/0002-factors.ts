import type { Kysely, Migration } from 'kysely';

/** Second factors, recovery codes, the hardware token inventory, MFA failure state and the outbox. */
export const migration0002: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('factors')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull().references('principals.id'))
      .addColumn('kind', 'varchar(32)', (c) => c.notNull())
      .addColumn('name', 'varchar(64)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('assurance', 'varchar(32)', (c) => c.notNull())
      .addColumn('admin_provisioned', 'integer', (c) => c.notNull())
      .addColumn('hardware_token_id', 'varchar(32)')
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('last_counter', 'bigint')
      .addColumn('drift_steps', 'integer', (c) => c.notNull())
      .addColumn('failed_attempts', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('enabled_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .addColumn('pending_session_id', 'varchar(32)')
      .addColumn('pending_expires_at', 'bigint')
      .addColumn('pending_attempts', 'integer', (c) => c.notNull())
      .addUniqueConstraint('factors_principal_name', ['principal_id', 'name'])
      .execute();
    await db.schema
      .createIndex('factors_account_principal')
      .on('factors')
      .columns(['account_id', 'principal_id'])
      .execute();

    await db.schema
      .createTable('recovery_codes')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull().references('principals.id'))
      .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('recovery_codes_principal')
      .on('recovery_codes')
      .columns(['principal_id', 'code_hash'])
      .execute();

    await db.schema
      .createTable('hardware_tokens')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('serial', 'varchar(128)', (c) => c.notNull())
      .addColumn('manufacturer', 'varchar(128)')
      .addColumn('model', 'varchar(128)')
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)')
      .addColumn('factor_id', 'varchar(32)')
      .addColumn('import_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('imported_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('hardware_tokens_account_serial', ['account_id', 'serial'])
      .execute();

    await db.schema
      .createTable('mfa_state')
      .addColumn('principal_id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('consecutive_failures', 'integer', (c) => c.notNull())
      .addColumn('suspended_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('outbox')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)')
      .addColumn('principal_id', 'varchar(32)')
      .addColumn('channel', 'varchar(16)', (c) => c.notNull())
      .addColumn('template', 'varchar(64)', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('sent_at', 'bigint')
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['outbox', 'mfa_state', 'hardware_tokens', 'recovery_codes', 'factors']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
