/**
 * STS AssumeRoleWithWebIdentity on the AWS Query endpoint. Like AWS, the call is not signed: the
 * ID token is the credential. Only ID tokens of this server's own OpenID Connect provider are
 * accepted, checked here against its published keys (RS256, issuer, expiry); the role's trust
 * policy then decides in the app (src/app/oidc/web-identity.ts). Tokens of other providers
 * (CreateOpenIDConnectProvider) are refused: docs/oidc.md.
 */

import type { FastifyRequest } from 'fastify';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import type { RequestContext } from '../../app/context.js';
import type { App } from '../../app/create-app.js';
import { isHoldfastError } from '../../core/errors.js';
import { parseQueryRequest } from '../aws/query.js';
import { readInteger, readString } from '../aws/query.js';
import { assumeRoleResult } from '../aws/shapes.js';
import { AwsError, writeErrorResponse, writeSuccessResponse, xmlText } from '../aws/xml.js';

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

const INVALID_TOKEN =
  'Not authorized to perform sts:AssumeRoleWithWebIdentity: the web identity token is invalid';

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
    const issuer = issuers.get(app);
    if (issuer === undefined) throw new AwsError('AccessDenied', INVALID_TOKEN);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, createLocalJWKSet(publicJwks(await app.oidcSigningKeys())), {
        issuer,
        algorithms: ['RS256'],
        requiredClaims: ['sub', 'aud', 'exp', 'iat'],
      }));
    } catch (err) {
      // The refusal is recorded (no account: an unverified token names none that can be believed).
      await app.recordOidcEvent({
        ctx,
        clientId: null,
        subject: null,
        action: 'sts.assume_role_with_web_identity',
        outcome: 'failure',
        errorCode: err instanceof joseErrors.JWTExpired ? 'ExpiredTokenException' : 'InvalidIdentityToken',
        details: { roleArn },
      });
      if (err instanceof joseErrors.JWTExpired) {
        throw new AwsError(
          'ExpiredTokenException',
          'Token expired: current date/time is past the token expiry',
        );
      }
      throw new AwsError('AccessDenied', INVALID_TOKEN);
    }
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (aud.length !== 1 || typeof aud[0] !== 'string') throw new AwsError('AccessDenied', INVALID_TOKEN);
    const amr = Array.isArray(payload['amr'])
      ? payload['amr'].filter((m): m is string => typeof m === 'string')
      : [];
    const assumed = await app.assumeRoleWithWebIdentity({
      ctx,
      token: {
        issuer,
        subject: payload.sub!,
        audience: aud[0],
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
