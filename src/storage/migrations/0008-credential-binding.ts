import { sql, type Kysely, type Migration } from 'kysely';

/**
 * What a session or temporary credential was derived from, so that it ends with that credential:
 * - `sessions.factor_ids`: the factors verified in the session (space-separated ids, in order);
 * - `temporary_credentials.factor_id`: the factor whose code minted it (null: no MFA);
 * - `temporary_credentials.source_key_id`: the long-term access key at the start of its chain;
 * - `factors.enrolment_grant_id`: the enrolment grant that admitted a pending factor, so that
 *   enabling it re-checks admission without asking for the (already used) grant again.
 * The issue time of a temporary credential is its `created_at`.
 */
export const migration0008: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('sessions')
      .addColumn('factor_ids', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema.alterTable('temporary_credentials').addColumn('factor_id', 'varchar(64)').execute();
    await db.schema.alterTable('temporary_credentials').addColumn('source_key_id', 'varchar(32)').execute();
    await db.schema.alterTable('factors').addColumn('enrolment_grant_id', 'varchar(64)').execute();
    await db.schema
      .createIndex('temporary_credentials_source_key')
      .on('temporary_credentials')
      .column('source_key_id')
      .execute();

    // Live rows from before: fill in what they were derived from.
    await sql`update temporary_credentials set source_key_id = parent_key_id where parent_key_id like 'AKIA%'`.execute(
      db,
    );
    const creds = await sql<{ id: string; mfa: string }>`
      select id, mfa from temporary_credentials where mfa is not null and revoked_at is null`.execute(db);
    for (const row of creds.rows) {
      const factorId = (JSON.parse(row.mfa) as { factorId?: unknown }).factorId;
      if (typeof factorId === 'string' && factorId.length > 0 && factorId.length <= 64) {
        await sql`update temporary_credentials set factor_id = ${factorId} where id = ${row.id}`.execute(db);
      }
    }
    const sessions = await sql<{ id: string; auth: string }>`
      select id, auth from sessions where revoked_at is null`.execute(db);
    for (const row of sessions.rows) {
      const factorId = (JSON.parse(row.auth) as { factor?: { factorId?: unknown } | null }).factor?.factorId;
      if (typeof factorId === 'string' && factorId.length > 0) {
        await sql`update sessions set factor_ids = ${factorId} where id = ${row.id}`.execute(db);
      }
    }
  },
};
