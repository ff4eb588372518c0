import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import { auditRecordJSON } from '../../app/audit-log.js';
import type { App } from '../../app/create-app.js';
import { MAX_USER_EVENTS_PAGE } from '../../app/user-admin.js';
import { ROLES } from '../../core/principals/types.js';
import { requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody, IdParams, SessionBody, UserBody, sessionJSON, userJSON } from './schemas.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const AccessKeyBody = Type.Object({
  accessKeyId: Type.String(),
  status: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Nullable(Type.String()),
  lastUsedService: Nullable(Type.String()),
});

const UserKeyParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128 }),
  keyId: Type.String({ minLength: 16, maxLength: 128, pattern: '^[A-Z0-9]+$' }),
});

const UserSessionParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128 }),
  sessionId: Type.String({ minLength: 1, maxLength: 128 }),
});

/**
 * One person's account, for administrators (the console's user page): re-enable, role, enrolment
 * grant, sessions, access keys, and what concerns them (events, contacts, resets, alerts). Every
 * route names one catalogued action; the use cases authorize it on the user (G2, G6, and G1 where
 * a fresh second factor is needed).
 */
export function registerUserAdminRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: { caller: Caller | null }) => request.caller!;
  const about = (request: { caller: Caller | null; params: { id: string } }) => {
    const c = caller(request);
    return { actor: c.actor, accountId: c.account.id, userRef: request.params.id };
  };

  r.post(
    '/v1/users/:id/enable',
    {
      config: { action: ACTIONS.EnableUser, auth: 'session' },
      schema: {
        summary: 'Re-enable a disabled user',
        tags: ['users'],
        params: IdParams,
        response: { 200: Type.Object({ user: UserBody }), 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => {
      const user = await app.enableUser({ ...about(request), ctx: requestContext(request) });
      return { user: userJSON(user) };
    },
  );

  r.patch(
    '/v1/users/:id',
    {
      config: { action: ACTIONS.ChangeUserRole, auth: 'session' },
      schema: {
        summary: "Change a user's role (a fresh second factor; never one's own; the account keeps an owner)",
        tags: ['users'],
        params: IdParams,
        body: Type.Object(
          { role: Type.Union(ROLES.map((role) => Type.Literal(role))) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ user: UserBody }), 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => {
      const user = await app.changeUserRole({
        ...about(request),
        ctx: requestContext(request),
        role: request.body.role,
      });
      return { user: userJSON(user) };
    },
  );

  r.post(
    '/v1/users/:id/enrolment-grant',
    {
      config: { action: ACTIONS.IssueEnrolmentGrant, auth: 'session' },
      schema: {
        summary:
          'E-mail a user without a second factor a one-time enrolment grant (never shown to the sender)',
        tags: ['users'],
        params: IdParams,
        response: {
          200: Type.Object({ sentTo: Type.String(), expiresAt: Type.String() }),
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request) => {
      const out = await app.sendEnrolmentGrant({ ...about(request), ctx: requestContext(request) });
      return { sentTo: out.sentTo, expiresAt: new Date(out.expiresAt).toISOString() };
    },
  );

  r.get(
    '/v1/users/:id/sessions',
    {
      config: { action: ACTIONS.ListSessions, auth: 'session' },
      schema: {
        summary: "A user's live sessions (never their tokens)",
        tags: ['users'],
        params: IdParams,
        response: { 200: Type.Object({ sessions: Type.Array(SessionBody) }), 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const c = caller(request);
      const sessions = await app.listUserSessions({ ...about(request), ctx: requestContext(request) });
      return { sessions: sessions.map((s) => sessionJSON(s, c.session.id)) };
    },
  );

  r.post(
    '/v1/users/:id/sessions/:sessionId/revoke',
    {
      config: { action: ACTIONS.RevokeSession, auth: 'session' },
      schema: {
        summary: 'End one session of a user',
        tags: ['users'],
        params: UserSessionParams,
        response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      await app.revokeUserSession({
        ...about(request),
        ctx: requestContext(request),
        sessionId: request.params.sessionId,
      });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/users/:id/events',
    {
      config: { action: ACTIONS.ReadAuditLog, auth: 'session' },
      schema: {
        summary: 'Audit records about a user (as actor or target), newest first, one page',
        description: '`before` continues from the `nextBefore` of the previous page.',
        tags: ['users', 'audit'],
        params: IdParams,
        querystring: Type.Object(
          {
            before: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_USER_EVENTS_PAGE })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            records: Type.Array(Type.Object({}, { additionalProperties: true })),
            names: Type.Record(Type.String(), Type.String()),
            nextBefore: Nullable(Type.Integer()),
          }),
          403: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const { records, names } = await app.listUserEvents({
        ...about(request),
        ctx: requestContext(request),
        limit,
        ...(request.query.before === undefined ? {} : { beforeSeq: request.query.before }),
      });
      return {
        records: records.map(auditRecordJSON),
        names,
        nextBefore: records.length === limit ? records[records.length - 1]!.seq : null,
      };
    },
  );

  r.get(
    '/v1/users/:id/contacts',
    {
      config: { action: ACTIONS.ListContacts, auth: 'session' },
      schema: {
        summary: "A user's contact channels (e-mail, phone) and whether each is verified",
        tags: ['users', 'recovery'],
        params: IdParams,
        response: {
          200: Type.Object({
            contacts: Type.Array(
              Type.Object({
                id: Type.String(),
                kind: Type.String(),
                address: Type.String(),
                status: Type.String(),
                strength: Type.String(),
                verifiedAt: Nullable(Type.String()),
              }),
            ),
          }),
          403: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      const contacts = await app.listUserContacts({ ...about(request), ctx: requestContext(request) });
      return { contacts: contacts.map((x) => ({ ...x, verifiedAt: iso(x.verifiedAt) })) };
    },
  );

  r.get(
    '/v1/users/:id/resets',
    {
      config: { action: ACTIONS.ListResetRequests, auth: 'session' },
      schema: {
        summary: 'Recovery and help-desk reset requests about a user, newest first',
        tags: ['users', 'recovery'],
        params: IdParams,
        response: {
          200: Type.Object({
            requests: Type.Array(
              Type.Object({
                id: Type.String(),
                kind: Type.String(),
                state: Type.String(),
                requestedBy: Nullable(Type.String()),
                createdAt: Type.String(),
                waitUntil: Nullable(Type.String()),
                completedAt: Nullable(Type.String()),
                cancelledAt: Nullable(Type.String()),
              }),
            ),
          }),
          403: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      const list = await app.listUserResets({ ...about(request), ctx: requestContext(request) });
      return {
        requests: list.map((x) => ({
          id: x.id,
          kind: x.kind,
          state: x.state,
          requestedBy: x.requestedBy,
          createdAt: new Date(x.createdAt).toISOString(),
          waitUntil: iso(x.waitUntil),
          completedAt: iso(x.completedAt),
          cancelledAt: iso(x.cancelledAt),
        })),
      };
    },
  );

  r.get(
    '/v1/users/:id/alerts',
    {
      config: { action: ACTIONS.ListAlerts, auth: 'session' },
      schema: {
        summary: "Alerts about a user among the account's newest 500, newest first",
        tags: ['users', 'recovery'],
        params: IdParams,
        response: {
          200: Type.Object({
            alerts: Type.Array(
              Type.Object({
                id: Type.String(),
                ruleId: Type.String(),
                severity: Type.String(),
                summary: Type.String(),
                createdAt: Type.String(),
              }),
            ),
          }),
          403: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      const list = await app.listUserAlerts({ ...about(request), ctx: requestContext(request) });
      return {
        alerts: list.map((a) => ({
          id: a.id,
          ruleId: a.ruleId,
          severity: a.severity,
          summary: a.summary,
          createdAt: new Date(a.createdAt).toISOString(),
        })),
      };
    },
  );

  r.get(
    '/v1/users/:id/access-keys',
    {
      config: { action: ACTIONS.ListAccessKeys, auth: 'session' },
      schema: {
        summary: "A user's long-term access keys (never their secrets)",
        tags: ['users'],
        params: IdParams,
        response: { 200: Type.Object({ keys: Type.Array(AccessKeyBody) }), 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const views = await app.listAccessKeys({ ...about(request), ctx: requestContext(request) });
      return {
        keys: views.map(({ key }) => ({
          accessKeyId: key.id,
          status: key.status,
          createdAt: new Date(key.createdAt).toISOString(),
          lastUsedAt: iso(key.lastUsedAt),
          lastUsedService: key.lastUsedService,
        })),
      };
    },
  );

  r.post(
    '/v1/users/:id/access-keys',
    {
      config: { action: ACTIONS.CreateAccessKey, auth: 'session' },
      schema: {
        summary: 'Create a long-term access key for a user; the secret is in this answer only',
        tags: ['users'],
        params: IdParams,
        response: {
          201: Type.Object({
            accessKeyId: Type.String(),
            secretAccessKey: Type.String(),
            status: Type.String(),
          }),
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const out = await app.createAccessKey({ ...about(request), ctx: requestContext(request) });
      return reply
        .status(201)
        .send({ accessKeyId: out.key.id, secretAccessKey: out.secretAccessKey, status: out.key.status });
    },
  );

  r.patch(
    '/v1/users/:id/access-keys/:keyId',
    {
      config: { action: ACTIONS.UpdateAccessKey, auth: 'session' },
      schema: {
        summary: "Activate or deactivate a user's access key",
        tags: ['users'],
        params: UserKeyParams,
        body: Type.Object(
          { status: Type.Union([Type.Literal('Active'), Type.Literal('Inactive')]) },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      await app.updateAccessKey({
        ...about(request),
        ctx: requestContext(request),
        accessKeyId: request.params.keyId,
        status: request.body.status,
      });
      return reply.status(204).send(null);
    },
  );

  r.delete(
    '/v1/users/:id/access-keys/:keyId',
    {
      config: { action: ACTIONS.DeleteAccessKey, auth: 'session' },
      schema: {
        summary: "Delete a user's access key",
        tags: ['users'],
        params: UserKeyParams,
        response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      await app.deleteAccessKey({
        ...about(request),
        ctx: requestContext(request),
        accessKeyId: request.params.keyId,
      });
      return reply.status(204).send(null);
    },
  );
}
