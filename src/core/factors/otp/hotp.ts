/**
 * HOTP: HMAC-based one-time passwords (RFC 4226), with SHA-256/512 as RFC 6238 §1.2 allows.
 *
 * Pure: the caller passes the stored counter and saves the returned `nextCounter`
 * (the shape of a factor driver in DESIGN.md).
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import { HoldfastError } from '../../errors.js';

/** The HMAC hash functions OTP tokens use (RFC 4226 §5, RFC 6238 §1.2). */
export type OTPHashAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** Number of decimal digits in a code (RFC 4226 §5.3 requires at least 6; tokens use 6 to 8). */
export type OTPDigits = 6 | 7 | 8;

/** Largest look-ahead or search window accepted, to bound the HMACs one request can cost. */
export const MAX_HOTP_WINDOW = 1000;

const HASH_NAMES: Record<OTPHashAlgorithm, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };
const MAX_COUNTER = (1n << 64n) - 1n;

/** Options of generateHOTP. */
export interface GenerateHOTPOptions {
  secret: Uint8Array;
  /** Moving factor C, 0 to 2^64-1 (RFC 4226 §5.1). */
  counter: bigint | number;
  digits: OTPDigits;
  algorithm: OTPHashAlgorithm;
}

/** Options of verifyHOTP. */
export interface VerifyHOTPOptions {
  secret: Uint8Array;
  /** The code as the user typed it; spaces are ignored. */
  code: string;
  /** The next counter value the server expects (the stored one). */
  counter: bigint | number;
  /** How many counters past `counter` also match (RFC 4226 §7.4 look-ahead); default 10. */
  lookAhead?: number;
  digits: OTPDigits;
  algorithm: OTPHashAlgorithm;
}

/** Result of verifyHOTP: on success the matched counter and the counter to store next. */
export type VerifyHOTPResult = { ok: true; matchedCounter: number; nextCounter: number } | { ok: false };

/** Options of resyncHOTP. */
export interface ResyncHOTPOptions {
  secret: Uint8Array;
  /** Two codes the token showed one after the other (RFC 4226 §7.4 resynchronisation). */
  codes: readonly [string, string];
  /** The stored next expected counter; the search starts there. */
  counter: bigint | number;
  /** How many counters past `counter` to search, at most MAX_HOTP_WINDOW. */
  searchWindow: number;
  digits: OTPDigits;
  algorithm: OTPHashAlgorithm;
}

/** Throws FACTOR_OTP_PARAMETERS_INVALID unless digits and algorithm are supported values. */
export function assertOTPParameters(options: { digits: number; algorithm: string }): void {
  if (options.digits !== 6 && options.digits !== 7 && options.digits !== 8) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'digits must be 6, 7 or 8.');
  }
  if (!Object.hasOwn(HASH_NAMES, options.algorithm)) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'algorithm must be SHA1, SHA256 or SHA512.');
  }
}

function toCounter(counter: bigint | number): bigint {
  if (typeof counter === 'number' && !Number.isSafeInteger(counter)) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'counter must be an integer.');
  }
  const value = BigInt(counter);
  if (value < 0n || value > MAX_COUNTER) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'counter must fit in 8 unsigned bytes.');
  }
  return value;
}

/** A counter that verify/resync may return as a JS number (they report counters as numbers). */
function toSafeCounter(counter: bigint | number, window: number): number {
  const value = toCounter(counter);
  if (value + BigInt(window) + 1n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'counter is too large to verify.');
  }
  return Number(value);
}

function assertWindow(window: number, name: string): void {
  if (!Number.isSafeInteger(window) || window < 0 || window > MAX_HOTP_WINDOW) {
    throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', `${name} must be 0 to ${MAX_HOTP_WINDOW}.`);
  }
}

/** Throws FACTOR_SECRET_INVALID unless the secret is a non-empty byte array. */
export function assertOTPSecret(secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length === 0) {
    throw new HoldfastError('FACTOR_SECRET_INVALID', 'The OTP secret is empty.');
  }
}

