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

/** A stored audit record: the event plus its place in the hash chain. */
export interface AuditRecord extends AuditEvent {
  seq: number;
  eventId: string;
  time: number;
  prevHash: string;
  hash: string;
}
