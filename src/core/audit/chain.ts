import { createHash } from 'node:crypto';
import type { AuditRecord, SealedAuditRecord } from './event.js';

/** The previous-hash of the first record: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Canonical JSON (keys sorted at every level, no whitespace), so the hash of a record does not
 * depend on column order or driver quirks. Numbers must be finite; `undefined` is dropped.
 */
export function canonicalJSON(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return '[' + value.map((v) => canonicalJSON(v ?? null)).join(',') + ']';
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return '{' + entries.map(([k, v]) => JSON.stringify(k) + ':' + canonicalJSON(v)).join(',') + '}';
}

/** The fields covered by a record's hash: everything but the hash itself. */
export function hashedFields(
  record: Omit<AuditRecord, 'hash'> & { prevHash: string },
): Record<string, unknown> {
  return {
    seq: record.seq,
    eventId: record.eventId,
    time: record.time,
    accountId: record.accountId,
    actorType: record.actorType,
    actorId: record.actorId,
    action: record.action,
    target: record.target,
    sourceIp: record.sourceIp,
    userAgent: record.userAgent,
    outcome: record.outcome,
    errorCode: record.errorCode,
    details: record.details,
    prevHash: record.prevHash,
  };
}

/** SHA-256 over the previous hash and the record's canonical JSON, hex-encoded. */
export function computeRecordHash(record: Omit<AuditRecord, 'hash'> & { prevHash: string }): string {
  return createHash('sha256')
    .update(record.prevHash)
    .update('\n')
    .update(canonicalJSON(hashedFields(record)))
    .digest('hex');
}

/** Why verification stopped at a record. */
export type ChainBreak =
  | { seq: number; reason: 'hash_mismatch' }
  | { seq: number; reason: 'prev_hash_mismatch' }
  | { seq: number; reason: 'sequence_gap'; expectedSeq: number };

/**
 * Incremental verifier of the hash chain: feed records in sequence order; the first break
 * (a changed row, a deleted row, an inserted row) is reported with its sequence number.
 */
export class ChainVerifier {
  private expectedSeq: number;
  private prevHash: string;
  count = 0;

  /**
   * Starts at the first record (genesis), or after an archived part of the chain: `start` is
   * the last archived record (its sequence number and hash), the link the next record names.
   */
  constructor(start: { seq: number; hash: string } | null = null) {
    this.expectedSeq = start === null ? 1 : start.seq + 1;
    this.prevHash = start === null ? GENESIS_HASH : start.hash;
  }

  /** Checks one record; returns the break or null when it links correctly. */
  check(record: SealedAuditRecord): ChainBreak | null {
    if (record.seq !== this.expectedSeq) {
      return { seq: record.seq, reason: 'sequence_gap', expectedSeq: this.expectedSeq };
    }
    if (record.prevHash !== this.prevHash) return { seq: record.seq, reason: 'prev_hash_mismatch' };
    if (computeRecordHash(record) !== record.hash) return { seq: record.seq, reason: 'hash_mismatch' };
    this.expectedSeq++;
    this.prevHash = record.hash;
    this.count++;
    return null;
  }
}
