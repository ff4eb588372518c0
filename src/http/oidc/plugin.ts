import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import type { RequestContext } from '../../app/context.js';
import type { OidcAuthorizationRequest } from '../../app/oidc/interaction.js';
import { HoldfastError } from '../../core/errors.js';
import { requestContext, SESSION_COOKIE } from '../plugins/session-auth.js';
import { ErrorBody } from '../api/schemas.js';
import { INTERACTION_PAGE_HTML, INTERACTION_SCRIPT } from './interaction-page.js';
import { setWebIdentityIssuer } from './web-identity.js';
import type { MountedProvider, SilentDecision } from './provider.js';

/** The sign-in page of an authorization request (provider.ts holds the same prefix). */
const INTERACTION_PREFIX = '/oidc/interaction';

/** How often the provider's expired records are deleted. */
const PRUNE_EVERY_MS = 10 * 60 * 1000;

/** What the OpenID Connect face needs. */
export interface OidcFaceOptions {
  app: App;
  /** The server's public base URL; the issuer is its origin (no path). */
  publicUrl: string;
  trustedProxies: string[];
}

/** A new RS256 signing key as a private JWK with its RFC 7638 thumbprint as `kid`. */
async function generateSigningKey(): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
}

function koaContext(ctx: KoaContextWithOIDC): RequestContext {
  const agent = ctx.get('user-agent');
  return {
    requestId: randomUUID(),
    sourceIp: ctx.ip || null,
    userAgent: agent === '' ? null : agent.slice(0, 512),
  };
}

/** Audit records of the provider's events: every code and token issued, every refusal, every logout. */
function auditEvents(mounted: MountedProvider, app: App): void {
  const { provider } = mounted;
  const record = (
    ctx: KoaContextWithOIDC,
    action: string,
    outcome: 'success' | 'failure',
    extra: { errorCode?: string; details?: Record<string, string | number | boolean | null | string[]> } = {},
  ) => {
    const clientId = ctx.oidc?.client?.clientId ?? null;
    const subject = ctx.oidc?.session?.accountId ?? ctx.oidc?.entities?.Account?.accountId ?? null;
    void app
      .recordOidcEvent({
        ctx: koaContext(ctx),
        clientId,
        subject: subject ?? null,
        action,
        outcome,
        errorCode: extra.errorCode ?? null,
        details: extra.details ?? {},
      })
      .catch((err: unknown) => ctx.app.emit('error', err));
  };
  const errorCode = (err: unknown) =>
    typeof (err as { error?: unknown })?.error === 'string'
      ? (err as { error: string }).error
      : 'server_error';
  provider.on('authorization.success', (ctx: KoaContextWithOIDC) =>
    record(ctx, 'oidc.authorization_granted', 'success'),
  );
  provider.on('grant.success', (ctx: KoaContextWithOIDC) =>
    record(ctx, 'oidc.token_issued', 'success', {
      details: { grantType: String(ctx.oidc.params?.['grant_type'] ?? '') },
    }),
  );
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) =>
    record(ctx, 'oidc.grant_revoked', 'success', { details: { grantId } }),
  );
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    record(ctx, 'oidc.logout', 'success');
    endHoldfastSession(app, ctx);
  });
  provider.on('device_authorization.success', (ctx: KoaContextWithOIDC) =>
    record(ctx, 'oidc.device_authorization_started', 'success'),
  );
  for (const [event, action] of [
    ['authorization.error', 'oidc.authorization_refused'],
    ['grant.error', 'oidc.token_refused'],
    ['end_session.error', 'oidc.logout_refused'],
    ['introspection.error', 'oidc.introspection_refused'],
    ['revocation.error', 'oidc.revocation_refused'],
    ['userinfo.error', 'oidc.userinfo_refused'],
    ['device_authorization.error', 'oidc.device_authorization_refused'],
    ['code_verification.error', 'oidc.device_code_refused'],
    ['server_error', 'oidc.server_error'],
  ] as const) {
    (provider as unknown as NodeJS.EventEmitter).on(event, (ctx: KoaContextWithOIDC, err: unknown) =>
      record(ctx, action, 'failure', { errorCode: errorCode(err) }),
    );
  }
}

