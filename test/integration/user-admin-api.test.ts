/**
 * Running one person's account over the API, written as attacks: re-enabling, role changes and
 * enrolment grants are refused to the help desk and plain users (G6, policies), to an admin
 * without an MFA session (G2) or, for roles and grants, without a fresh one (G1); an admin never
 * touches or makes an owner; nobody changes their own role; the account keeps an owner who can
 * sign in. Every refusal leaves the state as it was. SQLite and (with HOLDFAST_TEST_PG)
 * PostgreSQL, frozen clock.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe.each(DATABASE_KINDS)('administering one user over the API [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let accountId: string;
  let seq = 0;
  const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

  beforeAll(async () => {
    ({ inst, server, api } = await acmeMfaServer(name));
    accountId = (await inst.store.accounts.findByName('acme'))!.id;
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'admin@acme.test',
      password: PASSWORD,
      role: 'admin',
    });
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'desk@acme.test',
      password: PASSWORD,
      role: 'helpdesk',
    });
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, body?: unknown) =>
    api.http({ method, url, token, ...(body === undefined ? {} : { body }) });
  const fresh = (login: string) => mfaSessionToken(inst, { accountName: 'acme', login });
  /** An MFA session whose second factor is older than the 15-minute step-up age (G1). */
  const stale = (login: string) =>
    mfaSessionToken(inst, { accountName: 'acme', login, factorAt: inst.clock.now() - 16 * MINUTE });
  const principal = async (id: string) => (await inst.store.principals.findById(accountId, id))!;
  const auditOf = async (action: string, target: string) =>
    (await inst.store.audit.query({ accountId, action, limit: 100 })).filter((r) => r.target === target);

  async function newUser(role = 'user'): Promise<{ id: string; email: string }> {
    const email = `person-${++seq}@acme.test`;
    const { userId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email,
      password: PASSWORD,
      role,
    });
    return { id: userId, email };
  }

  async function disabled(role = 'user') {
    const user = await newUser(role);
    await inst.app.disableUser({ actor: { kind: 'operator' }, ctx, accountId, userRef: user.id });
    return user;
  }

  describe('re-enable', () => {
    it('a plain user, the help desk and a password-only admin cannot re-enable anyone', async () => {
      const target = await disabled();
      const plain = await newUser();
      expect((await call('POST', `/v1/users/${target.id}/enable`, await fresh(plain.email))).status).toBe(
        403,
      );
      expectError(
        await call('POST', `/v1/users/${target.id}/enable`, await fresh('desk@acme.test')),
        403,
        'AUTH_FORBIDDEN',
      );
      const passwordOnly = await api.passwordToken('admin@acme.test');
      expectError(
        await call('POST', `/v1/users/${target.id}/enable`, passwordOnly),
        403,
        'MFA_STEP_UP_REQUIRED',
      );
      expect((await principal(target.id)).status).toBe('disabled');
      expect(await auditOf('user.enable', target.id)).toEqual([]);
      // Still shut out.
      expectError(await api.signIn(target.email), 401, 'AUTH_INVALID_CREDENTIALS');
    });

    it('an admin cannot re-enable a disabled owner (G6)', async () => {
      const owner = await disabled('owner');
      expectError(
        await call('POST', `/v1/users/${owner.id}/enable`, await fresh('admin@acme.test')),
        403,
        'GUARDRAIL_DENIED',
      );
      expect((await principal(owner.id)).status).toBe('disabled');
    });

    it('an admin with an MFA session re-enables a user, who signs in again; once only', async () => {
      const target = await disabled();
      const admin = await fresh('admin@acme.test');
      const res = await call('POST', `/v1/users/${target.id}/enable`, admin);
      expectStatus(res, 200);
      expect(res.body.user.status).toBe('active');
      expect(await auditOf('user.enable', target.id)).toHaveLength(1);
      expect((await api.signIn(target.email)).body.status).toBe('signed_in');
      expectError(await call('POST', `/v1/users/${target.id}/enable`, admin), 409, 'USER_NOT_DISABLED');
      expect(await auditOf('user.enable', target.id)).toHaveLength(1);
    });

    it('an admin of another account finds nobody', async () => {
      const target = await disabled();
      const other = await inst.app.bootstrapAccount({
        accountName: `other-${++seq}`,
        ownerEmail: 'root@other.test',
        ctx,
      });
      await inst.app.completeSetup({ ctx, token: other.setup.token, password: PASSWORD });
      const token = await mfaSessionToken(inst, {
        accountName: other.account.name,
        login: 'root@other.test',
      });
      expectError(await call('POST', `/v1/users/${target.id}/enable`, token), 404, 'USER_NOT_FOUND');
      expect((await principal(target.id)).status).toBe('disabled');
    });
  });

  describe('role change', () => {
    it('the help desk and an admin without a fresh second factor change no role', async () => {
      const target = await newUser();
      expectError(
        await call('PATCH', `/v1/users/${target.id}`, await fresh('desk@acme.test'), { role: 'admin' }),
        403,
        'GUARDRAIL_DENIED',
      );
      const res = await call('PATCH', `/v1/users/${target.id}`, await stale('admin@acme.test'), {
        role: 'admin',
      });
      expectError(res, 403, 'MFA_STEP_UP_REQUIRED');
      expect(res.body.error.guardrail).toBe('G1');
      expectError(
        await call('PATCH', `/v1/users/${target.id}`, await api.passwordToken('admin@acme.test'), {
          role: 'admin',
        }),
        403,
        'MFA_STEP_UP_REQUIRED',
      );
      expect((await principal(target.id)).role).toBe('user');
      expect(await auditOf('user.role_change', target.id)).toEqual([]);
    });

    it('an admin neither makes an owner nor demotes one, and nobody changes their own role', async () => {
      const target = await newUser();
      const owner = await newUser('owner');
      const admin = await fresh('admin@acme.test');
      expectError(
        await call('PATCH', `/v1/users/${target.id}`, admin, { role: 'owner' }),
        403,
        'GUARDRAIL_DENIED',
      );
      expectError(
        await call('PATCH', `/v1/users/${owner.id}`, admin, { role: 'user' }),
        403,
        'GUARDRAIL_DENIED',
      );
      const self = (await inst.store.principals.findByLogin(accountId, 'admin@acme.test'))!;
      expectError(
        await call('PATCH', `/v1/users/${self.id}`, admin, { role: 'owner' }),
        403,
        'USER_OWN_ROLE',
      );
      expect((await principal(target.id)).role).toBe('user');
      expect((await principal(owner.id)).role).toBe('owner');
      expect((await principal(self.id)).role).toBe('admin');
    });

    it('bad input changes nothing', async () => {
      const target = await newUser();
      const admin = await fresh('admin@acme.test');
      expectError(
        await call('PATCH', `/v1/users/${target.id}`, admin, { role: 'root' }),
        400,
        'REQUEST_INVALID',
      );
      expectError(
        await call('PATCH', `/v1/users/${target.id}`, admin, { role: 'user', email: 'x@y.test' }),
        400,
        'REQUEST_INVALID',
      );
      expectError(
        await call('PATCH', `/v1/users/${target.id}`, admin, { role: 'user' }),
        409,
        'USER_ROLE_UNCHANGED',
      );
      expect((await principal(target.id)).role).toBe('user');
      expect(await auditOf('user.role_change', target.id)).toEqual([]);
    });

    it('an admin with a fresh second factor promotes a user; the record says from and to', async () => {
      const target = await newUser();
      const res = await call('PATCH', `/v1/users/${target.id}`, await fresh('admin@acme.test'), {
        role: 'helpdesk',
      });
      expectStatus(res, 200);
      expect(res.body.user.role).toBe('helpdesk');
      expect((await principal(target.id)).role).toBe('helpdesk');
      const [record] = await auditOf('user.role_change', target.id);
      expect(record?.details).toMatchObject({ from: 'user', to: 'helpdesk' });
    });

    it('the last owner who can sign in cannot be demoted', async () => {
      const solo = await inst.app.bootstrapAccount({
        accountName: `solo-${++seq}`,
        ownerEmail: 'root@solo.test',
        ctx,
      });
      await inst.app.completeSetup({ ctx, token: solo.setup.token, password: PASSWORD });
      const soloId = solo.account.id;
      // Not even the host operator demotes the only owner.
      await expect(
        inst.app.changeUserRole({
          actor: { kind: 'operator' },
          ctx,
          accountId: soloId,
          userRef: solo.owner.id,
          role: 'admin',
        }),
      ).rejects.toMatchObject({ code: 'USER_LAST_OWNER' });
      // A second owner without a password (a passkey-only owner, say) cannot demote the first.
      const { user: keysOwner } = await inst.app.createUser({
        actor: { kind: 'operator' },
        ctx,
        accountId: soloId,
        email: 'keys@solo.test',
        role: 'owner',
      });
      const token = await mfaSessionToken(inst, { accountName: solo.account.name, login: keysOwner.email });
      expectError(
        await call('PATCH', `/v1/users/${solo.owner.id}`, token, { role: 'user' }),
        409,
        'USER_LAST_OWNER',
      );
      expect((await inst.store.principals.findById(soloId, solo.owner.id))!.role).toBe('owner');
      expect(
        (await inst.store.audit.query({ accountId: soloId, action: 'user.role_change', limit: 10 })).length,
      ).toBe(0);
      // The owner who can sign in still does.
      const signIn = await api.http({
        method: 'POST',
        url: '/v1/sign-in',
        body: { account: solo.account.name, login: 'root@solo.test', password: PASSWORD },
      });
      expect(signIn.body.status).toBe('signed_in');
    });
  });

  describe('enrolment grant', () => {
    it('the help desk, a stale admin and a password-only admin send no grant', async () => {
      const target = await newUser();
      const before = (await inst.store.outbox.list({ accountId, limit: 10_000 })).length;
      expectError(
        await call('POST', `/v1/users/${target.id}/enrolment-grant`, await fresh('desk@acme.test')),
        403,
        'AUTH_FORBIDDEN',
      );
      expectError(
        await call('POST', `/v1/users/${target.id}/enrolment-grant`, await stale('admin@acme.test')),
        403,
        'MFA_STEP_UP_REQUIRED',
      );
      expectError(
        await call(
          'POST',
          `/v1/users/${target.id}/enrolment-grant`,
          await api.passwordToken('admin@acme.test'),
        ),
        403,
        'MFA_STEP_UP_REQUIRED',
      );
      expect((await inst.store.outbox.list({ accountId, limit: 10_000 })).length).toBe(before);
      expect(await auditOf('enrolment_grant.issue', target.id)).toEqual([]);
    });

    it('no grant for an owner (from an admin), a disabled user, or one who has a factor', async () => {
      const admin = await fresh('admin@acme.test');
      const owner = await newUser('owner');
      expectError(
        await call('POST', `/v1/users/${owner.id}/enrolment-grant`, admin),
        403,
        'GUARDRAIL_DENIED',
      );
      const off = await disabled();
      expectError(await call('POST', `/v1/users/${off.id}/enrolment-grant`, admin), 409, 'USER_DISABLED');
      const enrolled = await newUser();
      const token = await api.passwordToken(enrolled.email);
      const created = await api.enrolTOTP(token, 'phone');
      const secret = created.body.secret as string;
      const now = inst.clock.now();
      expectStatus(
        await api.enable(token, created.body.factor.id as string, {
          codes: [totpAt(secret, now - STEP_MS), totpAt(secret, now)],
        }),
        200,
      );
      expectError(
        await call('POST', `/v1/users/${enrolled.id}/enrolment-grant`, admin),
        409,
        'ENROLMENT_GRANT_NOT_NEEDED',
      );
      for (const id of [owner.id, off.id, enrolled.id])
        expect(await auditOf('enrolment_grant.issue', id)).toEqual([]);
    });

    it('the grant goes to the user’s mailbox only, and lets them enrol after the window closed', async () => {
      const target = await newUser();
      // Past the initial enrolment window the user needs a grant.
      inst.clock.advance(8 * DAY);
      const token = await api.passwordToken(target.email);
      expectError(await api.enrolTOTP(token, 'phone'), 403, 'ENROLMENT_GRANT_REQUIRED');
      const res = await call(
        'POST',
        `/v1/users/${target.id}/enrolment-grant`,
        await fresh('admin@acme.test'),
      );
      expectStatus(res, 200);
      expect(res.body.sentTo).toBe(target.email);
      // The sender never holds it.
      expect(JSON.stringify(res.body)).not.toContain('hfgrant_');
      expect(await auditOf('enrolment_grant.issue', target.id)).toHaveLength(1);
      const message = (await inst.store.outbox.list({ accountId, limit: 10_000 })).find(
        (m) => m.principalId === target.id && m.template === 'enrolment_grant.issued',
      )!;
      expect(message.recipient).toBe(target.email);
      const rendered = (await inst.app.renderOutboxMessage({
        id: message.id,
        publicUrl: 'http://localhost:8080',
      }))!;
      const grant = decodeURIComponent(/#grant=([^\s]+)/.exec(rendered.text)![1]!);
      expect(grant.startsWith('hfgrant_')).toBe(true);

      // The grant works, once.
      const created = await api.http({
        method: 'POST',
        url: '/v1/factors/totp',
        token,
        body: { name: 'phone', enrolmentGrant: grant },
      });
      expectStatus(created, 201);
      const again = await api.http({
        method: 'POST',
        url: '/v1/factors/totp',
        token,
        body: { name: 'phone 2', enrolmentGrant: grant },
      });
      expectError(again, 403, 'ENROLMENT_GRANT_INVALID');
    });
  });

  describe('sessions, access keys and events of a user', () => {
    it('an admin lists a user’s sessions and ends one; the help desk cannot list them', async () => {
      const target = await newUser();
      const userToken = await api.passwordToken(target.email);
      const admin = await fresh('admin@acme.test');
      expectError(
        await call('GET', `/v1/users/${target.id}/sessions`, await fresh('desk@acme.test')),
        403,
        'AUTH_FORBIDDEN',
      );
      const listed = await call('GET', `/v1/users/${target.id}/sessions`, admin);
      expectStatus(listed, 200);
      expect(listed.body.sessions).toHaveLength(1);
      expect(JSON.stringify(listed.body)).not.toContain(userToken);
      const sessionId = listed.body.sessions[0].id as string;
      // Another user's path with this session id: nothing ends.
      const other = await newUser();
      expectError(
        await call('POST', `/v1/users/${other.id}/sessions/${sessionId}/revoke`, admin),
        404,
        'SESSION_NOT_FOUND',
      );
      expectStatus(await call('GET', '/v1/session', userToken), 200);
      expectStatus(await call('POST', `/v1/users/${target.id}/sessions/${sessionId}/revoke`, admin), 204);
      expectError(await call('GET', '/v1/session', userToken), 401, 'AUTH_SESSION_INVALID');
      const [record] = await auditOf('session.revoke', target.id);
      expect(record?.details).toMatchObject({ sessionId, byAdmin: true });
      expectError(
        await call('POST', `/v1/users/${target.id}/sessions/${sessionId}/revoke`, admin),
        404,
        'SESSION_NOT_FOUND',
      );
    });

    it('access keys: the secret once, deactivate, activate, delete; never for the help desk', async () => {
      const target = await newUser();
      const admin = await fresh('admin@acme.test');
      expectError(
        await call('POST', `/v1/users/${target.id}/access-keys`, await fresh('desk@acme.test')),
        403,
        'AUTH_FORBIDDEN',
      );
      const created = await call('POST', `/v1/users/${target.id}/access-keys`, admin);
      expectStatus(created, 201);
      const { accessKeyId, secretAccessKey } = created.body as {
        accessKeyId: string;
        secretAccessKey: string;
      };
      expect(secretAccessKey.length).toBeGreaterThan(30);
      const listed = await call('GET', `/v1/users/${target.id}/access-keys`, admin);
      expect(listed.body.keys).toEqual([expect.objectContaining({ accessKeyId, status: 'Active' })]);
      expect(JSON.stringify(listed.body)).not.toContain(secretAccessKey);
      expectStatus(
        await call('PATCH', `/v1/users/${target.id}/access-keys/${accessKeyId}`, admin, {
          status: 'Inactive',
        }),
        204,
      );
      expect((await inst.store.accessKeys.findById(accessKeyId))?.status).toBe('Inactive');
      expectError(
        await call('PATCH', `/v1/users/${target.id}/access-keys/${accessKeyId}`, admin, { status: 'Off' }),
        400,
        'REQUEST_INVALID',
      );
      expectStatus(
        await call('PATCH', `/v1/users/${target.id}/access-keys/${accessKeyId}`, admin, { status: 'Active' }),
        204,
      );
      // Another user's path: the key is not theirs.
      const other = await newUser();
      expectError(
        await call('DELETE', `/v1/users/${other.id}/access-keys/${accessKeyId}`, admin),
        404,
        'AWS_ACCESS_KEY_NOT_FOUND',
      );
      expectStatus(await call('DELETE', `/v1/users/${target.id}/access-keys/${accessKeyId}`, admin), 204);
      expect(await inst.store.accessKeys.findById(accessKeyId)).toBeNull();
    });

    it('events about a user come newest first, a page at a time', async () => {
      const target = await newUser();
      const admin = await fresh('admin@acme.test');
      for (const role of ['helpdesk', 'admin', 'user']) {
        expectStatus(await call('PATCH', `/v1/users/${target.id}`, admin, { role }), 200);
      }
      const first = await call('GET', `/v1/users/${target.id}/events?limit=2`, admin);
      expectStatus(first, 200);
      expect(first.body.records.map((r: { details: { to: string } }) => r.details.to)).toEqual([
        'user',
        'admin',
      ]);
      // Names beside ids: who acted, by e-mail address.
      expect(Object.values(first.body.names)).toEqual(['admin@acme.test']);
      const second = await call(
        'GET',
        `/v1/users/${target.id}/events?limit=2&before=${first.body.nextBefore}`,
        admin,
      );
      expect(second.body.records[0].details.to).toBe('helpdesk');
      expect(
        second.body.records.every(
          (r: { target: string; userIdentity: { principalId: string } }) =>
            r.target === target.id || r.userIdentity.principalId === target.id,
        ),
      ).toBe(true);
      expectError(
        await call('GET', `/v1/users/${target.id}/events`, await fresh('desk@acme.test')),
        403,
        'AUTH_FORBIDDEN',
      );
    });
  });
});
