import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import type { NamedAlert } from '../../app/alerts.js';
import type { RecoveryRequest, RecoveryState } from '../../core/recovery/types.js';
import {
  cancelPage,
  donePage,
  passwordResetPage,
  verifyContactPage,
  verifyRecoveryPage,
} from '../pages/recovery-pages.js';
import { requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody, IdParams } from './schemas.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A recovery or reset request as the API shows it. */
function requestJSON(r: RecoveryRequest) {
  return {
    id: r.id,
    kind: r.kind,
    state: r.state,
    userId: r.principalId,
    requestedBy: r.requestedBy,
    evidence: r.evidence,
    reason: r.reason,
    approvalsRequired: r.approvalsRequired,
    approvals: r.approvals,
    waitSeconds: Math.round(r.waitMs / 1000),
    waitUntil: iso(r.waitUntil),
    createdAt: new Date(r.createdAt).toISOString(),
    completedAt: iso(r.completedAt),
    cancelledAt: iso(r.cancelledAt),
    cancelledBy: r.cancelledBy,
  };
}

function alertJSON(a: NamedAlert) {
  return {
    id: a.id,
    ruleId: a.ruleId,
    severity: a.severity,
    summary: a.summary,
    principalId: a.principalId,
    /** The person concerned: e-mail address (or user name), or null. */
    principalName: a.principalName,
    eventId: a.eventId,
    details: a.details,
    createdAt: new Date(a.createdAt).toISOString(),
    state: a.acknowledged === null ? 'open' : 'acknowledged',
    acknowledged:
      a.acknowledged === null
        ? null
        : {
            at: new Date(a.acknowledged.at).toISOString(),
            by: a.acknowledged.by,
            byName: a.acknowledgedByName,
            note: a.acknowledged.note,
          },
  };
}

const Login = Type.Object(
  {
    account: Type.String({ minLength: 1, maxLength: 64 }),
    login: Type.String({ minLength: 1, maxLength: 254 }),
  },
  { additionalProperties: false },
);
const Token = Type.String({ minLength: 1, maxLength: 200 });
const Evidence = Type.Array(
  Type.Object(
    { kind: Type.String({ minLength: 1, maxLength: 40 }), note: Type.String({ maxLength: 500 }) },
    { additionalProperties: false },
  ),
  { maxItems: 10 },
);
const STATES = ['verifying', 'awaiting_approval', 'waiting', 'completed', 'cancelled', 'expired'];

function html(reply: FastifyReply, body: string) {
  return reply
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(body);
}

