// @vitest-environment node
/**
 * Passkeys at the address the README gives. A real `holdfast serve` on 127.0.0.1 with no public
 * URL configured (the README's quick start), an account from `holdfast bootstrap`, and Debian's
 * Chromium with a DevTools virtual authenticator: the banner, the setup link and the README all
 * name `http://localhost:PORT`, a page opened at `http://127.0.0.1:PORT` lands there, and a
 * passkey registered there signs in without a password. Browser errors of the ceremony are told
 * as what to do.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleWithin } from '../helpers/teardown.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';
import {
  assertCliBuilt,
  cliEnv,
  killAllChildren,
  newMasterKey,
  runCli,
  startServe,
  type ServeProcess,
} from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const clientSuite = describe.skipIf(withoutClients('chromium'));
const CHROMIUM = clientPath('chromium');
const PASSWORD = 'correct horse battery staple 42';

clientSuite('passkeys at the README address (no public URL configured)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let serve: ServeProcess;
  let port: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  const problems: string[] = [];
  let setupUrl = '';

  beforeAll(async () => {
    assertCliBuilt();
    dir = mkdtempSync(join(tmpdir(), 'holdfast-readme-'));
    env = cliEnv({ HOLDFAST_DB: `sqlite:${join(dir, 'holdfast.db')}`, HOLDFAST_MASTER_KEY: newMasterKey() });
    serve = await startServe(['--data-dir', dir], { env });
    port = new URL(serve.url).port;
    const boot = await runCli(
      ['bootstrap', '--account', 'acme', '--owner-email', 'owner@acme.test', '--json'],
      {
        env: { ...env, HOLDFAST_PORT: port },
      },
    );
    expect(boot.code).toBe(0);
    setupUrl = boot.json<{ setupUrl: string }>().setupUrl;
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
    // Relative paths open at the console address the banner gave.
    context = await browser.newContext({
      baseURL: `http://localhost:${port}`,
      viewport: { width: 1200, height: 900 },
    });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text()))
        problems.push(msg.text());
    });
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
  }, 120_000);

  afterAll(async () => {
    await settleWithin(context?.close(), 5_000);
    await settleWithin(browser?.close(), 10_000);
    await serve?.stop();
    await killAllChildren();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('names http://localhost:PORT in the banner, the setup link and the README', () => {
    expect(serve.stderr()).toContain(`Web console: http://localhost:${port}/`);
    expect(setupUrl).toMatch(new RegExp(`^http://localhost:${port}/setup#token=`));
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('http://localhost:8080/');
    // The README never sends a person to the console at the IP address.
    expect(readme).not.toMatch(/sign in at `?http:\/\/127\.0\.0\.1/);
  });

  it('sends a page opened at 127.0.0.1 to localhost, keeping the setup token in the fragment', async () => {
    const atIp = setupUrl.replace('//localhost:', '//127.0.0.1:');
    await page.goto(atIp);
    expect(new URL(page.url()).host).toBe(`localhost:${port}`);
    // The page says whose password the link sets, before asking for it.
    expect(await page.getByTestId('setup-for').textContent()).toMatch(
      /^For owner@acme\.test in the account acme\. This link works once, until /,
    );
    // The token has left the address bar.
    expect(new URL(page.url()).hash).toBe('');
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat it').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Your password is set').waitFor();
    // The length the text asks for is the one the field enforces, and the page ends with sign-in.
    expect(await page.locator('#password').getAttribute('minlength')).toBe('12');
    expect(await page.locator('#password-hint').textContent()).toContain('At least 12 characters');
    expect(await page.getByRole('link', { name: 'sign in', exact: true }).isVisible()).toBe(true);

    // API calls and AWS clients are answered where they are: no redirect for them.
    const api = await fetch(`${serve.url}/v1/session`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(401);
    const html = await fetch(`${serve.url}/sign-in`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    expect(html.status).toBe(307);
    expect(html.headers.get('location')).toBe(`http://localhost:${port}/sign-in`);
  });

  it('registers a passkey at the README address and signs in with it, without a password', async () => {
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${serve.url}/sign-in`);
    expect(new URL(page.url()).host).toBe(`localhost:${port}`);
    await page.getByLabel('Account').fill('acme');
    await page.getByLabel('User name or e-mail').fill('owner@acme.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'My security' }).waitFor();

    await page.goto('/enrol');
    const form = page.getByTestId('webauthn-enrol');
    await form.getByLabel('Passkey', { exact: true }).check();
    await form.getByLabel('Name for this key').fill('Laptop');
    await form.getByRole('button', { name: 'Register' }).click();
    await page.getByText('“Laptop” is registered').waitFor();

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Account').fill('acme');
    await page.getByTestId('passkey-sign-in').click();
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    const mfa = await page.evaluate(async () => {
      const res = await fetch('/v1/session');
      return ((await res.json()) as { session: { mfa: { kind: string } | null } }).session.mfa;
    });
    expect(mfa).toMatchObject({ kind: 'webauthn' });
    // The same authenticator again (the passwordless session is multi-factor, so it may add a
    // factor): the browser refuses (InvalidStateError), and the person is told what to do.
    await page.goto('/enrol');
    await form.getByLabel('Passkey', { exact: true }).check();
    await form.getByLabel('Name for this key').fill('Laptop again');
    await form.getByRole('button', { name: 'Register' }).click();
    await page.getByText('This passkey or security key is already registered for you.').waitFor();

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(problems).toEqual([]);
  });
  it('offers "Forgot password?" and "Lost your second factor?" on the sign-in page, through the recovery flows', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    await page.getByLabel('Account').fill('acme');
    await page.getByLabel('User name or e-mail').fill('owner@acme.test');
    await page.getByRole('button', { name: 'E-mail me a reset link' }).click();
    await page.getByText('a reset link is on its way').waitFor();

    await page.goto('/sign-in');
    await page.getByRole('link', { name: 'Lost your second factor?' }).click();
    await page.getByRole('heading', { name: 'Lost your second factor?' }).waitFor();
    expect(await page.getByText('sign in with your password and choose “Recovery code”').isVisible()).toBe(
      true,
    );
    await page.getByLabel('Account').fill('acme');
    await page.getByLabel('User name or e-mail').fill('owner@acme.test');
    await page.getByRole('button', { name: 'Start recovery' }).click();
    await page.getByTestId('recover-result').getByText('A waiting period follows').waitFor();

    // Both requests reached the recovery flows (mail goes only to a verified address; the audit
    // log records each request either way).
    const audit = await runCli(['audit', 'export', '--data-dir', dir], { env });
    expect(audit.stdout).toContain('"user.password_reset_request"');
    expect(audit.stdout).toMatch(/"recovery\.start"/);
    expect(problems).toEqual([]);
  });
});
