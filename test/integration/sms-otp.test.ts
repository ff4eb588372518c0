/**
 * Text-message (SMS) codes, the `sms_otp` factor kind, over HTTP on SQLite and PostgreSQL: off by
 * default, allowed only by the owner with a fresh second factor, enrolled with the code the
 * outbox texts, and used at sign-in and step-up only after the user asked for that factor's code;
 * single use, expiring, forbidden by a policy on holdfast:MfaFactorKind, and never sent unasked.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverDue } from '../../src/app/delivery.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import { expectError, expectStatus, injectHttp, mfaApi, PASSWORD, type MfaApi } from '../helpers/mfa.js';

const MINUTE = 60_000;
const PHONE = '+447700900123';

describe.each(DATABASE_KINDS)('text-message codes (sms_otp) [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let ownerToken: string;
  let aliceToken: string;
  let aliceId: string;
  let factorId: string;
  /** Every text the outbox handed to the SMS transport. */
  const texts: Array<{ to: string; body: string }> = [];

  /** Runs the outbox worker once; the texts it sent. */
  async function deliver(): Promise<Array<{ to: string; body: string }>> {
    const before = texts.length;
    await deliverDue(inst.app.deps, {
      transports: { sms: { send: async (m) => void texts.push({ to: m.to, body: m.body }) } },
      publicUrl: 'http://127.0.0.1:8080',
      claimId: `test-${Math.random()}`,
      leaseMs: 60_000,
      maxAttempts: 3,
      backoffBaseMs: 1000,
      backoffMaxMs: 10_000,
    });
    return texts.slice(before);
  }
  /** The one code texted since the last delivery. */
  async function textedCode(): Promise<string> {
    const sent = await deliver();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toBe(PHONE);
    const code = /\b(\d{6})\b/.exec(sent[0]!.body)?.[1];
    expect(code).toBeDefined();
    return code!;
  }
  const settings = (token: string, body: Record<string, unknown>) =>
    api.http({ method: 'PATCH', url: '/v1/account/settings', body, token });
  const enrol = (token: string) =>
    api.http({ method: 'POST', url: '/v1/factors/sms', body: { phoneNumber: '+44 7700 900123' }, token });
  const challenge = (flowId: string, id = factorId) =>
    api.http({ method: 'POST', url: '/v1/sign-in/challenge', body: { flowId, factorId: id } });

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    ({ userId: aliceId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'alice@acme.test',
      password: PASSWORD,
    }));
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'admin@acme.test',
      password: PASSWORD,
      role: 'admin',
    });
    server = await buildTestServer(inst);
    api = mfaApi(injectHttp(server), 'acme');
    ownerToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'owner@acme.test' });
    aliceToken = await api.passwordToken('alice@acme.test');
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('is off by default: enrolment is refused with SMS_OTP_DISABLED and nothing is texted', async () => {
    expectError(await enrol(aliceToken), 403, 'SMS_OTP_DISABLED');
    expect(await deliver()).toEqual([]);
  });

  it('only the owner, with a fresh second factor, can allow it', async () => {
    const adminToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'admin@acme.test' });
    expectError(await settings(adminToken, { smsOtpAllowed: true }), 400, 'SETTING_WOULD_LOOSEN');
    const staleOwner = await mfaSessionToken(inst, {
      accountName: 'acme',
      login: 'owner@acme.test',
      factorAt: inst.clock.now() - 20 * MINUTE,
    });
    expectError(await settings(staleOwner, { smsOtpAllowed: true }), 403, 'MFA_STEP_UP_REQUIRED');
    const res = await settings(ownerToken, { smsOtpAllowed: true });
    expectStatus(res, 200);
    expect(res.body.settings).toMatchObject({ smsOtpAllowed: true });
  });

  it('enrols a phone with the code the outbox texts', async () => {
    expectError(
      await api.http({
        method: 'POST',
        url: '/v1/factors/sms',
        body: { phoneNumber: '0770090' },
        token: aliceToken,
      }),
      400,
      'SMS_OTP_PHONE_INVALID',
    );
    const res = await enrol(aliceToken);
    expectStatus(res, 201);
    const factor = res.body.factor as { id: string; kind: string; assurance: string; status: string };
    expect(factor).toMatchObject({ kind: 'sms_otp', assurance: 'restricted_otp', status: 'pending' });
    expect(res.body.sent).toMatchObject({ factorId: factor.id });
    expect(String((res.body.sent as { sentTo: string }).sentTo)).not.toContain('900123');
    factorId = factor.id;
    const code = await textedCode();
    expectStatus(await api.enable(aliceToken, factorId, { code }), 200);
  });

  it('is offered among the enrolled factors, but nothing is texted until the user asks', async () => {
    inst.clock.advance(16 * MINUTE);
    const res = await api.signIn('alice@acme.test');
    expectStatus(res, 200);
    expect(res.body.status).toBe('second_factor_required');
    const offered = res.body.factors as Array<{ id: string; kind: string }>;
    expect(offered).toEqual([expect.objectContaining({ id: factorId, kind: 'sms_otp' })]);
    // A guess without a challenge fails, and still nothing is sent.
    expectError(
      await api.secondFactor(res.body.flowId as string, { factorId, code: '123456' }),
      401,
      'MFA_FAILED',
    );
    expect(await deliver()).toEqual([]);
  });

  let smsToken: string;
  let usedCode: string;
  it('signs in after the user asks for the code, once', async () => {
    const flowId = await api.startFlow('alice@acme.test');
    const sent = await challenge(flowId);
    expectStatus(sent, 200);
    usedCode = await textedCode();
    const res = await api.secondFactor(flowId, { factorId, code: usedCode });
    expectStatus(res, 200);
    expect(res.body.status).toBe('signed_in');
    smsToken = res.body.token as string;
    const session = await api.http({ method: 'GET', url: '/v1/session', token: smsToken });
    expect(session.body.session).toMatchObject({
      mfa: { factorId, kind: 'sms_otp', assurance: 'restricted_otp' },
    });
  });

  it('steps up with a code asked for within the session', async () => {
    const sent = await api.http({
      method: 'POST',
      url: '/v1/session/step-up/challenge',
      body: { factorId },
      token: smsToken,
    });
    expectStatus(sent, 200);
    const code = await textedCode();
    const res = await api.http({
      method: 'POST',
      url: '/v1/session/step-up',
      body: { factorId, code },
      token: smsToken,
    });
    expectStatus(res, 200);
  });

  it('a policy Deny on holdfast:MfaFactorKind sms_otp refuses an action to an sms_otp session', async () => {
    expectStatus(await api.listFactors(smsToken), 200);
    const document = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Action: 'iam:ListMFADevices',
          Resource: '*',
          Condition: { StringEquals: { 'holdfast:MfaFactorKind': 'sms_otp' } },
        },
      ],
    });
    const put = await server.inject({
      method: 'PUT',
      url: `/v1/users/${aliceId}/policies/no-sms`,
      payload: { document },
      headers: { authorization: `Bearer ${ownerToken}` },
    });
    expect(put.statusCode, put.body).toBe(200);
    expectError(await api.listFactors(smsToken), 403, 'AUTH_FORBIDDEN');
  });

  it('refuses a replayed code', async () => {
    const flowId = await api.startFlow('alice@acme.test');
    expectError(await api.secondFactor(flowId, { factorId, code: usedCode }), 401, 'MFA_FAILED');
    expect(await deliver()).toEqual([]);
  });

  it('refuses an expired code, and a code spent by a newer challenge', async () => {
    const flowId = await api.startFlow('alice@acme.test');
    expectStatus(await challenge(flowId), 200);
    const old = await textedCode();
    // Codes asked for within the same second are a second or two apart: well past their five minutes.
    inst.clock.advance(5 * MINUTE + 30_000);
    expectError(await api.secondFactor(flowId, { factorId, code: old }), 401, 'MFA_FAILED');
    // Four texts a quarter hour (three sent already): the fifth waits (throttled per principal).
    const busy = await api.startFlow('alice@acme.test');
    expectStatus(await challenge(busy), 200);
    await textedCode();
    expectError(await challenge(busy), 429, 'AUTH_THROTTLED');
    expect(await deliver()).toEqual([]);
    inst.clock.advance(16 * MINUTE);
    const next = await api.startFlow('alice@acme.test');
    expectStatus(await challenge(next), 200);
    const fresh = await textedCode();
    expectStatus(await challenge(next), 200);
    const newest = await textedCode();
    if (fresh !== newest) {
      expectError(await api.secondFactor(next, { factorId, code: fresh }), 401, 'MFA_FAILED');
    }
    expectStatus(await api.secondFactor(next, { factorId, code: newest }), 200);
  });

  it('texts only for a live sign-in flow and only the flow principal’s own text-message factor', async () => {
    inst.clock.advance(16 * MINUTE);
    expectError(await challenge('flow_unknown'), 404, 'FLOW_NOT_FOUND');
    const ownerFlow = await api.http({
      method: 'POST',
      url: '/v1/sign-in',
      body: { account: 'acme', login: 'owner@acme.test', password: PASSWORD },
    });
    if (ownerFlow.body.status === 'second_factor_required') {
      expectError(await challenge(ownerFlow.body.flowId as string), 404, 'FACTOR_NOT_FOUND');
    }
    expect(await deliver()).toEqual([]);
  });

  it('turned off again, no code is texted and no phone can be enrolled', async () => {
    ownerToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'owner@acme.test' });
    const aliceMfa = await mfaSessionToken(inst, { accountName: 'acme', login: 'alice@acme.test' });
    expectStatus(await settings(ownerToken, { smsOtpAllowed: false }), 200);
    const flowId = await api.startFlow('alice@acme.test');
    expectError(await challenge(flowId), 403, 'SMS_OTP_DISABLED');
    expectError(await enrol(aliceMfa), 403, 'SMS_OTP_DISABLED');
    expect(await deliver()).toEqual([]);
  });
});
