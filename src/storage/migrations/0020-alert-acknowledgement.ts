import type { Kysely, Migration } from 'kysely';

/**
 * An administrator acknowledges an alert with a note: when, who, and what they wrote. An index on
 * (account_id, created_at) keeps the console's filtered list of an account's alerts a range read.
 */
export const migration0020: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('alerts').addColumn('acknowledged_at', 'bigint').execute();
    await db.schema.alterTable('alerts').addColumn('acknowledged_by', 'varchar(32)').execute();
    await db.schema.alterTable('alerts').addColumn('acknowledged_note', 'varchar(500)').execute();
    await db.schema
      .createIndex('alerts_account_created')
      .on('alerts')
      .columns(['account_id', 'created_at'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('alerts_account_created').execute();
    await db.schema.alterTable('alerts').dropColumn('acknowledged_note').execute();
    await db.schema.alterTable('alerts').dropColumn('acknowledged_by').execute();
    await db.schema.alterTable('alerts').dropColumn('acknowledged_at').execute();
  },
};
