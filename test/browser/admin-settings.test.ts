// @vitest-environment node
/**
 * The account settings page in Debian's Chromium: the values in force, only tightenings offered
 * for step-up age, enrolment window and second approver; text-message codes allowed by the owner
 * only; reset waits within their floors. Changes made through the page, checked through the API.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SCREENSHOTS,
  axeSeriousOrCritical,
  documentWidth,
  startAdminConsole,
  type AdminConsole,
} from '../helpers/admin-console.js';
import { withoutClients } from '../helpers/external-clients.js';

describe.skipIf(withoutClients('chromium'))('account settings page in Chromium', () => {
  let c: AdminConsole;
  const settings = async () =>
    (await (await c.api('owner@acme.test'))('GET', '/v1/account/settings')).body.settings as Record<
      string,
      unknown
    >;
  const optionValues = (page: Page, label: string | RegExp) =>
    page
      .getByLabel(label)
      .locator('option')
      .evaluateAll((o) => o.map((x) => (x as unknown as { value: string }).value));

  beforeAll(async () => {
    c = await startAdminConsole();
    await c.addPerson('admin@acme.test', 'admin');
    await c.addPerson('helpdesk@acme.test', 'helpdesk');
  }, 240_000);
  afterAll(async () => c?.close(), 60_000);

  it('shows the values in force and lets an administrator tighten them', async () => {
    const { page, problems } = await c.open('admin@acme.test');
    await page.goto('/admin/settings');
    const stepUp = page.getByLabel('Step-up age');
    await stepUp.waitFor();
    expect(await stepUp.locator('option:checked').textContent()).toBe('15 minutes (now)');
    expect(await page.getByLabel('Allow codes by text message (SMS)').isDisabled()).toBe(true);
    expect(await page.getByText('Off. Only the account owner can turn them on.').isVisible()).toBe(true);
    expect(await page.getByTestId('passkey-settings').textContent()).toContain('None: any key is accepted');
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-settings.png'), fullPage: true });

    await stepUp.selectOption(String(5 * 60));
    await page.getByLabel('First-factor enrolment window').selectOption(String(86_400));
    await page.getByLabel('Every help-desk reset needs a second approver').check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('saved').waitFor();
    expect(await settings()).toMatchObject({
      stepUpMaxAgeSeconds: 300,
      initialEnrolmentWindowSeconds: 86_400,
      requireSecondApprover: true,
    });
    // Now only stricter values are offered, and the second approver cannot be switched off here.
    expect(await optionValues(page, 'Step-up age')).toEqual(['60', '120', '300']);
    expect(await optionValues(page, 'First-factor enrolment window')).toEqual([
      '0',
      '3600',
      '14400',
      '86400',
    ]);
    expect(await page.getByLabel('Every help-desk reset needs a second approver').isDisabled()).toBe(true);
    expect(await page.getByText('On. Only the host operator can switch it off.').isVisible()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('lets the owner allow text-message codes', async () => {
    const { page } = await c.open('owner@acme.test');
    await page.goto('/admin/settings');
    const sms = page.getByLabel('Allow codes by text message (SMS)');
    await sms.waitFor();
    expect(await sms.isDisabled()).toBe(false);
    await sms.check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByTestId('saved').waitFor();
    expect((await settings()).smsOtpAllowed).toBe(true);
  });

  it('changes the reset waits within their floors', async () => {
    const { page } = await c.open('owner@acme.test');
    await page.goto('/admin/settings');
    await page.getByLabel(/^Wait of self-service recovery/).selectOption(String(12 * 3600));
    await page.getByLabel('Wait of a help-desk reset of a user').selectOption(String(30 * 60));
    await page.getByRole('button', { name: 'Save waits' }).click();
    await page.getByTestId('saved').waitFor();
    const res = await (await c.api('owner@acme.test'))('GET', '/v1/recovery/settings');
    expect(res.body).toMatchObject({ recoveryWaitSeconds: 43_200, userResetWaitSeconds: 1_800 });
    // Nothing under the floors is offered.
    expect((await optionValues(page, 'Wait of a help-desk reset of a user'))[0]).toBe('900');
    expect((await optionValues(page, /^Wait of self-service recovery/))[0]).toBe('3600');
  });

  it('refuses the help desk in words', async () => {
    const { page } = await c.open('helpdesk@acme.test');
    await page.goto('/admin/settings');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^You are not allowed to do this\./);
  });

  it('passes axe-core at 1,280 and 390 px and does not scroll sideways at 390 px', async () => {
    const { page } = await c.open('owner@acme.test');
    await page.goto('/admin/settings');
    await page.getByLabel('Step-up age').waitFor();
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 800 });
    expect(await documentWidth(page)).toBeLessThanOrEqual(390);
    expect(await axeSeriousOrCritical(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-settings-390.png'), fullPage: false });
  });
});