/** Contacts, self-service recovery, password reset, the help-desk reset, settings and alerts. */
export async function registerRecoveryRoutes(server: FastifyInstance, app: App): Promise<void> {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: { caller: Caller | null }) => request.caller!;

  r.get(
    '/v1/contacts',
    {
      config: { action: ACTIONS.ListContacts, auth: 'session' },
      schema: { summary: 'My contact channels (e-mail, phone: weak, recovery only)', tags: ['recovery'] },
    },
    async (request) => {
      const c = caller(request);
      const out = await app.listContacts({ actor: c.actor, ctx: requestContext(request) });
      return { ...out, contacts: out.contacts.map((x) => ({ ...x, verifiedAt: iso(x.verifiedAt) })) };
    },
  );
  r.post(
    '/v1/contacts',
    {
      config: { action: ACTIONS.UpdateContact, auth: 'session' },
      schema: {
        summary: 'Set or change my e-mail or phone (step-up MFA; takes effect once verified)',
        tags: ['recovery'],
        body: Type.Object(
          {
            kind: Type.Union([Type.Literal('email'), Type.Literal('phone')]),
            address: Type.String({ minLength: 3, maxLength: 254 }),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ contactId: Type.String() }), 403: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const out = await app.requestContactChange({
        actor: c.actor,
        ctx: requestContext(request),
        kind: request.body.kind,
        address: request.body.address,
      });
      return reply.status(202).send(out);
    },
  );
  r.post(
    '/v1/contacts/verify-current',
    {
      config: { action: ACTIONS.ListContacts, auth: 'session' },
      schema: { summary: 'Send a confirmation link to the e-mail address on file', tags: ['recovery'] },
    },
    async (request, reply) => {
      const c = caller(request);
      return reply
        .status(202)
        .send(await app.verifyCurrentEmail({ actor: c.actor, ctx: requestContext(request) }));
    },
  );
  r.post(
    '/v1/contacts/phone/verify',
    {
      config: { action: ACTIONS.ListContacts, auth: 'session' },
      schema: {
        summary: 'Enter the code sent to my new phone number',
        tags: ['recovery'],
        body: Type.Object(
          { code: Type.String({ minLength: 1, maxLength: 12 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const c = caller(request);
      return app.verifyPhoneCode({ actor: c.actor, ctx: requestContext(request), code: request.body.code });
    },
  );

  r.delete(
    '/v1/contacts/:kind',
    {
      config: { action: ACTIONS.UpdateContact, auth: 'session' },
      schema: {
        summary: 'Remove my phone (step-up MFA); the e-mail address can only be replaced',
        tags: ['recovery'],
        params: Type.Object({ kind: Type.Union([Type.Literal('email'), Type.Literal('phone')]) }),
      },
    },
    async (request) => {
      const c = caller(request);
      return app.removeContact({ actor: c.actor, ctx: requestContext(request), kind: request.params.kind });
    },
  );
  r.post(
    '/v1/recovery/start',
    {
      config: { action: ACTIONS.StartRecovery, auth: 'none' },
      schema: {
        summary: 'Start recovery without a recovery code (e-mail link + phone code, then a wait)',
        tags: ['recovery'],
        body: Login,
      },
    },
    async (request, reply) =>
      reply.status(202).send(
        await app.startRecovery({
          ctx: requestContext(request),
          account: request.body.account,
          login: request.body.login,
        }),
      ),
  );
  r.post(
    '/v1/recovery/verify',
    {
      config: { action: ACTIONS.StartRecovery, auth: 'none' },
      schema: {
        summary: 'Prove the e-mail link and the phone code; the waiting period starts',
        tags: ['recovery'],
        body: Type.Object(
          { token: Token, code: Type.String({ minLength: 1, maxLength: 12 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const out = await app.verifyRecovery({ ctx: requestContext(request), ...request.body });
      return { requestId: out.requestId, waitUntil: iso(out.waitUntil) };
    },
  );
  r.post(
    '/v1/recovery/cancel',
    {
      config: { action: ACTIONS.StartRecovery, auth: 'none' },
      schema: {
        summary: 'Cancel a pending recovery or reset with the token of a cancel link',
        tags: ['recovery'],
        body: Type.Object({ token: Token }, { additionalProperties: false }),
      },
    },
    async (request) => ({
      cancelled: true,
      ...(await app.cancelByLink({ ctx: requestContext(request), token: request.body.token })),
    }),
  );
  r.post(
    '/v1/recovery/code/complete',
    {
      config: { action: ACTIONS.CompleteCodeRecovery, auth: 'session' },
      schema: {
        summary:
          'After signing in with a recovery code and enabling a new factor: drop the lost factors, end other sessions',
        tags: ['recovery'],
        body: Type.Object(
          { keepFactorIds: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const c = caller(request);
      return app.completeCodeRecovery({
        actor: c.actor,
        ctx: requestContext(request),
        ...(request.body.keepFactorIds ? { keepFactorIds: request.body.keepFactorIds } : {}),
      });
    },
  );
  r.post(
    '/v1/password-reset/start',
    {
      config: { action: ACTIONS.ResetPassword, auth: 'none' },
      schema: {
        summary: 'E-mail a password reset link (MFA stays required)',
        tags: ['recovery'],
        body: Login,
      },
    },
    async (request, reply) =>
      reply.status(202).send(
        await app.startPasswordReset({
          ctx: requestContext(request),
          account: request.body.account,
          login: request.body.login,
        }),
      ),
  );
  r.post(
    '/v1/password-reset/complete',
    {
      config: { action: ACTIONS.ResetPassword, auth: 'none' },
      schema: {
        summary: 'Set a new password with a reset link token',
        tags: ['recovery'],
        body: Type.Object(
          { token: Token, password: Type.String({ minLength: 1, maxLength: 256 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      await app.completePasswordReset({ ctx: requestContext(request), ...request.body });
      return { status: 'password_set' };
    },
  );

  r.get(
    '/v1/resets',
    {
      config: { action: ACTIONS.ListResetRequests, auth: 'session' },
      schema: {
        summary: 'Recovery and MFA reset requests of my account',
        tags: ['resets'],
        querystring: Type.Object({ state: Type.Optional(Type.String({ maxLength: 20 })) }),
      },
    },
    async (request) => {
      const c = caller(request);
      const state = request.query.state;
      const list = await app.listResetRequests({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        ...(state !== undefined && STATES.includes(state) ? { states: [state as RecoveryState] } : {}),
      });
      return { requests: list.map(requestJSON) };
    },
  );
  r.post(
    '/v1/resets',
    {
      config: { action: ACTIONS.OpenResetRequest, auth: 'session' },
      schema: {
        summary:
          'Open a help-desk MFA reset (recorded evidence required; second approver for owners and admins)',
        tags: ['resets'],
        body: Type.Object(
          {
            user: Type.String({ minLength: 1, maxLength: 254 }),
            evidence: Evidence,
            reason: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const out = await app.openResetRequest({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        userRef: request.body.user,
        evidence: request.body.evidence,
        ...(request.body.reason === undefined ? {} : { reason: request.body.reason }),
      });
      return reply.status(201).send({ request: requestJSON(out) });
    },
  );
  r.post(
    '/v1/resets/:id/approve',
    {
      config: { action: ACTIONS.ApproveResetRequest, auth: 'session' },
      schema: { summary: 'Approve a reset as the second approver', tags: ['resets'], params: IdParams },
    },
    async (request) => {
      const c = caller(request);
      const out = await app.approveResetRequest({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        requestId: request.params.id,
      });
      return { request: requestJSON(out) };
    },
  );
  r.post(
    '/v1/resets/:id/cancel',
    {
      config: { action: ACTIONS.CancelResetRequest, auth: 'session' },
      schema: {
        summary: 'Cancel a pending recovery or reset',
        tags: ['resets'],
        params: IdParams,
        body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200 })) })),
      },
    },
    async (request) => {
      const c = caller(request);
      const out = await app.cancelResetRequest({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        requestId: request.params.id,
        ...(request.body?.reason === undefined ? {} : { reason: request.body.reason }),
      });
      return { request: requestJSON(out) };
    },
  );
  r.get(
    '/v1/recovery/settings',
    {
      config: { action: ACTIONS.GetRecoverySettings, auth: 'session' },
      schema: { summary: 'Recovery waits, evidence checklist and alert thresholds', tags: ['resets'] },
    },
    async (request) => {
      const c = caller(request);
      return app.getRecoverySettings({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
      });
    },
  );
  r.patch(
    '/v1/recovery/settings',
    {
      config: { action: ACTIONS.UpdateRecoverySettings, auth: 'session' },
      schema: {
        summary:
          'Change recovery waits (floors: 1 h; 15 min for user resets), checklist and alert thresholds',
        tags: ['resets'],
        body: Type.Record(Type.String(), Type.Unknown()),
      },
    },
    async (request) => {
      const c = caller(request);
      return app.updateRecoverySettings({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        changes: request.body as Record<string, unknown>,
      });
    },
  );
  r.get(
    '/v1/alerts',
    {
      config: { action: ACTIONS.ListAlerts, auth: 'session' },
      schema: {
        summary: 'Alerts raised by the built-in detection rules, newest first, with the people named',
        description:
          'Filters: `severity`, `rule` (a rule id such as HF-RESET), `state` (`open` or `acknowledged`).',
        tags: ['alerts'],
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            severity: Type.Optional(literals(['low', 'medium', 'high', 'critical'] as const)),
            rule: Type.Optional(Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Z0-9-]+$' })),
            state: Type.Optional(literals(['open', 'acknowledged'] as const)),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const c = caller(request);
      const q = request.query;
      const list = await app.listAlerts({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        ...(q.limit === undefined ? {} : { limit: q.limit }),
        ...(q.severity === undefined ? {} : { severity: q.severity }),
        ...(q.rule === undefined ? {} : { ruleId: q.rule }),
        ...(q.state === undefined ? {} : { state: q.state }),
      });
      return { alerts: list.map(alertJSON) };
    },
  );
  r.post(
    '/v1/alerts/:id/acknowledge',
    {
      config: { action: ACTIONS.AcknowledgeAlert, auth: 'session' },
      schema: {
        summary: 'Acknowledge an alert with a note (audited as alert.acknowledge)',
        description:
          'The note is at most 500 characters (ALERT_NOTE_INVALID); an alert is acknowledged once ' +
          '(ALERT_ALREADY_ACKNOWLEDGED); an id not of this account is ALERT_NOT_FOUND.',
        tags: ['alerts'],
        params: IdParams,
        body: Type.Object({ note: Type.String({ maxLength: 4000 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ alert: Type.Object({}, { additionalProperties: true }) }),
          404: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request) => {
      const c = caller(request);
      const alert = await app.acknowledgeAlert({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        alertId: request.params.id,
        note: request.body.note,
      });
      return { alert: alertJSON(alert) };
    },
  );

  // The pages links in messages open: GET shows, POST acts (form-encoded, in this scope only).
  await server.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    const s = scope.withTypeProvider<TypeBoxTypeProvider>();
    const page = { config: { action: ACTIONS.Public, auth: 'none' as const } };
    const TokenQuery = {
      querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }),
      hide: true,
    };
    const FormBody = (extra: Record<string, ReturnType<typeof Type.String>> = {}) => ({
      body: Type.Object({ token: Token, ...extra }),
      hide: true,
    });
    const purposeOf = async (token: string | undefined) =>
      token === undefined ? null : await app.inspectLink({ token });

    s.get('/recovery/cancel', { ...page, schema: TokenQuery }, async (request, reply) => {
      const info = await purposeOf(request.query.token);
      return html(reply, cancelPage(request.query.token ?? '', info?.purpose === 'cancel' ? info : null));
    });
    s.post('/recovery/cancel', { ...page, schema: FormBody() }, async (request, reply) => {
      const out = await app.cancelByLink({ ctx: requestContext(request), token: request.body.token });
      return html(
        reply,
        donePage(
          'Cancelled',
          `The ${out.kind === 'helpdesk' ? 'MFA reset' : 'account recovery'} was cancelled. Nothing changed.`,
        ),
      );
    });
    s.get('/recovery/verify', { ...page, schema: TokenQuery }, async (request, reply) => {
      const info = await purposeOf(request.query.token);
      return html(reply, verifyRecoveryPage(request.query.token ?? '', info?.purpose === 'recovery_email'));
    });
    s.post(
      '/recovery/verify',
      { ...page, schema: FormBody({ code: Type.String({ minLength: 1, maxLength: 12 }) }) },
      async (request, reply) => {
        const body = request.body as { token: string; code: string };
        const out = await app.verifyRecovery({
          ctx: requestContext(request),
          token: body.token,
          code: body.code,
        });
        return html(
          reply,
          donePage(
            'Recovery started',
            `Your recovery takes effect at ${new Date(out.waitUntil).toISOString()} unless someone cancels it. You will then get an e-mail with a one-time enrolment grant.`,
          ),
        );
      },
    );
    s.get('/contacts/verify', { ...page, schema: TokenQuery }, async (request, reply) => {
      const info = await purposeOf(request.query.token);
      return html(reply, verifyContactPage(request.query.token ?? '', info?.purpose === 'contact_verify'));
    });
    s.post('/contacts/verify', { ...page, schema: FormBody() }, async (request, reply) => {
      await app.verifyContactLink({ ctx: requestContext(request), token: request.body.token });
      return html(reply, donePage('Address confirmed', 'Your e-mail address is confirmed.'));
    });
    s.get('/password-reset', { ...page, schema: TokenQuery }, async (request, reply) => {
      const info = await purposeOf(request.query.token);
      return html(reply, passwordResetPage(request.query.token ?? '', info?.purpose === 'password_reset'));
    });
    s.post(
      '/password-reset',
      { ...page, schema: FormBody({ password: Type.String({ minLength: 1, maxLength: 256 }) }) },
      async (request, reply) => {
        const body = request.body as { token: string; password: string };
        await app.completePasswordReset({
          ctx: requestContext(request),
          token: body.token,
          password: body.password,
        });
        return html(
          reply,
          donePage('Password set', 'Your password is set. Sign in with it and your second factor.'),
        );
      },
    );
  });
}
