/**
 * Invariant I3: what is derived from a credential dies with it. Removing a factor (by the user,
 * an admin, AWS DeactivateMFADevice, a hardware token marked lost) ends every session and
 * temporary AWS credential authenticated with it, while the acting session and sessions of other
 * factors stay; deactivating or deleting an access key ends the temporary credentials minted from
 * it; revoke-all-sessions, a password change and a password reset end the user's temporary
 * credentials too; `aws:TokenIssueTime` lets a policy refuse credentials issued before a moment.
 * On SQLite and PostgreSQL, through the JSON API and the AWS Query API (SigV4 as the SDKs sign),
 * time moved by the injected clock.
 *
 * The attacker holds: the user's password and their old phone (a stolen or lost authenticator),
 * a 36-hour STS session token minted with MFA, or the user's long-term access key. Never the
 * user's current authenticator.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { messageSecretContext } from '../../src/app/recovery-support.js';
import { encodeBase32 } from '../../src/core/factors/otp/base32.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { awsQuery, type AwsKeys } from '../helpers/aws-query.js';
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
  PASSWORD,
  plainPSKC,
  STEP_MS,
  totpAt,
  uniqueIp,
  type Http,
} from '../helpers/mfa.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const operator = { kind: 'operator' as const };
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

interface Factor {
  id: string;
  secret: string;
}

describe.each(DATABASE_KINDS)('I3: what is derived from a credential dies with it [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let http: Http;
  let aws: ReturnType<typeof awsQuery>;
  let accountId: string;
  let ownerMfa: string;
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
    aws = awsQuery(server, now);
  });
  beforeEach(async () => {
    ownerMfa = await mfaSessionToken(inst, { accountName: 'acme', login: 'owner@acme.test' });
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  const as = (token: string, ip = uniqueIp()) => ({
    post: (url: string, body: unknown = {}) => http({ method: 'POST', url, body, token, ip }),
    get: (url: string) => http({ method: 'GET', url, token, ip }),
    del: (url: string) => http({ method: 'DELETE', url, token, ip }),
  });
  const sessionLive = async (token: string) => (await as(token).get('/v1/session')).status === 200;

  /** A user with a password and an enabled authenticator app ("old phone"). */
  async function newUser(password = PASSWORD) {
    const email = `u${++n}@acme.test`;
    const { userId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email,
      password,
      role: 'user',
    });
    const username = (await inst.store.principals.findById(accountId, userId))!.username;
    const signIn = await http({
      method: 'POST',
      url: '/v1/sign-in',
      body: { account: 'acme', login: email, password },
      ip: uniqueIp(),
    });
    const enrolling = signIn.body.token as string;
    const oldPhone = await enrolIn(enrolling, 'old phone');
    return { id: userId, email, username, password, oldPhone };
  }
  /** Enrols and enables an authenticator app from `token`'s session. */
  async function enrolIn(token: string, factorName: string): Promise<Factor> {
    const created = await as(token).post('/v1/factors/totp', { name: factorName });
    expectStatus(created, 201);
    const factor = { id: created.body.factor.id as string, secret: created.body.secret as string };
    expectStatus(
      await as(token).post(`/v1/factors/${factor.id}/enable`, { code: totpAt(factor.secret, now()) }),
      200,
    );
    return factor;
  }
  /** Password plus a code of `factor` (a fresh time step): a session with MFA. */
  async function signInWith(user: { email: string; password: string }, factor: Factor, ip = uniqueIp()) {
    inst.clock.advance(STEP_MS);
    const flow = await http({
      method: 'POST',
      url: '/v1/sign-in',
      body: { account: 'acme', login: user.email, password: user.password },
      ip,
    });
    expectStatus(flow, 200);
    expect(flow.body.status).toBe('second_factor_required');
    const res = await http({
      method: 'POST',
      url: '/v1/sign-in/second-factor',
      body: { flowId: flow.body.flowId, factorId: factor.id, code: totpAt(factor.secret, now()) },
      ip,
    });
    expectStatus(res, 200);
    return res.body.token as string;
  }
  /** A long-term access key of the user (issued by the host operator). */
  async function accessKeyOf(userId: string): Promise<AwsKeys> {
    const issued = await inst.app.createAccessKey({ actor: operator, ctx, accountId, userRef: userId });
    return { accessKeyId: issued.key.id, secretAccessKey: issued.secretAccessKey };
  }
  const serialOf = (username: string, factor: Factor) =>
    `arn:aws:iam::${accountId}:mfa/${username}/${factor.id}`;
  /** GetSessionToken with MFA for 36 hours (the longest STS allows). */
  async function stsWithMfa(keys: AwsKeys, username: string, factor: Factor): Promise<AwsKeys> {
    inst.clock.advance(STEP_MS);
    return aws.credentialsOf(
      await aws.sts(keys, {
        Action: 'GetSessionToken',
        DurationSeconds: '129600',
        SerialNumber: serialOf(username, factor),
        TokenCode: totpAt(factor.secret, now()),
      }),
    );
  }
  const callerCode = async (keys: AwsKeys) => (await aws.sts(keys, { Action: 'GetCallerIdentity' })).code;
  /** The stolen token tries to mint a long-term key of its own: refused as an unknown token. */
  async function expectDead(keys: AwsKeys, username: string) {
    expect(await callerCode(keys)).toBe('InvalidClientTokenId');
    const created = await aws.iam(keys, { Action: 'CreateAccessKey', UserName: username });
    expect(created.code).toBe('InvalidClientTokenId');
  }
  /** The audited revocations of a principal's derived credentials (after its first enrolment). */
  const revocations = async (principalId: string) =>
    (await inst.store.audit.scan(0, 1_000_000)).filter(
      (r) =>
        r.action === 'credentials.revoke_derived' &&
        r.target === principalId &&
        r.details.reason !== 'first_factor_enabled',
    );

  it('a thief signed in with the old phone keeps nothing once the user removes it; the user’s sessions of the other factor stay', async () => {
    const user = await newUser();
    const key = await accessKeyOf(user.id);
    const newPhone = await enrolIn(await signInWith(user, user.oldPhone), 'new phone');
    // The thief holds the password, the access key and the old phone: a console session and a
    // 36-hour STS session token, both authenticated with the old phone.
    const thief = await signInWith(user, user.oldPhone);
    const thiefSts = await stsWithMfa(key, user.username, user.oldPhone);
    expect(await callerCode(thiefSts)).toBeNull();
    // The user signs in with the new phone (twice: two devices) and removes the old one.
    const acting = await signInWith(user, newPhone);
    const laptop = await signInWith(user, newPhone);
    const userSts = await stsWithMfa(key, user.username, newPhone);
    expectStatus(await as(acting).del(`/v1/factors/${user.oldPhone.id}`), 204);

    expectError(await as(thief).get('/v1/session'), 401, 'AUTH_SESSION_INVALID');
    await expectDead(thiefSts, user.username);
    // The thief cannot re-enrol either.
    expectError(
      await as(thief).post('/v1/factors/totp', { name: 'thief phone' }),
      401,
      'AUTH_SESSION_INVALID',
    );
    // What the new phone authenticated stays.
    expect(await sessionLive(acting)).toBe(true);
    expect(await sessionLive(laptop)).toBe(true);
    expect(await callerCode(userSts)).toBeNull();
    const revoked = (await revocations(user.id)).find((r) => r.details.reason === 'factor_removed');
    expect(revoked!.details).toMatchObject({
      reason: 'factor_removed',
      factorId: user.oldPhone.id,
      // The thief's, and the user's own earlier session signed in with the old phone.
      sessionsRevoked: 2,
      temporaryCredentialsRevoked: 1,
    });
    // The user still gets in.
    await signInWith(user, newPhone);
  });

  it('a thief who removes the stolen phone themselves ends their own session with it; a session that stepped up with the new phone stays', async () => {
    const user = await newUser();
    const newPhone = await enrolIn(await signInWith(user, user.oldPhone), 'new phone');
    // The thief holds the password and the old phone, and removes it (to hide what they did).
    const thief = await signInWith(user, user.oldPhone);
    expectStatus(await as(thief).del(`/v1/factors/${user.oldPhone.id}`), 204);
    // The session stood on the removed factor: it ends with it, though it made the change.
    expectError(await as(thief).get('/v1/session'), 401, 'AUTH_SESSION_INVALID');
    expectError(
      await as(thief).post('/v1/factors/totp', { name: 'thief phone' }),
      401,
      'AUTH_SESSION_INVALID',
    );
    // Add before remove: a session opened with a phone, stepped up with the next one, removes the
    // first and stays.
    const third = await enrolIn(await signInWith(user, newPhone), 'third phone');
    const acting = await signInWith(user, newPhone);
    inst.clock.advance(STEP_MS);
    expectStatus(
      await as(acting).post('/v1/session/step-up', { factorId: third.id, code: totpAt(third.secret, now()) }),
      200,
    );
    expectStatus(await as(acting).del(`/v1/factors/${newPhone.id}`), 204);
    expect(await sessionLive(acting)).toBe(true);
    await signInWith(user, third);
  });

  it('an admin removing a factor, and AWS DeactivateMFADevice, end what that factor authenticated', async () => {
    const user = await newUser();
    const key = await accessKeyOf(user.id);
    const mid = await enrolIn(await signInWith(user, user.oldPhone), 'second phone');
    const third = await enrolIn(await signInWith(user, mid), 'third phone');
    const withOld = await signInWith(user, user.oldPhone);
    const withMid = await signInWith(user, mid);
    const withThird = await signInWith(user, third);
    const stsOld = await stsWithMfa(key, user.username, user.oldPhone);
    const stsMid = await stsWithMfa(key, user.username, mid);
    const stsThird = await stsWithMfa(key, user.username, third);

    // An admin removes the old phone.
    expectStatus(await as(ownerMfa).del(`/v1/users/${user.id}/factors/${user.oldPhone.id}`), 204);
    expect(await sessionLive(withOld)).toBe(false);
    await expectDead(stsOld, user.username);
    expect(await sessionLive(withMid)).toBe(true);
    expect(await callerCode(stsMid)).toBeNull();

    // The user deactivates the second phone with IAM, signed with the third phone's STS token.
    const deactivated = await aws.iam(stsThird, {
      Action: 'DeactivateMFADevice',
      UserName: user.username,
      SerialNumber: serialOf(user.username, mid),
    });
    expect(deactivated.status, deactivated.body).toBe(200);
    expect(await sessionLive(withMid)).toBe(false);
    await expectDead(stsMid, user.username);
    // The acting credential (another factor) and the third phone's session stay.
    expect(await callerCode(stsThird)).toBeNull();
    expect(await sessionLive(withThird)).toBe(true);
    await signInWith(user, third);
  });

  it('a hardware token marked lost takes its sessions and STS tokens with it; the finder keeps nothing', async () => {
    const user = await newUser();
    const key = await accessKeyOf(user.id);
    const serial = `LOSTTOKEN-${++n}`;
    const seed = Buffer.from(`holdfast lost token ${n}`.padEnd(20, '.').slice(0, 20));
    await inst.app.importHardwareTokens({
      actor: operator,
      ctx,
      accountId,
      pskcXml: plainPSKC(serial, seed),
    });
    const { factor } = await inst.app.assignHardwareToken({
      actor: operator,
      ctx,
      accountId,
      serial,
      userRef: user.id,
    });
    const token = { id: factor.id, secret: encodeBase32(seed) };
    const console = await signInWith(user, user.oldPhone);
    expectStatus(
      await as(console).post(`/v1/factors/${token.id}/enable`, { code: totpAt(token.secret, now()) }),
      200,
    );
    // Whoever holds the token (the finder, with the password and the key) signs in with it.
    const finder = await signInWith(user, token);
    inst.clock.advance(STEP_MS);
    const finderSts = aws.credentialsOf(
      await aws.sts(key, {
        Action: 'GetSessionToken',
        DurationSeconds: '129600',
        SerialNumber: serial,
        TokenCode: totpAt(token.secret, now()),
      }),
    );
    expect(await callerCode(finderSts)).toBeNull();

    // An admin marks it lost.
    expectStatus(await as(ownerMfa).post(`/v1/hardware-tokens/${serial}/state`, { state: 'lost' }), 200);
    expect(await sessionLive(finder)).toBe(false);
    await expectDead(finderSts, user.username);
    // The user's own session with the phone stays, and the phone still signs in.
    expect(await sessionLive(console)).toBe(true);
    await signInWith(user, user.oldPhone);
  });

  it('recovery with a code removes the lost phone and ends everything it (and anyone else) holds', async () => {
    const user = await newUser();
    const key = await accessKeyOf(user.id);
    const before = await signInWith(user, user.oldPhone);
    const codes = await as(before).post('/v1/recovery-codes');
    expectStatus(codes, 200);
    // The thief has the phone (a session and an STS token); the user lost it.
    const thief = await signInWith(user, user.oldPhone);
    const thiefSts = await stsWithMfa(key, user.username, user.oldPhone);
    const flow = await http({
      method: 'POST',
      url: '/v1/sign-in',
      body: { account: 'acme', login: user.email, password: user.password },
      ip: uniqueIp(),
    });
    const recovering = await http({
      method: 'POST',
      url: '/v1/sign-in/second-factor',
      body: { flowId: flow.body.flowId, recoveryCode: (codes.body.codes as string[])[0] },
      ip: uniqueIp(),
    });
    expectStatus(recovering, 200);
    const session = recovering.body.token as string;
    const newPhone = await enrolIn(session, 'new phone');
    expectStatus(await as(session).post('/v1/recovery/code/complete', {}), 200);
    expect(await sessionLive(thief)).toBe(false);
    await expectDead(thiefSts, user.username);
    expect(await sessionLive(session)).toBe(true);
    await signInWith(user, newPhone);
  });

  it('a help-desk reset taking effect ends the 36-hour STS token minted with the reset factor', async () => {
    const user = await newUser();
    const key = await accessKeyOf(user.id);
    const stolen = await stsWithMfa(key, user.username, user.oldPhone);
    const opened = await as(ownerMfa).post('/v1/resets', {
      user: user.email,
      evidence: [{ kind: 'id_document', note: 'badge checked at the desk' }],
    });
    expectStatus(opened, 201);
    inst.clock.advance(24 * HOUR + 1);
    expect((await inst.app.runRecoveryScheduler()).completed).toBeGreaterThanOrEqual(1);
    expect(await inst.store.factors.listByPrincipal(accountId, user.id)).toEqual([]);
    // Twelve of its 36 hours were left: it is revoked, not expired.
    await expectDead(stolen, user.username);
  });

  it('a 36-hour STS token ends with UpdateAccessKey Inactive and with DeleteAccessKey of its key, and mints no new key', async () => {
    const user = await newUser();
    const key = await accessKeyOf(user.id);
    const other = await accessKeyOf(user.id);
    const stolen = await stsWithMfa(key, user.username, user.oldPhone);
    // A token minted from the user's other key is not derived from the leaked one: it stays.
    const fromOther = await stsWithMfa(other, user.username, user.oldPhone);
    expect(await callerCode(stolen)).toBeNull();

    // The user deactivates the leaked key (from an MFA console session).
    const console = await signInWith(user, user.oldPhone);
    await inst.app.updateAccessKey({
      actor: operator,
      ctx,
      accountId,
      userRef: user.id,
      accessKeyId: key.accessKeyId,
      status: 'Inactive',
    });
    await expectDead(stolen, user.username);
    expect(await callerCode(fromOther)).toBeNull();
    expect(await sessionLive(console)).toBe(true);

    // Re-activated, it mints a new token; deleting the key ends that one too.
    await inst.app.updateAccessKey({
      actor: operator,
      ctx,
      accountId,
      userRef: user.id,
      accessKeyId: key.accessKeyId,
      status: 'Active',
    });
    expect(await callerCode(stolen)).toBe('InvalidClientTokenId');
    const second = await stsWithMfa(key, user.username, user.oldPhone);
    await inst.app.deleteAccessKey({
      actor: operator,
      ctx,
      accountId,
      userRef: user.id,
      accessKeyId: key.accessKeyId,
    });
    await expectDead(second, user.username);
    expect((await revocations(user.id)).map((r) => r.details.reason)).toEqual([
      'access_key_deactivated',
      'access_key_deleted',
    ]);
    // The user's remaining key and their console still work.
    expect(await callerCode(other)).toBeNull();
    await signInWith(user, user.oldPhone);
  });

  it('revoke-all-sessions and a password change end the user’s STS tokens; the new password and factor still get in', async () => {
    const user = await newUser();
    const key = await accessKeyOf(user.id);
    const stolen = await stsWithMfa(key, user.username, user.oldPhone);
    expectStatus(await as(ownerMfa).post(`/v1/users/${user.id}/sessions/revoke`), 200);
    await expectDead(stolen, user.username);

    const stolenAgain = await stsWithMfa(key, user.username, user.oldPhone);
    const console = await signInWith(user, user.oldPhone);
    const newPassword = 'a completely different passphrase 42';
    expectStatus(
      await as(console).post('/v1/me/password', { currentPassword: user.password, newPassword }),
      204,
    );
    await expectDead(stolenAgain, user.username);
    expect(await sessionLive(console)).toBe(true);
    expect((await revocations(user.id)).map((r) => r.details.reason)).toEqual([
      'admin_revoked',
      'password_changed',
    ]);
    await signInWith({ email: user.email, password: newPassword }, user.oldPhone);
  });

  it('a password reset ends the user’s STS tokens', async () => {
    const user = await newUser();
    const key = await accessKeyOf(user.id);
    const console = await signInWith(user, user.oldPhone);
    // The user's e-mail is verified (a reset link goes only to a verified address).
    expectStatus(await as(console).post('/v1/contacts/verify-current'), 202);
    await inst.app.verifyContactLink({ ctx, token: await lastSecret(user.id) });
    const stolen = await stsWithMfa(key, user.username, user.oldPhone);

    expectStatus(
      await http({
        method: 'POST',
        url: '/v1/password-reset/start',
        body: { account: 'acme', login: user.email },
      }),
      202,
    );
    const newPassword = 'reset passphrase for the real user 7';
    expectStatus(
      await http({
        method: 'POST',
        url: '/v1/password-reset/complete',
        body: { token: await lastSecret(user.id), password: newPassword },
      }),
      200,
    );
    await expectDead(stolen, user.username);
    expect(await sessionLive(console)).toBe(false);
    await signInWith({ email: user.email, password: newPassword }, user.oldPhone);
  });

  it('aws:TokenIssueTime: a Deny for tokens issued before a moment refuses older STS tokens only (absent for long-term keys)', async () => {
    const user = await newUser();
    const key = await accessKeyOf(user.id);
    const before = await stsWithMfa(key, user.username, user.oldPhone);
    inst.clock.advance(HOUR);
    const cutoff = new Date(now() - 30 * MINUTE).toISOString();
    await inst.app.putUserPolicy({
      actor: operator,
      ctx,
      accountId,
      userRef: user.id,
      name: 'RevokeOlderSessions',
      document: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Deny',
            Action: '*',
            Resource: '*',
            Condition: { DateLessThan: { 'aws:TokenIssueTime': cutoff } },
          },
        ],
      }),
    });
    const after = await stsWithMfa(key, user.username, user.oldPhone);
    const getUser = (keys: AwsKeys) => aws.iam(keys, { Action: 'GetUser' });
    expect((await getUser(before)).code).toBe('AccessDenied');
    const allowed = await getUser(after);
    expect(allowed.status, allowed.body).toBe(200);
    // Long-term keys carry no aws:TokenIssueTime, so a DateLessThan on it never matches them.
    const withKey = await getUser(key);
    expect(withKey.status, withKey.body).toBe(200);
  });

  /** The secret of the newest outbox message to a principal (a link token as mailed). */
  async function lastSecret(principalId: string): Promise<string> {
    const rows = await inst.database.kysely
      .selectFrom('outbox')
      .select(['id', 'payload'])
      .where('principal_id', '=', principalId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    for (const row of rows) {
      const payload = JSON.parse(row.payload) as { sealedSecret?: string };
      if (typeof payload.sealedSecret === 'string') {
        return Buffer.from(
          inst.app.deps.secretBox.open(payload.sealedSecret, messageSecretContext(row.id)),
        ).toString('utf8');
      }
    }
    throw new Error('no message with a secret');
  }
});
