/**
 * Invariant I4 for second factors: an attacker holding the password cannot lock the real user out,
 * and cannot guess their way in. SQLite and PostgreSQL, frozen clock (time only moves when the
 * test moves it).
 *
 * - The online guessing budget (docs/mfa.md): an attacker holding the password, from one source
 *   or from 1,000, gets so few checked guesses in 30 days that the chance of hitting a 6-digit
 *   code (±1 step window) stays below 1 in 1,000; the real user signing in every day from their
 *   own address is never refused.
 * - The suspension cannot be made permanent: it stops only sources the factor never succeeded
 *   from, lifts by itself after a day, is not reset by a success elsewhere but is cleared by an
 *   admin (audited, G2) or the operator, and IPv6 sources count as their /64.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MFA_SUSPENSION_MS } from '../../src/app/mfa.js';
import { HoldfastError } from '../../src/core/errors.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { createUserWithPassword, mfaSessionToken, type TestInstallation } from '../helpers/installation.js';
import {
  acmeMfaServer,
  PASSWORD,
  STEP_MS,
  expectError,
  expectStatus,
  totpAt,
  type MfaApi,
} from '../helpers/mfa.js';

const DAY = 24 * 60 * 60_000;
/** Codes one guess is compared with: a 6-digit TOTP with the default ±1 step window. */
const CODES_PER_GUESS = 3;