/** RP-initiated logout also ends the Holdfast session of the browser (the confirmation is same-origin). */
function endHoldfastSession(app: App, ctx: KoaContextWithOIDC): void {
  const token = ctx.cookies.get(SESSION_COOKIE);
  if (token === undefined || token === '') return;
  ctx.cookies.set(SESSION_COOKIE, null, { path: '/' });
  void (async () => {
    const auth = await app.authenticate(token);
    await app.revokeOwnSession({
      actor: { kind: 'principal', principal: auth.principal, session: auth.session },
      ctx: koaContext(ctx),
      sessionId: auth.session.id,
      reason: 'oidc_logout',
    });
  })().catch(() => undefined);
}

/** Security headers of the provider's own answers (Fastify's are not applied to a hijacked reply). */
function providerHeaders(reply: FastifyReply): void {
  const raw = reply.raw;
  raw.setHeader(
    'content-security-policy',
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  );
  raw.setHeader('x-content-type-options', 'nosniff');
  raw.setHeader('referrer-policy', 'no-referrer');
  raw.setHeader('x-frame-options', 'DENY');
}

function authorizationRequest(details: {
  params: Record<string, unknown>;
  prompt: { name: string };
  iat?: number;
}): OidcAuthorizationRequest {
  const { params } = details;
  const clientId = params['client_id'];
  if (typeof clientId !== 'string') throw new HoldfastError('OIDC_INTERACTION_NOT_FOUND');
  const scope = typeof params['scope'] === 'string' ? params['scope'] : 'openid';
  const acr = typeof params['acr_values'] === 'string' ? params['acr_values'] : '';
  const maxAge = params['max_age'] === undefined ? null : Number(params['max_age']);
  const prompt = typeof params['prompt'] === 'string' ? params['prompt'].split(' ') : [];
  return {
    clientId,
    scopes: scope.split(' ').filter((s) => s.length > 0),
    acrValues: acr.split(' ').filter((v) => v.length > 0),
    maxAge: maxAge === null || !Number.isFinite(maxAge) || maxAge < 0 ? null : Math.floor(maxAge),
    consentPrompted: prompt.includes('consent'),
    reauthenticateAfter:
      prompt.includes('login') && typeof details.iat === 'number' ? details.iat * 1000 : null,
  };
}

/**
 * A `prompt=none` authorization decided from the browser's Holdfast session, as the sign-in page
 * would decide it (describeOidcInteraction): ready (a session of the client's account meeting the
 * assurance and `max_age` asked for, consent remembered) signs in without a page and is recorded
 * as one `oidc.sign_in`; otherwise the OpenID Connect Core 1.0 §3.1.2.6 error: no session or one
 * too weak or too old, login_required; consent not given, consent_required; signed in to another
 * account, interaction_required (the provider records the refusal).
 */
async function silentDecision(app: App, ctx: KoaContextWithOIDC): Promise<SilentDecision> {
  const request = authorizationRequest({
    params: (ctx.oidc.params as unknown as { toPlainObject(): Record<string, unknown> }).toPlainObject(),
    prompt: { name: 'none' },
  });
  const sessionToken = ctx.cookies.get(SESSION_COOKIE) ?? null;
  const state = await app.describeOidcInteraction({ sessionToken, request });
  switch (state.need) {
    case 'sign_in':
    case 'step_up':
      return { error: 'login_required' };
    case 'consent':
      return { error: 'consent_required' };
    case 'account_mismatch':
      return { error: 'interaction_required' };
    case 'ready':
      return {
        login: await app.completeOidcInteraction({
          ctx: koaContext(ctx),
          sessionToken,
          request,
          allow: false,
        }),
      };
  }
}

/** How often a serving process looks for rotated signing keys. */
const KEY_CHECK_MS = 2_000;

