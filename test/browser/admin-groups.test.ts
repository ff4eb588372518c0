// @vitest-environment node
/**
 * The groups page in Debian's Chromium: create a group, add and remove a member, attach and
 * detach a managed policy, save and delete an inline policy (a document the linter refuses is
 * said in words and not saved). Every action through the page, its effect checked through the API.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SCREENSHOTS,
  axeSeriousOrCritical,
  documentWidth,
  startAdminConsole,
  type AdminConsole,
  type SignedInPage,
} from '../helpers/admin-console.js';
import { withoutClients } from '../helpers/external-clients.js';
import type { HttpRequest } from '../helpers/mfa.js';

const READ_ONLY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['iam:GetUser', 'iam:ListUsers'], Resource: '*' }],
});

describe.skipIf(withoutClients('chromium'))('groups page in Chromium', () => {
  let c: AdminConsole;
  let alice: string;
  let tab: SignedInPage;
  const api = async (method: HttpRequest['method'], url: string, body?: unknown) =>
    (await c.api('owner@acme.test'))(method, url, body);
  const group = () => tab.page.locator('section[data-group="engineers"]');
  const said = (text: string | RegExp) => tab.page.getByText(text).waitFor();

  beforeAll(async () => {
    c = await startAdminConsole();
    alice = await c.addPerson('alice@acme.test', 'user');
    expect(
      (
        await api('POST', '/v1/policies', {
          name: 'ReadUsers',
          document: READ_ONLY,
          description: 'Read users',
        })
      ).status,
    ).toBe(201);
    tab = await c.open('owner@acme.test');
  }, 240_000);
  afterAll(async () => c?.close(), 60_000);

  it('creates a group and adds a member', async () => {
    const { page } = tab;
    await page.goto('/admin/groups');
    await page.getByText('No groups yet.').waitFor();
    await page.getByLabel('Group name').fill('engineers');
    await page.getByRole('button', { name: 'Create group' }).click();
    await group().waitFor();
    await group().getByLabel('Add a member to engineers (e-mail or user name)').fill('alice@acme.test');
    await group().getByRole('button', { name: 'Add member' }).click();
    await said('alice@acme.test added.');
    const { groups } = (await api('GET', '/v1/groups')).body;
    expect(groups).toEqual([{ name: 'engineers', members: [alice] }]);
    expect(await group().getByText('alice@acme.test (User)').isVisible()).toBe(true);
  });

  it('attaches and detaches a managed policy', async () => {
    await group().getByLabel('Attach a managed policy to engineers').selectOption({ label: 'ReadUsers' });
    await group().getByRole('button', { name: 'Attach' }).click();
    await said('ReadUsers attached.');
    let attached = (await api('GET', '/v1/groups/engineers/attached-policies')).body.policies;
    expect(attached.map((p: { name: string }) => p.name)).toEqual(['ReadUsers']);
    // Nothing left to attach: the button says so by being disabled.
    expect(await group().getByRole('button', { name: 'Attach' }).isDisabled()).toBe(true);
    await tab.page.screenshot({ path: join(SCREENSHOTS, 'admin-groups.png'), fullPage: true });
    await group().getByRole('button', { name: 'Detach ReadUsers from engineers' }).click();
    await said('ReadUsers detached.');
    attached = (await api('GET', '/v1/groups/engineers/attached-policies')).body.policies;
    expect(attached).toEqual([]);
  });

  it('saves an inline policy, refuses one the linter rejects, and deletes it', async () => {
    await group().getByLabel('Inline policy name (engineers)').fill('broken');
    await group()
      .getByLabel('Inline policy document (engineers, JSON)')
      .fill('{"Version": "2012-10-17", "Statement": ');
    await group().getByRole('button', { name: 'Save inline policy' }).click();
    const alert = tab.page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/POLICY_MALFORMED|POLICY_LINT_FAILED/);
    expect((await api('GET', '/v1/groups/engineers/policies')).body.policies).toEqual([]);

    await group().getByLabel('Inline policy name (engineers)').fill('read-users');
    await group().getByLabel('Inline policy document (engineers, JSON)').fill(READ_ONLY);
    await group().getByRole('button', { name: 'Save inline policy' }).click();
    await said('Inline policy read-users saved.');
    const inline = (await api('GET', '/v1/groups/engineers/policies')).body.policies;
    expect(inline.map((p: { name: string }) => p.name)).toEqual(['read-users']);
    await group().getByRole('button', { name: 'Delete inline policy read-users of engineers' }).click();
    await said('Inline policy read-users deleted.');
    expect((await api('GET', '/v1/groups/engineers/policies')).body.policies).toEqual([]);
  });

  it('removes a member', async () => {
    await group().getByRole('button', { name: 'Remove alice@acme.test (User) from engineers' }).click();
    await said('alice@acme.test (User) removed.');
    expect((await api('GET', '/v1/groups')).body.groups).toEqual([{ name: 'engineers', members: [] }]);
    expect(tab.problems).toEqual([]);
  });

  it('passes axe-core at 1,280 and 390 px and does not scroll sideways at 390 px', async () => {
    await api('PUT', `/v1/groups/engineers/members/${alice}`);
    await api('POST', '/v1/groups/engineers/attached-policies', {
      policyArn: `arn:aws:iam::${c.accountId}:policy/ReadUsers`,
    });
    const { page } = tab;
    await page.goto('/admin/groups');
    await group().waitFor();
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 800 });
    expect(await documentWidth(page)).toBeLessThanOrEqual(390);
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-groups-390.png'), fullPage: false });
  });
});
