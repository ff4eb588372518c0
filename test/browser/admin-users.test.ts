// @vitest-environment node
/**
 * The users page of an account with 500 users, in Debian's Chromium: search, filters, sort and
 * paging decided on the server, one request per page (never one per row), no sideways scrolling
 * at 390 px, and axe-core with no serious or critical violation at both widths.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SCREENSHOTS,
  axeSeriousOrCritical as axeOf,
  ensureConsoleBuilt,
  launchChromium,
  enrolTotpOverApi,
  listenOnLocalhost,
  openSignedInTab,
} from '../helpers/admin-console.js';
import { closeServer, settleWithin } from '../helpers/teardown.js';
import { withoutClients } from '../helpers/external-clients.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { PASSWORD, WallClock, injectHttp, mfaApi } from '../helpers/mfa.js';

const clientSuite = describe.skipIf(withoutClients('chromium'));
const USERS = 500;

clientSuite('users administration with 500 users in Chromium', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  /** Every /v1 request the page made, as `METHOD path?query`. */
  let calls: string[] = [];
  let problems: string[] = [];

  beforeAll(async () => {
    await ensureConsoleBuilt();
    inst = await createTestInstallation('sqlite', { clock: new WallClock() });
    const { accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    });
    const ctx = { requestId: 'seed', sourceIp: null, userAgent: 'test' };
    const roles = ['user', 'user', 'user', 'helpdesk', 'admin'];
    for (let i = 0; i < USERS; i++) {
      const n = String(i).padStart(4, '0');
      const { user } = await inst.app.createUser({
        actor: { kind: 'operator' },
        ctx,
        accountId,
        email: `person-${n}@acme.test`,
        username: `person-${n}`,
        role: roles[i % roles.length]!,
      });
      if (i % 50 === 7)
        await inst.app.disableUser({ actor: { kind: 'operator' }, ctx, accountId, userRef: user.id });
    }
    server = await buildTestServer(inst);
    // The owner holds one factor, enrolled over the API.
    const api = mfaApi(injectHttp(server), 'acme');
    const ownerFactorId = await enrolTotpOverApi(api, 'owner@acme.test', 'Owner phone');
    origin = await listenOnLocalhost(server);

    // A console session that passed a second factor (how one is obtained is tested elsewhere).
    const owner = (await inst.store.principals.findByLogin(accountId, 'owner@acme.test'))!;
    browser = await launchChromium();
    ({ page, context, calls, problems } = await openSignedInTab({
      browser,
      inst,
      origin,
      principal: owner,
      factorId: ownerFactorId,
    }));
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await settleWithin(context?.close(), 5_000);
    await settleWithin(browser?.close(), 10_000);
    await closeServer(server);
    await inst?.destroy();
  }, 60_000);

  const caption = () => page.getByTestId('users-table').locator('caption').textContent();
  const rows = () => page.getByTestId('users-table').locator('tbody tr');
  const userListCalls = () => calls.filter((c) => c.startsWith('GET /v1/users'));
  /** Waits for the table to show `text` and answers the list requests made meanwhile. */
  async function settle(text: string | RegExp): Promise<string[]> {
    await expect.poll(caption).toMatch(text);
    return userListCalls();
  }

  const axeSeriousOrCritical = () => axeOf(page);

  it('shows the first 50 of 501 users in one request, never one per row', async () => {
    await page.goto('/admin/users');
    const listed = await settle('Users 1–50 of 501');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toContain('limit=50');
    expect(await rows().count()).toBe(50);
    // No request per user (the old page asked for every user's factors).
    expect(calls.filter((c) => /\/v1\/users\/[^/?]+/.test(c))).toEqual([]);
    expect(await page.locator('tr', { hasText: 'owner@acme.test' }).locator('td').nth(3).textContent()).toBe(
      '1',
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-users-500.png'), fullPage: false });
    expect(await axeSeriousOrCritical()).toEqual([]);
  });

  it('pages, searches, filters and sorts with one request each', async () => {
    let before = userListCalls().length;
    await page.getByRole('button', { name: 'Next page' }).click();
    expect(await settle('Users 51–100 of 501')).toHaveLength(before + 1);
    expect(new URL(page.url()).searchParams.get('page')).toBe('2');

    before = userListCalls().length;
    await page.getByLabel('Search e-mail or user name').fill('person-0042');
    await page.getByRole('button', { name: 'Search' }).click();
    expect(await settle('Users 1–1 of 1 matching')).toHaveLength(before + 1);
    expect(await rows().first().locator('th').textContent()).toBe('person-0042@acme.test');
    await page.getByLabel('Search e-mail or user name').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await settle('Users 1–50 of 501');

    before = userListCalls().length;
    await page.getByLabel('Second factors').selectOption('0');
    expect(await settle('Users 1–50 of 500 matching')).toHaveLength(before + 1);
    await page.getByLabel('Status').selectOption('disabled');
    await settle('Users 1–10 of 10 matching');
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Second factors').selectOption('');
    await page.getByLabel('Role', { exact: true }).selectOption('admin');
    await settle('Users 1–50 of 100 matching');
    await page.getByLabel('Role', { exact: true }).selectOption('');
    await settle('Users 1–50 of 501');

    before = userListCalls().length;
    await page.getByRole('button', { name: 'E-mail' }).click(); // ascending already: now descending
    await expect.poll(() => rows().first().locator('th').textContent()).toBe('person-0499@acme.test');
    expect(userListCalls()).toHaveLength(before + 1);
    expect(await page.getByRole('columnheader', { name: /E-mail/ }).getAttribute('aria-sort')).toBe(
      'descending',
    );
    await page.getByRole('button', { name: /Second factors/ }).click();
    await expect.poll(() => rows().first().locator('td').nth(3).textContent()).toBe('None');
    expect(problems).toEqual([]);
  });

  it('adds a user with an invitation e-mail, then manages them from their page', async () => {
    await page.goto('/admin/users');
    await settle('Users 1–50 of 501');
    await page.locator('summary', { hasText: 'Add a user' }).click();
    await page.getByLabel('E-mail address').fill('newcomer@acme.test');
    await page.getByLabel('Their role').selectOption('helpdesk');
    expect(await page.getByLabel('E-mail them an invitation with the setup link').isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Add user' }).click();
    const result = page.getByTestId('new-user-result');
    await result.waitFor();
    expect(await result.textContent()).toContain(
      'newcomer@acme.test was added and an invitation is on its way.',
    );
    expect(await result.locator('code').textContent()).toMatch(/\/setup#token=/);

    // The invitation waits in the outbox with the link sealed; rendered, it names account and link.
    const [mail] = await inst.database.kysely
      .selectFrom('outbox')
      .selectAll()
      .where('template', '=', 'user.invitation')
      .execute();
    expect(mail!.recipient).toBe('newcomer@acme.test');
    const rendered = await inst.app.renderOutboxMessage({ id: mail!.id, publicUrl: origin });
    expect(rendered!.subject).toBe('You are invited to acme on Holdfast');
    expect(rendered!.text).toContain(`${origin}/setup#token=`);
    expect(String(mail!.payload)).not.toContain('hfsetup_');

    await result.getByRole('link', { name: 'Open their page' }).click();
    await page.getByRole('heading', { name: 'newcomer@acme.test' }).waitFor();
    const said = page.getByTestId('user-action-result');
    await page.getByRole('button', { name: 'New setup link' }).click();
    await expect
      .poll(() => said.textContent())
      .toMatch(/One-time setup link for newcomer@acme.test, valid until/);
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await expect.poll(() => said.textContent()).toBe('0 sessions ended.');
    await page.getByRole('button', { name: 'Lift second-factor suspension' }).click();
    await expect
      .poll(() => said.textContent())
      .toBe('newcomer@acme.test was not suspended: nothing changed.');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Disable user' }).click();
    await expect
      .poll(() => said.textContent())
      .toBe('newcomer@acme.test is disabled and signed out everywhere.');
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-user-manage.png'), fullPage: true });
    const account = (await inst.store.accounts.findByName('acme'))!;
    expect((await inst.store.principals.findByLogin(account.id, 'newcomer@acme.test'))!.status).toBe(
      'disabled',
    );
    expect(problems).toEqual([]);
  });

  it('has no sideways scrolling at 390 px: the table becomes a list', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto('/admin/users');
    await settle('Users 1–50 of 502');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // Each row reads as a list item with its labels.
    expect(
      await rows()
        .first()
        .locator('td')
        .first()
        .evaluate((td) => {
          type View = { getComputedStyle(el: unknown, pseudo: string): { content: string } };
          const view = (td as unknown as { ownerDocument: { defaultView: View } }).ownerDocument.defaultView;
          return view.getComputedStyle(td, '::before').content;
        }),
    ).toBe('"User name: "');
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-users-390.png'), fullPage: false });
    expect(await axeSeriousOrCritical()).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
  });
  it('imports users from a CSV file, all or nothing, naming each bad row by line', async () => {
    await page.goto('/admin/users');
    await settle('Users 1–50 of 502');
    await page.locator('summary', { hasText: 'Import users from a CSV file' }).click();
    const upload = (text: string) =>
      page
        .locator('#import-file')
        .setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(text) });
    await upload('email,role\ngus@acme.test,user\nperson-0001@acme.test,user\n');
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByText('Nobody was added: 1 row needs fixing.').waitFor();
    expect(await page.getByTestId('import-result').textContent()).toContain(
      'Line 3: person-0001@acme.test is already a user of this account',
    );
    await upload('email,role,username\ngus@acme.test,user,gus\nhal@acme.test,helpdesk,\n');
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByText('2 users added, invitations on their way.').waitFor();
    await page.goto('/admin/users');
    await settle('Users 1–50 of 504');
  });
  it('no console page scrolls sideways at 390 px, and axe-core finds nothing serious there', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    const account = (await inst.store.accounts.findByName('acme'))!;
    const owner = (await inst.store.principals.findByLogin(account.id, 'owner@acme.test'))!;
    const wide: string[] = [];
    for (const path of [
      '/security',
      '/enrol',
      '/admin',
      '/admin/users',
      `/admin/users/${owner.id}`,
      '/admin/insights',
      '/admin/tokens',
      '/admin/audit',
      '/admin/policies',
    ]) {
      await page.goto(path);
      await page.locator('h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      if (width > 390) wide.push(`${path}: ${width}px`);
      for (const v of await axeSeriousOrCritical()) wide.push(`${path}: axe ${v.id} (${v.impact})`);
    }
    expect(wide).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 180_000);
});
