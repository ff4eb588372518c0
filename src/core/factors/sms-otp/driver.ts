import { HoldfastError } from '../../errors.js';
import type { FactorDriver, FactorVerification, OTPParams, OTPState } from '../factor.js';
import { generateHOTP, normalizeOTPInput, otpCodesEqual } from '../otp/hotp.js';

/**
 * Text-message codes (SMS). NIST SP 800-63B §5.1.3.3 calls the phone network a *restricted*
 * authenticator: a SIM swap or a ported number hands the codes to someone else. So this kind is
 * off by default (the account setting `smsOtpAllowed`), has the lowest level of any factor, is
 * labelled weak wherever it is shown, and a code is sent only when the user asks for this
 * factor's challenge: nothing ever falls back to SMS by itself (MISSION.md failure 2).
 *
 * The code is HOTP (RFC 4226) over a seed that never leaves the server, with the factor's replay
 * counter as the challenge counter. Counters are seconds since the epoch, so a counter also says
 * when its code was issued:
 *
 * - a challenge picks an even counter `c` (at or after the current second, above anything used)
 *   and records `c - 1` as the last counter: everything up to it is spent, and an odd last
 *   counter means "a challenge is live";
 * - a code is accepted only for `last + 1` while the last counter is odd, and only within
 *   {@link SMS_CODE_TTL_MS} of its counter's second; accepting it records `c` (even): the code
 *   is used once, and no code is accepted until the next challenge;
 * - a new challenge spends the previous one (only the latest code sent is good).
 *
 * The phone number is sealed with the seed (the factor's one secret), so it is encrypted at rest
 * like the seed and needs no column of its own.
 */

/** How long a sent code stays good. */
export const SMS_CODE_TTL_MS = 5 * 60_000;
/** Seed length (160 bits, RFC 4226 §4 R6). */
export const SMS_SEED_BYTES = 20;

/** The OTP parameters of every SMS factor: six-digit HOTP-SHA1. */
export const SMS_OTP_PARAMS: OTPParams = {
  mode: 'hotp',
  algorithm: 'SHA1',
  digits: 6,
  period: SMS_CODE_TTL_MS / 1000,
  initialCounter: 0,
};

/** Validates an E.164 phone number (`+` and 8–15 digits, no leading zero) after removing spaces. */
export function parsePhoneNumber(input: string): string {
  const compact = input.replace(/[\s().-]/g, '');
  if (!/^\+[1-9][0-9]{7,14}$/.test(compact)) throw new HoldfastError('SMS_OTP_PHONE_INVALID');
  return compact;
}

/** Shows the last two digits of a number only. */
export function maskPhoneNumber(phone: string): string {
  return `${'•'.repeat(Math.max(0, phone.length - 3))}${phone.slice(-2)}`;
}

/** The secret sealed for an SMS factor: the seed, then the phone number. */
export function packSmsSecret(seed: Uint8Array, phone: string): Uint8Array {
  if (seed.length !== SMS_SEED_BYTES) throw new HoldfastError('FACTOR_SECRET_INVALID');
  return Buffer.concat([Buffer.from(seed), Buffer.from(phone, 'utf8')]);
}

/** The seed and phone number of an SMS factor's opened secret. */
export function unpackSmsSecret(secret: Uint8Array): { seed: Uint8Array; phone: string } {
  if (secret.length <= SMS_SEED_BYTES) throw new HoldfastError('FACTOR_SECRET_INVALID');
  return {
    seed: secret.subarray(0, SMS_SEED_BYTES),
    phone: Buffer.from(secret.subarray(SMS_SEED_BYTES)).toString('utf8'),
  };
}

/** What a challenge produces: the code to send, where, and the last counter to record. */
export interface SmsChallenge {
  code: string;
  phone: string;
  /** The counter the code is for (even; the second it was issued, or just after the last use). */
  counter: number;
  /** Record this as the factor's last counter (conditionally: the caller's update decides). */
  lastCounter: number;
}

/** Issues a challenge: the next code to text to the factor's phone. */
export function smsChallenge(input: { state: OTPState; now: number }): SmsChallenge {
  const { seed, phone } = unpackSmsSecret(input.state.secret);
  let counter = Math.max(Math.floor(input.now / 1000), (input.state.lastCounter ?? 0) + 2);
  if (counter % 2 === 1) counter += 1;
  const code = generateHOTP({ secret: seed, counter, digits: 6, algorithm: 'SHA1' });
  return { code, phone, counter, lastCounter: counter - 1 };
}

/** Checks a code against the live challenge, if any. */
export function verifySmsCode(input: { state: OTPState; code: string; now: number }): FactorVerification {
  const { state } = input;
  const typed = normalizeOTPInput(input.code, 6);
  if (state.lastCounter === null || !typed.wellFormed) return { ok: false, reason: 'malformed' };
  const { seed } = unpackSmsSecret(state.secret);
  const codeOf = (counter: number) => generateHOTP({ secret: seed, counter, digits: 6, algorithm: 'SHA1' });
  const live = state.lastCounter % 2 === 1;
  if (!live) {
    // No challenge is live: the last code sent was used already (or none was ever sent).
    return otpCodesEqual(codeOf(state.lastCounter), typed.bytes)
      ? { ok: false, reason: 'replayed' }
      : { ok: false, reason: 'mismatch' };
  }
  const counter = state.lastCounter + 1;
  const matches = otpCodesEqual(codeOf(counter), typed.bytes);
  if (!matches) return { ok: false, reason: 'mismatch' };
  if (input.now >= counter * 1000 + SMS_CODE_TTL_MS) return { ok: false, reason: 'expired' };
  return { ok: true, lastCounter: counter, driftSteps: 0 };
}

/**
 * Begins enrolling a phone: a fresh seed sealed with the (validated) number, and the first code's
 * challenge live from the start, so the caller texts it and the user enables with it.
 */
export function beginSmsEnrolment(input: {
  random: { bytes(length: number): Uint8Array };
  now: number;
  phone?: string;
}): { secret: Uint8Array; params: OTPParams; lastCounter: number } {
  if (input.phone === undefined) throw new HoldfastError('SMS_OTP_PHONE_INVALID');
  const secret = packSmsSecret(input.random.bytes(SMS_SEED_BYTES), parsePhoneNumber(input.phone));
  const first = smsChallenge({
    state: { secret, params: SMS_OTP_PARAMS, lastCounter: null, driftSteps: 0 },
    now: input.now,
  });
  return { secret, params: SMS_OTP_PARAMS, lastCounter: first.lastCounter };
}

/** Text-message codes: the weakest kind, off unless the account allows it. */
export const smsOtpDriver: FactorDriver = {
  kind: 'sms_otp',
  amr: 'sms',
  label: 'Text message (SMS), weak',
  offByDefault: true,
  assurance: () => 'restricted_otp',
  beginEnrolment: beginSmsEnrolment,
  // Enabling takes the one code that was texted (two codes are not how this kind works).
  completeEnrolment: ({ state, response, now }) =>
    'code' in response
      ? verifySmsCode({ state, code: response.code, now })
      : { ok: false, reason: 'malformed' },
  verify: verifySmsCode,
  // Enabling takes the one code that was texted; there is nothing to resynchronise.
  verifyConsecutive: () => ({ ok: false, reason: 'malformed' }),
  challenge: smsChallenge,
};
