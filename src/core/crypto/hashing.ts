import { createHash, createHmac, hkdfSync, timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';

/**
 * Pure hashing helpers (digests, HMAC, HKDF, constant-time comparison), kept in core once.
 * node:crypto is used here for hashing only; randomness is injected (core/random.ts).
 */

/** SHA-256 of a string, hex; used to store high-entropy tokens (sessions, setup links) by hash. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** HMAC-SHA-256 under `key`, base64url; keyed hashes for low-entropy secrets and CSRF tokens. */
export function hmacBase64url(key: Uint8Array, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

/** HKDF-SHA-256 (RFC 5869) with an empty salt: a 32-byte key for one purpose, named by `info`. */
export function hkdfSha256(ikm: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), info, 32));
}

/** HMAC-SHA-256 under `key`, hex. */
export function hmacHex(key: Uint8Array, value: string): string {
  return createHmac('sha256', key).update(value).digest('hex');
}

/** Constant-time string equality (lengths are compared first, which reveals only the length). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && nodeTimingSafeEqual(ab, bb);
}

/** Constant-time equality of two byte strings of the same length (throws on different lengths). */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return nodeTimingSafeEqual(a, b);
}
