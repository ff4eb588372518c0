import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { IssuedSession } from '../../app/auth.js';
import type { App } from '../../app/create-app.js';
import type { WebAuthnCeremony } from '../../app/webauthn.js';
import { requestContext, setSessionCookies } from '../plugins/session-auth.js';
import type { Caller } from '../types.js';
import { FactorBody, factorJSON } from './factor-routes.js';
import { ErrorBody, IdParams, SessionBody, UserBody, sessionJSON, userJSON } from './schemas.js';

const B64 = (maxLength: number) => Type.String({ maxLength, pattern: '^[A-Za-z0-9_-]*={0,2}$' });

/** A PublicKeyCredential as JSON (W3C WebAuthn Level 3 §5.1 toJSON()); checked in depth by the verifier. */
const CredentialJSON = Type.Object(
  {
    id: B64(1400),
    rawId: B64(1400),
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64(4096),
        attestationObject: Type.Optional(B64(32768)),
        authenticatorData: Type.Optional(B64(8192)),
        signature: Type.Optional(B64(2048)),
        userHandle: Type.Optional(Type.Union([B64(128), Type.Null()])),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
      },
      { additionalProperties: true },
    ),
    clientExtensionResults: Type.Optional(Type.Object({}, { additionalProperties: true })),
    authenticatorAttachment: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()])),
  },
  { additionalProperties: true },
);

const ChallengeId = Type.String({ minLength: 1, maxLength: 64 });
const FlowId = Type.String({ minLength: 1, maxLength: 64 });
const Ceremony = Type.Object({
  challengeId: Type.String(),
  expiresAt: Type.String(),
  options: Type.Unknown({ description: 'PublicKeyCredential{Creation,Request}OptionsJSON for the browser' }),
});
const RegisterOptionsBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('passkey'), Type.Literal('security_key')]),
    name: Type.String({ minLength: 1, maxLength: 64 }),
    enrolmentGrant: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
const AdminRegisterOptionsBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('passkey'), Type.Literal('security_key')]),
    name: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
const RegisterBody = Type.Object(
  { challengeId: ChallengeId, credential: CredentialJSON },
  { additionalProperties: false },
);
const SignedIn = Type.Object({
  status: Type.Literal('signed_in'),
  session: SessionBody,
  user: UserBody,
  token: Type.Optional(Type.String()),
  csrfToken: Type.Optional(Type.String()),
  multiFactor: Type.Optional(Type.Boolean()),
});

const ceremonyJSON = <T>(c: WebAuthnCeremony<T>) => ({
  challengeId: c.challengeId,
  expiresAt: new Date(c.expiresAt).toISOString(),
  options: c.options,
});

