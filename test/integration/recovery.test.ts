/**
 * Recovery and the help-desk reset end to end (docs/recovery.md), on SQLite and PostgreSQL, with
 * a real SMTP server and an SMS provider stand-in on loopback: messages are delivered by the
 * outbox worker, received, parsed, and the test follows their links and reads their codes.
 *
 * The three scenarios MISSION.md failures 1 and 3 are about:
 * (a) a caller who knows only a user's name and e-mail cannot get MFA removed;
 * (b) a reset of an admin needs a second approver, everyone is told, one click cancels it;
 * (c) a user who lost their phone but kept recovery codes is back in within one flow.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transports } from '../../src/app/delivery.js';
import { transportsFor } from '../../src/background.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  deliverAll,
  deliveryEnv,
  type HttpStandIn,
  linkIn,
  type Mailbox,
  startHttpStandIn,
  startMailbox,
} from '../helpers/mailbox.js';
import {
  PASSWORD,
  STEP_MS,
  expectError,
  expectStatus,
  injectHttp,
  mfaApi,
  totpAt,
  type MfaApi,
} from '../helpers/mfa.js';

const HOUR = 3_600_000;
const PUBLIC_URL = 'http://holdfast.test';

describe.each(DATABASE_KINDS)('recovery and help-desk reset [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let mailbox: Mailbox;
  let sms: HttpStandIn;
  let transports: Transports;
  let closeTransports: () => void;

  const users = {
    owner: 'owner@acme.test',
    admin1: 'admin1@acme.test',
    admin2: 'admin2@acme.test',
    helpdesk: 'helpdesk@acme.test',
  };

  beforeAll(async () => {
    mailbox = await startMailbox();
    sms = await startHttpStandIn();
    inst = await createTestInstallation(name, {
      env: deliveryEnv(mailbox, sms, 'AC00000000000000000000000000000001'),
    });
    ({ transports, close: closeTransports } = transportsFor(inst.config.delivery));
    await createUserWithPassword(inst, { accountName: 'acme', email: users.owner, password: PASSWORD });
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: users.admin1,
      password: PASSWORD,
      role: 'admin',
    });
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: users.admin2,
      password: PASSWORD,
      role: 'admin',
    });
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: users.helpdesk,
      password: PASSWORD,
      role: 'helpdesk',
    });
    server = await buildTestServer(inst);
    api = mfaApi(injectHttp(server), 'acme');
    for (const login of Object.values(users)) await verifyEmail(login);
  });
  afterAll(async () => {
    closeTransports?.();
    await server?.close();
    await inst?.destroy();
    await mailbox?.close();
    await sms?.close();
  });

  /** Runs the delivery worker until nothing is due. */
  const deliver = () => deliverAll(inst, { transports, publicUrl: PUBLIC_URL });

  const token = (login: string, factorAt?: number) =>
    mfaSessionToken(inst, { accountName: 'acme', login, ...(factorAt === undefined ? {} : { factorAt }) });
  const lastMail = (address: string, subject: RegExp) => {
    const found = mailbox.to(address).filter((m) => subject.test(m.subject));
    expect(found.length, `mail to ${address} matching ${subject}`).toBeGreaterThan(0);
    return found[found.length - 1]!;
  };
  const lastSms = (phone: string) => {
    const found = sms.requests.filter((r) => r.form.To === phone);
    expect(found.length, `SMS to ${phone}`).toBeGreaterThan(0);
    return found[found.length - 1]!.form.Body!;
  };
  /** GETs a link page, then POSTs its form as a browser would. */
  async function followForm(path: string, fields: Record<string, string> = {}) {
    const page = await server.inject({ method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const url = new URL(path, 'http://x');
    const action = /<form method="post" action="([^"]+)"/.exec(page.body)?.[1];
    expect(action, page.body).toBeDefined();
    const form = new URLSearchParams({ token: url.searchParams.get('token') ?? '', ...fields });
    return server.inject({
      method: 'POST',
      url: action!,
      payload: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
  async function verifyEmail(login: string): Promise<void> {
    const res = await api.http({
      method: 'POST',
      url: '/v1/contacts/verify-current',
      token: await token(login),
    });
    expectStatus(res, 202);
    await deliver();
    const mail = lastMail(login, /Confirm your e-mail/);
    const done = await followForm(linkIn(mail.text, '/contacts/verify'));
    expect(done.statusCode, done.body).toBe(200);
  }
  async function addPhone(login: string, phone: string): Promise<void> {
    const t = await token(login);
    expectStatus(
      await api.http({
        method: 'POST',
        url: '/v1/contacts',
        token: t,
        body: { kind: 'phone', address: phone },
      }),
      202,
    );
    await deliver();
    const code = /(\d{6})/.exec(lastSms(phone))![1]!;
    expectStatus(
      await api.http({ method: 'POST', url: '/v1/contacts/phone/verify', token: t, body: { code } }),
      200,
    );
  }
  /** A user with a password, a verified e-mail and an enabled authenticator app. */
  async function newUser(login: string, options: { phone?: string; role?: string } = {}) {
    const { userId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: login,
      password: PASSWORD,
      role: options.role ?? 'user',
    });
    const passwordToken = await api.passwordToken(login);
    const enrol = await api.enrolTOTP(passwordToken, 'phone app');
    expectStatus(enrol, 201);
    const secret = enrol.body.secret as string;
    const factorId = enrol.body.factor.id as string;
    const now = inst.clock.now();
    expectStatus(
      await api.enable(passwordToken, factorId, {
        codes: [totpAt(secret, now - STEP_MS), totpAt(secret, now)],
      }),
      200,
    );
    inst.clock.advance(STEP_MS);
    await verifyEmail(login);
    if (options.phone !== undefined) await addPhone(login, options.phone);
    return { id: userId, login, factorId, secret };
  }
  async function mfaSignIn(login: string, factorId: string, secret: string) {
    inst.clock.advance(STEP_MS);
    const flowId = await api.startFlow(login);
    const res = await api.secondFactor(flowId, { factorId, code: totpAt(secret, inst.clock.now()) });
    expectStatus(res, 200);
    return res.body.token as string;
  }
  const requestsOf = async (principalId: string) =>
    (
      await inst.store.recovery.listRequests({
        accountId: (await inst.store.accounts.findByName('acme'))!.id,
      })
    ).filter((r) => r.principalId === principalId);

  it('(a) knowing a name and an e-mail gets nobody MFA removed: evidence is required, and the help desk never resets an admin', async () => {
    const alice = await newUser('alice@acme.test');
    const helpdesk = await token(users.helpdesk);
    const open = (body: unknown, t = helpdesk) =>
      api.http({ method: 'POST', url: '/v1/resets', token: t, body });

    expectError(await open({ user: alice.login, evidence: [] }), 400, 'RECOVERY_EVIDENCE_REQUIRED');
    // Free text is not evidence: only items of the checklist count.
    expectError(
      await open({
        user: alice.login,
        evidence: [{ kind: 'caller_knew_details', note: 'knew her name and e-mail' }],
      }),
      400,
      'RECOVERY_EVIDENCE_REQUIRED',
    );
    const forAdmin = await open({
      user: users.admin1,
      evidence: [{ kind: 'phone_callback', note: 'called back' }],
    });
    expectError(forAdmin, 403, 'GUARDRAIL_DENIED');
    expect(forAdmin.body.error.guardrail).toBe('G6');
    // A password-only session of the help desk cannot even try (G2).
    const passwordOnly = await api.passwordToken(users.helpdesk);
    expectError(
      await open({ user: alice.login, evidence: [{ kind: 'phone_callback', note: 'x' }] }, passwordOnly),
      403,
      'MFA_STEP_UP_REQUIRED',
    );

    expect(await requestsOf(alice.id)).toEqual([]);
    const factors = await inst.store.factors.listByPrincipal(
      alice.id.length ? (await inst.store.accounts.findByName('acme'))!.id : '',
      alice.id,
    );
    expect(factors.filter((f) => f.status === 'enabled').map((f) => f.id)).toEqual([alice.factorId]);
    const refused = (await inst.store.audit.query({ action: 'reset.request', limit: 1000 })).filter(
      (r) => r.target === alice.id,
    );
    expect(refused.map((r) => [r.outcome, r.errorCode])).toEqual([
      ['failure', 'RECOVERY_EVIDENCE_REQUIRED'],
      ['failure', 'RECOVERY_EVIDENCE_REQUIRED'],
    ]);
    const denied = (await inst.store.audit.query({ action: 'authz.denied', limit: 1000 })).filter(
      (r) => r.details.action === 'holdfast:OpenResetRequest' && r.details.guardrail === 'G6',
    );
    expect(denied).toHaveLength(1);
  });

  it('(b) a reset of an admin needs a second approver; the target and every admin get mail; one click cancels it', async () => {
    const target = await newUser('admin3@acme.test', { role: 'admin' });
    const opened = await api.http({
      method: 'POST',
      url: '/v1/resets',
      token: await token(users.admin1),
      body: {
        user: target.login,
        evidence: [{ kind: 'id_document', note: 'passport checked on a video call' }],
        reason: 'lost phone',
      },
    });
    expectStatus(opened, 201);
    const id = opened.body.request.id as string;
    expect(opened.body.request).toMatchObject({ state: 'awaiting_approval', approvalsRequired: 1 });

    const approve = async (login: string) =>
      api.http({ method: 'POST', url: `/v1/resets/${id}/approve`, token: await token(login) });
    expectError(await approve(users.admin1), 403, 'GUARDRAIL_DENIED'); // the requester
    expectError(await approve(target.login), 403, 'GUARDRAIL_DENIED'); // the target
    expectError(await approve(users.helpdesk), 403, 'GUARDRAIL_DENIED'); // never on an admin
    const approved = await approve(users.owner);
    expectStatus(approved, 200);
    expect(approved.body.request.state).toBe('waiting');
    expect(Date.parse(approved.body.request.waitUntil)).toBe(inst.clock.now() + 24 * HOUR);

    await deliver();
    for (const login of [target.login, users.owner, users.admin1, users.admin2]) {
      const mail = lastMail(login, /reset/i);
      expect(mail.text).toContain('/recovery/cancel?token=');
    }
    // The target clicks "this was not me" in its mail.
    const cancelLink = linkIn(lastMail(target.login, /will be reset/).text, '/recovery/cancel');
    const page = await server.inject({ method: 'GET', url: cancelLink });
    expect(page.body).toContain('This was not me');
    expect((await requestsOf(target.id))[0]!.state).toBe('waiting'); // a GET changes nothing
    const cancelled = await followForm(cancelLink);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect((await requestsOf(target.id))[0]).toMatchObject({ state: 'cancelled', cancelledBy: target.id });
    // A second click (or another recipient's link) finds nothing left to cancel.
    const again = await server.inject({ method: 'GET', url: cancelLink });
    expect(again.body).toContain('This link is not valid');
    const token2 = new URL(cancelLink, 'http://x').searchParams.get('token')!;
    expectError(
      await api.http({ method: 'POST', url: '/v1/recovery/cancel', body: { token: token2 } }),
      400,
      'VERIFICATION_INVALID',
    );

    inst.clock.advance(25 * HOUR);
    expect((await inst.app.runRecoveryScheduler()).completed).toBe(0);
    const factors = await inst.store.factors.listByPrincipal(
      opened.body.request.userId ? (await inst.store.accounts.findByName('acme'))!.id : '',
      target.id,
    );
    expect(factors.map((f) => f.id)).toEqual([target.factorId]);
    await deliver();
    expect(lastMail(users.admin2, /cancelled/).text).toContain('admin3');
    const audit = (await inst.store.audit.query({ limit: 100_000 })).filter(
      (r) => r.details.requestId === id,
    );
    expect(audit.map((r) => r.action)).toEqual(['reset.request', 'reset.approve', 'reset.cancel']);
    expect(audit[0]!.details.evidence).toEqual(['id_document']);
  });

  it('a help-desk reset of a user ends, after the wait, in an enrolment grant, never in MFA switched off', async () => {
    const bob = await newUser('bob@acme.test');
    const opened = await api.http({
      method: 'POST',
      url: '/v1/resets',
      token: await token(users.helpdesk),
      body: { user: bob.login, evidence: [{ kind: 'phone_callback', note: 'called the number on file' }] },
    });
    expectStatus(opened, 201);
    expect(opened.body.request).toMatchObject({ state: 'waiting', approvalsRequired: 0 });

    inst.clock.advance(23.5 * HOUR);
    expect((await inst.app.runRecoveryScheduler()).completed).toBe(0);
    // Bob still signs in with his factor during the wait (nothing changed yet)...
    const bobSession = await mfaSignIn(bob.login, bob.factorId, bob.secret);
    inst.clock.advance(29 * 60_000);
    expectStatus(await api.http({ method: 'GET', url: '/v1/session', token: bobSession }), 200);
    inst.clock.advance(2 * 60_000);
    expect((await inst.app.runRecoveryScheduler()).completed).toBe(1);

    // G5: sessions gone; the factor gone; the MFA requirement is not.
    expectError(
      await api.http({ method: 'GET', url: '/v1/session', token: bobSession }),
      401,
      'AUTH_SESSION_INVALID',
    );
    await deliver();
    const grant = /(hfgrant_[A-Za-z0-9_-]+)/.exec(lastMail(bob.login, /Enrol a new second factor/).text)![1]!;
    const password = await api.passwordToken(bob.login);
    expectError(
      await api.http({ method: 'POST', url: '/v1/factors/totp', token: password, body: { name: 'new' } }),
      403,
      'ENROLMENT_GRANT_REQUIRED',
    );
    const enrol = await api.http({
      method: 'POST',
      url: '/v1/factors/totp',
      token: password,
      body: { name: 'new', enrolmentGrant: grant },
    });
    expectStatus(enrol, 201);
    // The grant is single use.
    expectError(
      await api.http({
        method: 'POST',
        url: '/v1/factors/totp',
        token: password,
        body: { name: 'again', enrolmentGrant: grant },
      }),
      403,
      'ENROLMENT_GRANT_INVALID',
    );
  });

  it('(c) a user who lost their phone but kept recovery codes is back in within one flow', async () => {
    const carol = await newUser('carol@acme.test');
    const mfa = await mfaSignIn(carol.login, carol.factorId, carol.secret);
    const codes = await api.http({ method: 'POST', url: '/v1/recovery-codes', token: mfa });
    expectStatus(codes, 200);
    const otherSession = await mfaSignIn(carol.login, carol.factorId, carol.secret);

    // The phone is gone: password, then a recovery code...
    const flowId = await api.startFlow(carol.login);
    const signedIn = await api.secondFactor(flowId, { recoveryCode: codes.body.codes[0] as string });
    expectStatus(signedIn, 200);
    const t = signedIn.body.token as string;
    // ...a new authenticator in the same session...
    const enrol = await api.enrolTOTP(t, 'new phone');
    expectStatus(enrol, 201);
    const now = inst.clock.now();
    expectStatus(
      await api.enable(t, enrol.body.factor.id, {
        codes: [totpAt(enrol.body.secret, now - STEP_MS), totpAt(enrol.body.secret, now)],
      }),
      200,
    );
    // ...and the lost one is dropped, every other session ended.
    const done = await api.http({ method: 'POST', url: '/v1/recovery/code/complete', token: t, body: {} });
    expectStatus(done, 200);
    expect(done.body.factorsRemoved).toBe(1);
    expect(done.body.sessionsRevoked).toBeGreaterThanOrEqual(2);
    expectError(
      await api.http({ method: 'GET', url: '/v1/session', token: otherSession }),
      401,
      'AUTH_SESSION_INVALID',
    );
    expectStatus(await api.http({ method: 'GET', url: '/v1/session', token: t }), 200);
    const listed = await api.listFactors(t);
    expect(listed.body.factors.map((f: { name: string }) => f.name)).toEqual(['new phone']);
    await mfaSignIn(carol.login, enrol.body.factor.id, enrol.body.secret);
    // Only a recovery-code session can do this.
    expectError(
      await api.http({
        method: 'POST',
        url: '/v1/recovery/code/complete',
        token: await token(carol.login),
        body: {},
      }),
      403,
      'RECOVERY_NOT_RECOVERY_SESSION',
    );
  });

  it('self-service recovery without a code: e-mail link AND phone code, then a wait everyone hears of', async () => {
    const dave = await newUser('dave@acme.test', { phone: '+14155550101' });
    const start = (login: string) =>
      api.http({ method: 'POST', url: '/v1/recovery/start', body: { account: 'acme', login } });
    const unknown = await start('nobody@acme.test');
    const known = await start(dave.login);
    expect([unknown.status, known.status]).toEqual([202, 202]);
    expect(unknown.body).toEqual(known.body);

    await deliver();
    const link = linkIn(lastMail(dave.login, /Account recovery/).text, '/recovery/verify');
    const code = /(\d{6})/.exec(lastSms('+14155550101'))![1]!;
    const wrong = await followForm(link, { code: code === '000000' ? '111111' : '000000' });
    expect(wrong.statusCode).toBe(400);
    expect(JSON.parse(wrong.body).error.code).toBe('VERIFICATION_INVALID');
    const ok = await followForm(link, { code });
    expect(ok.statusCode, ok.body).toBe(200);
    const [request] = await requestsOf(dave.id);
    expect(request).toMatchObject({
      kind: 'self_service',
      state: 'waiting',
      waitUntil: inst.clock.now() + 24 * HOUR,
    });

    await deliver();
    expect(lastMail(dave.login, /will be reset/).text).toContain('/recovery/cancel?token=');
    expect(lastSms('+14155550101')).toContain('/recovery/cancel?token=');
    for (const admin of [users.owner, users.admin1, users.admin2]) {
      expect(lastMail(admin, /account recovery/i).text).toContain('/recovery/cancel?token=');
    }
    inst.clock.advance(24 * HOUR);
    expect((await inst.app.runRecoveryScheduler()).completed).toBe(1);
    await deliver();
    expect(lastMail(dave.login, /Enrol a new second factor/).text).toMatch(/hfgrant_/);
    expect((await inst.store.factors.listByPrincipal(request!.accountId, dave.id)).length).toBe(0);
  });

  it('limits recovery starts per login, whether or not the login exists', async () => {
    const start = () =>
      api.http({
        method: 'POST',
        url: '/v1/recovery/start',
        body: { account: 'acme', login: 'ghost@acme.test' },
      });
    // Five free, a sixth sets a delay, the seventh waits for it.
    for (let i = 0; i < 6; i++) expectStatus(await start(), 202);
    expectError(await start(), 429, 'AUTH_THROTTLED');
  });

  it('a forgotten password: the e-mail link sets a new one, sessions end, and the second factor is still asked', async () => {
    const erin = await newUser('erin@acme.test');
    const before = await mfaSignIn(erin.login, erin.factorId, erin.secret);
    expectStatus(
      await api.http({
        method: 'POST',
        url: '/v1/password-reset/start',
        body: { account: 'acme', login: erin.login },
      }),
      202,
    );
    await deliver();
    const link = linkIn(lastMail(erin.login, /Reset your password/).text, '/password-reset');
    const newPassword = 'a completely different passphrase 42';
    const set = await followForm(link, { password: newPassword });
    expect(set.statusCode, set.body).toBe(200);
    expectError(
      await api.http({ method: 'GET', url: '/v1/session', token: before }),
      401,
      'AUTH_SESSION_INVALID',
    );
    const signIn = await api.http({
      method: 'POST',
      url: '/v1/sign-in',
      body: { account: 'acme', login: erin.login, password: newPassword },
    });
    expectStatus(signIn, 200);
    expect(signIn.body.status).toBe('second_factor_required');
    // The link is single use.
    const token2 = new URL(link, 'http://x').searchParams.get('token')!;
    expectError(
      await api.http({
        method: 'POST',
        url: '/v1/password-reset/complete',
        body: { token: token2, password: 'yet another passphrase 77' },
      }),
      400,
      'VERIFICATION_INVALID',
    );
    await deliver();
    expect(lastMail(erin.login, /password was changed/).text).toContain('second factors are unchanged');
  });

  it('changing an e-mail needs a fresh second factor, tells the old address, and takes effect only once verified', async () => {
    const frank = await newUser('frank@acme.test');
    const change = (t: string) =>
      api.http({
        method: 'POST',
        url: '/v1/contacts',
        token: t,
        body: { kind: 'email', address: 'frank.new@acme.test' },
      });
    expectError(
      await change(await token(frank.login, inst.clock.now() - 20 * 60_000)),
      403,
      'MFA_STEP_UP_REQUIRED',
    );
    expectStatus(await change(await token(frank.login)), 202);
    await deliver();
    expect(lastMail(frank.login, /change of your contact details/).text).toContain('f***@acme.test');
    const account = (await inst.store.accounts.findByName('acme'))!;
    expect((await inst.store.principals.findById(account.id, frank.id))!.email).toBe(frank.login);
    await followForm(linkIn(lastMail('frank.new@acme.test', /Confirm your e-mail/).text, '/contacts/verify'));
    expect((await inst.store.principals.findById(account.id, frank.id))!.email).toBe('frank.new@acme.test');
    await deliver();
    expect(lastMail(frank.login, /contact details changed/)).toBeDefined();
    expect(lastMail('frank.new@acme.test', /contact details changed/)).toBeDefined();
    // The e-mail can only be replaced; the phone can be removed, with a fresh second factor.
    await addPhone('frank.new@acme.test', '+14155550199');
    const remove = async (kind: string, factorAt?: number) =>
      api.http({
        method: 'DELETE',
        url: `/v1/contacts/${kind}`,
        token: await token('frank.new@acme.test', factorAt),
      });
    expectError(await remove('email'), 409, 'CONTACT_REQUIRED');
    expectError(await remove('phone', inst.clock.now() - 20 * 60_000), 403, 'MFA_STEP_UP_REQUIRED');
    const removed = await remove('phone');
    expectStatus(removed, 200);
    expect(removed.body.removed).toBe(1);
    const listed = await api.http({
      method: 'GET',
      url: '/v1/contacts',
      token: await token('frank.new@acme.test'),
    });
    expect(listed.body.contacts.map((c: { kind: string }) => c.kind)).toEqual(['email']);
  });

  it('raises alerts for resets and recovery, lists them, and mails them to the admins', async () => {
    await inst.app.scanForAlerts();
    const res = await api.http({ method: 'GET', url: '/v1/alerts', token: await token(users.admin1) });
    expectStatus(res, 200);
    const rules = new Set(res.body.alerts.map((a: { ruleId: string }) => a.ruleId));
    for (const rule of ['HF-RESET', 'HF-RECOVERY', 'HF-RECOVERY-CODE', 'HF-FACTOR-REMOVED'])
      expect(rules).toContain(rule);
    // Scanning again raises nothing twice.
    expect((await inst.app.scanForAlerts()).raised).toBe(0);
    await deliver();
    expect(lastMail(users.owner, /Holdfast alert/).text).toContain('Rule HF-');
    expectError(
      await api.http({ method: 'GET', url: '/v1/alerts', token: await api.passwordToken(users.admin2) }),
      403,
      'MFA_STEP_UP_REQUIRED',
    );
    expectError(
      await api.http({ method: 'GET', url: '/v1/alerts', token: await token(users.helpdesk) }),
      403,
      'AUTH_FORBIDDEN',
    );
  });
});
