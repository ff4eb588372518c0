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

/** One code against a TOTP (RFC 6238 §5.2, window around the drifted step) or HOTP (RFC 4226 §7.4 look-ahead) state. */
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
    const r = verifyTOTP({
      secret: state.secret,
      code,
      timeMs: now,
      period: params.period,
      digits: params.digits,
      algorithm: params.algorithm,
      window: settings.totpWindow,
      driftSteps: state.driftSteps,
      lastAcceptedStep: state.lastCounter,
    });
    return r.ok
      ? { ok: true, lastCounter: r.step, driftSteps: r.driftSteps }
      : { ok: false, reason: r.reason };
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
    return r.ok
      ? { ok: true, lastCounter: r.step, driftSteps: r.driftSteps }
      : { ok: false, reason: r.reason };
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