/**
 * The OpenID Connect provider on this server and port (docs/oidc.md): discovery at
 * `/.well-known/openid-configuration`, the protocol endpoints under `/oidc/`, the sign-in page
 * of each authorization under `/oidc/interaction/`, clients under `/v1/oidc/clients` and each
 * user's consents under `/v1/me/oidc-consents`. The provider is built on its first request, so
 * servers that never serve OpenID Connect make no signing key.
 */
export async function registerOidc(server: FastifyInstance, options: OidcFaceOptions): Promise<void> {
  const { app } = options;
  const issuer = new URL(options.publicUrl).origin;
  setWebIdentityIssuer(app, issuer);
  let mounted: Promise<MountedProvider & { keyVersion: string }> | null = null;
  let keysCheckedAt = 0;
  let prune: NodeJS.Timeout | undefined;
  server.addHook('onClose', async () => clearInterval(prune));
  const build = async () => {
    // Read before the keys are loaded: a rotation in between is seen at the next check.
    const keyVersion = await app.oidcSigningKeyVersion();
    // The library loads on the first OpenID Connect request, not with every server.
    const { createOidcProvider } = await import('./provider.js');
    const built = await createOidcProvider({
      app,
      issuer,
      behindProxy: options.trustedProxies.length > 0,
      silent: (ctx) => silentDecision(app, ctx),
    });
    auditEvents(built, app);
    return { ...built, keyVersion };
  };
  const provider = async (): Promise<MountedProvider> => {
    if (mounted === null) {
      mounted = (async () => {
        await app.ensureOidcSigningKey({
          ctx: { requestId: 'oidc-start', sourceIp: null, userAgent: null },
          generate: generateSigningKey,
        });
        const built = await build();
        keysCheckedAt = Date.now();
        // Expired codes, tokens and interactions are deleted every ten minutes while the provider
        // serves (each record is also ignored once past its expiry).
        prune ??= setInterval(() => void app.pruneOidcRecords().catch(() => undefined), PRUNE_EVERY_MS);
        prune.unref();
        return built;
      })().catch((err: unknown) => {
        mounted = null;
        throw err;
      });
      return mounted;
    }
    // The library takes its keys once, when built: a rotation (`holdfast keys rotate-oidc`, by
    // any process on the same database) is noticed by a cheap fingerprint read at most every
    // KEY_CHECK_MS, and the provider is rebuilt with the new keys. Its state lives in the
    // database, so codes, sessions and interactions in flight carry over.
    const current = mounted;
    if (Date.now() - keysCheckedAt >= KEY_CHECK_MS) {
      keysCheckedAt = Date.now();
      const [built, version] = await Promise.all([current, app.oidcSigningKeyVersion()]);
      if (version !== built.keyVersion && mounted === current) {
        mounted = build().catch(() => built);
        return mounted;
      }
    }
    return current;
  };

  // The library reads the raw request (bodies included): hand it over before Fastify parses anything.
  const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
    const built = await provider();
    reply.hijack();
    providerHeaders(reply);
    built.handle(request.raw, reply.raw);
  };
  const unreachable = async () => {
    throw new HoldfastError('INTERNAL_ERROR');
  };
  const providerRoute = { action: ACTIONS.OidcProvider, auth: 'none' as const };
  server.route({
    method: ['GET', 'POST', 'OPTIONS'],
    url: '/oidc/*',
    config: providerRoute,
    schema: { hide: true },
    onRequest: handOver,
    handler: unreachable,
  });
  server.route({
    method: ['GET', 'OPTIONS'],
    url: '/.well-known/openid-configuration',
    config: providerRoute,
    schema: { hide: true },
    onRequest: handOver,
    handler: unreachable,
  });

  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const Uid = Type.Object({ uid: Type.String({ minLength: 1, maxLength: 128 }) });
  const interaction = { action: ACTIONS.OidcInteraction, auth: 'none' as const };
  const sessionToken = (request: FastifyRequest): string | null => request.cookies[SESSION_COOKIE] ?? null;
  const detailsOf = async (request: FastifyRequest, reply: FastifyReply, uid: string) => {
    const built = await provider();
    let details;
    try {
      details = await built.provider.interactionDetails(request.raw, reply.raw);
    } catch {
      throw new HoldfastError('OIDC_INTERACTION_NOT_FOUND');
    }
    if (details.uid !== uid) throw new HoldfastError('OIDC_INTERACTION_NOT_FOUND');
    return { built, details };
  };

  r.get(
    `${INTERACTION_PREFIX}/:uid`,
    { config: interaction, schema: { hide: true, params: Uid } },
    async (_request, reply) =>
      reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(INTERACTION_PAGE_HTML),
  );
  r.get(
    '/oidc-assets/interaction.js',
    { config: { action: ACTIONS.Public, auth: 'none' }, schema: { hide: true } },
    async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(INTERACTION_SCRIPT),
  );
  r.get(
    `${INTERACTION_PREFIX}/:uid/state`,
    { config: interaction, schema: { hide: true, params: Uid } },
    async (request, reply) => {
      const { details } = await detailsOf(request, reply, request.params.uid);
      const state = await app.describeOidcInteraction({
        sessionToken: sessionToken(request),
        request: authorizationRequest(details as never),
      });
      void reply.header('cache-control', 'no-store');
      return state;
    },
  );
  r.post(
    `${INTERACTION_PREFIX}/:uid/continue`,
    {
      config: { action: ACTIONS.OidcInteraction, auth: 'session' },
      schema: {
        hide: true,
        params: Uid,
        body: Type.Object({ allow: Type.Boolean() }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const { built, details } = await detailsOf(request, reply, request.params.uid);
      const wanted = authorizationRequest(details as never);
      const login = await app.completeOidcInteraction({
        ctx: requestContext(request),
        sessionToken: sessionToken(request),
        request: wanted,
        allow: request.body.allow,
      });
      const { Grant } = built.provider;
      const existing = details.grantId === undefined ? undefined : await Grant.find(details.grantId);
      const grant =
        existing !== undefined &&
        existing.accountId === login.accountId &&
        existing.clientId === wanted.clientId
          ? existing
          : new Grant({ accountId: login.accountId, clientId: wanted.clientId });
      grant.addOIDCScope(login.scopes.join(' '));
      const claims = details.params['claims'];
      if (typeof claims === 'string') {
        const parsed = JSON.parse(claims) as { id_token?: object; userinfo?: object };
        if (parsed.id_token !== undefined) grant.addOIDCClaims(Object.keys(parsed.id_token));
        if (parsed.userinfo !== undefined) grant.addOIDCClaims(Object.keys(parsed.userinfo));
      }
      const grantId = await grant.save();
      const redirectTo = await built.provider.interactionResult(
        request.raw,
        reply.raw,
        {
          login: {
            accountId: login.accountId,
            acr: login.acr,
            amr: login.amr,
            ts: login.ts,
            remember: false,
          },
          consent: { grantId },
        },
        { mergeWithLastSubmission: false },
      );
      void reply.header('cache-control', 'no-store');
      return { redirectTo };
    },
  );
  r.post(
    `${INTERACTION_PREFIX}/:uid/abort`,
    { config: interaction, schema: { hide: true, params: Uid } },
    async (request, reply) => {
      const { built, details } = await detailsOf(request, reply, request.params.uid);
      const wanted = authorizationRequest(details as never);
      await app.recordOidcEvent({
        ctx: requestContext(request),
        clientId: wanted.clientId,
        subject: null,
        action: 'oidc.sign_in',
        outcome: 'failure',
        errorCode: 'access_denied',
        details: { reason: 'the user cancelled' },
      });
      const redirectTo = await built.provider.interactionResult(
        request.raw,
        reply.raw,
        { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
        { mergeWithLastSubmission: false },
      );
      return { redirectTo };
    },
  );

  registerClientRoutes(server, app);
}

const ClientBody = Type.Object({
  clientId: Type.String(),
  accountId: Type.String(),
  name: Type.String(),
  redirectUris: Type.Array(Type.String()),
  postLogoutRedirectUris: Type.Array(Type.String()),
  public: Type.Boolean(),
  minimumAssurance: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

/** Clients (account administrators) and consents (each user's own) in the JSON API. */
function registerClientRoutes(server: FastifyInstance, app: App): void {
  const r = server.withTypeProvider<TypeBoxTypeProvider>();
  const caller = (request: FastifyRequest) => {
    const c = request.caller;
    if (c === null || c === undefined) throw new HoldfastError('AUTH_SESSION_REQUIRED');
    return c;
  };
  r.post(
    '/v1/oidc/clients',
    {
      config: { action: ACTIONS.CreateOidcClient, auth: 'session' },
      schema: {
        summary: 'Register an OpenID Connect client of my account; a confidential one gets its secret once',
        tags: ['oidc'],
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            redirectUris: Type.Array(Type.String({ maxLength: 2000 }), { minItems: 1, maxItems: 10 }),
            postLogoutRedirectUris: Type.Optional(
              Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 10 }),
            ),
            public: Type.Optional(Type.Boolean()),
            minimumAssurance: Type.Optional(Type.String({ maxLength: 32 })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ client: ClientBody, clientSecret: Type.Union([Type.String(), Type.Null()]) }),
          400: ErrorBody,
          403: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      const created = await app.createOidcClient({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.principal.accountId,
        ...(request.body.name === undefined ? {} : { name: request.body.name }),
        redirectUris: request.body.redirectUris,
        postLogoutRedirectUris: request.body.postLogoutRedirectUris ?? [],
        public: request.body.public === true,
        minimumAssurance: request.body.minimumAssurance ?? null,
      });
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );
  r.get(
    '/v1/oidc/clients',
    {
      config: { action: ACTIONS.ListOidcClients, auth: 'session' },
      schema: {
        summary: "My account's OpenID Connect clients",
        tags: ['oidc'],
        response: { 200: Type.Object({ clients: Type.Array(ClientBody) }), 403: ErrorBody },
      },
    },
    async (request) => {
      const c = caller(request);
      return {
        clients: await app.listOidcClients({
          actor: c.actor,
          ctx: requestContext(request),
          accountId: c.principal.accountId,
        }),
      };
    },
  );
  r.delete(
    '/v1/oidc/clients/:clientId',
    {
      config: { action: ACTIONS.DeleteOidcClient, auth: 'session' },
      schema: {
        summary: 'Delete a client of my account and every token issued to it',
        tags: ['oidc'],
        params: Type.Object({ clientId: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      await app.deleteOidcClient({
        actor: c.actor,
        ctx: requestContext(request),
        accountId: c.principal.accountId,
        clientId: request.params.clientId,
      });
      return reply.status(204).send(null);
    },
  );
  r.get(
    '/v1/me/oidc-consents',
    {
      config: { action: ACTIONS.ListOidcConsents, auth: 'session' },
      schema: {
        summary: 'Applications I let sign me in (remembered consent)',
        tags: ['oidc'],
        response: {
          200: Type.Object({
            consents: Type.Array(
              Type.Object({
                clientId: Type.String(),
                clientName: Type.String(),
                scopes: Type.Array(Type.String()),
                grantedAt: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({
      consents: await app.listOwnOidcConsents({ actor: caller(request).actor as never }),
    }),
  );
  r.delete(
    '/v1/me/oidc-consents/:clientId',
    {
      config: { action: ACTIONS.RevokeOidcConsent, auth: 'session' },
      schema: {
        summary: 'Revoke my consent to an application, and every token it holds for me',
        tags: ['oidc'],
        params: Type.Object({ clientId: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null(), 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const c = caller(request);
      await app.revokeOwnOidcConsent({
        actor: c.actor as never,
        ctx: requestContext(request),
        clientId: request.params.clientId,
      });
      return reply.status(204).send(null);
    },
  );
}
