import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import { csrfTokenFor } from '../../app/auth.js';
import type { App } from '../../app/create-app.js';
import { clearSessionCookies, requestContext, setSessionCookies } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody, IdParams, SessionBody, UserBody, sessionJSON, userJSON } from './schemas.js';

const Password = Type.String({ minLength: 1, maxLength: 1024 });

/** Sign-in, sign-out, first-password setup, own sessions and password. */
export function registerAuthRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: { caller: Caller | null }) => request.caller!;

  r.post(
    '/v1/sign-in',
    {
      config: { action: ACTIONS.SignIn, auth: 'none' },
      schema: {
        summary: 'Password step of sign-in',
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
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            status: Type.Literal('signed_in'),
            session: SessionBody,
            user: UserBody,
            token: Type.Optional(Type.String()),
            csrfToken: Type.Optional(Type.String()),
          }),
          401: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const channel = request.body.session ?? 'bearer';
      const result = await app.signIn({
        ctx: requestContext(request),
        account: request.body.account,
        login: request.body.login,
        password: request.body.password,
        channel,
      });
      const body = {
        status: result.status,
        session: sessionJSON(result.session, result.session.id),
        user: userJSON(result.principal),
      };
      if (channel === 'cookie') {
        setSessionCookies(reply, {
          token: result.token,
          csrfToken: result.csrfToken,
          maxAgeSeconds: Math.floor(app.deps.settings.sessionAbsoluteMs / 1000),
          secure: request.protocol === 'https',
        });
        return { ...body, csrfToken: result.csrfToken };
      }
      return { ...body, token: result.token };
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
      const sessions = await app.listOwnSessions({ actor: c.actor });
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
        response: { 204: Type.Null(), 400: ErrorBody },
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
