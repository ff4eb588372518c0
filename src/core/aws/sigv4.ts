/**
 * AWS Signature Version 4 (`AWS4-HMAC-SHA256`): the pure signing steps, shared by the signing
 * client (the CLI) and the verifier (http/aws/sigv4.ts). Canonical request → string to sign →
 * HMAC-SHA256 key chain → signature, as in the AWS SigV4 documentation ("Create a signed AWS API
 * request", IAM User Guide). Input a client could not have signed fails with
 * {@link SigV4InputError}; the verifier answers it as `IncompleteSignature`.
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The signing algorithm, the only one accepted. */
export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

/** Input that cannot be canonicalised (a lone surrogate, a signed header that is absent). */
export class SigV4InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigV4InputError';
  }
}

/** Header values as Node delivers them (names in any case; repeated headers as arrays). */
export type SigV4Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Lower-cases header names; repeated headers (arrays, or names differing in case) join with `,`. */
export function normaliseHeaders(headers: SigV4Headers): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const joined = typeof value === 'string' ? value : value.join(',');
    const previous = out.get(lower);
    out.set(lower, previous === undefined ? joined : `${previous},${joined}`);
  }
  return out;
}

/** SigV4 URI encoding: RFC 3986 unreserved characters kept, all else `%XX` upper-case. */
export function uriEncode(value: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    // A lone surrogate cannot be UTF-8 encoded, so no client could have signed it.
    throw new SigV4InputError('The request path or query is not valid UTF-8.');
  }
  return encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Canonical URI for non-S3 services: the wire path with `.`/`..` segments resolved and each
 * segment URI-encoded again (the SigV4 "encode twice" rule, as the SDKs sign).
 */
export function canonicalURI(path: string): string {
  const p = path === '' ? '/' : path;
  const segments: string[] = [];
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = p.endsWith('/') && segments.length > 0 ? '/' : '';
  return `/${segments.map(uriEncode).join('/')}${trailing}`;
}

/** Canonical query string: decoded, re-encoded, sorted by name then value, joined with `&`. */
export function canonicalQueryString(query: string | undefined): string {
  if (!query) return '';
  const pairs: [string, string][] = [];
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = uriEncode(safeDecode(eq < 0 ? pair : pair.slice(0, eq)));
    const value = uriEncode(safeDecode(eq < 0 ? '' : pair.slice(eq + 1)));
    pairs.push([name, value]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/** A header value in canonical form: trimmed, runs of whitespace collapsed to one space. */
export function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

/** Lower-case hex SHA-256. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Input of {@link buildCanonicalRequest}. */
export interface CanonicalRequestInput {
  method: string;
  path: string;
  query?: string | undefined;
  headers: SigV4Headers;
  /** Lower-case names of the signed headers, in the order listed in SignedHeaders. */
  signedHeaders: readonly string[];
  /** Hex SHA-256 of the payload (or the `x-amz-content-sha256` value). */
  payloadHash: string;
}

/**
 * Builds the canonical request (method, canonical URI, canonical query string, canonical
 * headers, signed headers, payload hash; joined with `\n`). Throws `IncompleteSignature` when a
 * signed header is absent from the request.
 */
export function buildCanonicalRequest(input: CanonicalRequestInput): string {
  const headers = normaliseHeaders(input.headers);
  let block = '';
  for (const name of input.signedHeaders) {
    const value = headers.get(name);
    if (value === undefined)
      throw new SigV4InputError(`Header '${name}' is listed in SignedHeaders but absent.`);
    block += `${name}:${canonicalHeaderValue(value)}\n`;
  }
  return [
    input.method.toUpperCase(),
    canonicalURI(input.path),
    canonicalQueryString(input.query),
    block,
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

/** The credential scope `YYYYMMDD/region/service/aws4_request`. */
export function credentialScope(input: { date: string; region: string; service: string }): string {
  return `${input.date}/${input.region}/${input.service}/aws4_request`;
}

/** The string to sign: algorithm, request time, scope, hex SHA-256 of the canonical request. */
export function buildStringToSign(input: {
  amzDate: string;
  scope: string;
  canonicalRequest: string;
}): string {
  return [SIGV4_ALGORITHM, input.amzDate, input.scope, sha256Hex(input.canonicalRequest)].join('\n');
}

function hmac(key: string | Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The signing key: HMAC-SHA256 chain over date, region, service and `aws4_request`. */
export function deriveSigningKey(input: {
  secretAccessKey: string;
  date: string;
  region: string;
  service: string;
}): Buffer {
  const kDate = hmac(`AWS4${input.secretAccessKey}`, input.date);
  const kRegion = hmac(kDate, input.region);
  const kService = hmac(kRegion, input.service);
  return hmac(kService, 'aws4_request');
}

/** Hex HMAC-SHA256 of the string to sign under the signing key. */
export function computeSignature(signingKey: Uint8Array, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

/**
 * A small bounded LRU cache of signing keys, keyed by (access key id, date, region, service).
 * Each entry also holds a SHA-256 of the secret it was derived from, so a rotated secret is a
 * miss; the secret itself is not kept.
 */
export class SigningKeyCache {
  private readonly entries = new Map<string, { secretDigest: Buffer; key: Buffer }>();

  constructor(private readonly maxEntries = 1024) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be >= 1');
  }

  /** Number of cached keys. */
  get size(): number {
    return this.entries.size;
  }

  /** Returns the cached signing key, deriving and caching it on a miss. */
  getOrDerive(input: {
    accessKeyId: string;
    secretAccessKey: string;
    date: string;
    region: string;
    service: string;
  }): Buffer {
    const id = `${input.accessKeyId}/${input.date}/${input.region}/${input.service}`;
    const digest = createHash('sha256').update(input.secretAccessKey, 'utf8').digest();
    const hit = this.entries.get(id);
    if (hit && timingSafeEqual(hit.secretDigest, digest)) {
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit.key;
    }
    const key = deriveSigningKey(input);
    this.entries.delete(id);
    this.entries.set(id, { secretDigest: digest, key });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return key;
  }
}

/** Parses `YYYYMMDDTHHMMSSZ` to epoch ms, or `undefined`. */
export function parseAmzDate(value: string): number | undefined {
  const m = /^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
    return undefined;
  return ms;
}

/** Formats epoch ms as `YYYYMMDDTHHMMSSZ`. */
export function formatAmzDate(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.[0-9]{3}/, '');
}
