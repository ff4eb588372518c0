/** How a second factor was proven in a session; filled in by the factors' sign-in step. */
export interface SessionFactor {
  factorId: string;
  kind: string;
  /** Ordered assurance level name of the factor (see docs/assurance.md once factors exist). */
  assurance: string;
  /** When the factor was verified (ms since epoch); policies read MFA age from this. */
  at: number;
}

/** What a session's authentication consisted of. */
export interface SessionAuth {
  /** Methods in order, as in RFC 8176 AMR values: `pwd`, `otp`, `hwk`, `swk`, `rec`, `setup`. */
  methods: string[];
  factor: SessionFactor | null;
  /**
   * The first factor this session enrolled, proved by its code or ceremony at enrolment. It does
   * not make the session multi-factor; it lets this session issue the first recovery codes right
   * after (a fresh step-up would ask for the one-time code just used, refused as a replay).
   */
  enrolled?: SessionFactor;
}

/** How the client carries the token: an HttpOnly cookie (console) or a bearer header (API). */
export type SessionChannel = 'cookie' | 'bearer';

/** A signed-in session. The token itself is never stored, only its SHA-256 hash. */
export interface Session {
  id: string;
  accountId: string;
  principalId: string;
  channel: SessionChannel;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute expiry: the session ends here however active it is. */
  expiresAt: number;
  revokedAt: number | null;
  revokedReason: string | null;
  auth: SessionAuth;
  sourceIp: string | null;
  userAgent: string | null;
}

/** Session lifetime settings. */
export interface SessionTimeouts {
  idleMs: number;
  absoluteMs: number;
}

/** Why a stored session is not usable at `now`, or null when it is live. */
export function sessionDeadReason(session: Session, now: number, timeouts: SessionTimeouts): string | null {
  if (session.revokedAt !== null) return 'revoked';
  if (now >= session.expiresAt) return 'absolute_timeout';
  if (now >= session.lastSeenAt + timeouts.idleMs) return 'idle_timeout';
  return null;
}

/** True when the session carries a verified second factor. */
export function hasMFA(session: Session): boolean {
  return session.auth.factor !== null;
}
