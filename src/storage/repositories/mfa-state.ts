import type { Kysely } from 'kysely';
import type { MfaState, MfaStateRepository } from '../../core/ports.js';
import type { MfaStateTable, Schema } from '../schema.js';
import { sql } from 'kysely';

function knownSourcesOf(text: string): MfaState['knownSources'] {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (e): e is { key: string; at: number } =>
        typeof e === 'object' &&
        e !== null &&
        typeof (e as { key?: unknown }).key === 'string' &&
        typeof (e as { at?: unknown }).at === 'number',
    );
  } catch {
    return [];
  }
}

function toState(row: MfaStateTable): MfaState {
  return {
    principalId: row.principal_id,
    accountId: row.account_id,
    consecutiveFailures: row.consecutive_failures,
    suspendedAt: row.suspended_at === null ? null : Number(row.suspended_at),
    updatedAt: Number(row.updated_at),
    suspendedUntil: row.suspended_until === null ? null : Number(row.suspended_until),
    budgetUntil: Number(row.budget_until),
    knownSources: knownSourcesOf(row.known_sources),
  };
}

/** MFA failure state on Kysely. */
export function mfaStateRepository(db: Kysely<Schema>): MfaStateRepository {
  return {
    async get(principalId) {
      const row = await db
        .selectFrom('mfa_state')
        .selectAll()
        .where('principal_id', '=', principalId)
        .executeTakeFirst();
      return row ? toState(row) : null;
    },
    async lock({ principalId, accountId, now }) {
      // One statement creates or locks the row (ON CONFLICT DO UPDATE takes the row lock on
      // PostgreSQL; SQLite transactions already run one at a time).
      const row = await db
        .insertInto('mfa_state')
        .values({
          principal_id: principalId,
          account_id: accountId,
          consecutive_failures: 0,
          suspended_at: null,
          updated_at: now,
          suspended_until: null,
          budget_until: 0,
          known_sources: '[]',
        })
        .onConflict((oc) =>
          oc.column('principal_id').doUpdateSet({ principal_id: (eb) => eb.ref('excluded.principal_id') }),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toState(row);
    },
    async put(state) {
      const values = {
        principal_id: state.principalId,
        account_id: state.accountId,
        consecutive_failures: state.consecutiveFailures,
        suspended_at: state.suspendedAt,
        updated_at: state.updatedAt,
        suspended_until: state.suspendedUntil,
        budget_until: state.budgetUntil,
        known_sources: JSON.stringify(state.knownSources),
      };
      await db
        .insertInto('mfa_state')
        .values(values)
        .onConflict((oc) =>
          oc.column('principal_id').doUpdateSet({
            consecutive_failures: values.consecutive_failures,
            suspended_at: values.suspended_at,
            updated_at: values.updated_at,
            suspended_until: values.suspended_until,
            budget_until: values.budget_until,
            known_sources: values.known_sources,
          }),
        )
        .execute();
    },
    async recordFailure({ principalId, accountId, now }) {
      // One statement increments and returns the new count, so concurrent failures each see
      // their own number.
      const row = await db
        .insertInto('mfa_state')
        .values({
          principal_id: principalId,
          account_id: accountId,
          consecutive_failures: 1,
          suspended_at: null,
          updated_at: now,
          suspended_until: null,
          budget_until: 0,
          known_sources: '[]',
        })
        .onConflict((oc) =>
          oc.column('principal_id').doUpdateSet({
            consecutive_failures: sql`mfa_state.consecutive_failures + 1`,
            updated_at: now,
          }),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toState(row);
    },
  };
}
