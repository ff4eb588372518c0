import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import { csrfTokenFor, type IssuedSession } from '../../app/auth.js';
import type { App } from '../../app/create-app.js';
import { KNOWN_CLIENT_TTL_MS } from '../../core/throttle.js';
import { clearSessionCookies, requestContext, setSessionCookies } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody, IdParams, SessionBody, UserBody, sessionJSON, userJSON } from './schemas.js';

const Password = Type.String({ minLength: 1, maxLength: 1024 });

/**
 * Cookie holding the known-client token (OWASP Authentication Cheat Sheet, device cookies): set
 * after a correct password, sent back only to the sign-in routes, HttpOnly. A client holding it
 * skips the per-login delay an attacker elsewhere can impose, within its own budget.
 */
export const KNOWN_CLIENT_COOKIE = 'holdfast_client';
const KnownClient = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'the known-client token from an earlier sign-in (API clients; browsers use the cookie)',
});

/** Sign-in, sign-out, first-password setup, own sessions and password. */
export function registerAuthRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: { caller: Caller | null }) => request.caller!;

  const SignedIn = Type.Object({
    status: Type.Literal('signed_in'),
    session: SessionBody,
    user: UserBody,
    token: Type.Optional(Type.String()),
    csrfToken: Type.Optional(Type.String()),
    reviewFactors: Type.Optional(Type.Boolean()),
    recoveryCodesRemaining: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    knownClient: Type.Optional(Type.String()),
  });
  const OfferedFactor = Type.Object({
    id: Type.String(),
    kind: Type.String(),
    name: Type.String(),
    lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  });

  /** Answers a completed sign-in: the token in the body (bearer) or in HttpOnly cookies (console). */
  const signedIn = (
    request: { protocol: string },
    reply: Parameters<typeof setSessionCookies>[0],
    issued: IssuedSession,
    extra: { reviewFactors?: boolean; recoveryCodesRemaining?: number | null } = {},
  ) => {
    const body = {
      status: 'signed_in' as const,
      session: sessionJSON(issued.session, issued.session.id),
      user: userJSON(issued.principal),
      ...extra,
    };
    if (issued.session.channel === 'cookie') {
      setSessionCookies(reply, {
        token: issued.token,
        csrfToken: issued.csrfToken,
        maxAgeSeconds: Math.floor(app.deps.settings.sessionAbsoluteMs / 1000),
        secure: request.protocol === 'https',
      });
      return { ...body, csrfToken: issued.csrfToken };
    }
    return { ...body, token: issued.token };
  };

  r.post(
    '/v1/sign-in',
    {
      config: { action: ACTIONS.SignIn, auth: 'none' },
      schema: {
        summary: 'Password step of sign-in',
        description:
          'Answers signed_in, or second_factor_required with a flow id and every enabled factor; the client then calls /v1/sign-in/second-factor with the factor the user picks.',
        tags: ['auth'],
        body: Type.Object(
          {
            account: Type.String({
              minLength: 1,
              maxLength: 63,
              description: '12-digit account id or account name',
            }),
            login: Type.String({ minLength: 1, maxLength: 254, description: 'e-mail or user name' }),
            password: Password,
            session: Type.Optional(
              Type.Union([Type.Literal('bearer'), Type.Literal('cookie')], {
                description: 'bearer: token in the body; cookie: HttpOnly cookie (console)',
              }),
            ),
            knownClient: Type.Optional(KnownClient),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Union([
            SignedIn,
            Type.Object({
              status: Type.Literal('second_factor_required'),
              flowId: Type.String(),
              expiresAt: Type.String(),
              factors: Type.Array(OfferedFactor),
              recoveryCodes: Type.Boolean(),
              knownClient: Type.Optional(Type.String()),
            }),
          ]),
          401: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const result = await app.signIn({
        ctx: requestContext(request),
        account: request.body.account,
        login: request.body.login,
        password: request.body.password,
        channel: request.body.session ?? 'bearer',
        knownClient: request.body.knownClient ?? request.cookies[KNOWN_CLIENT_COOKIE] ?? null,
      });
      const channel = request.body.session ?? 'bearer';
      void reply.setCookie(KNOWN_CLIENT_COOKIE, result.knownClient, {
        path: '/v1/sign-in',
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        maxAge: Math.floor(KNOWN_CLIENT_TTL_MS / 1000),
      });
      // API clients keep the token themselves; browsers only ever see the HttpOnly cookie.
      const known = channel === 'bearer' ? { knownClient: result.knownClient } : {};
      if (result.status === 'signed_in') return { ...signedIn(request, reply, result), ...known };
      return {
        ...known,
        status: result.status,
        flowId: result.flowId,
        expiresAt: new Date(result.expiresAt).toISOString(),
        factors: result.factors.map((f) => ({
          ...f,
          lastUsedAt: f.lastUsedAt === null ? null : new Date(f.lastUsedAt).toISOString(),
        })),
        recoveryCodes: result.recoveryCodes,
      };
    },
  );

  r.post(
    '/v1/sign-in/second-factor',
    {
      config: { action: ACTIONS.CompleteSecondFactor, auth: 'none' },
      schema: {
        summary: 'Factor step of sign-in: a code from any enabled factor, or a recovery code',
        tags: ['auth'],
        body: Type.Union([
          Type.Object(
            {
              flowId: Type.String({ minLength: 1, maxLength: 64 }),
              factorId: Type.String({ minLength: 1, maxLength: 64 }),
              code: Type.String({ minLength: 1, maxLength: 16 }),
            },
            { additionalProperties: false },
          ),
          Type.Object(
            {
              flowId: Type.String({ minLength: 1, maxLength: 64 }),
              recoveryCode: Type.String({ minLength: 1, maxLength: 32 }),
            },
            { additionalProperties: false },
          ),
        ]),
        response: { 200: SignedIn, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const result = await app.completeSignInWithSecondFactor({
        ctx: requestContext(request),
        flowId: body.flowId,
        proof:
          'recoveryCode' in body
            ? { recoveryCode: body.recoveryCode }
            : { factorId: body.factorId, code: body.code },
      });
      return signedIn(request, reply, result, {
        reviewFactors: result.reviewFactors,
        recoveryCodesRemaining: result.recoveryCodesRemaining,
      });
    },
  );

  r.post(
    '/v1/session/step-up',
    {
      config: { action: ACTIONS.StepUp, auth: 'session' },
      schema: {
        summary: 'Verify a factor again in this session (needed before removing or resynchronising factors)',
        tags: ['sessions'],
        body: Type.Object(
          {
            factorId: Type.String({ minLength: 1, maxLength: 64 }),
            code: Type.String({ minLength: 1, maxLength: 16 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ session: SessionBody }), 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      const c = caller(request);
      const session = await app.stepUp({ actor: c.actor, ctx: requestContext(request), ...request.body });
      return { session: sessionJSON(session, session.id) };
    },
  );

  r.post(
    '/v1/setup/inspect',
    {
      config: { action: ACTIONS.CompleteSetup, auth: 'none' },
      schema: {
        summary: 'Whom a one-time setup token sets up (the token stays usable)',
        tags: ['auth'],
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 256 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            account: Type.Object({ name: Type.String() }),
            user: Type.Object({ email: Type.String(), username: Type.String() }),
            expiresAt: Type.String({ format: 'date-time' }),
          }),
          400: ErrorBody,
        },
      },
    },
    async (request) => {
      const { account, principal, expiresAt } = await app.inspectSetupToken({ token: request.body.token });
      return {
        account: { name: account.name },
        user: { email: principal.email, username: principal.username },
        expiresAt: new Date(expiresAt).toISOString(),
      };
    },
  );

  r.post(
    '/v1/setup',
    {
      config: { action: ACTIONS.CompleteSetup, auth: 'none' },
      schema: {
        summary: 'Set a first password with a one-time setup token',
        tags: ['auth'],
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 256 }), password: Password },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ user: UserBody }), 400: ErrorBody },
      },
    },
    async (request) => {
      const { principal } = await app.completeSetup({
        ctx: requestContext(request),
        token: request.body.token,
        password: request.body.password,
      });
      return { user: userJSON(principal) };
    },
  );

  r.get(
    '/v1/session',
    {
      config: { action: ACTIONS.GetSession, auth: 'session' },
      schema: {
        summary: 'The current session, its user and account',
        tags: ['sessions'],
        response: {
          200: Type.Object({
            session: SessionBody,
            user: UserBody,
            account: Type.Object({ id: Type.String(), name: Type.String() }),
            csrfToken: Type.String(),
          }),
          401: ErrorBody,
        },
      },
    },
    async (request) => {
      const c = caller(request);
      return {
        session: sessionJSON(c.session, c.session.id),
        user: userJSON(c.principal),
        account: { id: c.account.id, name: c.account.name },
        csrfToken: csrfTokenFor(app.deps, c.session.id),
      };
    },
  );

  r.post(
    '/v1/sign-out',
    {
      config: { action: ACTIONS.SignOut, auth: 'session' },
      schema: {
        summary: 'Revoke the current session',
        tags: ['auth'],
        response: { 204: Type.Null(), 401: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      await app.revokeOwnSession({
        actor: c.actor,
        ctx: requestContext(request),
        sessionId: c.session.id,
        reason: 'sign_out',
      });
      clearSessionCookies(reply);
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/sessions',
    {
      config: { action: ACTIONS.ListSessions, auth: 'session' },
      schema: {
        summary: 'List my live sessions',
        tags: ['sessions'],
        response: { 200: Type.Object({ sessions: Type.Array(SessionBody) }), 401: ErrorBody },
      },
    },
    async (request) => {
      const c = caller(request);
      const sessions = await app.listOwnSessions({ actor: c.actor, ctx: requestContext(request) });
      return { sessions: sessions.map((s) => sessionJSON(s, c.session.id)) };
    },
  );

  r.delete(
    '/v1/sessions/:id',
    {
      config: { action: ACTIONS.RevokeSession, auth: 'session' },
      schema: {
        summary: 'Revoke one of my sessions',
        tags: ['sessions'],
        params: IdParams,
        response: { 204: Type.Null(), 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      await app.revokeOwnSession({
        actor: c.actor,
        ctx: requestContext(request),
        sessionId: request.params.id,
      });
      if (request.params.id === c.session.id) clearSessionCookies(reply);
      return reply.status(204).send(null);
    },
  );

  r.post(
    '/v1/me/password',
    {
      config: { action: ACTIONS.ChangePassword, auth: 'session' },
      schema: {
        summary: 'Change my password (other sessions are revoked)',
        tags: ['users'],
        body: Type.Object(
          { currentPassword: Password, newPassword: Password },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), 400: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      await app.changePassword({
        actor: c.actor,
        ctx: requestContext(request),
        currentPassword: request.body.currentPassword,
        newPassword: request.body.newPassword,
      });
      return reply.status(204).send(null);
    },
  );
}
