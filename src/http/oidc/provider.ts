import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, {
  errors,
  interactionPolicy,
  type Adapter,
  type AdapterPayload,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { App } from '../../app/create-app.js';
import { ACR_VALUES, levelOfAcr, requiredLevel } from '../../core/oidc/claims.js';
import { assuranceAtLeast } from '../../core/factors/webauthn/assurance.js';
import {
  renderErrorPage,
  renderDeviceInput,
  renderDeviceConfirm,
  renderDeviceSuccess,
  renderLogoutPage,
  renderLoggedOutPage,
} from './pages.js';

/** Where the provider's endpoints live: under /oidc, out of the way of /v1, the AWS API and the console. */
export const OIDC_ROUTES = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  jwks: '/oidc/jwks',
  introspection: '/oidc/token/introspection',
  revocation: '/oidc/token/revocation',
  end_session: '/oidc/session/end',
  device_authorization: '/oidc/device/auth',
  code_verification: '/oidc/device',
  pushed_authorization_request: '/oidc/request',
  registration: '/oidc/reg',
  backchannel_authentication: '/oidc/backchannel',
  challenge: '/oidc/challenge',
  credential: '/oidc/credential',
} as const;

/** The sign-in page of an authorization request. */
export const INTERACTION_PREFIX = '/oidc/interaction';

/** What the provider needs from the face that mounts it. */
export interface OidcProviderOptions {
  app: App;
  /** The issuer: the server's public base URL, no path (OpenID Connect Discovery 1.0 §4.3). */
  issuer: string;
  /** Believe X-Forwarded-Proto/Host (a trusted reverse proxy is configured). */
  behindProxy: boolean;
  /** Decides a `prompt=none` request from the browser's Holdfast session (plugin.ts). */
  silent: (ctx: KoaContextWithOIDC) => Promise<SilentDecision>;
}

/** A `prompt=none` request's outcome: a silent sign-in, or the error OpenID Connect Core 1.0 §3.1.2.6 names. */
export type SilentDecision =
  | { login: { accountId: string; acr: string; amr: string[]; ts: number; scopes: string[] } }
  | { error: 'login_required' | 'consent_required' | 'interaction_required' };

const SILENT_ERRORS = ['login_required', 'consent_required', 'interaction_required'] as const;

/**
 * Signs the provider's session in as the Holdfast session decided, and gives the client a grant
 * of the scopes the user consented to before (what the sign-in page does after an interaction).
 * A provider session of another user is emptied first, so no grant of theirs carries over.
 */
async function applySilentLogin(
  ctx: KoaContextWithOIDC,
  login: Extract<SilentDecision, { login: unknown }>['login'],
): Promise<void> {
  const { provider } = ctx.oidc;
  const session = ctx.oidc.session!;
  const clientId = ctx.oidc.client!.clientId;
  if (session.accountId !== undefined && session.accountId !== login.accountId) session.authorizations = {};
  session.loginAccount({ accountId: login.accountId, acr: login.acr, amr: login.amr, loginTs: login.ts });
  const existingId = session.grantIdFor(clientId);
  const existing = existingId === undefined ? undefined : await provider.Grant.find(existingId);
  const grant =
    existing !== undefined && existing.accountId === login.accountId && existing.clientId === clientId
      ? existing
      : new provider.Grant({ accountId: login.accountId, clientId });
  grant.addOIDCScope(login.scopes.join(' '));
  const claims = ctx.oidc.params?.['claims'];
  if (typeof claims === 'string') {
    const parsed = JSON.parse(claims) as { id_token?: object; userinfo?: object };
    if (parsed.id_token !== undefined) grant.addOIDCClaims(Object.keys(parsed.id_token));
    if (parsed.userinfo !== undefined) grant.addOIDCClaims(Object.keys(parsed.userinfo));
  }
  const grantId = await grant.save();
  session.grantIdFor(clientId, grantId);
  ctx.oidc.entity('Grant', grant);
}

/** The provider, its Node handler, and its request context for audit records. */
export interface MountedProvider {
  provider: Provider;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
}

