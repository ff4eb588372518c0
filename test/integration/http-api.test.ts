import { hash as argon2Hash } from '@node-rs/argon2';
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

const PASSWORD = 'correct horse battery staple';

describe.each(DATABASE_KINDS)('HTTP API [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let accountId: string;
  let verifyCalls = 0;

  const signIn = (
    body: Record<string, unknown>,
    remoteAddress = '127.0.0.1',
    headers: Record<string, string> = {},
  ) => server.inject({ method: 'POST', url: '/v1/sign-in', payload: body, remoteAddress, headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const tokenFor = async (login: string, password = PASSWORD) => {
    const res = await signIn({ account: 'acme', login, password });
    expect(res.statusCode).toBe(200);
    return res.json().token as string;
  };
  const auditCount = () => inst.store.audit.count();
  /** An MFA session: identity administration needs one (guardrail G2). */
  const mfaTokenFor = (login: string, accountName = 'acme') => mfaSessionToken(inst, { accountName, login });

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    const original = inst.app.deps.passwords.verify;
    inst.app.deps.passwords.verify = (h, p) => {
      verifyCalls++;
      return original(h, p);
    };
    ({ accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    }));
    for (const [email, role] of [
      ['admin@acme.test', 'admin'],
      ['help@acme.test', 'helpdesk'],
      ['user@acme.test', 'user'],
      ['user2@acme.test', 'user'],
    ] as const) {
      await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD, role });
    }
    // A second account with the same e-mail: an independent identity (MISSION.md failure 6).
    await createUserWithPassword(inst, {
      accountName: 'other',
      email: 'user@acme.test',
      password: 'a different long passphrase',
    });
    server = await buildTestServer(inst);
  });
  afterAll(async () => {
    await server.close();
    await inst.destroy();
  });

  it('signs in with a bearer token; the session records how it was authenticated', async () => {
    const res = await signIn({ account: 'acme', login: 'user@acme.test', password: PASSWORD });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('signed_in');
    expect(body.token).toMatch(/^hfs_[A-Za-z0-9_-]{43}$/);
    expect(body.session.methods).toEqual(['pwd']);
    expect(body.session.mfa).toBeNull();
    const me = await server.inject({ url: '/v1/session', headers: bearer(body.token) });
    expect(me.statusCode).toBe(200);
    expect(me.json().user.email).toBe('user@acme.test');
    expect(me.json().account.id).toBe(accountId);
    // Only the hash of the token is stored.
    const row = await inst.database.kysely
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', body.session.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).not.toContain(body.token);
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts the account by 12-digit id, and logins by user name', async () => {
    const res = await signIn({ account: accountId, login: 'user@acme.test', password: PASSWORD });
    expect(res.statusCode).toBe(200);
  });

  it('the same e-mail in another account is another identity with its own password', async () => {
    expect((await signIn({ account: 'other', login: 'user@acme.test', password: PASSWORD })).statusCode).toBe(
      401,
    );
    expect(
      (await signIn({ account: 'other', login: 'user@acme.test', password: 'a different long passphrase' }))
        .statusCode,
    ).toBe(200);
  });

  it('answers unknown account, unknown login, wrong password and disabled user alike, each after one hash verification', async () => {
    const cases = [
      { account: 'nope-account', login: 'user@acme.test', password: PASSWORD },
      { account: 'acme', login: 'ghost@acme.test', password: PASSWORD },
      { account: 'acme', login: 'user2@acme.test', password: 'wrong password here' },
    ];
    const answers = [];
    for (const [i, c] of cases.entries()) {
      const before = verifyCalls;
      const res = await signIn(c, `10.1.0.${i + 1}`);
      expect(verifyCalls - before).toBe(1);
      answers.push({
        status: res.statusCode,
        code: res.json().error.code,
        message: res.json().error.message,
      });
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual({
      status: 401,
      code: 'AUTH_INVALID_CREDENTIALS',
      message: expect.any(String),
    });
    const reasons = (await inst.store.audit.query({ action: 'auth.sign_in', limit: 1000 }))
      .filter((r) => r.outcome === 'failure')
      .map((r) => r.details.reason);
    expect(reasons).toEqual(expect.arrayContaining(['unknown_account', 'unknown_login', 'wrong_password']));
  });

  it('slows password guessing per login with growing delays, then lets the owner back in', async () => {
    const login = { account: 'acme', login: 'user2@acme.test' };
    for (let i = 0; i < 5; i++) {
      const res = await signIn({ ...login, password: `wrong guess ${i}!!` }, `10.2.0.${i + 1}`);
      expect(res.json().error.code).toBe('AUTH_INVALID_CREDENTIALS');
    }
    // 6th failure (the earlier test made one more) → now every attempt waits.
    await signIn({ ...login, password: 'wrong guess 5!!' }, '10.2.0.9');
    const blocked = await signIn({ ...login, password: PASSWORD }, '10.2.0.10');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().error.code).toBe('AUTH_THROTTLED');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    const before = verifyCalls;
    await signIn({ ...login, password: PASSWORD }, '10.2.0.11');
    expect(verifyCalls).toBe(before); // throttled attempts do not even reach the hash
    inst.clock.advance(5 * 60_000); // well past the delay: never a permanent lock-out
    expect((await signIn({ ...login, password: PASSWORD }, '10.2.0.12')).statusCode).toBe(200);
    // Success resets the per-login count of the network the owner signed in from (now a known
    // network of theirs); the budget of unknown clients keeps what the guesses spent.
    expect((await signIn({ ...login, password: 'one more wrong!!' }, '10.2.0.12')).json().error.code).toBe(
      'AUTH_INVALID_CREDENTIALS',
    );
    expect((await signIn({ ...login, password: PASSWORD }, '10.2.0.12')).statusCode).toBe(200);
  });

  it('counts concurrent guesses before checking them, so a burst cannot outrun the throttle', async () => {
    const before = verifyCalls;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        signIn(
          { account: 'acme', login: 'help@acme.test', password: `burst guess ${i}!!` },
          `10.7.0.${i + 1}`,
        ),
      ),
    );
    const codes = answers.map((a) => a.json().error.code);
    // 5 free failures, the 6th is counted and sets a delay: every later guess waits unchecked.
    expect(codes.filter((c) => c === 'AUTH_INVALID_CREDENTIALS').length).toBeLessThanOrEqual(6);
    expect(codes.filter((c) => c === 'AUTH_THROTTLED').length).toBeGreaterThanOrEqual(24);
    expect(verifyCalls - before).toBeLessThanOrEqual(6);
    inst.clock.advance(10 * 60_000);
    expect(
      (await signIn({ account: 'acme', login: 'help@acme.test', password: PASSWORD }, '10.7.1.1')).statusCode,
    ).toBe(200);
  });

  it('slows a single source spraying many logins', async () => {
    let last;
    for (let i = 0; i < 22; i++)
      last = await signIn(
        { account: 'acme', login: `spray${i}@acme.test`, password: 'spray spray spray' },
        '10.3.3.3',
      );
    expect(last!.json().error.code).toBe('AUTH_THROTTLED');
    // Another source is unaffected.
    expect(
      (await signIn({ account: 'acme', login: 'admin@acme.test', password: PASSWORD }, '10.3.3.4'))
        .statusCode,
    ).toBe(200);
    inst.clock.advance(60 * 60_000);
  });

  it('takes the client address from the socket and ignores X-Forwarded-For from untrusted peers', async () => {
    await signIn({ account: 'acme', login: 'admin@acme.test', password: PASSWORD }, '10.9.9.9', {
      'x-forwarded-for': '203.0.113.7',
    });
    const last = (await inst.store.audit.query({ action: 'auth.sign_in', limit: 1000 })).at(-1)!;
    expect(last.sourceIp).toBe('10.9.9.9');
    const proxied = await buildTestServer(inst, { trustedProxies: ['10.9.9.9'] });
    await proxied.inject({
      method: 'POST',
      url: '/v1/sign-in',
      payload: { account: 'acme', login: 'admin@acme.test', password: PASSWORD },
      remoteAddress: '10.9.9.9',
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    await proxied.close();
    expect((await inst.store.audit.query({ action: 'auth.sign_in', limit: 1000 })).at(-1)!.sourceIp).toBe(
      '203.0.113.7',
    );
  });

  it('cookie sessions are HttpOnly and SameSite, and writes need the CSRF header', async () => {
    const res = await signIn({
      account: 'acme',
      login: 'user@acme.test',
      password: PASSWORD,
      session: 'cookie',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().token).toBeUndefined();
    const cookies = res.cookies;
    const session = cookies.find((c) => c.name === 'holdfast_session')!;
    const csrf = cookies.find((c) => c.name === 'holdfast_csrf')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Strict');
    expect(session.secure).toBeFalsy(); // plain HTTP in tests; Secure is set when served over TLS
    expect(csrf.httpOnly).toBeFalsy();
    expect(csrf.value).toBe(res.json().csrfToken);
    const cookie = `holdfast_session=${session.value}`;
    expect((await server.inject({ url: '/v1/session', headers: { cookie } })).statusCode).toBe(200);
    const noCsrf = await server.inject({ method: 'POST', url: '/v1/sign-out', headers: { cookie } });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('AUTH_CSRF_FAILED');
    const wrongCsrf = await server.inject({
      method: 'POST',
      url: '/v1/sign-out',
      headers: { cookie, 'x-csrf-token': 'x'.repeat(43) },
    });
    expect(wrongCsrf.json().error.code).toBe('AUTH_CSRF_FAILED');
    const ok = await server.inject({
      method: 'POST',
      url: '/v1/sign-out',
      headers: { cookie, 'x-csrf-token': csrf.value },
    });
    expect(ok.statusCode).toBe(204);
    expect((await server.inject({ url: '/v1/session', headers: { cookie } })).json().error.code).toBe(
      'AUTH_SESSION_INVALID',
    );
  });

  it('lists and revokes own sessions, but not anyone else’s', async () => {
    const t1 = await tokenFor('user@acme.test');
    const t2 = await tokenFor('user@acme.test');
    const list = await server.inject({ url: '/v1/sessions', headers: bearer(t1) });
    const sessions = list.json().sessions as Array<{ id: string; current: boolean }>;
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    const other = sessions.find((s) => !s.current)!;
    const del = await server.inject({
      method: 'DELETE',
      url: `/v1/sessions/${other.id}`,
      headers: bearer(t1),
    });
    expect(del.statusCode).toBe(204);
    expect((await server.inject({ url: '/v1/session', headers: bearer(t2) })).statusCode).toBe(401);
    const adminToken = await tokenFor('admin@acme.test');
    const adminSession = (await server.inject({ url: '/v1/session', headers: bearer(adminToken) })).json()
      .session.id;
    const foreign = await server.inject({
      method: 'DELETE',
      url: `/v1/sessions/${adminSession}`,
      headers: bearer(t1),
    });
    expect(foreign.json().error.code).toBe('SESSION_NOT_FOUND');
    expect((await server.inject({ url: '/v1/session', headers: bearer(adminToken) })).statusCode).toBe(200);
  });

  it('ends sessions after the idle timeout and after the absolute timeout', async () => {
    const idle = await tokenFor('user@acme.test');
    inst.clock.advance(29 * 60_000);
    expect((await server.inject({ url: '/v1/session', headers: bearer(idle) })).statusCode).toBe(200);
    inst.clock.advance(31 * 60_000);
    const expired = await server.inject({ url: '/v1/session', headers: bearer(idle) });
    expect(expired.json().error.code).toBe('AUTH_SESSION_INVALID');

    const busy = await tokenFor('user@acme.test');
    for (let h = 0; h < 36; h++) {
      inst.clock.advance(20 * 60_000);
      const res = await server.inject({ url: '/v1/session', headers: bearer(busy) });
      if (h < 35) expect(res.statusCode).toBe(200);
      else expect(res.json().error.code).toBe('AUTH_SESSION_INVALID'); // 12 h absolute limit
    }
  });

  it('rejects missing, malformed and forged tokens with distinct codes', async () => {
    expect((await server.inject({ url: '/v1/session' })).json().error.code).toBe('AUTH_SESSION_REQUIRED');
    expect(
      (await server.inject({ url: '/v1/session', headers: { authorization: 'Basic abc' } })).json().error
        .code,
    ).toBe('AUTH_SESSION_INVALID');
    const forged = 'hfs_' + 'A'.repeat(43);
    expect((await server.inject({ url: '/v1/session', headers: bearer(forged) })).json().error.code).toBe(
      'AUTH_SESSION_INVALID',
    );
  });

  it('enforces roles: users cannot list users, help desk cannot disable, admins can', async () => {
    const user = await mfaTokenFor('user@acme.test');
    const help = await mfaTokenFor('help@acme.test');
    const admin = await mfaTokenFor('admin@acme.test');
    // Without MFA, even an admin is asked to step up first (G2).
    const passwordOnly = await server.inject({
      url: '/v1/users',
      headers: bearer(await tokenFor('admin@acme.test')),
    });
    expect(passwordOnly.json().error.code).toBe('MFA_STEP_UP_REQUIRED');
    expect(passwordOnly.json().error.guardrail).toBe('G2');
    expect((await server.inject({ url: '/v1/users', headers: bearer(user) })).json().error.code).toBe(
      'AUTH_FORBIDDEN',
    );
    const list = await server.inject({ url: '/v1/users', headers: bearer(help) });
    expect(list.statusCode).toBe(200);
    expect(list.json().users.length).toBe(5);
    expect(JSON.stringify(list.json())).not.toContain('argon2');
    const before = await auditCount();
    const denied = await server.inject({
      method: 'POST',
      url: '/v1/users/user2@acme.test/disable',
      headers: bearer(help),
    });
    expect(denied.json().error.code).toBe('AUTH_FORBIDDEN');
    // The refusal changed nothing but is a failed security event in the audit log.
    expect(await auditCount()).toBe(before + 1);
    const refusal = (await inst.store.audit.scan(0, 100_000)).at(-1);
    expect(refusal).toMatchObject({
      action: 'authz.denied',
      outcome: 'failure',
      errorCode: 'AUTH_FORBIDDEN',
    });
    expect(refusal!.details.action).toBe('holdfast:DisableUser');
    // Help desk may revoke a user's sessions but never an admin's.
    expect(
      (
        await server.inject({
          method: 'POST',
          url: '/v1/users/admin@acme.test/sessions/revoke',
          headers: bearer(help),
        })
      ).json().error,
    ).toMatchObject({ code: 'GUARDRAIL_DENIED', guardrail: 'G6' });
    const created = await server.inject({
      method: 'POST',
      url: '/v1/users',
      headers: bearer(admin),
      payload: { email: 'new@acme.test', role: 'user' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().setup.url).toMatch(/\/setup#token=hfsetup_/);
    // An admin cannot mint an owner (G6: admins never act on owners).
    const owner = await server.inject({
      method: 'POST',
      url: '/v1/users',
      headers: bearer(admin),
      payload: { email: 'o2@acme.test', role: 'owner' },
    });
    expect(owner.json().error).toMatchObject({ code: 'GUARDRAIL_DENIED', guardrail: 'G6' });
    const dup = await server.inject({
      method: 'POST',
      url: '/v1/users',
      headers: bearer(admin),
      payload: { email: 'NEW@acme.test' },
    });
    expect(dup.json().error.code).toBe('USER_EMAIL_TAKEN');
    const sameName = await server.inject({
      method: 'POST',
      url: '/v1/users',
      headers: bearer(admin),
      payload: { email: 'other-new@acme.test', username: 'new@acme.test' },
    });
    expect(sameName.json().error.code).toBe('USER_NAME_TAKEN');
  });

  it('keeps accounts apart: an admin of one account cannot see users of another', async () => {
    const otherOwner = await mfaTokenFor('user@acme.test', 'other');
    const res = await server.inject({ url: '/v1/users/owner@acme.test', headers: bearer(otherOwner) });
    expect(res.json().error.code).toBe('USER_NOT_FOUND');
    expect(
      (await server.inject({ url: '/v1/users', headers: bearer(otherOwner) })).json().users,
    ).toHaveLength(1);
  });

  it('an admin revokes a user’s sessions; disabling a user ends their sessions and sign-ins', async () => {
    const admin = await mfaTokenFor('admin@acme.test');
    const victim = await tokenFor('user2@acme.test');
    const revoke = await server.inject({
      method: 'POST',
      url: '/v1/users/user2@acme.test/sessions/revoke',
      headers: bearer(admin),
    });
    expect(revoke.json().revoked).toBeGreaterThanOrEqual(1);
    expect((await server.inject({ url: '/v1/session', headers: bearer(victim) })).statusCode).toBe(401);
    const again = await tokenFor('user2@acme.test');
    const disable = await server.inject({
      method: 'POST',
      url: '/v1/users/user2@acme.test/disable',
      headers: bearer(admin),
    });
    expect(disable.json().user.status).toBe('disabled');
    expect((await server.inject({ url: '/v1/session', headers: bearer(again) })).statusCode).toBe(401);
    expect(
      (await signIn({ account: 'acme', login: 'user2@acme.test', password: PASSWORD }, '10.5.0.1')).json()
        .error.code,
    ).toBe('AUTH_INVALID_CREDENTIALS');
    const owner = await mfaTokenFor('owner@acme.test');
    const ownerId = (await server.inject({ url: '/v1/session', headers: bearer(owner) })).json().user.id;
    expect(
      (
        await server.inject({ method: 'POST', url: `/v1/users/${ownerId}/disable`, headers: bearer(owner) })
      ).json().error.code,
    ).toBe('USER_LAST_OWNER');
  });

  it('setup tokens are single use; a rejected password leaves the token usable', async () => {
    const admin = await mfaTokenFor('admin@acme.test');
    const created = await server.inject({
      method: 'POST',
      url: '/v1/users',
      headers: bearer(admin),
      payload: { email: 'setup@acme.test' },
    });
    const token = created.json().setup.token;
    const inspect = (t: string) =>
      server.inject({ method: 'POST', url: '/v1/setup/inspect', payload: { token: t } });
    // The page the link opens can say whose password it sets; looking does not use the token up.
    for (let i = 0; i < 2; i++) {
      const whom = await inspect(token);
      expect(whom.statusCode).toBe(200);
      expect(whom.json()).toMatchObject({
        account: { name: 'acme' },
        user: { email: 'setup@acme.test', username: 'setup@acme.test' },
      });
      expect(whom.json().expiresAt).toBe(created.json().setup.expiresAt);
    }
    // A forged token learns nothing about anyone.
    const forged = await inspect('hfsetup_forged');
    expect(forged.statusCode).toBe(400);
    expect(forged.json().error.code).toBe('AUTH_SETUP_TOKEN_INVALID');
    expect(forged.body).not.toContain('acme');
    const weak = await server.inject({
      method: 'POST',
      url: '/v1/setup',
      payload: { token, password: 'password1234' },
    });
    expect(weak.json().error.code).toBe('PASSWORD_TOO_COMMON');
    const short = await server.inject({
      method: 'POST',
      url: '/v1/setup',
      payload: { token, password: 'short' },
    });
    expect(short.json().error.code).toBe('PASSWORD_TOO_SHORT');
    const ok = await server.inject({
      method: 'POST',
      url: '/v1/setup',
      payload: { token, password: 'a perfectly fine passphrase' },
    });
    expect(ok.statusCode).toBe(200);
    const reuse = await server.inject({
      method: 'POST',
      url: '/v1/setup',
      payload: { token, password: 'another fine passphrase' },
    });
    expect(reuse.json().error.code).toBe('AUTH_SETUP_TOKEN_INVALID');
    // A used token names nobody either.
    expect((await inspect(token)).json().error.code).toBe('AUTH_SETUP_TOKEN_INVALID');
    expect(
      (await signIn({ account: 'acme', login: 'setup@acme.test', password: 'a perfectly fine passphrase' }))
        .statusCode,
    ).toBe(200);
  });

  it('changing a password needs the current one and revokes the other sessions', async () => {
    const t1 = await tokenFor('help@acme.test');
    const t2 = await tokenFor('help@acme.test');
    const wrong = await server.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: bearer(t1),
      payload: { currentPassword: 'not my password', newPassword: 'brand new passphrase' },
    });
    expect(wrong.json().error.code).toBe('PASSWORD_MISMATCH');
    const ok = await server.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: bearer(t1),
      payload: { currentPassword: PASSWORD, newPassword: 'brand new passphrase' },
    });
    expect(ok.statusCode).toBe(204);
    expect((await server.inject({ url: '/v1/session', headers: bearer(t1) })).statusCode).toBe(200);
    expect((await server.inject({ url: '/v1/session', headers: bearer(t2) })).statusCode).toBe(401);
    await server.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: bearer(t1),
      payload: { currentPassword: 'brand new passphrase', newPassword: PASSWORD },
    });
  });

  it('upgrades a password hash made with weaker parameters on sign-in', async () => {
    const stronger = await createTestInstallation(name, { env: { HOLDFAST_ARGON2_TIME_COST: '3' } });
    try {
      const { accountId: acc, userId } = await createUserWithPassword(stronger, {
        accountName: 'upgrade',
        email: 'up@up.test',
        password: PASSWORD,
      });
      const p = (await stronger.store.principals.findById(acc, userId))!;
      expect(p.passwordHash).toContain('t=3');
      const weak = await argon2Hash(PASSWORD, {
        algorithm: 2,
        memoryCost: 19456,
        timeCost: 2,
        parallelism: 1,
      });
      await stronger.store.principals.update({ ...p, passwordHash: weak });
      const s = await buildTestServer(stronger);
      const res = await s.inject({
        method: 'POST',
        url: '/v1/sign-in',
        payload: { account: 'upgrade', login: 'up@up.test', password: PASSWORD },
      });
      await s.close();
      expect(res.statusCode).toBe(200);
      expect((await stronger.store.principals.findById(acc, userId))!.passwordHash).toMatch(
        /^\$argon2id\$v=19\$m=19456,t=3,p=1\$/,
      );
    } finally {
      await stronger.destroy();
    }
  });

  it('does not block the event loop while hashing', async () => {
    let ticks = 0;
    let running = true;
    const spin = () => {
      ticks++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    await signIn({ account: 'acme', login: 'owner@acme.test', password: PASSWORD });
    running = false;
    expect(ticks).toBeGreaterThan(5);
  });

  it('answers every bad input with a code and changes nothing', async () => {
    const before = await auditCount();
    const post = (
      payload: string,
      headers: Record<string, string> = { 'content-type': 'application/json' },
    ) => server.inject({ method: 'POST', url: '/v1/sign-in', payload, headers });
    const cases: Array<
      [
        Promise<{ statusCode: number; json(): { error: { code: string; requestId: string } } }>,
        number,
        string,
      ]
    > = [
      [post('{"account": "acme",'), 400, 'REQUEST_MALFORMED'],
      [post(''), 400, 'REQUEST_MALFORMED'],
      [
        post(JSON.stringify({ account: 'acme', login: 'x', password: 'y'.repeat(70_000) })),
        413,
        'REQUEST_TOO_LARGE',
      ],
      [post(JSON.stringify({ account: 1, login: 'x', password: 'y' })), 400, 'REQUEST_INVALID'],
      [
        post(JSON.stringify({ account: 'acme', login: 'x', password: 'y', admin: true })),
        400,
        'REQUEST_INVALID',
      ],
      [post(JSON.stringify({ account: 'acme' })), 400, 'REQUEST_INVALID'],
      [
        post(JSON.stringify({ account: 'acme', login: 'x', password: 'y', session: 'jwt' })),
        400,
        'REQUEST_INVALID',
      ],
      [post('account=acme', { 'content-type': 'text/plain' }), 415, 'REQUEST_UNSUPPORTED_MEDIA_TYPE'],
      [server.inject({ url: '/v1/nowhere' }), 404, 'REQUEST_ROUTE_NOT_FOUND'],
      [
        server.inject({
          method: 'POST',
          url: '/v1/setup',
          payload: { token: 'hfsetup_forged', password: PASSWORD },
        }),
        400,
        'AUTH_SETUP_TOKEN_INVALID',
      ],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect([res.statusCode, res.json().error.code]).toEqual([status, code]);
      expect(res.json().error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Only the forged setup token is a security-relevant failure worth an audit record.
    expect(await auditCount()).toBe(before + 1);
  });

  it('serves health, readiness, metrics, OpenAPI, docs and security headers', async () => {
    expect((await server.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await server.inject({ url: '/readyz' })).statusCode).toBe(200);
    // Metrics are off on the public port unless a token is configured (test/integration/operations.test.ts).
    const metrics = await server.inject({ url: '/metrics' });
    expect(metrics.statusCode).toBe(404);
    expect(metrics.body).not.toContain('holdfast_http_requests_total');
    const spec = (await server.inject({ url: '/v1/openapi.json' })).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/v1/sign-in', '/v1/users', '/v1/sessions/{id}']),
    );
    const docs = await server.inject({ url: '/docs' });
    expect(docs.headers['content-type']).toContain('text/html');
    expect(docs.body).toContain('/v1/sign-in');
    const csp = String(docs.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
    // The page setup links open is a console page (its token stays in the URL fragment).
    const setup = await server.inject({ url: '/setup' });
    expect(setup.headers['content-type']).toContain('text/html');
    expect((await server.inject({ url: '/assets/setup.js' })).statusCode).toBe(404);
  });
});
