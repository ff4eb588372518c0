import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/**
 * Audit appends without a shared lock on PostgreSQL (docs/audit-log.md, "Sealing on
 * PostgreSQL"): a sequence hands out record numbers, starting after the highest number used so
 * far (a record still in the table, or the last one archived), and a record's hashes may be
 * null until the sealer links it. SQLite has one writer and keeps sealing each record as it is
 * written: nothing changes there. A void record (a number whose transaction rolled back) is an
 * ordinary row with its own action name, so no column is needed for it.
 */
export const migration0021: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await sql`create sequence if not exists audit_log_seq as bigint`.execute(db);
    const { rows } = await sql<{ top: string | null }>`
      select greatest(
        (select max(seq) from audit_log),
        (select (value::json->>'seq')::bigint from meta where key = 'audit_archive_anchor')
      ) as top`.execute(db);
    const top = rows[0]?.top === null || rows[0]?.top === undefined ? 0 : Number(rows[0].top);
    if (top > 0) await sql`select setval('audit_log_seq', ${top})`.execute(db);
    await sql`alter table audit_log alter column prev_hash drop not null`.execute(db);
    await sql`alter table audit_log alter column hash drop not null`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await sql`drop sequence if exists audit_log_seq`.execute(db);
  },
};
