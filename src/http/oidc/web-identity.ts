/**
 * STS AssumeRoleWithWebIdentity on the AWS Query endpoint. Like AWS, the call is not signed: the
 * ID token is the credential. Accepted are ID tokens of this server's own OpenID Connect provider,
 * checked against its published keys (RS256), and ID tokens of an external provider registered
 * in the role's account (IAM CreateOpenIDConnectProvider), checked against the keys its discovery
 * document names (remote-jwks.ts). Issuer, audience, signature, `exp`, `nbf` and `iat` are
 * checked here; the role's trust policy then decides in the app (src/app/oidc/web-identity.ts).
 * Every token refusal answers AWS's `InvalidIdentityToken` (400) with AWS's wording, except an
 * expired token, which AWS answers `ExpiredTokenException` (400); docs/oidc.md.
 */

import type { FastifyRequest } from 'fastify';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import type { RequestContext } from '../../app/context.js';
import type { App } from '../../app/create-app.js';
import { isHoldfastError } from '../../core/errors.js';
import { parseQueryRequest } from '../aws/query.js';
import { readInteger, readString } from '../aws/query.js';
import { assumeRoleResult } from '../aws/shapes.js';
import { AwsError, writeErrorResponse, writeSuccessResponse, xmlText } from '../aws/xml.js';
import { RemoteKeysError, remoteKeys } from './remote-jwks.js';

/** The issuer of each app's provider, set when the OpenID Connect face is registered. */
const issuers = new WeakMap<App, string>();

/** Records the issuer whose ID tokens this app's STS accepts. */
export function setWebIdentityIssuer(app: App, issuer: string): void {
  issuers.set(app, issuer);
}

/** True for an unsigned STS AssumeRoleWithWebIdentity request (the only unsigned AWS call). */
export function isWebIdentityCall(request: FastifyRequest, body: Buffer): boolean {
  if (request.headers.authorization !== undefined) return false;
  if ((request.raw.url ?? '').includes('X-Amz-Signature')) return false;
  try {
    return parseQueryRequest(body).action === 'AssumeRoleWithWebIdentity';
  } catch {
    return false;
  }
}

function publicJwks(keys: ReadonlyArray<Record<string, unknown>>): JSONWebKeySet {
  return {
    keys: keys.map(
      (k) => ({ kty: k['kty'], n: k['n'], e: k['e'], kid: k['kid'], alg: k['alg'], use: 'sig' }) as never,
    ),
  };
}

const NOT_A_JWT =
  'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)';
const BAD_SIGNATURE = 'Signature verification failed for the ID Token provided.';
const NO_KEY =
  "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements";
/** Clock skew allowed on `exp`, `nbf` and `iat` (seconds). */
const CLOCK_TOLERANCE_S = 60;
/** Signature algorithms accepted from an external provider (never `none`, never HMAC). */
const EXTERNAL_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** A token refusal, recorded before it is answered (an unverified token names no account to believe). */
class TokenRefusal extends Error {
  constructor(
    readonly error: AwsError,
    readonly reason: string,
  ) {
    super(error.message);
  }
}

function invalidToken(reason: string, message: string): TokenRefusal {
  return new TokenRefusal(new AwsError('InvalidIdentityToken', message), reason);
}

/** Maps a verification failure of jose to AWS's answer. */
function refusalOf(err: unknown): TokenRefusal {
  if (err instanceof TokenRefusal) return err;
  if (err instanceof joseErrors.JWTExpired) {
    const exp = typeof err.payload.exp === 'number' ? err.payload.exp : 0;
    return new TokenRefusal(
      new AwsError(
        'ExpiredTokenException',
        `Token expired: current date/time ${Math.floor(Date.now() / 1000)} must be before the expiration date/time ${exp}`,
      ),
      'expired',
    );
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return invalidToken('audience', 'Incorrect token audience');
    if (err.claim === 'iss') return invalidToken('issuer', 'Incorrect token issuer');
    if (err.claim === 'nbf') return invalidToken('not-yet-valid', 'Token is not yet valid (nbf)');
    if (err.claim === 'iat') return invalidToken('issued-in-future', 'Token was issued in the future (iat)');
    return invalidToken(`claim-${err.claim}`, `The ID Token is missing or has an invalid ${err.claim} claim`);
  }
  if (err instanceof RemoteKeysError) return invalidToken('provider-keys', NO_KEY);
  if (err instanceof joseErrors.JWKSNoMatchingKey) return invalidToken('no-matching-key', NO_KEY);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return invalidToken('signature', BAD_SIGNATURE);
  return invalidToken('malformed', NOT_A_JWT);
}

/** The token's single audience among `accepted`, or the first one when any will do. */
function pickAudience(payload: JWTPayload, accepted: readonly string[] | null): string {
  const aud = Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud];
  const strings = aud.filter((a): a is string => typeof a === 'string');
  if (strings.length === 0 || strings.length !== aud.length)
    throw invalidToken('audience', 'Incorrect token audience');
  if (accepted === null) {
    if (strings.length !== 1) throw invalidToken('audience', 'Incorrect token audience');
    return strings[0]!;
  }
  const match = strings.find((a) => accepted.includes(a));
  if (match === undefined) throw invalidToken('audience', 'Incorrect token audience');
  return match;
}