/** Computes one code without validating inputs (callers have). */
function computeCode(options: {
  secret: Uint8Array;
  counter: bigint;
  digits: OTPDigits;
  algorithm: OTPHashAlgorithm;
}): string {
  const { secret, counter, digits, algorithm } = options;
  // RFC 4226 §5.2: C is an 8-byte big-endian counter.
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(counter);
  const hs = createHmac(HASH_NAMES[algorithm], secret).update(message).digest();
  // RFC 4226 §5.3 dynamic truncation: the low 4 bits of the last byte select 4 bytes, whose
  // top bit is masked so the result is the same signed or unsigned (31-bit Snum).
  const offset = hs[hs.length - 1]! & 0x0f;
  const binary =
    ((hs[offset]! & 0x7f) << 24) | (hs[offset + 1]! << 16) | (hs[offset + 2]! << 8) | hs[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/**
 * Normalises typed input to a fixed-length buffer for timingSafeEqual. Input that cannot be a
 * code of this length gives a buffer of the right length that no code equals (letters), so
 * the comparison loop runs the same way for well- and ill-formed input.
 */
export function normalizeOTPInput(code: string, digits: OTPDigits): { bytes: Buffer; wellFormed: boolean } {
  const compact = typeof code === 'string' ? code.replace(/\s+/g, '') : '';
  const wellFormed = compact.length === digits && /^[0-9]+$/.test(compact);
  return { bytes: Buffer.from(wellFormed ? compact : 'x'.repeat(digits), 'latin1'), wellFormed };
}

/** Compares a candidate code with normalised input in constant time (both have `digits` bytes). */
export function otpCodesEqual(candidate: string, input: Buffer): boolean {
  return timingSafeEqual(Buffer.from(candidate, 'latin1'), input);
}

/** Generates the HOTP value for one counter (RFC 4226 §5.3, dynamic truncation). */
export function generateHOTP(options: GenerateHOTPOptions): string {
  assertOTPSecret(options.secret);
  assertOTPParameters(options);
  return computeCode({ ...options, counter: toCounter(options.counter) });
}

/**
 * Verifies a code against counters `counter` to `counter + lookAhead` (RFC 4226 §7.2, §7.4).
 * Every candidate is computed and compared, so the time taken does not reveal where a match was.
 */
export function verifyHOTP(options: VerifyHOTPOptions): VerifyHOTPResult {
  assertOTPSecret(options.secret);
  assertOTPParameters(options);
  const lookAhead = options.lookAhead ?? 10;
  assertWindow(lookAhead, 'lookAhead');
  const start = toSafeCounter(options.counter, lookAhead);
  const input = normalizeOTPInput(options.code, options.digits);
  let matched = -1;
  for (let i = 0; i <= lookAhead; i++) {
    const candidate = computeCode({ ...options, counter: BigInt(start + i) });
    // The lowest matching counter wins; later candidates are still computed.
    if (otpCodesEqual(candidate, input.bytes) && matched === -1) matched = start + i;
  }
  if (!input.wellFormed || matched === -1) return { ok: false };
  return { ok: true, matchedCounter: matched, nextCounter: matched + 1 };
}

/**
 * Resynchronises a token whose counter ran ahead: finds the first n in
 * [counter, counter + searchWindow] where the two codes match n and n + 1 (RFC 4226 §7.4).
 * On success `matchedCounter` is n + 1 (the second code) and `nextCounter` n + 2.
 */
export function resyncHOTP(options: ResyncHOTPOptions): VerifyHOTPResult {
  assertOTPSecret(options.secret);
  assertOTPParameters(options);
  assertWindow(options.searchWindow, 'searchWindow');
  const start = toSafeCounter(options.counter, options.searchWindow + 1);
  const first = normalizeOTPInput(options.codes[0], options.digits);
  const second = normalizeOTPInput(options.codes[1], options.digits);
  let matched = -1;
  let previousMatchedFirst = false;
  // Candidate i is compared with the second code and candidate i - 1 with the first.
  for (let i = 0; i <= options.searchWindow + 1; i++) {
    const candidate = computeCode({ ...options, counter: BigInt(start + i) });
    const matchesSecond = otpCodesEqual(candidate, second.bytes);
    if (previousMatchedFirst && matchesSecond && matched === -1) matched = start + i;
    previousMatchedFirst = i <= options.searchWindow && otpCodesEqual(candidate, first.bytes);
  }
  if (!first.wellFormed || !second.wellFormed || matched === -1) return { ok: false };
  return { ok: true, matchedCounter: matched, nextCounter: matched + 1 };
}
