/**
 * Invariant I2: admission is decided when the state changes. Guardrail G3 (the initial window,
 * an enrolment grant, or an MFA session of a principal with an enabled factor) is asked again in
 * the transaction that enables a pending factor or registers a WebAuthn credential, and enabling
 * a principal's first factor cancels every other pending factor and registration challenge and
 * ends every other session (and temporary AWS credential) without MFA. G4 counts failed enables
 * of a principal, never creations. On SQLite and PostgreSQL, through the JSON API and the AWS
 * Query API, time moved by the injected clock.
 *
 * The attacker holds: a new user's password (inside the user's initial enrolment window), or
 * the user's leaked long-term access key. Never the user's authenticator.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { awsQuery, xmlValue, type AwsKeys } from '../helpers/aws-query.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
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
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';

const MINUTE = 60_000;
const ORIGIN = 'http://localhost:8080';
const operator = { kind: 'operator' as const };
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

describe.each(DATABASE_KINDS)(
  'I2: enrolment admission is decided when a factor is enabled [$name]',
  ({ name }) => {
    let inst: TestInstallation;
    let server: FastifyInstance;
    let http: Http;
    let api: MfaApi;
    let aws: ReturnType<typeof awsQuery>;
    let accountId: string;
    let n = 0;

    const now = () => inst.clock.now();
    beforeAll(async () => {
      inst = await createTestInstallation(name);
      ({ accountId } = await createUserWithPassword(inst, {
        accountName: 'acme',
        email: 'owner@acme.test',
        password: PASSWORD,
      }));
      server = await buildTestServer(inst);
      http = injectHttp(server);
      api = mfaApi(http, 'acme');
      aws = awsQuery(server, now);
    });
    afterAll(async () => {
      await server?.close();
      await inst?.destroy();
    });

    /** A new user inside its initial enrolment window, with a password and no factor. */
    async function newUser(account = 'acme') {
      const email = `u${++n}@${account}.test`;
      const { userId } = await createUserWithPassword(inst, {
        accountName: account,
        email,
        password: PASSWORD,
        role: 'user',
      });
      return { id: userId, email };
    }
    /** A password-only session from `ip` (the user has no factor yet). */
    async function passwordSession(email: string, ip: string, account = 'acme'): Promise<string> {
      const res = await http({
        method: 'POST',
        url: '/v1/sign-in',
        body: { account, login: email, password: PASSWORD },
        ip,
      });
      expectStatus(res, 200);
      expect(res.body.status).toBe('signed_in');
      return res.body.token as string;
    }
    const as = (token: string, ip: string) => ({
      post: (url: string, body: unknown = {}) => http({ method: 'POST', url, body, token, ip }),
      get: (url: string) => http({ method: 'GET', url, token, ip }),
      del: (url: string) => http({ method: 'DELETE', url, token, ip }),
    });
    /** The user enrols an authenticator app of their own from `token`; returns it. */
    async function enrolOwn(token: string, ip: string, factorName = 'my phone') {
      const created = await as(token, ip).post('/v1/factors/totp', { name: factorName });
      expectStatus(created, 201);
      const factor = { id: created.body.factor.id as string, secret: created.body.secret as string };
      expectStatus(
        await as(token, ip).post(`/v1/factors/${factor.id}/enable`, { code: totpAt(factor.secret, now()) }),
        200,
      );
      return factor;
    }
    /** The real user signs in with password and their own factor (a fresh time step). */
    async function userSignsIn(email: string, factor: { id: string; secret: string }, account = 'acme') {
      inst.clock.advance(STEP_MS);
      const flow = await http({
        method: 'POST',
        url: '/v1/sign-in',
        body: { account, login: email, password: PASSWORD },
        ip: uniqueIp(),
      });
      expectStatus(flow, 200);
      expect(flow.body.status).toBe('second_factor_required');
      const res = await api.secondFactor(flow.body.flowId as string, {
        factorId: factor.id,
        code: totpAt(factor.secret, now()),
      });
      expectStatus(res, 200);
      return res.body.token as string;
    }
    const factorsOf = async (principalId: string) =>
      inst.store.factors.listByPrincipal(accountId, principalId);
    const auditOf = async (action: string, target: string) =>
      (await inst.store.audit.scan(0, 1_000_000)).filter((r) => r.action === action && r.target === target);

    it('JSON API: the attacker’s pending authenticator app, created in the window, is never enabled once the user enrolled', async () => {
      const victim = await newUser();
      const attackerIp = uniqueIp();
      const userIp = uniqueIp();
      // The attacker, with the password only, starts enrolling their own authenticator app.
      const attacker = await passwordSession(victim.email, attackerIp);
      const evil = await as(attacker, attackerIp).post('/v1/factors/totp', { name: 'evil' });
      expectStatus(evil, 201);
      const evilFactor = { id: evil.body.factor.id as string, secret: evil.body.secret as string };

      // The user enrols their own factor.
      const userToken = await passwordSession(victim.email, userIp);
      const own = await enrolOwn(userToken, userIp);

      // The attacker's enable, with correct codes, is refused and enables nothing.
      expectError(
        await as(attacker, attackerIp).post(`/v1/factors/${evilFactor.id}/enable`, {
          code: totpAt(evilFactor.secret, now()),
        }),
        401,
        'AUTH_SESSION_INVALID',
      );
      const factors = await factorsOf(victim.id);
      expect(factors.map((f) => [f.id, f.status])).toEqual([[own.id, 'enabled']]);
      // The cancellation is audited, naming the attacker's pending factor.
      const [cancelled] = await auditOf('factor.pending_cancelled', victim.id);
      expect(cancelled!.details).toMatchObject({ factorIds: [evilFactor.id], keptFactorId: own.id });

      // The user still signs in with their own factor.
      await userSignsIn(victim.email, own);
    });

    it('JSON API: a pending factor admitted by the initial window is refused once the window closed', async () => {
      // An account whose initial window is one hour.
      await createUserWithPassword(inst, {
        accountName: 'closing',
        email: 'owner@closing.test',
        password: PASSWORD,
      });
      const closing = (await inst.store.accounts.findByName('closing'))!;
      await inst.app.updateAccountSettings({
        actor: operator,
        ctx,
        accountId: closing.id,
        patch: { initialEnrolmentWindowSeconds: 3600 },
      });
      const victim = await newUser('closing');
      const attackerIp = uniqueIp();
      inst.clock.advance(55 * MINUTE);
      const attacker = await passwordSession(victim.email, attackerIp, 'closing');
      const evil = await as(attacker, attackerIp).post('/v1/factors/totp', { name: 'evil' });
      expectStatus(evil, 201);
      inst.clock.advance(2 * MINUTE);
      const options = await as(attacker, attackerIp).post('/v1/factors/webauthn/options', {
        kind: 'security_key',
        name: 'evil key',
      });
      expectStatus(options, 200);
      // Four minutes later the pending factor and the challenge are still alive, but the window is over.
      inst.clock.advance(4 * MINUTE);
      const refused = await as(attacker, attackerIp).post(`/v1/factors/${evil.body.factor.id}/enable`, {
        code: totpAt(evil.body.secret as string, now()),
      });
      expectError(refused, 403, 'ENROLMENT_GRANT_REQUIRED');
      expect(refused.body.error.guardrail).toBe('G3');
      const stored = await inst.store.factors.findById(closing.id, evil.body.factor.id as string);
      expect(stored?.status).toBe('pending');
      const refusals = (await inst.store.audit.scan(0, 1_000_000)).filter(
        (r) => r.action === 'factor.enable' && r.target === evil.body.factor.id && r.outcome === 'failure',
      );
      expect(refusals.map((r) => r.errorCode)).toEqual(['ENROLMENT_GRANT_REQUIRED']);
      // The same for the WebAuthn registration: refused at registration, and its challenge used up.
      const credential = new SoftAuthenticator({ transports: ['usb'] }).createCredential({
        options: options.body.options,
        origin: ORIGIN,
      });
      const registered = await as(attacker, attackerIp).post('/v1/factors/webauthn', {
        challengeId: options.body.challengeId,
        credential,
      });
      expectError(registered, 403, 'ENROLMENT_GRANT_REQUIRED');
      expect(
        (await inst.store.webauthn.findChallenge(options.body.challengeId as string))?.usedAt,
      ).not.toBeNull();
      expect(await inst.store.factors.listByPrincipal(closing.id, victim.id)).toMatchObject([
        { id: evil.body.factor.id, status: 'pending' },
      ]);
    });

    it('JSON API: WebAuthn registration options issued to the attacker before the user enrolled are dead', async () => {
      const victim = await newUser();
      const attackerIp = uniqueIp();
      const userIp = uniqueIp();
      const attacker = await passwordSession(victim.email, attackerIp);
      const options = await as(attacker, attackerIp).post('/v1/factors/webauthn/options', {
        kind: 'security_key',
        name: 'evil key',
      });
      expectStatus(options, 200);
      const { challengeId, options: creation } = options.body;

      const userToken = await passwordSession(victim.email, userIp);
      const own = await enrolOwn(userToken, userIp);

      const key = new SoftAuthenticator({ transports: ['usb'] });
      const credential = key.createCredential({ options: creation, origin: ORIGIN });
      const refused = await as(attacker, attackerIp).post('/v1/factors/webauthn', {
        challengeId,
        credential,
      });
      expectError(refused, 401, 'AUTH_SESSION_INVALID');
      // The challenge itself was cancelled (used up) with the first enrolment.
      expect((await inst.store.webauthn.findChallenge(challengeId as string))?.usedAt).not.toBeNull();
      expect(await inst.store.webauthn.listCredentials(accountId, victim.id)).toEqual([]);
      expect((await factorsOf(victim.id)).map((f) => f.id)).toEqual([own.id]);
      const [cancelled] = await auditOf('factor.pending_cancelled', victim.id);
      expect(cancelled!.details).toMatchObject({ registrationsCancelled: 1 });
      await userSignsIn(victim.email, own);
    });

    it('AWS API: a leaked access key’s CreateVirtualMFADevice + EnableMFADevice fails once the user enrolled; its non-MFA STS credentials end', async () => {
      const victim = await newUser();
      const issued = await inst.app.createAccessKey({ actor: operator, ctx, accountId, userRef: victim.id });
      const leaked: AwsKeys = { accessKeyId: issued.key.id, secretAccessKey: issued.secretAccessKey };
      const attackerIp = uniqueIp();
      const username = (await inst.store.principals.findById(accountId, victim.id))!.username;
      // The attacker creates a virtual device (named after the user, as the built-in user policy
      // allows) and mints temporary credentials without MFA.
      const created = await aws.iam(
        leaked,
        { Action: 'CreateVirtualMFADevice', VirtualMFADeviceName: username },
        attackerIp,
      );
      expect(created.status, created.body).toBe(200);
      const serial = xmlValue(created.body, 'SerialNumber')!;
      const seed = Buffer.from(xmlValue(created.body, 'Base32StringSeed')!, 'base64').toString('ascii');
      const noMfa = aws.credentialsOf(await aws.sts(leaked, { Action: 'GetSessionToken' }, attackerIp));
      expect((await aws.sts(noMfa, { Action: 'GetCallerIdentity' }, attackerIp)).status).toBe(200);

      // The user enrols their own authenticator app (console).
      const userIp = uniqueIp();
      const own = await enrolOwn(await passwordSession(victim.email, userIp), userIp);

      // The attacker's enable, with two correct consecutive codes, is refused.
      const enable = await aws.iam(
        leaked,
        {
          Action: 'EnableMFADevice',
          UserName: username,
          SerialNumber: serial,
          AuthenticationCode1: totpAt(seed, now() - STEP_MS),
          AuthenticationCode2: totpAt(seed, now()),
        },
        attackerIp,
      );
      expect(enable.status).toBeGreaterThanOrEqual(400);
      expect(enable.code).toBe('NoSuchEntity');
      expect((await factorsOf(victim.id)).map((f) => [f.id, f.status])).toEqual([[own.id, 'enabled']]);
      // The temporary credentials minted without MFA before the enrolment are dead.
      expect((await aws.sts(noMfa, { Action: 'GetCallerIdentity' }, attackerIp)).code).toBe(
        'InvalidClientTokenId',
      );
      await userSignsIn(victim.email, own);
    });

    it('G4: creating pending factors and registration options does not use up the new user’s enrolment allowance', async () => {
      const victim = await newUser();
      const attackerIp = uniqueIp();
      const attacker = await passwordSession(victim.email, attackerIp);
      for (let i = 0; i < 30; i++) {
        const evil = await as(attacker, attackerIp).post('/v1/factors/totp', { name: `evil ${i}` });
        expectStatus(evil, 201);
        expectStatus(await as(attacker, attackerIp).del(`/v1/factors/${evil.body.factor.id}`), 204);
        expectStatus(
          await as(attacker, attackerIp).post('/v1/factors/webauthn/options', {
            kind: 'security_key',
            name: `evil key ${i}`,
          }),
          200,
        );
      }
      // The user enrols at once, and the first attempt works.
      const userIp = uniqueIp();
      const own = await enrolOwn(await passwordSession(victim.email, userIp), userIp);
      await userSignsIn(victim.email, own);
    });

    it('a password-only session opened before the first enrolment is dead after it (it cannot change the password)', async () => {
      const victim = await newUser();
      const oldIp = uniqueIp();
      const old = await passwordSession(victim.email, oldIp);
      const before = await inst.store.principals.findById(accountId, victim.id);
      const userIp = uniqueIp();
      const enrolling = await passwordSession(victim.email, userIp);
      await enrolOwn(enrolling, userIp);
      expectError(
        await as(old, oldIp).post('/v1/me/password', {
          currentPassword: PASSWORD,
          newPassword: 'a brand new passphrase 99',
        }),
        401,
        'AUTH_SESSION_INVALID',
      );
      const after = await inst.store.principals.findById(accountId, victim.id);
      expect(after!.passwordHash).toBe(before!.passwordHash);
      // The session that enrolled stays, and the user signs in with the same password and factor.
      expectStatus(await as(enrolling, userIp).get('/v1/session'), 200);
      const revoked = await auditOf('credentials.revoke_derived', victim.id);
      expect(revoked.at(-1)!.details).toMatchObject({ reason: 'first_factor_enabled', sessionsRevoked: 1 });
    });
  },
);
