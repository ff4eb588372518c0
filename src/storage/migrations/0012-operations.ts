import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/**
 * Columns whose width a caller (or the server itself) could exceed. PostgreSQL enforces
 * `varchar(N)` and answers "value too long" with an error that would turn a refusal into a 500
 * or stop a background job for good; SQLite does not enforce lengths, so nothing changes there.
 *
 * - `outbox.claim_id`: a delivery worker's claim is `wrk_<uuid>:<pass>` (42 characters and more).
 * - `outbox.recipient`: alert webhook URLs are as long as the operator makes them.
 * - `outbox.last_error`: kept to 200 characters by the repository; widened for longer transport errors.
 * - `audit_log.target`: ARNs reach 2,048 characters (IAM); what is written is bounded as well.
 * - `audit_log.source_ip`, `sessions.source_ip`: a client address as a trusted proxy reports it.
 * - `throttle.key`: built from the account and login as typed (63 + 254 characters and a prefix).
 * - `alerts.summary`: built from an action and an error code.
 */
const WIDENED: ReadonlyArray<{ table: string; column: string; length: number }> = [
  { table: 'outbox', column: 'claim_id', length: 128 },
  { table: 'outbox', column: 'recipient', length: 2048 },
  { table: 'outbox', column: 'last_error', length: 1000 },
  { table: 'audit_log', column: 'target', length: 2048 },
  { table: 'audit_log', column: 'source_ip', length: 128 },
  { table: 'sessions', column: 'source_ip', length: 128 },
  { table: 'throttle', column: 'key', length: 1024 },
  { table: 'alerts', column: 'summary', length: 1000 },
];

/** Widens the columns above on PostgreSQL (only where the column exists and is narrower). */
export const migration0012: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    for (const { table, column, length } of WIDENED) {
      const found = await sql<{ width: number | null }>`
        select character_maximum_length as width from information_schema.columns
        where table_schema = current_schema() and table_name = ${table} and column_name = ${column}`.execute(
        db,
      );
      const width = found.rows[0]?.width;
      if (width === undefined || width === null || width >= length) continue;
      await sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} type varchar(${sql.lit(length)})`.execute(
        db,
      );
    }
  },
};
