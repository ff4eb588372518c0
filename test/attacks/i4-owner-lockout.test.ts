/**
 * Invariant I4 (owners): nothing an admin can do locks every owner out of the account.
 *
 * The attacker is an admin (or someone holding an admin's password and second factor: an MFA
 * session), or a help-desk agent, who wants the owners gone: an account-wide deny-all, a deny on
 * a group holding an owner, a deny managed policy attached to the owner or to its group, a change
 * to a managed policy the owner already holds, the owner moved into a denied group, the last owner
 * disabled or deleted. Each attempt is refused (GUARDRAIL_DENIED naming G6 or G7, or
 * USER_LAST_OWNER), audited, and changes nothing. Where a deny is allowed (an owner's own), the
 * owner undoes it through the break-glass path (guardrail G7) from an MFA session, still signs in
 * with password and factor, and still manages their own factors. The host operator removes an
 * account-wide policy from the CLI. Runs on SQLite and PostgreSQL.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_ACTIONS } from '../../src/app/actions.js';
import {
  BREAK_GLASS_POLICY_ACTIONS,
  BREAK_GLASS_SELF_ACTIONS,
  OWNER_ONLY_GUARDRAIL_ACTIONS,
} from '../../src/core/policy/guardrails.js';
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
  type Http,
  type HttpResponse,
} from '../helpers/mfa.js';
import { assertCliBuilt, createCliTarget } from '../helpers/processes.js';

const MINUTE = 60_000;
const doc = (statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const DENY_ALL = doc([{ Sid: 'LockOut', Effect: 'Deny', Action: '*', Resource: '*' }]);
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

it('every action the break-glass and the owner-only rule name is catalogued', () => {
  const catalog = new Set<string>(ALL_ACTIONS);
  for (const action of [
    ...BREAK_GLASS_POLICY_ACTIONS,
    ...BREAK_GLASS_SELF_ACTIONS,
    ...OWNER_ONLY_GUARDRAIL_ACTIONS,
  ]) {
    expect(catalog.has(action), action).toBe(true);
  }
});

describe.each(DATABASE_KINDS)('I4: an admin cannot lock the owners out [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let http: Http;
  let n = 0;

  const now = () => inst.clock.now();
  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
    url: string,
    token: string,
    body?: unknown,
  ): Promise<HttpResponse> =>
    method === 'PUT'
      ? server
          .inject({
            method: 'PUT',
            url,
            payload: (body ?? {}) as Record<string, unknown>,
            headers: { authorization: `Bearer ${token}` },
          })
          .then((res) => ({
            status: res.statusCode,
            headers: res.headers,
            body: res.body === '' ? null : res.json(),
          }))
      : http({ method, url, token, ...(body === undefined ? {} : { body }) });

  /**
   * A fresh account: an owner with a real TOTP factor (enrolled in the initial window, then signed
   * in with password and code), an admin and a help-desk agent each holding an MFA session.
   */
  const newAccount = async () => {
    const accountName = `lockout${++n}`;
    const ownerEmail = `owner@${accountName}.test`;
    const { accountId, userId: ownerId } = await createUserWithPassword(inst, {
      accountName,
      email: ownerEmail,
      password: PASSWORD,
    });
    const api = mfaApi(http, accountName);
    const first = await api.passwordToken(ownerEmail);
    const created = await call('POST', '/v1/factors/totp', first, { name: 'phone' });
    expectStatus(created, 201);
    const factor = { id: created.body.factor.id as string, secret: created.body.secret as string };
    expectStatus(await api.enable(first, factor.id, { code: totpAt(factor.secret, now()) }), 200);
    /** The owner signs in for real: password, then the code of the next time step. */
    const ownerSignIn = async () => {
      inst.clock.advance(STEP_MS);
      const flow = await api.startFlow(ownerEmail);
      const res = await api.secondFactor(flow, { factorId: factor.id, code: totpAt(factor.secret, now()) });
      expectStatus(res, 200);
      return res.body.token as string;
    };
    const staff = async (role: 'admin' | 'helpdesk') => {
      const email = `${role}@${accountName}.test`;
      const { userId } = await createUserWithPassword(inst, { accountName, email, password: PASSWORD, role });
      return { id: userId, token: await mfaSessionToken(inst, { accountName, login: email }) };
    };
    return {
      accountId,
      accountName,
      api,
      ownerId,
      ownerEmail,
      factor,
      ownerSignIn,
      owner: await ownerSignIn(),
      admin: await staff('admin'),
      helpdesk: await staff('helpdesk'),
    };
  };
  type Account = Awaited<ReturnType<typeof newAccount>>;

  /** The refusal's audit record: a failed security event naming the guardrail. */
  const expectAuditedDenial = async (actorId: string, guardrail: string, action: string) => {
    const records = (await inst.store.audit.scan(0, 1_000_000)).filter(
      (r) => r.actorId === actorId && r.action === 'authz.denied' && r.details.action === action,
    );
    expect(records.length, `${action} audited`).toBeGreaterThan(0);
    expect(records.at(-1)).toMatchObject({
      outcome: 'failure',
      errorCode: 'GUARDRAIL_DENIED',
      details: { guardrail, security: true },
    });
  };
  const expectGuardrail = (res: HttpResponse, guardrail: string) => {
    expectError(res, 403, 'GUARDRAIL_DENIED');
    expect(res.body.error.guardrail).toBe(guardrail);
  };
  /** The owner still signs in with password and factor, lists and manages their own factors. */
  const expectOwnerStillInCharge = async (a: Account) => {
    const token = await a.ownerSignIn();
    const factors = await call('GET', '/v1/factors', token);
    expectStatus(factors, 200);
    expect(factors.body.factors.map((f: { id: string }) => f.id)).toContain(a.factor.id);
    expectStatus(await call('GET', '/v1/account/policies', token), 200);
    expectStatus(await call('GET', '/v1/users', token), 200);
    return token;
  };

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    server = await buildTestServer(inst);
    http = injectHttp(server);
  });
  afterAll(async () => {
    await server.close();
    await inst.destroy();
  });

  it('an admin cannot put or delete an account-wide policy, even with a policy that allows it', async () => {
    const a = await newAccount();
    // The admin's own inline policy (put by the owner) explicitly allows account-wide policies.
    expectStatus(
      await call('PUT', `/v1/users/${a.admin.id}/policies/AccountPolicies`, a.owner, {
        document: doc([
          {
            Effect: 'Allow',
            Action: ['holdfast:PutAccountPolicy', 'holdfast:DeleteAccountPolicy'],
            Resource: '*',
          },
        ]),
      }),
      200,
    );
    const put = await call('PUT', '/v1/account/policies/LockOut', a.admin.token, { document: DENY_ALL });
    expectGuardrail(put, 'G7');
    await expectAuditedDenial(a.admin.id, 'G7', 'holdfast:PutAccountPolicy');
    expect(await inst.store.policies.list({ accountId: a.accountId, scope: 'account' })).toEqual([]);

    // An owner's account-wide policy is not the admin's to remove either.
    const owners = doc([{ Effect: 'Allow', Action: '*', Resource: '*' }]);
    expectStatus(await call('PUT', '/v1/account/policies/Baseline', a.owner, { document: owners }), 200);
    expectGuardrail(await call('DELETE', '/v1/account/policies/Baseline', a.admin.token), 'G7');
    await expectAuditedDenial(a.admin.id, 'G7', 'holdfast:DeleteAccountPolicy');
    expect(
      (await inst.store.policies.list({ accountId: a.accountId, scope: 'account' })).map((p) => p.name),
    ).toEqual(['Baseline']);
    // The help desk neither.
    expectGuardrail(
      await call('PUT', '/v1/account/policies/LockOut', a.helpdesk.token, { document: DENY_ALL }),
      'G7',
    );
    await expectOwnerStillInCharge(a);
  });

  it('an admin cannot put, attach, detach or delete a policy on a group that holds an owner (G6)', async () => {
    const a = await newAccount();
    expectStatus(await call('POST', '/v1/groups', a.owner, { name: 'ops' }), 201);
    expectStatus(await call('PUT', `/v1/groups/ops/members/${a.ownerId}`, a.owner), 204);
    expectStatus(await call('PUT', `/v1/groups/ops/members/${a.admin.id}`, a.owner), 204);
    expectStatus(
      await call('POST', '/v1/policies', a.admin.token, { name: 'LockOut', document: DENY_ALL }),
      201,
    );
    const lockOutArn = `arn:aws:iam::${a.accountId}:policy/LockOut`;

    expectGuardrail(
      await call('PUT', '/v1/groups/ops/policies/LockOut', a.admin.token, { document: DENY_ALL }),
      'G6',
    );
    await expectAuditedDenial(a.admin.id, 'G6', 'iam:PutGroupPolicy');
    expectGuardrail(
      await call('POST', '/v1/groups/ops/attached-policies', a.admin.token, { policyArn: lockOutArn }),
      'G6',
    );
    await expectAuditedDenial(a.admin.id, 'G6', 'iam:AttachGroupPolicy');
    // Attaching the deny to the owner directly, or writing one inline on the owner: G6 as before.
    expectGuardrail(
      await call('POST', `/v1/users/${a.ownerId}/attached-policies`, a.admin.token, {
        policyArn: lockOutArn,
      }),
      'G6',
    );
    expectGuardrail(
      await call('PUT', `/v1/users/${a.ownerId}/policies/LockOut`, a.admin.token, { document: DENY_ALL }),
      'G6',
    );

    // What the owner put on the group is not the admin's to take away or to edit either.
    const readers = doc([{ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }]);
    expectStatus(await call('PUT', '/v1/groups/ops/policies/Readers', a.owner, { document: readers }), 200);
    expectStatus(await call('POST', '/v1/policies', a.owner, { name: 'Readers', document: readers }), 201);
    const readersArn = `arn:aws:iam::${a.accountId}:policy/Readers`;
    expectStatus(
      await call('POST', '/v1/groups/ops/attached-policies', a.owner, { policyArn: readersArn }),
      204,
    );
    expectGuardrail(await call('DELETE', '/v1/groups/ops/policies/Readers', a.admin.token), 'G6');
    expectGuardrail(await call('DELETE', '/v1/groups/ops/attached-policies/Readers', a.admin.token), 'G6');
    await expectAuditedDenial(a.admin.id, 'G6', 'iam:DetachGroupPolicy');
    // A managed policy is never edited in place: an attached one cannot be replaced or deleted.
    expectError(
      await call('POST', '/v1/policies', a.admin.token, { name: 'Readers', document: DENY_ALL }),
      409,
      'POLICY_ALREADY_EXISTS',
    );
    expectError(await call('DELETE', '/v1/policies/Readers', a.admin.token), 409, 'POLICY_IN_USE');

    // Nothing changed: the group holds exactly what the owner gave it.
    const groupPolicies = await call('GET', '/v1/groups/ops/policies', a.owner);
    expectStatus(groupPolicies, 200);
    expect(groupPolicies.body.policies.map((p: { name: string }) => p.name)).toEqual(['Readers']);
    const attached = await call('GET', '/v1/groups/ops/attached-policies', a.owner);
    expect(attached.body.policies.map((p: { name: string }) => p.name)).toEqual(['Readers']);
    const read = await call('GET', '/v1/groups/ops/policies/Readers', a.owner);
    expectStatus(read, 200);
    expect(JSON.parse(read.body.document)).toEqual(JSON.parse(readers));

    // The rule is about who is reached, not about groups: a group of admins and users is the admin's.
    expectStatus(await call('POST', '/v1/groups', a.admin.token, { name: 'staff' }), 201);
    expectStatus(await call('PUT', `/v1/groups/staff/members/${a.helpdesk.id}`, a.admin.token), 204);
    expectStatus(
      await call('PUT', '/v1/groups/staff/policies/NoKeys', a.admin.token, {
        document: doc([{ Effect: 'Deny', Action: 'iam:CreateAccessKey', Resource: '*' }]),
      }),
      200,
    );
    // ...but the help desk may not touch a group that holds an admin.
    expectGuardrail(
      await call('PUT', '/v1/groups/ops/policies/LockOut', a.helpdesk.token, { document: DENY_ALL }),
      'G6',
    );
    await expectOwnerStillInCharge(a);
  });

  it('an admin cannot move the owner into a denied group', async () => {
    const a = await newAccount();
    expectStatus(await call('POST', '/v1/groups', a.admin.token, { name: 'trap' }), 201);
    expectStatus(
      await call('PUT', '/v1/groups/trap/policies/LockOut', a.admin.token, { document: DENY_ALL }),
      200,
    );
    expectGuardrail(await call('PUT', `/v1/groups/trap/members/${a.ownerId}`, a.admin.token), 'G6');
    await expectAuditedDenial(a.admin.id, 'G6', 'iam:AddUserToGroup');
    const groups = await call('GET', '/v1/groups', a.owner);
    expect(groups.body.groups).toEqual([{ name: 'trap', members: [] }]);
    // The help desk may not move an admin into one either.
    expectGuardrail(await call('PUT', `/v1/groups/trap/members/${a.admin.id}`, a.helpdesk.token), 'G6');
    await expectOwnerStillInCharge(a);
  });

  it('nobody disables or deletes the last owner who can sign in', async () => {
    const a = await newAccount();
    expectGuardrail(await call('POST', `/v1/users/${a.ownerId}/disable`, a.admin.token), 'G6');
    await expectAuditedDenial(a.admin.id, 'G6', 'holdfast:DisableUser');
    // The owner, alone, cannot disable themselves.
    expectError(await call('POST', `/v1/users/${a.ownerId}/disable`, a.owner), 409, 'USER_LAST_OWNER');
    // A second owner who never set a password cannot sign in: it does not count.
    const second = await inst.app.createUser({
      actor: { kind: 'operator' },
      ctx,
      accountId: a.accountId,
      email: `second@${a.accountName}.test`,
      role: 'owner',
    });
    expectError(await call('POST', `/v1/users/${a.ownerId}/disable`, a.owner), 409, 'USER_LAST_OWNER');
    expect((await inst.store.principals.findById(a.accountId, a.ownerId))?.status).toBe('active');

    // Once the second owner has a password, the first may leave.
    await inst.app.completeSetup({ ctx, token: second.setup.token, password: PASSWORD });
    expectStatus(await call('POST', `/v1/users/${second.user.id}/disable`, a.owner), 200);
    expectError(await call('POST', `/v1/users/${a.ownerId}/disable`, a.owner), 409, 'USER_LAST_OWNER');
    await expectOwnerStillInCharge(a);
  });

  it("an owner's own deny-all cannot lock the owners out: the break-glass undoes it, MFA still required", async () => {
    const a = await newAccount();
    // An owner (mistaken, or with a stolen owner session) shuts the account with every kind of deny.
    expectStatus(await call('PUT', '/v1/account/policies/LockOut', a.owner, { document: DENY_ALL }), 200);
    expect((await call('GET', '/v1/users', a.owner)).status).toBe(403);

    // Policy management and the owner's own security stay open to an owner's MFA session...
    let owner = await a.ownerSignIn();
    const listed = await call('GET', '/v1/account/policies', owner);
    expectStatus(listed, 200);
    expect(listed.body.policies.map((p: { name: string }) => p.name)).toEqual(['LockOut']);
    expectStatus(await call('GET', '/v1/factors', owner), 200);
    const spare = await call('POST', '/v1/factors/totp', owner, { name: 'spare' });
    expectStatus(spare, 201);
    inst.clock.advance(STEP_MS);
    expectStatus(
      await a.api.enable(owner, spare.body.factor.id, { code: totpAt(spare.body.secret, now()) }),
      200,
    );
    expectStatus(await call('GET', '/v1/sessions', owner), 200);
    expectStatus(await call('GET', '/v1/recovery-codes', owner), 200);

    // ...but the break-glass never skips MFA: G1 still asks for a fresh factor to remove one...
    inst.clock.advance(20 * MINUTE);
    const stale = await call('DELETE', `/v1/factors/${spare.body.factor.id}`, owner);
    expectError(stale, 403, 'MFA_STEP_UP_REQUIRED');
    expect(stale.body.error.guardrail).toBe('G1');
    inst.clock.advance(STEP_MS);
    expectStatus(
      await call('POST', '/v1/session/step-up', owner, {
        factorId: a.factor.id,
        code: totpAt(a.factor.secret, now()),
      }),
      200,
    );
    expectStatus(await call('DELETE', `/v1/factors/${spare.body.factor.id}`, owner), 204);

    // ...and a session without a second factor gets a step-up answer, not the break-glass.
    const noMfa = await passwordOnlySession(a);
    const g2 = await call('DELETE', '/v1/account/policies/LockOut', noMfa);
    expectError(g2, 403, 'MFA_STEP_UP_REQUIRED');
    expect(g2.body.error.guardrail).toBe('G2');
    const g7 = await call('GET', '/v1/factors', noMfa);
    expectError(g7, 403, 'MFA_STEP_UP_REQUIRED');
    expect(g7.body.error.guardrail).toBe('G7');
    expect(await inst.store.policies.list({ accountId: a.accountId, scope: 'account' })).toHaveLength(1);

    // The owner lifts the deny, and the account is back.
    owner = await a.ownerSignIn();
    expectStatus(await call('DELETE', '/v1/account/policies/LockOut', owner), 204);
    await expectOwnerStillInCharge(a);
  });

  it('an owner undoes a group deny, a managed deny and an inline deny on themselves through the break-glass', async () => {
    const a = await newAccount();
    // A second owner (rogue, or mistaken) denies the first everything, four ways at once.
    const email = `rogue@${a.accountName}.test`;
    await createUserWithPassword(inst, {
      accountName: a.accountName,
      email,
      password: PASSWORD,
      role: 'owner',
    });
    const rogue = await mfaSessionToken(inst, { accountName: a.accountName, login: email });
    expectStatus(await call('POST', '/v1/groups', rogue, { name: 'locked' }), 201);
    expectStatus(await call('PUT', '/v1/groups/locked/policies/LockOut', rogue, { document: DENY_ALL }), 200);
    expectStatus(await call('POST', '/v1/policies', rogue, { name: 'LockOut', document: DENY_ALL }), 201);
    const arn = `arn:aws:iam::${a.accountId}:policy/LockOut`;
    expectStatus(await call('POST', '/v1/groups/locked/attached-policies', rogue, { policyArn: arn }), 204);
    expectStatus(
      await call('POST', `/v1/users/${a.ownerId}/attached-policies`, rogue, { policyArn: arn }),
      204,
    );
    expectStatus(
      await call('PUT', `/v1/users/${a.ownerId}/policies/LockOut`, rogue, { document: DENY_ALL }),
      200,
    );
    expectStatus(await call('PUT', `/v1/groups/locked/members/${a.ownerId}`, rogue), 204);
    expect((await call('GET', '/v1/users', a.owner)).status).toBe(403);

    const owner = await a.ownerSignIn();
    expectStatus(await call('GET', '/v1/groups', owner), 200);
    const inline = await call('GET', '/v1/groups/locked/policies', owner);
    expectStatus(inline, 200);
    expect(JSON.stringify(inline.body)).toContain('LockOut');
    const readInline = await call('GET', '/v1/groups/locked/policies/LockOut', owner);
    expectStatus(readInline, 200);
    expect(JSON.stringify(readInline.body)).toContain('Deny');
    expectError(await call('GET', '/v1/groups/locked/policies/NoSuchPolicy', owner), 404, 'POLICY_NOT_FOUND');
    const attached = await call('GET', '/v1/groups/locked/attached-policies', owner);
    expectStatus(attached, 200);
    expect(JSON.stringify(attached.body)).toContain(arn);
    expectStatus(await call('GET', `/v1/users/${a.ownerId}/policies`, owner), 200);
    expectStatus(await call('GET', `/v1/users/${a.ownerId}/attached-policies`, owner), 200);
    expectStatus(await call('GET', '/v1/policies/LockOut', owner), 200);
    expectStatus(await call('DELETE', '/v1/groups/locked/policies/LockOut', owner), 204);
    expectStatus(await call('DELETE', '/v1/groups/locked/attached-policies/LockOut', owner), 204);
    expectStatus(await call('DELETE', `/v1/users/${a.ownerId}/attached-policies/LockOut`, owner), 204);
    expectStatus(await call('DELETE', `/v1/users/${a.ownerId}/policies/LockOut`, owner), 204);
    expectStatus(await call('DELETE', '/v1/policies/LockOut', owner), 204);
    expectStatus(await call('DELETE', `/v1/groups/locked/members/${a.ownerId}`, owner), 204);
    await expectOwnerStillInCharge(a);
  });

  /** A session of the owner that passed the password but no second factor (e.g. an old one). */
  async function passwordOnlySession(a: Account): Promise<string> {
    const { createSession } = await import('../../src/app/auth.js');
    const principal = await inst.store.principals.findById(a.accountId, a.ownerId);
    const issued = await inst.store.transaction((tx) =>
      createSession(inst.app.deps, tx, {
        principal: principal!,
        channel: 'bearer',
        ctx: { requestId: 'test', sourceIp: '127.0.0.1', userAgent: 'test' },
        auth: { methods: ['pwd'], factor: null },
      }),
    );
    return issued.token;
  }
});

