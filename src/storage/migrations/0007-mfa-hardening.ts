import type { Kysely, Migration } from 'kysely';

/**
 * Second-factor hardening:
 * - `recovery_codes.provenance`: `mfa` for a set issued from an MFA session of a principal that
 *   had an enabled factor, `legacy` for every set written before this migration (they never count
 *   as a second factor), `void` for a set left over when a principal's first factor is enabled;
 *   `issued_factor_id` / `issued_session_id` name the factor and session a set was issued from.
 * - `mfa_state.suspended_until`: a suspension lifts by itself at that time.
 * - `mfa_state.budget_until`: the per-principal guessing budget (GCRA theoretical arrival time,
 *   docs/mfa.md); `known_sources`: the source keys a second factor succeeded from (JSON).
 */
export const migration0007: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('recovery_codes')
      .addColumn('provenance', 'varchar(16)', (c) => c.notNull().defaultTo('legacy'))
      .execute();
    await db.schema.alterTable('recovery_codes').addColumn('issued_factor_id', 'varchar(64)').execute();
    await db.schema.alterTable('recovery_codes').addColumn('issued_session_id', 'varchar(64)').execute();
    await db.schema.alterTable('mfa_state').addColumn('suspended_until', 'bigint').execute();
    await db.schema
      .alterTable('mfa_state')
      .addColumn('budget_until', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('mfa_state')
      .addColumn('known_sources', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  },
};
