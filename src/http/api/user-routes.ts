import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import { auditRecordJSON, MAX_AUDIT_PAGE, type AuditFilters } from '../../app/audit-log.js';
import { cloudTrailRecordJSON } from '../../app/cloudtrail.js';
import type { App } from '../../app/create-app.js';
import { MAX_USER_PAGE, USER_SORT_KEYS } from '../../app/users.js';
import { ROLES } from '../../core/principals/types.js';
import { requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody, IdParams, UserBody, userJSON } from './schemas.js';

/** Builds the setup link a new principal opens (the token travels in the fragment, never to servers' logs). */
export type SetupLinkBuilder = (token: string) => string;

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** The users list's query: search, filters, sort and one page. */
const UserListQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 254 })),
    role: Type.Optional(literals(ROLES)),
    status: Type.Optional(literals(['active', 'disabled'] as const)),
    factors: Type.Optional(literals(['0', '1', '2+'] as const)),
    sort: Type.Optional(literals(USER_SORT_KEYS)),
    order: Type.Optional(literals(['asc', 'desc'] as const)),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_USER_PAGE })),
  },
  { additionalProperties: false },
);

/** The audit log's filters, shared by a page and the export. */
const AuditFilterQuery = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 254 })),
  target: Type.Optional(Type.String({ maxLength: 254 })),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  outcome: Type.Optional(literals(['success', 'failure'] as const)),
  from: Type.Optional(Type.String({ maxLength: 40 })),
  to: Type.Optional(Type.String({ maxLength: 40 })),
});

/** One page of the audit log: the filters, the direction and where the page starts. */
const AuditQuery = Type.Object(
  {
    ...AuditFilterQuery.properties,
    after: Type.Optional(Type.Integer({ minimum: 0 })),
    before: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE })),
    order: Type.Optional(literals(['asc', 'desc'] as const)),
  },
  { additionalProperties: false },
);

/** The filters given, without the empty ones (an empty field of a form means "any"). */
function auditFilters(q: Static<typeof AuditFilterQuery>): AuditFilters {
  const out: AuditFilters = {};
  for (const key of ['actor', 'target', 'action', 'outcome', 'from', 'to'] as const) {
    const value = q[key]?.trim();
    if (value !== undefined && value !== '') (out as Record<string, string>)[key] = value;
  }
  return out;
}

/** A user in the list, with the number of their enabled second factors. */
const ListedUserBody = Type.Object({ ...UserBody.properties, enabledFactors: Type.Integer() });

const SetupBody = Type.Object({ token: Type.String(), url: Type.String(), expiresAt: Type.String() });

