import { ARCHIVE_ANCHOR_KEY, parseArchiveAnchor, type ArchiveAnchor } from '../core/audit/archive.js';
import { ChainVerifier, type ChainBreak } from '../core/audit/chain.js';
import {
  CHECKPOINT_KEY_INFO,
  checkpointMessage,
  type AuditCheckpoint,
  type AuditIntegrityProblem,
  type ExpectedHead,
} from '../core/audit/checkpoint.js';
import {
  AUDIT_VOID_ACTION,
  type AuditOutcome,
  type AuditRecord,
  type SealedAuditRecord,
} from '../core/audit/event.js';
import type { AuditQuery } from '../core/ports.js';
import { HoldfastError } from '../core/errors.js';
import { constantTimeEqual, hkdfSha256, hmacHex } from '../core/crypto/hashing.js';
import { ACTIONS } from './actions.js';
import { ALERT_CURSOR_KEY } from './alerts.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, type AppDeps } from './deps.js';
import { anchorGenuine } from './retention.js';
import { peopleNamed } from './people.js';

const BATCH = 1000;

/** The most problems one verification lists (the first of each are what matter). */
const MAX_PROBLEMS = 100;
/** The most alert event ids one verification names. */
const MAX_MISSING_ALERT_EVENTS = 20;

/** Result of verifying the whole chain, its signed checkpoints and what else the database knows. */
export interface AuditVerification {
  ok: boolean;
  records: number;
  firstBroken: ChainBreak | null;
  /** The last record that verified (the head of an intact chain): keep `SEQ:HASH` elsewhere. */
  headSeq: number | null;
  headHash: string | null;
  /** How many checkpoints were checked, and the latest genuine one. */
  checkpoints: { total: number; latest: { seq: number; hash: string; time: number } | null };
  /** What is wrong beyond the chain's own links (tail cut off, rewrite, forged checkpoint...). */
  problems: AuditIntegrityProblem[];
  /** The last record moved to a segment file (`holdfast audit archive`); the live chain starts after it. */
  archivedThrough: { seq: number; hash: string } | null;
  /** Void records among those verified: numbers whose transaction rolled back (docs/audit-log.md). */
  voids: number;
  /**
   * Records written after the chain was sealed for this check, not yet linked (PostgreSQL):
   * not verified by this run, and no problem (the next check covers them).
   */
  unsealed: number;
}

/** The key checkpoints are signed with: HKDF (RFC 5869) from the installation secret sealed under the master key. */
function checkpointKey(deps: Pick<AppDeps, 'pepper'>): Buffer {
  return hkdfSha256(deps.pepper, CHECKPOINT_KEY_INFO);
}

function checkpointMac(key: Buffer, seq: number, hash: string, time: number): string {
  return hmacHex(key, checkpointMessage(seq, hash, time));
}

function checkpointGenuine(key: Buffer, c: AuditCheckpoint): boolean {
  return constantTimeEqual(checkpointMac(key, c.seq, c.hash, c.time), c.mac);
}

/** Reads the whole log in sequence order, in batches, after sealing what has committed. */
export async function* scanAudit(deps: AppDeps): AsyncGenerator<SealedAuditRecord> {
  await deps.store.sealAudit();
  let after = 0;
  for (;;) {
    const batch = await deps.store.audit.scan(after, BATCH);
    if (batch.length === 0) return;
    yield* batch;
    after = batch[batch.length - 1]!.seq;
  }
}

/** What one checkpoint pass did. */
export interface CheckpointResult {
  /** The checkpoint written, or null when the head had not moved since the latest one. */
  written: AuditCheckpoint | null;
  /** The latest genuine checkpoint no longer matches the chain (records cut off or rewritten). */
  inconsistent: Extract<
    AuditIntegrityProblem,
    { kind: 'checkpoint_beyond_head' | 'checkpoint_hash_mismatch' }
  > | null;
}