/** WebAuthn: registration (own and admin-provisioned), sign-in second factor, step-up, passkeys. */
export function registerWebAuthnRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: { caller: Caller | null }) => request.caller!;

  /** A completed sign-in: the token in the body (bearer) or in HttpOnly cookies (console). */
  const signedIn = (
    request: { protocol: string },
    reply: FastifyReply,
    issued: IssuedSession,
    extra: { multiFactor?: boolean } = {},
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
    '/v1/factors/webauthn/options',
    {
      config: { action: ACTIONS.CreateVirtualMFADevice, auth: 'session' },
      schema: {
        summary: 'Start registering a passkey or security key (options for navigator.credentials.create)',
        tags: ['factors'],
        body: RegisterOptionsBody,
        response: { 200: Ceremony, 403: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const ceremony = await app.webAuthnRegistrationOptions({
        actor: c.actor,
        ctx: requestContext(request),
        kind: request.body.kind,
        name: request.body.name,
        ...(request.body.enrolmentGrant !== undefined ? { enrolmentGrant: request.body.enrolmentGrant } : {}),
      });
      void reply.header('cache-control', 'no-store');
      return ceremonyJSON(ceremony);
    },
  );

  r.post(
    '/v1/factors/webauthn',
    {
      config: { action: ACTIONS.EnableMFADevice, auth: 'session' },
      schema: {
        summary: 'Finish registering a passkey or security key with the authenticator response',
        tags: ['factors'],
        body: RegisterBody,
        response: {
          201: Type.Object({ factor: FactorBody }),
          400: ErrorBody,
          403: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const { factor } = await app.registerWebAuthnFactor({
        actor: c.actor,
        ctx: requestContext(request),
        challengeId: request.body.challengeId,
        response: request.body.credential as unknown as RegistrationResponseJSON,
      });
      return reply.status(201).send({ factor: factorJSON(factor) });
    },
  );

  r.post(
    '/v1/users/:id/factors/webauthn/options',
    {
      config: { action: ACTIONS.ProvisionWebAuthnKey, auth: 'session' },
      schema: {
        summary: "Start registering a key for a user (admins, MFA session); the user can't remove it",
        tags: ['factors'],
        params: IdParams,
        body: AdminRegisterOptionsBody,
        response: { 200: Ceremony, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const ceremony = await app.webAuthnRegistrationOptions({
        actor: c.actor,
        ctx: requestContext(request),
        kind: request.body.kind,
        name: request.body.name,
        userRef: request.params.id,
      });
      void reply.header('cache-control', 'no-store');
      return ceremonyJSON(ceremony);
    },
  );

  r.post(
    '/v1/users/:id/factors/webauthn',
    {
      config: { action: ACTIONS.ProvisionWebAuthnKey, auth: 'session' },
      schema: {
        summary: 'Finish registering an admin-provisioned key for a user',
        tags: ['factors'],
        params: IdParams,
        body: RegisterBody,
        response: {
          201: Type.Object({ factor: FactorBody }),
          400: ErrorBody,
          403: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const { factor } = await app.registerWebAuthnFactor({
        actor: c.actor,
        ctx: requestContext(request),
        challengeId: request.body.challengeId,
        response: request.body.credential as unknown as RegistrationResponseJSON,
        userRef: request.params.id,
      });
      return reply.status(201).send({ factor: factorJSON(factor) });
    },
  );

  r.post(
    '/v1/sign-in/second-factor/webauthn/options',
    {
      config: { action: ACTIONS.CompleteSecondFactor, auth: 'none' },
      schema: {
        summary: 'Options to answer the factor step of sign-in with a passkey or security key',
        tags: ['auth'],
        body: Type.Object({ flowId: FlowId }, { additionalProperties: false }),
        response: { 200: Ceremony, 404: ErrorBody, 410: ErrorBody },
      },
    },
    async (request, reply) => {
      const ceremony = await app.webAuthnSignInOptions({
        ctx: requestContext(request),
        flowId: request.body.flowId,
      });
      void reply.header('cache-control', 'no-store');
      return ceremonyJSON(ceremony);
    },
  );

  r.post(
    '/v1/sign-in/second-factor/webauthn',
    {
      config: { action: ACTIONS.CompleteSecondFactor, auth: 'none' },
      schema: {
        summary: 'Factor step of sign-in with a WebAuthn assertion',
        tags: ['auth'],
        body: Type.Object(
          { flowId: FlowId, challengeId: ChallengeId, credential: CredentialJSON },
          { additionalProperties: false },
        ),
        response: { 200: SignedIn, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const result = await app.completeSignInWithWebAuthn({
        ctx: requestContext(request),
        flowId: request.body.flowId,
        challengeId: request.body.challengeId,
        response: request.body.credential as unknown as AuthenticationResponseJSON,
      });
      return signedIn(request, reply, result);
    },
  );

  r.post(
    '/v1/session/step-up/webauthn/options',
    {
      config: { action: ACTIONS.StepUp, auth: 'session' },
      schema: {
        summary: 'Options for a step-up with one of my passkeys or security keys',
        tags: ['sessions'],
        response: { 200: Ceremony, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const ceremony = await app.webAuthnStepUpOptions({ actor: c.actor, ctx: requestContext(request) });
      void reply.header('cache-control', 'no-store');
      return ceremonyJSON(ceremony);
    },
  );

  r.post(
    '/v1/session/step-up/webauthn',
    {
      config: { action: ACTIONS.StepUp, auth: 'session' },
      schema: {
        summary: 'Step up this session with a WebAuthn assertion',
        tags: ['sessions'],
        body: Type.Object(
          { challengeId: ChallengeId, credential: CredentialJSON },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ session: SessionBody }), 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      const c = caller(request);
      const session = await app.stepUpWithWebAuthn({
        actor: c.actor,
        ctx: requestContext(request),
        challengeId: request.body.challengeId,
        response: request.body.credential as unknown as AuthenticationResponseJSON,
      });
      return { session: sessionJSON(session, session.id) };
    },
  );

  r.post(
    '/v1/sign-in/passkey/options',
    {
      config: { action: ACTIONS.SignIn, auth: 'none' },
      schema: {
        summary: 'Options for passwordless sign-in with a passkey of this account',
        tags: ['auth'],
        body: Type.Object(
          { account: Type.String({ minLength: 1, maxLength: 63 }) },
          { additionalProperties: false },
        ),
        response: { 200: Ceremony },
      },
    },
    async (request, reply) => {
      const ceremony = await app.passkeySignInOptions({
        ctx: requestContext(request),
        account: request.body.account,
      });
      void reply.header('cache-control', 'no-store');
      return ceremonyJSON(ceremony);
    },
  );

  r.post(
    '/v1/sign-in/passkey',
    {
      config: { action: ACTIONS.SignIn, auth: 'none' },
      schema: {
        summary: 'Passwordless sign-in: multi-factor only when the authenticator verified the user',
        tags: ['auth'],
        body: Type.Object(
          {
            challengeId: ChallengeId,
            credential: CredentialJSON,
            session: Type.Optional(Type.Union([Type.Literal('bearer'), Type.Literal('cookie')])),
          },
          { additionalProperties: false },
        ),
        response: { 200: SignedIn, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const result = await app.signInWithPasskey({
        ctx: requestContext(request),
        challengeId: request.body.challengeId,
        response: request.body.credential as unknown as AuthenticationResponseJSON,
        channel: request.body.session ?? 'bearer',
      });
      return signedIn(request, reply, result, { multiFactor: result.multiFactor });
    },
  );
}
