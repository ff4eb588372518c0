// @vitest-environment node
/**
 * The help-desk page in Debian's Chromium: a help-desk agent requests a reset with the evidence
 * checklist and sees only the form; an administrator's own request shows it cannot be approved by
 * them; another owner approves it as second approver; a reset is cancelled; each request shows
 * its wait and who was told. Every action is done through the page and checked through the API.
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

interface Reset {
  id: string;
  userId: string;
  state: string;
  requestedBy: string | null;
  approvals: string[];
  evidence: Array<{ kind: string; note: string }>;
  waitUntil: string | null;
}

describe.skipIf(withoutClients('chromium'))('help-desk resets page in Chromium', () => {
  let c: AdminConsole;
  const ids: Record<string, string> = {};
  const resets = async (): Promise<Reset[]> => {
    const res = await (await c.api('owner@acme.test'))('GET', '/v1/resets');
    expect(res.status).toBe(200);
    return res.body.requests as Reset[];
  };
  const resetOf = async (userId: string) => (await resets()).find((r) => r.userId === userId);

  beforeAll(async () => {
    c = await startAdminConsole();
    ids['owner@acme.test'] = (await c.inst.store.principals.findByLogin(c.accountId, 'owner@acme.test'))!.id;
    for (const [email, role] of [
      ['admin1@acme.test', 'admin'],
      ['admin2@acme.test', 'admin'],
      ['helpdesk@acme.test', 'helpdesk'],
      ['alice@acme.test', 'user'],
      ['bob@acme.test', 'user'],
    ] as const) {
      ids[email] = await c.addPerson(email, role);
    }
  }, 240_000);
  afterAll(async () => c?.close(), 60_000);

  it('lets the help desk request a reset with evidence, and shows it only the form', async () => {
    const { page, calls, problems } = await c.open('helpdesk@acme.test');
    await page.goto('/admin/resets');
    await page.getByRole('heading', { name: 'Request a reset' }).waitFor();
    expect(await page.getByText('Your role opens resets for users').isVisible()).toBe(true);
    await page.getByLabel('User (e-mail or user name)').fill('alice@acme.test');
    await page.getByLabel('Called back the phone number on file').check();
    await page
      .getByLabel('What you saw or were told')
      .first()
      .fill('Called +44 20 7946 0000, Alice confirmed');
    await page.getByLabel('Reason (optional)').fill('Phone lost on a trip');
    await page.getByRole('button', { name: 'Request reset' }).click();
    await page.getByText(/Reset requested for alice@acme.test\. It takes effect at/).waitFor();

    const reset = await resetOf(ids['alice@acme.test']!);
    expect(reset).toMatchObject({
      state: 'waiting',
      requestedBy: ids['helpdesk@acme.test'],
      evidence: [{ kind: 'phone_callback', note: 'Called +44 20 7946 0000, Alice confirmed' }],
    });
    // The help desk may not list, approve or cancel: the page never asks.
    expect(calls.filter((x) => x.startsWith('GET /v1/resets'))).toEqual([]);
    expect(await page.getByTestId('resets-table').count()).toBe(0);
    // Nor are the pages whose every call would be refused to it offered in the navigation.
    const nav = page.getByRole('navigation', { name: 'Administration' });
    expect(await nav.getByRole('link', { name: 'Help desk' }).count()).toBe(1);
    for (const name of ['Outbox', 'Groups', 'Settings', 'Policies'])
      expect(await nav.getByRole('link', { name, exact: true }).count()).toBe(0);

    // An administrator is out of the help desk's reach (G6), said in words; nothing is opened.
    await page.getByLabel('User (e-mail or user name)').fill('admin2@acme.test');
    await page.getByLabel('The person read out a valid code').check();
    await page.getByLabel('What you saw or were told').nth(1).fill('Read a code');
    await page.getByRole('button', { name: 'Request reset' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(
      /^A safety rule refuses this: .*the help desk never acts on owners or administrators\..*GUARDRAIL_DENIED/,
    );
    expect(await resetOf(ids['admin2@acme.test']!)).toBeUndefined();
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-resets-helpdesk.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('refuses a request without a checked item of the checklist, in plain words', async () => {
    const { page } = await c.open('admin1@acme.test');
    await page.goto('/admin/resets');
    await page.getByLabel('User (e-mail or user name)').fill('bob@acme.test');
    await page.getByRole('button', { name: 'Request reset' }).click();
    await page.getByText(/Tick at least one check you made/).waitFor();
    expect(await resetOf(ids['bob@acme.test']!)).toBeUndefined();
  });

  it('shows an administrator that their own request needs someone else; another owner approves it', async () => {
    const admin = await c.open('admin1@acme.test');
    await admin.page.goto('/admin/resets');
    await admin.page.getByLabel('User (e-mail or user name)').fill('admin2@acme.test');
    await admin.page.getByLabel('Checked an official identity document').check();
    await admin.page.getByLabel('What you saw or were told').nth(2).fill('Passport checked in person');
    await admin.page.getByRole('button', { name: 'Request reset' }).click();
    await admin.page
      .getByText(/It needs a second approver: another owner or administrator \(not you\)/)
      .waitFor();
    const pending = (await resetOf(ids['admin2@acme.test']!))!;
    expect(pending).toMatchObject({ state: 'awaiting_approval', requestedBy: ids['admin1@acme.test'] });

    const row = admin.page.locator(`tr[data-request="${pending.id}"]`);
    await row.waitFor();
    expect(await row.getByTestId('own-request').textContent()).toBe(
      'You asked for this reset, so you cannot approve it: another owner or administrator must.',
    );
    expect(await row.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    // Everyone who can stop it was told at once: the person and every owner and administrator.
    const told = await row.locator('td').nth(4).textContent();
    for (const who of ['admin2@acme.test', 'owner@acme.test', 'admin1@acme.test'])
      expect(told).toContain(who);
    await admin.page.screenshot({ path: join(SCREENSHOTS, 'admin-resets.png'), fullPage: true });

    const owner = await c.open('owner@acme.test');
    await owner.page.goto('/admin/resets');
    const ownerRow = owner.page.locator(`tr[data-request="${pending.id}"]`);
    await ownerRow.getByRole('button', { name: 'Approve' }).click();
    await owner.page.getByText(/Approved: the waiting period for admin2@acme.test/).waitFor();
    const approved = (await resetOf(ids['admin2@acme.test']!))!;
    expect(approved).toMatchObject({ state: 'waiting', approvals: [ids['owner@acme.test']] });
    expect(Date.parse(approved.waitUntil!)).toBeGreaterThan(Date.now());
    expect(await ownerRow.textContent()).toMatch(/Takes effect at .* unless cancelled/);
    expect(owner.problems).toEqual([]);
  });

  it('cancels a reset from the page', async () => {
    const { page, problems } = await c.open('owner@acme.test');
    await page.goto('/admin/resets');
    const reset = (await resetOf(ids['alice@acme.test']!))!;
    await page.locator(`tr[data-request="${reset.id}"]`).getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Cancelled: nothing changed.').waitFor();
    expect((await resetOf(ids['alice@acme.test']!))!.state).toBe('cancelled');
    expect(await page.locator(`tr[data-request="${reset.id}"]`).textContent()).toContain('Cancelled at');
    expect(problems).toEqual([]);
  });

  it('passes axe-core at 1,280 and 390 px and does not scroll sideways at 390 px', async () => {
    for (const login of ['owner@acme.test', 'helpdesk@acme.test']) {
      const { page } = await c.open(login);
      await page.goto('/admin/resets');
      await page.getByRole('heading', { name: 'Request a reset' }).waitFor();
      if (login === 'owner@acme.test') await page.getByTestId('resets-table').waitFor();
      expect(await axeSeriousOrCritical(page)).toEqual([]);
      await page.setViewportSize({ width: 390, height: 800 });
      expect(await documentWidth(page)).toBeLessThanOrEqual(390);
      expect(await axeSeriousOrCritical(page)).toEqual([]);
      if (login === 'owner@acme.test')
        await page.screenshot({ path: join(SCREENSHOTS, 'admin-resets-390.png'), fullPage: false });
    }
  });
});
