/**
 * TOTP: time-based one-time passwords (RFC 6238) with a verification window, remembered
 * clock drift and replay protection.
 *
 * Pure: time comes in as `timeMs`; the caller stores the returned `step` (as
 * lastAcceptedStep) and `driftSteps` with the factor.
 */

import { HoldfastError } from '../../errors.js';
import {
  assertOTPParameters,
  assertOTPSecret,
  generateHOTP,
  normalizeOTPInput,
  otpCodesEqual,
  type OTPDigits,
  type OTPHashAlgorithm,
} from './hotp.js';

/** Largest ± window (in steps) accepted, to bound the HMACs one request can cost (240 = ±2 h at 30 s). */
export const MAX_TOTP_WINDOW = 240;

/** Default ± window of verifyTOTP: one step each way (RFC 6238 §5.2 recommends at most one). */
export const DEFAULT_TOTP_WINDOW = 1;

/** Default ± window of verifyTwoConsecutiveTOTP: 20 steps, ±10 minutes at 30 s. */
export const DEFAULT_TOTP_RESYNC_WINDOW = 20;

/** Time parameters shared by the TOTP functions. */
export interface TOTPTimeOptions {
  /** The current time in milliseconds since the Unix epoch (from the injected Clock). */
  timeMs: number;
  /** Time step X in seconds (RFC 6238 §4.1); default 30. */
  period?: number;
  /** Unix time T0 in seconds to start counting steps from (RFC 6238 §4.1); default 0. */
  t0?: number;
}

/** Options of generateTOTP. */
export interface GenerateTOTPOptions extends TOTPTimeOptions {
  secret: Uint8Array;
  digits: OTPDigits;
  algorithm: OTPHashAlgorithm;
}

/** Options of verifyTOTP. */
export interface VerifyTOTPOptions extends TOTPTimeOptions {
  secret: Uint8Array;
  /** The code as the user typed it; spaces are ignored. */
  code: string;
  digits: OTPDigits;
  algorithm: OTPHashAlgorithm;
  /** Steps accepted on each side of the centre (RFC 6238 §5.2); default 1. */
  window?: number;
  /** The factor's remembered clock drift in steps (RFC 6238 §6); default 0. */
  driftSteps?: number;
  /** The last step a code was accepted for; it and every older step are refused (RFC 6238 §5.2). */
  lastAcceptedStep?: number | null;
}

/** Result of verifyTOTP and verifyTwoConsecutiveTOTP. */
export type VerifyTOTPResult =
  { ok: true; step: number; driftSteps: number } | { ok: false; reason: 'mismatch' | 'replayed' };

/** Options of verifyTwoConsecutiveTOTP. */
export interface VerifyTwoConsecutiveTOTPOptions extends TOTPTimeOptions {
  secret: Uint8Array;
  /** Two codes the authenticator showed one after the other. */
  codes: readonly [string, string];
  digits: OTPDigits;
  algorithm: OTPHashAlgorithm;
  /** Steps searched on each side of the centre; default 20 (±10 min at 30 s). */
  window?: number;
  /** Where to centre the search, in steps from the server's current step; default 0. */
  driftSteps?: number;
  /** Codes for this step or older are refused (RFC 6238 §5.2); default null. */
  lastAcceptedStep?: number | null;
}

function assertPeriodAndT0(period: number, t0: number): void {
  if (!Number.isSafeInteger(period) || period < 1 || period > 86_400) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'period must be 1 to 86400 seconds.');
  }
  if (!Number.isSafeInteger(t0) || t0 < 0) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 't0 must be a non-negative integer.');
  }
}

/** Returns the time step T = floor((now - T0) / X) for a time in milliseconds (RFC 6238 §4.2). */
export function computeTOTPStep(options: TOTPTimeOptions): number {
  const period = options.period ?? 30;
  const t0 = options.t0 ?? 0;
  assertPeriodAndT0(period, t0);
  if (!Number.isFinite(options.timeMs)) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'timeMs must be a finite number.');
  }
  const step = Math.floor((options.timeMs - t0 * 1000) / (period * 1000));
  if (step < 0) throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'timeMs is before t0.');
  return step;
}

/** Generates the TOTP value for a time: HOTP with the step as counter (RFC 6238 §4.2). */
export function generateTOTP(options: GenerateTOTPOptions): string {
  const step = computeTOTPStep(options);
  return generateHOTP({
    secret: options.secret,
    counter: step,
    digits: options.digits,
    algorithm: options.algorithm,
  });
}

interface SearchRange {
  currentStep: number;
  first: number;
  last: number;
  lastAccepted: number;
}

