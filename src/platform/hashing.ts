import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a string, hex; used to store high-entropy tokens (sessions, setup links) by hash. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** HMAC-SHA-256 under `key`, base64url; keyed hashes for low-entropy secrets and CSRF tokens. */
export function hmacBase64url(key: Uint8Array, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

/** Constant-time string equality (lengths are compared first, which reveals only the length). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
