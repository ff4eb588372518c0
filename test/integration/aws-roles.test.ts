/**
 * IAM roles and the STS calls around them, driven by the AWS SDK for JavaScript v3 against a
 * listening server on SQLite and PostgreSQL: the role operations (paths, pagination, AWS's
 * wording), role sessions authorized by the role's policies capped by a session policy with the
 * caller's MFA facts carried, service-principal trust, encoded authorization messages,
 * GetAccessKeyInfo, GetCallerIdentity for every principal type, guardrails refusing with
 * AccessDenied before any NoSuchEntity, and the Debian AWS CLI assuming a role from a profile
 * with `role_arn`, `source_profile` and `mfa_serial` (the code typed at its prompt).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateVirtualMFADeviceCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  EnableMFADeviceCommand,
  GetRoleCommand,
  GetUserCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListEntitiesForPolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRoleTagsCommand,
  ListRolesCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import {
  AssumeRoleCommand,
  DecodeAuthorizationMessageCommand,
  GetAccessKeyInfoCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';
import { buildTestServer, createTestInstallation, type TestInstallation } from '../helpers/installation.js';
import { STEP_MS, totpAt } from '../helpers/mfa.js';

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The wire code and message an SDK call failed with. */
async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; message: string };
    return { name: e.name.replace(/Exception$/, ''), message: e.message };
  }
  throw new Error('expected the call to fail');
}

function trust(statement: Record<string, unknown>): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
}

function allow(actions: string[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
  });
}

const NO_AWS_CLI = withoutClients('aws');
const NO_BOTO3 = withoutClients('python3-boto3');
const BOTO3_SUITE = fileURLToPath(new URL('../fixtures/boto3/roles_suite.py', import.meta.url));

/** Runs a program, `input` on its standard input; its standard output (rejects on a non-zero exit). */
function runProgram(
  program: string,
  args: string[],
  options: { input: string; env: NodeJS.ProcessEnv },
): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: options.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) =>
      status === 0 ? resolve({ stdout: out }) : reject(new Error(`${program} exited ${status}: ${err}`)),
    );
    child.stdin.end(options.input);
  });
}

