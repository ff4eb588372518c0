/**
 * Retention: archiving the old part of the audit chain to a verifiable segment file, checking
 * such a file, and pruning what has expired (flows, throttle rows, WebAuthn challenges,
 * delivered outbox messages). docs/operations.md, "Retention", is the manual.
 */
import {
  ARCHIVE_ANCHOR_KEY,
  SEGMENT_FORMAT,
  archiveAnchorMessage,
  parseArchiveAnchor,
  type ArchiveAnchor,
  type SegmentHeader,
  type SegmentTrailer,
  type SegmentVerification,
} from '../core/audit/archive.js';
import { ChainVerifier, GENESIS_HASH } from '../core/audit/chain.js';
import { CHECKPOINT_KEY_INFO, checkpointMessage, type AuditCheckpoint } from '../core/audit/checkpoint.js';
import type { SealedAuditRecord } from '../core/audit/event.js';
import { constantTimeEqual, hkdfSha256, hmacHex } from '../core/crypto/hashing.js';
import { HoldfastError } from '../core/errors.js';
import { ACTIONS } from './actions.js';
import { ALERT_CURSOR_KEY } from './alerts.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import type { AppDeps } from './deps.js';
import { runCommand } from './kernel.js';

const BATCH = 1000;

/** Flows are kept this long after they expire, so a late request still hears FLOW_EXPIRED. */
export const FLOW_GRACE_MS = 24 * 3_600_000;
/** Delivered messages are kept this long (their secrets are already dropped at delivery). */
export const SENT_MESSAGE_RETENTION_MS = 7 * 24 * 3_600_000;
/** Ended (expired or revoked) sessions are kept this long; the audit log keeps their story. */
export const ENDED_SESSION_RETENTION_MS = 30 * 24 * 3_600_000;

function checkpointKey(deps: Pick<AppDeps, 'pepper'>): Buffer {
  return hkdfSha256(deps.pepper, CHECKPOINT_KEY_INFO);
}

function anchorMac(key: Buffer, seq: number, hash: string, time: number): string {
  return hmacHex(key, archiveAnchorMessage(seq, hash, time));
}

/** Whether an anchor was signed with this installation's checkpoint key. */
export function anchorGenuine(deps: Pick<AppDeps, 'pepper'>, anchor: ArchiveAnchor): boolean {
  return constantTimeEqual(anchorMac(checkpointKey(deps), anchor.seq, anchor.hash, anchor.time), anchor.mac);
}

/** The current archive anchor, or null when nothing was ever archived. Throws when it is forged. */
export async function readArchiveAnchor(deps: AppDeps): Promise<ArchiveAnchor | null> {
  const stored = await deps.store.meta.get(ARCHIVE_ANCHOR_KEY);
  if (stored === null) return null;
  const anchor = parseArchiveAnchor(stored);
  if (anchor === null || !anchorGenuine(deps, anchor)) {
    throw new HoldfastError(
      'AUDIT_CHAIN_BROKEN',
      'the audit archive anchor is malformed or not signed with this installation key',
    );
  }
  return anchor;
}

/** Where the lines of a segment go (a file the face opened); `commit` makes them durable. */
export interface SegmentSink {
  write(line: string): Promise<void>;
  commit(): Promise<void>;
}

/** What an archive did. */
export interface ArchiveResult {
  records: number;
  checkpoints: number;
  firstSeq: number | null;
  lastSeq: number | null;
  lastHash: string | null;
  /** Why the cut stopped where it did. */
  stoppedBy: 'date' | 'head' | 'alert_scanner' | 'nothing';
}

/**
 * Moves the audit records older than `before` to a segment file: the records that follow each
 * other from the start of the live chain with `time < before` are streamed to the sink (header,
 * records, their checkpoints, a trailer with the new signed anchor) while their links are
 * verified, the sink is made durable, and only then, in one transaction, they and their
 * checkpoints are deleted and the anchor is stored (with one `audit.archived` record). The
 * newest record always stays (the chain's next link), and nothing the alert scanner has not
 * read yet is archived. A broken chain is refused: it is never cut where nobody could check it.
 */