/**
 * Signs the chain's current head when it moved since the latest genuine checkpoint. Run by the
 * server every minute and on shutdown, and by every CLI command that appended records. A
 * checkpoint is never deleted or changed; `audit verify` checks each one against the chain.
 */
export async function writeAuditCheckpoint(deps: AppDeps): Promise<CheckpointResult> {
  const key = checkpointKey(deps);
  // A checkpoint names the head of the linked chain: link what has committed first.
  await deps.store.sealAudit();
  const head = await deps.store.audit.head();
  const latest = await deps.store.audit.latestCheckpoint();
  const genuine = latest !== null && checkpointGenuine(key, latest) ? latest : null;
  let inconsistent: CheckpointResult['inconsistent'] = null;
  if (genuine !== null) {
    if (head === null || genuine.seq > head.seq) {
      inconsistent = {
        kind: 'checkpoint_beyond_head',
        checkpointId: genuine.id,
        seq: genuine.seq,
        headSeq: head?.seq ?? 0,
      };
    } else if ((await deps.store.audit.hashesAt([genuine.seq])).get(genuine.seq) !== genuine.hash) {
      inconsistent = { kind: 'checkpoint_hash_mismatch', checkpointId: genuine.id, seq: genuine.seq };
    }
  }
  if (head === null) return { written: null, inconsistent };
  if (genuine !== null && genuine.seq === head.seq && genuine.hash === head.hash) {
    return { written: null, inconsistent };
  }
  // Strictly after the latest genuine checkpoint, so "the latest" is never ambiguous.
  const time = Math.max(deps.clock.now(), (genuine?.time ?? 0) + 1);
  const checkpoint: AuditCheckpoint = {
    id: newId(deps, 'ckp_'),
    seq: head.seq,
    hash: head.hash,
    time,
    mac: checkpointMac(key, head.seq, head.hash, time),
  };
  await deps.store.audit.insertCheckpoint(checkpoint);
  return { written: checkpoint, inconsistent };
}

/** Verifies the hash chain from the first record; stops at the first changed, deleted or inserted row. */
async function verifyChain(
  deps: AppDeps,
  onProgress: ((done: number, total: number) => void) | undefined,
  anchor: ArchiveAnchor | null,
): Promise<{
  records: number;
  voids: number;
  firstBroken: ChainBreak | null;
  head: { seq: number; hash: string } | null;
}> {
  const total = await deps.store.audit.count();
  // After an archive, the live chain starts at the signed anchor (core/audit/archive.ts).
  const verifier = new ChainVerifier(anchor === null ? null : { seq: anchor.seq, hash: anchor.hash });
  let head: { seq: number; hash: string } | null =
    anchor === null ? null : { seq: anchor.seq, hash: anchor.hash };
  let voids = 0;
  for await (const record of scanAudit(deps)) {
    const broken = verifier.check(record);
    if (broken !== null) return { records: verifier.count, voids, firstBroken: broken, head };
    if (record.action === AUDIT_VOID_ACTION) voids++;
    head = { seq: record.seq, hash: record.hash };
    if (verifier.count % BATCH === 0) onProgress?.(verifier.count, total);
  }
  onProgress?.(verifier.count, total);
  return { records: verifier.count, voids, firstBroken: null, head };
}

/**
 * Checks every checkpoint: its signature, then that the chain still holds the record it names
 * with the hash it names. Forged checkpoints are reported and otherwise ignored.
 */