/** Verifies the token: against this server's keys, or an external provider registered in the role's account. */
async function verifyToken(input: {
  app: App;
  token: string;
  roleArn: string;
  ownIssuer: string | undefined;
}): Promise<{ payload: JWTPayload; issuer: string; audience: string; external: boolean }> {
  let claimed: string | undefined;
  let kid: string | undefined;
  try {
    claimed = decodeJwt(input.token).iss;
    kid = decodeProtectedHeader(input.token).kid;
  } catch {
    throw invalidToken('malformed', NOT_A_JWT);
  }
  if (typeof claimed !== 'string' || claimed === '') throw invalidToken('issuer', NOT_A_JWT);
  const verifyOptions = {
    issuer: claimed,
    requiredClaims: ['sub', 'aud', 'exp', 'iat'],
    clockTolerance: CLOCK_TOLERANCE_S,
  };
  if (input.ownIssuer !== undefined && claimed === input.ownIssuer) {
    const { payload } = await jwtVerify(
      input.token,
      createLocalJWKSet(publicJwks(await input.app.oidcSigningKeys())),
      { ...verifyOptions, algorithms: ['RS256'] },
    );
    checkIssuedAt(payload);
    return { payload, issuer: claimed, audience: pickAudience(payload, null), external: false };
  }
  const provider = await input.app.findWebIdentityProvider({ roleArn: input.roleArn, issuer: claimed });
  if (provider === null) {
    throw invalidToken('unknown-provider', `No OpenIDConnect provider found in your account for ${claimed}`);
  }
  // The audience is checked before any key is fetched: a token meant for someone else costs no request.
  const unverified = decodeJwt(input.token);
  pickAudience(unverified, provider.clientIds);
  const jwks = await remoteKeys({ issuer: provider.url, kid, now: Date.now() });
  const { payload } = await jwtVerify(input.token, createLocalJWKSet(jwks), {
    ...verifyOptions,
    algorithms: EXTERNAL_ALGORITHMS,
  });
  checkIssuedAt(payload);
  return { payload, issuer: claimed, audience: pickAudience(payload, provider.clientIds), external: true };
}

/** `iat` in the future (beyond the tolerance) is refused; jose checks only its type. */
function checkIssuedAt(payload: JWTPayload): void {
  if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) {
    throw invalidToken('issued-in-future', 'Token was issued in the future (iat)');
  }
}

/** Answers AssumeRoleWithWebIdentity: status and the XML body. */
export async function answerWebIdentityCall(input: {
  app: App;
  ctx: RequestContext;
  body: Buffer;
}): Promise<{ status: number; xml: string }> {
  const { app, ctx } = input;
  try {
    const { params } = parseQueryRequest(input.body);
    const roleArn = readString(params, 'RoleArn', { required: true, minLength: 20, maxLength: 2048 });
    const roleSessionName = readString(params, 'RoleSessionName', {
      required: true,
      minLength: 2,
      maxLength: 64,
      pattern: /^[\w+=,.@-]*$/,
      patternText: '[\\w+=,.@-]*',
    });
    const token = readString(params, 'WebIdentityToken', {
      required: true,
      minLength: 4,
      maxLength: 20_000,
      sensitive: true,
    });
    const durationSeconds = readInteger(params, 'DurationSeconds', { min: 900, max: 43_200 });
    if (params.has('ProviderId') || params.has('Policy') || params.has('PolicyArns.member.1.arn')) {
      throw new AwsError(
        'ValidationError',
        'ProviderId, Policy and PolicyArns are not supported by this endpoint.',
      );
    }
    let verified;
    try {
      verified = await verifyToken({ app, token, roleArn, ownIssuer: issuers.get(app) });
    } catch (err) {
      const refusal = refusalOf(err);
      // The refusal is recorded (no account: an unverified token names none that can be believed).
      await app.recordOidcEvent({
        ctx,
        clientId: null,
        subject: null,
        action: 'sts.assume_role_with_web_identity',
        outcome: 'failure',
        errorCode: refusal.error.code,
        details: { roleArn, reason: refusal.reason },
      });
      throw refusal.error;
    }
    const { payload } = verified;
    const amr = Array.isArray(payload['amr'])
      ? payload['amr'].filter((m): m is string => typeof m === 'string')
      : [];
    const assumed = await app.assumeRoleWithWebIdentity({
      ctx,
      token: {
        issuer: verified.issuer,
        subject: payload.sub!,
        audience: verified.audience,
        external: verified.external,
        amr,
        acr: typeof payload['acr'] === 'string' ? payload['acr'] : null,
        authTime: typeof payload['auth_time'] === 'number' ? payload['auth_time'] : null,
        tokenId: typeof payload.jti === 'string' ? payload.jti : null,
      },
      roleArn,
      roleSessionName,
      ...(durationSeconds === undefined ? {} : { durationSeconds }),
    });
    const result = [
      ...(assumeRoleResult({
        credentials: assumed.credentials,
        assumedRoleId: assumed.assumedRoleId,
        assumedRoleArn: assumed.assumedRoleArn,
      }) ?? []),
      xmlText('SubjectFromWebIdentityToken', assumed.subject),
      xmlText('Audience', assumed.audience),
      xmlText('Provider', assumed.provider),
    ];
    return {
      status: 200,
      xml: writeSuccessResponse({
        service: 'sts',
        action: 'AssumeRoleWithWebIdentity',
        requestId: ctx.requestId,
        result,
      }),
    };
  } catch (err) {
    const error =
      err instanceof AwsError
        ? err
        : isHoldfastError(err) && err.code === 'AWS_DURATION_INVALID'
          ? new AwsError('ValidationError', err.message)
          : isHoldfastError(err) && err.code === 'OIDC_IDENTITY_TOKEN_INVALID'
            ? new AwsError('InvalidIdentityToken', err.message)
            : isHoldfastError(err) && err.code === 'AUTH_FORBIDDEN'
              ? new AwsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity')
              : new AwsError(
                  'ServiceFailure',
                  'The request processing has failed because of an unknown error.',
                );
    return {
      status: error.status,
      xml: writeErrorResponse({
        service: 'sts',
        code: error.code,
        message: error.message,
        requestId: ctx.requestId,
      }),
    };
  }
}
