import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import type { Factor } from '../../core/factors/factor.js';
import { requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody, IdParams } from './schemas.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** A factor as the API shows it: never its secret. */
export const FactorBody = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  status: Type.String(),
  assurance: Type.String(),
  adminProvisioned: Type.Boolean(),
  createdAt: Type.String(),
  enabledAt: Nullable(Type.String()),
  lastUsedAt: Nullable(Type.String()),
  pendingExpiresAt: Nullable(Type.String()),
});

/** Shapes a factor for the API. */
export function factorJSON(f: Factor) {
  return {
    id: f.id,
    kind: f.kind,
    name: f.name,
    status: f.status,
    assurance: f.assurance,
    adminProvisioned: f.adminProvisioned,
    createdAt: new Date(f.createdAt).toISOString(),
    enabledAt: iso(f.enabledAt),
    lastUsedAt: iso(f.lastUsedAt),
    pendingExpiresAt: iso(f.pendingExpiresAt),
  };
}

const Code = Type.String({ minLength: 1, maxLength: 16 });
/** Two consecutive codes (as AWS asks), or one code (console convenience). */
const EnableBody = Type.Union([
  Type.Object({ codes: Type.Tuple([Code, Code]) }, { additionalProperties: false }),
  Type.Object({ code: Code }, { additionalProperties: false }),
]);
const UserFactorParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128 }),
  factorId: Type.String({ minLength: 1, maxLength: 64 }),
});

