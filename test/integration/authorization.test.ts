/**
 * Authorization over HTTP: customer policies (managed, inline, groups, account-wide), the linter on
 * save, step-up answers, guardrails G1–G6, and the attack where someone holding only a user's
 * password races the user's device replacement.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  expectError,
  expectStatus,
  injectHttp,
  mfaApi,
  PASSWORD,
  STEP_MS,
  totpAt,
  uniqueIp,
  type Http,
  type MfaApi,
} from '../helpers/mfa.js';

const MINUTE = 60_000;
const doc = (statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

describe.each(DATABASE_KINDS)('authorization over HTTP [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let http: Http;
  let api: MfaApi;
  let accountId: string;
  let ownerMfa: string;
  let n = 0;

  const now = () => inst.clock.now();
  const nextStep = () => inst.clock.advance(STEP_MS);
  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, body?: unknown) =>
    http({ method, url, token, ...(body === undefined ? {} : { body }) });
  const put = async (url: string, token: string, body: unknown) => {
    const res = await server.inject({
      method: 'PUT',
      url,
      payload: body as Record<string, unknown>,
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.statusCode, headers: res.headers, body: res.body === '' ? null : res.json() };
  };
  const newUser = async (role = 'user') => {
    const email = `u${++n}@authz.test`;
    const { userId } = await createUserWithPassword(inst, {
      accountName: 'authz',
      email,
      password: PASSWORD,
      role,
    });
    return { id: userId, email, token: await api.passwordToken(email) };
  };
  /** Enrols and enables a TOTP factor from `token`'s session; returns its id and secret. */
  const enrol = async (token: string, factorName: string, extra: Record<string, unknown> = {}) => {
    const created = await call('POST', '/v1/factors/totp', token, { name: factorName, ...extra });
    expectStatus(created, 201);
    const id = created.body.factor.id as string;
    const secret = created.body.secret as string;
    expectStatus(await api.enable(token, id, { code: totpAt(secret, now()) }), 200);
    return { id, secret };
  };
  /** A real MFA sign-in with a TOTP code of the next time step. */
  const mfaSignIn = async (email: string, factor: { id: string; secret: string }) => {
    nextStep();
    const flow = await api.startFlow(email);
    const res = await api.secondFactor(flow, { factorId: factor.id, code: totpAt(factor.secret, now()) });
    expectStatus(res, 200);
    return res.body.token as string;
  };
  const operatorSettings = (patch: Record<string, number>) =>
    inst.app.updateAccountSettings({
      actor: { kind: 'operator' },
      ctx: { requestId: 'test', sourceIp: null, userAgent: 'test' },
      accountId,
      patch,
    });
  const auditFailures = async (principalId: string) =>
    (await inst.store.audit.scan(0, 100_000)).filter(
      (r) => r.actorId === principalId && r.outcome === 'failure',
    );

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    ({ accountId } = await createUserWithPassword(inst, {
      accountName: 'authz',
      email: 'owner@authz.test',
      password: PASSWORD,
    }));
    server = await buildTestServer(inst);
    http = injectHttp(server);
    api = mfaApi(http, 'authz');
    ownerMfa = await mfaSessionToken(inst, { accountName: 'authz', login: 'owner@authz.test' });
  });
  beforeEach(async () => {
    // A fresh owner MFA session per test: some tests move the clock by days.
    ownerMfa = await mfaSessionToken(inst, { accountName: 'authz', login: 'owner@authz.test' });
  });
  afterAll(async () => {
    await server.close();
    await inst.destroy();
  });

  describe('policies and the linter', () => {
    it('lints a document without saving it; anyone signed in may lint', async () => {
      const user = await newUser();
      const res = await call('POST', '/v1/policies/lint', user.token, {
        document: doc([
          { Effect: 'Allow', Action: 'iam:*', Resource: '*' },
          {
            Effect: 'Deny',
            Action: '*',
            Resource: '*',
            Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } },
          },
        ]),
      });
      expectStatus(res, 200);
      expect(res.body.errors).toBe(1);
      expect(res.body.findings.map((f: { code: string }) => f.code)).toContain('BOOL_ON_ABSENT_KEY');
      expect((await call('GET', '/v1/policies', ownerMfa)).body.policies).toEqual([]);
    });

    it('saves a policy with warnings, refuses one with errors, and audits the change', async () => {
      const warned = await call('POST', '/v1/policies', ownerMfa, {
        name: 'SelfServiceMFA',
        document: doc([
          {
            Sid: 'Manage',
            Effect: 'Allow',
            Action: ['iam:DeactivateMFADevice'],
            Resource: 'arn:aws:iam::*:user/${aws:username}',
          },
        ]),
      });
      expectStatus(warned, 201);
      expect(warned.body.policy.arn).toBe(`arn:aws:iam::${accountId}:policy/SelfServiceMFA`);
      expect(warned.body.warnings.map((f: { code: string }) => f.code)).toEqual([
        'MFA_SENSITIVE_WITHOUT_MFA',
      ]);
      const refused = await call('POST', '/v1/policies', ownerMfa, {
        name: 'Broken',
        document: doc([
          {
            Effect: 'Deny',
            Action: '*',
            Resource: '*',
            Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } },
          },
        ]),
      });
      expectError(refused, 400, 'POLICY_LINT_FAILED');
      expect(refused.body.error.firstError).toBe('BOOL_ON_ABSENT_KEY');
      expectError(await call('GET', '/v1/policies/Broken', ownerMfa), 404, 'POLICY_NOT_FOUND');
      expectError(
        await call('POST', '/v1/policies', ownerMfa, {
          name: 'SelfServiceMFA',
          document: doc([{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }]),
        }),
        409,
        'POLICY_ALREADY_EXISTS',
      );
      const changes = (await inst.store.audit.scan(0, 100_000)).filter((r) => r.action === 'policy.put');
      expect(changes.at(-1)!.details).toMatchObject({
        scope: 'managed',
        name: 'SelfServiceMFA',
        replaced: false,
      });
    });

    it('an inline deny on a user beats the built-in allow; deleting it restores the allow', async () => {
      const user = await newUser();
      expectStatus(await call('GET', '/v1/sessions', user.token), 200);
      const denied = await put(`/v1/users/${user.id}/policies/NoSessionList`, ownerMfa, {
        document: doc([{ Effect: 'Deny', Action: 'holdfast:ListSessions', Resource: '*' }]),
      });
      expectStatus(denied, 200);
      const refused = await call('GET', '/v1/sessions', user.token);
      expectError(refused, 403, 'AUTH_FORBIDDEN');
      expect(refused.body.error.decision).toBe('ExplicitDeny');
      const listed = await call('GET', `/v1/users/${user.id}/policies`, ownerMfa);
      expect(listed.body.policies.map((p: { name: string }) => p.name)).toEqual(['NoSessionList']);
      expectStatus(await call('DELETE', `/v1/users/${user.id}/policies/NoSessionList`, ownerMfa), 204);
      expectStatus(await call('GET', '/v1/sessions', user.token), 200);
    });

    it('a managed policy grants through a group; detaching and deleting follow IAM rules', async () => {
      const helper = await newUser();
      const helperMfa = await mfaSessionToken(inst, { accountName: 'authz', login: helper.email });
      expectError(await call('GET', '/v1/hardware-tokens', helperMfa), 403, 'AUTH_FORBIDDEN');
      expectStatus(
        await call('POST', '/v1/policies', ownerMfa, {
          name: 'TokenReaders',
          document: doc([
            {
              Effect: 'Allow',
              Action: 'holdfast:ListHardwareTokens',
              Resource: '*',
              Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
            },
          ]),
        }),
        201,
      );
      expectStatus(await call('POST', '/v1/groups', ownerMfa, { name: 'inventory' }), 201);
      expectError(
        await call('POST', '/v1/groups', ownerMfa, { name: 'inventory' }),
        409,
        'GROUP_ALREADY_EXISTS',
      );
      expectStatus(await put(`/v1/groups/inventory/members/${helper.id}`, ownerMfa, {}), 204);
      const arn = `arn:aws:iam::${accountId}:policy/TokenReaders`;
      expectStatus(
        await call('POST', '/v1/groups/inventory/attached-policies', ownerMfa, { policyArn: arn }),
        204,
      );
      expectStatus(await call('GET', '/v1/hardware-tokens', helperMfa), 200);
      expectError(await call('DELETE', '/v1/policies/TokenReaders', ownerMfa), 409, 'POLICY_IN_USE');
      // The policy itself asks for MFA: without it the helper is told to step up, not "forbidden".
      const noMfa = await call('GET', '/v1/hardware-tokens', helper.token);
      expectError(noMfa, 403, 'MFA_STEP_UP_REQUIRED');
      expect(noMfa.body.error.guardrail).toBe('G2');
    });

    it('account-wide policies cap what identity policies grant, even for the owner', async () => {
      const before = await call('GET', '/v1/users', ownerMfa);
      expectStatus(before, 200);
      expectStatus(
        await put('/v1/account/policies/OnlyFromOffice', ownerMfa, {
          document: doc([
            { Effect: 'Allow', NotAction: 'iam:ListUsers', Resource: '*' },
            {
              Effect: 'Allow',
              Action: 'iam:ListUsers',
              Resource: '*',
              Condition: { IpAddress: { 'aws:SourceIp': '10.9.0.0/16' } },
            },
          ]),
        }),
        200,
      );
      const capped = await call('GET', '/v1/users', ownerMfa);
      expectError(capped, 403, 'AUTH_FORBIDDEN');
      expect(capped.body.error.decision).toBe('ImplicitDeny');
      expectStatus(await http({ method: 'GET', url: '/v1/users', token: ownerMfa, ip: '10.9.3.4' }), 200);
      expectStatus(await call('DELETE', '/v1/account/policies/OnlyFromOffice', ownerMfa), 204);
      expectStatus(await call('GET', '/v1/users', ownerMfa), 200);
    });

    it('a policy that asks for fresher MFA answers step-up with the minimum assurance', async () => {
      const user = await newUser();
      const oldMfa = await mfaSessionToken(inst, {
        accountName: 'authz',
        login: user.email,
        factorAt: now() - 10 * MINUTE,
      });
      expectStatus(
        await put(`/v1/users/${user.id}/policies/FreshForSessions`, ownerMfa, {
          document: doc([
            {
              Effect: 'Deny',
              Action: 'holdfast:ListSessions',
              Resource: '*',
              Condition: { NumericGreaterThanIfExists: { 'aws:MultiFactorAuthAge': '300' } },
            },
          ]),
        }),
        200,
      );
      const res = await call('GET', '/v1/sessions', oldMfa);
      expectError(res, 403, 'MFA_STEP_UP_REQUIRED');
      expect(res.body.error).toMatchObject({ source: 'policy', minimumAssurance: 'recovery_code' });
      const fresh = await mfaSessionToken(inst, { accountName: 'authz', login: user.email });
      expectStatus(await call('GET', '/v1/sessions', fresh), 200);
    });
  });

  describe('guardrails', () => {
    it('settings only tighten: the step-up age can go down, never above 15 minutes', async () => {
      expectError(
        await call('PATCH', '/v1/account/settings', ownerMfa, { stepUpMaxAgeSeconds: 3600 }),
        400,
        'SETTING_WOULD_LOOSEN',
      );
      expectError(
        await call('PATCH', '/v1/account/settings', ownerMfa, {
          initialEnrolmentWindowSeconds: 30 * 24 * 3600,
        }),
        400,
        'SETTING_WOULD_LOOSEN',
      );
      const user = await newUser();
      const factor = await enrol(user.token, 'phone');
      const session = await mfaSignIn(user.email, factor);
      inst.clock.advance(3 * MINUTE);
      expectStatus(await call('PATCH', '/v1/account/settings', ownerMfa, { stepUpMaxAgeSeconds: 120 }), 200);
      const res = await call('DELETE', `/v1/factors/${factor.id}`, session);
      expectError(res, 403, 'MFA_STEP_UP_REQUIRED');
      expect(res.body.error).toMatchObject({ guardrail: 'G1', maxAgeSeconds: 120 });
      // The same tightened age guards recovery-code regeneration next to an enabled factor.
      const codes = await call('POST', '/v1/recovery-codes', session);
      expectError(codes, 403, 'MFA_STEP_UP_REQUIRED');
      expect(codes.body.error).toMatchObject({ guardrail: 'G1', maxAgeSeconds: 120 });
      // Back up again: not through the API (only tighter), only by the host operator.
      expectError(
        await call('PATCH', '/v1/account/settings', ownerMfa, { stepUpMaxAgeSeconds: 900 }),
        400,
        'SETTING_WOULD_LOOSEN',
      );
      await operatorSettings({ stepUpMaxAgeSeconds: 900 });
      expectStatus(await call('DELETE', `/v1/factors/${factor.id}`, session), 204);
    });

    it('G6: the help desk never acts on admins or owners; admins never on owners', async () => {
      const desk = await newUser('helpdesk');
      const deskMfa = await mfaSessionToken(inst, { accountName: 'authz', login: desk.email });
      const admin = await newUser('admin');
      const adminMfa = await mfaSessionToken(inst, { accountName: 'authz', login: admin.email });
      const res = await call('POST', `/v1/users/${admin.id}/sessions/revoke`, deskMfa);
      expectError(res, 403, 'GUARDRAIL_DENIED');
      expect(res.body.error.guardrail).toBe('G6');
      expectError(await call('GET', `/v1/users/owner@authz.test/factors`, adminMfa), 403, 'GUARDRAIL_DENIED');
      // Not even a policy can loosen it.
      expectStatus(
        await put(`/v1/users/${desk.id}/policies/Everything`, ownerMfa, {
          document: doc([
            {
              Effect: 'Allow',
              Action: '*',
              Resource: '*',
              Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
            },
          ]),
        }),
        200,
      );
      expectError(
        await call('POST', `/v1/users/${admin.id}/sessions/revoke`, deskMfa),
        403,
        'GUARDRAIL_DENIED',
      );
      const denials = (await inst.store.audit.scan(0, 100_000)).filter(
        (r) => r.actorId === desk.id && r.action === 'authz.denied',
      );
      expect(denials).toHaveLength(2);
      expect(denials[0]!.details).toMatchObject({
        guardrail: 'G6',
        action: 'holdfast:RevokeUserSessions',
        security: true,
      });
    });

    it('G3: a pending factor is enabled only by the session that created it', async () => {
      const user = await newUser();
      const other = await api.passwordToken(user.email);
      const created = await call('POST', '/v1/factors/totp', user.token, { name: 'phone' });
      const res = await api.enable(other, created.body.factor.id, {
        code: totpAt(created.body.secret, now()),
      });
      expectError(res, 403, 'FACTOR_WRONG_SESSION');
      expect((await auditFailures(user.id)).at(-1)).toMatchObject({
        action: 'factor.enable',
        errorCode: 'FACTOR_WRONG_SESSION',
      });
    });

    it('G3: after the initial window, or once a factor was ever enabled, only MFA or a one-time grant lets a principal enrol', async () => {
      const late = await newUser();
      inst.clock.advance(7 * 24 * 60 * MINUTE);
      const fresh = await api.passwordToken(late.email);
      expectError(
        await call('POST', '/v1/factors/totp', fresh, { name: 'phone' }),
        403,
        'ENROLMENT_GRANT_REQUIRED',
      );
      const { token: grant } = await inst.app.issueEnrolmentGrant({
        actor: { kind: 'operator' },
        ctx: { requestId: 'test', sourceIp: null, userAgent: 'test' },
        accountId,
        userRef: late.email,
      });
      // A grant is bound to its principal and used once.
      const stranger = await newUser();
      expectError(
        await call('POST', '/v1/factors/totp', stranger.token, { name: 'x', enrolmentGrant: grant }),
        403,
        'ENROLMENT_GRANT_INVALID',
      );
      const factor = await enrol(fresh, 'phone', { enrolmentGrant: grant });
      expectError(
        await call('POST', '/v1/factors/totp', fresh, { name: 'again', enrolmentGrant: grant }),
        403,
        'ENROLMENT_GRANT_INVALID',
      );
      // Removing the only factor does not reopen the door without MFA or a new grant.
      const session = await mfaSignIn(late.email, factor);
      expectStatus(await call('DELETE', `/v1/factors/${factor.id}`, session), 204);
      const after = await api.passwordToken(late.email);
      expectError(
        await call('POST', '/v1/factors/totp', after, { name: 'phone2' }),
        403,
        'ENROLMENT_GRANT_REQUIRED',
      );
    });

    it('G3: an account can close the initial window (zero): then only grants work', async () => {
      expectStatus(
        await call('PATCH', '/v1/account/settings', ownerMfa, { initialEnrolmentWindowSeconds: 0 }),
        200,
      );
      const user = await newUser();
      expectError(
        await call('POST', '/v1/factors/totp', user.token, { name: 'phone' }),
        403,
        'ENROLMENT_GRANT_REQUIRED',
      );
      expectError(
        await call('PATCH', '/v1/account/settings', ownerMfa, {
          initialEnrolmentWindowSeconds: 7 * 24 * 3600,
        }),
        400,
        'SETTING_WOULD_LOOSEN',
      );
      await operatorSettings({ initialEnrolmentWindowSeconds: 7 * 24 * 3600 });
    });

    it('G4: failed enables are rate-limited per principal (creating factors costs nothing), every refusal audited', async () => {
      const user = await newUser();
      const ip = uniqueIp();
      const as = (method: 'POST' | 'DELETE', url: string, body?: unknown) =>
        http({ method, url, token: user.token, ip, ...(body === undefined ? {} : { body }) });
      // More creations than the principal's allowance: none is refused, so someone holding only
      // the password cannot use up the user's enrolment allowance this way.
      for (let i = 0; i < 22; i++) {
        const res = await as('POST', '/v1/factors/totp', { name: `f${i}` });
        expectStatus(res, 201);
        expectStatus(await as('DELETE', `/v1/factors/${res.body.factor.id}`), 204);
      }
      // Wrong codes are counted: 20 are free; the 21st is counted into the delay that refuses the 22nd.
      let failed = 0;
      let throttled = null;
      let pending: { id: string; secret: string } | null = null;
      for (let i = 0; i < 30 && throttled === null; i++) {
        if (pending === null || failed % 4 === 0) {
          if (pending !== null) await as('DELETE', `/v1/factors/${pending.id}`);
          const res = await as('POST', '/v1/factors/totp', { name: `g${i}` });
          expectStatus(res, 201);
          pending = { id: res.body.factor.id as string, secret: res.body.secret as string };
        }
        const good = totpAt(pending.secret, now());
        const wrong = good === '000000' ? '111111' : '000000';
        const res = await as('POST', `/v1/factors/${pending.id}/enable`, { code: wrong });
        if (res.status === 400) failed++;
        else throttled = res;
      }
      expect(failed).toBe(21);
      expectError(throttled!, 429, 'AUTH_THROTTLED');
      expect(throttled!.body.error.guardrail).toBe('G4');
      expect((await auditFailures(user.id)).at(-1)).toMatchObject({
        action: 'factor.enable',
        errorCode: 'AUTH_THROTTLED',
      });
    });

    it('G5: when an admin removes a user’s last factor, the user’s sessions are revoked', async () => {
      const user = await newUser();
      const factor = await enrol(user.token, 'phone');
      const session = await mfaSignIn(user.email, factor);
      const adminMfa = await mfaSessionToken(inst, { accountName: 'authz', login: 'owner@authz.test' });
      expectStatus(await call('DELETE', `/v1/users/${user.id}/factors/${factor.id}`, adminMfa), 204);
      expectError(await call('GET', '/v1/session', session), 401, 'AUTH_SESSION_INVALID');
      const lost = (await inst.store.audit.scan(0, 100_000)).filter(
        (r) => r.action === 'principal.last_factor_lost',
      );
      expect(lost.at(-1)).toMatchObject({
        target: user.id,
        details: expect.objectContaining({ guardrail: 'G5' }),
      });
    });
  });

  it('the attack: password only, racing the user’s device swap — the attacker never succeeds and every attempt is audited', async () => {
    const victim = await newUser();
    const oldPhone = await enrol(victim.token, 'old phone');
    const attackerIp = '203.0.113.66';
    const attacker = mfaApi(http, 'authz');
    // The attacker knows the password: the password step works, but the account has a factor.
    const flow = await attacker.signIn(victim.email, { ip: attackerIp });
    expect(flow.body.status).toBe('second_factor_required');
    // A password-only session exists from before the user enrolled (e.g. an old console tab).
    const attackerToken = victim.token;

    const userSession = await mfaSignIn(victim.email, oldPhone);
    const failuresBefore = (await auditFailures(victim.id)).length;
    let attempts = 0;
    const attack = async () => {
      attempts += 1;
      const created = await http({
        method: 'POST',
        url: '/v1/factors/totp',
        body: { name: `evil${attempts}` },
        token: attackerToken,
        ip: attackerIp,
      });
      expect(created.status).toBe(403);
      const factors = (await call('GET', '/v1/factors', userSession)).body.factors as Array<{ id: string }>;
      for (const f of factors) {
        attempts += 2;
        const removed = await http({
          method: 'DELETE',
          url: `/v1/factors/${f.id}`,
          token: attackerToken,
          ip: attackerIp,
        });
        expect(removed.status).toBe(403);
        const enabled = await http({
          method: 'POST',
          url: `/v1/factors/${f.id}/enable`,
          body: { code: '123456' },
          token: attackerToken,
          ip: attackerIp,
        });
        expect(enabled.status).toBeGreaterThanOrEqual(400);
      }
    };

    // The user adds the new phone (from the MFA session) while the attacker loops.
    await attack();
    const created = await call('POST', '/v1/factors/totp', userSession, { name: 'new phone' });
    expectStatus(created, 201);
    await attack();
    const newPhone = { id: created.body.factor.id as string, secret: created.body.secret as string };
    expectStatus(await api.enable(userSession, newPhone.id, { code: totpAt(newPhone.secret, now()) }), 200);
    await attack();
    // Add before remove: the user steps up with the new phone, so the session no longer stands on
    // the old one (a session still standing on a removed factor ends with it).
    nextStep();
    expectStatus(
      await call('POST', '/v1/session/step-up', userSession, {
        factorId: newPhone.id,
        code: totpAt(newPhone.secret, now()),
      }),
      200,
    );
    expectStatus(await call('DELETE', `/v1/factors/${oldPhone.id}`, userSession), 204);
    await attack();

    // The user's replacement works; the attacker's state is unchanged; nothing of theirs exists.
    const factors = (await call('GET', '/v1/factors', userSession)).body.factors as Array<{
      id: string;
      name: string;
    }>;
    expect(factors.map((f) => f.name)).toEqual(['new phone']);
    await mfaSignIn(victim.email, newPhone);
    const failures = (await auditFailures(victim.id)).slice(failuresBefore);
    expect(failures.length).toBeGreaterThanOrEqual(attempts);
    for (const f of failures) expect(f.sourceIp).toBe(attackerIp);
    const seen = new Set(failures.map((f) => f.errorCode));
    for (const code of seen) {
      expect(['MFA_STEP_UP_REQUIRED', 'FACTOR_WRONG_SESSION', 'FACTOR_NOT_PENDING']).toContain(code);
    }
    expect(seen).toContain('MFA_STEP_UP_REQUIRED');
    expect(seen).toContain('FACTOR_WRONG_SESSION');
    // The user sees the refused attempts among their own recent security events, newest first.
    const mine = await call('GET', '/v1/me/events', userSession);
    expectStatus(mine, 200);
    const refusedHere = (
      mine.body.events as Array<{ outcome: string; sourceIPAddress: string; eventTime: string }>
    ).filter((e) => e.outcome === 'failure' && e.sourceIPAddress === attackerIp);
    expect(refusedHere.length).toBeGreaterThan(0);
    const times = (mine.body.events as Array<{ eventTime: string }>).map((e) => e.eventTime);
    expect([...times].sort().reverse()).toEqual(times);
  });
});
