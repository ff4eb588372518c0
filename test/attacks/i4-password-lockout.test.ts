/**
 * Invariant I4 (password part): an attacker cannot use the password throttles to keep the real
 * user out (docs/mfa.md, sign-in throttling; NIST SP 800-63B §5.2.2, OWASP Authentication Cheat
 * Sheet). On SQLite and PostgreSQL, through the HTTP API, time moved by the injected clock.
 *
 * The attacker holds: the account name and the user's login (e-mail or user name), addresses of
 * their own (IPv4, or a whole IPv6 /64), or an address behind the same office NAT as the user;
 * in (g) a stolen session without the password. Never the password, the known-client token or
 * the user's network.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KNOWN_CLIENT_COOKIE } from '../../src/http/api/auth-routes.js';
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
  type Http,
  type HttpResponse,
} from '../helpers/mfa.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe.each(DATABASE_KINDS)('I4: password throttles are no lock-out weapon [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let http: Http;
  let accountId: string;

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    ({ accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    }));
    server = await buildTestServer(inst);
    http = injectHttp(server);
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  async function newUser(email: string): Promise<{ id: string; username: string }> {
    const { userId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email,
      password: PASSWORD,
      role: 'user',
    });
    const principal = await inst.store.principals.findById(accountId, userId);
    return { id: userId, username: principal!.username };
  }

  /** POST /v1/sign-in from `ip`, with an optional known-client token (JSON) or cookie. */
  function signIn(
    body: { account?: string; login: string; password: string; knownClient?: string },
    ip: string,
    cookie?: string,
  ): Promise<HttpResponse> {
    if (cookie !== undefined) {
      return server
        .inject({
          method: 'POST',
          url: '/v1/sign-in',
          payload: { account: body.account ?? 'acme', login: body.login, password: body.password },
          remoteAddress: ip,
          cookies: { [KNOWN_CLIENT_COOKIE]: cookie },
        })
        .then((res) => ({ status: res.statusCode, headers: res.headers, body: res.json() }));
    }
    return http({ method: 'POST', url: '/v1/sign-in', body: { account: 'acme', ...body }, ip });
  }

  /** Waits out the delay an answer named (Retry-After), through the clock. */
  function waitOut(res: HttpResponse): void {
    inst.clock.advance(Number(res.headers['retry-after'] ?? 1) * 1000 + 1);
  }

  const throttleRows = async () =>
    inst.database.kysely.selectFrom('throttle').select(['key', 'failures', 'expires_at']).execute();

  it('(a) one wrong password each time the wait ends, from elsewhere: the user signs in at once from their own network and with their known-client token', async () => {
    const user = await newUser('alice@acme.test');
    const home = '198.51.100.10';
    // The user signed in before from home: the network is known and the client got its token.
    const first = await signIn({ login: 'alice@acme.test', password: PASSWORD }, home);
    expectStatus(first, 200);
    const knownClient = first.body.knownClient as string;
    expect(knownClient).toMatch(/^hfc_[A-Za-z0-9_-]{43}$/);
    // Only the keyed hash of the token is stored.
    const stored = await inst.database.kysely.selectFrom('known_clients').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(knownClient);

    // The attacker spends the free failures, then sends one more each time the wait ends.
    const attacker = '203.0.113.5';
    let last: HttpResponse | undefined;
    for (let i = 0; i < 6; i++) {
      last = await signIn({ login: 'alice@acme.test', password: `guess ${i}` }, attacker);
      expectError(last, 401, 'AUTH_INVALID_CREDENTIALS');
    }
    for (let round = 0; round < 8; round++) {
      const held = await signIn({ login: 'alice@acme.test', password: `guess again ${round}` }, attacker);
      expectError(held, 429, 'AUTH_THROTTLED');
      // The attack works against clients the user never used: a new device on a new network waits.
      expectError(
        await signIn({ login: 'alice@acme.test', password: PASSWORD }, `192.0.2.${100 + round}`),
        429,
        'AUTH_THROTTLED',
      );
      // The real user: from home without any token, and from a café with the token (JSON and cookie).
      expectStatus(await signIn({ login: 'alice@acme.test', password: PASSWORD }, home), 200);
      expectStatus(
        await signIn({ login: 'alice@acme.test', password: PASSWORD, knownClient }, `100.64.0.${round + 1}`),
        200,
      );
      expectStatus(
        await signIn({ login: 'alice@acme.test', password: PASSWORD }, `100.65.0.${round + 1}`, knownClient),
        200,
      );
      waitOut(held);
      last = await signIn({ login: 'alice@acme.test', password: `guess at the end ${round}` }, attacker);
      expectError(last, 401, 'AUTH_INVALID_CREDENTIALS');
    }
    // A token bound to another principal, or a forged one, buys nothing.
    const other = await newUser('mallory@acme.test');
    const mallorys = (await signIn({ login: 'mallory@acme.test', password: PASSWORD }, '100.66.0.1')).body
      .knownClient as string;
    expect(other.id).not.toBe(user.id);
    for (const token of [mallorys, 'hfc_forged', knownClient.slice(0, -2) + 'AA']) {
      expectError(
        await signIn({ login: 'alice@acme.test', password: PASSWORD, knownClient: token }, '100.67.0.1'),
        429,
        'AUTH_THROTTLED',
      );
    }
    // The known client has a budget of its own: a thief of the token is slowed too.
    for (let i = 0; i < 6; i++) {
      expectError(
        await signIn({ login: 'alice@acme.test', password: `thief ${i}`, knownClient }, '100.68.0.1'),
        401,
        'AUTH_INVALID_CREDENTIALS',
      );
    }
    expectError(
      await signIn({ login: 'alice@acme.test', password: PASSWORD, knownClient }, '100.68.0.1'),
      429,
      'AUTH_THROTTLED',
    );
    // ...and the home network still lets the user in.
    expectStatus(await signIn({ login: 'alice@acme.test', password: PASSWORD }, home), 200);
  });

  it('(b) 50 made-up logins sprayed from the office address: real users behind it sign in without a wait', async () => {
    await newUser('bob@acme.test');
    await newUser('carol@acme.test');
    const office = '192.0.2.1';
    const codes: string[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await signIn({ login: `made-up-${i}@acme.test`, password: 'Spring2026!' }, office);
      expect(res.status === 401 || res.status === 429).toBe(true);
      codes.push(res.body.error.code as string);
    }
    // The per-source budget of existing logins never counted the made-up ones.
    const source = (await throttleRows()).find((r) => r.key === `pwd:source:${office}`);
    expect(source?.failures ?? 0).toBe(0);
    // The made-up logins are slowed (one budget for the source) ...
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('AUTH_INVALID_CREDENTIALS'));
    expect(codes.at(-1)).toBe('AUTH_THROTTLED');
    // ... and the answer for an existing login with a wrong password is the same: nothing leaks.
    expectError(
      await signIn({ login: 'carol@acme.test', password: 'not hers' }, office),
      429,
      'AUTH_THROTTLED',
    );
    expectError(
      await signIn({ login: 'nobody@acme.test', password: 'not hers' }, office),
      429,
      'AUTH_THROTTLED',
    );
    // Real users behind the same address, who never signed in before, get in at once.
    expectStatus(await signIn({ login: 'bob@acme.test', password: PASSWORD }, office), 200);
    expectStatus(await signIn({ login: 'carol@acme.test', password: PASSWORD }, office), 200);
  });

  it('(c) e-mail, user name, case and whitespace variants, and the account id are one budget', async () => {
    const user = await newUser('dave@acme.test');
    const ip = '203.0.113.40';
    const variants = [
      { account: 'acme', login: 'dave@acme.test' },
      { account: 'ACME', login: 'DAVE@ACME.TEST' },
      { account: ' acme ', login: '  dave@acme.test ' },
      { account: accountId, login: user.username },
      { account: accountId, login: 'Dave@Acme.Test' },
      { account: 'acme', login: ` ${user.username}` },
    ];
    for (const [i, v] of variants.entries()) {
      expectError(
        await signIn({ ...v, password: `variant guess ${i}` }, ip),
        401,
        'AUTH_INVALID_CREDENTIALS',
      );
    }
    for (const v of variants)
      expectError(await signIn({ ...v, password: 'one more' }, ip), 429, 'AUTH_THROTTLED');
    const keys = (await throttleRows()).map((r) => r.key).filter((k) => k.includes(user.id));
    expect(keys.sort()).toEqual([`pwd:login:${user.id}:${ip}`, `pwd:principal:${user.id}`]);
    // Every variant signs in with the right password once the wait is over.
    inst.clock.advance(2 * MINUTE);
    expectStatus(await signIn({ ...variants[2]!, password: PASSWORD }, ip), 200);
  });

  it('(d) an IPv6 attacker rotating addresses inside one /64 gets one budget', async () => {
    await newUser('erin@acme.test');
    const inside = (n: number) => `2001:db8:77:1:${n.toString(16)}:0:0:1`;
    for (let i = 0; i < 6; i++) {
      expectError(
        await signIn({ login: `made-up-v6-${i}@acme.test`, password: 'guess' }, inside(i + 1)),
        401,
        'AUTH_INVALID_CREDENTIALS',
      );
    }
    // A fresh address in the same /64 meets the same wait; another /64 does not.
    expectError(
      await signIn({ login: 'made-up-v6-x@acme.test', password: 'guess' }, inside(999)),
      429,
      'AUTH_THROTTLED',
    );
    expectError(
      await signIn({ login: 'made-up-v6-y@acme.test', password: 'guess' }, '2001:db8:77:2::1'),
      401,
      'AUTH_INVALID_CREDENTIALS',
    );
    // Guessing a real login from the /64: one (principal, network) budget however the address turns.
    for (let i = 0; i < 6; i++) {
      await signIn({ login: 'erin@acme.test', password: `v6 guess ${i}` }, inside(100 + i));
    }
    const erinRows = (await throttleRows()).filter(
      (r) => r.key.startsWith('pwd:login:') && r.key.endsWith('::/64'),
    );
    expect(erinRows.map((r) => r.key)).toEqual([expect.stringMatching(/^pwd:login:.+:2001:db8:77:1::\/64$/)]);
    // The wait is short: the real user signs in from their own IPv6 network ...
    inst.clock.advance(2 * MINUTE);
    expectStatus(await signIn({ login: 'erin@acme.test', password: PASSWORD }, '2001:db8:99:1::5'), 200);
    // ... and from that network (another address in it) again during a new wait the attacker imposes.
    for (let i = 0; i < 8; i++)
      await signIn({ login: 'erin@acme.test', password: `v6 more ${i}` }, inside(200 + i));
    expectStatus(await signIn({ login: 'erin@acme.test', password: PASSWORD }, '2001:db8:99:1::77'), 200);
  });

  it('(f) made-up logins add no row per login string, and expired rows are pruned', async () => {
    const before = (await throttleRows()).length;
    // 10 sources, 8 different made-up logins each: one row per source.
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 8; i++) {
        await signIn({ login: `spray-${s}-${i}@acme.test`, password: 'Summer2026!' }, `198.18.0.${s + 1}`);
      }
    }
    const rows = await throttleRows();
    expect(rows.length - before).toBe(10);
    expect(rows.filter((r) => r.key.startsWith('pwd:unknown:198.18.0.')).length).toBe(10);
    expect(rows.some((r) => r.key.includes('spray-'))).toBe(false);

    // A day later every row has expired; a fresh failure's row stays.
    inst.clock.advance(25 * HOUR);
    await signIn({ login: 'fresh-made-up@acme.test', password: 'x' }, '198.18.1.1');
    const { pruned } = await inst.app.pruneThrottles();
    expect(pruned).toBeGreaterThanOrEqual(10);
    const left = (await throttleRows()).map((r) => r.key);
    expect(left).toEqual(['pwd:unknown:198.18.1.1']);
  });

  it('(g) guesses of the current password on password change are throttled and audited; the user still changes it', async () => {
    const user = await newUser('frank@acme.test');
    // The attacker holds a stolen session, not the password.
    const stolen = await mfaSessionToken(inst, { accountName: 'acme', login: 'frank@acme.test' });
    const change = (currentPassword: string, newPassword = 'a brand new long passphrase') =>
      http({
        method: 'POST',
        url: '/v1/me/password',
        token: stolen,
        body: { currentPassword, newPassword },
        ip: '203.0.113.90',
      });
    for (let i = 0; i < 6; i++) expectError(await change(`guess ${i}`), 400, 'PASSWORD_MISMATCH');
    const held = await change('guess 7');
    expectError(held, 429, 'AUTH_THROTTLED');
    // During the wait even the right password is not checked (the guesser learns nothing).
    expectError(await change(PASSWORD), 429, 'AUTH_THROTTLED');
    const audit = (await inst.store.audit.query({ action: 'user.password_change', limit: 100 })).filter(
      (r) => r.target === user.id,
    );
    expect(audit.map((r) => r.errorCode)).toEqual([
      ...Array(6).fill('PASSWORD_MISMATCH'),
      'AUTH_THROTTLED',
      'AUTH_THROTTLED',
    ]);
    expect(JSON.stringify(audit)).not.toContain('guess');
    // The password is unchanged; once the short wait is over the user (who knows it) changes it.
    expectStatus(await signIn({ login: 'frank@acme.test', password: PASSWORD }, '198.51.100.60'), 200);
    waitOut(held);
    const own = await mfaSessionToken(inst, { accountName: 'acme', login: 'frank@acme.test' });
    expectStatus(
      await http({
        method: 'POST',
        url: '/v1/me/password',
        token: own,
        body: { currentPassword: PASSWORD, newPassword: 'a brand new long passphrase' },
      }),
      204,
    );
    expectStatus(
      await signIn({ login: 'frank@acme.test', password: 'a brand new long passphrase' }, '198.51.100.60'),
      200,
    );
  });
});
