import type { Kysely, Migration } from 'kysely';

/**
 * Role sessions: the session policy an AssumeRole call passed (`Policy`), kept with the temporary
 * credential so every request of the session is capped by it. Role inline policies live in
 * `policies` (scope `role`, owner the role id) and attached managed policies in
 * `policy_attachments` (subject type `role`): no new table is needed for them.
 */
export const migration0014: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('temporary_credentials').addColumn('session_policy', 'text').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('temporary_credentials').dropColumn('session_policy').execute();
  },
};
