import type { Kysely, Migration } from 'kysely';

/**
 * Signed checkpoints of the audit chain head: (sequence, hash, time) and an HMAC over them under
 * a key derived from the master key. Rows are only ever added; `audit verify` checks each one.
 */
export const migration0011: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('audit_checkpoints')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('time', 'bigint', (c) => c.notNull())
      .addColumn('mac', 'varchar(64)', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('audit_checkpoints_seq')
      .on('audit_checkpoints')
      .columns(['seq', 'id'])
      .execute();
  },
};
