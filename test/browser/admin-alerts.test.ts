// @vitest-environment node
/**
 * The alerts page in Debian's Chromium: what the detection rules raised, newest first, with the
 * kinds in words and the people named (not ids), filtered on the server by severity, kind and
 * status; acknowledging an alert with a note, after which it shows as acknowledged with the note
 * and the audit log holds the record. No sideways scrolling and no serious axe-core finding at
 * 390 and 1,280 px.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/recovery/types.js';
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

clientSuite('the alerts page in Chromium', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let accountId: string;
  let ownerId: string;
  let ursulaId: string;
  let calls: string[] = [];
  let problems: string[] = [];

  beforeAll(async () => {
    await ensureConsoleBuilt();
    inst = await createTestInstallation('sqlite', { clock: new WallClock() });
    ({ accountId, userId: ownerId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    }));
    ({ userId: ursulaId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'ursula@acme.test',
      password: PASSWORD,
      role: 'user',
    }));
    const { userId: adaId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'ada@acme.test',
      password: PASSWORD,
      role: 'admin',
    });
    server = await buildTestServer(inst);
    const api = mfaApi(injectHttp(server), 'acme');
    const ownerFactorId = await enrolTotpOverApi(api, 'owner@acme.test', 'Owner phone');
    const now = Date.now();

    // Alerts of three kinds, each on a real audit event of the account (the rules that raise
    // them are tested in src/core/alerts and test/integration; here the page is what matters).
    const events = await inst.store.audit.query({ accountId, limit: 3 });
    const alert = (n: number, a: Pick<Alert, 'ruleId' | 'severity' | 'principalId' | 'summary'>): Alert => ({
      id: `alr_page_${n}`,
      accountId,
      eventId: events[n]!.eventId,
      details: {},
      createdAt: now - (3 - n) * 60_000,
      acknowledged: null,
      ...a,
    });
    await inst.store.recovery.insertAlert(
      alert(0, {
        ruleId: 'HF-RESET',
        severity: 'high',
        principalId: ursulaId,
        summary: 'MFA reset: request',
      }),
    );
    await inst.store.recovery.insertAlert(
      alert(1, {
        ruleId: 'HF-ADMIN-WITHOUT-MFA',
        severity: 'high',
        principalId: adaId,
        summary: 'an owner or admin has no enabled second factor',
      }),
    );
    await inst.store.recovery.insertAlert(
      alert(2, {
        ruleId: 'HF-RECOVERY-CODE',
        severity: 'medium',
        principalId: ursulaId,
        summary: 'a recovery code was used',
      }),
    );

    origin = await listenOnLocalhost(server);
    const owner = (await inst.store.principals.findById(accountId, ownerId))!;
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

  const table = () => page.getByTestId('alerts-table');
  const caption = () => table().locator('caption').textContent();
  const row = (id: string) => table().locator(`tr[data-alert-id="${id}"]`);
  const cell = (id: string, label: string) => row(id).locator(`[data-label="${label}"]`);
  const shownIds = () =>
    table()
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-alert-id')));
  const alertCalls = () => calls.filter((c) => c.startsWith('GET /v1/alerts'));

  const axeSeriousOrCritical = () => axeOf(page);
  const pageWidth = async () => (await page.evaluate('document.documentElement.scrollWidth')) as number;

  it('lists the alerts newest first with kinds in words and people by name, never by id alone', async () => {
    await page.goto('/admin/alerts');
    await expect.poll(caption).toBe('3 alerts, newest first; 3 open');
    expect(alertCalls()).toHaveLength(1);
    expect(await shownIds()).toEqual(['alr_page_2', 'alr_page_1', 'alr_page_0']);
    expect(await cell('alr_page_0', 'Kind').evaluate((td) => td.firstChild?.textContent)).toBe(
      'Help-desk reset of a second factor',
    );
    expect(await cell('alr_page_0', 'Person concerned').innerText()).toBe('ursula@acme.test');
    expect(await cell('alr_page_1', 'Person concerned').innerText()).toBe('ada@acme.test');
    expect(await cell('alr_page_1', 'Severity').innerText()).toBe('High');
    expect(await cell('alr_page_2', 'Status').innerText()).toBe('Open');
    // No principal id shows anywhere outside the support details.
    const visible = await table().evaluate((t) => (t as unknown as { innerText: string }).innerText);
    expect(visible).not.toContain(ursulaId);
    // The rule id stays behind "Details".
    const details = cell('alr_page_0', 'Kind').locator('details');
    await details.locator('summary').click();
    expect(await details.innerText()).toContain('Rule HF-RESET');
    expect(problems).toEqual([]);
  });

  it('filters by severity, kind and status on the server, one request each', async () => {
    await page.goto('/admin/alerts');
    await expect.poll(caption).toMatch(/^3 alerts/);
    let before = alertCalls().length;
    await page.getByLabel('Severity').selectOption('medium');
    await expect.poll(caption).toBe('1 alert, newest first; 1 open');
    expect(alertCalls()).toHaveLength(before + 1);
    expect(alertCalls().at(-1)).toContain('severity=medium');
    expect(await shownIds()).toEqual(['alr_page_2']);

    await page.getByLabel('Severity').selectOption('');
    await expect.poll(caption).toMatch(/^3 alerts/);
    before = alertCalls().length;
    await page.getByLabel('Kind').selectOption('HF-ADMIN-WITHOUT-MFA');
    await expect.poll(caption).toBe('1 alert, newest first; 1 open');
    expect(alertCalls().at(-1)).toContain('rule=HF-ADMIN-WITHOUT-MFA');
    expect(await shownIds()).toEqual(['alr_page_1']);
    expect(new URL(page.url()).searchParams.get('rule')).toBe('HF-ADMIN-WITHOUT-MFA');

    await page.getByLabel('Kind').selectOption('');
    await page.getByLabel('Status').selectOption('acknowledged');
    await expect.poll(caption).toBe('No alert matches these filters.');
    expect(alertCalls().at(-1)).toContain('state=acknowledged');
    expect(problems).toEqual([]);
  });

  it('acknowledges an alert with a note: it shows as acknowledged, with the note, and is audited', async () => {
    await page.goto('/admin/alerts');
    await expect.poll(caption).toMatch(/^3 alerts/);
    await row('alr_page_0')
      .getByRole('button', { name: /^Acknowledge/ })
      .click();
    const dialog = page.getByTestId('ack-dialog');
    await dialog.waitFor();
    expect(await dialog.locator('p').first().innerText()).toMatch(
      /^Help-desk reset of a second factor \(ursula@acme\.test\), raised /,
    );
    expect(await axeSeriousOrCritical()).toEqual([]);
    const note = 'Called Ursula on her desk phone: she asked for the reset herself.';
    await dialog.getByLabel('Note (what you found or did)').fill(note);
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await expect
      .poll(() => cell('alr_page_0', 'Status').innerText())
      .toMatch(/^Acknowledged by owner@acme\.test, /);
    expect(await cell('alr_page_0', 'Status').locator('q').innerText()).toBe(note);
    expect(await cell('alr_page_0', 'Action').innerText()).toBe('—');
    await page.getByText('Acknowledged: Help-desk reset of a second factor.').waitFor();

    const stored = await inst.store.recovery.findAlert(accountId, 'alr_page_0');
    expect(stored!.acknowledged).toMatchObject({ by: ownerId, note });
    const records = await inst.store.audit.query({ accountId, action: 'alert.acknowledge', limit: 10 });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ actorId: ownerId, target: 'alr_page_0', outcome: 'success' });
    expect(records[0]!.details).toMatchObject({ ruleId: 'HF-RESET', note });

    // After a reload the filters agree: one acknowledged, two open.
    await page.goto('/admin/alerts?state=acknowledged');
    await expect.poll(caption).toBe('1 alert, newest first; 0 open');
    expect(await cell('alr_page_0', 'Status').locator('q').innerText()).toBe(note);
    // The audit log page shows the acknowledgement in words, by whom, with the note in the record.
    await page.goto('/admin/audit?action=alert.acknowledge');
    const auditRow = page.getByTestId('audit-records').locator('tbody tr').first();
    await expect
      .poll(() => auditRow.locator('td[data-label="Event"]').innerText())
      .toMatch(/^Alert acknowledged/);
    expect(await auditRow.locator('td[data-label="Who acted"]').innerText()).toContain('owner@acme.test');
    expect(problems).toEqual([]);
  });

  it('says so when someone else acknowledged the alert first, and keeps their note', async () => {
    await page.goto('/admin/alerts?state=open');
    await expect.poll(caption).toBe('2 alerts, newest first; 2 open');
    await row('alr_page_2')
      .getByRole('button', { name: /^Acknowledge/ })
      .click();
    const dialog = page.getByTestId('ack-dialog');
    await dialog.waitFor();
    // Meanwhile another administrator acknowledges it.
    const ada = (await inst.store.principals.findByLogin(accountId, 'ada@acme.test'))!;
    await inst.store.recovery.acknowledgeAlert({
      accountId,
      id: 'alr_page_2',
      acknowledgement: { at: Date.now(), by: ada.id, note: 'Mine: I handled it.' },
    });
    await dialog.getByLabel('Note (what you found or did)').fill('Me too');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => dialog.getByRole('alert').innerText()).toContain('acknowledged already');
    expect((await inst.store.recovery.findAlert(accountId, 'alr_page_2'))!.acknowledged!.note).toBe(
      'Mine: I handled it.',
    );
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(problems).toEqual([]);
  });

  it('fits 1,280 and 390 px without sideways scrolling, and axe-core finds nothing serious', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/admin/alerts');
    await expect.poll(caption).toMatch(/^3 alerts/);
    expect(await pageWidth()).toBeLessThanOrEqual(1280);
    expect(await axeSeriousOrCritical()).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-alerts.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto('/admin/alerts');
    await expect.poll(caption).toMatch(/^3 alerts/);
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    expect(
      await table()
        .locator('tbody tr')
        .first()
        .locator('td')
        .first()
        .evaluate((td) => {
          type View = { getComputedStyle(el: unknown, pseudo: string): { content: string } };
          const view = (td as unknown as { ownerDocument: { defaultView: View } }).ownerDocument.defaultView;
          return view.getComputedStyle(td, '::before').content;
        }),
    ).toBe('"Kind: "');
    expect(await axeSeriousOrCritical()).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-alerts-390.png'), fullPage: false });
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(problems).toEqual([]);
  });
});
