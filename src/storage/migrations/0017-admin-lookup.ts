import type { Kysely, Migration } from 'kysely';

/**
 * The active owners and admins of an account are looked up on their own (notifications, the
 * alert scanner's enrolment-window sweep): an index on (account_id, role, status) keeps that a
 * lookup of a few rows when the account holds a million users.
 */
export const migration0017: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex('principals_account_role_status')
      .on('principals')
      .columns(['account_id', 'role', 'status'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('principals_account_role_status').execute();
  },
};
