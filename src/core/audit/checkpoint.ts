/**
 * Signed checkpoints of the audit chain head. The hash chain alone proves order and integrity
 * against someone who changes a record but cannot rewrite every later one; it says nothing about
 * records cut off the end, nor about a chain rewritten and rehashed from some record onwards.
 * A checkpoint is a MAC over (sequence, hash, time) of the head at one moment, under a key that a
 * writer holding only the database does not have: a later chain that no longer contains that
 * record with that hash is detected.
 */

/** One signed statement "the chain's head was record `seq` with hash `hash` at `time`". */
export interface AuditCheckpoint {
  id: string;
  seq: number;
  hash: string;
  time: number;
  /** HMAC-SHA-256 of `checkpointMessage(seq, hash, time)`, hex. */
  mac: string;
}

/** The HKDF (RFC 5869) `info` label of the checkpoint key: no other key is derived with it. */
export const CHECKPOINT_KEY_INFO = 'holdfast audit checkpoint key v1';

/** The exact bytes a checkpoint's MAC covers. */
export function checkpointMessage(seq: number, hash: string, time: number): string {
  return `holdfast-audit-checkpoint-v1\n${seq}\n${hash}\n${time}`;
}

/** A head value kept outside the database, as `SEQ:HASH`. */
export interface ExpectedHead {
  seq: number;
  hash: string;
}

/** Parses `SEQ:HASH` (a positive sequence number and a 64-hex-digit hash); null when malformed. */
export function parseExpectedHead(text: string): ExpectedHead | null {
  const match = /^([1-9][0-9]{0,15}):([0-9a-fA-F]{64})$/.exec(text.trim());
  if (match === null) return null;
  const seq = Number(match[1]);
  if (!Number.isSafeInteger(seq)) return null;
  return { seq, hash: match[2]!.toLowerCase() };
}

/**
 * What verification found wrong beyond the chain's own links. Each names the record or
 * checkpoint concerned; none carries a secret.
 */
export type AuditIntegrityProblem =
  /** A checkpoint's MAC does not verify: written or altered without the checkpoint key. */
  | { kind: 'checkpoint_signature_invalid'; checkpointId: string; seq: number }
  /** A genuine checkpoint names a record the chain no longer reaches: its end was cut off. */
  | { kind: 'checkpoint_beyond_head'; checkpointId: string; seq: number; headSeq: number }
  /** A genuine checkpoint's hash differs from the record now at its sequence: rewritten and rehashed. */
  | { kind: 'checkpoint_hash_mismatch'; checkpointId: string; seq: number }
  /** The head kept elsewhere (`--expect-head`) names a record the chain no longer has. */
  | { kind: 'expected_head_missing'; seq: number; headSeq: number }
  /** The head kept elsewhere names a record whose hash is now different. */
  | { kind: 'expected_head_mismatch'; seq: number }
  /** The alert scanner has already read records beyond the current head: they were removed. */
  | { kind: 'alert_cursor_beyond_head'; cursor: number; headSeq: number }
  /** Stored alerts name audit events that are no longer in the log. */
  | { kind: 'alert_event_missing'; eventIds: string[] }
  /** The archive anchor (where the live chain starts after archived records) is forged or malformed. */
  | { kind: 'archive_anchor_invalid' };

/** One line per problem, for the text output and the error message. */
export function describeProblem(problem: AuditIntegrityProblem): string {
  switch (problem.kind) {
    case 'checkpoint_signature_invalid':
      return `checkpoint ${problem.checkpointId} (record ${problem.seq}) has an invalid signature: written without the checkpoint key`;
    case 'checkpoint_beyond_head':
      return `checkpoint ${problem.checkpointId} names record ${problem.seq} but the log ends at ${problem.headSeq}: records were cut off the end`;
    case 'checkpoint_hash_mismatch':
      return `checkpoint ${problem.checkpointId} names record ${problem.seq} with another hash: the log was rewritten from there or before`;
    case 'expected_head_missing':
      return `the expected head record ${problem.seq} is missing; the log ends at ${problem.headSeq}`;
    case 'expected_head_mismatch':
      return `the expected head record ${problem.seq} has another hash: the log was rewritten`;
    case 'alert_cursor_beyond_head':
      return `the alert scanner has read up to record ${problem.cursor} but the log ends at ${problem.headSeq}: records were cut off the end`;
    case 'archive_anchor_invalid':
      return 'the audit archive anchor is not signed with this installation key: records before the live chain were removed without holdfast audit archive';
    case 'alert_event_missing':
      return `${problem.eventIds.length} stored alert(s) name audit events no longer in the log (e.g. ${problem.eventIds[0]})`;
  }
}
