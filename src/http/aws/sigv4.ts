/**
 * AWS Signature Version 4 (`AWS4-HMAC-SHA256`) verification, Authorization-header form, as
 * the AWS CLI and SDKs sign IAM and STS Query requests.
 *
 * The steps follow the AWS SigV4 documentation ("Create a signed AWS API request", IAM User
 * Guide): canonical request → string to sign → HMAC-SHA256 key chain → signature, compared in
 * constant time. Decisions that are ours:
 * - Any region is accepted in the credential scope (clients sign with their own configured
 *   region when given a custom endpoint); the scope's service must be one we serve and is
 *   returned so the caller routes on it.
 * - The request time (`X-Amz-Date`, else `Date`) must be within 15 minutes of now, and the
 *   scope date must be its first 8 characters.
 * - `host` must be signed. When `x-amz-content-sha256` is sent it is used as the payload hash
 *   (clients sign it) but must equal the SHA-256 of the body, so a captured signature cannot
 *   be replayed with a different body.
 * - Clock skew is answered `SignatureDoesNotMatch` (403) with the "Signature expired" /
 *   "Signature not yet current" messages IAM and STS send; that is the code the SDKs see from
 *   these services and treat as a clock-skew signal (they then correct from our `Date`
 *   header). The generic `RequestExpired` code is not what IAM/STS answer.
 * - No error message carries the expected signature, the secret or the security token.
 * - Presigned (query-string) authentication is not accepted.
 */

import { timingSafeEqual } from '../../core/crypto/hashing.js';
import {
  SIGV4_ALGORITHM,
  SigV4InputError,
  buildCanonicalRequest as buildCanonicalRequestPure,
  canonicalQueryString as canonicalQueryStringPure,
  canonicalURI as canonicalURIPure,
  credentialScope,
  buildStringToSign,
  deriveSigningKey,
  computeSignature,
  formatAmzDate,
  normaliseHeaders,
  parseAmzDate,
  type SigningKeyCache,
  sha256Hex,
  uriEncode as uriEncodePure,
  type SigV4Headers,
} from '../../core/aws/sigv4.js';
import { AwsError, type AwsErrorCode } from './xml.js';

export {
  SIGV4_ALGORITHM,
  SigningKeyCache,
  buildStringToSign,
  canonicalHeaderValue,
  computeSignature,
  credentialScope,
  deriveSigningKey,
  formatAmzDate,
  sha256Hex,
  type CanonicalRequestInput,
  type SigV4Headers,
} from '../../core/aws/sigv4.js';

/** How far the request time may be from now, either way (15 minutes, as IAM and STS allow). */
export const SIGV4_MAX_SKEW_MS = 15 * 60 * 1000;

/** The codes {@link verifySigV4} fails with. */
export type SigV4ErrorCode = Extract<
  AwsErrorCode,
  'MissingAuthenticationToken' | 'IncompleteSignature' | 'InvalidClientTokenId' | 'SignatureDoesNotMatch'
>;

/** Finer reason for the audit log (never sent to the client beyond the code and message). */
export type SigV4FailureReason =
  | 'missing'
  | 'malformed'
  | 'unknown-key'
  | 'clock-skew'
  | 'scope-date'
  | 'scope-service'
  | 'payload-hash'
  | 'signature';

/** A SigV4 verification failure, with the AWS code and HTTP status to answer with. */
export class SigV4Error extends AwsError {
  declare readonly code: SigV4ErrorCode;
  /** What exactly failed, for the audit log. */
  readonly reason: SigV4FailureReason;

  constructor(code: SigV4ErrorCode, reason: SigV4FailureReason, message: string) {
    super(code, message);
    this.name = 'SigV4Error';
    this.reason = reason;
  }
}

/** HTTP status of each SigV4 failure code. */
export const SIGV4_ERROR_STATUS: Record<SigV4ErrorCode, number> = {
  MissingAuthenticationToken: 403,
  IncompleteSignature: 400,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
};

const MSG_SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function incomplete(message: string): SigV4Error {
  return new SigV4Error('IncompleteSignature', 'malformed', message);
}

/** The parts of an `Authorization: AWS4-HMAC-SHA256 …` header. */
export interface ParsedAuthorization {
  accessKeyId: string;
  /** Scope date, `YYYYMMDD`. */
  date: string;
  region: string;
  service: string;
  /** Lower-cased header names, in the order sent. */
  signedHeaders: string[];
  /** 64 lower-case hex digits. */
  signature: string;
}

/**
 * Parses the Authorization header. Tolerates what clients send: components separated by
 * `,` and/or spaces, in any order. Fails with `IncompleteSignature` on anything else.
 */
