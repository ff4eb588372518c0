// @vitest-environment node
/**
 * The audit log page in Debian's Chromium: newest first, filters decided by the server (who
 * acted, done to whom, event, outcome, time range), one request per page, people named beside
 * their ids, a detail view of one record with its hash-chain fields and request id, and a
 * download of the filtered view as JSON lines and as a CloudTrail log file, checked by parsing
 * the downloaded files. No sideways scrolling and no serious axe-core finding at 390 and 1,280 px.
 */
import { mkdirSync, readFileSync } from 'node:fs';
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
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import { PASSWORD, WallClock, expectStatus, injectHttp, mfaApi } from '../helpers/mfa.js';

const clientSuite = describe.skipIf(withoutClients('chromium'));
/** Users the owner adds over the API: more records than one page (50) holds. */
const ADDED = 60;

clientSuite('the audit log page in Chromium', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let accountId: string;
  let ownerId: string;
  /** Every /v1 request the page made, as `METHOD path?query`. */
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
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'ursula@acme.test',
      password: PASSWORD,
      role: 'user',
    });
    server = await buildTestServer(inst);
    const http = injectHttp(server);
    const api = mfaApi(http, 'acme');
    const ownerFactorId = await enrolTotpOverApi(api, 'owner@acme.test', 'Owner phone');
    // The owner adds people (records with a person on both sides); Ursula mistypes her password.
    const ownerToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'owner@acme.test' });
    for (let i = 0; i < ADDED; i++) {
      const n = String(i).padStart(2, '0');
      expectStatus(
        await http({
          method: 'POST',
          url: '/v1/users',
          body: { email: `person-${n}@acme.test`, role: 'user' },
          token: ownerToken,
        }),
        201,
      );
    }
    const wrong = await http({
      method: 'POST',
      url: '/v1/sign-in',
      body: { account: 'acme', login: 'ursula@acme.test', password: 'not her password at all' },
    });
    expect(wrong.status).toBe(401);

    origin = await listenOnLocalhost(server);
    const owner = (await inst.store.principals.findById(accountId, ownerId))!;
    browser = await launchChromium();
    ({ page, context, calls, problems } = await openSignedInTab({
      browser,
      inst,
      origin,
      principal: owner,
      factorId: ownerFactorId,
      contextOptions: { acceptDownloads: true },
    }));
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await settleWithin(context?.close(), 5_000);
    await settleWithin(browser?.close(), 10_000);
    await closeServer(server);
    await inst?.destroy();
  }, 60_000);

  const table = () => page.getByTestId('audit-records');
  const rows = () => table().locator('tbody tr');
  const caption = () => table().locator('caption').textContent();
  const seqs = async () =>
    await rows().evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-seq'))));
  const auditCalls = () => calls.filter((c) => c.startsWith('GET /v1/audit?'));
  /** The account's records, newest first, as the database holds them. */
  const stored = (q: { action?: string; actorId?: string; outcome?: 'failure' } = {}) =>
    inst.store.audit.query({ accountId, newestFirst: true, limit: 10_000, ...q });

  const axeSeriousOrCritical = () => axeOf(page);
  const pageWidth = async () => (await page.evaluate('document.documentElement.scrollWidth')) as number;

  it('shows the newest records first, 50 to a page, in one request, with people named beside their ids', async () => {
    await page.goto('/admin/audit');
    await expect.poll(caption).toMatch(/^50 records, newest first/);
    expect(auditCalls()).toHaveLength(1);
    expect(auditCalls()[0]).toContain('order=desc');
    const all = await stored();
    const shown = await seqs();
    expect(shown).toEqual(all.slice(0, 50).map((r) => r.seq));

    // The newest record naming a person added by the owner: names first, ids beside them.
    const added = all.find((r) => r.action === 'user.create')!;
    const row = table().locator(`tr[data-seq="${added.seq}"]`);
    expect(await row.locator('td[data-label="Event"]').innerText()).toMatch(/^User added/);
    expect(await row.locator('td[data-label="Who acted"]').innerText()).toBe(`owner@acme.test\n${ownerId}`);
    const person = (await inst.store.principals.findById(accountId, added.target!))!;
    expect(await row.locator('td[data-label="Done to"]').innerText()).toBe(`${person.email}\n${person.id}`);
    // The code stays behind the "Details" toggle of the event.
    const toggle = row.locator('td[data-label="Event"] details');
    expect(await toggle.locator('.code').isVisible()).toBe(false);
    await toggle.locator('summary').click();
    expect(await toggle.locator('.code').innerText()).toBe('Event user.create');

    // Older records: the next page, one more request, continuing without a gap.
    await page.getByRole('button', { name: 'Older records' }).click();
    await expect.poll(async () => (await seqs())[0]).toBe(all[50]!.seq);
    expect(await seqs()).toEqual(all.slice(50, 100).map((r) => r.seq));
    expect(auditCalls()).toHaveLength(2);
    expect(new URL(page.url()).searchParams.get('before')).toBe(String(all[49]!.seq));
    await page.getByRole('button', { name: 'Newest records' }).click();
    await expect.poll(async () => (await seqs())[0]).toBe(all[0]!.seq);
    expect(problems).toEqual([]);
  });

  it('filters on the server by who acted, event, outcome and time range', async () => {
    await page.goto('/admin/audit');
    await expect.poll(caption).toMatch(/^50 records/);

    let before = auditCalls().length;
    await page.getByLabel('Event').selectOption('user.create');
    await expect.poll(caption).toMatch(/filtered$/);
    expect(auditCalls()).toHaveLength(before + 1);
    expect(auditCalls().at(-1)).toContain('action=user.create');
    expect(new URL(page.url()).searchParams.get('action')).toBe('user.create');
    const events = await table()
      .locator('td[data-label="Event"]')
      .evaluateAll((tds) => tds.map((td) => td.firstChild?.textContent ?? ''));
    expect(new Set(events)).toEqual(new Set(['User added']));

    await page.getByLabel('Event').selectOption('');
    await page.getByLabel('Who acted').fill('nobody@acme.test');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(caption).toBe('No record matches these filters.');
    await page.getByLabel('Who acted').fill('owner@acme.test');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(caption).toMatch(/filtered$/);
    const actors = await table()
      .locator('td[data-label="Who acted"] .person')
      .evaluateAll((spans) => spans.map((span) => span.firstChild?.textContent ?? ''));
    expect(new Set(actors)).toEqual(new Set(['owner@acme.test']));
    const byOwner = await stored({ actorId: ownerId });
    expect(await seqs()).toEqual(byOwner.slice(0, 50).map((r) => r.seq));

    // Done to Ursula and refused: her mistyped password.
    await page.getByLabel('Who acted').fill('');
    await page.getByLabel('Done to').fill('ursula@acme.test');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(caption).toMatch(/filtered$/);
    before = auditCalls().length;
    await page.getByLabel('Outcome').selectOption('failure');
    await expect.poll(() => auditCalls().length).toBe(before + 1);
    await expect.poll(caption).toBe('1 record, newest first, filtered');
    expect(await rows().first().locator('td[data-label="Outcome"]').innerText()).toBe('Refused or failed');
    expect(await rows().first().locator('td[data-label="Done to"]').innerText()).toContain(
      'ursula@acme.test',
    );

    // A time range that ends before anything happened matches nothing.
    await page.getByLabel('Done to').fill('');
    await page.getByLabel('Outcome').selectOption('');
    await page.getByLabel('Until').fill('2001-01-01T00:00');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(caption).toBe('No record matches these filters.');
    expect(auditCalls().at(-1)).toContain('to=2001-01-01T');
    await page.getByLabel('Until').fill('');
    await page.getByLabel('From').fill('2001-01-01T00:00');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(caption).toMatch(/^50 records, newest first, filtered$/);
    expect(problems).toEqual([]);
  });

  it('opens one record in full: every field, the hash-chain links and the request id', async () => {
    await page.goto('/admin/audit?action=user.create');
    await expect.poll(caption).toMatch(/filtered$/);
    const [record] = await stored({ action: 'user.create' });
    await page.getByRole('button', { name: `Open record #${record!.seq}` }).click();
    const dialog = page.getByTestId('audit-detail');
    await dialog.waitFor();
    expect(await dialog.getByRole('heading').innerText()).toBe(`Record #${record!.seq}: User added`);
    const field = (label: string) =>
      dialog
        .locator('dt', { hasText: new RegExp(`^${label}$`) })
        .locator('xpath=following-sibling::dd[1]')
        .innerText();
    expect(await field('Hash of this record')).toBe(record!.hash);
    expect(await field('Hash of the previous record')).toBe(record!.prevHash);
    expect(await field('Event code')).toBe('user.create');
    expect(await field('Request id')).toBe(String(record!.details.requestId));
    expect(await field('Who acted')).toBe('owner@acme.test');
    expect(await field('Target id')).toBe(record!.target);
    expect(await field('Event id')).toBe(record!.eventId);
    expect(await axeSeriousOrCritical()).toEqual([]);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
  });

  it('downloads the filtered view as JSON lines and as a CloudTrail log file', async () => {
    await page.goto('/admin/audit?action=user.create');
    await expect.poll(caption).toMatch(/filtered$/);
    const want = (await stored({ action: 'user.create' })).map((r) => r.seq).reverse();
    expect(want.length).toBeGreaterThan(50); // more than the page: the export is the whole view

    const [lines] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download as JSON lines' }).click(),
    ]);
    expect(lines.suggestedFilename()).toBe('holdfast-audit-acme.jsonl');
    const records = readFileSync((await lines.path())!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; eventName: string; hash: string });
    expect(records.map((r) => r.seq)).toEqual(want);
    expect(new Set(records.map((r) => r.eventName))).toEqual(new Set(['user.create']));

    const [trail] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download as CloudTrail JSON' }).click(),
    ]);
    expect(trail.suggestedFilename()).toBe('holdfast-audit-acme.cloudtrail.json');
    const file = JSON.parse(readFileSync((await trail.path())!, 'utf8')) as {
      Records: Array<{ eventVersion: string; additionalEventData: { holdfastAction: string; seq: number } }>;
    };
    expect(file.Records.map((r) => r.additionalEventData.seq)).toEqual(want);
    expect(new Set(file.Records.map((r) => r.additionalEventData.holdfastAction))).toEqual(
      new Set(['user.create']),
    );
    expect(file.Records[0]!.eventVersion).toBe('1.08');
    await page.getByText('Download ready: every record of this view, oldest first.').waitFor();
    expect(problems).toEqual([]);
  });

  it('fits 1,280 and 390 px without sideways scrolling, and axe-core finds nothing serious', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/admin/audit');
    await expect.poll(caption).toMatch(/^50 records/);
    expect(await pageWidth()).toBeLessThanOrEqual(1280);
    expect(await axeSeriousOrCritical()).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-audit.png'), fullPage: false });

    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto('/admin/audit');
    await expect.poll(caption).toMatch(/^50 records/);
    const wide = (await page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > 391)
      .map((el) => el.tagName + '.' + el.className + '#' + el.id + ' ' + Math.round(el.getBoundingClientRect().right))
      .slice(0, 15)`)) as string[];
    expect(wide).toEqual([]);
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    // Each row reads as a labelled list item.
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
    ).toBe('"Event: "');
    expect(await axeSeriousOrCritical()).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-audit-390.png'), fullPage: false });
    const first = (await seqs())[0]!;
    await page.getByRole('button', { name: `Open record #${first}` }).click();
    await page.getByTestId('audit-detail').waitFor();
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(problems).toEqual([]);
  });
});
