/**
 * Growing delays instead of hard lock-outs (NIST SP 800-63B §5.2.2): after `freeFailures`
 * failures, each further failure doubles the wait, up to `maxDelayMs`. A victim is slowed,
 * never locked out for longer than the cap, and a success resets the counter.
 */
export interface ThrottlePolicy {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures older than this are forgotten. */
  windowMs: number;
}

/** Stored state of one throttle key. */
export interface ThrottleState {
  key: string;
  failures: number;
  lastFailureAt: number;
  nextAllowedAt: number;
}

/** The delay imposed after `failures` consecutive failures. */
export function throttleDelayMs(policy: ThrottlePolicy, failures: number): number {
  if (failures <= policy.freeFailures) return 0;
  const exponent = Math.min(failures - policy.freeFailures - 1, 30);
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

/** Milliseconds the caller must still wait, or 0 when an attempt is allowed now. */
export function throttleWaitMs(state: ThrottleState | null, now: number): number {
  if (state === null) return 0;
  return Math.max(0, state.nextAllowedAt - now);
}

/** The state after one more failure at `now`. */
export function recordThrottleFailure(
  policy: ThrottlePolicy,
  input: { state: ThrottleState | null; key: string; now: number },
): ThrottleState {
  const { state, key, now } = input;
  const stale = state === null || now - state.lastFailureAt > policy.windowMs;
  const failures = stale ? 1 : state.failures + 1;
  const delayMs = throttleDelayMs(policy, failures);
  // No delay means no wait at all: a wait ending "now" would refuse a concurrent attempt whose
  // clock reading came a moment earlier but whose count landed after this one.
  return { key, failures, lastFailureAt: now, nextAllowedAt: delayMs === 0 ? 0 : now + delayMs };
}

/** The time after which a throttle row means nothing (no wait left, failures forgotten): prunable. */
export function throttleExpiresAt(policy: ThrottlePolicy, state: ThrottleState): number {
  return Math.max(state.nextAllowedAt, state.lastFailureAt + policy.windowMs);
}

/** The longest window of any throttle policy (rows written without a policy expire after it). */
export const MAX_THROTTLE_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Password guessing per (principal, source network), and per known client: slows a guesser to
 * ~1 try a minute but never locks the owner out for long.
 */
export const LOGIN_THROTTLE: ThrottlePolicy = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  windowMs: 24 * 60 * 60 * 1000,
};

/**
 * Password guessing per source address, counting only failures against existing logins: a
 * source spraying real logins backs off further. (Passkey sign-in failures use it too.)
 */
export const SOURCE_THROTTLE: ThrottlePolicy = {
  freeFailures: 20,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60_000,
  windowMs: 24 * 60 * 60 * 1000,
};

/**
 * Password guessing against one principal from clients it does not know (neither a known-client
 * token nor a network it signed in from before), summed over every source: more addresses buy
 * no speed. The real user, from a known client or network, never meets this budget (OWASP
 * Authentication Cheat Sheet, device cookies), so an attacker cannot use it to keep them out.
 */
export const PRINCIPAL_THROTTLE: ThrottlePolicy = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  windowMs: 24 * 60 * 60 * 1000,
};

/**
 * Failures for made-up logins (unknown account or login) per source: one budget for every
 * made-up login from a network, so they are slowed without a row per login string, and shaped
 * like the per-login budget so a single login's answers do not tell whether it exists.
 */
export const UNKNOWN_LOGIN_THROTTLE: ThrottlePolicy = LOGIN_THROTTLE;

/** How long a known client token or network is remembered after its last successful sign-in. */
export const KNOWN_CLIENT_TTL_MS = 90 * 24 * 60 * 60 * 1000;
/** Known client tokens remembered per principal (the least recently used are forgotten). */
export const KNOWN_CLIENT_TOKENS_KEPT = 20;
/** Known networks remembered per principal. */
export const KNOWN_SOURCES_KEPT = 20;

/** Which budgets one password attempt counts against. */
export type PasswordClient =
  /** The login resolved to no principal: one budget per source for every made-up login. */
  | { kind: 'unknown_login' }
  /** The client holds a known-client token of this principal: its own budget only. */
  | { kind: 'known_client'; clientId: string }
  /** The client comes from a network this principal signed in from before. */
  | { kind: 'known_source' }
  /** Anything else. */
  | { kind: 'untrusted' };

/** A throttle key and the policy its failures are counted under. */
export interface PasswordThrottleKey {
  key: string;
  policy: ThrottlePolicy;
}

/**
 * The budgets a password attempt counts against (NIST SP 800-63B §5.2.2, OWASP Authentication
 * Cheat Sheet): the per-login key is the resolved principal, never the string as typed, and
 * every source is its network (`sourceKey`: IPv4 address, IPv6 /64).
 */
export function passwordThrottleKeys(input: {
  principalId: string | null;
  sourceKey: string;
  client: PasswordClient;
}): PasswordThrottleKey[] {
  const { principalId, sourceKey, client } = input;
  if (principalId === null || client.kind === 'unknown_login') {
    return [{ key: `pwd:unknown:${sourceKey}`, policy: UNKNOWN_LOGIN_THROTTLE }];
  }
  if (client.kind === 'known_client') {
    return [{ key: `pwd:client:${client.clientId}`, policy: LOGIN_THROTTLE }];
  }
  const pair = { key: `pwd:login:${principalId}:${sourceKey}`, policy: LOGIN_THROTTLE };
  if (client.kind === 'known_source') return [pair];
  return [
    { key: `pwd:source:${sourceKey}`, policy: SOURCE_THROTTLE },
    pair,
    { key: `pwd:principal:${principalId}`, policy: PRINCIPAL_THROTTLE },
  ];
}
