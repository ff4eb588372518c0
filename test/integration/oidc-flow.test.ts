/**
 * The OpenID Connect provider end to end over real sockets, with `openid-client` (npm) as the
 * relying party: discovery, authorization code with PKCE (S256) through Holdfast's own sign-in
 * (password, then an authenticator-app code), ID token claims (iss, aud, nonce, at_hash, amr,
 * acr, auth_time), userinfo, refresh rotation with reuse detection, introspection, revocation,
 * exact redirect matching, PKCE refusals, cross-account refusal, step-up for acr_values,
 * consent remembered and revoked, RP-initiated logout, and the audit records of it all.
 * The browser is played by a cookie jar driving the sign-in page's own calls (the page itself
 * runs in Chromium in test/browser/oidc.test.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR_PREFIX } from '../../src/core/oidc/claims.js';
import { roleArn } from '../../src/core/policy/arn.js';
import {
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { fetchHttp, mfaApi, PASSWORD, STEP_MS, totpAt, WallClock } from '../helpers/mfa.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';
import { freePort } from '../helpers/processes.js';
import { closeServer } from '../helpers/teardown.js';

const execFileAsync = promisify(execFile);
const REDIRECT = 'http://localhost:7777/callback';
const LOGGED_OUT = 'http://localhost:7777/bye';
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };
const operator = { kind: 'operator' } as const;

/** A browser's cookie jar over fetch, following nothing by itself. */
class Browser {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(url: string, init: { method?: string; body?: unknown; form?: Record<string, string> } = {}) {
    const headers: Record<string, string> = {};
    if (this.jar.size > 0) headers['cookie'] = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const csrf = this.jar.get('holdfast_csrf');
    if (csrf !== undefined) headers['x-csrf-token'] = decodeURIComponent(csrf);
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    } else if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(new URL(url, this.base), {
      method: init.method ?? 'GET',
      headers,
      body,
      redirect: 'manual',
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /expires=thu, 01 jan 1970/i.test(a.trim()) || /^max-age=0$/i.test(a.trim()),
      );
      if (value === '' || expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  /** Follows redirects until a page of ours answers, or the browser is sent to the client. */
  async follow(url: string): Promise<{ url: string; res: Response }> {
    let next = url;
    for (let i = 0; i < 10; i++) {
      if (!next.startsWith(this.base) && !next.startsWith('/')) return { url: next, res: new Response(null) };
      const res = await this.request(next);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || location === null)
        return { url: new URL(next, this.base).href, res };
      next = new URL(location, new URL(next, this.base)).href;
    }
    throw new Error('too many redirects');
  }

  async json(url: string, init: { method?: string; body?: unknown } = {}) {
    const res = await this.request(url, init);
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  }
}

describe('OpenID Connect provider with openid-client as the relying party', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let base: string;
  let secret: string;
  let codeStep = 0;
  let confidential: { clientId: string; secret: string };
  let publicClient: string;
  let otherAccountClient: string;
  let strictClient: string;
  /** The cookies of a browser that signed in to Holdfast (password + TOTP) once. */
  let holdfastCookies: Map<string, string>;
  const signedInBrowser = () => {
    const browser = new Browser(base);
    for (const [k, v] of holdfastCookies) browser.jar.set(k, v);
    return browser;
  };

  /**
   * A fresh TOTP code of a time step never used before (each code is accepted once). The server
   * accepts one step either side of now: when every such step is used, this waits for the next.
   */
  const nextCode = async () => {
    codeStep = Math.max(codeStep + 1, Math.floor(Date.now() / STEP_MS) - 1);
    const acceptableFrom = (codeStep - 1) * STEP_MS;
    if (Date.now() < acceptableFrom)
      await new Promise((r) => setTimeout(r, acceptableFrom - Date.now() + 50));
    return totpAt(secret, codeStep * STEP_MS);
  };

  const rp = (clientId: string, clientSecret?: string) =>
    oidc.discovery(
      new URL(base),
      clientId,
      clientSecret,
      clientSecret === undefined ? oidc.None() : undefined,
      {
        execute: [oidc.allowInsecureRequests],
      },
    );

  /** The sign-in page's calls: password, then the TOTP factor, then consent. */
  async function signInThroughPage(
    browser: Browser,
    interactionUrl: string,
    options: { login?: string } = {},
  ) {
    const uid = new URL(interactionUrl).pathname.split('/')[3]!;
    const page = `/oidc/interaction/${uid}`;
    let state = await browser.json(`${page}/state`);
    expect(state.status).toBe(200);
    if (state.body.need === 'sign_in') {
      const signIn = await browser.json('/v1/sign-in', {
        method: 'POST',
        body: {
          account: state.body.account.id,
          login: options.login ?? 'owner@acme.test',
          password: PASSWORD,
          session: 'cookie',
        },
      });
      expect(signIn.body.status).toBe('second_factor_required');
      const factor = signIn.body.factors[0];
      const done = await browser.json('/v1/sign-in/second-factor', {
        method: 'POST',
        body: { flowId: signIn.body.flowId, factorId: factor.id, code: await nextCode() },
      });
      expect(done.status).toBe(200);
      state = await browser.json(`${page}/state`);
    }
    return { page, state: state.body };
  }

  async function codeFlow(
    config: oidc.Configuration,
    params: Record<string, string> = {},
    browser = signedInBrowser(),
  ) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email profile offline_access',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...params,
    });
    const landed = await browser.follow(url.href);
    expect(landed.url).toContain('/oidc/interaction/');
    const { page, state: interaction } = await signInThroughPage(browser, landed.url);
    return { browser, page, interaction, verifier, state, nonce };
  }

  async function finish(
    config: oidc.Configuration,
    flow: Awaited<ReturnType<typeof codeFlow>>,
    allow = true,
  ): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
    const cont = await flow.browser.json(`${flow.page}/continue`, { method: 'POST', body: { allow } });
    expect(cont.status).toBe(200);
    const back = await flow.browser.follow(cont.body.redirectTo);
    expect(back.url.startsWith(REDIRECT)).toBe(true);
    return oidc.authorizationCodeGrant(config, new URL(back.url), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
  }

  beforeAll(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    inst = await createTestInstallation('sqlite', { clock: new WallClock() });
    const { accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    });
    const other = await createUserWithPassword(inst, {
      accountName: 'globex',
      email: 'owner@globex.test',
      password: PASSWORD,
    });
    const { buildServer } = await import('../../src/http/server.js');
    server = await buildServer({ app: inst.app, trustedProxies: [], publicUrl: base });
    await server.listen({ host: '127.0.0.1', port });

    // The owner enrols an authenticator app (two consecutive codes) through the API.
    const api = mfaApi(fetchHttp(base), 'acme');
    const token = await api.passwordToken('owner@acme.test');
    const enrolled = await api.enrolTOTP(token, 'phone');
    secret = enrolled.body.secret;
    codeStep = Math.floor(Date.now() / STEP_MS);
    const enabled = await api.enable(token, enrolled.body.factor.id, {
      codes: [totpAt(secret, (codeStep - 1) * STEP_MS), totpAt(secret, codeStep * STEP_MS)],
    });
    expect(enabled.status).toBe(200);

    const browser = new Browser(base);
    const signIn = await browser.json('/v1/sign-in', {
      method: 'POST',
      body: { account: 'acme', login: 'owner@acme.test', password: PASSWORD, session: 'cookie' },
    });
    const done = await browser.json('/v1/sign-in/second-factor', {
      method: 'POST',
      body: { flowId: signIn.body.flowId, factorId: signIn.body.factors[0].id, code: await nextCode() },
    });
    expect(done.status).toBe(200);
    holdfastCookies = new Map(browser.jar);

    const c = await inst.app.createOidcClient({
      actor: operator,
      ctx,
      accountId,
      name: 'Grafana',
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [LOGGED_OUT],
      public: false,
    });
    confidential = { clientId: c.client.clientId, secret: c.clientSecret! };
    publicClient = (
      await inst.app.createOidcClient({
        actor: operator,
        ctx,
        accountId,
        name: 'CLI',
        redirectUris: [REDIRECT],
        public: true,
      })
    ).client.clientId;
    strictClient = (
      await inst.app.createOidcClient({
        actor: operator,
        ctx,
        accountId,
        name: 'Vault',
        redirectUris: [REDIRECT],
        public: true,
        minimumAssurance: 'phishing_resistant',
      })
    ).client.clientId;
    otherAccountClient = (
      await inst.app.createOidcClient({
        actor: operator,
        ctx,
        accountId: other.accountId,
        name: 'Globex app',
        redirectUris: [REDIRECT],
        public: true,
      })
    ).client.clientId;
  }, 60_000);

  afterAll(async () => {
    await closeServer(server);
    await inst?.destroy();
  });

  it('publishes discovery at the issuer (no path) with S256-only PKCE, the acr values and the endpoints under /oidc', async () => {
    const res = await fetch(`${base}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta['issuer']).toBe(base);
    expect(meta['authorization_endpoint']).toBe(`${base}/oidc/auth`);
    expect(meta['token_endpoint']).toBe(`${base}/oidc/token`);
    expect(meta['jwks_uri']).toBe(`${base}/oidc/jwks`);
    expect(meta['code_challenge_methods_supported']).toEqual(['S256']);
    expect(meta['response_types_supported']).toEqual(['code']);
    expect(meta['acr_values_supported']).toContain(`${ACR_PREFIX}phishing_resistant`);
    expect(meta['device_authorization_endpoint']).toBe(`${base}/oidc/device/auth`);
    const jwks = (await (await fetch(`${base}/oidc/jwks`)).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    expect(jwks.keys.length).toBe(1);
    expect(jwks.keys[0]!['d']).toBeUndefined();
    // The rest of the server is untouched.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('signs a user in with password + TOTP: code + PKCE, ID token with nonce, at_hash, amr and acr, then userinfo', async () => {
    const config = await rp(confidential.clientId, confidential.secret);
    const flow = await codeFlow(config);
    expect(flow.interaction.need).toBe('consent');
    expect(flow.interaction.client.name).toBe('Grafana');
    const tokens = await finish(config, flow);
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(base);
    expect(claims.aud).toBe(confidential.clientId);
    expect(claims.nonce).toBe(flow.nonce);
    // OpenID Connect Core 1.0 §3.1.3.6: at_hash is optional in the code flow; Holdfast never
    // returns an access token from the authorization endpoint, so there is none to bind.
    expect(claims['at_hash']).toBeUndefined();
    expect(claims['amr']).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims['acr']).toBe(`${ACR_PREFIX}software_otp`);
    expect(typeof claims.auth_time).toBe('number');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info['email']).toBe('owner@acme.test');
    expect(tokens.refresh_token).toBeTruthy();

    // Refresh rotates; the old refresh token used again revokes the whole grant (reuse detection).
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const introspected = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(introspected.active).toBe(false);

    const audit = await inst.store.audit.query({ limit: 500, newestFirst: true });
    const actions = audit.map((r) => r.action);
    expect(actions).toContain('oidc.sign_in');
    expect(actions).toContain('oidc.token_issued');
    expect(actions).toContain('oidc.token_refused');
    expect(actions).toContain('oidc.grant_revoked');
    const signIn = audit.find((r) => r.action === 'oidc.sign_in' && r.outcome === 'success')!;
    expect(signIn.details['acr']).toBe(`${ACR_PREFIX}software_otp`);
    // No token or secret in the audit log.
    const dump = JSON.stringify(audit);
    for (const value of [
      tokens.access_token,
      tokens.refresh_token!,
      refreshed.refresh_token!,
      confidential.secret,
    ]) {
      expect(dump).not.toContain(value);
    }
  });

  it('two uses of one code or refresh token at once: one wins at most, and the grant is revoked', async () => {
    const config = await rp(confidential.clientId, confidential.secret);
    const flow = await codeFlow(config);
    const cont = await flow.browser.json(`${flow.page}/continue`, { method: 'POST', body: { allow: true } });
    const back = new URL((await flow.browser.follow(cont.body.redirectTo)).url);
    const redeem = () =>
      oidc.authorizationCodeGrant(config, back, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      });
    const codes = await Promise.allSettled([redeem(), redeem(), redeem()]);
    const won = codes.filter((r) => r.status === 'fulfilled');
    expect(won.length).toBeLessThanOrEqual(1);
    expect(codes.filter((r) => r.status === 'rejected').length).toBeGreaterThanOrEqual(2);

    const fresh = await finish(config, await codeFlow(config));
    const refreshes = await Promise.allSettled([
      oidc.refreshTokenGrant(config, fresh.refresh_token!),
      oidc.refreshTokenGrant(config, fresh.refresh_token!),
    ]);
    const winners = refreshes.filter((r) => r.status === 'fulfilled');
    expect(winners.length).toBeLessThanOrEqual(1);
    // Whatever the winner got was revoked with the grant.
    for (const w of winners) {
      const token = (w as PromiseFulfilledResult<oidc.TokenEndpointResponse>).value;
      expect((await oidc.tokenIntrospection(config, token.access_token)).active).toBe(false);
      await expect(oidc.refreshTokenGrant(config, token.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
    }
  });

  it('remembers consent, introspects and revokes access tokens, and a revoked consent asks again', async () => {
    const config = await rp(confidential.clientId, confidential.secret);
    const browser = signedInBrowser();
    const first = await codeFlow(config, {}, browser);
    await finish(config, first);
    // Without prompt=consent the same browser goes straight through (consent remembered).
    const again = await codeFlow(config, { prompt: '', scope: 'openid email' }, browser);
    expect(again.interaction.need).toBe('ready');
    const tokens = await finish(config, again, false);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    await oidc.tokenRevocation(config, tokens.access_token);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);

    const consents = await browser.json('/v1/me/oidc-consents');
    expect(consents.body.consents.map((c: { clientId: string }) => c.clientId)).toContain(
      confidential.clientId,
    );
    expect(
      (await browser.json(`/v1/me/oidc-consents/${confidential.clientId}`, { method: 'DELETE' })).status,
    ).toBe(204);
    const after = await codeFlow(config, { prompt: '', scope: 'openid email' }, browser);
    expect(after.interaction.need).toBe('consent');
  });

  it('requires PKCE S256 from a public client, and matches redirect URIs exactly', async () => {
    const config = await rp(publicClient);
    const browser = signedInBrowser();
    const withoutPkce = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      state: 's',
    });
    const refused = await browser.follow(withoutPkce.href);
    expect(refused.url).toMatch(/error=invalid_request/);
    const plain = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'plain',
      state: 's',
    });
    expect((await browser.follow(plain.href)).url).toMatch(/error=invalid_request/);
    for (const wrong of [
      `${REDIRECT}/`,
      `${REDIRECT}?x=1`,
      'http://localhost:7777/Callback',
      'http://evil.test/callback',
    ]) {
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: wrong,
        scope: 'openid',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
      });
      const res = await browser.request(url.href);
      // Never sent back to an unregistered address: an error page here instead.
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    }
    // The public client completes with PKCE; a wrong verifier gets nothing.
    const flow = await codeFlow(config, {}, browser);
    const cont = await browser.json(`${flow.page}/continue`, { method: 'POST', body: { allow: true } });
    const back = await browser.follow(cont.body.redirectTo);
    await expect(
      oidc.authorizationCodeGrant(config, new URL(back.url), {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('never signs a user of one account in to a client of another', async () => {
    // Attacker holdings: a Globex client (their own application) and a live acme session in the victim's browser.
    const config = await rp(otherAccountClient);
    const browser = signedInBrowser();
    const flow = await codeFlow(config, {}, browser);
    expect(flow.interaction.need).toBe('account_mismatch');
    const cont = await browser.json(`${flow.page}/continue`, { method: 'POST', body: { allow: true } });
    expect(cont.status).toBe(403);
    expect(cont.body.error.code).toBe('OIDC_ACCOUNT_MISMATCH');
    const refusal = (await inst.store.audit.query({ limit: 50, newestFirst: true })).find(
      (r) => r.action === 'oidc.sign_in' && r.errorCode === 'OIDC_ACCOUNT_MISMATCH',
    );
    expect(refusal).toBeDefined();
  });

  it('steps the user up when the client asks for more (acr_values or its minimum), never lowering it', async () => {
    const config = await rp(confidential.clientId, confidential.secret);
    const flow = await codeFlow(config, { acr_values: `${ACR_PREFIX}phishing_resistant` });
    expect(flow.interaction.need).toBe('step_up');
    expect(flow.interaction.requiredAssurance).toBe('synced_passkey');
    const cont = await flow.browser.json(`${flow.page}/continue`, { method: 'POST', body: { allow: true } });
    expect(cont.body.error.code).toBe('OIDC_STEP_UP_REQUIRED');
    // A weaker acr_values than the client's own minimum does not lower it.
    const strict = await rp(strictClient);
    const low = await codeFlow(strict, { acr_values: `${ACR_PREFIX}mfa` });
    expect(low.interaction.need).toBe('step_up');
    expect(low.interaction.requiredAssurance).toBe('synced_passkey');
    // max_age=0: the MFA must be fresher than the one just done... a TOTP step-up satisfies it.
    // The request's start is known to the second (iat): let the last MFA fall in an earlier one.
    await new Promise((r) => setTimeout(r, 1_100));
    const fresh = await codeFlow(config, { max_age: '0' });
    expect(fresh.interaction.need).toBe('step_up');
  });

  it('signs a CLI in with the device authorization grant (RFC 8628): the user confirms the code in the browser', async () => {
    const config = await rp(publicClient);
    const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid email' });
    expect(device.verification_uri).toBe(`${base}/oidc/device`);
    expect(device.user_code).toMatch(/^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$/);
    const browser = signedInBrowser();
    const confirmPage = await browser.request(device.verification_uri_complete!);
    const html = await confirmPage.text();
    expect(html).toContain(device.user_code);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const posted = await browser.request('/oidc/device', {
      method: 'POST',
      form: { xsrf, user_code: device.user_code, confirm: 'yes' },
    });
    const landed = await browser.follow(new URL(posted.headers.get('location')!, base).href);
    const uid = new URL(landed.url).pathname.split('/')[3]!;
    const state = await browser.json(`/oidc/interaction/${uid}/state`);
    // The same sign-in page: the signed-in user (consent to this client remembered, or asked now).
    expect(['consent', 'ready']).toContain(state.body.need);
    const cont = await browser.json(`/oidc/interaction/${uid}/continue`, {
      method: 'POST',
      body: { allow: true },
    });
    const done = await browser.follow(cont.body.redirectTo);
    expect(await done.res.text()).toContain('Device connected');
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, device);
    expect(tokens.claims()!['acr']).toBe(`${ACR_PREFIX}software_otp`);
    // The device code is used up: polling again gets nothing.
    await expect(oidc.pollDeviceAuthorizationGrant(config, device)).rejects.toBeDefined();
  });

  it('trades an ID token for role credentials with STS AssumeRoleWithWebIdentity (unsigned, as at AWS), amr/acr in the trust policy', async () => {
    const config = await rp(confidential.clientId, confidential.secret);
    const tokens = await finish(config, await codeFlow(config));
    const host = new URL(base).host;
    const accountId = (await inst.store.accounts.findByName('acme'))!.id;
    const trust = (condition: Record<string, unknown>) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: host },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringEquals: { [`${host}:aud`]: confidential.clientId }, ...condition },
          },
        ],
      });
    const ci = await inst.app.createRole({
      actor: operator,
      ctx,
      accountId,
      name: 'ci-deploy',
      trustPolicy: trust({ 'ForAnyValue:StringEquals': { [`${host}:amr`]: ['otp'] } }),
    });
    const strict = await inst.app.createRole({
      actor: operator,
      ctx,
      accountId,
      name: 'prod-admin',
      trustPolicy: trust({ Bool: { 'holdfast:PhishingResistant': 'true' } }),
    });
    const sts = new STSClient({
      endpoint: base,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAUNUSED0000000000', secretAccessKey: 'unused' },
    });
    const assumed = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: roleArn(ci),
        RoleSessionName: 'pipeline-42',
        WebIdentityToken: tokens.id_token!,
      }),
    );
    expect(assumed.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/ci-deploy/pipeline-42`);
    expect(assumed.SubjectFromWebIdentityToken).toBe(tokens.claims()!.sub);
    expect(assumed.Audience).toBe(confidential.clientId);
    const who = await new STSClient({
      endpoint: base,
      region: 'eu-west-1',
      credentials: {
        accessKeyId: assumed.Credentials!.AccessKeyId!,
        secretAccessKey: assumed.Credentials!.SecretAccessKey!,
        sessionToken: assumed.Credentials!.SessionToken!,
      },
    }).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/ci-deploy/pipeline-42`);

    // The Debian AWS CLI sends the call unsigned, with no credentials configured at all.
    if (!withoutClients('aws')) {
      const { stdout } = await execFileAsync(
        clientPath('aws'),
        [
          'sts',
          'assume-role-with-web-identity',
          '--endpoint-url',
          base,
          '--region',
          'eu-west-1',
          '--role-arn',
          roleArn(ci),
          '--role-session-name',
          'cli-1',
          '--web-identity-token',
          tokens.id_token!,
          '--output',
          'json',
        ],
        {
          env: {
            PATH: process.env['PATH'] ?? '',
            HOME: '/nonexistent',
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
        },
      );
      const answer = JSON.parse(stdout) as {
        AssumedRoleUser: { Arn: string };
        Credentials: { AccessKeyId: string };
      };
      expect(answer.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/ci-deploy/cli-1`);
      expect(answer.Credentials.AccessKeyId).toMatch(/^ASIA/);
    }
    // An authenticator-app sign-in is not phishing resistant: the stricter role refuses it.
    await expect(
      sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: roleArn(strict),
          RoleSessionName: 's1',
          WebIdentityToken: tokens.id_token!,
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    // A token whose signature does not verify gets nothing.
    const [h, p] = tokens.id_token!.split('.');
    const forged = `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`;
    await expect(
      sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: roleArn(ci),
          RoleSessionName: 's2',
          WebIdentityToken: forged,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidIdentityTokenException' });
    const refusals = (await inst.store.audit.query({ limit: 50, newestFirst: true })).filter(
      (r) => r.action === 'sts.assume_role_with_web_identity',
    );
    expect(refusals.filter((r) => r.outcome === 'failure').map((r) => r.errorCode)).toEqual([
      'InvalidIdentityToken',
      'AUTH_FORBIDDEN',
    ]);
    expect(JSON.stringify(refusals)).not.toContain(tokens.id_token!);
  });

  it('prompt=none: a live session with remembered consent gets a code silently; otherwise login_required, consent_required or interaction_required', async () => {
    const config = await rp(confidential.clientId, confidential.secret);
    /** Sends a prompt=none request and returns where the browser is sent back to. */
    const silent = async (
      browser: Browser,
      options: { clientId?: string; params?: Record<string, string> } = {},
    ) => {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = new URL(`${base}/oidc/auth`);
      for (const [k, v] of Object.entries({
        client_id: options.clientId ?? confidential.clientId,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid email',
        prompt: 'none',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...options.params,
      }))
        url.searchParams.set(k, v);
      const landed = await browser.follow(url.href);
      // Never a page: straight back to the client.
      expect(landed.url.startsWith(REDIRECT)).toBe(true);
      const back = new URL(landed.url);
      expect(back.searchParams.get('state')).toBe(state);
      return { back, verifier, state, nonce };
    };

    // The signed-in browser, consent given to this client before: a code, no page.
    const ok = await silent(signedInBrowser());
    expect(ok.back.searchParams.get('error')).toBeNull();
    const tokens = await oidc.authorizationCodeGrant(config, ok.back, {
      pkceCodeVerifier: ok.verifier,
      expectedState: ok.state,
      expectedNonce: ok.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    expect(claims['acr']).toBe(`${ACR_PREFIX}software_otp`);
    expect(claims['amr']).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
    const signIns = (await inst.store.audit.query({ limit: 20, newestFirst: true })).filter(
      (r) => r.action === 'oidc.sign_in' && r.outcome === 'success',
    );
    expect(signIns[0]!.details['consentGiven']).toBe(false);

    // No Holdfast session at all.
    expect((await silent(new Browser(base))).back.searchParams.get('error')).toBe('login_required');
    // A session too weak for what is asked (phishing resistance), or older than max_age.
    expect(
      (
        await silent(signedInBrowser(), { params: { acr_values: `${ACR_PREFIX}phishing_resistant` } })
      ).back.searchParams.get('error'),
    ).toBe('login_required');
    expect(
      (await silent(signedInBrowser(), { params: { max_age: '1' } })).back.searchParams.get('error'),
    ).toBe('login_required');
    // Signed in, but never consented to this client.
    const fresh = await inst.app.createOidcClient({
      actor: operator,
      ctx,
      accountId: (await inst.store.accounts.findByName('acme'))!.id,
      name: 'Never consented',
      redirectUris: [REDIRECT],
      public: true,
    });
    expect(
      (await silent(signedInBrowser(), { clientId: fresh.client.clientId })).back.searchParams.get('error'),
    ).toBe('consent_required');
    // Signed in to another account than the client's.
    expect(
      (await silent(signedInBrowser(), { clientId: otherAccountClient })).back.searchParams.get('error'),
    ).toBe('interaction_required');
  });

  it('ends the session with RP-initiated logout, back to a registered address only', async () => {
    const config = await rp(confidential.clientId, confidential.secret);
    const flow = await codeFlow(config);
    const tokens = await finish(config, flow);
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: LOGGED_OUT,
    });
    const confirm = await flow.browser.request(url.href);
    expect(confirm.status).toBe(200);
    const html = await confirm.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const done = await flow.browser.request('/oidc/session/end/confirm', {
      method: 'POST',
      form: { xsrf, logout: 'yes' },
    });
    expect(done.headers.get('location')).toBe(LOGGED_OUT);
    // The Holdfast session ended too: the next authorization asks for the password again.
    const next = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const landed = await flow.browser.follow(next.href);
    const uid = new URL(landed.url).pathname.split('/')[3]!;
    expect((await flow.browser.json(`/oidc/interaction/${uid}/state`)).body.need).toBe('sign_in');
    const actions = (await inst.store.audit.query({ limit: 100, newestFirst: true })).map((r) => r.action);
    expect(actions).toContain('oidc.logout');
  });

  it('uses a key rotated while the server runs for new tokens, and still verifies tokens of the old one', async () => {
    const config = await rp(confidential.clientId, confidential.secret);
    // One browser signs in once (the logout above ended the shared session) and is reused.
    const browser = new Browser(base);
    const before = await finish(config, await codeFlow(config, {}, browser));
    const oldKid = decodeProtectedHeader(before.id_token!).kid!;
    const jwks = async () => (await (await fetch(`${base}/oidc/jwks`)).json()) as JSONWebKeySet;
    expect((await jwks()).keys.map((k) => k.kid)).toEqual([oldKid]);

    // What `holdfast keys rotate-oidc` does, here on the running server's database.
    const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const newKid = 'rotated-while-running';
    await inst.app.rotateOidcSigningKey({
      actor: operator,
      ctx,
      privateJwk: { ...(await exportJWK(privateKey)), kid: newKid, alg: 'RS256', use: 'sig' },
      overlapSeconds: 3600,
    });
    // The server notices within a few seconds, without a restart: the new key is published first.
    let published: string[] = [];
    for (let i = 0; i < 100 && published[0] !== newKid; i++) {
      await new Promise((r) => setTimeout(r, 200));
      published = (await jwks()).keys.map((k) => k.kid!);
    }
    expect(published).toEqual([newKid, oldKid]);

    const after = await finish(config, await codeFlow(config, {}, browser));
    expect(decodeProtectedHeader(after.id_token!).kid).toBe(newKid);
    // During the overlap both tokens verify against the published keys.
    const keys = createLocalJWKSet(await jwks());
    await jwtVerify(before.id_token!, keys, { issuer: base, audience: confidential.clientId });
    await jwtVerify(after.id_token!, keys, { issuer: base, audience: confidential.clientId });
    // A refresh token issued before the rotation still works and now yields a new-key ID token.
    const refreshed = await oidc.refreshTokenGrant(config, before.refresh_token!);
    expect(decodeProtectedHeader(refreshed.id_token!).kid).toBe(newKid);
  });
});
