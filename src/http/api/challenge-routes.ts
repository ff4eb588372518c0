import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import { requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { factorJSON, FactorBody } from './factor-routes.js';
import { ErrorBody } from './schemas.js';

/** What a sent code answers: where it went (masked) and until when it is good; never the code. */
const Sent = Type.Object({
  factorId: Type.String(),
  sentTo: Type.String({ description: 'the phone number, masked' }),
  expiresAt: Type.String(),
});
const sentJSON = (s: { factorId: string; sentTo: string; expiresAt: number }) => ({
  factorId: s.factorId,
  sentTo: s.sentTo,
  expiresAt: new Date(s.expiresAt).toISOString(),
});
const errors = { 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody };
const Id = Type.String({ minLength: 1, maxLength: 64 });

/**
 * Text-message (SMS) codes: enrolling a phone, and asking for a factor's code at sign-in or
 * before a step-up. A code is texted only through these routes, when the user asks for it; the
 * code itself is then given to the usual sign-in, step-up and enable routes.
 */
export function registerChallengeRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: { caller: Caller | null }) => request.caller!;

  r.post(
    '/v1/factors/sms',
    {
      config: { action: ACTIONS.CreateVirtualMFADevice, auth: 'session' },
      schema: {
        summary:
          'Start enrolling a phone for text-message codes (weak; off unless the account owner allowed it); confirm with /v1/factors/{id}/enable',
        tags: ['factors'],
        body: Type.Object(
          {
            phoneNumber: Type.String({
              minLength: 1,
              maxLength: 32,
              description: 'E.164, e.g. +447700900123',
            }),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            enrolmentGrant: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ factor: FactorBody, sent: Sent }), ...errors },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const { phoneNumber, name, enrolmentGrant } = request.body;
      const e = await app.createSmsOtpFactor({
        actor: c.actor,
        ctx: requestContext(request),
        phoneNumber,
        ...(name === undefined ? {} : { name }),
        ...(enrolmentGrant === undefined ? {} : { enrolmentGrant }),
      });
      return reply.status(201).send({ factor: factorJSON(e.factor), sent: sentJSON(e) });
    },
  );

  r.post(
    '/v1/sign-in/challenge',
    {
      config: { action: ACTIONS.SendSignInChallenge, auth: 'none' },
      schema: {
        summary:
          'Sign-in, factor step: text the code of the factor the user picked (text-message factors only)',
        tags: ['auth'],
        body: Type.Object({ flowId: Id, factorId: Id }, { additionalProperties: false }),
        response: { 200: Sent, ...errors },
      },
    },
    async (request) =>
      sentJSON(
        await app.sendSignInChallenge({
          ctx: requestContext(request),
          flowId: request.body.flowId,
          factorId: request.body.factorId,
        }),
      ),
  );

  r.post(
    '/v1/session/step-up/challenge',
    {
      config: { action: ACTIONS.StepUp, auth: 'session' },
      schema: {
        summary: 'Before a step-up: text the code of the factor the user picked (text-message factors only)',
        tags: ['auth'],
        body: Type.Object({ factorId: Id }, { additionalProperties: false }),
        response: { 200: Sent, ...errors },
      },
    },
    async (request) =>
      sentJSON(
        await app.sendFactorChallenge({
          actor: caller(request).actor,
          ctx: requestContext(request),
          factorId: request.body.factorId,
        }),
      ),
  );
}
