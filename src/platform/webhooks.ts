/**
 * Signed webhooks. Every request carries `Holdfast-Signature: t=<unix seconds>,v1=<hex>` where
 * v1 is HMAC-SHA256 (RFC 2104, FIPS 180-4) under the shared secret over `<t>.<raw body>`.
 * Receivers recompute it over the exact bytes received, compare in constant time, and reject a
 * timestamp older (or newer) than their tolerance (5 minutes by default) so a captured request
 * cannot be replayed later. docs/alerts.md describes it for receivers.
 */

import { hmacHex, timingSafeEqual } from '../core/crypto/hashing.js';

/** The header carrying timestamp and signature. */
export const SIGNATURE_HEADER = 'holdfast-signature';
/** Default replay tolerance of receivers (seconds). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The v1 signature of a body at a timestamp (hex). */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return hmacHex(Buffer.from(secret, 'utf8'), `${timestamp}.${body}`);
}

/** The header value for a body sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`;
}

/**
 * Verifies a received webhook: a well-formed header, a timestamp within the tolerance of `now`,
 * and a matching signature (constant-time). Returns why it failed, or null when it is genuine.
 */
export function verifyWebhook(input: {
  secret: string;
  header: string | undefined;
  body: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): null | 'malformed' | 'stale' | 'bad_signature' {
  if (input.header === undefined) return 'malformed';
  const parts = new Map(
    input.header.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || v1 === undefined || !/^[0-9a-f]{64}$/.test(v1)) return 'malformed';
  if (Math.abs(input.nowSeconds - t) > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return 'stale';
  const expected = Buffer.from(signatureOf(input.secret, t, input.body), 'hex');
  return timingSafeEqual(expected, Buffer.from(v1, 'hex')) ? null : 'bad_signature';
}

/** Posts a signed JSON body; throws on a network error or a non-2xx answer. */
export async function postSignedWebhook(input: {
  url: string;
  secret: string;
  body: string;
  nowSeconds: number;
  messageId: string;
  timeoutMs?: number;
}): Promise<void> {
  const res = await fetch(input.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [SIGNATURE_HEADER]: signWebhook(input.secret, input.nowSeconds, input.body),
      // Receivers deduplicate on this id: a delivery may be repeated after a crash.
      'holdfast-message-id': input.messageId,
    },
    body: input.body,
    signal: AbortSignal.timeout(input.timeoutMs ?? 10_000),
  });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
}