/** Account, users and audit-log routes for administrators. */
export function registerUserRoutes(server: FastifyInstance, app: App, setupLink: SetupLinkBuilder): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: { caller: Caller | null }) => request.caller!;
  const setupJSON = (setup: { token: string; expiresAt: number }) => ({
    token: setup.token,
    url: setupLink(setup.token),
    expiresAt: new Date(setup.expiresAt).toISOString(),
  });

  r.get(
    '/v1/account',
    {
      config: { action: ACTIONS.GetAccount, auth: 'session' },
      schema: {
        summary: 'My account',
        tags: ['account'],
        response: { 200: Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String() }) },
      },
    },
    async (request) => {
      const { account } = caller(request);
      return { id: account.id, name: account.name, createdAt: new Date(account.createdAt).toISOString() };
    },
  );

  r.get(
    '/v1/users',
    {
      config: { action: ACTIONS.ListUsers, auth: 'session' },
      schema: {
        summary: 'List the users of my account: search, filters, sort and paging in one request',
        description:
          'Without `limit` the first 200 users. `q` finds text in the e-mail address or user name; ' +
          '`factors` filters on enabled second factors (`0`: no MFA). Each user carries `enabledFactors`.',
        tags: ['users'],
        querystring: UserListQuery,
        response: {
          200: Type.Object({
            users: Type.Array(ListedUserBody),
            total: Type.Integer(),
            offset: Type.Integer(),
            limit: Type.Integer(),
          }),
          403: ErrorBody,
        },
      },
    },
    async (request) => {
      const c = caller(request);
      const q = request.query;
      const page = await app.queryUsers({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        query: {
          ...(q.q === undefined ? {} : { search: q.q }),
          ...(q.role === undefined ? {} : { role: q.role }),
          ...(q.status === undefined ? {} : { status: q.status }),
          ...(q.factors === undefined ? {} : { factors: q.factors }),
          ...(q.sort === undefined ? {} : { sort: q.sort }),
          ...(q.order === undefined ? {} : { order: q.order }),
          ...(q.offset === undefined ? {} : { offset: q.offset }),
          ...(q.limit === undefined ? {} : { limit: q.limit }),
        },
      });
      return {
        users: page.users.map((u) => ({ ...userJSON(u), enabledFactors: u.enabledFactors })),
        total: page.total,
        offset: page.offset,
        limit: page.limit,
      };
    },
  );

  r.post(
    '/v1/users',
    {
      config: { action: ACTIONS.CreateUser, auth: 'session' },
      schema: {
        summary: 'Create a user; the answer carries a one-time setup link',
        tags: ['users'],
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 254 }),
            username: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            role: Type.Optional(
              Type.Union(['admin', 'helpdesk', 'user', 'owner'].map((r) => Type.Literal(r))),
            ),
            invite: Type.Optional(
              Type.Boolean({
                description: 'Also e-mail an invitation with the setup link (through the outbox)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ user: UserBody, setup: SetupBody, invited: Type.Boolean() }),
          403: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const { user, setup, invitationId } = await app.createUser({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        email: request.body.email,
        ...(request.body.username === undefined ? {} : { username: request.body.username }),
        ...(request.body.role === undefined ? {} : { role: request.body.role }),
        ...(request.body.invite === true ? { invite: true } : {}),
      });
      return reply
        .status(201)
        .send({ user: userJSON(user), setup: setupJSON(setup), invited: invitationId !== null });
    },
  );

  r.post(
    '/v1/users/import',
    {
      config: { action: ACTIONS.CreateUser, auth: 'session' },
      schema: {
        summary: 'Create users from a CSV file, all or nothing; a refusal reports every bad row',
        description:
          'The CSV has a header row naming `email` and `role` (optional `username`). With any bad row nothing ' +
          'is created and the answer is 422 `USER_IMPORT_INVALID` with `error.rows` (line, code, message).',
        tags: ['users'],
        body: Type.Object(
          { csv: Type.String({ minLength: 1, maxLength: 60_000 }), invite: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            users: Type.Array(Type.Object({ user: UserBody, setup: SetupBody, invited: Type.Boolean() })),
          }),
          403: ErrorBody,
          422: Type.Object({
            error: Type.Object({
              code: Type.String(),
              message: Type.String(),
              requestId: Type.String(),
              rows: Type.Array(
                Type.Object({ line: Type.Integer(), code: Type.String(), message: Type.String() }),
              ),
            }),
          }),
        },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const result = await app.importUsers({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        csv: request.body.csv,
        ...(request.body.invite === true ? { invite: true } : {}),
      });
      if (!result.ok) {
        return reply.status(422).send({
          error: {
            code: 'USER_IMPORT_INVALID',
            message: `${result.problems.length} row(s) of the file are not valid; nothing was created`,
            requestId: request.id,
            rows: result.problems,
          },
        });
      }
      return reply.status(201).send({
        users: result.users.map((u) => ({
          user: userJSON(u.user),
          setup: setupJSON(u.setup),
          invited: u.invitationId !== null,
        })),
      });
    },
  );

  r.get(
    '/v1/users/:id',
    {
      config: { action: ACTIONS.GetUser, auth: 'session' },
      schema: {
        summary: 'One user',
        tags: ['users'],
        params: IdParams,
        response: { 200: Type.Object({ user: UserBody }) },
      },
    },
    async (request) => {
      const c = caller(request);
      return {
        user: userJSON(
          await app.getUser({
            actor: c.actor,
            ctx: requestContext(request),
            accountId: c.account.id,
            userRef: request.params.id,
          }),
        ),
      };
    },
  );

  r.post(
    '/v1/users/:id/disable',
    {
      config: { action: ACTIONS.DisableUser, auth: 'session' },
      schema: {
        summary: 'Disable a user and revoke their sessions',
        tags: ['users'],
        params: IdParams,
        response: { 200: Type.Object({ user: UserBody }) },
      },
    },
    async (request) => {
      const c = caller(request);
      const user = await app.disableUser({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        userRef: request.params.id,
      });
      return { user: userJSON(user) };
    },
  );

  r.post(
    '/v1/users/:id/setup-link',
    {
      config: { action: ACTIONS.CreateSetupLink, auth: 'session' },
      schema: {
        summary: 'Issue a new one-time setup link for a user',
        tags: ['users'],
        params: IdParams,
        response: { 200: Type.Object({ setup: SetupBody }) },
      },
    },
    async (request) => {
      const c = caller(request);
      const setup = await app.createSetupLink({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        userRef: request.params.id,
      });
      return { setup: setupJSON(setup) };
    },
  );

  r.post(
    '/v1/users/:id/sessions/revoke',
    {
      config: { action: ACTIONS.RevokeUserSessions, auth: 'session' },
      schema: {
        summary: 'Revoke every session of a user',
        tags: ['users'],
        params: IdParams,
        response: { 200: Type.Object({ revoked: Type.Integer() }) },
      },
    },
    async (request) => {
      const c = caller(request);
      const revoked = await app.revokeUserSessions({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        userRef: request.params.id,
      });
      return { revoked };
    },
  );

  r.post(
    '/v1/users/:id/mfa-suspension/lift',
    {
      config: { action: ACTIONS.LiftMfaSuspension, auth: 'session' },
      schema: {
        summary: "Lift a user's second-factor suspension (audited; the user is told)",
        tags: ['users'],
        params: IdParams,
        response: {
          200: Type.Object({ lifted: Type.Boolean(), suspended: Type.Boolean() }),
          403: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      const c = caller(request);
      const result = await app.liftMfaSuspension({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        userRef: request.params.id,
      });
      return { lifted: result.lifted, suspended: result.suspended };
    },
  );

  r.get(
    '/v1/audit',
    {
      config: { action: ACTIONS.ReadAuditLog, auth: 'session' },
      schema: {
        summary: "My account's audit records: filters and one page, oldest first or newest first",
        description:
          'Oldest first after `after` (the default), or newest first (`order=desc`) before `before`. ' +
          '`actor` and `target` take a principal id, e-mail address or user name (target: any id); ' +
          '`from` and `to` are ISO 8601 times (from inclusive, to exclusive). Each record carries ' +
          '`actorName` and `targetName`: the e-mail address (or user name) of the principal, or null.',
        tags: ['audit'],
        querystring: AuditQuery,
        response: {
          200: Type.Object({
            records: Type.Array(Type.Object({}, { additionalProperties: true })),
            nextAfter: Type.Union([Type.Integer(), Type.Null()]),
            nextBefore: Type.Union([Type.Integer(), Type.Null()]),
            more: Type.Boolean(),
          }),
        },
      },
    },
    async (request) => {
      const c = caller(request);
      const q = request.query;
      const newestFirst = q.order === 'desc';
      const page = await app.readAudit({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        filters: auditFilters(q),
        newestFirst,
        ...(q.after === undefined ? {} : { afterSeq: q.after }),
        ...(q.before === undefined ? {} : { beforeSeq: q.before }),
        ...(q.limit === undefined ? {} : { limit: q.limit }),
      });
      const last = page.records.length ? page.records[page.records.length - 1]!.seq : null;
      return {
        records: page.records.map((record) => ({
          ...auditRecordJSON(record),
          actorName: record.actorId === null ? null : (page.names.get(record.actorId) ?? null),
          targetName: record.target === null ? null : (page.names.get(record.target) ?? null),
        })),
        nextAfter: newestFirst ? null : last,
        nextBefore: newestFirst && page.more ? last : null,
        more: page.more,
      };
    },
  );

  r.get(
    '/v1/audit/export',
    {
      config: { action: ACTIONS.ReadAuditLog, auth: 'session' },
      schema: {
        summary: "Download my account's filtered audit records: JSON lines or a CloudTrail log file",
        description:
          'The filters of GET /v1/audit; every matching record oldest first (at most 100,000). ' +
          '`format=jsonl`: one record per line in the shape of GET /v1/audit (without names), as ' +
          '`holdfast audit export` writes it. `format=cloudtrail`: `{"Records": [...]}` of CloudTrail events.',
        tags: ['audit'],
        querystring: Type.Object(
          { ...AuditFilterQuery.properties, format: literals(['jsonl', 'cloudtrail'] as const) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const records = await app.exportAudit({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        filters: auditFilters(request.query),
      });
      const cloudTrail = request.query.format === 'cloudtrail';
      async function* lines(): AsyncGenerator<string> {
        if (cloudTrail) yield '{"Records":[';
        let first = true;
        for await (const record of records) {
          if (cloudTrail) {
            yield `${first ? '' : ','}\n${JSON.stringify(cloudTrailRecordJSON(record))}`;
          } else {
            yield `${JSON.stringify(auditRecordJSON(record))}\n`;
          }
          first = false;
        }
        if (cloudTrail) yield '\n]}\n';
      }
      const name = `holdfast-audit-${c.account.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      return reply
        .header('cache-control', 'no-store')
        .header(
          'content-disposition',
          `attachment; filename="${name}${cloudTrail ? '.cloudtrail.json' : '.jsonl'}"`,
        )
        .type(cloudTrail ? 'application/json; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .send(Readable.from(lines()));
    },
  );

  r.get(
    '/v1/me/events',
    {
      config: { action: ACTIONS.ListOwnSecurityEvents, auth: 'session' },
      schema: {
        summary: 'My recent security events (what I did and what was done to me), newest first',
        tags: ['audit'],
        response: {
          200: Type.Object({ events: Type.Array(Type.Object({}, { additionalProperties: true })) }),
        },
      },
    },
    async (request) => {
      const c = caller(request);
      const events = await app.listOwnSecurityEvents({ actor: c.actor, ctx: requestContext(request) });
      return { events: events.map(auditRecordJSON) };
    },
  );
}
