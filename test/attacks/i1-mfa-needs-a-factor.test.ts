/**
 * Invariant I1: no MFA session without a real second factor (docs/security.md, docs/mfa.md).
 *
 * For every route that creates or upgrades a session (password + factor sign-in, step-up with a
 * code, WebAuthn step-up, passkey sign-in, recovery-code sign-in, STS GetSessionToken and
 * AssumeRole with SerialNumber/TokenCode), an attacker without one of the principal's enabled
 * factors (the password only; a stolen key without its PIN; recovery codes minted before the
 * first factor or written before sets recorded their provenance; a leaked access key) gets no
 * session or credential with MFA facts, and the real user does. SQLite and PostgreSQL; frozen clock.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoveryCodeHash } from '../../src/app/mfa.js';
import { awsQuery } from '../helpers/aws-query.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { createUserWithPassword, type TestInstallation } from '../helpers/installation.js';
import {
  acmeMfaServer,
  PASSWORD,
  STEP_MS,
  expectError,
  expectStatus,
  totpAt,
  uniqueIp,
  type MfaApi,
} from '../helpers/mfa.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';

const ORIGIN = 'http://localhost:8080';
const operator = { kind: 'operator' } as const;
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

describe.each(DATABASE_KINDS)('I1: no MFA session without a real second factor [$name]', ({ name }) => {
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
  const codeAt = (secret: string, offsetMs = 0) => totpAt(secret, now() + offsetMs);
  const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
  const http = (method: 'GET' | 'POST', url: string, token?: string, body?: unknown) =>
    api.http({
      method,
      url,
      ...(token === undefined ? {} : { token }),
      ...(body === undefined ? {} : { body }),
    });
  const sessionOf = async (token: string) => {
    const res = await http('GET', '/v1/session', token);
    expectStatus(res, 200);
    return res.body.session as { mfa: unknown; methods: string[] };
  };

  async function newUser() {
    const email = `i1-${++seq}@acme.test`;
    const { userId } = await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD });
    return { id: userId, email };
  }

  /** Enrols and enables a TOTP factor from a session; the factor id and its secret. */
  async function enrolTOTP(token: string, factorName = 'phone') {
    const res = await api.enrolTOTP(token, factorName);
    expectStatus(res, 201);
    const id = res.body.factor.id as string;
    const secret = res.body.secret as string;
    expectStatus(await api.enable(token, id, { codes: [codeAt(secret, -STEP_MS), codeAt(secret)] }), 200);
    return { id, secret };
  }

  /** The real user's sign-in with password and TOTP: an MFA session token. */
  async function realSignIn(email: string, factor: { id: string; secret: string }) {
    inst.clock.advance(STEP_MS);
    const flowId = await api.startFlow(email);
    const res = await api.secondFactor(flowId, { factorId: factor.id, code: codeAt(factor.secret) });
    expectStatus(res, 200);
    expect(res.body.session.mfa).toMatchObject({ factorId: factor.id });
    return res.body.token as string;
  }

  it('password + factor sign-in and step-up with a code: the password alone gets no MFA session', async () => {
    const user = await newUser();
    const factor = await enrolTOTP(await api.passwordToken(user.email));
    const attacker = '203.0.113.10';
    inst.clock.advance(1000);
    const attackStart = now();

    // The attacker holds the password: the password step gives a flow, never a session.
    const flow = await api.signIn(user.email, { ip: attacker });
    expectStatus(flow, 200);
    expect(flow.body).toMatchObject({ status: 'second_factor_required' });
    expect(flow.body.token).toBeUndefined();
    // A guessed code, a code for a factor id that is not the user's, a recovery code: nothing.
    inst.clock.advance(STEP_MS);
    for (const proof of [
      { factorId: factor.id, code: wrong(codeAt(factor.secret)) },
      { factorId: 'fac_not_theirs', code: codeAt(factor.secret) },
      { recoveryCode: 'aaaaa-bbbbb' },
    ]) {
      expectError(await api.secondFactor(flow.body.flowId, proof, attacker), 401, 'MFA_FAILED');
    }
    const issued = await inst.database.kysely
      .selectFrom('sessions')
      .select('id')
      .where('principal_id', '=', user.id)
      .where('created_at', '>=', attackStart)
      .execute();
    expect(issued).toHaveLength(0);

    // The real user gets in, and step-up with their code refreshes the MFA; a wrong code does not.
    const token = await realSignIn(user.email, factor);
    const before = (await sessionOf(token)).mfa as { at: string };
    inst.clock.advance(STEP_MS);
    expectError(
      await http('POST', '/v1/session/step-up', token, {
        factorId: factor.id,
        code: wrong(codeAt(factor.secret)),
      }),
      401,
      'MFA_FAILED',
    );
    expect(((await sessionOf(token)).mfa as { at: string }).at).toBe(before.at);
    expectStatus(
      await http('POST', '/v1/session/step-up', token, { factorId: factor.id, code: codeAt(factor.secret) }),
      200,
    );
    expect(((await sessionOf(token)).mfa as { at: string }).at).toBe(new Date(now()).toISOString());
  });

  it('recovery codes: never minted without a factor; sets without provenance never count; the real set does', async () => {
    const user = await newUser();
    // A new user in the initial window: the attacker holds the password, no factor exists yet.
    const passwordOnly = await api.passwordToken(user.email);
    expectError(await http('POST', '/v1/recovery-codes', passwordOnly), 403, 'RECOVERY_CODES_NEED_FACTOR');
    expect((await http('GET', '/v1/recovery-codes', passwordOnly)).body).toEqual({ remaining: 0 });

    // A set written before sets recorded where they came from (an older installation) is void.
    const legacy = 'legac-ycode';
    await inst.database.kysely
      .insertInto('recovery_codes')
      .values({
        id: 'rc_legacy_i1',
        account_id: (await inst.store.principals.findById(
          (await inst.store.accounts.findByName('acme'))!.id,
          user.id,
        ))!.accountId,
        principal_id: user.id,
        code_hash: recoveryCodeHash(inst.app.deps, user.id, legacy),
        created_at: now(),
        used_at: null,
        provenance: 'legacy',
        issued_factor_id: null,
        issued_session_id: null,
      })
      .execute();

    // The user enrols their phone from a session of their own: the attacker's password session
    // never saw the factor nor proved it, and ends when the first factor is enabled.
    const enrolling = await api.passwordToken(user.email);
    const factor = await enrolTOTP(enrolling);
    expectError(await http('POST', '/v1/recovery-codes', passwordOnly), 401, 'AUTH_SESSION_INVALID');
    const offered = await api.signIn(user.email);
    expect(offered.body).toMatchObject({ status: 'second_factor_required', recoveryCodes: false });
    expectError(await api.secondFactor(offered.body.flowId, { recoveryCode: legacy }), 401, 'MFA_FAILED');
    // The enrolling session proved the factor, but only for the moment after enrolment: once the
    // step-up age has passed it is a password session again and is asked to step up first.
    inst.clock.advance(16 * 60_000);
    expectError(await http('POST', '/v1/recovery-codes', enrolling), 403, 'MFA_STEP_UP_REQUIRED');

    // The real user, from a session verified with the phone, gets a set that works as a second factor.
    const mfa = await realSignIn(user.email, factor);
    const generated = await http('POST', '/v1/recovery-codes', mfa);
    expectStatus(generated, 200);
    const codes = generated.body.codes as string[];
    const rows = await inst.database.kysely
      .selectFrom('recovery_codes')
      .select(['provenance', 'issued_factor_id'])
      .where('principal_id', '=', user.id)
      .execute();
    expect(rows).toHaveLength(10);
    expect(new Set(rows.map((r) => `${r.provenance}:${r.issued_factor_id}`))).toEqual(
      new Set([`mfa:${factor.id}`]),
    );
    const withCode = await api.secondFactor(await api.startFlow(user.email), { recoveryCode: codes[0]! });
    expectStatus(withCode, 200);
    expect(withCode.body.session).toMatchObject({ methods: ['pwd', 'rec'], mfa: { kind: 'recovery_code' } });
    // A recovery-code session cannot mint codes (a code is not a factor).
    expectError(await http('POST', '/v1/recovery-codes', withCode.body.token), 403, 'MFA_STEP_UP_REQUIRED');
  });

  it('a recovery-code session opened with a set of no provenance cannot finish code recovery', async () => {
    const user = await newUser();
    const factor = await enrolTOTP(await api.passwordToken(user.email));
    // A session as an older installation would have opened it with a legacy code.
    const legacyCode = 'oldse-tcode';
    const usedAt = now();
    await inst.database.kysely
      .insertInto('recovery_codes')
      .values({
        id: 'rc_legacy_used_' + seq,
        account_id: (await inst.store.principals.findById(
          (await inst.store.accounts.findByName('acme'))!.id,
          user.id,
        ))!.accountId,
        principal_id: user.id,
        code_hash: recoveryCodeHash(inst.app.deps, user.id, legacyCode),
        created_at: usedAt - 1000,
        used_at: usedAt,
        provenance: 'legacy',
        issued_factor_id: null,
        issued_session_id: null,
      })
      .execute();
    const { createSession } = await import('../../src/app/auth.js');
    const principal = (await inst.store.principals.findByLogin(
      (await inst.store.accounts.findByName('acme'))!.id,
      user.email,
    ))!;
    const issued = await inst.store.transaction((tx) =>
      createSession(inst.app.deps, tx, {
        principal,
        channel: 'bearer',
        ctx: { ...ctx, sourceIp: '127.0.0.1' },
        auth: {
          methods: ['pwd', 'rec'],
          factor: {
            factorId: 'recovery_code',
            kind: 'recovery_code',
            assurance: 'recovery_code',
            at: usedAt,
          },
        },
      }),
    );
    // The attacker enrols a factor of theirs in that session, then tries to finish the recovery
    // (which would delete the real user's phone).
    const pending = await api.enrolTOTP(issued.token, 'attacker phone');
    if (pending.status === 201) {
      const secret = pending.body.secret as string;
      await api.enable(issued.token, pending.body.factor.id, {
        codes: [codeAt(secret, -STEP_MS), codeAt(secret)],
      });
    }
    expectError(
      await http('POST', '/v1/recovery/code/complete', issued.token, {}),
      403,
      'RECOVERY_NOT_RECOVERY_SESSION',
    );
    const factors = await inst.store.factors.listByPrincipal(principal.accountId, principal.id);
    expect(factors.some((f) => f.id === factor.id && f.status === 'enabled')).toBe(true);
  });

  it('codes left when the last factor went are void once a first factor is enabled again; a grant enrolment lifts a suspension', async () => {
    const user = await newUser();
    const account = (await inst.store.accounts.findByName('acme'))!;
    const old = await enrolTOTP(await api.passwordToken(user.email), 'old phone');
    const codes = (await http('POST', '/v1/recovery-codes', await realSignIn(user.email, old))).body
      .codes as string[];
    // The phone is removed by an admin; the user is suspended by someone failing codes.
    await inst.app.removeFactor({
      actor: operator,
      ctx,
      accountId: account.id,
      factorId: old.id,
      userRef: user.id,
    });
    const state = (await inst.store.mfaState.get(user.id))!;
    await inst.store.mfaState.put({
      ...state,
      consecutiveFailures: 100,
      suspendedAt: now(),
      suspendedUntil: now() + 86_400_000,
    });
    // A grant lets the user enrol a new phone: the old set is void, the suspension lifted.
    const grant = await inst.app.issueEnrolmentGrant({
      actor: operator,
      ctx,
      accountId: account.id,
      userRef: user.id,
    });
    // Until then the set still counts: the user signs in with a code, as recovery intends.
    const withCode = await api.secondFactor(await api.startFlow(user.email), { recoveryCode: codes[0]! });
    expectStatus(withCode, 200);
    const token = withCode.body.token as string;
    const created = await http('POST', '/v1/factors/totp', token, {
      name: 'new phone',
      enrolmentGrant: grant.token,
    });
    expectStatus(created, 201);
    const secret = created.body.secret as string;
    expectStatus(
      await api.enable(token, created.body.factor.id, { codes: [codeAt(secret, -STEP_MS), codeAt(secret)] }),
      200,
    );
    expect(await inst.store.mfaState.get(user.id)).toMatchObject({
      suspendedAt: null,
      consecutiveFailures: 0,
    });
    const offered = await api.signIn(user.email);
    expect(offered.body).toMatchObject({ recoveryCodes: false });
    expectError(await api.secondFactor(offered.body.flowId, { recoveryCode: codes[1]! }), 401, 'MFA_FAILED');
    const voided = (await inst.store.audit.query({ action: 'recovery_code.void', limit: 1000 })).filter(
      (r) => r.target === user.id,
    );
    expect(voided).toHaveLength(1);
  });

  describe('WebAuthn', () => {
    const post = (url: string, payload: unknown, token?: string) =>
      server.inject({
        method: 'POST',
        url,
        payload: payload as object,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        remoteAddress: uniqueIp(),
      });
    const passkey = new SoftAuthenticator({
      userVerified: true,
      backupEligible: true,
      backedUp: true,
      counter: 'none',
    });
    const usbKey = new SoftAuthenticator({ transports: ['usb'] });
    let email = '';

    async function register(
      token: string,
      authenticator: SoftAuthenticator,
      kind: 'passkey' | 'security_key',
      label: string,
    ) {
      const options = await post('/v1/factors/webauthn/options', { kind, name: label }, token);
      expect(options.statusCode, options.body).toBe(200);
      const { challengeId, options: creation } = options.json();
      const credential = authenticator.createCredential({ options: creation, origin: ORIGIN });
      const res = await post('/v1/factors/webauthn', { challengeId, credential }, token);
      expect(res.statusCode, res.body).toBe(201);
    }
    async function passkeySignIn(userVerified: boolean) {
      const options = await post('/v1/sign-in/passkey/options', { account: 'acme' });
      const { challengeId, options: request } = options.json();
      const credential = passkey.getAssertion({
        options: request,
        origin: ORIGIN,
        overrides: { userVerified },
      });
      return post('/v1/sign-in/passkey', { challengeId, credential });
    }
    async function stepUpWith(token: string, authenticator: SoftAuthenticator, userVerified: boolean) {
      const options = await post('/v1/session/step-up/webauthn/options', {}, token);
      expect(options.statusCode, options.body).toBe(200);
      const { challengeId, options: request } = options.json();
      const credential = authenticator.getAssertion({
        options: request,
        origin: ORIGIN,
        overrides: { userVerified },
      });
      return post('/v1/session/step-up/webauthn', { challengeId, credential }, token);
    }

    beforeAll(async () => {
      const user = await newUser();
      email = user.email;
      const passwordOnly = await api.passwordToken(email);
      await register(passwordOnly, passkey, 'passkey', 'Phone passkey');
      // A second key, added from an MFA session (password + passkey).
      const first = await api.signIn(email);
      const options = await post('/v1/sign-in/second-factor/webauthn/options', { flowId: first.body.flowId });
      const { challengeId, options: request } = options.json();
      const credential = passkey.getAssertion({ options: request, origin: ORIGIN });
      const mfa = await post('/v1/sign-in/second-factor/webauthn', {
        flowId: first.body.flowId,
        challengeId,
        credential,
      });
      expect(mfa.statusCode, mfa.body).toBe(200);
      await register(mfa.json().token, usbKey, 'security_key', 'USB key');
    });

    it('a stolen key without its PIN: passkey sign-in has no MFA, and no UV-less step-up (same or other key) adds it', async () => {
      const signedIn = await passkeySignIn(false);
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      expect(signedIn.json().session.mfa).toBeNull();
      const token = signedIn.json().token as string;

      for (const key of [passkey, usbKey]) {
        const stepped = await stepUpWith(token, key, false);
        expect({ status: stepped.statusCode, code: stepped.json().error?.code }).toEqual({
          status: 403,
          code: 'MFA_USER_VERIFICATION_REQUIRED',
        });
        expect((await sessionOf(token)).mfa).toBeNull();
      }
      // Nothing that needs MFA works from it.
      expectError(await http('POST', '/v1/recovery-codes', token), 403, 'MFA_STEP_UP_REQUIRED');
      const refusals = (await inst.store.audit.query({ action: 'session.step_up', limit: 1000 })).filter(
        (r) => r.errorCode === 'MFA_USER_VERIFICATION_REQUIRED',
      );
      expect(refusals.length).toBeGreaterThanOrEqual(2);
    });

    it('the real user: a passkey with user verification is multi-factor, alone or as a step-up', async () => {
      const signedIn = await passkeySignIn(true);
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      expect(signedIn.json().session.mfa).toMatchObject({ kind: 'webauthn' });
      expect(signedIn.json().session.methods).toEqual(['hwk', 'mfa']);
      // A UV-less session upgraded by the user's PIN becomes multi-factor.
      const weak = (await passkeySignIn(false)).json().token as string;
      const stepped = await stepUpWith(weak, passkey, true);
      expect(stepped.statusCode, stepped.body).toBe(200);
      expect((await sessionOf(weak)).mfa).toMatchObject({ kind: 'webauthn' });
      // After a password, a touch-only key is the second factor (the password is the first).
      const flow = await api.signIn(email);
      const options = await post('/v1/sign-in/second-factor/webauthn/options', { flowId: flow.body.flowId });
      const { challengeId, options: request } = options.json();
      const credential = usbKey.getAssertion({
        options: request,
        origin: ORIGIN,
        overrides: { userVerified: false },
      });
      const withPassword = await post('/v1/sign-in/second-factor/webauthn', {
        flowId: flow.body.flowId,
        challengeId,
        credential,
      });
      expect(withPassword.statusCode, withPassword.body).toBe(200);
      expect(withPassword.json().session.mfa).toMatchObject({ kind: 'webauthn' });
    });
  });

  describe('STS GetSessionToken and AssumeRole with SerialNumber/TokenCode', () => {
    const sts = (keys: { accessKeyId: string; secretAccessKey: string }, params: Record<string, string>) =>
      awsQuery(server, now).sts(keys, params, uniqueIp());
    const mfaCredentials = (userId: string) =>
      inst.database.kysely
        .selectFrom('temporary_credentials')
        .select(['id', 'mfa'])
        .where('principal_id', '=', userId)
        .where('mfa', 'is not', null)
        .execute();

    it('a leaked access key without the factor gets no MFA credentials; the real user does', async () => {
      const user = await newUser();
      const factor = await enrolTOTP(await api.passwordToken(user.email));
      const account = (await inst.store.accounts.findByName('acme'))!;
      const principal = (await inst.store.principals.findById(account.id, user.id))!;
      const key = await inst.app.createAccessKey({
        actor: operator,
        ctx,
        accountId: account.id,
        userRef: user.id,
      });
      const keys = { accessKeyId: key.key.id, secretAccessKey: key.secretAccessKey };
      const serial = `arn:aws:iam::${account.id}:mfa/${principal.username}/${factor.id}`;
      const role = await inst.app.createRole({
        actor: operator,
        ctx,
        accountId: account.id,
        name: `i1-role-${seq}`,
        trustPolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${account.id}:user/${principal.username}` },
              Action: 'sts:AssumeRole',
              Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
            },
          ],
        }),
      });
      const roleArn = `arn:aws:iam::${account.id}:role/${role.name}`;

      inst.clock.advance(STEP_MS);
      const guesses = [
        { SerialNumber: serial, TokenCode: wrong(codeAt(factor.secret)) },
        {
          SerialNumber: `arn:aws:iam::${account.id}:mfa/${principal.username}/fac_none`,
          TokenCode: codeAt(factor.secret),
        },
      ];
      for (const guess of guesses) {
        const token = await sts(keys, { Action: 'GetSessionToken', ...guess });
        expect({ status: token.status, code: token.code }, token.body).toEqual({
          status: 403,
          code: 'AccessDenied',
        });
        const assumed = await sts(keys, {
          Action: 'AssumeRole',
          RoleArn: roleArn,
          RoleSessionName: 'attacker',
          ...guess,
        });
        expect(assumed.status, assumed.body).toBe(403);
      }
      // Without a TokenCode the credentials carry no MFA, and the MFA-only role refuses.
      expect((await sts(keys, { Action: 'GetSessionToken' })).status).toBe(200);
      expect(
        (await sts(keys, { Action: 'AssumeRole', RoleArn: roleArn, RoleSessionName: 'attacker' })).status,
      ).toBe(403);
      expect(await mfaCredentials(user.id)).toHaveLength(0);

      // The real user with the phone.
      const real = await sts(keys, {
        Action: 'GetSessionToken',
        SerialNumber: serial,
        TokenCode: codeAt(factor.secret),
      });
      expect(real.status, real.body).toBe(200);
      inst.clock.advance(STEP_MS);
      const assumed = await sts(keys, {
        Action: 'AssumeRole',
        RoleArn: roleArn,
        RoleSessionName: 'real',
        SerialNumber: serial,
        TokenCode: codeAt(factor.secret),
      });
      expect(assumed.status, assumed.body).toBe(200);
      expect(await mfaCredentials(user.id)).toHaveLength(2);
    });
  });
});
