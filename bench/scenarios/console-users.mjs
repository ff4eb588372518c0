// The console's users page with 500 users, in Chromium on loopback: from the navigation to the
// table showing "Users 1–50 of 501", against the sign-in page's own ready time measured in the
// same browser and run (the console's fixed cost: index.html, the entry script, the session).
//
// The account holds an owner and 500 users written through the built app (dist/) before the
// server starts; the browser carries an MFA-verified console session made the same way. Every
// load is a fresh navigation with the browser's cache kept (as a person moving between pages).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  distModule,
  figure,
  makeTempDir,
  median,
  newMasterKey,
  openInstallationAt,
  percentile,
  startServer,
} from '../lib.mjs';

export const name = 'console-users';
export const description =
  'console users page ready with 500 users (Chromium, loopback) vs the sign-in page; /v1/users requests per load';

const USERS = 500;
const TARGET_MS = 300;
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

export async function run({ quick, log }) {
  const loads = quick ? 5 : 25;
  if (CHROMIUM === undefined) {
    return {
      figures: [figure({ id: 'usersPageMs', label: 'users page ready', value: 'skipped: no Chromium' })],
    };
  }
  const { chromium } = await import('playwright-core');
  const dir = makeTempDir();
  const masterKey = newMasterKey();
  const db = `sqlite:${join(dir, 'holdfast.db')}`;

  // ---- Seed: an owner, 500 users, an MFA console session ------------------------------------
  const inst = await openInstallationAt({ db, dataDir: dir, masterKey });
  let sessionToken;
  try {
    const { createSession } = await distModule('app/auth.js');
    const ctx = { requestId: 'bench', sourceIp: null, userAgent: 'bench' };
    const operator = { kind: 'operator' };
    const { account } = await inst.app.bootstrapAccount({
      ctx,
      accountName: 'acme',
      ownerEmail: 'owner@acme.test',
    });
    const roles = ['user', 'user', 'user', 'helpdesk', 'admin'];
    const t0 = performance.now();
    for (let i = 0; i < USERS; i++) {
      const n = String(i).padStart(4, '0');
      await inst.app.createUser({
        actor: operator,
        ctx,
        accountId: account.id,
        email: `person-${n}@acme.test`,
        username: `person-${n}`,
        role: roles[i % roles.length],
      });
    }
    log(`${name}: seeded ${USERS} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const owner = await inst.store.principals.findByLogin(account.id, 'owner@acme.test');
    const issued = await inst.store.transaction((tx) =>
      createSession(inst.app.deps, tx, {
        principal: owner,
        channel: 'cookie',
        ctx,
        auth: {
          methods: ['pwd', 'otp'],
          factor: { factorId: 'bench', kind: 'totp', assurance: 'software_otp', at: Date.now() },
        },
      }),
    );
    sessionToken = issued.token;
  } finally {
    await inst.close();
  }

  const server = await startServer({ dataDir: dir, env: { HOLDFAST_MASTER_KEY: masterKey } });
  const origin = server.url.replace('127.0.0.1', 'localhost');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  try {
    const context = await browser.newContext({ baseURL: origin, viewport: { width: 1280, height: 900 } });
    await context.addCookies([
      { name: 'holdfast_session', value: sessionToken, url: origin, httpOnly: true },
    ]);
    const page = await context.newPage();
    let listRequests = 0;
    page.on('request', (req) => {
      if (new URL(req.url()).pathname === '/v1/users') listRequests++;
    });

    const timeLoad = async (path, ready) => {
      const t = performance.now();
      await page.goto(path, { waitUntil: 'commit' });
      await ready();
      return performance.now() - t;
    };
    const usersReady = () =>
      page
        .getByTestId('users-table')
        .locator('caption', { hasText: `Users 1–50 of ${USERS + 1}` })
        .waitFor();

    // Warm: the entry script and the page's chunk in the browser's cache, the server's code hot.
    for (let i = 0; i < 3; i++) await timeLoad('/admin/users', usersReady);
    const signInContext = await browser.newContext({ baseURL: origin });
    const signInPage = await signInContext.newPage();
    for (let i = 0; i < 3; i++) {
      await signInPage.goto('/sign-in');
      await signInPage.getByRole('heading', { name: 'Sign in' }).waitFor();
    }

    // Interleaved, so machine noise hits both alike.
    const users = [];
    const signIn = [];
    listRequests = 0;
    for (let i = 0; i < loads; i++) {
      users.push(await timeLoad('/admin/users', usersReady));
      const t = performance.now();
      await signInPage.goto('/sign-in', { waitUntil: 'commit' });
      await signInPage.getByRole('heading', { name: 'Sign in' }).waitFor();
      signIn.push(performance.now() - t);
    }
    const perLoad = listRequests / loads;
    const sorted = [...users].sort((a, b) => a - b);
    const usersMedian = median(users);
    const signInMedian = median(signIn);
    log(
      `${name}: users page median ${usersMedian.toFixed(0)} ms (p90 ${percentile(sorted, 90).toFixed(0)} ms), ` +
        `sign-in page median ${signInMedian.toFixed(0)} ms, ${perLoad} /v1/users request(s) per load`,
    );
    await signInContext.close();
    await context.close();
    return {
      figures: [
        figure({
          id: 'usersPageMs',
          label: `users page ready, ${USERS} users (median of ${loads})`,
          value: usersMedian,
          unit: 'ms',
          digits: 0,
          target: { op: '<', value: TARGET_MS },
        }),
        figure({
          id: 'usersPageP90Ms',
          label: 'users page ready p90',
          value: percentile(sorted, 90),
          unit: 'ms',
          digits: 0,
        }),
        figure({
          id: 'signInPageMs',
          label: 'sign-in page ready (median, same run)',
          value: signInMedian,
          unit: 'ms',
          digits: 0,
        }),
        figure({
          id: 'usersOverSignIn',
          label: 'users page ÷ sign-in page',
          value: usersMedian / signInMedian,
          digits: 2,
        }),
        figure({
          id: 'listRequestsPerLoad',
          label: '/v1/users requests per page load',
          value: perLoad,
          digits: 1,
          target: { op: '<=', value: 1 },
        }),
      ],
      data: { users, signIn, listRequests, loads },
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}
