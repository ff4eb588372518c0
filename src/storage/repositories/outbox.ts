import type { Kysely } from 'kysely';
import type { Dialect } from '../connect.js';
import type { OutboxEntry, OutboxRepository } from '../../core/ports.js';
import type { OutboxTable, Schema } from '../schema.js';

function toEntry(r: OutboxTable): OutboxEntry {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: r.id,
    accountId: r.account_id,
    principalId: r.principal_id,
    channel: r.channel as OutboxEntry['channel'],
    template: r.template,
    payload: JSON.parse(r.payload),
    createdAt: Number(r.created_at),
    recipient: r.recipient,
    attempts: Number(r.attempts),
    sentAt: num(r.sent_at),
    failedAt: num(r.failed_at),
    nextAttemptAt: num(r.next_attempt_at),
    lastError: r.last_error,
  };
}

/** The transactional outbox on Kysely. */
export function outboxRepository(db: Kysely<Schema>, dialect: Dialect): OutboxRepository {
  return {
    async insert(m) {
      await db
        .insertInto('outbox')
        .values({
          id: m.id,
          account_id: m.accountId,
          principal_id: m.principalId,
          channel: m.channel,
          template: m.template,
          payload: JSON.stringify(m.payload),
          created_at: m.createdAt,
          sent_at: null,
          attempts: 0,
          recipient: m.recipient ?? null,
          next_attempt_at: null,
          claim_id: null,
          claimed_until: null,
          last_error: null,
          failed_at: null,
        })
        .execute();
    },
    async listForPrincipal(principalId) {
      const rows = await db
        .selectFrom('outbox')
        .selectAll()
        .where('principal_id', '=', principalId)
        .orderBy('created_at')
        .execute();
      return rows.map(toEntry);
    },
    async claimDue({ now, limit, claimId, leaseMs, channels }) {
      if (channels.length === 0) return [];
      // The same conditions sit on the outer UPDATE: PostgreSQL re-checks them on a row another
      // worker updated meanwhile (READ COMMITTED), so a row is never claimed twice at once. On
      // PostgreSQL the candidates skip rows another worker holds, so two workers polling at the
      // same moment take different messages instead of the second finding the first's and none.
      // (SQLite serialises writers: the second sees the first's claims.)
      const candidates = db
        .selectFrom('outbox')
        .select('id')
        .where('sent_at', 'is', null)
        .where('failed_at', 'is', null)
        .where('channel', 'in', channels)
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .orderBy('created_at')
        .limit(limit);
      const due = dialect === 'postgres' ? candidates.forUpdate().skipLocked() : candidates;
      await db
        .updateTable('outbox')
        .set({ claim_id: claimId, claimed_until: now + leaseMs })
        .where('id', 'in', due)
        .where('sent_at', 'is', null)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .execute();
      const rows = await db
        .selectFrom('outbox')
        .selectAll()
        .where('claim_id', '=', claimId)
        .where('sent_at', 'is', null)
        .orderBy('created_at')
        .execute();
      return rows.map(toEntry);
    },
    async markSent({ id, claimId, now, payload }) {
      const result = await db
        .updateTable('outbox')
        .set((eb) => ({
          sent_at: now,
          attempts: eb('attempts', '+', 1),
          payload: JSON.stringify(payload),
          claimed_until: null,
          last_error: null,
        }))
        .where('id', '=', id)
        .where('claim_id', '=', claimId)
        .where('sent_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async markFailed({ id, claimId, now, error, nextAttemptAt }) {
      await db
        .updateTable('outbox')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          last_error: error.slice(0, 200),
          next_attempt_at: nextAttemptAt,
          failed_at: nextAttemptAt === null ? now : null,
          claimed_until: null,
        }))
        .where('id', '=', id)
        .where('claim_id', '=', claimId)
        .execute();
    },
    async backlog() {
      // Undelivered rows only: the outbox_due index (sent_at first) finds them without a scan
      // of the delivered ones, so a scrape costs as much as the backlog, not the table.
      const rows = await db
        .selectFrom('outbox')
        .select((eb) => [
          'channel',
          eb.fn
            .sum<number | string | null>(eb.case().when('failed_at', 'is', null).then(1).else(0).end())
            .as('pending'),
          eb.fn
            .sum<number | string | null>(eb.case().when('failed_at', 'is', null).then(0).else(1).end())
            .as('failed'),
          eb.fn
            .min<number | string | null>(
              eb.case().when('failed_at', 'is', null).then(eb.ref('created_at')).end(),
            )
            .as('oldest'),
        ])
        .where('sent_at', 'is', null)
        .groupBy('channel')
        .execute();
      return rows.map((r) => ({
        channel: r.channel as OutboxEntry['channel'],
        pending: Number(r.pending ?? 0),
        failed: Number(r.failed ?? 0),
        oldestPendingAt: r.oldest === null ? null : Number(r.oldest),
      }));
    },
    async deleteSentBefore(before) {
      const result = await db
        .deleteFrom('outbox')
        .where('sent_at', 'is not', null)
        .where('sent_at', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async list({ accountId, pendingOnly, state, limit, offset }) {
      let q = db.selectFrom('outbox').selectAll();
      if (accountId !== undefined) q = q.where('account_id', '=', accountId);
      if (pendingOnly === true) q = q.where('sent_at', 'is', null);
      if (state === 'sent') q = q.where('sent_at', 'is not', null);
      if (state === 'failed') q = q.where('sent_at', 'is', null).where('failed_at', 'is not', null);
      if (state === 'pending') q = q.where('sent_at', 'is', null).where('failed_at', 'is', null);
      const rows = await q
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .offset(offset ?? 0)
        .execute();
      return rows.map(toEntry);
    },
  };
}
