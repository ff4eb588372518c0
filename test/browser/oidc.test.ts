// @vitest-environment node
/**
 * The OpenID Connect sign-in in a real browser: Debian's Chromium (playwright-core) goes through
 * Holdfast's sign-in page for an application whose relying party is `openid-client`. First with a
 * password and an authenticator-app code (the ID token says `otp`, `software_otp`); then the
 * application asks for a phishing-resistant sign-in (`acr_values`) and the page steps the user up
 * with a passkey held by the DevTools protocol's virtual authenticator.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import * as oidc from 'openid-client';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR_PREFIX } from '../../src/core/oidc/claims.js';
import { CONSOLE_DIR } from '../../src/http/console.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';
import {
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { fetchHttp, mfaApi, PASSWORD, STEP_MS, totpAt, WallClock } from '../helpers/mfa.js';
import { freePort } from '../helpers/processes.js';
import { closeServer, settleWithin } from '../helpers/teardown.js';

const clientSuite = describe.skipIf(withoutClients('chromium'));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Builds the console when its sources are newer than the build (as the other browser suites do). */
async function ensureConsoleBuilt(): Promise<void> {
  const index = join(CONSOLE_DIR, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs > newestMtime(join(ROOT, 'console'))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'console/vite.config.ts'), logLevel: 'warn' });
}

/**
 * Registers a passkey named Laptop from the page's MFA session, with the calls the console's
 * enrolment page makes (a script string: it runs in the browser, not under Node's types).
 */
const REGISTER_PASSKEY = `(async () => {
  const csrf = decodeURIComponent(/(?:^|; )holdfast_csrf=([^;]*)/.exec(document.cookie)[1]);
  const post = async (path, body) => {
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };
  const b64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const out = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const start = await post('/v1/factors/webauthn/options', { kind: 'passkey', name: 'Laptop' });
  const o = start.body.options;
  const cred = await navigator.credentials.create({ publicKey: { ...o, challenge: b64(o.challenge),
    user: { ...o.user, id: b64(o.user.id) },
    excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: b64(c.id) })) } });
  const r = cred.response;
  const done = await post('/v1/factors/webauthn', { challengeId: start.body.challengeId, credential: {
    id: cred.id, rawId: out(cred.rawId), type: cred.type,
    response: { clientDataJSON: out(r.clientDataJSON), attestationObject: out(r.attestationObject), transports: r.getTransports() },
    clientExtensionResults: cred.getClientExtensionResults() } });
  return done.status;
})()`;
const CHROMIUM = clientPath('chromium');
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

