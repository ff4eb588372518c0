import type { Kysely, Migration } from 'kysely';

/**
 * Contact channels, one-time verification links and codes (hashed), self-service recovery and
 * help-desk reset requests with their evidence and approvals, per-account recovery and alert
 * settings, alerts, and the delivery state of the outbox (claims, retries, recipients).
 */
export const migration0006: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('contacts')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('kind', 'varchar(8)', (c) => c.notNull())
      .addColumn('address', 'varchar(320)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('verified_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('contacts_principal')
      .on('contacts')
      .columns(['account_id', 'principal_id'])
      .execute();

    await db.schema
      .createTable('verification_tokens')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('purpose', 'varchar(24)', (c) => c.notNull())
      .addColumn('subject_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('verification_tokens_subject')
      .on('verification_tokens')
      .columns(['purpose', 'subject_id'])
      .execute();

    await db.schema
      .createTable('recovery_requests')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('state', 'varchar(24)', (c) => c.notNull())
      .addColumn('requested_by', 'varchar(32)')
      .addColumn('evidence', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('email_verified_at', 'bigint')
      .addColumn('phone_verified_at', 'bigint')
      .addColumn('approvals_required', 'integer', (c) => c.notNull())
      .addColumn('wait_ms', 'bigint', (c) => c.notNull())
      .addColumn('wait_until', 'bigint')
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .addColumn('cancelled_at', 'bigint')
      .addColumn('cancelled_by', 'varchar(64)')
      .execute();
    await db.schema
      .createIndex('recovery_requests_principal')
      .on('recovery_requests')
      .columns(['account_id', 'principal_id'])
      .execute();
    await db.schema
      .createIndex('recovery_requests_due')
      .on('recovery_requests')
      .columns(['state', 'wait_until'])
      .execute();

    await db.schema
      .createTable('recovery_approvals')
      .addColumn('request_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('approver_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('recovery_approvals_pk', ['request_id', 'approver_id'])
      .execute();

    await db.schema
      .createTable('recovery_settings')
      .addColumn('account_id', 'varchar(12)', (c) => c.primaryKey())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('alerts')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('rule_id', 'varchar(40)', (c) => c.notNull())
      .addColumn('severity', 'varchar(16)', (c) => c.notNull())
      .addColumn('event_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)')
      .addColumn('summary', 'varchar(200)', (c) => c.notNull())
      .addColumn('details', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('alerts_rule_event', ['rule_id', 'event_id'])
      .execute();
    await db.schema
      .createIndex('alerts_account')
      .on('alerts')
      .columns(['account_id', 'created_at'])
      .execute();

    // Delivery state: who the message goes to, when it may be tried next, and the claim of the
    // worker sending it (so two servers never send one message at once).
    for (const [name, type] of [
      ['recipient', 'varchar(320)'],
      ['next_attempt_at', 'bigint'],
      ['claim_id', 'varchar(40)'],
      ['claimed_until', 'bigint'],
      ['last_error', 'varchar(200)'],
      ['failed_at', 'bigint'],
    ] as const) {
      await db.schema.alterTable('outbox').addColumn(name, type).execute();
    }
    await db.schema.createIndex('outbox_due').on('outbox').columns(['sent_at', 'next_attempt_at']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('outbox_due').execute();
    for (const name of [
      'failed_at',
      'last_error',
      'claimed_until',
      'claim_id',
      'next_attempt_at',
      'recipient',
    ]) {
      await db.schema.alterTable('outbox').dropColumn(name).execute();
    }
    for (const table of [
      'alerts',
      'recovery_settings',
      'recovery_approvals',
      'recovery_requests',
      'verification_tokens',
      'contacts',
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