async function verifyCheckpoints(
  deps: AppDeps,
  tableHead: { seq: number; hash: string } | null,
  problems: AuditIntegrityProblem[],
  anchor: ArchiveAnchor | null,
): Promise<AuditVerification['checkpoints']> {
  const key = checkpointKey(deps);
  let total = 0;
  let latest: AuditCheckpoint | null = null;
  let after: { seq: number; id: string } | null = null;
  for (;;) {
    const batch = await deps.store.audit.scanCheckpoints(after, BATCH);
    if (batch.length === 0) break;
    after = { seq: batch[batch.length - 1]!.seq, id: batch[batch.length - 1]!.id };
    total += batch.length;
    const genuine: AuditCheckpoint[] = [];
    for (const c of batch) {
      if (checkpointGenuine(key, c)) genuine.push(c);
      else problems.push({ kind: 'checkpoint_signature_invalid', checkpointId: c.id, seq: c.seq });
    }
    const headSeq = tableHead?.seq ?? 0;
    const hashes = await deps.store.audit.hashesAt(genuine.filter((c) => c.seq <= headSeq).map((c) => c.seq));
    for (const c of genuine) {
      if (anchor !== null && c.seq <= anchor.seq) {
        // Archived with its records: only the anchor's own record is still checkable here.
        if (c.seq === anchor.seq && c.hash !== anchor.hash) {
          problems.push({ kind: 'checkpoint_hash_mismatch', checkpointId: c.id, seq: c.seq });
        }
      } else if (c.seq > headSeq) {
        problems.push({ kind: 'checkpoint_beyond_head', checkpointId: c.id, seq: c.seq, headSeq });
      } else if (hashes.get(c.seq) !== c.hash) {
        problems.push({ kind: 'checkpoint_hash_mismatch', checkpointId: c.id, seq: c.seq });
      }
      if (latest === null || c.time > latest.time) latest = c;
    }
  }
  return {
    total,
    latest: latest === null ? null : { seq: latest.seq, hash: latest.hash, time: latest.time },
  };
}

/**
 * Verifies the audit log: the hash chain, then every signed checkpoint (a forged one, one beyond
 * the end, one whose record was rewritten), the head kept elsewhere when given, and what the
 * database already knows about the log (the alert scanner's cursor, alerts naming events).
 */
export async function verifyAudit(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx?: RequestContext;
    onProgress?: (done: number, total: number) => void;
    expectHead?: ExpectedHead;
  },
): Promise<AuditVerification> {
  await authorize(deps, input.actor, ACTIONS.VerifyAuditLog, { accountId: '' }, input.ctx);
  const problems: AuditIntegrityProblem[] = [];
  const storedAnchor = await deps.store.meta.get(ARCHIVE_ANCHOR_KEY);
  let anchor = parseArchiveAnchor(storedAnchor);
  if (storedAnchor !== null && (anchor === null || !anchorGenuine(deps, anchor))) {
    problems.push({ kind: 'archive_anchor_invalid' });
    anchor = null;
  }
  // Sealing first (PostgreSQL) links every record committed before this check began.
  await deps.store.sealAudit();
  const chain = await verifyChain(deps, input.onProgress, anchor);
  const tableHead = await deps.store.audit.head();
  const headSeq = tableHead?.seq ?? anchor?.seq ?? 0;
  const checkpoints = await verifyCheckpoints(deps, tableHead, problems, anchor);

  if (input.expectHead !== undefined) {
    const { seq, hash } = input.expectHead;
    if (anchor !== null && seq <= anchor.seq) {
      // Archived: the anchor's own record is checkable here; older ones in the segment files.
      if (seq === anchor.seq && hash !== anchor.hash) problems.push({ kind: 'expected_head_mismatch', seq });
    } else {
      const found = seq <= headSeq ? (await deps.store.audit.hashesAt([seq])).get(seq) : undefined;
      if (found === undefined) problems.push({ kind: 'expected_head_missing', seq, headSeq });
      else if (found !== hash) problems.push({ kind: 'expected_head_mismatch', seq });
    }
  }

  const cursor = Number((await deps.store.meta.get(ALERT_CURSOR_KEY)) ?? '0');
  if (Number.isFinite(cursor) && cursor > headSeq) {
    problems.push({ kind: 'alert_cursor_beyond_head', cursor, headSeq });
  }
  // Alerts raised before the last archive may name archived events (kept in the segment files).
  const missing = await deps.store.audit.alertEventsMissing(MAX_MISSING_ALERT_EVENTS, anchor?.time);
  if (missing.length > 0) problems.push({ kind: 'alert_event_missing', eventIds: missing });

  return {
    ok: chain.firstBroken === null && problems.length === 0,
    records: chain.records,
    firstBroken: chain.firstBroken,
    headSeq: chain.head?.seq ?? null,
    headHash: chain.head?.hash ?? null,
    checkpoints,
    problems: problems.slice(0, MAX_PROBLEMS),
    archivedThrough: anchor === null ? null : { seq: anchor.seq, hash: anchor.hash },
    voids: chain.voids,
    unsealed: await deps.store.audit.countUnsealed(),
  };
}

