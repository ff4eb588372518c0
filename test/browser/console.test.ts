// @vitest-environment node
/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core against a real
 * Holdfast server listening on http://localhost:PORT. TOTP codes come from `oathtool` (an
 * independent RFC 6238 implementation) computed from the Base32 secret the enrolment page shows;
 * PSKC files come from Debian's python3-pskc. The server's clock follows the wall clock plus an
 * offset the tests move forward, so each new code falls in a fresh time step (RFC 6238 codes are
 * accepted once) without waiting.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, settleWithin } from '../helpers/teardown.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';
import { ManualClock } from '../../src/core/clock.js';
import { CONSOLE_DIR, registerConsole } from '../../src/http/console.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { PASSWORD, expectStatus, injectHttp, mfaApi, totpAt } from '../helpers/mfa.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Chromium and oathtool (and python3-pskc for one test): skipped where missing (named by `npm test`), never in CI. */
const clientSuite = describe.skipIf(withoutClients('chromium', 'oathtool'));
const NO_PSKC = withoutClients('python3-pskc');
const CHROMIUM = clientPath('chromium');
const OATHTOOL = clientPath('oathtool');
const PYTHON = clientPath('python3-pskc');
const PSKC_GENERATOR = join(ROOT, 'test/fixtures/pskc/generate.py');
const AXE = join(ROOT, 'node_modules/axe-core/axe.min.js');
const SCREENSHOTS = join(ROOT, 'docs/screenshots');
const ACCOUNT = 'acme';

/** The wall clock plus an offset: `advance` moves server time forward without waiting. */
class OffsetClock extends ManualClock {
  private offset = 0;
  constructor() {
    super(Date.now());
  }
  override now(): number {
    return Date.now() + this.offset;
  }
  override advance(ms: number): void {
    this.offset += ms;
  }
}

/** Newest modification time under a folder (to rebuild the console only when its sources changed). */
function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Builds the console into dist/console unless the build is newer than every source file. */
async function ensureConsoleBuilt(): Promise<void> {
  const index = join(CONSOLE_DIR, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs > newestMtime(join(ROOT, 'console'))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'console/vite.config.ts'), logLevel: 'warn' });
}

