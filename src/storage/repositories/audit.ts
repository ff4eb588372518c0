import { sql, type Kysely } from 'kysely';
import { computeRecordHash, GENESIS_HASH } from '../../core/audit/chain.js';
import type { AuditCheckpoint } from '../../core/audit/checkpoint.js';
import {
  AUDIT_VOID_ACTION,
  type ActorType,
  type AuditOutcome,
  type AuditRecord,
  type SealedAuditRecord,
} from '../../core/audit/event.js';
import type { AuditRepository } from '../../core/ports.js';
import type { Dialect } from '../connect.js';
import type { AuditCheckpointsTable, AuditLogTable, Schema } from '../schema.js';

/**
 * Tries of one PostgreSQL append: a number is lost only when the sealer claimed it as void
 * between `nextval` and the row reaching the index, or rows were written with explicit numbers.
 */
const APPEND_TRIES = 5;

/** Sequence numbers per `in (...)` lookup (well below every engine's parameter limit). */
const HASH_LOOKUP_BATCH = 500;

function toCheckpoint(row: AuditCheckpointsTable): AuditCheckpoint {
  return { id: row.id, seq: Number(row.seq), hash: row.hash, time: Number(row.time), mac: row.mac };
}

/** A stored row as a record (null hashes while unsealed). */
export function toAuditRecord(row: AuditLogTable): AuditRecord {
  return {
    seq: Number(row.seq),
    eventId: row.event_id,
    time: Number(row.time),
    accountId: row.account_id,
    actorType: row.actor_type as ActorType,
    actorId: row.actor_id,
    action: row.action,
    target: row.target,
    sourceIp: row.source_ip,
    userAgent: row.user_agent,
    outcome: row.outcome as AuditOutcome,
    errorCode: row.error_code,
    details: JSON.parse(row.details),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** The row of a record; the hashes stay null until it is sealed. */
function rowOf(record: AuditRecord): AuditLogTable {
  return {
    seq: record.seq,
    event_id: record.eventId,
    time: record.time,
    account_id: record.accountId,
    actor_type: record.actorType,
    actor_id: record.actorId,
    action: record.action,
    target: record.target,
    source_ip: record.sourceIp,
    user_agent: record.userAgent,
    outcome: record.outcome,
    error_code: record.errorCode,
    details: JSON.stringify(record.details),
    prev_hash: record.prevHash,
    hash: record.hash,
  };
}

/**
 * The audit log on Kysely. `append` must run inside a transaction. On SQLite the transaction is
 * BEGIN IMMEDIATE, which already serialises writers, so the record is linked to the last one
 * at once. On PostgreSQL the record takes the next number of the `audit_log_seq` sequence
 * (not transactional: no lock, no wait for other writers) and is written unsealed; the sealer
 * (storage/audit-sealer.ts) links it into the chain once it has committed.
 */
export function auditRepository(db: Kysely<Schema>, dialect: Dialect): AuditRepository {
  return {
    async append(event, { now, eventId }) {
      if (dialect === 'postgres') {
        const record: AuditRecord = { ...event, seq: 0, eventId, time: now, prevHash: null, hash: null };
        for (let attempt = 1; ; attempt++) {
          const inserted = await db
            .insertInto('audit_log')
            .values({ ...rowOf(record), seq: sql<number>`nextval('audit_log_seq')` })
            // The number was claimed as void meanwhile (or written explicitly): take the next one.
            .onConflict((oc) => oc.column('seq').doNothing())
            .returning('seq')
            .executeTakeFirst();
          if (inserted !== undefined) return { ...record, seq: Number(inserted.seq) };
          if (attempt === APPEND_TRIES) throw new Error('no free audit sequence number');
          // Rows written with explicit numbers (a restore): move the sequence past them.
          await sql`select setval('audit_log_seq', greatest((select coalesce(max(seq), 1) from audit_log), (select last_value from audit_log_seq)))`.execute(
            db,
          );
        }
      }
      const last = await db
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const unhashed = {
        ...event,
        seq: last ? Number(last.seq) + 1 : 1,
        eventId,
        time: now,
        prevHash: last ? last.hash! : GENESIS_HASH,
      };
      const record: SealedAuditRecord = { ...unhashed, hash: computeRecordHash(unhashed) };
      await db.insertInto('audit_log').values(rowOf(record)).execute();
      return record;
    },
    async scan(afterSeq, limit) {
      const rows = await db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>', afterSeq)
        .where('hash', 'is not', null)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((row) => toAuditRecord(row) as SealedAuditRecord);
    },
    async query(q) {
      let query = db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>', q.afterSeq ?? 0);
      if (q.accountId !== undefined) query = query.where('account_id', '=', q.accountId);
      if (q.action !== undefined) query = query.where('action', '=', q.action);
      if (q.actorId !== undefined) query = query.where('actor_id', '=', q.actorId);
      if (q.beforeSeq !== undefined) query = query.where('seq', '<', q.beforeSeq);
      if (q.target !== undefined) query = query.where('target', '=', q.target);
      if (q.outcome !== undefined) query = query.where('outcome', '=', q.outcome);
      if (q.fromTime !== undefined) query = query.where('time', '>=', q.fromTime);
      if (q.toTime !== undefined) query = query.where('time', '<', q.toTime);
      const about = q.about;
      if (about !== undefined) {
        query = query.where((eb) => eb.or([eb('actor_id', '=', about), eb('target', '=', about)]));
      }
      const rows = await query
        .orderBy('seq', q.newestFirst === true ? 'desc' : 'asc')
        .limit(q.limit)
        .execute();
      return rows.map(toAuditRecord);
    },
    async count() {
      const row = await db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('action', '!=', AUDIT_VOID_ACTION)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async countUnsealed() {
      const row = await db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('hash', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async head() {
      const row = await db
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .where('hash', 'is not', null)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? null : { seq: Number(row.seq), hash: row.hash! };
    },
    async hashesAt(seqs) {
      const found = new Map<number, string>();
      for (let i = 0; i < seqs.length; i += HASH_LOOKUP_BATCH) {
        const chunk = seqs.slice(i, i + HASH_LOOKUP_BATCH);
        const rows = await db
          .selectFrom('audit_log')
          .select(['seq', 'hash'])
          .where('seq', 'in', chunk)
          .execute();
        for (const row of rows) if (row.hash !== null) found.set(Number(row.seq), row.hash);
      }
      return found;
    },
    async insertCheckpoint(c) {
      await db
        .insertInto('audit_checkpoints')
        .values({ id: c.id, seq: c.seq, hash: c.hash, time: c.time, mac: c.mac })
        .execute();
    },
    async latestCheckpoint() {
      const row = await db
        .selectFrom('audit_checkpoints')
        .selectAll()
        .orderBy('time', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? null : toCheckpoint(row);
    },
    async scanCheckpoints(after, limit) {
      let query = db.selectFrom('audit_checkpoints').selectAll();
      if (after !== null) {
        query = query.where((eb) =>
          eb.or([eb('seq', '>', after.seq), eb.and([eb('seq', '=', after.seq), eb('id', '>', after.id)])]),
        );
      }
      const rows = await query.orderBy('seq').orderBy('id').limit(limit).execute();
      return rows.map(toCheckpoint);
    },
    async deleteThrough(seq) {
      const checkpoints = await db.deleteFrom('audit_checkpoints').where('seq', '<=', seq).executeTakeFirst();
      const records = await db.deleteFrom('audit_log').where('seq', '<=', seq).executeTakeFirst();
      return {
        records: Number(records.numDeletedRows),
        checkpoints: Number(checkpoints.numDeletedRows),
      };
    },
    async alertEventsMissing(limit, createdAfter) {
      const rows = await db
        .selectFrom('alerts')
        .select('alerts.event_id')
        .where('alerts.created_at', '>', createdAfter ?? -1)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('audit_log')
                .select('audit_log.seq')
                .whereRef('audit_log.event_id', '=', 'alerts.event_id'),
            ),
          ),
        )
        .orderBy('alerts.event_id')
        .distinct()
        .limit(limit)
        .execute();
      return rows.map((row) => row.event_id);
    },
  };
}