/** The CloudTrail-like JSON shape of one record, for export and the API. */
export function auditRecordJSON(record: AuditRecord): Record<string, unknown> {
  return {
    seq: record.seq,
    eventId: record.eventId,
    eventTime: new Date(record.time).toISOString(),
    eventName: record.action,
    accountId: record.accountId,
    userIdentity: { type: record.actorType, principalId: record.actorId },
    target: record.target,
    sourceIPAddress: record.sourceIp,
    userAgent: record.userAgent,
    outcome: record.outcome,
    errorCode: record.errorCode,
    details: record.details,
    prevHash: record.prevHash,
    hash: record.hash,
  };
}

/** Most records "my recent security events" returns. */
const OWN_EVENTS_LIMIT = 50;

/**
 * The caller's own recent security events, newest first: what they did and what was done to
 * them (sign-ins, factor changes, refusals, resets), from the audit log. Self-service.
 */
export async function listOwnSecurityEvents(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx?: RequestContext; limit?: number },
): Promise<AuditRecord[]> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListOwnSecurityEvents,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const limit = Math.min(input.limit ?? OWN_EVENTS_LIMIT, OWN_EVENTS_LIMIT);
  return deps.store.audit.query({
    accountId: principal.accountId,
    about: principal.id,
    newestFirst: true,
    limit,
  });
}

/** The console's audit filters (all optional, combined): who, on what, which event, how it ended, when. */
export interface AuditFilters {
  /** A principal id, e-mail address or user name. */
  actor?: string;
  /** A target id (principal, session, factor...), or a principal's e-mail address or user name. */
  target?: string;
  /** An exact event name, e.g. `factor.remove`. */
  action?: string;
  outcome?: AuditOutcome;
  /** ISO 8601 times: records at or after `from` and before `to`. */
  from?: string;
  to?: string;
}

/** Most records one page of the audit log holds. */
export const MAX_AUDIT_PAGE = 1000;
/** Longest filter value accepted (ids, e-mail addresses, event names). */
const MAX_FILTER_LENGTH = 254;
/** Most records one export writes; a larger view must be narrowed (time range) first. */
export const MAX_AUDIT_EXPORT = 100_000;

function timeOf(name: 'from' | 'to', value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (value.length > 40 || !Number.isFinite(ms)) {
    throw new HoldfastError('REQUEST_INVALID', `${name} must be an ISO 8601 date and time`);
  }
  return ms;
}

/** A principal of the account named by id, e-mail or user name; the value itself when none is. */
async function principalIdOf(deps: AppDeps, accountId: string, value: string): Promise<string> {
  const byId = await deps.store.principals.findById(accountId, value);
  if (byId !== null) return byId.id;
  return (await deps.store.principals.findByLogin(accountId, value))?.id ?? value;
}