describe.each(DATABASE_KINDS)('I4: second-factor guessing and suspension [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let seq = 0;

  beforeAll(async () => {
    ({ inst, server, api } = await acmeMfaServer(name));
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  const now = () => inst.clock.now();
  const codeAt = (secret: string) => totpAt(secret, now());
  const wrong = (code: string, by = 1) => String((Number(code) + by) % 1_000_000).padStart(6, '0');

  /** A user with an enabled TOTP factor who signed in once from `home` (their own network). */
  async function userAtHome(home: string) {
    const email = `i4m-${++seq}@acme.test`;
    const { userId } = await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD });
    const token = await api.passwordToken(email);
    const created = await api.enrolTOTP(token, 'phone');
    expectStatus(created, 201);
    const factor = { id: created.body.factor.id as string, secret: created.body.secret as string };
    expectStatus(
      await api.enable(token, factor.id, {
        codes: [totpAt(factor.secret, now() - STEP_MS), codeAt(factor.secret)],
      }),
      200,
    );
    const user = { id: userId, email, factor };
    inst.clock.advance(STEP_MS);
    expect((await signIn(user, home)).ok).toBe(true);
    return user;
  }

  type Outcome = { ok: true } | { ok: false; code: string; retryAfterMs: number; scope: string | null };

  /** One whole sign-in (password, then a code) through the use cases, as a client at `ip`. */
  async function signIn(
    user: { email: string; factor: { id: string; secret: string } },
    ip: string,
    code?: string,
  ): Promise<Outcome> {
    const ctx = { requestId: `sim-${++seq}`, sourceIp: ip, userAgent: 'sim' };
    const first = await inst.app.signIn({
      ctx,
      account: 'acme',
      login: user.email,
      password: PASSWORD,
      channel: 'bearer',
    });
    if (first.status !== 'second_factor_required') throw new Error(`unexpected ${first.status}`);
    try {
      await inst.app.completeSignInWithSecondFactor({
        ctx,
        flowId: first.flowId,
        proof: { factorId: user.factor.id, code: code ?? codeAt(user.factor.secret) },
      });
      return { ok: true };
    } catch (err) {
      if (!(err instanceof HoldfastError)) throw err;
      const details = (err.details ?? {}) as { retryAfterSeconds?: number; scope?: string };
      return {
        ok: false,
        code: err.code,
        retryAfterMs: (details.retryAfterSeconds ?? 0) * 1000,
        scope: details.scope ?? null,
      };
    }
  }

  /**
   * 30 simulated days: the attacker guesses from `sources` addresses as fast as the answers
   * allow (waiting exactly the time each refusal names, per source or for the whole principal);
   * every morning the real user signs in from home. Returns the number of checked guesses.
   */
  async function thirtyDays(sources: string[]) {
    const home = `192.0.2.${++seq % 250}`;
    const user = await userAtHome(home);
    const start = now();
    const end = start + 30 * DAY;
    const nextTry = new Map(sources.map((s) => [s, start]));
    let principalNext = start;
    let nextMorning = start + DAY / 2;
    let checked = 0;
    let userDays = 0;
    let guess = 0;
    for (;;) {
      let source = sources[0]!;
      let at = Infinity;
      for (const [s, t] of nextTry) {
        if (t < at) [source, at] = [s, t];
      }
      at = Math.max(at, principalNext);
      if (nextMorning <= at && nextMorning < end) {
        // The real user, from their own network, never refused.
        inst.clock.set(nextMorning);
        inst.clock.advance(STEP_MS);
        const mine = await signIn(user, home);
        expect(mine, `day ${userDays + 1}`).toEqual({ ok: true });
        userDays++;
        nextMorning += DAY;
        continue;
      }
      if (at >= end) break;
      inst.clock.set(Math.max(at, now()));
      const outcome = await signIn(user, source, wrong(codeAt(user.factor.secret), 1 + (guess++ % 9)));
      if (outcome.ok) throw new Error('a wrong code signed in');
      if (outcome.code === 'MFA_FAILED') {
        checked++;
        nextTry.set(source, now());
      } else if (outcome.scope === 'principal') {
        expect(['AUTH_THROTTLED', 'MFA_SUSPENDED']).toContain(outcome.code);
        principalNext = now() + outcome.retryAfterMs;
      } else {
        expect(outcome.code).toBe('AUTH_THROTTLED');
        nextTry.set(source, now() + outcome.retryAfterMs);
      }
    }
    expect(userDays).toBe(30);
    return { checked, user };
  }

  it('from one source: a few dozen checked guesses in 30 days; the user signs in every day', async () => {
    const { checked } = await thirtyDays(['198.51.100.1']);
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(30);
    expect((checked * CODES_PER_GUESS) / 1e6).toBeLessThan(1e-3);
  });

  it('from 1,000 sources (IPv4 and IPv6 /64s): more addresses buy no speed; chance < 1 in 1,000', async () => {
    const sources = Array.from({ length: 1000 }, (_, i) =>
      i % 2 === 0 ? `10.${(i >> 8) & 255}.${i & 255}.7` : `2001:db8:${i.toString(16)}::1`,
    );
    const { checked, user } = await thirtyDays(sources);
    // 60 units at once, then one an hour: at most 780 units, 260 guesses of 3 codes.
    expect(checked).toBeLessThanOrEqual(260);
    expect((checked * CODES_PER_GUESS) / 1e6).toBeLessThan(1e-3);
    // The attacker's failures were counted and suspended new sources at times; the record stays.
    const suspensions = (await inst.store.audit.query({ action: 'mfa.suspend', limit: 1000 })).filter(
      (r) => r.target === user.id,
    );
    expect(suspensions.length).toBeGreaterThanOrEqual(1);
  });

  it('IPv6: every address of one /64 is one source', async () => {
    const user = await userAtHome('192.0.2.200');
    inst.clock.advance(STEP_MS);
    for (let i = 1; i <= 4; i++) {
      const outcome = await signIn(user, `2001:db8:aa:bb::${i}`, wrong(codeAt(user.factor.secret), i));
      expect(outcome).toMatchObject({ ok: false, code: 'MFA_FAILED' });
    }
    // A fifth address in the same /64 is held back with the others.
    expect(await signIn(user, '2001:db8:aa:bb:ffff::5', wrong(codeAt(user.factor.secret), 5))).toMatchObject({
      ok: false,
      code: 'AUTH_THROTTLED',
      scope: 'source',
    });
  });

  it('a suspension cannot lock the user out: home still works, a success elsewhere does not wipe it, it lifts by itself (audited)', async () => {
    const home = '192.0.2.201';
    const user = await userAtHome(home);
    const suspendAt = inst.app.deps.settings.mfa.suspendAfterFailures;
    // The attacker fails from fresh addresses, pacing to the budget, until the suspension.
    let failures = 0;
    for (let i = 0; failures < suspendAt; i++) {
      const outcome = await signIn(
        user,
        `10.77.${(i >> 8) & 255}.${i & 255}`,
        wrong(codeAt(user.factor.secret), 1 + (i % 9)),
      );
      if (outcome.ok) throw new Error('a wrong code signed in');
      if (outcome.code === 'MFA_FAILED') failures++;
      else inst.clock.advance(outcome.retryAfterMs);
      if (failures === suspendAt - 1) {
        // A success from home does not wipe failures made elsewhere.
        inst.clock.advance(STEP_MS);
        expect(await signIn(user, home)).toEqual({ ok: true });
        expect((await inst.store.mfaState.get(user.id))!.consecutiveFailures).toBe(suspendAt - 1);
      }
    }
    const state = (await inst.store.mfaState.get(user.id))!;
    expect(state.suspendedAt).not.toBeNull();
    expect(state.suspendedUntil).toBe(state.suspendedAt! + MFA_SUSPENSION_MS);

    // New places are refused, even with the right code; home is not.
    inst.clock.advance(STEP_MS);
    expect(await signIn(user, '203.0.113.99')).toMatchObject({ ok: false, code: 'MFA_SUSPENDED' });
    inst.clock.advance(STEP_MS);
    expect(await signIn(user, home)).toEqual({ ok: true });

    // After a day it lifts by itself; the record of the suspension stays.
    inst.clock.set(state.suspendedUntil! + 1);
    inst.clock.advance(STEP_MS);
    expect(await signIn(user, '203.0.113.99')).toEqual({ ok: true });
    const lifts = (await inst.store.audit.query({ action: 'mfa.suspension_lift', limit: 1000 })).filter(
      (r) => r.target === user.id,
    );
    expect(lifts.map((r) => (r.details as { reason?: string }).reason)).toContain('expired');
    expect(
      (await inst.store.audit.query({ action: 'mfa.suspend', limit: 1000 })).some(
        (r) => r.target === user.id,
      ),
    ).toBe(true);
  });

  it('admins (MFA session) and the operator lift a suspension; a session without MFA cannot', async () => {
    const user = await userAtHome('192.0.2.202');
    const account = (await inst.store.accounts.findByName('acme'))!;
    const suspend = async () => {
      const state = (await inst.store.mfaState.get(user.id))!;
      await inst.store.mfaState.put({
        ...state,
        consecutiveFailures: 100,
        suspendedAt: now(),
        suspendedUntil: now() + DAY,
      });
    };
    await suspend();
    const adminEmail = `i4m-admin-${++seq}@acme.test`;
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: adminEmail,
      password: PASSWORD,
      role: 'admin',
    });
    const passwordOnly = await api.passwordToken(adminEmail);
    const lift = (token: string) =>
      api.http({ method: 'POST', url: `/v1/users/${user.id}/mfa-suspension/lift`, token });
    // G2: administration needs MFA.
    const refused = await lift(passwordOnly);
    expect(refused.status).toBe(403);
    expect((await inst.store.mfaState.get(user.id))!.suspendedAt).not.toBeNull();

    const adminMfa = await mfaSessionToken(inst, { accountName: 'acme', login: adminEmail });
    const lifted = await lift(adminMfa);
    expectStatus(lifted, 200);
    expect(lifted.body).toEqual({ lifted: true, suspended: false });
    expect(await inst.store.mfaState.get(user.id)).toMatchObject({
      suspendedAt: null,
      consecutiveFailures: 0,
    });
    const record = (await inst.store.audit.query({ action: 'mfa.suspension_lift', limit: 1000 })).filter(
      (r) => r.target === user.id,
    );
    expect(record.at(-1)!.details).toMatchObject({ reason: 'admin' });
    inst.clock.advance(STEP_MS);
    expect(await signIn(user, '203.0.113.120')).toEqual({ ok: true });

    // The host operator (CLI) too.
    await suspend();
    const byOperator = await inst.app.liftMfaSuspension({
      actor: { kind: 'operator' },
      ctx: { requestId: 'cli', sourceIp: null, userAgent: 'cli' },
      accountId: account.id,
      userRef: user.email,
    });
    expect(byOperator.lifted).toBe(true);
    expectError(
      await api.http({ method: 'POST', url: '/v1/users/usr_nobody/mfa-suspension/lift', token: adminMfa }),
      404,
      'USER_NOT_FOUND',
    );
  });
});
