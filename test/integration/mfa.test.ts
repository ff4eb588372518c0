/**
 * Second factors over HTTP (inject), on SQLite and PostgreSQL: TOTP enrolment and enabling, the
 * factor step of sign-in, replay protection and the ±1 step window, the sign-in flow's limits,
 * step-up, resync, "add before remove", recovery codes, the throttling design of
 * src/app/mfa.ts (per user and source delays, suspension after 100 consecutive failures) and the
 * lock-out risk insights. Time is a ManualClock; codes are computed at its time.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32 } from '../../src/core/factors/otp/base32.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  buildTestServer,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  acmeMfaServer,
  PASSWORD,
  STEP_MS,
  errorCodeOf,
  expectError,
  expectStatus,
  mfaApi,
  totpAt,
  type HttpResponse,
  type MfaApi,
} from '../helpers/mfa.js';

const MINUTE = 60_000;

/** A code that is certainly not `code` (same length, digits only). */
function wrongCode(code: string, by = 1): string {
  return String((Number(code) + by) % 1_000_000).padStart(6, '0');
}

interface User {
  id: string;
  email: string;
  /** A password-only session, made before any factor existed. */
  token: string;
}
interface TOTP {
  id: string;
  secret: string;
}

describe.each(DATABASE_KINDS)('second factors over HTTP [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let userSeq = 0;

  beforeAll(async () => {
    ({ inst, server, api } = await acmeMfaServer(name));
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  const now = () => inst.clock.now();
  /** The code the user's authenticator shows `offsetMs` from now. */
  const codeAt = (secret: string, offsetMs = 0) => totpAt(secret, now() + offsetMs);
  /** Moves to the next time step, so every factor has a code not used yet. */
  const nextStep = () => inst.clock.advance(STEP_MS);
  const iso = (ms: number) => new Date(ms).toISOString();

  const call = {
    remove: (token: string, factorId: string) =>
      api.http({ method: 'DELETE', url: `/v1/factors/${factorId}`, token }),
    rename: (token: string, factorId: string, newName: string) =>
      api.http({ method: 'PATCH', url: `/v1/factors/${factorId}`, body: { name: newName }, token }),
    resync: (token: string, factorId: string, codes: [string, string]) =>
      api.http({ method: 'POST', url: `/v1/factors/${factorId}/resync`, body: { codes }, token }),
    stepUp: (token: string, factorId: string, code: string) =>
      api.http({ method: 'POST', url: '/v1/session/step-up', body: { factorId, code }, token }),
    regenerate: (token: string) => api.http({ method: 'POST', url: '/v1/recovery-codes', token }),
    recoveryStatus: (token: string) => api.http({ method: 'GET', url: '/v1/recovery-codes', token }),
    session: (token: string) => api.http({ method: 'GET', url: '/v1/session', token }),
    insights: (token: string) => api.http({ method: 'GET', url: '/v1/insights/lockout-risk', token }),
  };

  /** A new user with a password (no factor yet) and a password-only session. */
  async function newUser(options: { account?: MfaApi; accountName?: string; role?: string } = {}) {
    const email = `u${++userSeq}@${options.accountName ?? 'acme'}.test`;
    const { userId } = await createUserWithPassword(inst, {
      accountName: options.accountName ?? 'acme',
      email,
      password: PASSWORD,
      role: options.role ?? 'user',
    });
    const token = await (options.account ?? api).passwordToken(email);
    return { id: userId, email, token } satisfies User;
  }

  /** Enrols a TOTP factor from `token` and enables it with the two codes of now-30 s and now. */
  async function enrolEnabled(token: string, factorName = 'phone'): Promise<TOTP> {
    const res = await api.enrolTOTP(token, factorName);
    expectStatus(res, 201);
    const { id } = res.body.factor as { id: string };
    const secret = res.body.secret as string;
    const enabled = await api.enable(token, id, { codes: [codeAt(secret, -STEP_MS), codeAt(secret)] });
    expectStatus(enabled, 200);
    expect(enabled.body.factor.status).toBe('enabled');
    const again = await api.enable(token, id, { codes: [codeAt(secret, -STEP_MS), codeAt(secret)] });
    expect(again.body.error.code).toBe('FACTOR_NOT_PENDING');
    return { id, secret };
  }

  async function userWithTOTP(factorName = 'phone') {
    const user = await newUser();
    return { ...user, factor: await enrolEnabled(user.token, factorName) };
  }

  /** A full sign-in with a factor at the next time step; the answer's body. */
  async function mfaSignIn(user: User, factor: TOTP, ip?: string) {
    nextStep();
    const flowId = await api.startFlow(user.email, ip);
    const res = await api.secondFactor(flowId, { factorId: factor.id, code: codeAt(factor.secret) }, ip);
    expectStatus(res, 200);
    expect(res.body.status).toBe('signed_in');
    return res.body as { token: string; session: { id: string; methods: string[]; mfa: unknown } };
  }

  const auditFor = async (action: string, target: string) =>
    (await inst.store.audit.query({ action, limit: 1_000_000 })).filter((r) => r.target === target);
  const outboxFor = (principalId: string, template: string) =>
    inst.database.kysely
      .selectFrom('outbox')
      .selectAll()
      .where('principal_id', '=', principalId)
      .where('template', '=', template)
      .execute();
  const factorsOf = async (token: string) => {
    const res = await api.listFactors(token);
    expectStatus(res, 200);
    return res.body.factors as Array<{ id: string; name: string; status: string }>;
  };

  describe('enrolling an authenticator app', () => {
    it('answers a 160-bit Base32 secret, the key URI, a PNG and an SVG QR code, never cached', async () => {
      const user = await newUser();
      const res = await api.enrolTOTP(user.token, 'Pixel 8');
      expectStatus(res, 201);
      expect(res.headers['cache-control']).toBe('no-store');
      const { factor, secret, keyUri, qrCode } = res.body;

      expect(secret).toMatch(/^[A-Z2-7]+$/);
      expect(decodeBase32(secret).length * 8).toBeGreaterThanOrEqual(160);

      expect(keyUri.startsWith(`otpauth://totp/acme:`)).toBe(true);
      const uri = new URL(keyUri);
      expect(uri.protocol).toBe('otpauth:');
      expect(uri.host).toBe('totp');
      expect(decodeURIComponent(uri.pathname)).toBe(`/acme:${user.email}`);
      expect(uri.searchParams.get('secret')).toBe(secret);
      expect(uri.searchParams.get('issuer')).toBe('acme');
      expect(uri.searchParams.get('algorithm') ?? 'SHA1').toBe('SHA1');
      expect(uri.searchParams.get('digits') ?? '6').toBe('6');
      expect(uri.searchParams.get('period') ?? '30').toBe('30');

      const png = Buffer.from(qrCode.png, 'base64');
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect(png.length).toBeGreaterThan(100);
      expect(qrCode.svg).toContain('<svg');

      expect(factor).toMatchObject({
        kind: 'totp',
        name: 'Pixel 8',
        status: 'pending',
        assurance: 'software_otp',
        enabledAt: null,
        pendingExpiresAt: iso(now() + 10 * MINUTE),
      });
      const listed = await api.listFactors(user.token);
      expect(listed.body.factors).toEqual([expect.objectContaining({ id: factor.id, status: 'pending' })]);
      // The listing never carries the secret.
      expect(JSON.stringify(listed.body)).not.toContain(secret);
    });

    it('wrong codes enable nothing; the pending factor survives 4 of them; two consecutive codes enable it', async () => {
      const user = await newUser();
      const res = await api.enrolTOTP(user.token, 'phone');
      const { id } = res.body.factor;
      const secret: string = res.body.secret;
      const [c1, c2] = [codeAt(secret, -STEP_MS), codeAt(secret)];
      const wrongPairs: Array<[string, string]> = [
        [wrongCode(c1), c2],
        [c1, wrongCode(c2)],
        [c2, c1], // the right codes, in the wrong order
        [codeAt(secret, -2 * STEP_MS), c2], // not consecutive
      ];
      for (const codes of wrongPairs) {
        expectError(await api.enable(user.token, id, { codes }), 400, 'FACTOR_CODE_INVALID');
        expect(await factorsOf(user.token)).toEqual([expect.objectContaining({ id, status: 'pending' })]);
      }
      const enabled = await api.enable(user.token, id, { codes: [c1, c2] });
      expectStatus(enabled, 200);
      expect(enabled.body.factor).toMatchObject({ id, status: 'enabled', enabledAt: iso(now()) });
      expect(await factorsOf(user.token)).toEqual([expect.objectContaining({ id, status: 'enabled' })]);
      const failures = (await auditFor('factor.enable', id)).filter((r) => r.outcome === 'failure');
      expect(failures.map((r) => r.errorCode)).toEqual(Array(4).fill('FACTOR_CODE_INVALID'));
      expect(await outboxFor(user.id, 'factor.added')).toHaveLength(1);
    });

    it('a single code enables too (the console form)', async () => {
      const user = await newUser();
      const res = await api.enrolTOTP(user.token, 'phone');
      expectError(
        await api.enable(user.token, res.body.factor.id, { code: wrongCode(codeAt(res.body.secret)) }),
        400,
        'FACTOR_CODE_INVALID',
      );
      const enabled = await api.enable(user.token, res.body.factor.id, { code: codeAt(res.body.secret) });
      expectStatus(enabled, 200);
      expect(enabled.body.factor.status).toBe('enabled');
    });

    it('only the session that created a pending factor may enable it', async () => {
      const user = await newUser();
      const res = await api.enrolTOTP(user.token, 'phone');
      const { id } = res.body.factor;
      const codes: [string, string] = [codeAt(res.body.secret, -STEP_MS), codeAt(res.body.secret)];
      const otherSession = await api.passwordToken(user.email);
      expectError(await api.enable(otherSession, id, { codes }), 403, 'FACTOR_WRONG_SESSION');
      // Another user cannot even see it.
      const stranger = await newUser();
      expectError(await api.enable(stranger.token, id, { codes }), 404, 'FACTOR_NOT_FOUND');
      expect(await factorsOf(user.token)).toEqual([expect.objectContaining({ id, status: 'pending' })]);
      expectStatus(await api.enable(user.token, id, { codes }), 200);
    });

    it('a pending factor expires after 10 minutes', async () => {
      const pair = (secret: string): [string, string] => [codeAt(secret, -STEP_MS), codeAt(secret)];
      const user = await newUser();
      const a = await api.enrolTOTP(user.token, 'phone A');
      const b = await api.enrolTOTP(user.token, 'phone B');
      inst.clock.advance(9 * MINUTE + 30_000);
      expectStatus(await api.enable(user.token, a.body.factor.id, { codes: pair(a.body.secret) }), 200);
      // Enabling the first factor cancelled every other pending one (G3 is decided on enable).
      expectError(
        await api.enable(user.token, b.body.factor.id, { codes: pair(b.body.secret) }),
        404,
        'FACTOR_NOT_FOUND',
      );
      expect((await factorsOf(user.token)).map((f) => f.id)).toEqual([a.body.factor.id]);
      const late = await newUser();
      const c = await api.enrolTOTP(late.token, 'phone C');
      inst.clock.advance(10 * MINUTE); // exactly 10 minutes after creation
      expectError(
        await api.enable(late.token, c.body.factor.id, { codes: pair(c.body.secret) }),
        410,
        'FACTOR_PENDING_EXPIRED',
      );
      expect(await factorsOf(late.token)).toEqual([]);
    });

    it('five wrong tries end a pending enrolment', async () => {
      const user = await newUser();
      const res = await api.enrolTOTP(user.token, 'phone');
      const { id } = res.body.factor;
      for (let i = 1; i <= 5; i++) {
        expectError(
          await api.enable(user.token, id, { code: wrongCode(codeAt(res.body.secret), i) }),
          400,
          'FACTOR_CODE_INVALID',
        );
      }
      const codes: [string, string] = [codeAt(res.body.secret, -STEP_MS), codeAt(res.body.secret)];
      expectError(await api.enable(user.token, id, { codes }), 410, 'FACTOR_PENDING_EXPIRED');
      expect(await factorsOf(user.token)).toEqual([]);
    });

    it('names are unique per user, also when renaming', async () => {
      const user = await newUser();
      expectStatus(await api.enrolTOTP(user.token, 'phone'), 201);
      expectError(await api.enrolTOTP(user.token, 'phone'), 409, 'FACTOR_NAME_TAKEN');
      expectError(await api.enrolTOTP(user.token, '  phone  '), 409, 'FACTOR_NAME_TAKEN');
      // Another user may use the same name.
      const other = await newUser();
      expectStatus(await api.enrolTOTP(other.token, 'phone'), 201);

      const tablet = await api.enrolTOTP(user.token, 'tablet');
      expectError(await call.rename(user.token, tablet.body.factor.id, 'phone'), 409, 'FACTOR_NAME_TAKEN');
      const renamed = await call.rename(user.token, tablet.body.factor.id, 'iPad');
      expectStatus(renamed, 200);
      expect(renamed.body.factor.name).toBe('iPad');
      expect((await factorsOf(user.token)).map((f) => f.name).sort()).toEqual(['iPad', 'phone']);
    });

    it('a user holds at most 8 factors, pending ones included', async () => {
      const user = await newUser();
      for (let i = 1; i <= 8; i++) expectStatus(await api.enrolTOTP(user.token, `factor ${i}`), 201);
      expectError(await api.enrolTOTP(user.token, 'factor 9'), 409, 'FACTOR_LIMIT_REACHED');
      expect(await factorsOf(user.token)).toHaveLength(8);
    });

    it('next to an enabled factor, another is added only from an MFA session', async () => {
      const user = await userWithTOTP();
      expectError(await api.enrolTOTP(user.token, 'second'), 403, 'MFA_STEP_UP_REQUIRED');
      const mfa = await mfaSignIn(user, user.factor);
      expectStatus(await api.enrolTOTP(mfa.token, 'second'), 201);
    });
  });

  describe('signing in with a second factor', () => {
    it('offers every enabled factor; a code completes it and the session records the factor', async () => {
      const user = await userWithTOTP('phone A');
      expect((await api.signIn(user.email)).body).toMatchObject({
        status: 'second_factor_required',
        factors: [{ id: user.factor.id, kind: 'totp', name: 'phone A', lastUsedAt: null }],
        recoveryCodes: false,
      });
      const first = await mfaSignIn(user, user.factor);
      const firstUse = now();
      const b = await enrolEnabled(first.token, 'phone B');
      await api.enrolTOTP(first.token, 'pending C'); // pending factors are not offered

      nextStep();
      const res = await api.signIn(user.email);
      expectStatus(res, 200);
      expect(res.body).toEqual({
        status: 'second_factor_required',
        flowId: expect.any(String),
        expiresAt: iso(now() + 10 * MINUTE),
        factors: [
          { id: user.factor.id, kind: 'totp', name: 'phone A', lastUsedAt: iso(firstUse) },
          { id: b.id, kind: 'totp', name: 'phone B', lastUsedAt: null },
        ],
        recoveryCodes: false,
        // The password was right: the client gets its known-client token (docs/mfa.md).
        knownClient: expect.stringMatching(/^hfc_/),
      });
      expect(res.body.token).toBeUndefined();

      const done = await api.secondFactor(res.body.flowId, {
        factorId: user.factor.id,
        code: codeAt(user.factor.secret),
      });
      expectStatus(done, 200);
      const expectedMFA = {
        factorId: user.factor.id,
        kind: 'totp',
        assurance: 'software_otp',
        at: iso(now()),
      };
      expect(done.body).toMatchObject({
        status: 'signed_in',
        token: expect.stringMatching(/^hfs_/),
        user: { id: user.id, email: user.email },
        session: { methods: ['pwd', 'otp'], mfa: expectedMFA },
      });
      const me = await call.session(done.body.token);
      expectStatus(me, 200);
      expect(me.body.session).toMatchObject({
        id: done.body.session.id,
        methods: ['pwd', 'otp'],
        mfa: expectedMFA,
      });
      expect((await auditFor('auth.sign_in', user.id)).at(-1)!.details).toMatchObject({
        factorId: user.factor.id,
        assurance: 'software_otp',
        methods: ['pwd', 'otp'],
      });
    });

    it('a user with two factors may use either; a code is never tried against another factor', async () => {
      const user = await userWithTOTP('phone A');
      const a = user.factor;
      const first = await mfaSignIn(user, a);
      const b = await enrolEnabled(first.token, 'phone B');

      const withB = await mfaSignIn(user, b);
      expect(withB.session.mfa).toMatchObject({ factorId: b.id });
      const withA = await mfaSignIn(user, a);
      expect(withA.session.mfa).toMatchObject({ factorId: a.id });

      // A's valid code presented as B's: no fallback to another factor.
      nextStep();
      const flowId = await api.startFlow(user.email);
      expectError(
        await api.secondFactor(flowId, { factorId: b.id, code: codeAt(a.secret) }),
        401,
        'MFA_FAILED',
      );
      // ...and A's code was not consumed by that attempt.
      expectStatus(await api.secondFactor(flowId, { factorId: a.id, code: codeAt(a.secret) }), 200);
    });

    it('a code (time step) is accepted once; older steps never; the next step works', async () => {
      const user = await userWithTOTP();
      const { factor } = user;
      nextStep();
      const code = codeAt(factor.secret);
      expectStatus(
        await api.secondFactor(await api.startFlow(user.email), { factorId: factor.id, code }),
        200,
      );

      const lastFailureReason = async () =>
        (await auditFor('auth.mfa_sign_in', user.id)).filter((r) => r.outcome === 'failure').at(-1)!.details
          .reason;
      // The same code in a new flow.
      expectError(
        await api.secondFactor(await api.startFlow(user.email), { factorId: factor.id, code }),
        401,
        'MFA_FAILED',
      );
      expect(await lastFailureReason()).toBe('replayed');
      // The step before the last accepted one, although inside the window.
      expectError(
        await api.secondFactor(await api.startFlow(user.email), {
          factorId: factor.id,
          code: codeAt(factor.secret, -STEP_MS),
        }),
        401,
        'MFA_FAILED',
      );
      expect(await lastFailureReason()).toBe('replayed');
      // The next step's code (inside the ±1 window) is new: accepted.
      expectStatus(
        await api.secondFactor(await api.startFlow(user.email), {
          factorId: factor.id,
          code: codeAt(factor.secret, STEP_MS),
        }),
        200,
      );
    });

    it('accepts codes one step early or late, not two', async () => {
      const late = await userWithTOTP();
      const early = await userWithTOTP();
      inst.clock.advance(5 * MINUTE);
      const attempt = async (user: typeof late, offsetMs: number) =>
        api.secondFactor(await api.startFlow(user.email), {
          factorId: user.factor.id,
          code: codeAt(user.factor.secret, offsetMs),
        });
      expectError(await attempt(late, -2 * STEP_MS), 401, 'MFA_FAILED');
      expectError(await attempt(early, 2 * STEP_MS), 401, 'MFA_FAILED');
      expectStatus(await attempt(late, -STEP_MS), 200);
      expectStatus(await attempt(early, STEP_MS), 200);
    });

    it('wrong, malformed, replayed, unknown and foreign-factor attempts all answer alike', async () => {
      const user = await userWithTOTP();
      const other = await userWithTOTP();
      await mfaSignIn(user, user.factor);
      const used = codeAt(user.factor.secret);
      const fresh = codeAt(user.factor.secret, STEP_MS);
      const flowId = await api.startFlow(user.email);
      const attempts: Array<{ factorId: string; code: string }> = [
        { factorId: user.factor.id, code: wrongCode(fresh) },
        { factorId: user.factor.id, code: '12345a' },
        { factorId: user.factor.id, code: '12345' },
        { factorId: user.factor.id, code: used },
        { factorId: 'mfa_doesnotexist0000000000', code: fresh },
        { factorId: other.factor.id, code: codeAt(other.factor.secret, STEP_MS) },
      ];
      const answers: Array<{ status: number; code: string | null; message: string }> = [];
      for (const proof of attempts) {
        const res = await api.secondFactor(flowId, proof);
        answers.push({ status: res.status, code: errorCodeOf(res), message: res.body.error.message });
      }
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
      expect(answers[0]).toEqual({ status: 401, code: 'MFA_FAILED', message: expect.any(String) });
      const reasons = (await auditFor('auth.mfa_sign_in', user.id))
        .filter((r) => r.outcome === 'failure')
        .slice(-attempts.length)
        .map((r) => r.details.reason);
      expect(reasons).toEqual([
        'mismatch',
        'malformed',
        'malformed',
        'replayed',
        'unknown_factor',
        'unknown_factor',
      ]);
      // Nothing was consumed: the user's fresh code still works in this flow, and the other
      // user's code still works for them.
      expectStatus(await api.secondFactor(flowId, { factorId: user.factor.id, code: fresh }), 200);
      const otherFlow = await api.startFlow(other.email);
      expectStatus(
        await api.secondFactor(otherFlow, {
          factorId: other.factor.id,
          code: codeAt(other.factor.secret, STEP_MS),
        }),
        200,
      );
    });
  });

  describe('the sign-in flow', () => {
    it('refuses unknown, expired and completed flows', async () => {
      const user = await userWithTOTP();
      const { factor } = user;
      nextStep();
      expectError(
        await api.secondFactor('flw_unknown', { factorId: factor.id, code: codeAt(factor.secret) }),
        404,
        'FLOW_NOT_FOUND',
      );

      const expiring = await api.startFlow(user.email);
      inst.clock.advance(11 * MINUTE);
      expectError(
        await api.secondFactor(expiring, { factorId: factor.id, code: codeAt(factor.secret) }),
        410,
        'FLOW_EXPIRED',
      );

      const flowId = await api.startFlow(user.email);
      expectStatus(await api.secondFactor(flowId, { factorId: factor.id, code: codeAt(factor.secret) }), 200);
      expectError(
        await api.secondFactor(flowId, { factorId: factor.id, code: codeAt(factor.secret, STEP_MS) }),
        409,
        'FLOW_INVALID_TRANSITION',
      );
    });

    it('fails after 10 wrong codes; the password step must be repeated', async () => {
      const user = await userWithTOTP();
      const { factor } = user;
      nextStep();
      const flowId = await api.startFlow(user.email);
      for (let i = 1; i <= 10; i++) {
        expectError(
          await api.secondFactor(flowId, { factorId: factor.id, code: wrongCode(codeAt(factor.secret), i) }),
          401,
          'MFA_FAILED',
        );
      }
      const good = { factorId: factor.id, code: codeAt(factor.secret) };
      expectError(await api.secondFactor(flowId, good), 409, 'FLOW_INVALID_TRANSITION');
      expect(await inst.store.flows.findById(flowId)).toMatchObject({ state: 'failed', attempts: 10 });
      expect((await auditFor('auth.sign_in_flow_failed', user.id)).map((r) => r.details.flowId)).toEqual([
        flowId,
      ]);
      // The right code was not spent on the failed flow.
      expectStatus(await api.secondFactor(await api.startFlow(user.email), good), 200);
    });
  });

  describe('step-up, resync and replacing a phone', () => {
    it('removing a factor needs an MFA from the last 15 minutes; step-up refreshes it', async () => {
      const user = await userWithTOTP('phone A');
      const a = user.factor;
      const session = await mfaSignIn(user, a);
      const b = await enrolEnabled(session.token, 'phone B');
      const c = await enrolEnabled(session.token, 'phone C');
      // Right after the MFA sign-in.
      expectStatus(await call.remove(session.token, b.id), 204);
      // A password-only session never may.
      expectError(await call.remove(user.token, c.id), 403, 'MFA_STEP_UP_REQUIRED');

      inst.clock.advance(16 * MINUTE);
      const stale = await call.remove(session.token, c.id);
      expectError(stale, 403, 'MFA_STEP_UP_REQUIRED');
      expect(stale.body.error.maxAgeSeconds).toBe(15 * 60);
      expect((await factorsOf(session.token)).map((f) => f.id)).toEqual([a.id, c.id]);

      expectError(await call.stepUp(session.token, a.id, wrongCode(codeAt(a.secret))), 401, 'MFA_FAILED');
      expectError(await call.remove(session.token, c.id), 403, 'MFA_STEP_UP_REQUIRED');
      const stepped = await call.stepUp(session.token, a.id, codeAt(a.secret));
      expectStatus(stepped, 200);
      expect(stepped.body.session.mfa).toEqual({
        factorId: a.id,
        kind: 'totp',
        assurance: 'software_otp',
        at: iso(now()),
      });
      expectStatus(await call.remove(session.token, c.id), 204);
      expect((await factorsOf(session.token)).map((f) => f.id)).toEqual([a.id]);
      expect(await outboxFor(user.id, 'factor.removed')).toHaveLength(2);
    });

    it('resync re-centres a drifted factor with two consecutive codes, and the drift is remembered', async () => {
      const user = await userWithTOTP();
      const { factor } = user;
      const session = await mfaSignIn(user, factor);
      inst.clock.advance(10 * MINUTE);
      // From now on the phone runs 8 minutes behind.
      const device = () => codeAt(factor.secret, -8 * MINUTE);

      const flowId = await api.startFlow(user.email);
      expectError(await api.secondFactor(flowId, { factorId: factor.id, code: device() }), 401, 'MFA_FAILED');

      const first = device();
      inst.clock.advance(STEP_MS);
      const second = device();
      // Needs a recent MFA; wrong codes change nothing.
      expectError(await call.resync(user.token, factor.id, [first, second]), 403, 'MFA_STEP_UP_REQUIRED');
      expectError(
        await call.resync(session.token, factor.id, [wrongCode(first), wrongCode(second)]),
        400,
        'FACTOR_CODE_INVALID',
      );
      expectError(await call.resync(session.token, factor.id, [second, first]), 400, 'FACTOR_CODE_INVALID');
      const resynced = await call.resync(session.token, factor.id, [first, second]);
      expectStatus(resynced, 200);
      expect(resynced.body.factor.id).toBe(factor.id);
      // The same pair again is a replay.
      expectError(await call.resync(session.token, factor.id, [first, second]), 400, 'FACTOR_CODE_INVALID');

      // The phone's next code signs in: the window is now centred 8 minutes back.
      nextStep();
      expectStatus(
        await api.secondFactor(await api.startFlow(user.email), { factorId: factor.id, code: device() }),
        200,
      );
      nextStep();
      expectStatus(
        await api.secondFactor(await api.startFlow(user.email), { factorId: factor.id, code: device() }),
        200,
      );
    });

    it('add before remove: enrol phone B next to phone A, remove A with a step-up, sign in with B', async () => {
      const user = await userWithTOTP('phone A');
      const a = user.factor;
      const session = await mfaSignIn(user, a);
      const b = await enrolEnabled(session.token, 'phone B');
      // Both work while the user moves over.
      await mfaSignIn(user, b);
      await mfaSignIn(user, a);

      inst.clock.advance(16 * MINUTE);
      expectError(await call.remove(session.token, a.id), 403, 'MFA_STEP_UP_REQUIRED');
      expectStatus(await call.stepUp(session.token, b.id, codeAt(b.secret)), 200);
      expectStatus(await call.remove(session.token, a.id), 204);

      nextStep();
      const offered = await api.signIn(user.email);
      expect(offered.body.factors.map((f: { id: string }) => f.id)).toEqual([b.id]);
      expectError(
        await api.secondFactor(offered.body.flowId, { factorId: a.id, code: codeAt(a.secret) }),
        401,
        'MFA_FAILED',
      );
      const done = await api.secondFactor(offered.body.flowId, { factorId: b.id, code: codeAt(b.secret) });
      expectStatus(done, 200);
      expect(done.body.session.mfa.factorId).toBe(b.id);
    });
  });

  describe('recovery codes', () => {
    it('right after enabling the first factor, its session prints the first set without a second code', async () => {
      const user = await newUser();
      const factor = await enrolEnabled(user.token, 'first phone');
      // The code just used would be a replay; the session proved the factor a moment ago.
      const first = await call.regenerate(user.token);
      expectStatus(first, 200);
      expect(first.body.codes).toHaveLength(10);
      expect((await call.recoveryStatus(user.token)).body).toEqual({ remaining: 10 });
      // It is no MFA session: adding a second factor or replacing the set still needs a step-up.
      expect((await call.session(user.token)).body.session.mfa).toBeNull();
      expectError(await api.enrolTOTP(user.token, 'second'), 403, 'MFA_STEP_UP_REQUIRED');
      expectError(await call.regenerate(user.token), 403, 'MFA_STEP_UP_REQUIRED');
      expect((await call.recoveryStatus(user.token)).body).toEqual({ remaining: 10 });
      const [issued] = await auditFor('recovery_code.regenerate', user.id);
      expect(issued).toMatchObject({ outcome: 'success', details: { issuedWithFactor: factor.id } });
    });

    it('10 single-use codes, any case, with or without the dash; sign-in asks to review factors', async () => {
      const user = await userWithTOTP();
      // Recovery codes back up a factor: a password-only session is asked to step up (docs/mfa.md)
      // once the moment of its enrolment (the step-up age) has passed.
      inst.clock.advance(16 * MINUTE);
      expectError(await call.regenerate(user.token), 403, 'MFA_STEP_UP_REQUIRED');
      const mfa = await mfaSignIn(user, user.factor);
      const generated = await call.regenerate(mfa.token);
      expectStatus(generated, 200);
      expect(generated.headers['cache-control']).toBe('no-store');
      const codes: string[] = generated.body.codes;
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      for (const code of codes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
      expect((await call.recoveryStatus(mfa.token)).body).toEqual({ remaining: 10 });
      expect((await api.listFactors(mfa.token)).body.recoveryCodes).toEqual({ remaining: 10 });

      // A set exists: replacing it from a session without a recent MFA is refused.
      inst.clock.advance(16 * MINUTE);
      expectError(await call.regenerate(mfa.token), 403, 'MFA_STEP_UP_REQUIRED');

      const offered = await api.signIn(user.email);
      expect(offered.body).toMatchObject({
        status: 'second_factor_required',
        factors: [{ id: user.factor.id }],
        recoveryCodes: true,
      });
      const signedIn = await api.secondFactor(offered.body.flowId, {
        recoveryCode: codes[0]!.toUpperCase().replace('-', ''),
      });
      expectStatus(signedIn, 200);
      expect(signedIn.body).toMatchObject({
        status: 'signed_in',
        reviewFactors: true,
        recoveryCodesRemaining: 9,
        session: {
          methods: ['pwd', 'rec'],
          mfa: {
            factorId: 'recovery_code',
            kind: 'recovery_code',
            assurance: 'recovery_code',
            at: iso(now()),
          },
        },
      });
      for (const [i, variant] of [codes[1]!, codes[2]!.toUpperCase()].entries()) {
        const res = await api.secondFactor(await api.startFlow(user.email), { recoveryCode: variant });
        expectStatus(res, 200);
        expect(res.body.recoveryCodesRemaining).toBe(8 - i);
      }
      // Each code works once.
      expectError(
        await api.secondFactor(await api.startFlow(user.email), { recoveryCode: codes[0]! }),
        401,
        'MFA_FAILED',
      );
      expect(await outboxFor(user.id, 'recovery_code.used')).toHaveLength(3);
      expect(await auditFor('recovery_code.use', user.id)).toHaveLength(3);

      // A recovery-code session cannot issue codes (a code is not a factor); a session that
      // verified the factor can, and the new set replaces the old one.
      expectError(await call.regenerate(signedIn.body.token), 403, 'MFA_STEP_UP_REQUIRED');
      const regenerated = await call.regenerate((await mfaSignIn(user, user.factor)).token);
      expectStatus(regenerated, 200);
      const fresh: string[] = regenerated.body.codes;
      expect(fresh.filter((c) => codes.includes(c))).toEqual([]);
      expectError(
        await api.secondFactor(await api.startFlow(user.email), { recoveryCode: codes[3]! }),
        401,
        'MFA_FAILED',
      );
      const withNew = await api.secondFactor(await api.startFlow(user.email), { recoveryCode: fresh[0]! });
      expectStatus(withNew, 200);
      expect(withNew.body.recoveryCodesRemaining).toBe(9);
    });

    it('are stored only as keyed hashes', async () => {
      const user = await userWithTOTP();
      const codes: string[] = (await call.regenerate((await mfaSignIn(user, user.factor)).token)).body.codes;
      const rows = await inst.database.kysely
        .selectFrom('recovery_codes')
        .selectAll()
        .where('principal_id', '=', user.id)
        .execute();
      expect(rows).toHaveLength(10);
      const dump = JSON.stringify(rows).toLowerCase();
      for (const code of codes) {
        const bare = code.replace('-', '');
        const unkeyed = [
          createHash('sha256').update(bare).digest('hex'),
          createHash('sha256').update(bare).digest('base64url'),
          createHash('sha256').update(code).digest('hex'),
          createHash('sha256').update(code).digest('base64url'),
        ];
        for (const needle of [code, bare, ...unkeyed]) expect(dump).not.toContain(needle.toLowerCase());
      }
      for (const row of rows) expect(row.code_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });
  });

  describe('throttling (src/app/mfa.ts: delays per user and source)', () => {
    it('slows a source that keeps failing, never the owner signing in from elsewhere', async () => {
      const user = await userWithTOTP();
      const { factor } = user;
      nextStep();
      const attacker = '10.0.0.1';
      const attackerFlow = await api.startFlow(user.email, attacker);
      const guess = (i: number) => ({ factorId: factor.id, code: wrongCode(codeAt(factor.secret), i) });
      // MFA_SOURCE_THROTTLE: 3 free failures; the 4th costs 1 s, then 2 s, 4 s ...
      for (let i = 1; i <= 4; i++) {
        expectError(await api.secondFactor(attackerFlow, guess(i), attacker), 401, 'MFA_FAILED');
      }
      const correct = { factorId: factor.id, code: codeAt(factor.secret) };
      const held = await api.secondFactor(attackerFlow, correct, attacker);
      expectError(held, 429, 'AUTH_THROTTLED');
      expect(held.headers['retry-after']).toBe('1');
      expect(held.body.error.retryAfterSeconds).toBe(1);

      // X-Forwarded-For from a peer that is not a trusted proxy changes nothing.
      const spoofed = await server.inject({
        method: 'POST',
        url: '/v1/sign-in/second-factor',
        payload: { flowId: attackerFlow, ...guess(5) },
        remoteAddress: attacker,
        headers: { 'x-forwarded-for': '198.51.100.77' },
      });
      expect({ status: spoofed.statusCode, code: spoofed.json().error.code }).toEqual({
        status: 429,
        code: 'AUTH_THROTTLED',
      });
      const throttled = (await auditFor('auth.mfa_sign_in', user.id)).at(-1)!;
      expect({ ip: throttled.sourceIp, code: throttled.errorCode }).toEqual({
        ip: attacker,
        code: 'AUTH_THROTTLED',
      });
      // (Control: from a trusted proxy, the header does name the source.)
      const proxied = await buildTestServer(inst, { trustedProxies: [attacker] });
      try {
        const viaProxy = await proxied.inject({
          method: 'POST',
          url: '/v1/sign-in/second-factor',
          payload: { flowId: attackerFlow, ...guess(6) },
          remoteAddress: attacker,
          headers: { 'x-forwarded-for': '198.51.100.77' },
        });
        expect({ status: viaProxy.statusCode, code: viaProxy.json().error.code }).toEqual({
          status: 401,
          code: 'MFA_FAILED',
        });
      } finally {
        await proxied.close();
      }

      // The owner, from another address, signs in at once with the right code.
      const owner = '10.0.0.2';
      const ownerFlow = await api.startFlow(user.email, owner);
      const res = await api.secondFactor(ownerFlow, correct, owner);
      expectStatus(res, 200);

      // The attacker's address is still held back; once the wait is over it gets one more try,
      // and the next wait is twice as long.
      expectError(await api.secondFactor(attackerFlow, guess(7), attacker), 429, 'AUTH_THROTTLED');
      inst.clock.advance(1_000);
      expectError(await api.secondFactor(attackerFlow, guess(8), attacker), 401, 'MFA_FAILED');
      const longer = await api.secondFactor(attackerFlow, guess(9), attacker);
      expectError(longer, 429, 'AUTH_THROTTLED');
      expect(longer.headers['retry-after']).toBe('2');
      inst.clock.advance(2_000);
      expectError(await api.secondFactor(attackerFlow, guess(10), attacker), 401, 'MFA_FAILED');
      expect((await api.secondFactor(attackerFlow, guess(11), attacker)).headers['retry-after']).toBe('4');
    });
    // Suspension, the per-principal budget and the user's own device: test/attacks/i4-mfa-suspension.test.ts.
  });

  describe('lock-out risk insights', () => {
    it('lists users without factors, with a single factor, without recovery codes, and a single admin', async () => {
      const account = mfaApi(api.http, 'insight');
      await createUserWithPassword(inst, {
        accountName: 'insight',
        email: 'owner@insight.test',
        password: PASSWORD,
      });
      // Insights are identity administration: an MFA session is needed (G2).
      const ownerToken = await mfaSessionToken(inst, { accountName: 'insight', login: 'owner@insight.test' });
      expectError(
        await call.insights(await account.passwordToken('owner@insight.test')),
        403,
        'MFA_STEP_UP_REQUIRED',
      );
      const alice = await newUser({ account, accountName: 'insight' });
      await enrolEnabled(alice.token, 'phone');
      const bob = await newUser({ account, accountName: 'insight' });
      const bobA = await enrolEnabled(bob.token, 'phone');
      nextStep();
      const bobFlow = await account.startFlow(bob.email);
      const bobSession = await account.secondFactor(bobFlow, {
        factorId: bobA.id,
        code: codeAt(bobA.secret),
      });
      expectStatus(bobSession, 200);
      await enrolEnabled(bobSession.body.token, 'tablet');
      expectStatus(await call.regenerate(bobSession.body.token), 200);
      const carol = await newUser({ account, accountName: 'insight' });

      const emails = (res: HttpResponse, list: string) =>
        (res.body[list] as Array<{ email: string }>).map((u) => u.email).sort();
      const risk = await call.insights(ownerToken);
      expectStatus(risk, 200);
      expect(emails(risk, 'usersWithoutFactors')).toEqual([carol.email, 'owner@insight.test'].sort());
      expect(risk.body.usersWithSingleFactor).toEqual([
        { id: alice.id, email: alice.email, role: 'user', enabledFactors: 1, recoveryCodes: false },
      ]);
      expect(emails(risk, 'usersWithoutRecoveryCodes')).toEqual(
        [alice.email, carol.email, 'owner@insight.test'].sort(),
      );
      expect(risk.body).toMatchObject({ administrators: 1, singleAdministrator: true });
      // Other accounts never show up.
      expect(JSON.stringify(risk.body)).not.toContain('@acme.test');

      expectError(await call.insights(carol.token), 403, 'AUTH_FORBIDDEN');

      const admin = await newUser({ account, accountName: 'insight', role: 'admin' });
      const asAdmin = await call.insights(
        await mfaSessionToken(inst, { accountName: 'insight', login: admin.email }),
      );
      expectStatus(asAdmin, 200);
      expect(asAdmin.body).toMatchObject({ administrators: 2, singleAdministrator: false });
      expect(emails(asAdmin, 'usersWithoutFactors')).toContain(admin.email);
      expect(emails(asAdmin, 'usersWithSingleFactor')).toEqual([alice.email]);
    });
  });
});
