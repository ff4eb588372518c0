import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import { requestContext } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { ErrorBody } from './schemas.js';

/** GET /v1/account/settings: the settings in force, their caps and what the caller may change. */
export function registerAccountSettingsRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/v1/account/settings',
    {
      config: { action: ACTIONS.GetAccountSettings, auth: 'session' },
      schema: {
        summary:
          'The account settings in force (step-up age, initial enrolment window, second approver, text-message codes, passkey attestation) with their caps',
        tags: ['account'],
        response: {
          200: Type.Object({
            settings: Type.Object({
              stepUpMaxAgeSeconds: Type.Integer(),
              stepUpMaxAgeCapSeconds: Type.Integer(),
              initialEnrolmentWindowSeconds: Type.Integer(),
              initialEnrolmentWindowCapSeconds: Type.Integer(),
              requireSecondApprover: Type.Boolean(),
              smsOtpAllowed: Type.Boolean(),
              mayAllowSms: Type.Boolean(),
              webauthnAttestation: Type.Union([Type.Literal('none'), Type.Literal('direct')]),
              allowedAuthenticatorModels: Type.Integer(),
            }),
          }),
          403: ErrorBody,
        },
      },
    },
    async (request) => {
      const c = (request as typeof request & { caller: Caller | null }).caller!;
      return {
        settings: await app.getAccountSettings({
          actor: c.actor,
          ctx: requestContext(request),
          accountId: c.account.id,
        }),
      };
    },
  );
}
