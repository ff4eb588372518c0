// @vitest-environment node
/**
 * My access keys on the security page, in Debian's Chromium, for a person in the user role with a
 * session verified by a second factor: create a key (its secret shown once and never again), turn
 * it off, delete it; each step checked through the API. Another person's keys stay out of reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axeSeriousOrCritical,
  startAdminConsole,
  type AdminConsole,
  type SignedInPage,
} from '../helpers/admin-console.js';
import { withoutClients } from '../helpers/external-clients.js';

describe.skipIf(withoutClients('chromium'))('my access keys in Chromium', () => {
  let c: AdminConsole;
  let tab: SignedInPage;
  const keysOf = async (login: string) =>
    (await (await c.api(login))('GET', `/v1/users/${login}/access-keys`)).body.keys as Array<{
      accessKeyId: string;
      status: string;
    }>;
  const section = () => tab.page.locator('section[aria-labelledby="access-keys-title"]');

  beforeAll(async () => {
    c = await startAdminConsole();
    await c.addPerson('val@acme.test', 'user');
    tab = await c.open('val@acme.test');
  }, 240_000);
  afterAll(async () => c?.close(), 60_000);

  it('creates a key whose secret is shown once, turns it off and deletes it', async () => {
    const { page } = tab;
    await page.goto('/security');
    await section().getByText('You have no access key.').waitFor();
    await section().getByRole('button', { name: 'Create an access key' }).click();
    const shown = section().getByTestId('new-access-key');
    await shown.waitFor();
    const [id, secret] = await shown.locator('code').allTextContents();
    expect(id).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(secret).toMatch(/^[A-Za-z0-9/+]{40}$/);
    expect(await keysOf('val@acme.test')).toEqual([
      expect.objectContaining({ accessKeyId: id, status: 'Active' }),
    ]);
    expect(await axeSeriousOrCritical(page)).toEqual([]);

    // The secret is never answered again: not on the page after a reload, not by the API.
    await page.reload();
    await section().locator(`li[data-key="${id}"]`).waitFor();
    expect(await page.content()).not.toContain(secret!);
    expect(JSON.stringify(await keysOf('val@acme.test'))).not.toContain(secret!);

    await section()
      .getByRole('button', { name: `Turn off ${id}` })
      .click();
    await section().getByText(`${id} is off`).waitFor();
    expect((await keysOf('val@acme.test'))[0]!.status).toBe('Inactive');
    await section()
      .getByRole('button', { name: `Delete ${id}` })
      .click();
    await section().getByText(`${id} was deleted.`).waitFor();
    expect(await keysOf('val@acme.test')).toEqual([]);
  }, 120_000);

  it("never reaches another person's keys", async () => {
    const valApi = await c.api('val@acme.test');
    const owners = await valApi('GET', '/v1/users/owner@acme.test/access-keys');
    expect(owners.status).toBe(403);
    const made = await valApi('POST', '/v1/users/owner@acme.test/access-keys');
    expect(made.status).toBe(403);
    expect(await keysOf('owner@acme.test')).toEqual([]);
  });
});
