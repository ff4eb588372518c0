import '@fastify/cookie';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticated } from '../../app/auth.js';
import { csrfTokenFor } from '../../app/auth.js';
import type { App } from '../../app/create-app.js';
import type { Actor, RequestContext } from '../../app/context.js';
import { HoldfastError } from '../../core/errors.js';
import { constantTimeEqual } from '../../core/crypto/hashing.js';

/** Cookie carrying the session token for the console (HttpOnly). */
export const SESSION_COOKIE = 'holdfast_session';
/** Cookie the console reads to send the CSRF header (double submit, bound to the session). */
export const CSRF_COOKIE = 'holdfast_csrf';
/** Header that must carry the CSRF token on cookie-authenticated writes. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The client address: what a trusted proxy reported when it is an IP address, else the peer's
 * own address. A proxy that passes a client's X-Forwarded-For through unchanged could otherwise
 * hand over any text, of any length, as the address that throttles and audit records key on.
 */
export function clientAddress(request: FastifyRequest): string | null {
  const ip = request.ip;
  if (typeof ip === 'string' && isIP(ip) !== 0) return ip;
  return request.socket?.remoteAddress ?? null;
}

/** The request facts the app layer records. */
export function requestContext(request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent'];
  return {
    requestId: request.id,
    sourceIp: clientAddress(request),
    userAgent: agent === undefined ? null : agent.slice(0, 512),
    // The route's declaration is the source of truth: the use case may only authorize these.
    ...declaredActions(request),
  };
}

/** The actions the route declares (`config.action`, `config.alsoAuthorizes`), for `authorize` to hold it to. */
function declaredActions(request: FastifyRequest): Pick<RequestContext, 'declaredActions'> {
  const { action, alsoAuthorizes } = request.routeOptions.config;
  return action === undefined ? {} : { declaredActions: [action, ...(alsoAuthorizes ?? [])] };
}

/** Finds the session token: `Authorization: Bearer` first, then the session cookie. */
function findToken(request: FastifyRequest): { token: string; via: 'bearer' | 'cookie' } | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match === null)
      throw new HoldfastError('AUTH_SESSION_INVALID', 'Authorization header must be "Bearer <token>"');
    return { token: match[1]!, via: 'bearer' };
  }
  const cookie = request.cookies[SESSION_COOKIE];
  return cookie === undefined || cookie === '' ? null : { token: cookie, via: 'cookie' };
}

/**
 * Authenticates the request. Cookie-authenticated writes must carry the session's CSRF token
 * in X-CSRF-Token (cookies are sent by browsers on cross-site requests; custom headers are not).
 */
export async function authenticateRequest(
  app: App,
  request: FastifyRequest,
): Promise<Authenticated & { actor: Actor }> {
  const found = findToken(request);
  if (found === null) throw new HoldfastError('AUTH_SESSION_REQUIRED');
  const auth = await app.authenticate(found.token);
  if (found.via === 'cookie' && !SAFE_METHODS.has(request.method)) {
    const sent = request.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !constantTimeEqual(sent, csrfTokenFor(app.deps, auth.session.id))) {
      throw new HoldfastError('AUTH_CSRF_FAILED');
    }
  }
  return { ...auth, actor: { kind: 'principal', principal: auth.principal, session: auth.session } };
}

/** Sets the session and CSRF cookies after sign-in. */
export function setSessionCookies(
  reply: FastifyReply,
  input: { token: string; csrfToken: string; maxAgeSeconds: number; secure: boolean },
): void {
  const base = { path: '/', sameSite: 'strict' as const, secure: input.secure, maxAge: input.maxAgeSeconds };
  void reply.setCookie(SESSION_COOKIE, input.token, { ...base, httpOnly: true });
  void reply.setCookie(CSRF_COOKIE, input.csrfToken, { ...base, httpOnly: false });
}

/** Clears the session cookies (sign-out). */
export function clearSessionCookies(reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { path: '/' });
  void reply.clearCookie(CSRF_COOKIE, { path: '/' });
}
