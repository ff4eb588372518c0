import { sql, type Kysely } from 'kysely';
import {
  recordThrottleFailure,
  throttleExpiresAt,
  throttleWaitMs,
  MAX_THROTTLE_WINDOW_MS,
} from '../../core/throttle.js';
import type { KnownClient, ThrottleRepository } from '../../core/ports.js';
import type { KnownClientTable, Schema } from '../schema.js';

function toKnownClient(r: KnownClientTable): KnownClient {
  return {
    id: r.id,
    accountId: r.account_id,
    principalId: r.principal_id,
    kind: r.kind === 'token' ? 'token' : 'source',
    secretHash: r.secret_hash,
    createdAt: Number(r.created_at),
    lastUsedAt: Number(r.last_used_at),
    expiresAt: Number(r.expires_at),
  };
}

/** Throttle counters and known clients on Kysely (shared by every server process on the same database). */
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
        expires_at: Math.max(state.nextAllowedAt, state.lastFailureAt + MAX_THROTTLE_WINDOW_MS),
      };
      await db
        .insertInto('throttle')
        .values(values)
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            failures: values.failures,
            last_failure_at: values.last_failure_at,
            next_allowed_at: values.next_allowed_at,
            expires_at: values.expires_at,
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
        .values({
          key,
          failures: 0,
          last_failure_at: now,
          next_allowed_at: 0,
          expires_at: now + policy.windowMs,
        })
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
          expires_at: throttleExpiresAt(policy, next),
        })
        .where('key', '=', key)
        .execute();
      return { allowed: true, waitMs: 0 };
    },
    async release(key) {
      await db
        .updateTable('throttle')
        // The attempt succeeded: it neither counts nor leaves the caller a wait.
        .set({ failures: sql`case when failures > 0 then failures - 1 else 0 end`, next_allowed_at: 0 })
        .where('key', '=', key)
        .execute();
    },
    async prune(now) {
      const throttles = await db.deleteFrom('throttle').where('expires_at', '<=', now).executeTakeFirst();
      const clients = await db.deleteFrom('known_clients').where('expires_at', '<=', now).executeTakeFirst();
      return Number(throttles.numDeletedRows) + Number(clients.numDeletedRows);
    },
    async findKnownClient({ secretHash, now }) {
      const row = await db
        .selectFrom('known_clients')
        .selectAll()
        .where('secret_hash', '=', secretHash)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row ? toKnownClient(row) : null;
    },
    async rememberKnownClient({ client, keep }) {
      await db
        .insertInto('known_clients')
        .values({
          id: client.id,
          account_id: client.accountId,
          principal_id: client.principalId,
          kind: client.kind,
          secret_hash: client.secretHash,
          created_at: client.createdAt,
          last_used_at: client.lastUsedAt,
          expires_at: client.expiresAt,
        })
        .onConflict((oc) =>
          oc.column('secret_hash').doUpdateSet({
            last_used_at: client.lastUsedAt,
            expires_at: client.expiresAt,
          }),
        )
        .execute();
      // Bounded per principal: the least recently used beyond `keep` are forgotten.
      const stale = await db
        .selectFrom('known_clients')
        .select('id')
        .where('principal_id', '=', client.principalId)
        .where('kind', '=', client.kind)
        .orderBy('last_used_at', 'desc')
        .orderBy('id', 'desc')
        .offset(keep)
        .limit(1000)
        .execute();
      if (stale.length > 0) {
        await db
          .deleteFrom('known_clients')
          .where(
            'id',
            'in',
            stale.map((r) => r.id),
          )
          .execute();
      }
    },
  };
}