export async function archiveAudit(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; before: number; sink: SegmentSink },
): Promise<ArchiveResult> {
  await authorize(deps, input.actor, ACTIONS.ArchiveAuditLog, { accountId: '' }, input.ctx);
  const anchor = await readArchiveAnchor(deps);
  // The cut is chosen among linked records: link what has committed first (PostgreSQL).
  await deps.store.sealAudit();
  const head = await deps.store.audit.head();
  const cursor = Number((await deps.store.meta.get(ALERT_CURSOR_KEY)) ?? '0');
  const verifier = new ChainVerifier(anchor === null ? null : { seq: anchor.seq, hash: anchor.hash });
  const empty: ArchiveResult = {
    records: 0,
    checkpoints: 0,
    firstSeq: null,
    lastSeq: null,
    lastHash: null,
    stoppedBy: 'nothing',
  };
  if (head === null) return empty;

  let last: SealedAuditRecord | null = null;
  let stoppedBy: ArchiveResult['stoppedBy'] = 'head';
  let after = anchor?.seq ?? 0;
  const header: SegmentHeader = {
    format: SEGMENT_FORMAT,
    version: 1,
    firstSeq: after + 1,
    prevHash: anchor?.hash ?? GENESIS_HASH,
  };
  let started = false;
  scan: for (;;) {
    const batch = await deps.store.audit.scan(after, BATCH);
    if (batch.length === 0) break;
    for (const record of batch) {
      if (record.seq >= head.seq) {
        stoppedBy = 'head';
        break scan;
      }
      if (record.time >= input.before) {
        stoppedBy = 'date';
        break scan;
      }
      if (record.seq > cursor) {
        stoppedBy = 'alert_scanner';
        break scan;
      }
      const broken = verifier.check(record);
      if (broken !== null) {
        throw new HoldfastError(
          'AUDIT_CHAIN_BROKEN',
          `record ${broken.seq} does not verify (${broken.reason}): nothing archived; run holdfast audit verify`,
        );
      }
      if (!started) {
        await input.sink.write(JSON.stringify(header));
        started = true;
      }
      await input.sink.write(JSON.stringify({ record }));
      last = record;
    }
    after = batch[batch.length - 1]!.seq;
  }
  if (last === null) return { ...empty, stoppedBy };

  const cut = last;
  let checkpoints = 0;
  let position: { seq: number; id: string } | null = null;
  checkpointScan: for (;;) {
    const batch: AuditCheckpoint[] = await deps.store.audit.scanCheckpoints(position, BATCH);
    if (batch.length === 0) break;
    for (const checkpoint of batch) {
      if (checkpoint.seq > cut.seq) break checkpointScan;
      await input.sink.write(JSON.stringify({ checkpoint }));
      checkpoints++;
    }
    const end = batch[batch.length - 1]!;
    position = { seq: end.seq, id: end.id };
  }
  const time = Math.max(deps.clock.now(), (anchor?.time ?? 0) + 1);
  const newAnchor: ArchiveAnchor = {
    seq: cut.seq,
    hash: cut.hash,
    time,
    mac: anchorMac(checkpointKey(deps), cut.seq, cut.hash, time),
  };
  const trailer: SegmentTrailer = {
    end: true,
    lastSeq: cut.seq,
    lastHash: cut.hash,
    records: verifier.count,
    checkpoints,
    anchor: newAnchor,
  };
  await input.sink.write(JSON.stringify(trailer));
  // The file is on disk before a single row goes.
  await input.sink.commit();

  return runCommand(deps, input.actor, input.ctx, null, async (uow) => {
    // Another archive may have run meanwhile: cut only from the anchor this segment starts at.
    const current = parseArchiveAnchor(await uow.tx.meta.get(ARCHIVE_ANCHOR_KEY));
    const hashNow = (await uow.tx.audit.hashesAt([cut.seq])).get(cut.seq);
    if ((current?.seq ?? 0) !== (anchor?.seq ?? 0) || hashNow !== cut.hash) {
      throw new HoldfastError(
        'REQUEST_INVALID',
        'the audit log changed while the segment was written (another archive ran): nothing archived',
      );
    }
    const deleted = await uow.tx.audit.deleteThrough(cut.seq);
    await uow.tx.meta.put(ARCHIVE_ANCHOR_KEY, JSON.stringify(newAnchor));
    uow.record({
      accountId: null,
      action: 'audit.archived',
      target: null,
      details: {
        firstSeq: header.firstSeq,
        lastSeq: cut.seq,
        lastHash: cut.hash,
        records: deleted.records,
        checkpoints: deleted.checkpoints,
      },
    });
    return {
      records: deleted.records,
      checkpoints: deleted.checkpoints,
      firstSeq: header.firstSeq,
      lastSeq: cut.seq,
      lastHash: cut.hash,
      stoppedBy,
    };
  });
}

/**
 * Checks a segment file, line by line: the header, every record's link and hash from the
 * header's starting point, every checkpoint's signature and the record it names, and the
 * trailer: the end it states, its counts, and its anchor's signature. Several segments given in
 * order must follow each other (the previous end is the next start). `joinsLiveChain` says the
 * last one ends exactly at the database's current anchor.
 */