describe.each(DATABASE_KINDS)('I4: the host operator removes an account-wide policy [$name]', ({ name }) => {
  it('policy account list shows it and policy account delete removes it, audited as the operator', async () => {
    assertCliBuilt();
    const target = await createCliTarget(name);
    try {
      const inst = await target.open();
      let policyId: string;
      try {
        const boot = await inst.app.bootstrapAccount({
          accountName: 'shut',
          ownerEmail: 'owner@shut.test',
          ctx,
        });
        await inst.app.completeSetup({ ctx, token: boot.setup.token, password: PASSWORD });
        const saved = await inst.app.putAccountPolicy({
          actor: { kind: 'operator' },
          ctx,
          accountId: boot.account.id,
          name: 'LockOut',
          document: DENY_ALL,
        });
        policyId = saved.policy.id;
        await inst.app.putAccountPolicy({
          actor: { kind: 'operator' },
          ctx,
          accountId: boot.account.id,
          name: 'Other',
          document: doc([{ Effect: 'Allow', Action: '*', Resource: '*' }]),
        });
      } finally {
        await inst.close();
      }

      const listed = await target.cli(['policy', 'account', 'list', '--account', 'shut', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      const rows = listed.json<{ policies: Array<{ id: string; name: string; document: string }> }>()
        .policies;
      expect(rows.map((r) => r.name).sort()).toEqual(['LockOut', 'Other']);
      expect(rows.find((r) => r.name === 'LockOut')?.id).toBe(policyId);
      const text = await target.cli(['policy', 'account', 'list', '--account', 'shut']);
      expect(text.stdout).toContain('LockOut');

      // By id, then by name; an unknown one is a clear error that changes nothing.
      expect(
        (await target.cli(['policy', 'account', 'delete', '--account', 'shut', '--policy', policyId])).code,
      ).toBe(0);
      const missing = await target.cli([
        'policy',
        'account',
        'delete',
        '--account',
        'shut',
        '--policy',
        'Nope',
      ]);
      expect(missing.code).not.toBe(0);
      expect(missing.errorCode).toBe('POLICY_NOT_FOUND');
      expect(
        (await target.cli(['policy', 'account', 'delete', '--account', 'shut', '--policy', 'Other'])).code,
      ).toBe(0);

      const after = await target.open();
      try {
        const account = await after.store.accounts.findByName('shut');
        expect(await after.store.policies.list({ accountId: account!.id, scope: 'account' })).toEqual([]);
        const deletions = (await after.store.audit.scan(0, 100_000)).filter(
          (r) => r.action === 'policy.delete',
        );
        expect(deletions.map((r) => [r.actorType, r.outcome, r.details.name])).toEqual([
          ['operator', 'success', 'LockOut'],
          ['operator', 'success', 'Other'],
        ]);
      } finally {
        await after.close();
      }
    } finally {
      await target.cleanup();
    }
  });
});