clientSuite('OpenID Connect sign-in in Chromium', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let rpServer: Server;
  let origin: string;
  let redirectUri: string;
  let secret: string;
  let step: number;
  let clientId: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let config: oidc.Configuration;
  const problems: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    const rpPort = await freePort();
    origin = `http://localhost:${port}`;
    redirectUri = `http://localhost:${rpPort}/callback`;
    inst = await createTestInstallation('sqlite', { clock: new WallClock() });
    const { accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    });
    inst.app.deps.settings.webauthn = { rpId: 'localhost', rpName: 'Holdfast', origins: [origin] };
    const { buildServer } = await import('../../src/http/server.js');
    server = await buildServer({ app: inst.app, trustedProxies: [], publicUrl: origin });
    await server.listen({ host: 'localhost', port });

    // The application: answers its callback with a page (the test reads the URL the browser reached).
    rpServer = createServer((_req, res) =>
      res.end('<!doctype html><title>App</title><h1>Signed in to the app</h1>'),
    );
    await new Promise<void>((resolve) => rpServer.listen(rpPort, 'localhost', resolve));

    const api = mfaApi(fetchHttp(origin), 'acme');
    const token = await api.passwordToken('owner@acme.test');
    const enrolled = await api.enrolTOTP(token, 'phone');
    secret = enrolled.body.secret;
    step = Math.floor(Date.now() / STEP_MS);
    await api.enable(token, enrolled.body.factor.id, {
      codes: [totpAt(secret, (step - 1) * STEP_MS), totpAt(secret, step * STEP_MS)],
    });
    const created = await inst.app.createOidcClient({
      actor: { kind: 'operator' },
      ctx,
      accountId,
      name: 'Team wiki',
      redirectUris: [redirectUri],
      public: true,
    });
    clientId = created.client.clientId;
    config = await oidc.discovery(new URL(origin), clientId, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text()))
        problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
  }, 120_000);

  afterAll(async () => {
    await settleWithin(context?.close(), 5_000);
    await settleWithin(browser?.close(), 10_000);
    await closeServer(server);
    await new Promise((resolve) => rpServer?.close(resolve));
    await inst?.destroy();
  }, 60_000);

  /** Starts an authorization in the browser; returns what the RP needs to finish it. */
  async function authorize(params: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...params,
    });
    await page.goto(url.href);
    return { verifier, state, nonce };
  }

  async function tokensAfterRedirect(checks: { verifier: string; state: string; nonce: string }) {
    await page.waitForURL((u) => u.href.startsWith(redirectUri), { timeout: 15_000 });
    return oidc.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: checks.verifier,
      expectedState: checks.state,
      expectedNonce: checks.nonce,
    });
  }

  it('signs in with password and an authenticator-app code, consents, and the ID token says otp / software_otp', async () => {
    const checks = await authorize();
    await page.getByRole('heading', { name: 'Sign in to Team wiki' }).waitFor();
    await page.getByLabel('E-mail or user name').fill('owner@acme.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'phone (totp)' }).click();
    await page.getByLabel('Code from phone').fill(totpAt(secret, (step + 1) * STEP_MS));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Team wiki wants to sign you in' }).waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await tokensAfterRedirect(checks);
    const claims = tokens.claims()!;
    expect(claims['amr']).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims['acr']).toBe(`${ACR_PREFIX}software_otp`);
    expect(problems).toEqual([]);
  });

  it('steps up with a passkey when the application asks for phishing resistance (acr_values)', async () => {
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    // The user registers a passkey from their MFA session (the console's enrolment calls, in the page).
    await page.goto(`${origin}/healthz`);
    const registered = await page.evaluate<number>(REGISTER_PASSKEY);
    expect(registered).toBe(201);

    const checks = await authorize({ acr_values: `${ACR_PREFIX}phishing_resistant` });
    await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    await page.getByText('requires a passkey or security key').waitFor();
    // Only factors that meet the requirement are offered: the authenticator app is not.
    expect(await page.getByRole('button', { name: 'phone (totp)' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Laptop (webauthn)' }).click();
    const tokens = await tokensAfterRedirect(checks);
    const claims = tokens.claims()!;
    expect([`${ACR_PREFIX}synced_passkey`, `${ACR_PREFIX}device_bound_key`]).toContain(claims['acr']);
    expect(claims['amr']).toContain('hwk');
    expect(claims['amr']).toContain('mfa');
    expect(problems).toEqual([]);
  });
  it("an administrator registers and deletes an application on the console's Applications page", async () => {
    await ensureConsoleBuilt();
    await page.goto(`${origin}/admin/applications`);
    await page.getByRole('heading', { name: 'Applications', exact: true }).waitFor();
    await page.getByLabel('Name').fill('Grafana');
    await page.getByLabel('Redirect URIs').fill('https://grafana.example.com/login/generic_oauth');
    await page.getByLabel('Least assurance of every sign-in').selectOption('phishing_resistant');
    await page.getByRole('button', { name: 'Register application' }).click();
    const id = (await page.getByTestId('client-id').textContent())!;
    expect(id).toMatch(/^hfc_/);
    expect((await page.getByTestId('client-secret').textContent())!.length).toBeGreaterThanOrEqual(43);
    await page.getByRole('cell', { name: id }).waitFor();
    const stored = await inst.store.oidc.findClient(id);
    expect(stored?.minimumAssurance).toBe('phishing_resistant');
    // The page passes axe-core without serious or critical violations (CSP bypassed for the audit only).
    const audit = await browser.newContext({ bypassCSP: true, storageState: await context.storageState() });
    const audited = await audit.newPage();
    await audited.goto(`${origin}/admin/applications`);
    await audited.getByRole('cell', { name: id }).waitFor();
    await audited.addScriptTag({ path: join(ROOT, 'node_modules/axe-core/axe.min.js') });
    const result = (await audited.evaluate('axe.run()')) as {
      violations: Array<{ id: string; impact: string | null }>;
    };
    await settleWithin(audit.close(), 5_000);
    expect(result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
    page.once('dialog', (d) => void d.accept());
    await page
      .getByRole('row', { name: new RegExp(id) })
      .getByRole('button', { name: 'Delete' })
      .click();
    await page.getByRole('cell', { name: id }).waitFor({ state: 'detached' });
    expect(await inst.store.oidc.findClient(id)).toBeNull();
    expect(problems).toEqual([]);
  });
  it('the user sees the application on their security page and revokes its consent', async () => {
    await ensureConsoleBuilt();
    await page.goto(`${origin}/security`);
    const section = page.locator('section', { has: page.getByRole('heading', { name: 'Applications' }) });
    await section.getByText('Team wiki').waitFor();
    await section.getByRole('button', { name: 'Revoke' }).click();
    await section.getByText('Team wiki can no longer sign you in without asking.').waitFor();
    const acme = (await inst.store.accounts.findByName('acme'))!;
    const owner = (await inst.store.principals.findByLogin(acme.id, 'owner@acme.test'))!;
    expect(await inst.store.oidc.listConsents(owner.id)).toEqual([]);
    expect(problems).toEqual([]);
  });
});
