// @vitest-environment node
/**
 * My contact channels on the security page, in Debian's Chromium: a person adds a phone number
 * (a recovery and notice channel, never a way to sign in), sees it waiting for confirmation and
 * labelled weaker, has a wrong confirmation code refused in words, then removes it; each step
 * checked through the API. No serious axe-core finding and no sideways scrolling at 390 px.
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

describe.skipIf(withoutClients('chromium'))('my contact channels in Chromium', () => {
  let c: AdminConsole;
  let tab: SignedInPage;
  const contacts = async () =>
    ((await (await c.api('una@acme.test'))('GET', '/v1/contacts')).body.contacts as Array<{
      kind: string;
      address: string;
      status: string;
    }>) ?? [];
  const section = () => tab.page.locator('section[aria-labelledby="contacts-title"]');

  beforeAll(async () => {
    c = await startAdminConsole();
    await c.addPerson('una@acme.test', 'user');
    tab = await c.open('una@acme.test');
  }, 240_000);
  afterAll(async () => c?.close(), 60_000);

  it('adds a phone number that waits for its code, refuses a wrong code, and removes it', async () => {
    const { page } = tab;
    await page.goto('/security');
    await section().getByRole('heading', { name: 'Contact channels' }).waitFor();
    await section().getByLabel('Kind').selectOption('phone');
    await section().getByLabel('New address').fill('+44 7700 900123');
    await section().getByRole('button', { name: 'Save and send a confirmation' }).click();
    await section().getByText('We texted a code to the new number').waitFor();
    const phone = section().locator('li[data-contact="phone"]');
    expect(await phone.textContent()).toMatch(/waiting for confirmation.*weaker channel/);
    expect((await contacts()).find((x) => x.kind === 'phone')).toMatchObject({ status: 'pending' });

    // A wrong code: refused in words, the number stays unconfirmed.
    await section().getByLabel('Code texted to the new number').fill('000000');
    await section().getByRole('button', { name: 'Confirm phone' }).click();
    const refusal = section().getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.innerText()).not.toMatch(/^[A-Z_]+$/m);
    expect((await contacts()).find((x) => x.kind === 'phone')).toMatchObject({ status: 'pending' });

    await page.screenshot({ path: join(SCREENSHOTS, 'security-contacts.png'), fullPage: false });
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 800 });
    expect(await documentWidth(page)).toBeLessThanOrEqual(390);
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });

    await phone.getByRole('button', { name: 'Remove phone' }).click();
    await section().getByText('The phone number was removed.').waitFor();
    expect((await contacts()).find((x) => x.kind === 'phone')).toBeUndefined();
  }, 120_000);
});
