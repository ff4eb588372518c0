// @vitest-environment node
/**
 * Passkeys and security keys in a real browser: Debian's Chromium, driven by playwright-core,
 * with the DevTools protocol's virtual authenticators (WebAuthn domain) standing in for a
 * platform authenticator (internal, discoverable, user verifying) and a USB security key (no
 * resident keys, no user verification). Registration goes through the console's enrolment page,
 * sign-in through its sign-in page: second factor after the password with each key, and
 * passwordless with the passkey.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, settleWithin } from '../helpers/teardown.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';
import { ManualClock } from '../../src/core/clock.js';
import { CONSOLE_DIR } from '../../src/http/console.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Debian's Chromium: skipped where it is missing (named by `npm test`), never in CI. */
const clientSuite = describe.skipIf(withoutClients('chromium'));
const CHROMIUM = clientPath('chromium');
const SCREENSHOTS = join(ROOT, 'docs/screenshots');
const ACCOUNT = 'acme';
const PASSWORD = 'correct horse battery staple 42';

/** The wall clock (certificates and the browser live in real time). */
class WallClock extends ManualClock {
  constructor() {
    super(Date.now());
  }
  override now(): number {
    return Date.now();
  }
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

async function ensureConsoleBuilt(): Promise<void> {
  const index = join(CONSOLE_DIR, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs > newestMtime(join(ROOT, 'console'))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'console/vite.config.ts'), logLevel: 'warn' });
}

clientSuite('passkeys and security keys in Chromium', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let origin: string;
  const problems: string[] = [];
  const email = 'keys@acme.test';

  beforeAll(async () => {
    await ensureConsoleBuilt();
    inst = await createTestInstallation('sqlite', { clock: new WallClock() });
    await createUserWithPassword(inst, {
      accountName: ACCOUNT,
      email: 'owner@acme.test',
      password: PASSWORD,
    });
    await createUserWithPassword(inst, { accountName: ACCOUNT, email, password: PASSWORD, role: 'user' });
    server = await buildTestServer(inst);
    await server.listen({ host: 'localhost', port: 0 });
    const address = server.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    // Chromium accepts WebAuthn on http only for localhost; the RP follows the port chosen.
    origin = `http://localhost:${port}`;
    inst.app.deps.settings.webauthn = { rpId: 'localhost', rpName: 'Holdfast', origins: [origin] };
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
    context = await browser.newContext({ baseURL: origin, viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text()))
        problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await settleWithin(context?.close(), 5_000);
    await settleWithin(browser?.close(), 10_000);
    await closeServer(server);
    await inst?.destroy();
  }, 60_000);

  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** The current session as the API reports it (from inside the page, with its cookies). */
  const sessionMfa = () =>
    page.evaluate(async () => {
      const res = await fetch('/v1/session');
      const body = (await res.json()) as { session: { mfa: null | { kind: string; assurance: string } } };
      return body.session.mfa;
    });

  async function passwordStep(): Promise<void> {
    await page.goto('/sign-in');
    await page.getByLabel('Account').fill(ACCOUNT);
    await page.getByLabel('User name or e-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  async function signOut(): Promise<void> {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  async function registerThroughConsole(kind: 'Passkey' | 'Security key', name: string): Promise<void> {
    await page.goto('/enrol');
    const form = page.getByTestId('webauthn-enrol');
    await form.getByLabel(kind, { exact: true }).check();
    await form.getByLabel('Name for this key').fill(name);
    await form.getByRole('button', { name: 'Register' }).click();
    await page.getByText(`“${name}” is registered`).waitFor();
  }

  let passkeyAuthenticator = '';
  let securityKeyAuthenticator = '';

  it('registers a passkey on the enrolment page and signs in with it after the password', async () => {
    ({ authenticatorId: passkeyAuthenticator } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
    await passwordStep();
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    await registerThroughConsole('Passkey', 'Laptop passkey');
    await shot('enrol-webauthn');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', {
      authenticatorId: passkeyAuthenticator,
    });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.isResidentCredential).toBe(true);

    await signOut();
    await passwordStep();
    const button = page.getByTestId('webauthn-second-factor');
    await button.waitFor();
    await shot('sign-in-webauthn');
    await button.click();
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    expect(await sessionMfa()).toMatchObject({ kind: 'webauthn' });
    const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId: passkeyAuthenticator });
    expect(after.credentials[0]!.signCount).toBeGreaterThan(0);
  });

  it('signs in without a password with the passkey (user verified: an MFA session)', async () => {
    await signOut();
    await page.getByLabel('Account').fill(ACCOUNT);
    await shot('sign-in-passkey');
    await page.getByTestId('passkey-sign-in').click();
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    expect(await sessionMfa()).toMatchObject({ kind: 'webauthn' });
    const methods = await page.evaluate(async () => {
      const res = await fetch('/v1/session');
      return ((await res.json()) as { session: { methods: string[] } }).session.methods;
    });
    expect(methods).toEqual(['hwk', 'mfa']);
  });

  it('registers a USB security key from the MFA session and signs in with it', async () => {
    ({ authenticatorId: securityKeyAuthenticator } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'usb',
        hasResidentKey: false,
        hasUserVerification: false,
        automaticPresenceSimulation: true,
      },
    }));
    // The passwordless session is multi-factor, so it may add a factor (G3). The passkey
    // authenticator is internal (platform): a cross-platform key must come from the USB one.
    await registerThroughConsole('Security key', 'Blue key');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', {
      authenticatorId: securityKeyAuthenticator,
    });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.isResidentCredential).toBe(false);

    // Only the security key is present now: it must be the one answering.
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: passkeyAuthenticator });
    await signOut();
    await passwordStep();
    await page.getByTestId('webauthn-second-factor').click();
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    expect(await sessionMfa()).toMatchObject({ kind: 'webauthn', assurance: 'device_bound_key' });
    const used = await cdp.send('WebAuthn.getCredentials', { authenticatorId: securityKeyAuthenticator });
    expect(used.credentials[0]!.signCount).toBeGreaterThan(0);
    await shot('security-webauthn');
    expect(problems).toEqual([]);
  });
});
