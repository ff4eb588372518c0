import type { FactorVerification, OTPState, VerifySettings } from '../factor.js';
import { resyncHOTP, verifyHOTP } from './hotp.js';
import { verifyTOTP, verifyTwoConsecutiveTOTP } from './totp.js';

/** Codes are decimal digits only; anything else fails before any HMAC is computed. */
function wellFormed(code: string, digits: number): boolean {
  return code.length === digits && /^[0-9]+$/.test(code);
}

/** The next HOTP counter expected after the state's last accepted one. */
function nextHOTPCounter(state: OTPState): number {
  return state.lastCounter === null ? state.params.initialCounter : state.lastCounter + 1;
}

/**
 * How many codes one check compares a guess with: the TOTP window (2w + 1 steps, RFC 6238 §5.2)
 * or the HOTP look-ahead (l + 1 counters, RFC 4226 §7.4). A random guess of a d-digit code
 * succeeds with probability at most this number over 10^d: the per-principal guessing budget
 * (src/app/mfa.ts, docs/mfa.md) charges each failed guess this many units.
 */
export function codesComparedPerCheck(params: { mode: 'totp' | 'hotp' }, settings: VerifySettings): number {
  return params.mode === 'totp' ? 2 * settings.totpWindow + 1 : settings.hotpLookAhead + 1;
}

/**
 * The remembered TOTP drift a check may centre on (RFC 6238 §6). Only two consecutive codes
 * (enabling, resynchronising) set it, never within the resync window's bound; a stored value
 * beyond that bound (written by an older version that re-centred on every code) is clamped.
 */
export function boundedDrift(driftSteps: number, settings: VerifySettings): number {
  const bound = settings.totpResyncWindow;
  return Math.max(-bound, Math.min(bound, driftSteps));
}

/**
 * One code against a TOTP (RFC 6238 §5.2, window around the remembered drift) or HOTP
 * (RFC 4226 §7.4 look-ahead) state. A single TOTP code never moves the remembered drift: if it
 * did, codes at offsets 0, +1, +2, +3 in a row would each re-centre the window one step further
 * from the real time (RFC 6238 §6 asks for resynchronisation, which takes two consecutive codes).
 */
export function verifyOTPCode(input: {
  state: OTPState;
  code: string;
  now: number;
  settings: VerifySettings;
}): FactorVerification {
  const { state, code, now, settings } = input;
  const { params } = state;
  if (!wellFormed(code, params.digits)) return { ok: false, reason: 'malformed' };
  if (params.mode === 'totp') {
    const remembered = boundedDrift(state.driftSteps, settings);
    const r = verifyTOTP({
      secret: state.secret,
      code,
      timeMs: now,
      period: params.period,
      digits: params.digits,
      algorithm: params.algorithm,
      window: settings.totpWindow,
      driftSteps: remembered,
      lastAcceptedStep: state.lastCounter,
    });
    return r.ok ? { ok: true, lastCounter: r.step, driftSteps: remembered } : { ok: false, reason: r.reason };
  }
  const r = verifyHOTP({
    secret: state.secret,
    code,
    counter: nextHOTPCounter(state),
    lookAhead: settings.hotpLookAhead,
    digits: params.digits,
    algorithm: params.algorithm,
  });
  return r.ok
    ? { ok: true, lastCounter: r.matchedCounter, driftSteps: 0 }
    : { ok: false, reason: 'mismatch' };
}

/**
 * Two consecutive codes, as AWS asks when enabling or resynchronising a device. `wide` searches
 * the resync window (±10 min); otherwise the codes must sit in the normal window (one step of
 * slack for the pair), which is what proves an app's clock is in step when it is enabled.
 */
export function verifyConsecutiveOTPCodes(input: {
  state: OTPState;
  codes: [string, string];
  now: number;
  settings: VerifySettings;
  wide: boolean;
}): FactorVerification {
  const { state, codes, now, settings } = input;
  const { params } = state;
  if (!codes.every((c) => wellFormed(c, params.digits))) return { ok: false, reason: 'malformed' };
  if (params.mode === 'totp') {
    const r = verifyTwoConsecutiveTOTP({
      secret: state.secret,
      codes,
      timeMs: now,
      period: params.period,
      digits: params.digits,
      algorithm: params.algorithm,
      window: input.wide ? settings.totpResyncWindow : settings.totpWindow + 1,
      // Resync re-centres: search around the true clock, not the remembered drift.
      driftSteps: 0,
      lastAcceptedStep: state.lastCounter,
    });
    if (!r.ok) return { ok: false, reason: r.reason };
    // Resynchronising (or enabling a token) may remember a drift up to the resync window
    // (±10 minutes by default); enabling an app in the normal window remembers at most ±window,
    // so the accepted window never sits further than that from the real time.
    const bound = input.wide ? settings.totpResyncWindow : settings.totpWindow;
    return { ok: true, lastCounter: r.step, driftSteps: Math.max(-bound, Math.min(bound, r.driftSteps)) };
  }
  const r = resyncHOTP({
    secret: state.secret,
    codes,
    counter: nextHOTPCounter(state),
    searchWindow: settings.hotpResyncWindow,
    digits: params.digits,
    algorithm: params.algorithm,
  });
  return r.ok
    ? { ok: true, lastCounter: r.matchedCounter, driftSteps: 0 }
    : { ok: false, reason: 'mismatch' };
}