export function parseAuthorizationHeader(value: string): ParsedAuthorization {
  const trimmed = value.trim();
  const space = trimmed.search(/\s/);
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    throw incomplete(
      `Unsupported AWS 'algorithm': '${algorithm.slice(0, 32).replace(/[^\x20-\x7E]/g, '?')}'`,
    );
  }
  const parts = new Map<string, string>();
  for (const component of trimmed.slice(algorithm.length).split(/[\s,]+/)) {
    if (component === '') continue;
    const eq = component.indexOf('=');
    if (eq <= 0) throw incomplete(`Authorization header components must be of the form key=value.`);
    const key = component.slice(0, eq);
    if (parts.has(key))
      throw incomplete(`Authorization header has the '${key.slice(0, 32)}' parameter twice.`);
    parts.set(key, component.slice(eq + 1));
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !parts.get(k));
  if (missing.length > 0) {
    throw incomplete(missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' '));
  }
  for (const key of parts.keys()) {
    if (key !== 'Credential' && key !== 'SignedHeaders' && key !== 'Signature') {
      throw incomplete(`Authorization header has an unknown parameter.`);
    }
  }

  const credential = parts.get('Credential')!.split('/');
  if (credential.length !== 5) {
    throw incomplete(
      'Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.',
    );
  }
  const [accessKeyId, date, region, service, terminator] = credential as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (!/^[A-Za-z0-9_]{1,128}$/.test(accessKeyId))
    throw incomplete('Credential has an invalid access key id.');
  if (!/^[0-9]{8}$/.test(date)) throw incomplete('Credential has an invalid date.');
  if (!/^[a-z0-9-]{1,64}$/.test(region)) throw incomplete('Credential has an invalid region.');
  if (!/^[a-z0-9-]{1,64}$/.test(service)) throw incomplete('Credential has an invalid service.');
  if (terminator !== 'aws4_request') throw incomplete("Credential should be terminated with 'aws4_request'.");

  const signedHeaders = parts
    .get('SignedHeaders')!
    .split(';')
    .map((h) => h.toLowerCase());
  if (signedHeaders.some((h) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(h))) {
    throw incomplete('SignedHeaders has an invalid header name.');
  }
  if (new Set(signedHeaders).size !== signedHeaders.length) {
    throw incomplete('SignedHeaders lists a header twice.');
  }

  const signature = parts.get('Signature')!.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(signature)) throw incomplete('Signature must be 64 hexadecimal characters.');

  return { accessKeyId, date, region, service, signedHeaders, signature };
}

/** Runs a pure signing step, answering input no client could have signed as `IncompleteSignature`. */
function asIncomplete<A extends unknown[], R>(step: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return step(...args);
    } catch (err) {
      if (err instanceof SigV4InputError) throw incomplete(err.message);
      throw err;
    }
  };
}

/** SigV4 URI encoding (core/aws/sigv4.ts), failing with `IncompleteSignature`. */
export const uriEncode = asIncomplete(uriEncodePure);
/** Canonical URI (core/aws/sigv4.ts), failing with `IncompleteSignature`. */
export const canonicalURI = asIncomplete(canonicalURIPure);
/** Canonical query string (core/aws/sigv4.ts), failing with `IncompleteSignature`. */
export const canonicalQueryString = asIncomplete(canonicalQueryStringPure);
/** The canonical request (core/aws/sigv4.ts), failing with `IncompleteSignature`. */
export const buildCanonicalRequest = asIncomplete(buildCanonicalRequestPure);

/** The parts of the request SigV4 covers. */
export interface SigV4Request {
  /** HTTP method, any case. */
  method: string;
  /** The path exactly as sent on the wire (still percent-encoded), without the query string. */
  path: string;
  /** The raw query string without `?` ('' or absent for none). */
  query?: string | undefined;
  headers: SigV4Headers;
  /** The raw body bytes, before any parsing. */
  body: string | Uint8Array;
}

/** What the credential lookup returns: the secret, plus anything the caller attaches. */
export interface SigV4Credential {
  secretAccessKey: string;
}

/** Looks up the secret of an access key id; `null` when unknown or inactive. */
export type SigV4Lookup<C extends SigV4Credential> = (
  accessKeyId: string,
  context: { securityToken: string | undefined; service: string },
) => Promise<C | null>;

/** Input of {@link verifySigV4}. */
export interface VerifySigV4Options<C extends SigV4Credential> {
  request: SigV4Request;
  lookup: SigV4Lookup<C>;
  /** Current time, epoch milliseconds (injected). */
  now: number;
  /** Services accepted in the credential scope; default `iam` and `sts`. */
  services?: readonly string[];
  /** Signing-key cache; without one, keys are derived each time. */
  cache?: SigningKeyCache;
}

