/**
 * A console served on `http://localhost:PORT` over a fresh SQLite installation, with Debian's
 * Chromium signed in as chosen people of account `acme` (cookie sessions that passed a second
 * factor), for the browser tests of the administration pages: axe-core and the 390 px check
 * included.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';
import { createSession } from '../../src/app/auth.js';
import { CONSOLE_DIR } from '../../src/http/console.js';
import { clientPath } from './external-clients.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from './installation.js';
import type { Principal } from '../../src/core/principals/types.js';
import {
  PASSWORD,
  STEP_MS,
  WallClock,
  expectStatus,
  injectHttp,
  totpAt,
  type Http,
  type HttpRequest,
  type HttpResponse,
  type MfaApi,
} from './mfa.js';
import { closeServer, settleWithin } from './teardown.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AXE = join(ROOT, 'node_modules/axe-core/axe.min.js');
/** Where the browser tests leave the screenshots docs/console.md shows. */
export const SCREENSHOTS = join(ROOT, 'docs/screenshots');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Builds the console when its sources are newer than the built files. */
export async function ensureConsoleBuilt(): Promise<void> {
  const index = join(CONSOLE_DIR, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs > newestMtime(join(ROOT, 'console'))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'console/vite.config.ts'), logLevel: 'warn' });
}

/** One signed-in browser tab, with the /v1 requests it made and any script error. */
export interface SignedInPage {
  page: Page;
  context: BrowserContext;
  /** Every /v1 request, as `METHOD path?query`. */
  calls: string[];
  problems: string[];
}

/** Debian's Chromium, headless, as every browser test starts it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: clientPath('chromium'),
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
}

/** The running console and its installation. */
export interface AdminConsole {
  inst: TestInstallation;
  server: FastifyInstance;
  origin: string;
  accountId: string;
  /** Adds a person to acme with a password (role: owner, admin, helpdesk or user). */
  addPerson(email: string, role: string): Promise<string>;
  /** A tab signed in as `login` (a session that passed a second factor). */
  open(login: string): Promise<SignedInPage>;
  /** The API as `login` (bearer session that passed a second factor), over inject. */
  api(
    login: string,
  ): Promise<(method: HttpRequest['method'], url: string, body?: unknown) => Promise<HttpResponse>>;
  close(): Promise<void>;
}

/** Listens on a free port of `localhost` (the origin WebAuthn and the console expect); answers the origin. */
export async function listenOnLocalhost(server: FastifyInstance): Promise<string> {
  await server.listen({ host: 'localhost', port: 0 });
  const address = server.server.address();
  return `http://localhost:${typeof address === 'object' && address !== null ? address.port : 0}`;
}

/** Enrols and enables a TOTP factor for `login` over the API, as the person would; answers its id. */
export async function enrolTotpOverApi(api: MfaApi, login: string, name: string): Promise<string> {
  const token = await api.passwordToken(login);
  const enrolled = await api.enrolTOTP(token, name);
  const secret = enrolled.body.secret as string;
  const now = Date.now();
  expectStatus(
    await api.enable(token, enrolled.body.factor.id as string, {
      codes: [totpAt(secret, now - STEP_MS), totpAt(secret, now)],
    }),
    200,
  );
  return enrolled.body.factor.id as string;
}

/**
 * A browser tab signed in as `principal` with a cookie session that passed a second factor (the
 * factor `factorId`) just now, recording its /v1 requests and script errors. The profile bypasses
 * the CSP only so that axe-core can be injected.
 */
export async function openSignedInTab(input: {
  browser: Browser;
  inst: TestInstallation;
  origin: string;
  principal: Principal;
  factorId: string;
  contextOptions?: BrowserContextOptions;
}): Promise<SignedInPage> {
  const { inst, origin } = input;
  const issued = await inst.store.transaction((tx) =>
    createSession(inst.app.deps, tx, {
      principal: input.principal,
      channel: 'cookie',
      ctx: { requestId: 'test', sourceIp: '127.0.0.1', userAgent: 'test' },
      auth: {
        methods: ['pwd', 'otp'],
        factor: { factorId: input.factorId, kind: 'totp', assurance: 'software_otp', at: Date.now() },
      },
    }),
  );
  const context = await input.browser.newContext({
    baseURL: origin,
    viewport: { width: 1280, height: 900 },
    bypassCSP: true,
    ...input.contextOptions,
  });
  await context.addCookies([{ name: 'holdfast_session', value: issued.token, url: origin, httpOnly: true }]);
  const page = await context.newPage();
  const calls: string[] = [];
  const problems: string[] = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith('/v1/')) calls.push(`${req.method()} ${url.pathname}${url.search}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return { page, context, calls, problems };
}

/** Starts the console with `owner@acme.test` as the account owner. */
export async function startAdminConsole(): Promise<AdminConsole> {
  await ensureConsoleBuilt();
  const inst = await createTestInstallation('sqlite', { clock: new WallClock() });
  const { accountId } = await createUserWithPassword(inst, {
    accountName: 'acme',
    email: 'owner@acme.test',
    password: PASSWORD,
  });
  const server = await buildTestServer(inst);
  const origin = await listenOnLocalhost(server);
  const browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const http: Http = injectHttp(server);
  const contexts: BrowserContext[] = [];
  return {
    inst,
    server,
    origin,
    accountId,
    async addPerson(email, role) {
      return (await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD, role }))
        .userId;
    },
    async open(login) {
      const principal = (await inst.store.principals.findByLogin(accountId, login))!;
      const tab = await openSignedInTab({ browser, inst, origin, principal, factorId: 'mfa_test_fixture' });
      contexts.push(tab.context);
      return tab;
    },
    async api(login) {
      const token = await mfaSessionToken(inst, { accountName: 'acme', login });
      return (method, url, body) => http({ method, url, token, ...(body === undefined ? {} : { body }) });
    },
    async close() {
      for (const c of contexts) await settleWithin(c.close(), 5_000);
      await settleWithin(browser.close(), 10_000);
      await closeServer(server);
      await inst.destroy();
    },
  };
}

/** axe-core's serious and critical violations on the page as it stands. */
export async function axeSeriousOrCritical(page: Page): Promise<Array<{ id: string; impact: string }>> {
  await page.addScriptTag({ path: AXE });
  const result = (await page.evaluate('axe.run()')) as {
    violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
}

/** How wide the document is (more than the viewport: the page scrolls sideways). */
export async function documentWidth(page: Page): Promise<number> {
  return (await page.evaluate('document.documentElement.scrollWidth')) as number;
}
