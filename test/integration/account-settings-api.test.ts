/**
 * GET /v1/account/settings: the settings in force with their caps, for owners and administrators
 * (MFA session); what a PATCH tightened shows at once; the help desk and users are refused.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  PASSWORD,
  expectError,
  expectStatus,
  injectHttp,
  mfaApi,
  type HttpRequest,
  type MfaApi,
} from '../helpers/mfa.js';

describe.each(DATABASE_KINDS)('account settings over the API [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let accountId: string;
  const call = async (login: string, method: HttpRequest['method'] = 'GET', body?: unknown) =>
    api.http({
      method,
      url: '/v1/account/settings',
      token: await mfaSessionToken(inst, { accountName: 'acme', login }),
      ...(body === undefined ? {} : { body }),
    });

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    ({ accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    }));
    for (const [email, role] of [
      ['admin@acme.test', 'admin'],
      ['helpdesk@acme.test', 'helpdesk'],
      ['user@acme.test', 'user'],
    ] as const) {
      await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD, role });
    }
    server = await buildTestServer(inst);
    api = mfaApi(injectHttp(server), 'acme');
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('answers the values in force and their caps; only the owner may allow text-message codes', async () => {
    const owner = await call('owner@acme.test');
    expectStatus(owner, 200);
    expect(owner.body.settings).toEqual({
      stepUpMaxAgeSeconds: 900,
      stepUpMaxAgeCapSeconds: 900,
      initialEnrolmentWindowSeconds: 604_800,
      initialEnrolmentWindowCapSeconds: 604_800,
      requireSecondApprover: false,
      smsOtpAllowed: false,
      mayAllowSms: true,
      webauthnAttestation: 'none',
      allowedAuthenticatorModels: 0,
    });
    const admin = await call('admin@acme.test');
    expectStatus(admin, 200);
    expect(admin.body.settings.mayAllowSms).toBe(false);
  });

  it('shows what a tightening changed, and a refused loosening changes nothing', async () => {
    expectStatus(
      await call('admin@acme.test', 'PATCH', {
        stepUpMaxAgeSeconds: 300,
        initialEnrolmentWindowSeconds: 86_400,
        requireSecondApprover: true,
      }),
      200,
    );
    expectError(
      await call('admin@acme.test', 'PATCH', { stepUpMaxAgeSeconds: 600 }),
      400,
      'SETTING_WOULD_LOOSEN',
    );
    const res = await call('admin@acme.test');
    expect(res.body.settings).toMatchObject({
      stepUpMaxAgeSeconds: 300,
      initialEnrolmentWindowSeconds: 86_400,
      requireSecondApprover: true,
    });
  });

  it('refuses the help desk, users and password-only sessions, and audits the refusal', async () => {
    expectError(await call('helpdesk@acme.test'), 403, 'AUTH_FORBIDDEN');
    expectError(await call('user@acme.test'), 403, 'AUTH_FORBIDDEN');
    const passwordOnly = await api.passwordToken('admin@acme.test');
    expectError(
      await api.http({ method: 'GET', url: '/v1/account/settings', token: passwordOnly }),
      403,
      'MFA_STEP_UP_REQUIRED',
    );
    const denied = [];
    for await (const r of inst.app.scanAudit()) {
      if (r.action === 'authz.denied' && r.details?.action === 'holdfast:GetAccountSettings') denied.push(r);
    }
    expect(denied.length).toBeGreaterThanOrEqual(2);
    expect(denied.every((r) => r.accountId === accountId && r.outcome === 'failure')).toBe(true);
  });
});
