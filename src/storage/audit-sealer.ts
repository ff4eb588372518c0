/**
 * The audit sealer for PostgreSQL (docs/audit-log.md, "Sealing on PostgreSQL").
 *
 * Request transactions append audit records with a sequence number from the `audit_log_seq`
 * sequence and no hashes ("unsealed"): nothing serialises them, so several processes write in
 * parallel. The sealer then links the committed records into the hash chain in sequence order.
 * Only one sealer runs at a time across every process (a transaction-scoped advisory lock that
 * request transactions never take). A sequence number below the highest present one that has
 * no row belongs to a transaction still in flight or one that rolled back: the sealer claims it
 * with `INSERT ... ON CONFLICT (seq) DO NOTHING` of a void record. That insert waits for an
 * in-flight transaction holding the same key, so no timeout is involved: if that transaction
 * commits, its row stays; if it rolled back, the void record takes the number. Voids are
 * hashed into the chain like any record, so a record deleted after sealing is still a gap.
 */
import { sql, type Kysely } from 'kysely';
import { parseArchiveAnchor, ARCHIVE_ANCHOR_KEY } from '../core/audit/archive.js';
import { computeRecordHash, GENESIS_HASH } from '../core/audit/chain.js';
import { voidAuditRecord } from '../core/audit/event.js';
import type { AuditSealResult } from '../core/ports.js';
import { toAuditRecord } from './repositories/audit.js';
import type { Schema } from './schema.js';

/** Advisory-lock key held by the one sealer at work (never by a request transaction). */
const SEAL_LOCK_KEY = 0x486f6c65;
/** Records read and linked per statement. */
const SEAL_BATCH = 500;
/** A commit schedules a pass this long after it, so commits arriving together share one pass. */
const SEAL_DELAY_MS = 5;
/** When another process held the sealing lock, the next look comes this much later. */
const SEAL_BUSY_RETRY_MS = 50;

/** The sealer of one process. */
export interface AuditSealer {
  /** One pass, waiting for a pass of another process to finish first. */
  seal(): Promise<AuditSealResult>;
  /** Asks for a pass soon, in the background (debounced; never delays the caller). */
  soon(): void;
}

/** Links every committed unsealed record; `wait: false` gives up (null) when another pass holds the lock. */
async function sealPass(db: Kysely<Schema>, wait: boolean): Promise<AuditSealResult | null> {
  return db.transaction().execute(async (trx) => {
    if (wait) {
      await sql`select pg_advisory_xact_lock(${SEAL_LOCK_KEY})`.execute(trx);
    } else {
      const { rows } = await sql<{
        ok: boolean;
      }>`select pg_try_advisory_xact_lock(${SEAL_LOCK_KEY}) as ok`.execute(trx);
      if (rows[0]?.ok !== true) return null;
    }
    const result: AuditSealResult = { sealed: 0, voided: [] };
    const last = await trx
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .where('hash', 'is not', null)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    let prev: { seq: number; hash: string };
    if (last !== undefined) {
      prev = { seq: Number(last.seq), hash: last.hash! };
    } else {
      // Nothing sealed in the table: the chain starts at genesis, or after an archived part.
      const stored = await trx
        .selectFrom('meta')
        .select('value')
        .where('key', '=', ARCHIVE_ANCHOR_KEY)
        .executeTakeFirst();
      const anchor = parseArchiveAnchor(stored?.value ?? null);
      prev = anchor === null ? { seq: 0, hash: GENESIS_HASH } : { seq: anchor.seq, hash: anchor.hash };
    }
    const top = await trx
      .selectFrom('audit_log')
      .select((eb) => eb.fn.max('seq').as('max'))
      .executeTakeFirst();
    const max = top?.max === null || top?.max === undefined ? 0 : Number(top.max);
    while (prev.seq < max) {
      const upTo = Math.min(prev.seq + SEAL_BATCH, max);
      const range = () =>
        trx
          .selectFrom('audit_log')
          .selectAll()
          .where('seq', '>', prev.seq)
          .where('seq', '<=', upTo)
          .orderBy('seq')
          .execute();
      let rows = await range();
      if (rows.length < upTo - prev.seq) {
        const present = new Set(rows.map((r) => Number(r.seq)));
        for (let seq = prev.seq + 1; seq <= upTo; seq++) {
          if (present.has(seq)) continue;
          // Waits for a transaction in flight with this number; claims it only if that rolled back.
          const v = voidAuditRecord(seq, Date.now());
          const claimed = await trx
            .insertInto('audit_log')
            .values({
              seq: v.seq,
              event_id: v.eventId,
              time: v.time,
              account_id: v.accountId,
              actor_type: v.actorType,
              actor_id: v.actorId,
              action: v.action,
              target: v.target,
              source_ip: v.sourceIp,
              user_agent: v.userAgent,
              outcome: v.outcome,
              error_code: v.errorCode,
              details: JSON.stringify(v.details),
              prev_hash: null,
              hash: null,
            })
            .onConflict((oc) => oc.column('seq').doNothing())
            .returning('seq')
            .executeTakeFirst();
          if (claimed !== undefined) result.voided.push(seq);
        }
        rows = await range();
      }
      const links: Array<{ seq: number; prevHash: string; hash: string }> = [];
      for (const row of rows) {
        const seq = Number(row.seq);
        // Only a gap-free run is linked; a row that is already sealed here was not written by us.
        if (seq !== prev.seq + 1 || row.hash !== null) break;
        const record = { ...toAuditRecord(row), prevHash: prev.hash };
        const hash = computeRecordHash(record);
        links.push({ seq, prevHash: prev.hash, hash });
        prev = { seq, hash };
      }
      if (links.length === 0) break;
      await sql`update audit_log as a set prev_hash = v.prev_hash, hash = v.hash
        from (values ${sql.join(links.map((l) => sql`(${l.seq}::bigint, ${l.prevHash}, ${l.hash})`))})
          as v(seq, prev_hash, hash)
        where a.seq = v.seq and a.hash is null`.execute(trx);
      result.sealed += links.length;
      if (prev.seq < upTo) break;
    }
    return result;
  });
}

/** The sealer over the database's root handle (never a request transaction's). */
export function auditSealer(db: Kysely<Schema>): AuditSealer {
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let again = false;

  const pass = async () => {
    timer = null;
    running = true;
    again = false;
    let busy = false;
    try {
      busy = (await sealPass(db, false)) === null;
    } catch {
      // A failed pass (database closing, statement timeout) leaves the records for the next one.
    } finally {
      running = false;
    }
    // Another process was sealing: it may have looked before our commit, so look again.
    if (busy) schedule(SEAL_BUSY_RETRY_MS);
    else if (again) schedule(SEAL_DELAY_MS);
  };

  const schedule = (delayMs: number) => {
    if (running) {
      again = true;
      return;
    }
    if (timer !== null) return;
    timer = setTimeout(() => void pass(), delayMs);
    timer.unref();
  };

  return {
    seal: async () => (await sealPass(db, true))!,
    soon: () => schedule(SEAL_DELAY_MS),
  };
}
