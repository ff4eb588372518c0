/**
 * Alerts people can live with: the console's routine step-up prompt raises no "failed
 * enrolment" alert; "admin without MFA" waits for the initial enrolment window to pass (and then
 * fires once per person); alert mails name the people concerned; an administrator created
 * through the AWS API (no mailbox) gets no mail at a placeholder address.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestServer, createTestInstallation, type TestInstallation } from '../helpers/installation.js';
import { PASSWORD, STEP_MS, expectError, expectStatus, injectHttp, mfaApi, totpAt } from '../helpers/mfa.js';

const DAY = 24 * 3_600_000;
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

describe('alerts people can live with', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let accountId: string;
  let ownerId: string;
  let iamAdminId: string;

  const alertsOf = async (ruleId: string) =>
    (await inst.store.recovery.listAlerts({ accountId, limit: 500 })).filter((a) => a.ruleId === ruleId);
  const alertMails = () =>
    inst.database.kysely.selectFrom('outbox').selectAll().where('template', '=', 'alert').execute();

  beforeAll(async () => {
    inst = await createTestInstallation('sqlite');
    // The account's owner and an administrator with an access key, both without a factor yet.
    const boot = await inst.app.bootstrapAccount({ accountName: 'acme', ownerEmail: 'owner@acme.test', ctx });
    accountId = boot.account.id;
    ownerId = boot.owner.id;
    await inst.app.completeSetup({ ctx, token: boot.setup.token, password: PASSWORD });
    const admin = await inst.app.createAdminWithAccessKey({ ctx, accountId, username: 'deploy-bot' });
    iamAdminId = admin.user.id;
    server = await buildTestServer(inst);
  });

  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('raises no "admin without MFA" while the new owner and admin are in their enrolment window', async () => {
    await inst.app.scanForAlerts();
    expect(await alertsOf('HF-ADMIN-WITHOUT-MFA')).toEqual([]);
  });

  it('a routine step-up prompt in the console is no failed-enrolment alert', async () => {
    const api = mfaApi(injectHttp(server), 'acme');
    const token = await api.passwordToken('owner@acme.test');
    const created = await api.enrolTOTP(token, 'Phone');
    expectStatus(created, 201);
    const secret = created.body.secret as string;
    const now = inst.clock.now();
    expectStatus(
      await api.enable(token, created.body.factor.id as string, {
        codes: [totpAt(secret, now - STEP_MS), totpAt(secret, now)],
      }),
      200,
    );
    // Next to an enabled factor, the password session is asked for a fresh factor: the console
    // answers with its step-up dialog. That is a prompt, not an attack.
    expectError(await api.enrolTOTP(token, 'Second phone'), 403, 'MFA_STEP_UP_REQUIRED');
    await inst.app.scanForAlerts();
    expect(await alertsOf('HF-ENROL-FAIL')).toEqual([]);
  });

  it('once the window is over, fires once for the admin who never enrolled, and mails name people', async () => {
    inst.clock.advance(7 * DAY + 60_000);
    await inst.app.scanForAlerts();
    const raised = await alertsOf('HF-ADMIN-WITHOUT-MFA');
    // The owner enrolled; the access-key administrator did not.
    expect(raised.map((a) => a.principalId)).toEqual([iamAdminId]);
    inst.clock.advance(2 * 60_000);
    await inst.app.scanForAlerts();
    expect(await alertsOf('HF-ADMIN-WITHOUT-MFA')).toHaveLength(1);

    const mails = (await alertMails()).filter((m) => m.principal_id !== null);
    // Mail goes to the owner only: the administrator created through the AWS API has no mailbox.
    expect(mails.length).toBeGreaterThan(0);
    expect(new Set(mails.map((m) => m.principal_id))).toEqual(new Set([ownerId]));
    for (const m of mails) expect(String(m.recipient)).not.toContain('.invalid');
    const mail = mails.find((m) => String(m.payload).includes('HF-ADMIN-WITHOUT-MFA'))!;
    const rendered = await inst.app.renderOutboxMessage({ id: mail.id, publicUrl: 'http://localhost:8080' });
    expect(rendered!.text).toContain('Concerning: deploy-bot');
    expect(rendered!.text.indexOf('deploy-bot')).toBeLessThan(rendered!.text.indexOf(iamAdminId));
  });
});