export async function verifyAuditSegment(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; lines: AsyncIterable<string>; follows?: SegmentVerification },
): Promise<SegmentVerification> {
  await authorize(deps, input.actor, ACTIONS.VerifyAuditLog, { accountId: '' }, input.ctx);
  const key = checkpointKey(deps);
  const problems: string[] = [];
  let header: SegmentHeader | null = null;
  let trailer: SegmentTrailer | null = null;
  let verifier: ChainVerifier | null = null;
  const hashes = new Map<number, string>();
  let lastRecord: SealedAuditRecord | null = null;
  let checkpoints = 0;
  let lineNo = 0;
  let broken = false;
  for await (const raw of input.lines) {
    lineNo++;
    if (raw.trim() === '') continue;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      problems.push(`line ${lineNo} is not JSON`);
      broken = true;
      break;
    }
    if (trailer !== null) {
      problems.push(`line ${lineNo} follows the trailer`);
      break;
    }
    if (header === null) {
      if (line.format !== SEGMENT_FORMAT || line.version !== 1 || typeof line.firstSeq !== 'number') {
        problems.push('the first line is not a Holdfast audit segment header');
        broken = true;
        break;
      }
      header = line as unknown as SegmentHeader;
      verifier = new ChainVerifier(
        header.firstSeq === 1 ? null : { seq: header.firstSeq - 1, hash: header.prevHash },
      );
      if (header.firstSeq === 1 && header.prevHash !== GENESIS_HASH) {
        problems.push('a segment starting at record 1 must link to the genesis hash');
      }
      continue;
    }
    if ('record' in line) {
      const record = line.record as SealedAuditRecord;
      const breakAt = verifier!.check(record);
      if (breakAt !== null) {
        problems.push(`record ${breakAt.seq} does not verify (${breakAt.reason})`);
        broken = true;
        break;
      }
      hashes.set(record.seq, record.hash);
      lastRecord = record;
    } else if ('checkpoint' in line) {
      const c = line.checkpoint as AuditCheckpoint;
      checkpoints++;
      if (!constantTimeEqual(hmacHex(key, checkpointMessage(c.seq, c.hash, c.time)), String(c.mac))) {
        problems.push(`checkpoint ${c.id} has an invalid signature`);
      } else if (hashes.get(c.seq) !== c.hash) {
        problems.push(`checkpoint ${c.id} names record ${c.seq} with another hash`);
      }
    } else if (line.end === true) {
      trailer = line as unknown as SegmentTrailer;
    } else {
      problems.push(`line ${lineNo} is neither a record, a checkpoint nor the trailer`);
    }
  }
  if (header === null && !broken) problems.push('the file is empty');
  if (header !== null && trailer === null && !broken)
    problems.push('the trailer is missing: the file was cut short');
  if (trailer !== null) {
    if (lastRecord === null || trailer.lastSeq !== lastRecord.seq || trailer.lastHash !== lastRecord.hash) {
      problems.push('the trailer names another last record than the file holds');
    }
    if (trailer.records !== (verifier?.count ?? 0) || trailer.checkpoints !== checkpoints) {
      problems.push('the trailer counts differ from the lines the file holds');
    }
    const a = trailer.anchor;
    if (
      typeof a !== 'object' ||
      a === null ||
      a.seq !== trailer.lastSeq ||
      a.hash !== trailer.lastHash ||
      !anchorGenuine(deps, a)
    ) {
      problems.push('the trailer anchor is not signed with this installation key for this end');
    }
  }
  if (input.follows !== undefined && header !== null) {
    const prev = input.follows;
    if (prev.lastSeq === null || header.firstSeq !== prev.lastSeq + 1 || header.prevHash !== prev.lastHash) {
      problems.push(
        `this segment does not start where the previous one ends (record ${prev.lastSeq ?? '?'})`,
      );
    }
  }
  const stored = parseArchiveAnchor(await deps.store.meta.get(ARCHIVE_ANCHOR_KEY));
  const joinsLiveChain =
    trailer !== null && stored !== null && stored.seq === trailer.lastSeq && stored.hash === trailer.lastHash;
  return {
    ok: problems.length === 0,
    firstSeq: header?.firstSeq ?? null,
    lastSeq: lastRecord?.seq ?? null,
    prevHash: header?.prevHash ?? null,
    lastHash: lastRecord?.hash ?? null,
    records: verifier?.count ?? 0,
    checkpoints,
    joinsLiveChain,
    problems,
  };
}

/** What one pruning pass removed. */
export interface PruneResult {
  flows: number;
  throttles: number;
  challenges: number;
  sentMessages: number;
  sessions: number;
}

/**
 * Removes what has expired: flows a day past their expiry, throttle rows and known clients past
 * theirs, WebAuthn challenges past theirs, and outbox messages delivered more than a week ago
 * (undelivered ones always stay), and sessions thirty days after they expired or were revoked.
 * Run by the server's scheduler every ten minutes.
 */
export async function pruneExpired(deps: AppDeps): Promise<PruneResult> {
  const now = deps.clock.now();
  const flows = await deps.store.flows.deleteExpired(now - FLOW_GRACE_MS);
  const throttles = await deps.store.throttle.prune(now);
  const challenges = await deps.store.webauthn.deleteExpiredChallenges(now);
  const sentMessages = await deps.store.outbox.deleteSentBefore(now - SENT_MESSAGE_RETENTION_MS);
  const sessions = await deps.store.sessions.deleteEndedBefore(now - ENDED_SESSION_RETENTION_MS);
  return { flows, throttles, challenges, sentMessages, sessions };
}
