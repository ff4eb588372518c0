/**
 * Invariant I4 (recovery part): a stranger who knows the account and the login cannot kill the
 * user's recovery or password reset by starting it again, cannot multiply the start limit with
 * variants of the account string, and cannot text the user's phone without bound
 * (docs/recovery.md). On SQLite and PostgreSQL, with a real SMTP server and an SMS provider
 * stand-in on loopback; time moves through the injected clock.
 *
 * The stranger holds: the account name or id and the user's login. Never the mailbox or phone.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transports } from '../../src/app/delivery.js';
import { transportsFor } from '../../src/background.js';
import { SMS_SENDS_PER_DAY } from '../../src/app/recovery-support.js';
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
  expectError,
  expectStatus,
  injectHttp,
  uniqueIp,
  type Http,
  type HttpResponse,
} from '../helpers/mfa.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const PUBLIC_URL = 'http://holdfast.test';

describe.each(DATABASE_KINDS)('I4: recovery restarts are no weapon [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let http: Http;
  let mailbox: Mailbox;
  let sms: HttpStandIn;
  let transports: Transports;
  let closeTransports: () => void;
  let accountId: string;

  beforeAll(async () => {
    mailbox = await startMailbox();
    sms = await startHttpStandIn();
    inst = await createTestInstallation(name, {
      env: deliveryEnv(mailbox, sms, 'AC00000000000000000000000000000003'),
    });
    ({ transports, close: closeTransports } = transportsFor(inst.config.delivery));
    ({ accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    }));
    server = await buildTestServer(inst);
    http = injectHttp(server);
  });
  afterAll(async () => {
    closeTransports?.();
    await server?.close();
    await inst?.destroy();
    await mailbox?.close();
    await sms?.close();
  });

  const deliver = () => deliverAll(inst, { transports, publicUrl: PUBLIC_URL });
  const tokenOf = (path: string) => new URL(path, 'http://x').searchParams.get('token') ?? '';
  const mailsTo = (address: string, subject: RegExp) =>
    mailbox.to(address).filter((m) => subject.test(m.subject));
  const smsTo = (phone: string) => sms.requests.filter((r) => r.form.To === phone).map((r) => r.form.Body!);
  const codesTo = (phone: string) =>
    smsTo(phone)
      .filter((t) => /recovery code/i.test(t))
      .map((t) => /(\d{6})/.exec(t)![1]!);
  const lastLink = (address: string, subject: RegExp, path: string) => {
    const found = mailsTo(address, subject);
    expect(found.length, `mail to ${address} matching ${subject}`).toBeGreaterThan(0);
    return tokenOf(linkIn(found.at(-1)!.text, path));
  };
  const requestsOf = async (principalId: string) =>
    (await inst.store.recovery.listRequests({ accountId })).filter((r) => r.principalId === principalId);

  /** A user with a verified e-mail and phone (no factor needed for recovery starts). */
  async function newUser(login: string, phone: string) {
    const { userId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: login,
      password: PASSWORD,
      role: 'user',
    });
    const token = await mfaSessionToken(inst, { accountName: 'acme', login });
    expectStatus(await http({ method: 'POST', url: '/v1/contacts/verify-current', token }), 202);
    await deliver();
    // The user opens the link and confirms the form, as a browser would.
    const found = mailsTo(login, /Confirm your e-mail/);
    const path = linkIn(found.at(-1)!.text, '/contacts/verify');
    const page = await server.inject({ method: 'GET', url: path });
    const action = /<form method="post" action="([^"]+)"/.exec(page.body)?.[1];
    expect(action, page.body).toBeDefined();
    const done = await server.inject({
      method: 'POST',
      url: action!,
      payload: new URLSearchParams({ token: tokenOf(path) }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(done.statusCode, done.body).toBe(200);
    expectStatus(
      await http({ method: 'POST', url: '/v1/contacts', token, body: { kind: 'phone', address: phone } }),
      202,
    );
    await deliver();
    const code = /(\d{6})/.exec(smsTo(phone).at(-1)!)![1]!;
    expectStatus(
      await http({ method: 'POST', url: '/v1/contacts/phone/verify', token, body: { code } }),
      200,
    );
    const principal = await inst.store.principals.findById(accountId, userId);
    return { id: userId, login, phone, username: principal!.username };
  }

  const startRecovery = (account: string, login: string, ip = uniqueIp()) =>
    http({ method: 'POST', url: '/v1/recovery/start', body: { account, login }, ip });
  const startReset = (account: string, login: string, ip = uniqueIp()) =>
    http({ method: 'POST', url: '/v1/password-reset/start', body: { account, login }, ip });

  it("(e) a stranger's restart leaves the user's live link and code working", async () => {
    const user = await newUser('grace@acme.test', '+14155550401');
    expectStatus(await startRecovery('acme', user.login, '198.51.100.20'), 202);
    await deliver();
    const link = lastLink(user.login, /Account recovery/, '/recovery/verify');
    const code = codesTo(user.phone).at(-1)!;
    const mailsBefore = mailsTo(user.login, /Account recovery/).length;
    const textsBefore = smsTo(user.phone).length;

    // The stranger restarts, with every spelling of the account and login: the same answer.
    for (const [account, login] of [
      ['acme', user.login],
      ['ACME', user.login.toUpperCase()],
      [accountId, user.username],
    ] as const) {
      const res: HttpResponse = await startRecovery(account, login, '203.0.113.66');
      expectStatus(res, 202);
      expect(res.body).toEqual({ status: 'started' });
    }
    await deliver();
    // Nothing new was sent, nothing expired: one request, still verifying.
    expect(mailsTo(user.login, /Account recovery/).length).toBe(mailsBefore);
    expect(smsTo(user.phone).length).toBe(textsBefore);
    expect((await requestsOf(user.id)).map((r) => r.state)).toEqual(['verifying']);

    // The user's link and code still work.
    const proven = await http({ method: 'POST', url: '/v1/recovery/verify', body: { token: link, code } });
    expectStatus(proven, 200);
    expect((await requestsOf(user.id)).map((r) => r.state)).toEqual(['waiting']);
  });

  it('(e) once the code has lapsed, a restart texts a fresh code for the same request; the link keeps working', async () => {
    const user = await newUser('heidi@acme.test', '+14155550402');
    expectStatus(await startRecovery('acme', user.login), 202);
    await deliver();
    const link = lastLink(user.login, /Account recovery/, '/recovery/verify');
    const first = codesTo(user.phone).at(-1)!;
    inst.clock.advance(11 * MINUTE); // codes live 10 minutes, the request an hour
    expectStatus(await startRecovery('acme', user.login, '203.0.113.67'), 202);
    await deliver();
    const fresh = codesTo(user.phone).at(-1)!;
    expect(codesTo(user.phone)).toHaveLength(2);
    expect(mailsTo(user.login, /Account recovery/)).toHaveLength(1);
    expect((await requestsOf(user.id)).map((r) => r.state)).toEqual(['verifying']);
    if (fresh !== first) {
      expectError(
        await http({ method: 'POST', url: '/v1/recovery/verify', body: { token: link, code: first } }),
        400,
        'VERIFICATION_INVALID',
      );
    }
    expectStatus(
      await http({ method: 'POST', url: '/v1/recovery/verify', body: { token: link, code: fresh } }),
      200,
    );
  });

  it('(e) variants of the account string and login do not multiply the per-login start limit', async () => {
    const user = await newUser('ivan@acme.test', '+14155550403');
    const variants: Array<[string, string]> = [
      ['acme', user.login],
      ['ACME', user.login],
      [' acme ', ` ${user.login} `],
      [accountId, user.login],
      ['acme', user.login.toUpperCase()],
      ['acme', user.username],
      [` ${accountId}`, 'Ivan@Acme.Test'],
      ['Acme', user.username],
    ];
    const answers: number[] = [];
    for (const [account, login] of variants) answers.push((await startRecovery(account, login)).status);
    // Five free starts and the one that sets the delay, then every spelling waits.
    expect(answers.filter((s) => s === 202)).toHaveLength(6);
    expect(answers.slice(6)).toEqual([429, 429]);
    expectError(await startRecovery(accountId, user.username), 429, 'AUTH_THROTTLED');
    // Password-reset starts likewise.
    const resets: HttpResponse[] = [];
    for (const [account, login] of variants) resets.push(await startReset(account, login));
    expect(resets.filter((r) => r.status === 202)).toHaveLength(6);
    expectError(resets.at(-1)!, 429, 'AUTH_THROTTLED');
    // A login that does not exist answers alike: the limit says nothing about existence.
    const ghost: number[] = [];
    for (const [account] of variants) ghost.push((await startRecovery(account, 'ghost@acme.test')).status);
    expect(ghost).toEqual(answers);
  });

  it('(e) texts with recovery codes are capped per principal per day, whoever asks', async () => {
    const user = await newUser('judy@acme.test', '+14155550404');
    const before = codesTo(user.phone).length;
    for (let i = 0; i < SMS_SENDS_PER_DAY + 3; i++) {
      // Each start an hour and a bit apart: the previous request has expired, the start limit
      // has reset, and the address is new every time.
      expectStatus(await startRecovery('acme', user.login), 202);
      await deliver();
      inst.clock.advance(HOUR + MINUTE);
    }
    expect(codesTo(user.phone).length - before).toBe(SMS_SENDS_PER_DAY);
    const capped = (await inst.store.audit.query({ action: 'recovery.start', limit: 1000 })).filter(
      (r) => r.target === user.id && r.details.reason === 'sms_cap',
    );
    expect(capped).toHaveLength(3);
    // A day later the user can recover again.
    inst.clock.advance(24 * HOUR);
    expectStatus(await startRecovery('acme', user.login), 202);
    await deliver();
    expect(codesTo(user.phone).length - before).toBe(SMS_SENDS_PER_DAY + 1);
  });

  it("(e) a stranger's password-reset restart leaves the user's live reset link working", async () => {
    const user = await newUser('ken@acme.test', '+14155550405');
    expectStatus(await startReset('acme', user.login), 202);
    await deliver();
    const link = lastLink(user.login, /Reset your password/, '/password-reset');
    for (const [account, login] of [
      ['acme', user.login],
      [accountId, user.username],
    ] as const) {
      expectStatus(await startReset(account, login, '203.0.113.68'), 202);
    }
    await deliver();
    expect(mailsTo(user.login, /Reset your password/)).toHaveLength(1);
    expectStatus(
      await http({
        method: 'POST',
        url: '/v1/password-reset/complete',
        body: { token: link, password: 'a fresh and long passphrase' },
      }),
      200,
    );
    expectStatus(
      await http({
        method: 'POST',
        url: '/v1/sign-in',
        body: { account: 'acme', login: user.login, password: 'a fresh and long passphrase' },
      }),
      200,
    );
  });
});