/** Self-service factors, recovery codes, admin factor management and lock-out insights. */
export function registerFactorRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: { caller: Caller | null }) => request.caller!;

  r.get(
    '/v1/factors',
    {
      config: {
        action: ACTIONS.ListMFADevices,
        alsoAuthorizes: [ACTIONS.GetRecoveryCodeStatus],
        auth: 'session',
      },
      schema: {
        summary: 'My factors and how many recovery codes I have left',
        tags: ['factors'],
        response: {
          200: Type.Object({
            factors: Type.Array(FactorBody),
            recoveryCodes: Type.Object({ remaining: Type.Integer() }),
          }),
        },
      },
    },
    async (request) => {
      const c = caller(request);
      const [factors, recoveryCodes] = await Promise.all([
        app.listFactors({ actor: c.actor, ctx: requestContext(request), accountId: c.account.id }),
        app.recoveryCodeStatus({ actor: c.actor, ctx: requestContext(request) }),
      ]);
      return { factors: factors.map(factorJSON), recoveryCodes };
    },
  );

  r.post(
    '/v1/factors/totp',
    {
      config: { action: ACTIONS.CreateVirtualMFADevice, auth: 'session' },
      schema: {
        summary: 'Start enrolling an authenticator app (pending for 10 minutes, owned by this session)',
        tags: ['factors'],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 64 }),
            enrolmentGrant: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 128,
                description: 'one-time enrolment grant (guardrail G3)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            factor: FactorBody,
            secret: Type.String({ description: 'Base32 seed (RFC 4648), shown once' }),
            keyUri: Type.String({ description: 'otpauth://totp/... key URI, shown once' }),
            qrCode: Type.Object({ png: Type.String({ description: 'base64 PNG' }), svg: Type.String() }),
          }),
          403: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const e = await app.createTOTPFactor({
        actor: c.actor,
        ctx: requestContext(request),
        name: request.body.name,
        ...(request.body.enrolmentGrant === undefined ? {} : { enrolmentGrant: request.body.enrolmentGrant }),
      });
      void reply.header('cache-control', 'no-store');
      return reply.status(201).send({
        factor: factorJSON(e.factor),
        secret: e.secretBase32,
        keyUri: e.keyUri,
        qrCode: { png: e.qrCodePng, svg: e.qrCodeSvg },
      });
    },
  );

  r.post(
    '/v1/factors/:id/enable',
    {
      config: { action: ACTIONS.EnableMFADevice, auth: 'session' },
      schema: {
        summary: 'Enable a pending factor with two consecutive codes (or one)',
        tags: ['factors'],
        params: IdParams,
        body: EnableBody,
        response: {
          200: Type.Object({ factor: FactorBody }),
          400: ErrorBody,
          403: ErrorBody,
          410: ErrorBody,
        },
      },
    },
    async (request) => {
      const c = caller(request);
      const factor = await app.enableFactor({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        factorId: request.params.id,
        ...request.body,
      });
      return { factor: factorJSON(factor) };
    },
  );

  r.patch(
    '/v1/factors/:id',
    {
      config: { action: ACTIONS.RenameMFADevice, auth: 'session' },
      schema: {
        summary: 'Rename one of my factors',
        tags: ['factors'],
        params: IdParams,
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 64 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ factor: FactorBody }), 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) => {
      const c = caller(request);
      const factor = await app.renameFactor({
        actor: c.actor,
        ctx: requestContext(request),
        factorId: request.params.id,
        name: request.body.name,
      });
      return { factor: factorJSON(factor) };
    },
  );

  r.post(
    '/v1/factors/:id/resync',
    {
      config: { action: ACTIONS.ResyncMFADevice, auth: 'session' },
      schema: {
        summary: 'Re-synchronise a drifted factor with two consecutive codes (needs a recent MFA)',
        tags: ['factors'],
        params: IdParams,
        body: Type.Object({ codes: Type.Tuple([Code, Code]) }, { additionalProperties: false }),
        response: { 200: Type.Object({ factor: FactorBody }), 400: ErrorBody, 403: ErrorBody },
      },
    },
    async (request) => {
      const c = caller(request);
      const factor = await app.resyncFactor({
        actor: c.actor,
        ctx: requestContext(request),
        factorId: request.params.id,
        codes: request.body.codes,
      });
      return { factor: factorJSON(factor) };
    },
  );

  r.delete(
    '/v1/factors/:id',
    {
      config: {
        action: ACTIONS.DeactivateMFADevice,
        // A pending factor is deleted rather than deactivated (removeFactor decides from the row).
        alsoAuthorizes: [ACTIONS.DeleteVirtualMFADevice],
        auth: 'session',
      },
      schema: {
        summary:
          'Remove one of my factors (needs a recent MFA; admin-provisioned ones only an admin can remove)',
        tags: ['factors'],
        params: IdParams,
        response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      await app.removeFactor({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        factorId: request.params.id,
      });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/v1/recovery-codes',
    {
      config: { action: ACTIONS.GetRecoveryCodeStatus, auth: 'session' },
      schema: {
        summary: 'How many recovery codes I have left',
        tags: ['factors'],
        response: { 200: Type.Object({ remaining: Type.Integer() }) },
      },
    },
    async (request) => app.recoveryCodeStatus({ actor: caller(request).actor, ctx: requestContext(request) }),
  );

  r.post(
    '/v1/recovery-codes',
    {
      config: { action: ACTIONS.RegenerateRecoveryCodes, auth: 'session' },
      schema: {
        summary: 'Generate a new set of 10 recovery codes, replacing the old set (shown once)',
        tags: ['factors'],
        response: { 200: Type.Object({ codes: Type.Array(Type.String()) }), 403: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const codes = await app.regenerateRecoveryCodes({ actor: c.actor, ctx: requestContext(request) });
      void reply.header('cache-control', 'no-store');
      return { codes };
    },
  );

  r.get(
    '/v1/users/:id/factors',
    {
      config: { action: ACTIONS.ListMFADevices, auth: 'session' },
      schema: {
        summary: "A user's factors (admins and help desk)",
        tags: ['factors'],
        params: IdParams,
        response: { 200: Type.Object({ factors: Type.Array(FactorBody) }) },
      },
    },
    async (request) => {
      const c = caller(request);
      const factors = await app.listFactors({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        userRef: request.params.id,
      });
      return { factors: factors.map(factorJSON) };
    },
  );

  r.post(
    '/v1/users/:id/factors/:factorId/enable',
    {
      config: { action: ACTIONS.EnableMFADevice, auth: 'session' },
      schema: {
        summary:
          "Enable a user's assigned hardware token with two consecutive codes (admin holding the token)",
        tags: ['factors'],
        params: UserFactorParams,
        body: EnableBody,
        response: { 200: Type.Object({ factor: FactorBody }), 400: ErrorBody, 403: ErrorBody },
      },
    },
    async (request) => {
      const c = caller(request);
      const factor = await app.enableFactor({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        userRef: request.params.id,
        factorId: request.params.factorId,
        ...request.body,
      });
      return { factor: factorJSON(factor) };
    },
  );

  r.delete(
    '/v1/users/:id/factors/:factorId',
    {
      config: {
        action: ACTIONS.DeactivateMFADevice,
        // A pending factor is deleted rather than deactivated (removeFactor decides from the row).
        alsoAuthorizes: [ACTIONS.DeleteVirtualMFADevice],
        auth: 'session',
      },
      schema: {
        summary: "Remove a user's factor (admins; needs a recent MFA)",
        tags: ['factors'],
        params: UserFactorParams,
        response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      await app.removeFactor({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        userRef: request.params.id,
        factorId: request.params.factorId,
      });
      return reply.status(204).send(null);
    },
  );

  const AtRisk = Type.Object({
    id: Type.String(),
    email: Type.String(),
    role: Type.String(),
    enabledFactors: Type.Integer(),
    recoveryCodes: Type.Boolean(),
  });
  r.get(
    '/v1/insights/lockout-risk',
    {
      config: { action: ACTIONS.GetLockoutRiskInsights, auth: 'session' },
      schema: {
        summary:
          'Users with no factor, a single factor or no recovery codes, and whether the account has a single admin',
        tags: ['insights'],
        response: {
          200: Type.Object({
            usersWithoutFactors: Type.Array(AtRisk),
            usersWithSingleFactor: Type.Array(AtRisk),
            usersWithoutRecoveryCodes: Type.Array(AtRisk),
            administrators: Type.Integer(),
            singleAdministrator: Type.Boolean(),
          }),
        },
      },
    },
    async (request) => {
      const c = caller(request);
      return app.lockoutRisk({ actor: c.actor, ctx: requestContext(request), accountId: c.account.id });
    },
  );
}