/** Runs the AWS CLI without a terminal (setsid), so its code prompt reads `input`. */
async function runCli(args: string[], options: { input: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return (await runProgram('setsid', ['-w', clientPath('aws'), ...args], options)).stdout;
}

describe.each(DATABASE_KINDS)('IAM roles and STS with the AWS SDK [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let endpoint: string;
  let accountId: string;
  let raw: Keys;
  let admin: Keys;
  let device: { serial: string; seed: string };
  const iam = (keys: Keys) =>
    new IAMClient({ region: 'eu-west-1', endpoint, credentials: keys, maxAttempts: 1 });
  const sts = (keys: Keys) =>
    new STSClient({ region: 'us-east-1', endpoint, credentials: keys, maxAttempts: 1 });
  const now = () => inst.clock.now();
  /** The device's code for a fresh time step (each code is accepted once). */
  const nextCode = () => {
    inst.clock.advance(STEP_MS);
    return totpAt(device.seed, now());
  };
  const opsArn = () => `arn:aws:iam::${accountId}:user/ops`;

  async function assume(
    keys: Keys,
    input: { roleArn: string; session: string; policy?: string },
  ): Promise<Keys> {
    const out = await sts(keys).send(
      new AssumeRoleCommand({
        RoleArn: input.roleArn,
        RoleSessionName: input.session,
        SerialNumber: device.serial,
        TokenCode: nextCode(),
        ...(input.policy === undefined ? {} : { Policy: input.policy }),
      }),
    );
    const c = out.Credentials!;
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    };
  }

  beforeAll(async () => {
    // Real time: the SDK and the CLI sign with the wall clock.
    inst = await createTestInstallation(name, { clock: new ManualClock(Date.now()) });
    const ctx = { requestId: 'setup', sourceIp: null, userAgent: 'test' };
    const { account } = await inst.app.bootstrapAccount({
      ctx,
      accountName: 'acme',
      ownerEmail: 'owner@acme.test',
    });
    accountId = account.id;
    const created = await inst.app.createAdminWithAccessKey({ ctx, accountId, username: 'ops' });
    raw = { accessKeyId: created.key.id, secretAccessKey: created.secretAccessKey };
    // Reading the account of a key and decoding refusals are permissions like any other.
    await inst.app.putUserPolicy({
      actor: { kind: 'operator' },
      ctx,
      accountId,
      userRef: created.user.id,
      name: 'sts-reads',
      document: allow(['sts:DecodeAuthorizationMessage', 'sts:GetAccessKeyInfo']),
    });
    server = await buildTestServer(inst);
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    endpoint = `http://127.0.0.1:${address.port}`;

    const made = await iam(raw).send(
      new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'ops-phone' }),
    );
    device = {
      serial: made.VirtualMFADevice!.SerialNumber!,
      seed: Buffer.from(made.VirtualMFADevice!.Base32StringSeed!).toString('ascii'),
    };
    inst.clock.advance(STEP_MS);
    await iam(raw).send(
      new EnableMFADeviceCommand({
        UserName: 'ops',
        SerialNumber: device.serial,
        AuthenticationCode1: totpAt(device.seed, now() - STEP_MS),
        AuthenticationCode2: totpAt(device.seed, now()),
      }),
    );
    const session = await sts(raw).send(
      new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: nextCode() }),
    );
    const c = session.Credentials!;
    admin = {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    };
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('creates, reads, lists (PathPrefix, Marker), updates and deletes roles with AWS wording', async () => {
    const document = trust({ Effect: 'Allow', Principal: { AWS: opsArn() }, Action: 'sts:AssumeRole' });
    const created = await iam(admin).send(
      new CreateRoleCommand({ RoleName: 'deploy', Path: '/ops/', AssumeRolePolicyDocument: document }),
    );
    expect(created.Role).toMatchObject({
      RoleName: 'deploy',
      Path: '/ops/',
      Arn: `arn:aws:iam::${accountId}:role/ops/deploy`,
      MaxSessionDuration: 3600,
    });
    expect(created.Role!.RoleId).toMatch(/^AROA[A-Z2-7]{16}$/);
    for (const other of ['audit', 'backup']) {
      await iam(admin).send(new CreateRoleCommand({ RoleName: other, AssumeRolePolicyDocument: document }));
    }
    const got = await iam(admin).send(new GetRoleCommand({ RoleName: 'DEPLOY' }));
    expect(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!)).toBe(document);

    const scoped = await iam(admin).send(new ListRolesCommand({ PathPrefix: '/ops/' }));
    expect(scoped.Roles!.map((r) => r.RoleName)).toEqual(['deploy']);
    const first = await iam(admin).send(new ListRolesCommand({ MaxItems: 2 }));
    expect(first.Roles!.map((r) => r.RoleName)).toEqual(['audit', 'backup']);
    expect(first.IsTruncated).toBe(true);
    expect(first.Roles![0]!.AssumeRolePolicyDocument).toBeUndefined();
    const rest = await iam(admin).send(new ListRolesCommand({ MaxItems: 2, Marker: first.Marker! }));
    expect(rest.Roles!.map((r) => r.RoleName)).toEqual(['deploy']);
    expect(rest.IsTruncated).toBe(false);

    await iam(admin).send(
      new UpdateRoleCommand({ RoleName: 'deploy', Description: 'deploys', MaxSessionDuration: 7200 }),
    );
    const tighter = trust({
      Effect: 'Allow',
      Principal: { AWS: opsArn() },
      Action: 'sts:AssumeRole',
      Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
    });
    await iam(admin).send(new UpdateAssumeRolePolicyCommand({ RoleName: 'deploy', PolicyDocument: tighter }));
    const updated = (await iam(admin).send(new GetRoleCommand({ RoleName: 'deploy' }))).Role!;
    expect(updated).toMatchObject({ Description: 'deploys', MaxSessionDuration: 7200 });
    expect(decodeURIComponent(updated.AssumeRolePolicyDocument!)).toBe(tighter);
    // Taking the MFA condition out of a trust policy is a policy weakened: an alert is raised.
    await iam(admin).send(
      new UpdateAssumeRolePolicyCommand({ RoleName: 'deploy', PolicyDocument: document }),
    );
    await inst.app.scanForAlerts();
    const alerts = await inst.app.listAlerts({ actor: { kind: 'operator' }, accountId });
    expect(alerts.map((a) => [a.ruleId, a.details.action, a.details.policy])).toContainEqual([
      'HF-POLICY-MFA-REMOVED',
      'role.trust_policy_update',
      'deploy',
    ]);
    await iam(admin).send(new UpdateAssumeRolePolicyCommand({ RoleName: 'deploy', PolicyDocument: tighter }));

    await iam(admin).send(
      new PutRolePolicyCommand({
        RoleName: 'deploy',
        PolicyName: 'read',
        PolicyDocument: allow(['iam:GetRole']),
      }),
    );
    const inline = await iam(admin).send(
      new GetRolePolicyCommand({ RoleName: 'deploy', PolicyName: 'read' }),
    );
    expect(decodeURIComponent(inline.PolicyDocument!)).toBe(allow(['iam:GetRole']));
    expect((await iam(admin).send(new ListRolePoliciesCommand({ RoleName: 'deploy' }))).PolicyNames).toEqual([
      'read',
    ]);
    const managed = await iam(admin).send(
      new CreatePolicyCommand({ PolicyName: 'role-reader', PolicyDocument: allow(['iam:ListRoles']) }),
    );
    const policyArn = managed.Policy!.Arn!;
    await iam(admin).send(new AttachRolePolicyCommand({ RoleName: 'deploy', PolicyArn: policyArn }));
    const attached = await iam(admin).send(new ListAttachedRolePoliciesCommand({ RoleName: 'deploy' }));
    expect(attached.AttachedPolicies).toEqual([{ PolicyName: 'role-reader', PolicyArn: policyArn }]);
    const entities = await iam(admin).send(new ListEntitiesForPolicyCommand({ PolicyArn: policyArn }));
    expect(entities.PolicyRoles).toEqual([{ RoleName: 'deploy', RoleId: created.Role!.RoleId }]);

    const inlineLeft = await errorOf(iam(admin).send(new DeleteRoleCommand({ RoleName: 'deploy' })));
    expect(inlineLeft).toEqual({
      name: 'DeleteConflict',
      message: 'Cannot delete entity, must delete policies first.',
    });
    await iam(admin).send(new DeleteRolePolicyCommand({ RoleName: 'deploy', PolicyName: 'read' }));
    const attachedLeft = await errorOf(iam(admin).send(new DeleteRoleCommand({ RoleName: 'deploy' })));
    expect(attachedLeft.name).toBe('DeleteConflict');
    await iam(admin).send(new DetachRolePolicyCommand({ RoleName: 'deploy', PolicyArn: policyArn }));
    await iam(admin).send(new DeleteRoleCommand({ RoleName: 'deploy' }));
    expect(await errorOf(iam(admin).send(new GetRoleCommand({ RoleName: 'deploy' })))).toEqual({
      name: 'NoSuchEntity',
      message: 'The role with name deploy cannot be found.',
    });
    const gone = await errorOf(
      iam(admin).send(new GetRolePolicyCommand({ RoleName: 'audit', PolicyName: 'x' })),
    );
    expect(gone).toEqual({ name: 'NoSuchEntity', message: 'The role policy with name x cannot be found.' });
  });

  it('guardrail G2: keys without MFA get AccessDenied naming it, never NoSuchEntity, and change nothing', async () => {
    for (const command of [
      new GetRoleCommand({ RoleName: 'no-such-role' }),
      new DeleteRoleCommand({ RoleName: 'audit' }),
      new PutRolePolicyCommand({ RoleName: 'audit', PolicyName: 'all', PolicyDocument: allow(['*']) }),
    ]) {
      const refused = await errorOf(iam(raw).send(command as never));
      expect(refused.name).toBe('AccessDenied');
      expect(refused.message).toContain('guardrail G2');
    }
    expect((await iam(admin).send(new ListRolePoliciesCommand({ RoleName: 'audit' }))).PolicyNames).toEqual(
      [],
    );
  });

  it('a role session acts with the role policies capped by its session policy, MFA carried', async () => {
    const roleArn = `arn:aws:iam::${accountId}:role/reader`;
    await iam(admin).send(
      new CreateRoleCommand({
        RoleName: 'reader',
        AssumeRolePolicyDocument: trust({
          Effect: 'Allow',
          Principal: { AWS: opsArn() },
          Action: 'sts:AssumeRole',
          Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
        }),
      }),
    );
    await iam(admin).send(
      new PutRolePolicyCommand({
        RoleName: 'reader',
        PolicyName: 'read',
        PolicyDocument: allow(['iam:GetRole', 'iam:ListRoles']),
      }),
    );
    // Without a code, the long-term keys carry no MFA: the trust policy refuses.
    const noMfa = await errorOf(
      sts(raw).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'no-mfa' })),
    );
    expect(noMfa.name).toBe('AccessDenied');

    const full = await assume(raw, { roleArn, session: 'full' });
    const me = await sts(full).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/reader/full`);
    expect(me.UserId).toMatch(/^AROA[A-Z2-7]{16}:full$/);
    expect(me.Account).toBe(accountId);
    // The role's policies allow it, and the session carries the MFA that G2 asks for.
    expect((await iam(full).send(new GetRoleCommand({ RoleName: 'reader' }))).Role!.RoleName).toBe('reader');
    // Not in the role's policies: refused, whatever the caller's own (admin) policies say.
    expect((await errorOf(iam(full).send(new DeleteRoleCommand({ RoleName: 'audit' })))).name).toBe(
      'AccessDenied',
    );
    // A role session is no user: it holds no factors and cannot create an MFA device.
    const ownDevice = await errorOf(
      iam(full).send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'x', Path: '/reader/full/' })),
    );
    expect(ownDevice.name).toBe('AccessDenied');

    const narrow = await assume(raw, { roleArn, session: 'narrow', policy: allow(['iam:ListRoles']) });
    expect((await iam(narrow).send(new ListRolesCommand({}))).Roles!.length).toBeGreaterThan(0);
    const capped = await errorOf(iam(narrow).send(new GetRoleCommand({ RoleName: 'reader' })));
    expect(capped.name).toBe('AccessDenied');
    // A session policy can only narrow: granting more than the role has gives nothing more.
    const wide = await assume(raw, { roleArn, session: 'wide', policy: allow(['iam:*']) });
    expect((await errorOf(iam(wide).send(new DeleteRoleCommand({ RoleName: 'audit' })))).name).toBe(
      'AccessDenied',
    );

    // Managed policies as session policies (PolicyArns), with the inline one: any of them may allow.
    const listOnly = await iam(admin).send(
      new CreatePolicyCommand({ PolicyName: 'list-roles-only', PolicyDocument: allow(['iam:ListRoles']) }),
    );
    const managedSession = await sts(raw).send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: 'managed',
        SerialNumber: device.serial,
        TokenCode: nextCode(),
        PolicyArns: [{ arn: listOnly.Policy!.Arn! }],
      }),
    );
    const managed = {
      accessKeyId: managedSession.Credentials!.AccessKeyId!,
      secretAccessKey: managedSession.Credentials!.SecretAccessKey!,
      sessionToken: managedSession.Credentials!.SessionToken!,
    };
    expect((await iam(managed).send(new ListRolesCommand({}))).Roles!.length).toBeGreaterThan(0);
    expect((await errorOf(iam(managed).send(new GetRoleCommand({ RoleName: 'reader' })))).name).toBe(
      'AccessDenied',
    );
    const unknownPolicy = await errorOf(
      sts(raw).send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: 'unknown',
          PolicyArns: [{ arn: `arn:aws:iam::${accountId}:policy/no-such-policy` }],
        }),
      ),
    );
    expect(unknownPolicy.name).toBe('NoSuchEntity');

    const malformed = await errorOf(
      sts(raw).send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'bad', Policy: '{"Statement": 3}' }),
      ),
    );
    expect(malformed.name).toBe('MalformedPolicyDocument');
  });

  it('tags and a permissions boundary: stored, returned, validated, and the boundary caps the sessions', async () => {
    const boundary = await iam(admin).send(
      new CreatePolicyCommand({ PolicyName: 'get-only', PolicyDocument: allow(['iam:GetRole']) }),
    );
    const boundaryArn = boundary.Policy!.Arn!;
    const document = trust({
      Effect: 'Allow',
      Principal: { AWS: opsArn() },
      Action: 'sts:AssumeRole',
      Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
    });
    const missing = await errorOf(
      iam(admin).send(
        new CreateRoleCommand({
          RoleName: 'bounded',
          AssumeRolePolicyDocument: document,
          PermissionsBoundary: `arn:aws:iam::${accountId}:policy/no-such-policy`,
        }),
      ),
    );
    expect(missing.name).toBe('NoSuchEntity');
    expect((await errorOf(iam(admin).send(new GetRoleCommand({ RoleName: 'bounded' })))).name).toBe(
      'NoSuchEntity',
    );
    const duplicate = await errorOf(
      iam(admin).send(
        new CreateRoleCommand({
          RoleName: 'bounded',
          AssumeRolePolicyDocument: document,
          Tags: [
            { Key: 'team', Value: 'a' },
            { Key: 'TEAM', Value: 'b' },
          ],
        }),
      ),
    );
    expect(duplicate.name).toBe('InvalidInput');

    await iam(admin).send(
      new CreateRoleCommand({
        RoleName: 'bounded',
        AssumeRolePolicyDocument: document,
        PermissionsBoundary: boundaryArn,
        Tags: [{ Key: 'team', Value: 'platform' }],
      }),
    );
    await iam(admin).send(
      new PutRolePolicyCommand({
        RoleName: 'bounded',
        PolicyName: 'read',
        PolicyDocument: allow(['iam:GetRole', 'iam:ListRoles']),
      }),
    );
    const got = (await iam(admin).send(new GetRoleCommand({ RoleName: 'bounded' }))).Role!;
    expect(got.PermissionsBoundary).toEqual({
      PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
      PermissionsBoundaryArn: boundaryArn,
    });
    expect(got.Tags).toEqual([{ Key: 'team', Value: 'platform' }]);
    await iam(admin).send(
      new TagRoleCommand({
        RoleName: 'bounded',
        Tags: [
          { Key: 'TEAM', Value: 'security' },
          { Key: 'env', Value: 'prod' },
        ],
      }),
    );
    await iam(admin).send(new UntagRoleCommand({ RoleName: 'bounded', TagKeys: ['ENV'] }));
    expect((await iam(admin).send(new ListRoleTagsCommand({ RoleName: 'bounded' }))).Tags).toEqual([
      { Key: 'TEAM', Value: 'security' },
    ]);

    const roleArn = `arn:aws:iam::${accountId}:role/bounded`;
    const capped = await assume(raw, { roleArn, session: 'capped' });
    expect((await iam(capped).send(new GetRoleCommand({ RoleName: 'bounded' }))).Role!.RoleName).toBe(
      'bounded',
    );
    expect((await errorOf(iam(capped).send(new ListRolesCommand({})))).name).toBe('AccessDenied');
    await iam(admin).send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 'bounded' }));
    expect((await iam(capped).send(new ListRolesCommand({}))).Roles!.length).toBeGreaterThan(0);
    await iam(admin).send(
      new PutRolePermissionsBoundaryCommand({ RoleName: 'bounded', PermissionsBoundary: boundaryArn }),
    );
    expect((await errorOf(iam(capped).send(new ListRolesCommand({})))).name).toBe('AccessDenied');
  });

  it('a trust policy asking for sts:ExternalId admits only the call that gives it', async () => {
    const roleArn = `arn:aws:iam::${accountId}:role/partner`;
    await iam(admin).send(
      new CreateRoleCommand({
        RoleName: 'partner',
        AssumeRolePolicyDocument: trust({
          Effect: 'Allow',
          Principal: { AWS: opsArn() },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': 'partner-7' } },
        }),
      }),
    );
    for (const externalId of [undefined, 'partner-8']) {
      const refused = await errorOf(
        sts(raw).send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: 'partner',
            ...(externalId === undefined ? {} : { ExternalId: externalId }),
          }),
        ),
      );
      expect(refused.name).toBe('AccessDenied');
    }
    const assumed = await sts(raw).send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'partner', ExternalId: 'partner-7' }),
    );
    expect(assumed.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/partner/partner`);
  });

  it('guardrail G6: a role session never acts on users, whatever its policies allow', async () => {
    await iam(admin).send(
      new CreateRoleCommand({
        RoleName: 'superuser',
        AssumeRolePolicyDocument: trust({
          Effect: 'Allow',
          Principal: { AWS: opsArn() },
          Action: 'sts:AssumeRole',
        }),
      }),
    );
    await iam(admin).send(
      new PutRolePolicyCommand({
        RoleName: 'superuser',
        PolicyName: 'all',
        PolicyDocument: allow(['iam:*']),
      }),
    );
    const session = await assume(raw, { roleArn: `arn:aws:iam::${accountId}:role/superuser`, session: 'su' });
    expect((await iam(session).send(new GetRoleCommand({ RoleName: 'superuser' }))).Role!.RoleName).toBe(
      'superuser',
    );
    const refused = await errorOf(iam(session).send(new GetUserCommand({ UserName: 'ops' })));
    expect(refused.name).toBe('AccessDenied');
    expect(refused.message).toContain('guardrail G6');
  });

  it('a trust policy naming only a service is stored and returned but never assumable', async () => {
    const document = trust({
      Effect: 'Allow',
      Principal: { Service: 'ec2.amazonaws.com' },
      Action: 'sts:AssumeRole',
    });
    await iam(admin).send(
      new CreateRoleCommand({ RoleName: 'ec2-role', AssumeRolePolicyDocument: document }),
    );
    const got = await iam(admin).send(new GetRoleCommand({ RoleName: 'ec2-role' }));
    expect(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!)).toBe(document);
    const refused = await errorOf(
      sts(raw).send(
        new AssumeRoleCommand({
          RoleArn: got.Role!.Arn!,
          RoleSessionName: 'ec2',
          SerialNumber: device.serial,
          TokenCode: nextCode(),
        }),
      ),
    );
    expect(refused.name).toBe('AccessDenied');
  });

  it('AccessDenied carries an encoded message that only a permitted caller decodes', async () => {
    const roleArn = `arn:aws:iam::${accountId}:role/reader`;
    const session = await assume(raw, { roleArn, session: 'decode' });
    const refused = await errorOf(iam(session).send(new DeleteRoleCommand({ RoleName: 'audit' })));
    const encoded = /Encoded authorization failure message: ([A-Za-z0-9_-]+)/.exec(refused.message)![1]!;
    // The role session may not read why it was refused; the permitted administrator may.
    const denied = await errorOf(
      sts(session).send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded })),
    );
    expect(denied.name).toBe('AccessDenied');
    const decoded = await sts(admin).send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded }));
    const message = JSON.parse(decoded.DecodedMessage!) as Record<string, unknown>;
    expect(message).toMatchObject({
      allowed: false,
      explicitDeny: false,
      context: {
        action: 'iam:DeleteRole',
        resource: `arn:aws:iam::${accountId}:role/audit`,
        principal: { arn: `arn:aws:sts::${accountId}:assumed-role/reader/decode` },
      },
    });
    // A guardrail's refusal names the guardrail.
    const guarded = await errorOf(iam(raw).send(new DeleteRoleCommand({ RoleName: 'audit' })));
    const guardedMessage = /Encoded authorization failure message: ([A-Za-z0-9_-]+)/.exec(
      guarded.message,
    )![1]!;
    const named = await sts(admin).send(
      new DecodeAuthorizationMessageCommand({ EncodedMessage: guardedMessage }),
    );
    expect(JSON.parse(named.DecodedMessage!)).toMatchObject({ guardrail: 'G2' });
    // An altered message is refused.
    const altered = encoded.slice(0, -4) + (encoded.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const bad = await errorOf(
      sts(admin).send(new DecodeAuthorizationMessageCommand({ EncodedMessage: altered })),
    );
    expect(bad.name).toBe('InvalidAuthorizationMessage');
  });

  it('GetAccessKeyInfo answers for the account own keys only; GetCallerIdentity for every principal type', async () => {
    const info = await sts(admin).send(new GetAccessKeyInfoCommand({ AccessKeyId: raw.accessKeyId }));
    expect(info.Account).toBe(accountId);
    const unknown = await errorOf(
      sts(admin).send(new GetAccessKeyInfoCommand({ AccessKeyId: 'AKIAZZZZZZZZZZZZZZZZ' })),
    );
    expect(unknown.name).toBe('AccessDenied');

    const user = await sts(raw).send(new GetCallerIdentityCommand({}));
    expect(user).toMatchObject({ Arn: opsArn(), Account: accountId });
    expect(user.UserId).not.toContain(':');
    const session = await sts(admin).send(new GetCallerIdentityCommand({}));
    expect(session.Arn).toBe(opsArn());
    const role = await assume(admin, { roleArn: `arn:aws:iam::${accountId}:role/reader`, session: 'who' });
    expect((await sts(role).send(new GetCallerIdentityCommand({}))).Arn).toBe(
      `arn:aws:sts::${accountId}:assumed-role/reader/who`,
    );
  });

  it.skipIf(NO_BOTO3)('boto3 drives roles, AssumeRole with MFA and the STS reads', async () => {
    const { stdout } = await runProgram(clientPath('python3-boto3'), [BOTO3_SUITE], {
      input: '',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: tmpdir(),
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
        HOLDFAST_ENDPOINT: endpoint,
        HOLDFAST_ACCOUNT: accountId,
        HOLDFAST_USER_ARN: opsArn(),
        HOLDFAST_MFA_ID: admin.accessKeyId,
        HOLDFAST_MFA_SECRET: admin.secretAccessKey,
        HOLDFAST_MFA_TOKEN: admin.sessionToken!,
        HOLDFAST_KEY_ID: raw.accessKeyId,
        HOLDFAST_KEY_SECRET: raw.secretAccessKey,
        HOLDFAST_SERIAL: device.serial,
        HOLDFAST_CODE: nextCode(),
      },
    });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      checked: [
        'roles, paths, tags, list_roles paginator',
        'role policies, DeleteConflict, NoSuchEntity',
        'assume_role with MFA, role session identity and policies',
        'decode_authorization_message, get_access_key_info',
        'delete_role',
      ],
    });
  });

  it.skipIf(NO_AWS_CLI)(
    'the AWS CLI assumes a role from a profile with role_arn, source_profile and mfa_serial',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'holdfast-awscli-role-'));
      // CLI 2.9 sends the profile's AssumeRole to the STS endpoint its endpoint rules name, not to
      // --endpoint-url: a rule set under AWS_DATA_PATH points it here (docs/aws-api.md).
      mkdirSync(join(dir, 'data', 'sts', '2011-06-15'), { recursive: true });
      writeFileSync(
        join(dir, 'data', 'sts', '2011-06-15', 'endpoint-rule-set-1.json'),
        JSON.stringify({
          version: '1.0',
          parameters: {
            Region: { builtIn: 'AWS::Region', required: false, documentation: 'region', type: 'String' },
          },
          rules: [
            { conditions: [], endpoint: { url: endpoint, properties: {}, headers: {} }, type: 'endpoint' },
          ],
        }),
      );
      writeFileSync(
        join(dir, 'config'),
        [
          '[profile source]',
          'region = us-east-1',
          '[profile oncall]',
          'region = us-east-1',
          `role_arn = arn:aws:iam::${accountId}:role/reader`,
          'source_profile = source',
          `mfa_serial = ${device.serial}`,
          'role_session_name = cli',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(dir, 'credentials'),
        `[source]\naws_access_key_id = ${raw.accessKeyId}\naws_secret_access_key = ${raw.secretAccessKey}\n`,
      );
      const code = nextCode();
      // setsid: no controlling terminal, so the CLI's code prompt reads standard input. Spawned
      // (not run synchronously): the server answering it runs in this process.
      const out = await runCli(
        ['sts', 'get-caller-identity', '--profile', 'oncall', '--endpoint-url', endpoint],
        {
          input: `${code}\n`,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: dir,
            AWS_CONFIG_FILE: join(dir, 'config'),
            AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
            AWS_DATA_PATH: join(dir, 'data'),
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_PAGER: '',
          },
        },
      );
      expect(JSON.parse(out)).toMatchObject({
        Arn: `arn:aws:sts::${accountId}:assumed-role/reader/cli`,
        Account: accountId,
      });
    },
  );
});
