// @vitest-environment node
/**
 * The outbox page in Debian's Chromium: messages newest first with recipient, kind, delivery
 * state, attempts and last error, one request per page, filtered by state; the setup links the
 * invitations carry never reach the page; the help desk is refused in words.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SCREENSHOTS,
  axeSeriousOrCritical,
  documentWidth,
  startAdminConsole,
  type AdminConsole,
} from '../helpers/admin-console.js';
import { withoutClients } from '../helpers/external-clients.js';

describe.skipIf(withoutClients('chromium'))('outbox page in Chromium', () => {
  let c: AdminConsole;
  /** Setup-link tokens sealed in the invitations. */
  const secrets: string[] = [];
  const INVITED = 55;

  beforeAll(async () => {
    c = await startAdminConsole();
    await c.addPerson('helpdesk@acme.test', 'helpdesk');
    const ctx = { requestId: 'seed', sourceIp: null, userAgent: 'test' };
    for (let i = 0; i < INVITED; i++) {
      const n = String(i).padStart(2, '0');
      const { setup } = await c.inst.app.createUser({
        actor: { kind: 'operator' },
        ctx,
        accountId: c.accountId,
        email: `invitee-${n}@acme.test`,
        invite: true,
      });
      secrets.push(setup.token);
    }
    // Two deliveries fail for good (the mail server refuses them); the rest go out.
    await c.inst.app.deliverDue({
      transports: {
        email: {
          send: async (m) => {
            if (m.to === 'invitee-00@acme.test' || m.to === 'invitee-01@acme.test')
              throw new Error('550 5.1.1 mailbox unavailable');
          },
        },
      },
      publicUrl: c.origin,
      claimId: 'outbox-page-test',
      leaseMs: 30_000,
      maxAttempts: 1,
      backoffBaseMs: 1000,
      backoffMaxMs: 10_000,
      batchSize: 100,
    });
  }, 240_000);
  afterAll(async () => c?.close(), 60_000);

  it('lists the newest 50 in one request, with kind, state and errors, and no link or code', async () => {
    const { page, calls, problems } = await c.open('owner@acme.test');
    await page.goto('/admin/outbox');
    const table = page.getByTestId('outbox-table');
    await table.waitFor();
    expect(calls.filter((x) => x.startsWith('GET /v1/outbox'))).toEqual(['GET /v1/outbox?limit=50&offset=0']);
    expect(await table.locator('tbody tr').count()).toBe(50);
    const api = await c.api('owner@acme.test');
    const listed = (await api('GET', '/v1/outbox?limit=50')).body.messages as Array<{ id: string }>;
    expect(
      await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-message'))),
    ).toEqual(listed.map((m) => m.id));
    const delivered = table.locator('tbody tr', { hasText: 'invitee-54@acme.test' });
    expect(await delivered.textContent()).toContain('Invitation with setup link');
    expect(await delivered.locator('td').nth(1).textContent()).toMatch(/^Sent/);
    const html = await page.content();
    for (const secret of secrets) expect(html).not.toContain(secret);
    expect(html).not.toContain('/setup#token=');
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-outbox.png'), fullPage: false });
    expect(problems).toEqual([]);
  });

  it('filters failed messages and pages, one request each, the view kept in the address', async () => {
    const { page, calls } = await c.open('owner@acme.test');
    await page.goto('/admin/outbox');
    await page.getByTestId('outbox-table').waitFor();
    await page.getByLabel('Delivery state').selectOption('failed');
    await expect
      .poll(() => page.getByTestId('outbox-table').locator('caption').textContent())
      .toMatch(/failed/);
    expect(new URL(page.url()).searchParams.get('state')).toBe('failed');
    const rows = page.getByTestId('outbox-table').locator('tbody tr');
    const failed = await rows.evaluateAll((r) => r.map((row) => row.querySelector('th')?.textContent));
    expect(failed.sort()).toEqual(['invitee-00@acme.test', 'invitee-01@acme.test']);
    const refused = rows.filter({ hasText: 'invitee-00@acme.test' });
    expect(await refused.textContent()).toContain('550 5.1.1 mailbox unavailable');
    expect(await refused.textContent()).toContain('Failed (given up)');
    // Checked against the API: the same three, failed after one attempt.
    const api = await c.api('owner@acme.test');
    const viaApi = (await api('GET', '/v1/outbox?state=failed')).body.messages as Array<{
      recipient: string;
      attempts: number;
    }>;
    expect(viaApi.map((m) => m.recipient).sort()).toEqual(failed.sort());
    expect(viaApi.every((m) => m.attempts === 1)).toBe(true);

    await page.getByLabel('Delivery state').selectOption('');
    await page.getByTestId('outbox-table').locator('caption', { hasText: 'Messages 1–50' }).waitFor();
    const before = calls.filter((x) => x.startsWith('GET /v1/outbox')).length;
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByTestId('outbox-table').locator('caption', { hasText: 'Messages 51–55' }).waitFor();
    expect(calls.filter((x) => x.startsWith('GET /v1/outbox')).slice(before)).toEqual([
      'GET /v1/outbox?limit=50&offset=50',
    ]);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
  });

  it('refuses the help desk in words', async () => {
    const { page } = await c.open('helpdesk@acme.test');
    await page.goto('/admin/outbox');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^You are not allowed to do this\..*AUTH_FORBIDDEN/);
    expect(await page.getByTestId('outbox-table').count()).toBe(0);
  });

  it('passes axe-core at 1,280 and 390 px and does not scroll sideways at 390 px', async () => {
    const { page } = await c.open('owner@acme.test');
    await page.goto('/admin/outbox?state=failed');
    await page.getByTestId('outbox-table').waitFor();
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 800 });
    expect(await documentWidth(page)).toBeLessThanOrEqual(390);
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-outbox-390.png'), fullPage: false });
  });
});
