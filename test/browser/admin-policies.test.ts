// @vitest-environment node
/**
 * The policies page in Debian's Chromium against the real API: a policy created and edited with
 * the linter running as it is typed (a document with errors is not saved), its versions with an
 * older one put back in force, and the policy attached to a user and to a group. Every action
 * through the page, its effect checked through the API.
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

const doc = (actions: string[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });

describe.skipIf(withoutClients('chromium'))('policies page in Chromium', () => {
  let c: AdminConsole;
  let alice: string;
  let tab: SignedInPage;
  const api = async (method: HttpRequest['method'], url: string, body?: unknown) =>
    (await c.api('owner@acme.test'))(method, url, body);
  const item = () => tab.page.locator('li[data-policy="ReadUsers"]');
  const said = (text: string) => tab.page.getByText(text, { exact: true }).waitFor();
  const versions = async () =>
    (
      (await api('GET', '/v1/policies/ReadUsers/versions')).body.versions as Array<{
        versionId: string;
        isDefault: boolean;
        document: string;
      }>
    ).map((v) => [v.versionId, v.isDefault]);

  beforeAll(async () => {
    c = await startAdminConsole();
    alice = await c.addPerson('alice@acme.test', 'user');
    expect((await api('POST', '/v1/groups', { name: 'engineers' })).status).toBe(201);
    tab = await c.open('owner@acme.test');
  }, 240_000);
  afterAll(async () => c?.close(), 60_000);

  it('lints as the document is typed, refuses to save errors, and creates the policy', async () => {
    const { page, calls } = tab;
    await page.goto('/admin/policies');
    await page.getByText('No policies yet.').waitFor();
    await page.getByLabel('Policy name').fill('ReadUsers');
    await page.getByLabel('Description (optional)').fill('Read the user list');
    const lintCalls = () => calls.filter((x) => x === 'POST /v1/policies/lint').length;
    await page.getByLabel('Policy document (JSON)').fill('{"Version": "2012-10-17", "Statement": ');
    const findings = page.getByTestId('lint-findings');
    await expect.poll(() => findings.locator('caption').textContent()).toMatch(/^1 error/);
    expect(lintCalls()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Create policy' }).click();
    await page.getByText('The document has errors (listed above): fix them before saving.').waitFor();
    expect((await api('GET', '/v1/policies')).body.policies).toEqual([]);

    await page.getByLabel('Policy document (JSON)').fill(doc(['iam:GetUser']));
    await expect.poll(() => page.getByTestId('live-lint').textContent()).not.toMatch(/error/);
    await page.getByRole('button', { name: 'Create policy' }).click();
    await said('Policy ReadUsers created.');
    const [created] = (await api('GET', '/v1/policies')).body.policies;
    expect(created).toMatchObject({ name: 'ReadUsers', description: 'Read the user list' });
    expect(JSON.parse(created.document).Statement[0].Action).toEqual(['iam:GetUser']);
  });

  it('edits the policy as a new version in force, then puts the first version back', async () => {
    const { page } = tab;
    await item().getByRole('button', { name: 'Edit ReadUsers' }).click();
    await page.getByRole('heading', { name: 'Edit ReadUsers' }).waitFor();
    expect(await page.getByLabel('Policy name').getAttribute('readonly')).toBe('');
    await page.getByLabel('Policy document (JSON)').fill(doc(['iam:GetUser', 'iam:ListUsers']));
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await said('Policy ReadUsers saved as version v2, now in force.');
    expect(await versions()).toEqual([
      ['v2', true],
      ['v1', false],
    ]);

    await item().locator('summary', { hasText: 'Versions' }).click();
    await item().getByRole('button', { name: 'Put v1 of ReadUsers in force' }).click();
    await said('Version v1 of ReadUsers is in force.');
    expect(await versions()).toEqual([
      ['v2', false],
      ['v1', true],
    ]);
  });

  it('attaches the policy to a user and to a group', async () => {
    const { page } = tab;
    await item().getByLabel('Attach ReadUsers to a user (e-mail or user name)').fill('alice@acme.test');
    await item().getByRole('button', { name: 'Attach to user' }).click();
    await said('ReadUsers attached to alice@acme.test.');
    const onUser = (await api('GET', `/v1/users/${alice}/attached-policies`)).body.policies;
    expect(onUser.map((p: { name: string }) => p.name)).toEqual(['ReadUsers']);

    await item().getByLabel('Attach ReadUsers to a group').selectOption('engineers');
    await item().getByRole('button', { name: 'Attach to group' }).click();
    await said('ReadUsers attached to group engineers.');
    const onGroup = (await api('GET', '/v1/groups/engineers/attached-policies')).body.policies;
    expect(onGroup.map((p: { name: string }) => p.name)).toEqual(['ReadUsers']);
    expect(await item().textContent()).toContain('Attached 2 times');
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-policies-edit.png'), fullPage: true });
    expect(tab.problems).toEqual([]);
  });

  it('passes axe-core at 1,280 and 390 px and does not scroll sideways at 390 px', async () => {
    const { page } = tab;
    await page.goto('/admin/policies');
    await item().waitFor();
    await item().getByRole('button', { name: 'Edit ReadUsers' }).click();
    await page.getByTestId('lint-findings').or(page.getByText('No findings.')).first().waitFor();
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 800 });
    expect(await documentWidth(page)).toBeLessThanOrEqual(390);
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-policies-390.png'), fullPage: false });
  });
});