/** Validates the shared options and works out the steps to compute, centred on step + drift. */
function searchRange(options: {
  secret: Uint8Array;
  timeMs: number;
  period?: number;
  t0?: number;
  digits: number;
  algorithm: string;
  window: number;
  driftSteps: number;
  lastAcceptedStep: number | null;
}): SearchRange {
  assertOTPSecret(options.secret);
  assertOTPParameters(options);
  const currentStep = computeTOTPStep(options);
  if (!Number.isSafeInteger(options.window) || options.window < 0 || options.window > MAX_TOTP_WINDOW) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', `window must be 0 to ${MAX_TOTP_WINDOW}.`);
  }
  if (!Number.isSafeInteger(options.driftSteps)) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'driftSteps must be an integer.');
  }
  const last = options.lastAcceptedStep;
  if (last !== null && !Number.isSafeInteger(last)) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'lastAcceptedStep must be an integer or null.');
  }
  const centre = currentStep + options.driftSteps;
  return {
    currentStep,
    first: Math.max(0, centre - options.window),
    last: Math.max(-1, centre + options.window),
    lastAccepted: last ?? -1,
  };
}

function stepCode(
  options: { secret: Uint8Array; digits: OTPDigits; algorithm: OTPHashAlgorithm },
  step: number,
) {
  return generateHOTP({
    secret: options.secret,
    counter: step,
    digits: options.digits,
    algorithm: options.algorithm,
  });
}

/**
 * Verifies a code within ±window steps of the current step plus the remembered drift.
 * A step at or before lastAcceptedStep is never accepted, so a code works once (RFC 6238
 * §5.2); the reason tells replay from mismatch for the audit log only (DESIGN.md rule 3).
 * On success `driftSteps` is the matched step minus the current step: the offset seen. What a
 * factor remembers is decided by its driver (otp-checks.ts: a single code never moves it).
 */
export function verifyTOTP(options: VerifyTOTPOptions): VerifyTOTPResult {
  const range = searchRange({
    ...options,
    window: options.window ?? DEFAULT_TOTP_WINDOW,
    driftSteps: options.driftSteps ?? 0,
    lastAcceptedStep: options.lastAcceptedStep ?? null,
  });
  const input = normalizeOTPInput(options.code, options.digits);
  let accepted = -1;
  let replayed = false;
  // Every candidate is computed and compared: the time taken does not reveal which matched.
  for (let step = range.first; step <= range.last; step++) {
    const matches = otpCodesEqual(stepCode(options, step), input.bytes);
    if (matches && step <= range.lastAccepted) replayed = true;
    if (matches && step > range.lastAccepted && accepted === -1) accepted = step;
  }
  if (!input.wellFormed) return { ok: false, reason: 'mismatch' };
  if (accepted !== -1) return { ok: true, step: accepted, driftSteps: accepted - range.currentStep };
  return { ok: false, reason: replayed ? 'replayed' : 'mismatch' };
}

/**
 * Finds a step s within the window where the first code matches s and the second s + 1, to
 * enrol a new authenticator or resynchronise a drifted one (RFC 6238 §6). Returns the second
 * code's step (store it as lastAcceptedStep) and the drift to remember from now on.
 */
export function verifyTwoConsecutiveTOTP(options: VerifyTwoConsecutiveTOTPOptions): VerifyTOTPResult {
  const range = searchRange({
    ...options,
    window: options.window ?? DEFAULT_TOTP_RESYNC_WINDOW,
    driftSteps: options.driftSteps ?? 0,
    lastAcceptedStep: options.lastAcceptedStep ?? null,
  });
  const first = normalizeOTPInput(options.codes[0], options.digits);
  const second = normalizeOTPInput(options.codes[1], options.digits);
  let accepted = -1;
  let replayed = false;
  let previousMatchedFirst = false;
  for (let step = range.first; step <= range.last; step++) {
    const candidate = stepCode(options, step);
    // This step is s + 1 for the pair (step - 1, step); both must lie in the window.
    const pairEndsHere = previousMatchedFirst && otpCodesEqual(candidate, second.bytes);
    if (pairEndsHere && step - 1 <= range.lastAccepted) replayed = true;
    if (pairEndsHere && step - 1 > range.lastAccepted && accepted === -1) accepted = step;
    previousMatchedFirst = otpCodesEqual(candidate, first.bytes);
  }
  if (!first.wellFormed || !second.wellFormed) return { ok: false, reason: 'mismatch' };
  if (accepted !== -1) return { ok: true, step: accepted, driftSteps: accepted - range.currentStep };
  return { ok: false, reason: replayed ? 'replayed' : 'mismatch' };
}