/** A verified request. */
export interface SigV4Verified<C extends SigV4Credential> {
  accessKeyId: string;
  region: string;
  /** The scope's service (`iam` or `sts`), to route on. */
  service: string;
  /** Request time, epoch milliseconds. */
  requestTime: number;
  /** `X-Amz-Security-Token`, when sent (temporary credentials). */
  securityToken: string | undefined;
  /** Lower-case names of the headers the signature covers. */
  signedHeaders: string[];
  /** What the lookup returned, untouched. */
  credential: C;
}

/** Reads the request time from `X-Amz-Date`, falling back to `Date` (RFC 7231 IMF-fixdate). */
function readRequestTime(headers: Map<string, string>): { amzDate: string; time: number; header: string } {
  const amz = headers.get('x-amz-date');
  if (amz !== undefined) {
    const time = parseAmzDate(amz.trim());
    if (time === undefined) throw incomplete("Invalid 'X-Amz-Date' header: expected YYYYMMDD'T'HHMMSS'Z'.");
    return { amzDate: amz.trim(), time, header: 'x-amz-date' };
  }
  const date = headers.get('date');
  if (date !== undefined) {
    const time = Date.parse(date);
    if (!Number.isFinite(time) || !/GMT$/.test(date.trim())) throw incomplete("Invalid 'Date' header.");
    return { amzDate: formatAmzDate(time), time, header: 'date' };
  }
  throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
}

/**
 * Verifies a SigV4-signed request. Resolves with the access key id, region, service, security
 * token and the lookup's credential; rejects with a {@link SigV4Error}.
 */
export async function verifySigV4<C extends SigV4Credential>(
  options: VerifySigV4Options<C>,
): Promise<SigV4Verified<C>> {
  const { request, now } = options;
  const headers = normaliseHeaders(request.headers);

  const authorization = headers.get('authorization');
  if (authorization === undefined || authorization.trim() === '') {
    throw new SigV4Error('MissingAuthenticationToken', 'missing', 'Request is missing Authentication Token');
  }
  const auth = parseAuthorizationHeader(authorization);
  if (!auth.signedHeaders.includes('host')) {
    throw incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }

  const { amzDate, time } = readRequestTime(headers);
  if (time < now - SIGV4_MAX_SKEW_MS) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      'clock-skew',
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - SIGV4_MAX_SKEW_MS)} (${formatAmzDate(now)} - 15 min.)`,
    );
  }
  if (time > now + SIGV4_MAX_SKEW_MS) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      'clock-skew',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + SIGV4_MAX_SKEW_MS)} (${formatAmzDate(now)} + 15 min.)`,
    );
  }
  if (auth.date !== amzDate.slice(0, 8)) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      'scope-date',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}'`,
    );
  }
  const services = options.services ?? ['iam', 'sts'];
  if (!services.includes(auth.service)) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      'scope-service',
      `Credential should be scoped to correct service: one of '${services.join("', '")}'.`,
    );
  }

  const bodyHash = sha256Hex(request.body);
  const declared = headers.get('x-amz-content-sha256');
  let payloadHash = bodyHash;
  if (declared !== undefined) {
    const normalised = declared.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(normalised) || normalised !== bodyHash) {
      throw new SigV4Error(
        'SignatureDoesNotMatch',
        'payload-hash',
        'The provided x-amz-content-sha256 header does not match the computed hash of the request body.',
      );
    }
    payloadHash = declared.trim();
  }

  const securityToken = headers.get('x-amz-security-token');
  const credential = await options.lookup(auth.accessKeyId, { securityToken, service: auth.service });
  if (!credential) {
    throw new SigV4Error(
      'InvalidClientTokenId',
      'unknown-key',
      'The security token included in the request is invalid.',
    );
  }

  const canonicalRequest = buildCanonicalRequest({
    method: request.method,
    path: request.path,
    query: request.query,
    headers: request.headers,
    signedHeaders: auth.signedHeaders,
    payloadHash,
  });
  const scope = credentialScope(auth);
  const stringToSign = buildStringToSign({ amzDate, scope, canonicalRequest });
  const keyInput = {
    accessKeyId: auth.accessKeyId,
    secretAccessKey: credential.secretAccessKey,
    date: auth.date,
    region: auth.region,
    service: auth.service,
  };
  const signingKey = options.cache ? options.cache.getOrDerive(keyInput) : deriveSigningKey(keyInput);
  const expected = Buffer.from(computeSignature(signingKey, stringToSign), 'hex');
  const provided = Buffer.from(auth.signature, 'hex');
  // Both are 32 bytes (the header parser checked 64 hex digits), so the comparison is constant-time.
  if (expected.length !== provided.length || !timingSafeEqual(expected, provided)) {
    throw new SigV4Error('SignatureDoesNotMatch', 'signature', MSG_SIGNATURE_MISMATCH);
  }

  return {
    accessKeyId: auth.accessKeyId,
    region: auth.region,
    service: auth.service,
    requestTime: time,
    securityToken,
    signedHeaders: auth.signedHeaders,
    credential,
  };
}
