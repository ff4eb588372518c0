/**
 * Archiving the old part of the audit chain (docs/audit-log.md, "Retention"). Records up to a
 * cut move to a segment file; the database keeps a signed anchor naming the last archived record
 * (its sequence number and hash), so the records that stay still link to something verifiable:
 * the live chain starts at anchor.seq + 1 with prevHash = anchor.hash, and the segment ends at
 * exactly that record. The anchor is a MAC under the checkpoint key, which a writer holding only
 * the database does not have: deleting old records and writing an anchor over the gap is detected.
 */
import type { AuditCheckpoint } from './checkpoint.js';
import type { AuditRecord } from './event.js';

/** The meta key holding the current anchor (JSON of `ArchiveAnchor`). */
export const ARCHIVE_ANCHOR_KEY = 'audit_archive_anchor';

/** The signed statement "records up to `seq` (ending with hash `hash`) were archived at `time`". */
export interface ArchiveAnchor {
  seq: number;
  hash: string;
  time: number;
  /** HMAC-SHA-256 of `archiveAnchorMessage(seq, hash, time)` under the checkpoint key, hex. */
  mac: string;
}

/** The exact bytes an anchor's MAC covers (distinct from a checkpoint's message). */
export function archiveAnchorMessage(seq: number, hash: string, time: number): string {
  return `holdfast-audit-archive-v1\n${seq}\n${hash}\n${time}`;
}

/** Parses a stored anchor; null when absent or malformed. */
export function parseArchiveAnchor(text: string | null): ArchiveAnchor | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<ArchiveAnchor>;
    if (
      typeof value.seq === 'number' &&
      Number.isSafeInteger(value.seq) &&
      value.seq > 0 &&
      typeof value.hash === 'string' &&
      /^[0-9a-f]{64}$/.test(value.hash) &&
      typeof value.time === 'number' &&
      typeof value.mac === 'string'
    ) {
      return { seq: value.seq, hash: value.hash, time: value.time, mac: value.mac };
    }
  } catch {
    // malformed: treated as absent, which verification then reports
  }
  return null;
}

/** The identifier of the segment file format, on its first line. */
export const SEGMENT_FORMAT = 'holdfast-audit-segment';

/** First line of a segment: where it starts in the chain. */
export interface SegmentHeader {
  format: typeof SEGMENT_FORMAT;
  version: 1;
  firstSeq: number;
  /** The hash the first record links to: 64 zeros for the chain's first segment. */
  prevHash: string;
}

/** Last line of a segment: where it ends, and the anchor the database kept for that end. */
export interface SegmentTrailer {
  end: true;
  lastSeq: number;
  lastHash: string;
  records: number;
  checkpoints: number;
  anchor: ArchiveAnchor;
}

/** One line of a segment file (JSON lines): the header, a record, a checkpoint, or the trailer. */
export type SegmentLine =
  SegmentHeader | { record: AuditRecord } | { checkpoint: AuditCheckpoint } | SegmentTrailer;

/** What checking a segment file found. */
export interface SegmentVerification {
  ok: boolean;
  firstSeq: number | null;
  lastSeq: number | null;
  prevHash: string | null;
  lastHash: string | null;
  records: number;
  checkpoints: number;
  /** The segment ends exactly where the live chain in the database starts. */
  joinsLiveChain: boolean;
  problems: string[];
}
