import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import { hardwareTokenJSON, parsePreSharedKeyHex } from '../../app/hardware-tokens.js';
import { authenticateRequest, requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { FactorBody, factorJSON } from './factor-routes.js';
import { ErrorBody } from './schemas.js';

/** Largest PSKC import body (16 MiB holds some 15,000 encrypted tokens); every other route keeps 64 KiB. */
export const PSKC_IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

const NullableString = Type.Union([Type.String(), Type.Null()]);

/** A hardware token as the API shows it: inventory facts, never its seed. */
export const HardwareTokenBody = Type.Object({
  id: Type.String(),
  serial: Type.String(),
  manufacturer: NullableString,
  model: NullableString,
  mode: Type.String({ description: 'totp or hotp' }),
  algorithm: Type.String(),
  digits: Type.Integer(),
  period: Type.Union([Type.Integer(), Type.Null()]),
  state: Type.String({ description: 'unassigned, assigned, lost or retired' }),
  userId: NullableString,
  factorId: NullableString,
  importId: Type.String(),
  importedAt: Type.String(),
  updatedAt: Type.String(),
});

const SettableState = Type.Union([Type.Literal('unassigned'), Type.Literal('lost'), Type.Literal('retired')]);
const AnyState = Type.Union([
  Type.Literal('unassigned'),
  Type.Literal('assigned'),
  Type.Literal('lost'),
  Type.Literal('retired'),
]);
const SerialParams = Type.Object({ serial: Type.String({ minLength: 1, maxLength: 128 }) });

/** The hardware token inventory: PSKC import, listing, assignment and state (admins). */
export function registerHardwareTokenRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: { caller: Caller | null }) => request.caller!;

  r.post(
    '/v1/hardware-tokens/import',
    {
      config: { action: ACTIONS.ImportHardwareTokens, auth: 'session' },
      bodyLimit: PSKC_IMPORT_BODY_LIMIT,
      // The one route with a large body: refuse anonymous callers before reading 16 MiB.
      onRequest: async (request) => {
        await authenticateRequest(app, request);
      },
      schema: {
        summary: 'Import hardware OTP tokens from a PSKC file (RFC 6030), plain or pre-shared-key encrypted',
        description: 'All or nothing. The seeds are sealed at once and never shown again by any API or CLI.',
        tags: ['hardware-tokens'],
        body: Type.Object(
          {
            pskc: Type.String({ minLength: 1, description: 'the PSKC XML document' }),
            preSharedKey: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 256,
                description: 'hex pre-shared key for encrypted files (RFC 6030 §6.1)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            importId: Type.String(),
            imported: Type.Integer(),
            serials: Type.Array(Type.String(), { description: 'the first few serials imported' }),
          }),
          400: ErrorBody,
          403: ErrorBody,
          409: ErrorBody,
          413: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const { preSharedKey } = request.body;
      const result = await app.importHardwareTokens({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        pskcXml: request.body.pskc,
        ...(preSharedKey === undefined ? {} : { preSharedKey: parsePreSharedKeyHex(preSharedKey) }),
      });
      return reply.status(201).send(result);
    },
  );

  r.get(
    '/v1/hardware-tokens',
    {
      config: { action: ACTIONS.ListHardwareTokens, auth: 'session' },
      schema: {
        summary: 'The hardware token inventory of my account (never a seed)',
        tags: ['hardware-tokens'],
        description:
          'Pages of at most `limit` tokens (default 1000) ordered by serial; pass `after=<nextAfter>` for the next page.',
        querystring: Type.Object(
          {
            state: Type.Optional(AnyState),
            after: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            tokens: Type.Array(HardwareTokenBody),
            nextAfter: Type.Union([Type.String(), Type.Null()]),
          }),
          403: ErrorBody,
        },
      },
    },
    async (request) => {
      const c = caller(request);
      const limit = request.query.limit ?? 1000;
      const tokens = await app.listHardwareTokens({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        limit,
        ...(request.query.state === undefined ? {} : { state: request.query.state }),
        ...(request.query.after === undefined ? {} : { afterSerial: request.query.after }),
      });
      // A full page may have more behind it; the client asks again from the last serial.
      const nextAfter = tokens.length === limit ? tokens[tokens.length - 1]!.serial : null;
      return { tokens: tokens.map(hardwareTokenJSON), nextAfter };
    },
  );

  r.post(
    '/v1/hardware-tokens/:serial/assign',
    {
      config: { action: ACTIONS.AssignHardwareToken, auth: 'session' },
      schema: {
        summary:
          'Assign an unassigned token to a user: a pending, admin-provisioned factor the user or an admin enables with two codes',
        tags: ['hardware-tokens'],
        params: SerialParams,
        body: Type.Object(
          {
            user: Type.String({ minLength: 1, maxLength: 254, description: 'user id, e-mail or user name' }),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ token: HardwareTokenBody, factor: FactorBody }),
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const { token, factor } = await app.assignHardwareToken({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        serial: request.params.serial,
        userRef: request.body.user,
        ...(request.body.name === undefined ? {} : { name: request.body.name }),
      });
      return reply.status(201).send({ token: hardwareTokenJSON(token), factor: factorJSON(factor) });
    },
  );

  r.post(
    '/v1/hardware-tokens/:serial/state',
    {
      config: { action: ACTIONS.UpdateHardwareTokenState, auth: 'session' },
      schema: {
        summary:
          'Mark a token lost or retired (its factor is removed and the user told), or put a found one back in stock',
        tags: ['hardware-tokens'],
        params: SerialParams,
        body: Type.Object({ state: SettableState }, { additionalProperties: false }),
        response: {
          200: Type.Object({ token: HardwareTokenBody }),
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request) => {
      const c = caller(request);
      const token = await app.setHardwareTokenState({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        serial: request.params.serial,
        state: request.body.state,
      });
      return { token: hardwareTokenJSON(token) };
    },
  );
}
