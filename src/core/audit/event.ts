/** Who acted: a principal, the CLI operator on the host, the system itself, or nobody known. */
export type ActorType = 'principal' | 'operator' | 'system' | 'anonymous';

/** Whether the audited attempt succeeded. */
export type AuditOutcome = 'success' | 'failure';

/** Non-secret, JSON-able facts about an event. Never a password, code, token or seed. */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>;

/** An audit event as the app layer submits it (before sequencing and hashing). */
export interface AuditEvent {
  accountId: string | null;
  actorType: ActorType;
  actorId: string | null;
  /** Dotted action name, e.g. `auth.sign_in`, `user.create`. */
  action: string;
  /** What the action applied to, e.g. a principal id or session id. */
  target: string | null;
  sourceIp: string | null;
  userAgent: string | null;
  outcome: AuditOutcome;
  errorCode: string | null;
  details: AuditDetails;
}

/**
 * A stored audit record: the event plus its place in the hash chain. On PostgreSQL a record is
 * written unsealed (`prevHash` and `hash` null) and linked into the chain moments later by the
 * sealer (docs/audit-log.md); on SQLite every record is sealed as it is written.
 */
export interface AuditRecord extends AuditEvent {
  seq: number;
  eventId: string;
  time: number;
  prevHash: string | null;
  hash: string | null;
}

/** A record linked into the hash chain. */
export interface SealedAuditRecord extends AuditRecord {
  prevHash: string;
  hash: string;
}

/**
 * The action of a void record: the sealer writes one at a sequence number that no committed
 * record holds (its transaction rolled back), so the chain stays contiguous and a record deleted
 * later still shows as a gap. Catalogued actions never take this name.
 */
export const AUDIT_VOID_ACTION = 'audit.sequence_void';

/** The event of a void record at `seq` (written by the sealer, hashed into the chain like any record). */
export function voidAuditRecord(seq: number, time: number): Omit<AuditRecord, 'prevHash' | 'hash'> {
  return {
    seq,
    eventId: `void_${seq}`,
    time,
    accountId: null,
    actorType: 'system',
    actorId: null,
    action: AUDIT_VOID_ACTION,
    target: null,
    sourceIp: null,
    userAgent: null,
    outcome: 'failure',
    errorCode: null,
    details: { reason: 'sequence number allocated by a transaction that did not commit' },
  };
}
