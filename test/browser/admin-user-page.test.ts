// @vitest-environment node
/**
 * The user page (/admin/users/:id) in Debian's Chromium: an owner runs one person's account from
 * it, and every action's effect is checked in the database or through the API, not on the page
 * alone. axe-core finds no serious or critical violation at 1,280 and 390 px, and nothing scrolls
 * sideways at 390 px.
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
import { PASSWORD, WallClock, expectStatus, injectHttp, mfaApi, type MfaApi } from '../helpers/mfa.js';

const clientSuite = describe.skipIf(withoutClients('chromium'));

clientSuite('the user page in Chromium', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let accountId: string;
  let patId: string;
  let patToken: string;
  let problems: string[] = [];

  beforeAll(async () => {
    await ensureConsoleBuilt();
    inst = await createTestInstallation('sqlite', { clock: new WallClock() });
    ({ accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    }));
    ({ userId: patId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'pat@acme.test',
      password: PASSWORD,
    }));
    server = await buildTestServer(inst);
    api = mfaApi(injectHttp(server), 'acme');
    // The owner holds one factor, enrolled over the API.
    const ownerFactorId = await enrolTotpOverApi(api, 'owner@acme.test', 'Owner phone');
    // Pat is signed in somewhere (a session the page lists and ends).
    patToken = await api.passwordToken('pat@acme.test');
    origin = await listenOnLocalhost(server);

    // A console session that passed a second factor just now (fresh for G1's 15 minutes).
    const owner = (await inst.store.principals.findByLogin(accountId, 'owner@acme.test'))!;
    browser = await launchChromium();
    ({ page, context, problems } = await openSignedInTab({
      browser,
      inst,
      origin,
      principal: owner,
      factorId: ownerFactorId,
    }));
    // Every confirmation the page asks is answered yes.
    page.on('dialog', (dialog) => void dialog.accept());
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await settleWithin(context?.close(), 5_000);
    await settleWithin(browser?.close(), 10_000);
    await closeServer(server);
    await inst?.destroy();
  }, 60_000);

  const pat = async () => (await inst.store.principals.findById(accountId, patId))!;
  const said = () => page.getByTestId('user-action-result').textContent();

  const axeSeriousOrCritical = () => axeOf(page);

  async function openPat(): Promise<void> {
    await page.goto(`/admin/users/${patId}`);
    await page.getByRole('heading', { name: 'pat@acme.test', level: 1 }).waitFor();
    await page.getByTestId('user-events').locator('tbody tr').first().waitFor();
  }

  it('shows who they are and every section, with no serious axe finding at 1,280 px', async () => {
    await openPat();
    for (const title of [
      'Manage',
      'Second factors',
      'Sessions',
      'Access keys',
      'Contact channels',
      'Resets and alerts',
      'Recent events',
    ]) {
      await page.getByRole('heading', { name: title, level: 2 }).waitFor();
    }
    expect(await page.getByTestId('user-role').textContent()).toBe('User');
    expect(await page.getByTestId('user-sessions').locator('tbody tr').count()).toBe(1);
    // Events in words, the event name behind "Details".
    const events = page.getByTestId('user-events');
    expect(await events.textContent()).toContain('Signed in with a password');
    expect(await events.locator('details code').first().isVisible()).toBe(false);
    expect(await axeSeriousOrCritical()).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('changes the role, and says a refusal in words with the code behind "Details"', async () => {
    await openPat();
    await page.getByLabel('Role', { exact: true }).selectOption('helpdesk');
    await page.getByRole('button', { name: 'Change role' }).click();
    await expect.poll(said).toBe('pat@acme.test is now help desk.');
    expect((await pat()).role).toBe('helpdesk');
    expect(await page.getByTestId('user-role').textContent()).toBe('Help desk');

    // The same role again: refused, nothing changes, the code is there for support.
    await page.getByRole('button', { name: 'Change role' }).click();
    const result = page.getByTestId('user-action-result');
    await expect.poll(said).toContain('This person already has that role.');
    const details = result.locator('details');
    expect(await details.locator('code').isVisible()).toBe(false);
    await details.locator('summary').click();
    expect(await details.locator('code').textContent()).toBe('USER_ROLE_UNCHANGED');
    expect((await pat()).role).toBe('helpdesk');
    const changes = await inst.store.audit.query({ accountId, action: 'user.role_change', limit: 10 });
    expect(changes.map((r) => r.details)).toEqual([
      expect.objectContaining({ from: 'user', to: 'helpdesk' }),
    ]);
  });

  it('creates an access key showing the secret once, deactivates, activates and deletes it', async () => {
    await openPat();
    await page.getByTestId('create-key').click();
    const shown = page.getByTestId('new-key');
    await shown.waitFor();
    const [keyId, secret] = await shown.locator('code').allTextContents();
    const [stored] = await inst.store.accessKeys.listByPrincipal(accountId, patId);
    expect(stored?.id).toBe(keyId);
    expect(stored?.status).toBe('Active');
    expect(secret!.length).toBeGreaterThan(30);
    // Shown once: a fresh page lists the key without its secret.
    await openPat();
    const keys = page.getByTestId('user-keys');
    expect(await keys.textContent()).toContain(keyId!);
    expect(await page.content()).not.toContain(secret!);

    await page.getByRole('button', { name: `Deactivate ${keyId}` }).click();
    await page.getByRole('button', { name: `Activate ${keyId}` }).waitFor();
    expect((await inst.store.accessKeys.findById(keyId!))?.status).toBe('Inactive');
    await page.getByRole('button', { name: `Activate ${keyId}` }).click();
    await page.getByRole('button', { name: `Deactivate ${keyId}` }).waitFor();
    expect((await inst.store.accessKeys.findById(keyId!))?.status).toBe('Active');
    await page.getByRole('button', { name: `Delete ${keyId}` }).click();
    await page.getByText('No access keys.').waitFor();
    expect(await inst.store.accessKeys.findById(keyId!)).toBeNull();
  });

  it('ends one session: Pat’s token stops working', async () => {
    await openPat();
    expectStatus(await api.http({ method: 'GET', url: '/v1/session', token: patToken }), 200);
    await page
      .getByTestId('user-sessions')
      .getByRole('button', { name: /^End the session/ })
      .click();
    await page.getByText('Not signed in anywhere.').waitFor();
    expect((await api.http({ method: 'GET', url: '/v1/session', token: patToken })).status).toBe(401);
  });

  it('sends an enrolment grant to Pat’s mailbox, never to the page', async () => {
    await openPat();
    await page.getByTestId('send-grant').click();
    await expect.poll(said).toMatch(/A one-time enrolment grant is on its way to pat@acme.test/);
    const mail = (await inst.store.outbox.list({ accountId, limit: 100 })).find(
      (m) => m.principalId === patId && m.template === 'enrolment_grant.issued',
    );
    expect(mail?.recipient).toBe('pat@acme.test');
    expect(await page.content()).not.toContain('hfgrant_');
    expect(
      await inst.store.audit.query({ accountId, action: 'enrolment_grant.issue', limit: 10 }),
    ).toHaveLength(1);
  });

  it('disables and re-enables Pat, who then signs in again', async () => {
    await openPat();
    await page.getByRole('button', { name: 'Disable user' }).click();
    await expect.poll(said).toBe('pat@acme.test is disabled and signed out everywhere.');
    expect((await pat()).status).toBe('disabled');
    expect(await page.getByTestId('user-status').textContent()).toBe('Disabled');
    expect((await api.signIn('pat@acme.test')).status).toBe(401);

    await page.getByRole('button', { name: 'Re-enable user' }).click();
    await expect.poll(said).toBe('pat@acme.test can sign in again with their password and second factors.');
    expect((await pat()).status).toBe('active');
    expect(await page.getByTestId('user-status').textContent()).toBe('Active');
    expect((await api.signIn('pat@acme.test')).body.status).toBe('signed_in');
    // The events list names what happened, newest first.
    await openPat();
    const first = await page.getByTestId('user-events').locator('tbody tr').first().textContent();
    expect(first).toContain('Signed in with a password');
    const events = page.getByTestId('user-events');
    expect(await events.textContent()).toContain('Re-enabled');
    // Who acted, by name; a role change says from what to what.
    const roleRow = events.locator('tr', { hasText: 'Role changed' });
    expect(await roleRow.textContent()).toContain('Role changed: user to help desk');
    expect(await roleRow.textContent()).toContain('owner@acme.test');
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-user.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('shows the help desk only what it may do: factors and signing out', async () => {
    const { userId: deskId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'desk@acme.test',
      password: PASSWORD,
      role: 'helpdesk',
    });
    const desk = (await inst.store.principals.findById(accountId, deskId))!;
    // The help desk acts on ordinary users only (G6): Pat is one again.
    if ((await pat()).role !== 'user')
      await inst.app.changeUserRole({
        actor: { kind: 'operator' },
        ctx: { requestId: 'test', sourceIp: null, userAgent: 'test' },
        accountId,
        userRef: patId,
        role: 'user',
      });
    const {
      page: deskPage,
      context: deskContext,
      problems: deskProblems,
    } = await openSignedInTab({ browser, inst, origin, principal: desk, factorId: 'desk-phone' });
    const refused: string[] = [];
    deskPage.on('response', (res) => {
      if (res.status() === 403) refused.push(new URL(res.url()).pathname);
    });
    try {
      await deskPage.goto(`/admin/users/${patId}`);
      await deskPage.getByRole('heading', { name: 'Second factors', level: 2 }).waitFor();
      await deskPage.waitForLoadState('networkidle');
      const headings = await deskPage.getByRole('heading', { level: 2 }).allTextContents();
      expect(headings).toEqual(['Manage', 'Second factors']);
      const buttons = await deskPage.locator('main button').allTextContents();
      expect(buttons).toEqual(['Sign out everywhere']);
      // Nothing on the page asked for what the help desk may not read.
      expect(refused).toEqual([]);
      patToken = await api.passwordToken('pat@acme.test');
      const live = (await inst.store.sessions.listLive(accountId, patId, Date.now())).length;
      await deskPage.getByRole('button', { name: 'Sign out everywhere' }).click();
      await expect
        .poll(() => deskPage.getByTestId('user-action-result').textContent())
        .toBe(`${live} session${live === 1 ? '' : 's'} ended.`);
      expect((await api.http({ method: 'GET', url: '/v1/session', token: patToken })).status).toBe(401);
      expect(deskProblems).toEqual([]);
    } finally {
      await settleWithin(deskContext.close(), 5_000);
    }
  });

  it('has no sideways scrolling at 390 px and no serious axe finding there', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await openPat();
    await page.getByTestId('create-key').click();
    await page.getByTestId('new-key').waitFor();
    await page.waitForLoadState('networkidle');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(await axeSeriousOrCritical()).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
