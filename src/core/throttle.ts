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
  return { key, failures, lastFailureAt: now, nextAllowedAt: now + throttleDelayMs(policy, failures) };
}

/** Password guessing per login: slows a guesser to ~1 try a minute but never locks the owner out for long. */
export const LOGIN_THROTTLE: ThrottlePolicy = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  windowMs: 24 * 60 * 60 * 1000,
};

/** Password guessing per source address: a spraying source backs off further. */
export const SOURCE_THROTTLE: ThrottlePolicy = {
  freeFailures: 20,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60_000,
  windowMs: 24 * 60 * 60 * 1000,
};