clientSuite('web console in Chromium', () => {
  let inst: TestInstallation;
  let server: FastifyInstance & { holdfastRoutes: Array<{ method: string; url: string }> };
  let browser: Browser;
  let origin: string;
  const clock = new OffsetClock();
  const contexts: BrowserContext[] = [];
  /** CSP violations and script errors seen on any page: the console must cause none. */
  const pageProblems: string[] = [];
  let userSeq = 0;
  const userIds = new Map<string, string>();

  beforeAll(async () => {
    await ensureConsoleBuilt();
    inst = await createTestInstallation('sqlite', { clock });
    await createUserWithPassword(inst, {
      accountName: ACCOUNT,
      email: 'owner@acme.test',
      password: PASSWORD,
    });
    server = await buildTestServer(inst);
    // 'localhost' listens on every loopback address the name resolves to (127.0.0.1 and ::1).
    await server.listen({ host: 'localhost', port: 0 });
    const address = server.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    // WebAuthn and secure-context features need a localhost origin (127.0.0.1 is not the same site).
    origin = `http://localhost:${port}`;
    // launch() starts Chromium with a fresh temporary user-data dir of its own.
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
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await settleWithin(c.close(), 5_000);
    await settleWithin(browser?.close(), 10_000);
    await closeServer(server);
    await inst?.destroy();
  }, 60_000);

  /** A fresh browser profile (own cookies) with one page. */
  async function newPage(
    options: { bypassCSP?: boolean; storageState?: Awaited<ReturnType<BrowserContext['storageState']>> } = {},
  ): Promise<Page> {
    const context = await browser.newContext({
      baseURL: origin,
      viewport: { width: 1200, height: 900 },
      ...options,
    });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text()))
        pageProblems.push(msg.text());
    });
    page.on('pageerror', (err) => pageProblems.push(`pageerror: ${err.message}`));
    page.on('dialog', (dialog) => void dialog.accept());
    return page;
  }

  async function newUser(role = 'user'): Promise<string> {
    const email = `person${++userSeq}@acme.test`;
    const { userId } = await createUserWithPassword(inst, {
      accountName: ACCOUNT,
      email,
      password: PASSWORD,
      role,
    });
    userIds.set(email, userId);
    return email;
  }

  /** oathtool's code for a secret at the server's time, after moving that time to a fresh step. */
  async function nextCode(secret: string): Promise<string> {
    clock.advance(30_000);
    const { stdout } = await run(OATHTOOL, [
      '--totp',
      '--base32',
      '--now',
      `@${Math.floor(clock.now() / 1000)}`,
      secret,
    ]);
    return stdout.trim();
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  /** The password step of sign-in through the page. */
  async function passwordStep(page: Page, email: string): Promise<void> {
    await page.goto('/sign-in');
    await page.getByLabel('Account').fill(ACCOUNT);
    await page.getByLabel('User name or e-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  /** Fills and submits the step-up dialog with a fresh code. */
  async function completeStepUp(page: Page, secret: string): Promise<void> {
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await dialog.getByLabel('Code').fill(await nextCode(secret));
    await dialog.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
  }

  /** Enrols an authenticator app through the enrolment page; answers the Base32 secret it showed. */
  async function enrolThroughConsole(page: Page, name: string): Promise<string> {
    await page.goto('/enrol');
    await page.getByLabel('Name for this factor').fill(name);
    await page.getByRole('button', { name: 'Start' }).click();
    const secret = (await page.locator('#totp-secret').textContent())!.trim();
    expect(secret).toMatch(/^[A-Z2-7]{32,}=*$/);
    expect(await page.locator('#totp-key-uri').textContent()).toMatch(/^otpauth:\/\/totp\/.*secret=/);
    const qr = page.getByRole('img', { name: /QR code/ });
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,iVBOR/);
    // The image really decoded (a broken data URL has no natural size).
    expect(
      await qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
    ).toBeGreaterThan(50);
    await page.getByLabel('Code from the app').fill(await nextCode(secret));
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('heading', { name: `“${name}” is enabled` }).waitFor();
    return secret;
  }

  /** The recovery codes shown on the page. */
  async function shownRecoveryCodes(page: Page): Promise<string[]> {
    const list = page.getByTestId('recovery-codes');
    await list.waitFor();
    return (await list.locator('li').allTextContents()).map((c) => c.trim());
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  const recoveryRemaining = (page: Page) => page.getByTestId('recovery-remaining').textContent();

  it('enrols an authenticator app in the console, then signs in with password and an oathtool code', async () => {
    const email = await newUser();
    const page = await newPage();
    await passwordStep(page, email);
    // No factor yet: straight to My security, which says so.
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    expect(await page.getByText('You have no second factor yet.').isVisible()).toBe(true);

    const secret = await enrolThroughConsole(page, 'Phone');
    // The factor was proved a moment ago: the first set comes without asking for it again (the
    // code just used would be a replay), and the "no recovery codes" line goes with the button.
    expect(await page.getByText('You have no recovery codes.').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Create recovery codes' }).click();
    const codes = await shownRecoveryCodes(page);
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await page.getByText('You have no recovery codes.').count()).toBe(0);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect(await page.getByRole('button', { name: 'Download' }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Print' }).isVisible()).toBe(true);

    await signOut(page);
    await passwordStep(page, email);
    await page.getByRole('heading', { name: 'Second factor' }).waitFor();
    await page.getByLabel('Phone — Authenticator app').check();
    await shot(page, 'sign-in-second-factor');
    // A wrong code is refused in words; the right one signs in.
    await page.getByLabel('Code', { exact: true }).fill('000000');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').filter({ hasText: 'MFA_FAILED' }).waitFor();
    await page.getByLabel('Code', { exact: true }).fill(await nextCode(secret));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    const session = await page.evaluate(async () => (await fetch('/v1/session')).json());
    expect((session as { session: { mfa: { kind: string } | null } }).session.mfa?.kind).toBe('totp');
    expect(await page.locator('tr', { hasText: 'Phone' }).locator('td').nth(1).textContent()).toBe('enabled');
  }, 120_000);

  it('signs in with a recovery code and shows the remaining count drop', async () => {
    const email = await newUser();
    const page = await newPage();
    await passwordStep(page, email);
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    await enrolThroughConsole(page, 'Laptop');
    await page.getByRole('button', { name: 'Create recovery codes' }).click();
    const codes = await shownRecoveryCodes(page);
    await page.goto('/security');
    await expect.poll(() => recoveryRemaining(page)).toBe('10');
    await signOut(page);

    await passwordStep(page, email);
    await page.getByRole('heading', { name: 'Second factor' }).waitFor();
    await page.getByLabel('Recovery code', { exact: true }).first().check();
    await page.getByRole('textbox', { name: 'Recovery code' }).fill(codes[3]!.toUpperCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    await expect.poll(() => recoveryRemaining(page)).toBe('9');
    expect(await page.getByText('You signed in with a recovery code; 9 left.').isVisible()).toBe(true);

    // The same code never works twice.
    await signOut(page);
    await passwordStep(page, email);
    await page.getByLabel('Recovery code', { exact: true }).first().check();
    await page.getByRole('textbox', { name: 'Recovery code' }).fill(codes[3]!);
    await page.getByRole('button', { name: 'Continue' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'MFA_FAILED' });
    await refusal.waitFor();
    // People read words; the code waits behind "Details" for whoever they ask for help.
    expect(await refusal.innerText()).not.toContain('MFA_FAILED');
    await refusal.getByText('Details').click();
    expect(await refusal.innerText()).toContain('Code MFA_FAILED');

    // The security events speak plainly too: no event names unless Details is opened.
    await page.getByRole('textbox', { name: 'Recovery code' }).fill(codes[4]!);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    const events = page.locator('section', {
      has: page.getByRole('heading', { name: 'Recent security events' }),
    });
    await events.locator('tbody tr').first().waitFor();
    const shown = await events.innerText();
    expect(shown).toContain('Signed in with');
    expect(shown).not.toMatch(/\b(auth|recovery_code|recovery)\.[a-z_]+/);
  }, 120_000);

  it('refuses to remove a factor without step-up and removes it after the step-up dialog', async () => {
    const email = await newUser();
    const page = await newPage();
    await passwordStep(page, email);
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    const secret = await enrolThroughConsole(page, 'Old phone');
    await page.goto('/security');
    const row = page.locator('tr', { hasText: 'Old phone' });
    await row.waitFor();

    // Cancelling the dialog leaves the refusal standing, shown in words with its code.
    await page.getByRole('button', { name: 'Remove Old phone' }).click();
    const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
    await dialog.waitFor();
    await shot(page, 'step-up');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('alert').filter({ hasText: 'MFA_STEP_UP_REQUIRED' }).waitFor();
    expect(await row.count()).toBe(1);

    // Verifying a factor in the dialog steps the session up and the removal is retried once.
    await page.getByRole('button', { name: 'Remove Old phone' }).click();
    await completeStepUp(page, secret);
    // The session was verified with the phone it removed: it ends with it, and the user is told.
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByText('The factor was removed.', { exact: false }).waitFor();
    // Signing in again (no factor left), the phone is gone.
    await passwordStep(page, email);
    await page.getByRole('heading', { name: 'My security' }).waitFor();
    expect(await page.locator('tr', { hasText: 'Old phone' }).count()).toBe(0);
    const factors = await page.evaluate(async () => (await fetch('/v1/factors')).json());
    expect((factors as { factors: unknown[] }).factors).toEqual([]);
  }, 120_000);

  describe('administration (admin signed in with a second factor)', () => {
    let admin: Page;
    let adminSecret: string;
    let target: string;

    beforeAll(async () => {
      // The owner's factor is enrolled over the API; the console sign-in then uses it.
      const api = mfaApi(injectHttp(server), ACCOUNT);
      const token = await api.passwordToken('owner@acme.test');
      const enrolled = await api.enrolTOTP(token, 'Owner phone');
      expectStatus(enrolled, 201);
      adminSecret = enrolled.body.secret as string;
      const enabled = await api.enable(token, enrolled.body.factor.id as string, {
        code: totpAt(adminSecret, clock.now()),
      });
      expectStatus(enabled, 200);
      target = await newUser();

      admin = await newPage();
      await passwordStep(admin, 'owner@acme.test');
      await admin.getByRole('heading', { name: 'Second factor' }).waitFor();
      await admin.getByLabel('Code', { exact: true }).fill(await nextCode(adminSecret));
      await admin.getByRole('button', { name: 'Continue' }).click();
      await admin.getByRole('heading', { name: 'My security' }).waitFor();
    }, 120_000);

    it('imports a PSKC file, assigns a token to a user and shows it among their factors', async ({
      skip,
    }) => {
      skip(NO_PSKC, 'python3-pskc is not installed');
      const seed = (label: string) =>
        createHash('sha1').update(`holdfast console token ${label}`).digest('hex');
      const pskc = execFileSync(PYTHON, [PSKC_GENERATOR], {
        input: JSON.stringify({
          keys: [
            {
              serial: 'CONSOLE-0001',
              manufacturer: 'ACME Tokens',
              model: 'Time Token 6',
              algorithm: 'totp',
              digits: 6,
              period: 30,
              secretHex: seed('1'),
            },
            {
              serial: 'CONSOLE-0002',
              manufacturer: 'ACME Tokens',
              model: 'Time Token 6',
              algorithm: 'totp',
              digits: 6,
              period: 30,
              secretHex: seed('2'),
            },
          ],
        }),
        encoding: 'utf8',
      });
      await admin.goto('/admin/tokens');
      await admin.getByRole('heading', { name: 'Hardware tokens' }).waitFor();
      await admin.getByLabel('PSKC file').setInputFiles({
        name: 'tokens.pskc',
        mimeType: 'application/pskc+xml',
        buffer: Buffer.from(pskc),
      });
      await admin.getByRole('button', { name: 'Import' }).click();
      await admin.getByText('Imported 2 tokens').waitFor();
      const inventory = admin.getByTestId('token-inventory');
      await inventory.locator('tr[data-serial="CONSOLE-0002"]').waitFor();
      expect(await inventory.locator('tr[data-serial="CONSOLE-0001"] td').nth(2).textContent()).toBe(
        'unassigned',
      );

      await admin.getByLabel('Token', { exact: true }).selectOption('CONSOLE-0001');
      await admin.getByLabel('User', { exact: true }).selectOption(userIds.get(target)!);
      await admin.getByLabel('Factor name (optional)').fill('Desk token');
      await admin.getByRole('button', { name: 'Assign' }).click();
      await admin.getByText('Token CONSOLE-0001 assigned.').waitFor();
      expect(await inventory.locator('tr[data-serial="CONSOLE-0001"] td').nth(2).textContent()).toBe(
        'assigned',
      );
      await shot(admin, 'admin-tokens');

      await admin.goto('/admin/users');
      await admin.getByRole('link', { name: target }).click();
      await admin.getByRole('heading', { name: target }).waitFor();
      const factors = admin.getByTestId('user-factors');
      const row = factors.locator('tr', { hasText: 'Desk token' });
      await row.waitFor();
      expect(await row.locator('td').allTextContents()).toEqual([
        'Hardware token',
        'Not finished',
        'Yes',
        '—',
        'Remove',
      ]);
      await shot(admin, 'admin-user');
    }, 120_000);

    it('lists users with factor counts, lock-out risk and the audit log with filters', async () => {
      await admin.goto('/admin/users');
      const ownerRow = admin.locator('tr', { hasText: 'owner@acme.test' });
      await ownerRow.waitFor();
      // Owner: one enabled factor (the app), no pending one.
      expect(await ownerRow.locator('td').nth(3).textContent()).toBe('1');
      await shot(admin, 'admin-users');

      await admin.goto('/admin/insights');
      await admin.getByRole('heading', { name: /Users without any factor/ }).waitFor();
      expect(await admin.getByText('This account has a single administrator.').isVisible()).toBe(true);
      await shot(admin, 'admin-insights');

      await admin.goto('/admin/audit');
      await admin.getByTestId('audit-records').waitFor();
      await admin.getByLabel('Event').selectOption('hardware_token.assign');
      await expect
        .poll(
          async () => (await admin.getByTestId('audit-records').locator('tbody tr').allTextContents()).length,
        )
        .toBe(1);
      expect(
        await admin.getByTestId('audit-records').locator('tbody tr td[data-label="Event"]').innerText(),
      ).toMatch(/^Hardware token given to a user/);
      expect(admin.url()).toContain('action=hardware_token.assign');
    }, 60_000);

    it('shows policies and lint findings, and degrades to a message when the policy routes answer 404', async () => {
      const notFound = JSON.stringify({
        error: { code: 'REQUEST_ROUTE_NOT_FOUND', message: 'no route', requestId: 'r' },
      });
      await admin.route('**/v1/policies**', (route) =>
        route.fulfill({ status: 404, contentType: 'application/json', body: notFound }),
      );
      await admin.goto('/admin/policies');
      await admin.getByText('This server does not offer policies yet.').waitFor();
      // The document is linted as it is typed.
      await admin.getByLabel('Policy document (JSON)').fill('{"Version":"2012-10-17","Statement":[]}');
      await admin.getByRole('alert').filter({ hasText: 'The document was not checked.' }).waitFor();
      await admin.unrouteAll();

      // The page against the contract of GET /v1/policies and POST /v1/policies/lint.
      let linted: unknown = null;
      await admin.route('**/v1/policies', (route) =>
        route.fulfill({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({
            policies: [
              { id: 'pol_1', name: 'RequireMFA', document: { Version: '2012-10-17', Statement: [] } },
            ],
          }),
        }),
      );
      await admin.route('**/v1/policies/lint', (route) => {
        linted = route.request().postDataJSON();
        return route.fulfill({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({
            findings: [
              {
                severity: 'error',
                code: 'FACTOR_CHANGE_WITHOUT_MFA',
                statement: 0,
                sid: 'AllowOwnFactors',
                message: 'iam:DeactivateMFADevice is allowed without aws:MultiFactorAuthPresent',
              },
              { severity: 'warning', code: 'WILDCARD_RESOURCE', statement: 1, message: 'Resource "*"' },
            ],
          }),
        });
      });
      await admin.goto('/admin/policies');
      await admin.getByRole('heading', { name: 'RequireMFA' }).waitFor();
      const doc = '{"Version":"2012-10-17","Statement":[{"Sid":"AllowOwnFactors"}]}';
      await admin.getByLabel('Policy document (JSON)').fill(doc);
      const findings = admin.getByTestId('lint-findings');
      await findings.waitFor();
      expect(linted).toEqual({ document: doc });
      expect(await findings.locator('caption').textContent()).toBe('1 error, 1 warning');
      expect(await findings.locator('tbody tr').first().textContent()).toContain('FACTOR_CHANGE_WITHOUT_MFA');
      await shot(admin, 'admin-policies');
      await admin.unrouteAll();
    }, 60_000);

    it('passes axe-core on every main page without serious or critical violations', async () => {
      // axe is injected as a script the strict CSP (rightly) refuses; these profiles bypass CSP for
      // the audit only, carrying the admin's cookies over.
      const anonymous = await newPage({ bypassCSP: true });
      const audited = await newPage({ bypassCSP: true, storageState: await admin.context().storageState() });
      const pages: Array<[Page, string]> = [
        [anonymous, '/sign-in'],
        [audited, '/security'],
        [audited, '/enrol'],
        [audited, '/admin'],
        [audited, '/admin/users'],
        [audited, '/admin/insights'],
        [audited, '/admin/tokens'],
        [audited, '/admin/audit'],
        [audited, '/admin/policies'],
      ];
      const report: Record<string, string[]> = {};
      for (const [page, path] of pages) {
        await page.goto(path);
        await page.locator('main h1').waitFor();
        await page.waitForLoadState('networkidle');
        await page.addScriptTag({ path: AXE });
        const result = (await page.evaluate('axe.run()')) as {
          violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown }> }>;
        };
        report[path] = result.violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.id} (${v.impact}) at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
        if (path === '/security') await shot(page, 'security');
        if (path === '/enrol') await shot(page, 'enrol');
        if (path === '/admin') await shot(page, 'admin');
        if (path === '/sign-in') await shot(page, 'sign-in');
      }
      expect(report).toEqual(Object.fromEntries(pages.map(([, path]) => [path, []])));

      // The step-up dialog too (opened by a removal without a fresh MFA: moved past the 15 minutes).
      clock.advance(16 * 60_000);
      await audited.goto('/security');
      await audited.getByRole('button', { name: 'Remove Owner phone' }).click();
      await audited.getByRole('dialog', { name: 'Confirm it is you' }).waitFor();
      await audited.addScriptTag({ path: AXE });
      const dialogResult = (await audited.evaluate('axe.run()')) as {
        violations: Array<{ id: string; impact: string }>;
      };
      expect(
        dialogResult.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'),
      ).toEqual([]);
      await audited.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    }, 120_000);
  });

  it('serves every console page by URL, and the keyboard reaches the sign-in form', async () => {
    const page = await newPage();
    for (const path of ['/sign-in', '/security', '/enrol', '/admin', '/admin/users', '/admin/audit']) {
      const res = await page.goto(path);
      expect(res?.status(), path).toBe(200);
      expect(res?.headers()['content-type']).toContain('text/html');
    }
    // Signed out, a protected page sends to sign-in and remembers where to return.
    await page.goto('/admin/users');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).searchParams.get('next')).toBe('/admin/users');
    // The page heading has focus after navigation; Tab moves on to the first field, visibly outlined.
    expect(await page.evaluate('document.activeElement.tagName')).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.name')).toBe('account');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    // Shift+Tab from the top of the page reaches the skip link.
    await page.goto('/sign-in');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('link', { name: 'Skip to content' }).focus();
    expect(await page.evaluate('document.activeElement.getAttribute("href")')).toBe('#main');
  }, 60_000);

  it('keeps the entry page JavaScript under 150 KB gzipped', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'scripts/console-size.mjs'), '--json']);
    const size = JSON.parse(stdout) as { files: Array<{ file: string }>; gzipBytes: number };
    expect(size.gzipBytes).toBeGreaterThan(1000);
    expect(size.gzipBytes).toBeLessThan(150 * 1024);
    // The measured files are the ones the served page loads.
    const html = await (await fetch(`${origin}/`)).text();
    for (const f of size.files) expect(html).toContain(f.file);
  });

  it('sends a strict Content-Security-Policy and long-lived, typed assets', async () => {
    const res = await fetch(`${origin}/sign-in`);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values] as const;
      }),
    );
    const scripts = directives.get('script-src') ?? directives.get('default-src') ?? [];
    expect(scripts).toContain("'self'");
    expect(scripts).not.toContain("'unsafe-inline'");
    expect(csp).not.toContain("'unsafe-eval'");
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('img-src')).toEqual(["'self'", 'data:']);
    expect(res.headers.get('cache-control')).toBe('no-cache');

    const html = await res.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${origin}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // The page setup links open is one of the console's pages.
    const setup = await fetch(`${origin}/setup`);
    expect(setup.status).toBe(200);
    expect(await setup.text()).toContain('<main id="main"');
    // No page in this suite hit a CSP refusal or a script error.
    expect(pageProblems).toEqual([]);
  });
});

describe('console static serving', () => {
  const server = async (root: string) => {
    const app = Fastify();
    await app.register(registerConsole, { root });
    await app.ready();
    return app;
  };

  it('answers 503 with a clear page when the console was not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-console-'));
    try {
      const app = await server(join(dir, 'missing'));
      const res = await app.inject({ method: 'GET', url: '/' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('console was not built');
      expect((await app.inject({ method: 'GET', url: '/admin/users' })).statusCode).toBe(503);
      await app.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never lists folders nor serves files outside the assets folder', async () => {
    const app = await server(CONSOLE_DIR);
    const secretFile = readFileSync(join(ROOT, 'package.json'), 'utf8');
    for (const url of [
      '/assets/',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/../../package.json',
      '/assets/..%5c..%5cpackage.json',
      '/assets/index.html',
      '/assets/.hidden.js',
      '/assets/nothing-here.js',
      '/assets/x.js%00.png',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain(secretFile.slice(0, 40));
    }
    // Paths outside the console's own answer nothing (no catch-all).
    expect((await app.inject({ method: 'GET', url: '/package.json' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/admin/users/u_1' })).statusCode).toBe(200);
    await app.close();
  });
});