const RECORD_MODELS_WITH_CONSUME = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/** The library's storage adapter over Holdfast's store (through the app's use cases). */
function adapterFor(app: App) {
  return class HoldfastAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') return; // clients are registered by administrators only
      await app.saveOidcRecord({
        model: this.model,
        id,
        payload: payload as Record<string, unknown>,
        expiresInSeconds: typeof expiresIn === 'number' ? expiresIn : null,
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return (await app.oidcClientMetadata(id)) as AdapterPayload | undefined;
      return (await app.findOidcRecord({ model: this.model, id })) as AdapterPayload | undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return (await app.findOidcRecord({ model: this.model, userCode })) as AdapterPayload | undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return (await app.findOidcRecord({ model: this.model, uid })) as AdapterPayload | undefined;
    }

    async consume(id: string): Promise<void> {
      if (!RECORD_MODELS_WITH_CONSUME.has(this.model)) return;
      if (await app.consumeOidcRecord({ model: this.model, id })) return;
      // Two uses of one code or refresh token at once: the library checked `consumed` before
      // either wrote it, so the loser is refused here, and the grant revoked as for any reuse
      // (RFC 6749 §4.1.2: a code used twice revokes what it issued; RFC 9700 §4.14.2).
      const record = await app.findOidcRecord({ model: this.model, id });
      const grantId = record?.['grantId'];
      if (typeof grantId === 'string') await app.revokeOidcGrant(grantId);
      throw new errors.InvalidGrant('grant request is invalid');
    }

    async destroy(id: string): Promise<void> {
      await app.destroyOidcRecord({ model: this.model, id });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await app.revokeOidcGrant(grantId);
    }
  };
}

type Ctx = KoaContextWithOIDC;

function clientMinimum(ctx: Ctx): string | null {
  const value = (ctx.oidc.client as unknown as Record<string, unknown> | undefined)?.[
    'holdfast_minimum_assurance'
  ];
  return typeof value === 'string' ? value : null;
}

function acrValuesOf(ctx: Ctx): string[] {
  const raw = ctx.oidc.params?.['acr_values'];
  return typeof raw === 'string' ? raw.split(' ').filter((v) => v.length > 0) : [];
}

/**
 * The interaction policy: the library's own prompts, plus one check on `login` that always asks
 * Holdfast. The browser's Holdfast session (its second factor and assurance, its account) decides
 * every authorization: a request is answered without the sign-in page only right after it, so a
 * Holdfast sign-out, a revoked consent or a weaker session are never bypassed by the provider's
 * own session cookie. Another check refuses, on its own, a provider session below what the client
 * asks for (defence in depth: Holdfast never silently lowers the assurance asked for).
 */
function policy(silent: OidcProviderOptions['silent']): ReturnType<typeof interactionPolicy.base> {
  const base = interactionPolicy.base();
  // `prompt=none` (OpenID Connect Core 1.0 §3.1.2.1): no page may be shown, so the browser's
  // Holdfast session decides at once, before any other prompt: a session of the client's account
  // that meets `acr_values`, the client minimum and `max_age`, with consent given before, signs in
  // silently; otherwise the request fails with login_required, consent_required or
  // interaction_required (§3.1.2.6). Decided once per request, shared by the checks below.
  const decisions = new WeakMap<object, Promise<SilentDecision | null>>();
  const decide = (ctx: Ctx): Promise<SilentDecision | null> => {
    if (!ctx.oidc.promptPending('none')) return Promise.resolve(null);
    let decision = decisions.get(ctx);
    if (decision === undefined) {
      decision = silent(ctx).then(async (d) => {
        if ('login' in d) await applySilentLogin(ctx, d.login);
        return d;
      });
      decisions.set(ctx, decision);
    }
    return decision;
  };
  base.add(
    new interactionPolicy.Prompt(
      { name: 'holdfast_silent', requestable: false },
      ...SILENT_ERRORS.map(
        (error) =>
          new interactionPolicy.Check(
            `holdfast_${error}`,
            'the Holdfast session cannot answer this request without a page',
            error,
            async (ctx) => {
              const d = await decide(ctx);
              return d !== null && 'error' in d && d.error === error
                ? interactionPolicy.Check.REQUEST_PROMPT
                : interactionPolicy.Check.NO_NEED_TO_PROMPT;
            },
          ),
      ),
    ),
    0,
  );
  const login = base.get('login')!;
  login.checks.add(
    new interactionPolicy.Check(
      'holdfast_session',
      'the Holdfast session decides every sign-in',
      async (ctx) => {
        if (ctx.oidc.result?.['login'] !== undefined) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
        const d = await decide(ctx);
        return d !== null && 'login' in d
          ? interactionPolicy.Check.NO_NEED_TO_PROMPT
          : interactionPolicy.Check.REQUEST_PROMPT;
      },
    ),
  );
  login.checks.add(
    new interactionPolicy.Check(
      'holdfast_assurance',
      'the session is below the assurance the client asks for',
      (ctx) => {
        const acr = ctx.oidc.session?.acr;
        const level = typeof acr === 'string' ? levelOfAcr(acr) : null;
        const required = requiredLevel({ acrValues: acrValuesOf(ctx), clientMinimum: clientMinimum(ctx) });
        return level === null || !assuranceAtLeast(level, required)
          ? interactionPolicy.Check.REQUEST_PROMPT
          : interactionPolicy.Check.NO_NEED_TO_PROMPT;
      },
    ),
  );
  return base;
}

