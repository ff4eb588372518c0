import { sql, type Kysely, type Migration } from 'kysely';

/**
 * One table of single-use tokens. A password-setup link (`setup_tokens`) and the verification,
 * reset and cancel tokens (`verification_tokens`) are one idea: the hash of a secret handed to one
 * principal for one purpose, valid until it expires, used at most once (a conditional update).
 * The setup tokens move into `verification_tokens` under the purpose `password_setup`, their
 * subject being the principal itself; their id is derived from the hash they already had.
 * Enrolment grants stay apart: they carry who issued them and why, and are decided again when the
 * factor they admitted is enabled (G3), which a token table does not know about.
 */
export const migration0013: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      insert into verification_tokens
        (id, token_hash, account_id, principal_id, purpose, subject_id, created_at, expires_at, used_at, attempts)
      select 'st_' || substr(token_hash, 1, 29), token_hash, account_id, principal_id, purpose, principal_id,
             created_at, expires_at, used_at, 0
      from setup_tokens`.execute(db);
    await db.schema.dropTable('setup_tokens').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('setup_tokens')
      .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull().references('principals.id'))
      .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await sql`
      insert into setup_tokens (token_hash, account_id, principal_id, purpose, created_at, expires_at, used_at)
      select token_hash, account_id, principal_id, purpose, created_at, expires_at, used_at
      from verification_tokens where purpose = 'password_setup'`.execute(db);
    await sql`delete from verification_tokens where purpose = 'password_setup'`.execute(db);
  },
};
