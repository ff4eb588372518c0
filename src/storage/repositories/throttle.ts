import { sql, type Kysely } from 'kysely';
import { recordThrottleFailure, throttleWaitMs } from '../../core/throttle.js';
import type { ThrottleRepository } from '../../core/ports.js';
import type { Schema } from '../schema.js';

/** Throttle counters on Kysely (shared by every server process on the same database). */
export function throttleRepository(db: Kysely<Schema>): ThrottleRepository {
  return {
    async get(keys) {
      if (keys.length === 0) return [];
      const rows = await db
        .selectFrom('throttle')
        .selectAll()
        .where('key', 'in', [...keys])
        .execute();
      return rows.map((r) => ({
        key: r.key,
        failures: r.failures,
        lastFailureAt: r.last_failure_at,
        nextAllowedAt: r.next_allowed_at,
      }));
    },
    async put(state) {
      const values = {
        key: state.key,
        failures: state.failures,
        last_failure_at: state.lastFailureAt,
        next_allowed_at: state.nextAllowedAt,
      };
      await db
        .insertInto('throttle')
        .values(values)
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            failures: values.failures,
            last_failure_at: values.last_failure_at,
            next_allowed_at: values.next_allowed_at,
          }),
        )
        .execute();
    },
    async clear(key) {
      await db.deleteFrom('throttle').where('key', '=', key).execute();
    },
    async hit({ key, policy, now }) {
      // Runs inside a transaction: SQLite's BEGIN IMMEDIATE serialises writers; on PostgreSQL
      // the row lock taken by INSERT ... ON CONFLICT DO UPDATE does, until commit.
      // One statement creates or locks the row and returns it (a concurrent success may have
      // just deleted it, so a separate insert-then-select could find nothing).
      const row = await db
        .insertInto('throttle')
        .values({ key, failures: 0, last_failure_at: now, next_allowed_at: 0 })
        .onConflict((oc) => oc.column('key').doUpdateSet({ key: (eb) => eb.ref('excluded.key') }))
        .returningAll()
        .executeTakeFirstOrThrow();
      const state = {
        key,
        failures: row.failures,
        lastFailureAt: row.last_failure_at,
        nextAllowedAt: row.next_allowed_at,
      };
      const waitMs = throttleWaitMs(state, now);
      if (waitMs > 0) return { allowed: false, waitMs };
      const next = recordThrottleFailure(policy, { state: row.failures === 0 ? null : state, key, now });
      await db
        .updateTable('throttle')
        .set({
          failures: next.failures,
          last_failure_at: next.lastFailureAt,
          next_allowed_at: next.nextAllowedAt,
        })
        .where('key', '=', key)
        .execute();
      return { allowed: true, waitMs: 0 };
    },
    async release(key) {
      await db
        .updateTable('throttle')
        .set({ failures: sql`case when failures > 0 then failures - 1 else 0 end` })
        .where('key', '=', key)
        .execute();
    },
  };
}
