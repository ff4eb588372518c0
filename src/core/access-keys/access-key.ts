/**
 * Access key ids and secret access keys in the shapes AWS clients expect.
 *
 * Entropy: the 16 characters after the prefix are drawn uniformly from the 32-character
 * Base32 alphabet (RFC 4648 §6: A–Z, 2–7), 5 bits each, so an id carries 80 random bits —
 * enough that ids never collide in practice, though an id is an identifier, not a secret.
 * The secret is 30 random bytes written as 40 characters of standard base64 (RFC 4648 §4),
 * 240 bits, more than the 128-bit security level an HMAC-SHA256 key is used at (NIST
 * SP 800-57 Part 1 §5.6). SigV4 is symmetric, so the server must be able to recover the secret: it is stored encrypted, never
 * hashed, and shown to the user once.
 */

import { randomString, type RandomSource } from '../random.js';

/** Prefix of long-term (IAM user) access key ids. */
export const LONG_TERM_ACCESS_KEY_PREFIX = 'AKIA';
/** Prefix of temporary (STS session) access key ids. */
export const TEMPORARY_ACCESS_KEY_PREFIX = 'ASIA';

/** Which kind of credential an access key id names. */
export type AccessKeyKind = 'long-term' | 'temporary';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ID_RANDOM_LENGTH = 16;
const SECRET_BYTES = 30;

/** Length of the access key ids Holdfast issues (prefix + 16). */
export const ACCESS_KEY_ID_LENGTH = 4 + ID_RANDOM_LENGTH;
/** Length of the secret access keys Holdfast issues. */
export const SECRET_ACCESS_KEY_LENGTH = 40;

/** Creates an access key id: `AKIA` + 16 (long-term) or `ASIA` + 16 (temporary). */
export function newAccessKeyId(random: RandomSource, kind: AccessKeyKind): string {
  const prefix = kind === 'long-term' ? LONG_TERM_ACCESS_KEY_PREFIX : TEMPORARY_ACCESS_KEY_PREFIX;
  return prefix + randomString(random, ID_ALPHABET, ID_RANDOM_LENGTH);
}

/** Creates a 40-character secret access key from 30 random bytes (base64, no padding). */
export function newSecretAccessKey(random: RandomSource): string {
  const bytes = random.bytes(SECRET_BYTES);
  if (bytes.length !== SECRET_BYTES) throw new RangeError('random source returned the wrong length');
  let out = '';
  for (let i = 0; i < SECRET_BYTES; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      BASE64_ALPHABET[(n >>> 18) & 63]! +
      BASE64_ALPHABET[(n >>> 12) & 63]! +
      BASE64_ALPHABET[(n >>> 6) & 63]! +
      BASE64_ALPHABET[n & 63]!;
  }
  return out;
}

const ISSUED_ID = /^(AKIA|ASIA)[A-Z2-7]{16}$/;

/** True for an access key id in the shape Holdfast issues (`AKIA`/`ASIA` + 16 Base32 characters). */
export function isAccessKeyId(value: string): boolean {
  return ISSUED_ID.test(value);
}

/** The kind of an access key id Holdfast issued, or `undefined` when it is not one. */
export function accessKeyKind(value: string): AccessKeyKind | undefined {
  if (!isAccessKeyId(value)) return undefined;
  return value.startsWith(LONG_TERM_ACCESS_KEY_PREFIX) ? 'long-term' : 'temporary';
}

/** True for a value the IAM model accepts as an access key id (`[\w]+`, 16–128 characters). */
export function isAccessKeyIdSyntax(value: string): boolean {
  return /^[A-Za-z0-9_]{16,128}$/.test(value);
}

/** True for a secret in the shape Holdfast issues (40 characters of standard base64). */
export function isSecretAccessKey(value: string): boolean {
  return /^[A-Za-z0-9+/]{40}$/.test(value);
}