/** Builds the provider over the app, with its signing keys loaded from the store. */
export async function createOidcProvider(options: OidcProviderOptions): Promise<MountedProvider> {
  const { app } = options;
  const keys = await app.oidcSigningKeys();
  const configuration: Configuration = {
    adapter: adapterFor(app),
    clients: [],
    jwks: { keys: keys as never },
    cookies: {
      keys: app.oidcCookieKeys(),
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    routes: OIDC_ROUTES,
    acrValues: [...ACR_VALUES],
    claims: {
      // How the user signed in is always in the ID token: `amr` and `acr` from the session's
      // second factor (RFC 8176; docs/oidc.md), `auth_time` when it was verified.
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    responseTypes: ['code'],
    pkce: {
      // RFC 7636 with S256 only (the library offers no `plain`); required for public clients
      // (RFC 9700 §2.1.1), and checked whenever a confidential client sends it.
      required: (_ctx, client) => client.clientAuthMethod === 'none',
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    extraClientMetadata: { properties: ['holdfast_account_id', 'holdfast_minimum_assurance'] },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 10 * 60,
      AuthorizationCode: 60,
      IdToken: 10 * 60,
      DeviceCode: 10 * 60,
      Interaction: 15 * 60,
      Grant: 14 * 24 * 3600,
      Session: 60 * 60,
      RefreshToken: 14 * 24 * 3600,
    },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      claimsParameter: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = renderLogoutPage(form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = renderLoggedOutPage();
        },
      },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: async (ctx, form, _out, err) => {
          ctx.type = 'html';
          ctx.body = renderDeviceInput(form, err === undefined ? null : 'That code is unknown or expired.');
        },
        userCodeConfirmSource: async (ctx, form, client, _device, userCode) => {
          ctx.type = 'html';
          ctx.body = renderDeviceConfirm(form, String(client.clientName ?? client.clientId), userCode);
        },
        successSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = renderDeviceSuccess();
        },
      },
    },
    interactions: {
      policy: policy(options.silent),
      url: (_ctx, interaction) => `${INTERACTION_PREFIX}/${interaction.uid}`,
    },
    findAccount: async (ctx, sub) => {
      const claims = await app.oidcAccountClaims({
        clientId: ctx.oidc.client?.clientId ?? null,
        subject: sub,
      });
      if (claims === null) return undefined;
      return { accountId: sub, claims: async () => ({ ...claims, sub }) };
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = renderErrorPage(String(out['error'] ?? 'error'), String(out['error_description'] ?? ''));
    },
    // Refresh tokens go to clients that asked for offline_access with consent, as OpenID Connect
    // Core 1.0 §11 says; a public client gets them too (rotated, reuse revokes the grant).
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  };
  const provider = new Provider(options.issuer, configuration);
  provider.proxy = options.behindProxy;
  const handle = provider.callback();
  return { provider, handle: handle as MountedProvider['handle'] };
}

export { errors };