/** Turns the console's filters into a repository query of the account (names resolved to ids). */
async function auditQueryOf(
  deps: AppDeps,
  accountId: string,
  filters: AuditFilters,
): Promise<Omit<AuditQuery, 'limit'>> {
  for (const key of ['actor', 'target', 'action'] as const) {
    const value = filters[key];
    if (value !== undefined && value.length > MAX_FILTER_LENGTH)
      throw new HoldfastError('REQUEST_INVALID', `${key} is longer than ${MAX_FILTER_LENGTH} characters`);
  }
  if (filters.outcome !== undefined && filters.outcome !== 'success' && filters.outcome !== 'failure')
    throw new HoldfastError('REQUEST_INVALID', 'outcome must be success or failure');
  const fromTime = timeOf('from', filters.from);
  const toTime = timeOf('to', filters.to);
  if (fromTime !== undefined && toTime !== undefined && fromTime >= toTime)
    throw new HoldfastError('REQUEST_INVALID', 'from must be before to');
  const actor = filters.actor?.trim() || undefined;
  const target = filters.target?.trim() || undefined;
  const action = filters.action?.trim() || undefined;
  return {
    accountId,
    ...(actor === undefined ? {} : { actorId: await principalIdOf(deps, accountId, actor) }),
    ...(target === undefined ? {} : { target: await principalIdOf(deps, accountId, target) }),
    ...(action === undefined ? {} : { action }),
    ...(filters.outcome === undefined ? {} : { outcome: filters.outcome }),
    ...(fromTime === undefined ? {} : { fromTime }),
    ...(toTime === undefined ? {} : { toTime }),
  };
}

/** One page of the audit log with the people its records name (by principal id). */
export interface AuditPage {
  records: AuditRecord[];
  /** Names of the principals the records name as actor or target, by id. */
  names: Map<string, string>;
  /** Whether more records match beyond this page. */
  more: boolean;
}

/**
 * Reads one page of an account's audit records for the API (admins of that account): oldest
 * first after `afterSeq` (the default), or newest first before `beforeSeq`, with the filters.
 */
export async function readAudit(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx?: RequestContext;
    accountId: string;
    afterSeq?: number;
    beforeSeq?: number;
    newestFirst?: boolean;
    limit?: number;
    filters?: AuditFilters;
  },
): Promise<AuditPage> {
  await authorize(deps, input.actor, ACTIONS.ReadAuditLog, { accountId: input.accountId }, input.ctx);
  const limit = input.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE)
    throw new HoldfastError('REQUEST_INVALID', `limit must be 1-${MAX_AUDIT_PAGE}`);
  const query = await auditQueryOf(deps, input.accountId, input.filters ?? {});
  // One more than asked tells whether another page follows.
  const rows = await deps.store.audit.query({
    ...query,
    afterSeq: input.afterSeq ?? 0,
    ...(input.beforeSeq === undefined ? {} : { beforeSeq: input.beforeSeq }),
    newestFirst: input.newestFirst === true,
    limit: limit + 1,
  });
  const records = rows.slice(0, limit);
  const ids = records.flatMap((r) => [r.actorId, r.target]).filter((id): id is string => id !== null);
  return { records, names: await peopleNamed(deps, input.accountId, ids), more: rows.length > limit };
}

/**
 * Every record of an account's filtered audit view, oldest first, in batches (for a download).
 * Authorized before the first record is read; at most MAX_AUDIT_EXPORT records.
 */
export async function exportAudit(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; filters?: AuditFilters },
): Promise<AsyncGenerator<AuditRecord>> {
  await authorize(deps, input.actor, ACTIONS.ReadAuditLog, { accountId: input.accountId }, input.ctx);
  const query = await auditQueryOf(deps, input.accountId, input.filters ?? {});
  async function* records(): AsyncGenerator<AuditRecord> {
    let after = 0;
    let written = 0;
    while (written < MAX_AUDIT_EXPORT) {
      const batch = await deps.store.audit.query({
        ...query,
        afterSeq: after,
        limit: Math.min(BATCH, MAX_AUDIT_EXPORT - written),
      });
      if (batch.length === 0) return;
      yield* batch;
      written += batch.length;
      after = batch[batch.length - 1]!.seq;
    }
  }
  return records();
}
