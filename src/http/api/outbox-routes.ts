import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import { requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody } from './schemas.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const NullableString = Type.Union([Type.String(), Type.Null()]);

const MessageBody = Type.Object({
  id: Type.String(),
  channel: Type.String(),
  template: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('failed')]),
  recipient: NullableString,
  principalId: NullableString,
  principalName: NullableString,
  requestId: NullableString,
  holdsSecret: Type.Boolean(),
  attempts: Type.Integer(),
  createdAt: Type.String(),
  sentAt: NullableString,
  failedAt: NullableString,
  nextAttemptAt: NullableString,
  lastError: NullableString,
});

/** The account's outbox, read-only, for its administrators (docs/console.md, "Outbox"). */
export function registerOutboxRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/v1/outbox',
    {
      config: { action: ACTIONS.ListOutboxMessages, auth: 'session' },
      schema: {
        summary:
          'Messages of my account in the outbox, newest first: recipient, kind, delivery state, attempts, next attempt, last error (never their links or codes)',
        tags: ['outbox'],
        querystring: Type.Object(
          {
            state: Type.Optional(
              Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('failed')]),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            messages: Type.Array(MessageBody),
            offset: Type.Integer(),
            limit: Type.Integer(),
            hasMore: Type.Boolean(),
          }),
          400: ErrorBody,
          403: ErrorBody,
        },
      },
    },
    async (request) => {
      const c = (request as typeof request & { caller: Caller | null }).caller!;
      const limit = request.query.limit ?? 50;
      const offset = request.query.offset ?? 0;
      const out = await app.listOutboxMessages({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.account.id,
        ...(request.query.state === undefined ? {} : { state: request.query.state }),
        limit,
        offset,
      });
      return {
        offset,
        limit,
        hasMore: out.hasMore,
        messages: out.messages.map((m) => ({
          ...m,
          createdAt: new Date(m.createdAt).toISOString(),
          sentAt: iso(m.sentAt),
          failedAt: iso(m.failedAt),
          nextAttemptAt: iso(m.nextAttemptAt),
        })),
      };
    },
  );
}
