import type { Kysely } from 'kysely';
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
  };
}
