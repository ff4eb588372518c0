/**
 * The AWS-compatible IAM/STS Query API driven by real clients against a real `holdfast serve`:
 * the AWS SDK for JavaScript v3 (@aws-sdk/client-iam, @aws-sdk/client-sts), the Debian AWS CLI,
 * and TOTP codes from /usr/bin/oathtool. The administrator comes from
 * `holdfast bootstrap --admin NAME --access-key --json`, run while the server runs.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  DeactivateMFADeviceCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DeleteVirtualMFADeviceCommand,
  DetachUserPolicyCommand,
  EnableMFADeviceCommand,
  GetAccountSummaryCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListMFADevicesCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  ListVirtualMFADevicesCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase32 } from '../../src/core/factors/otp/base32.js';
import { AWS_OPERATIONS } from '../../src/http/aws/router.js';
import { connectDatabase } from '../../src/storage/connect.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  assertCliBuilt,
  createCliTarget,
  killAllChildren,
  startServe,
  type CliTarget,
  type ServeProcess,
} from '../helpers/processes.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const STEP = 30_000;
/**
 * Codes come from oathtool throughout; one test drives the Debian AWS CLI, one imports a
 * python3-pskc file. Skipped where they are missing (named by `npm test`), never in CI.
 */
const clientSuite = describe.skipIf(withoutClients('oathtool'));
const NO_AWS_CLI = withoutClients('aws');
const NO_PSKC = withoutClients('python3-pskc');
const OATHTOOL = clientPath('oathtool');
const AWS_CLI = clientPath('aws');

/** The code oathtool shows for a Base32 seed at RFC 6238 time step `step`. */
function oathtool(seed: string, step: number): string {
  const at = new Date(step * STEP + 1000).toISOString().replace('T', ' ').replace(/\..*/, ' UTC');
  return execFileSync(OATHTOOL, ['--totp', '--base32', '-N', at, seed], { encoding: 'utf8' }).trim();
}

function currentStep(): number {
  return Math.floor(Date.now() / STEP);
}

/**
 * The step whose code and the one before enable a device, a few seconds clear of the next step:
 * codes verified in a later step than they were read would teach the server a clock drift, and
 * the next code (step + 1) would then fall outside its window.
 */
async function enablingStep(): Promise<number> {
  const left = STEP - (Date.now() % STEP);
  if (left < 8000) await new Promise((resolve) => setTimeout(resolve, left + 250));
  return currentStep();
}

/** The wire code, message and HTTP status an SDK call failed with. */
async function errorOf(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    // The SDK names modelled errors by class (`NoSuchEntityException`), chosen by the wire code
    // (`NoSuchEntity`): stripping the suffix gives the wire code back.
    return {
      name: e.name.replace(/Exception$/, ''),
      message: e.message,
      status: e.$metadata?.httpStatusCode,
    };
  }
  throw new Error('expected the call to fail');
}

/** Runs the Debian AWS CLI (v2.9: only `--endpoint-url` points it at us) with the given keys. */
function awsCli(endpoint: string, keys: Keys, args: string[]): string {
  return execFileSync(AWS_CLI, ['--endpoint-url', endpoint, '--output', 'json', ...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmpdir(),
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
      ...(keys.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: keys.sessionToken }),
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_DEFAULT_REGION: 'eu-central-1',
      AWS_PAGER: '',
    },
  });
}

type AuditRow = { action: string; outcome: string; error_code: string | null; details: string };

/** Every audit record, in order (read straight from the database). */
async function auditRows(target: CliTarget): Promise<AuditRow[]> {
  const db = await connectDatabase(target.fresh.url);
  try {
    const { rows } = await sql<AuditRow>`
      select action, outcome, error_code, details from audit_log order by seq`.execute(db.kysely);
    return rows;
  } finally {
    await db.close();
  }
}

/** The hash constructor @smithy/signature-v4 takes (SHA-256, or HMAC-SHA256 with a secret). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

clientSuite.each(DATABASE_KINDS)('AWS IAM/STS Query API with real clients [$name]', ({ name }) => {
  let target: CliTarget;
  let serve: ServeProcess;
  let boot: {
    accountId: string;
    endpoint: string;
    admin: { userName: string; arn: string; accessKeyId: string; secretAccessKey: string };
  };
  const iam = (keys: Keys) =>
    new IAMClient({ region: 'eu-west-1', endpoint: serve.url, credentials: keys, maxAttempts: 1 });
  const sts = (keys: Keys) =>
    new STSClient({ region: 'us-east-1', endpoint: serve.url, credentials: keys, maxAttempts: 1 });
  let raw: Keys;

  /** Creates a virtual device with `keys` and enables it for `userName` with two consecutive codes. */
  async function enrolDevice(
    keys: Keys,
    userName: string,
    name: string,
  ): Promise<{ serial: string; seed: string }> {
    const created = await iam(keys).send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: name }));
    const serial = created.VirtualMFADevice!.SerialNumber!;
    const seed = Buffer.from(created.VirtualMFADevice!.Base32StringSeed!).toString('ascii');
    const t = await enablingStep();
    await iam(keys).send(
      new EnableMFADeviceCommand({
        UserName: userName,
        SerialNumber: serial,
        AuthenticationCode1: oathtool(seed, t - 1),
        AuthenticationCode2: oathtool(seed, t),
      }),
    );
    return { serial, seed };
  }

  /** An MFA session from GetSessionToken with the device's next unused code. */
  async function mfaSession(
    keys: Keys,
    device: { serial: string; seed: string },
  ): Promise<Keys & { code: string }> {
    const code = oathtool(device.seed, currentStep() + 1);
    const out = await sts(keys).send(
      new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: code }),
    );
    const c = out.Credentials!;
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
      code,
    };
  }

  beforeAll(async () => {
    assertCliBuilt();
    target = await createCliTarget(name, { envKey: true });
    const migrated = await target.cli(['migrate', '--json']);
    expect(migrated.code, migrated.stderr).toBe(0);
    serve = await startServe(target.dbArgs, { env: target.env });
    // Bootstrapped while the server runs: the new keys must work at once.
    const result = await target.cli([
      'bootstrap',
      '--account',
      'acme',
      '--owner-email',
      'owner@acme.test',
      '--admin',
      'ops',
      '--access-key',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    boot = result.json();
    raw = { accessKeyId: boot.admin.accessKeyId, secretAccessKey: boot.admin.secretAccessKey };
  }, 60_000);

  afterAll(async () => {
    await serve?.stop();
    await killAllChildren();
    await target?.cleanup();
  });

  it('bootstrap prints the account, the endpoint and a working access key', async () => {
    expect(boot.accountId).toMatch(/^[0-9]{12}$/);
    expect(boot.endpoint).toMatch(/^https?:\/\//);
    expect(boot.admin.userName).toBe('ops');
    expect(boot.admin.arn).toBe(`arn:aws:iam::${boot.accountId}:user/ops`);
    expect(boot.admin.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(boot.admin.secretAccessKey).toHaveLength(40);
    const me = await sts(raw).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(boot.admin.arn);
    expect(me.Account).toBe(boot.accountId);
  });

  it('maps every dispatched AWS operation to exactly one catalogued action', async () => {
    const { ALL_ACTIONS } = await import('../../src/app/actions.js');
    const catalog = new Set<string>(ALL_ACTIONS);
    for (const [service, operations] of Object.entries(AWS_OPERATIONS)) {
      for (const [name, op] of Object.entries(operations)) {
        expect(catalog.has(op.action), `${service}:${name}`).toBe(true);
        expect(op.action.split(':')[1], `${service}:${name}`).toBe(name);
      }
    }
  });

  it('runs the whole lifecycle: enrol, MFA session, administration, device swap, deactivate, delete', async () => {
    // Long-term keys without MFA: identity administration is refused by guardrail G2.
    const refused = await errorOf(iam(raw).send(new ListUsersCommand({})));
    expect(refused.name).toBe('AccessDenied');
    expect(refused.message).toContain(`User: ${boot.admin.arn} is not authorized to perform: iam:ListUsers`);
    expect(refused.message).toContain('guardrail G2');

    // The first device, enrolled with the keys alone inside the initial enrolment window.
    const phone1 = await enrolDevice(raw, 'ops', 'ops-phone-1');
    expect(phone1.serial).toBe(`arn:aws:iam::${boot.accountId}:mfa/ops-phone-1`);
    expect(phone1.seed).toMatch(/^[A-Z2-7]+=*$/);

    const session = await mfaSession(raw, phone1);
    expect(session.accessKeyId).toMatch(/^ASIA/);
    // The same code again is a replay.
    const replay = await errorOf(
      sts(raw).send(new GetSessionTokenCommand({ SerialNumber: phone1.serial, TokenCode: session.code })),
    );
    expect(replay.name).toBe('AccessDenied');
    expect(replay.message).toBe('MultiFactorAuthentication failed with invalid MFA one time pass code.');
    const foreign = await errorOf(
      sts(raw).send(
        new GetSessionTokenCommand({
          SerialNumber: `arn:aws:iam::${boot.accountId}:mfa/nobody-has-this`,
          TokenCode: '123456',
        }),
      ),
    );
    expect(foreign.name).toBe('AccessDenied');
    expect(foreign.message).toContain('unable to validate MFA code');

    // Identity administration from the MFA session.
    const admin = iam(session);
    const users = await admin.send(new ListUsersCommand({}));
    expect(users.Users!.map((u) => u.UserName)).toContain('ops');
    const created = await admin.send(new CreateUserCommand({ UserName: 'alice' }));
    expect(created.User!.Arn).toBe(`arn:aws:iam::${boot.accountId}:user/alice`);
    expect((await errorOf(admin.send(new CreateUserCommand({ UserName: 'alice' })))).name).toBe(
      'EntityAlreadyExists',
    );
    expect((await admin.send(new GetUserCommand({ UserName: 'alice' }))).User!.UserId).toBe(
      created.User!.UserId,
    );
    expect((await admin.send(new GetUserCommand({}))).User!.UserName).toBe('ops');
    expect((await errorOf(admin.send(new GetUserCommand({ UserName: 'nobody' })))).name).toBe('NoSuchEntity');

    const document = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'iam:GetUser',
          Resource: '*',
          Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
        },
      ],
    });
    expect(
      (
        await errorOf(
          admin.send(
            new PutUserPolicyCommand({
              UserName: 'alice',
              PolicyName: 'bad',
              PolicyDocument: '{"Statement": 3',
            }),
          ),
        )
      ).name,
    ).toBe('MalformedPolicyDocument');
    await admin.send(
      new PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'read-self', PolicyDocument: document }),
    );
    const got = await admin.send(new GetUserPolicyCommand({ UserName: 'alice', PolicyName: 'read-self' }));
    expect(JSON.parse(decodeURIComponent(got.PolicyDocument!))).toEqual(JSON.parse(document));
    expect((await admin.send(new ListUserPoliciesCommand({ UserName: 'alice' }))).PolicyNames).toEqual([
      'read-self',
    ]);
    const policy = await admin.send(
      new CreatePolicyCommand({ PolicyName: 'readers', PolicyDocument: document }),
    );
    await admin.send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: policy.Policy!.Arn! }));
    expect(
      (await admin.send(new ListAttachedUserPoliciesCommand({ UserName: 'alice' }))).AttachedPolicies!.map(
        (p) => p.PolicyArn,
      ),
    ).toEqual([policy.Policy!.Arn]);

    const k1 = await admin.send(new CreateAccessKeyCommand({ UserName: 'alice' }));
    const k2 = await admin.send(new CreateAccessKeyCommand({ UserName: 'alice' }));
    expect((await errorOf(admin.send(new CreateAccessKeyCommand({ UserName: 'alice' })))).name).toBe(
      'LimitExceeded',
    );
    const listed = await admin.send(new ListAccessKeysCommand({ UserName: 'alice', MaxItems: 1 }));
    expect(listed.AccessKeyMetadata).toHaveLength(1);
    expect(listed.IsTruncated).toBe(true);
    const rest = await admin.send(new ListAccessKeysCommand({ UserName: 'alice', Marker: listed.Marker }));
    expect(rest.IsTruncated).toBe(false);
    expect(
      [...listed.AccessKeyMetadata!, ...rest.AccessKeyMetadata!].map((k) => k.AccessKeyId).sort(),
    ).toEqual([k1.AccessKey!.AccessKeyId, k2.AccessKey!.AccessKeyId].sort());
    // A new key works at once; deactivated, it is refused.
    const aliceKeys = {
      accessKeyId: k1.AccessKey!.AccessKeyId!,
      secretAccessKey: k1.AccessKey!.SecretAccessKey!,
    };
    expect((await sts(aliceKeys).send(new GetCallerIdentityCommand({}))).Arn).toBe(created.User!.Arn);
    await admin.send(
      new UpdateAccessKeyCommand({
        UserName: 'alice',
        AccessKeyId: aliceKeys.accessKeyId,
        Status: 'Inactive',
      }),
    );
    expect((await errorOf(sts(aliceKeys).send(new GetCallerIdentityCommand({})))).name).toBe(
      'InvalidClientTokenId',
    );

    expect((await errorOf(admin.send(new DeleteUserCommand({ UserName: 'alice' })))).name).toBe(
      'DeleteConflict',
    );
    await admin.send(
      new DeleteAccessKeyCommand({ UserName: 'alice', AccessKeyId: k1.AccessKey!.AccessKeyId }),
    );
    await admin.send(
      new DeleteAccessKeyCommand({ UserName: 'alice', AccessKeyId: k2.AccessKey!.AccessKeyId }),
    );
    expect(
      (
        await errorOf(
          admin.send(
            new DeleteAccessKeyCommand({ UserName: 'alice', AccessKeyId: k2.AccessKey!.AccessKeyId }),
          ),
        )
      ).name,
    ).toBe('NoSuchEntity');
    await admin.send(new DeleteUserPolicyCommand({ UserName: 'alice', PolicyName: 'read-self' }));
    await admin.send(new DetachUserPolicyCommand({ UserName: 'alice', PolicyArn: policy.Policy!.Arn }));
    await admin.send(new DeleteUserCommand({ UserName: 'alice' }));
    expect((await errorOf(admin.send(new GetUserCommand({ UserName: 'alice' })))).name).toBe('NoSuchEntity');

    const role = await admin.send(
      new CreateRoleCommand({
        RoleName: 'breakglass',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: boot.admin.arn },
              Action: 'sts:AssumeRole',
              Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
            },
          ],
        }),
      }),
    );
    expect(role.Role!.RoleId).toMatch(/^AROA/);
    const summary = await admin.send(new GetAccountSummaryCommand({}));
    expect(summary.SummaryMap!.Users).toBe(2);
    expect(summary.SummaryMap!.Roles).toBe(1);

    // AssumeRole: the raw keys carry no MFA, the MFA session's MFA carries into the role session.
    const noMfa = await errorOf(
      sts(raw).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: 'try' })),
    );
    expect(noMfa.name).toBe('AccessDenied');
    const assumed = await sts(session).send(
      new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: 'incident-42' }),
    );
    expect(assumed.AssumedRoleUser!.Arn).toBe(
      `arn:aws:sts::${boot.accountId}:assumed-role/breakglass/incident-42`,
    );
    const roleKeys = {
      accessKeyId: assumed.Credentials!.AccessKeyId!,
      secretAccessKey: assumed.Credentials!.SecretAccessKey!,
      sessionToken: assumed.Credentials!.SessionToken!,
    };
    expect((await sts(roleKeys).send(new GetCallerIdentityCommand({}))).Arn).toBe(
      assumed.AssumedRoleUser!.Arn,
    );
    expect((await errorOf(sts(roleKeys).send(new GetSessionTokenCommand({})))).name).toBe('AccessDenied');

    // A plain user's long-term keys: self-service on devices named after itself, nothing else.
    await admin.send(new CreateUserCommand({ UserName: 'carol' }));
    const carolKey = (await admin.send(new CreateAccessKeyCommand({ UserName: 'carol' }))).AccessKey!;
    const carol = { accessKeyId: carolKey.AccessKeyId!, secretAccessKey: carolKey.SecretAccessKey! };
    const squat = await errorOf(
      iam(carol).send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'ops' })),
    );
    expect(squat.name).toBe('AccessDenied');
    expect(squat.message).toContain('no identity-based policy allows the iam:CreateVirtualMFADevice action');
    const carolDevice = await enrolDevice(carol, 'carol', 'carol');
    expect(carolDevice.serial).toBe(`arn:aws:iam::${boot.accountId}:mfa/carol`);
    const carolSession = await mfaSession(carol, carolDevice);
    expect((await iam(carolSession).send(new GetUserCommand({}))).User!.UserName).toBe('carol');
    const notAdmin = await errorOf(iam(carolSession).send(new CreateUserCommand({ UserName: 'mallory' })));
    expect(notAdmin.name).toBe('AccessDenied');
    // Creating a principal is acting on it: the user role never acts on another user (G6).
    expect(notAdmin.message).toContain('guardrail G6');
    // Trust policies name who may assume a role: carol is not among them, even with MFA.
    expect(
      (
        await errorOf(
          sts(carolSession).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: 'x1' })),
        )
      ).name,
    ).toBe('AccessDenied');

    // Device swap: add the new device from the MFA session, then remove the old one.
    const phone2 = await enrolDevice(session, 'ops', 'ops-phone-2');
    const devices = await admin.send(new ListMFADevicesCommand({}));
    expect(devices.MFADevices!.map((d) => d.SerialNumber).sort()).toEqual(
      [phone1.serial, phone2.serial].sort(),
    );
    expect(
      (await errorOf(admin.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: phone1.serial })))).name,
    ).toBe('DeleteConflict');
    // The session token minted with the old device ends with it, so the swap is done from one
    // minted with the new device (as a user rotating devices does).
    const session2 = await mfaSession(raw, phone2);
    const admin2 = iam(session2);
    await admin2.send(new DeactivateMFADeviceCommand({ UserName: 'ops', SerialNumber: phone1.serial }));
    expect((await errorOf(admin.send(new ListUsersCommand({})))).name).toBe('InvalidClientTokenId');
    const unassigned = await admin2.send(
      new ListVirtualMFADevicesCommand({ AssignmentStatus: 'Unassigned' }),
    );
    expect(unassigned.VirtualMFADevices!.map((d) => d.SerialNumber)).toEqual([phone1.serial]);
    await admin2.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: phone1.serial }));
    const assigned = await admin2.send(new ListVirtualMFADevicesCommand({ AssignmentStatus: 'Assigned' }));
    expect(assigned.VirtualMFADevices!.map((d) => [d.SerialNumber, d.User?.UserName])).toEqual([
      [carolDevice.serial, 'carol'],
      [phone2.serial, 'ops'],
    ]);

    // The replacement works; the old device no longer does.
    expect(
      (
        await errorOf(
          sts(raw).send(
            new GetSessionTokenCommand({
              SerialNumber: phone1.serial,
              TokenCode: oathtool(phone1.seed, currentStep()),
            }),
          ),
        )
      ).name,
    ).toBe('AccessDenied');

    // Deactivating the last device (G5): the long-term keys stop working until re-activated, and
    // the session token minted with that device ends with it.
    await iam(session2).send(
      new DeactivateMFADeviceCommand({ UserName: 'ops', SerialNumber: phone2.serial }),
    );
    expect((await errorOf(iam(session2).send(new ListMFADevicesCommand({})))).name).toBe(
      'InvalidClientTokenId',
    );
    expect((await errorOf(sts(raw).send(new GetCallerIdentityCommand({})))).name).toBe(
      'InvalidClientTokenId',
    );
    const events = await auditRows(target);
    expect(
      events.some(
        (e) => e.action === 'principal.last_factor_lost' && e.details.includes('"accessKeysDeactivated":1'),
      ),
    ).toBe(true);
  }, 120_000);
});

clientSuite('AWS error codes and the attack on device swaps', () => {
  let target: CliTarget;
  let serve: ServeProcess;
  let accountId: string;
  let user: Keys;
  let session: Keys;
  let firstDevice: { serial: string; seed: string };
  const iam = (keys: Keys) =>
    new IAMClient({ region: 'us-east-1', endpoint: serve.url, credentials: keys, maxAttempts: 1 });
  const sts = (keys: Keys) =>
    new STSClient({ region: 'us-east-1', endpoint: serve.url, credentials: keys, maxAttempts: 1 });

  beforeAll(async () => {
    assertCliBuilt();
    target = await createCliTarget('sqlite', { envKey: true });
    serve = await startServe(target.dbArgs, { env: target.env });
    const result = await target.cli([
      'bootstrap',
      '--account',
      'victim',
      '--owner-email',
      'owner@victim.test',
      '--admin',
      'dana',
      '--access-key',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const out = result.json<{ accountId: string; admin: { accessKeyId: string; secretAccessKey: string } }>();
    accountId = out.accountId;
    user = { accessKeyId: out.admin.accessKeyId, secretAccessKey: out.admin.secretAccessKey };
  }, 60_000);

  afterAll(async () => {
    await serve?.stop();
    await killAllChildren();
    await target?.cleanup();
  });

  async function enrol(keys: Keys, name: string) {
    const created = await iam(keys).send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: name }));
    const serial = created.VirtualMFADevice!.SerialNumber!;
    const seed = Buffer.from(created.VirtualMFADevice!.Base32StringSeed!).toString('ascii');
    const t = await enablingStep();
    await iam(keys).send(
      new EnableMFADeviceCommand({
        UserName: 'dana',
        SerialNumber: serial,
        AuthenticationCode1: oathtool(seed, t - 1),
        AuthenticationCode2: oathtool(seed, t),
      }),
    );
    return { serial, seed };
  }

  it('answers every AWS error code of the spec with the right HTTP status', async () => {
    const seen = new Map<string, number | undefined>();
    const note = (e: { name: string; status?: number }) => seen.set(e.name, e.status);

    // IncompleteSignature: a malformed Authorization header.
    const incomplete = await fetch(`${serve.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'AWS4-HMAC-SHA256 Credential=nonsense',
        'x-amz-date': '20260101T000000Z',
      },
      body: 'Action=GetUser&Version=2010-05-08',
    });
    expect(incomplete.status).toBe(400);
    expect(await incomplete.text()).toContain('<Code>IncompleteSignature</Code>');
    seen.set('IncompleteSignature', 400);

    note(await errorOf(iam({ ...user, secretAccessKey: 'x'.repeat(40) }).send(new GetUserCommand({}))));
    note(
      await errorOf(
        iam({ accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x'.repeat(40) }).send(
          new GetUserCommand({}),
        ),
      ),
    );
    // MissingParameter / ValidationError / InvalidAction / LimitExceeded / MalformedPolicyDocument.
    note(
      await errorOf(
        iam(user).send(
          new EnableMFADeviceCommand({
            UserName: 'dana',
            SerialNumber: `arn:aws:iam::${accountId}:mfa/none`,
            AuthenticationCode1: '123456',
          } as never),
        ),
      ),
    );
    note(await errorOf(sts(user).send(new GetSessionTokenCommand({ DurationSeconds: 100 }))));
    const device = await enrol(user, 'dana-phone');
    firstDevice = device;
    const code = oathtool(device.seed, currentStep() + 1);
    const out = await sts(user).send(
      new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: code, DurationSeconds: 900 }),
    );
    session = {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: out.Credentials!.SessionToken!,
    };
    note(await errorOf(iam(session).send(new CreateUserCommand({ UserName: 'dana' }))));
    note(await errorOf(iam(session).send(new DeleteUserCommand({ UserName: 'nobody' }))));
    await iam(session).send(new CreateAccessKeyCommand({ UserName: 'dana' }));
    note(await errorOf(iam(session).send(new CreateAccessKeyCommand({ UserName: 'dana' }))));
    note(
      await errorOf(
        iam(session).send(
          new PutUserPolicyCommand({ UserName: 'dana', PolicyName: 'p', PolicyDocument: '[]' }),
        ),
      ),
    );
    note(
      await errorOf(iam(session).send(new DeleteVirtualMFADeviceCommand({ SerialNumber: device.serial }))),
    );
    note(await errorOf(iam(user).send(new ListUsersCommand({}))));
    // Temporary credentials without MFA cannot call IAM at all.
    const plain = (await sts(user).send(new GetSessionTokenCommand({}))).Credentials!;
    const plainKeys = {
      accessKeyId: plain.AccessKeyId!,
      secretAccessKey: plain.SecretAccessKey!,
      sessionToken: plain.SessionToken!,
    };
    expect((await sts(plainKeys).send(new GetCallerIdentityCommand({}))).Account).toBe(accountId);
    expect((await errorOf(iam(plainKeys).send(new GetUserCommand({})))).name).toBe('InvalidClientTokenId');
    // ExpiredToken: the credential's expiry passes (set in the database: the server reads it each time).
    const db = await connectDatabase(target.fresh.url);
    try {
      await sql`update temporary_credentials set expires_at = 1 where id = ${plainKeys.accessKeyId}`.execute(
        db.kysely,
      );
    } finally {
      await db.close();
    }
    note(await errorOf(sts(plainKeys).send(new GetCallerIdentityCommand({}))));

    const url = new URL(serve.url);
    const signer = new SignatureV4({
      credentials: user,
      region: 'us-east-1',
      service: 'iam',
      sha256: NodeSha256 as never,
    });
    const body = 'Action=FlyToTheMoon&Version=2010-05-08';
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    const invalid = await fetch(`${serve.url}/`, {
      method: 'POST',
      headers: signed.headers as Record<string, string>,
      body,
    });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain('<Code>InvalidAction</Code>');
    seen.set('InvalidAction', 400);

    expect(Object.fromEntries(seen)).toEqual({
      IncompleteSignature: 400,
      SignatureDoesNotMatch: 403,
      InvalidClientTokenId: 403,
      MissingParameter: 400,
      ValidationError: 400,
      EntityAlreadyExists: 409,
      NoSuchEntity: 404,
      LimitExceeded: 409,
      MalformedPolicyDocument: 400,
      DeleteConflict: 409,
      AccessDenied: 403,
      ExpiredToken: 403,
      InvalidAction: 400,
    });
  }, 90_000);

  it('an attacker with only the long-term keys never wins while the user swaps devices', async () => {
    // dana has "dana-phone" and an MFA session (previous test). She swaps to a new device from
    // that session while an attacker holding only her long-term access keys loops
    // CreateVirtualMFADevice / EnableMFADevice / DeactivateMFADevice.
    expect(session, 'the previous test left an MFA session').toBeDefined();
    const before = (await auditRows(target)).length;
    const attacker = iam(user);
    let attempts = 0;
    const attack = async (serialToEnable: string, codes: [string, string], round: number) => {
      const results = [
        await errorOf(
          attacker.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: `evil-${round}` })),
        ),
        await errorOf(
          attacker.send(
            new EnableMFADeviceCommand({
              UserName: 'dana',
              SerialNumber: serialToEnable,
              AuthenticationCode1: codes[0],
              AuthenticationCode2: codes[1],
            }),
          ),
        ),
        await errorOf(
          attacker.send(
            new DeactivateMFADeviceCommand({ UserName: 'dana', SerialNumber: firstDevice.serial }),
          ),
        ),
      ];
      attempts += results.length;
      return results;
    };

    const created = await iam(session).send(
      new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'dana-phone-2' }),
    );
    const serial2 = created.VirtualMFADevice!.SerialNumber!;
    const seed2 = Buffer.from(created.VirtualMFADevice!.Base32StringSeed!).toString('ascii');
    // The attacker even knows the new seed (the worst case): the pending device is not theirs.
    const t = await enablingStep();
    const codes: [string, string] = [oathtool(seed2, t - 1), oathtool(seed2, t)];
    for (let round = 0; round < 2; round++) {
      const [create, enable, deactivate] = await attack(serial2, codes, round);
      expect(create!.name).toBe('AccessDenied');
      expect(create!.message).toContain('guardrail G3');
      expect(enable!.name).toBe('AccessDenied');
      expect(enable!.message).toContain('guardrail G3');
      expect(deactivate!.name).toBe('AccessDenied');
      expect(deactivate!.message).toContain('guardrail G1');
    }
    await iam(session).send(
      new EnableMFADeviceCommand({
        UserName: 'dana',
        SerialNumber: serial2,
        AuthenticationCode1: codes[0],
        AuthenticationCode2: codes[1],
      }),
    );
    const [create, enable, deactivate] = await attack(serial2, codes, 2);
    expect([create!.name, enable!.name, deactivate!.name]).toEqual([
      'AccessDenied',
      'EntityAlreadyExists',
      'AccessDenied',
    ]);
    // The user's replacement works: she mints a session token with it and finishes the swap from
    // there (the one minted with the old device ends when that device goes).
    const minted = await sts(user).send(
      new GetSessionTokenCommand({ SerialNumber: serial2, TokenCode: oathtool(seed2, currentStep() + 1) }),
    );
    expect(minted.Credentials!.AccessKeyId).toMatch(/^ASIA/);
    const oldSession = session;
    session = {
      accessKeyId: minted.Credentials!.AccessKeyId!,
      secretAccessKey: minted.Credentials!.SecretAccessKey!,
      sessionToken: minted.Credentials!.SessionToken!,
    };
    await iam(session).send(
      new DeactivateMFADeviceCommand({ UserName: 'dana', SerialNumber: firstDevice.serial }),
    );
    expect((await errorOf(iam(oldSession).send(new ListMFADevicesCommand({})))).name).toBe(
      'InvalidClientTokenId',
    );
    await iam(session).send(new DeleteVirtualMFADeviceCommand({ SerialNumber: firstDevice.serial }));
    const last = await errorOf(
      attacker.send(new DeactivateMFADeviceCommand({ UserName: 'dana', SerialNumber: serial2 })),
    );
    attempts += 1;
    expect(last.name).toBe('AccessDenied');

    // Only the user's replacement is enrolled, and it works.
    const listed = await iam(session).send(new ListMFADevicesCommand({}));
    expect(listed.MFADevices!.map((d) => d.SerialNumber)).toEqual([serial2]);

    // Every attempt of the attacker is an audited failure of its access key.
    const calls = (await auditRows(target))
      .slice(before)
      .filter((e) => e.action === 'aws.call')
      .map((e) => ({ ...e, d: JSON.parse(e.details) as Record<string, unknown> }))
      .filter((e) => e.d.accessKeyId === user.accessKeyId && e.d.eventSource === 'iam.amazonaws.com');
    expect(calls).toHaveLength(attempts);
    expect(calls.every((e) => e.outcome === 'failure')).toBe(true);
  }, 90_000);

  it('works with the Debian AWS CLI: get-user, get-caller-identity, create-virtual-mfa-device --outfile', async ({
    skip,
  }) => {
    skip(NO_AWS_CLI, 'the AWS CLI (Debian awscli) is not installed');
    const me = JSON.parse(awsCli(serve.url, user, ['sts', 'get-caller-identity'])) as { Arn: string };
    expect(me.Arn).toBe(`arn:aws:iam::${accountId}:user/dana`);
    const got = JSON.parse(awsCli(serve.url, user, ['iam', 'get-user'])) as { User: { UserName: string } };
    expect(got.User.UserName).toBe('dana');

    const dir = mkdtempSync(join(tmpdir(), 'holdfast-awscli-'));
    const seedFile = join(dir, 'seed.txt');
    const created = JSON.parse(
      awsCli(serve.url, session, [
        'iam',
        'create-virtual-mfa-device',
        '--virtual-mfa-device-name',
        'dana-cli',
        '--outfile',
        seedFile,
        '--bootstrap-method',
        'Base32StringSeed',
      ]),
    ) as { VirtualMFADevice: { SerialNumber: string; Base32StringSeed?: string } };
    expect(created.VirtualMFADevice.SerialNumber).toBe(`arn:aws:iam::${accountId}:mfa/dana-cli`);
    expect(created.VirtualMFADevice.Base32StringSeed).toBeUndefined();
    const seed = readFileSync(seedFile, 'utf8');
    expect(seed).toMatch(/^[A-Z2-7]{32}$/);

    const pngFile = join(dir, 'qr.png');
    awsCli(serve.url, session, [
      'iam',
      'create-virtual-mfa-device',
      '--virtual-mfa-device-name',
      'dana-cli-qr',
      '--outfile',
      pngFile,
      '--bootstrap-method',
      'QRCodePNG',
    ]);
    expect(readFileSync(pngFile).subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );

    const t = await enablingStep();
    awsCli(serve.url, session, [
      'iam',
      'enable-mfa-device',
      '--user-name',
      'dana',
      '--serial-number',
      created.VirtualMFADevice.SerialNumber,
      '--authentication-code1',
      oathtool(seed, t - 1),
      '--authentication-code2',
      oathtool(seed, t),
    ]);
    const listed = JSON.parse(awsCli(serve.url, session, ['iam', 'list-mfa-devices'])) as {
      MFADevices: Array<{ SerialNumber: string }>;
    };
    expect(listed.MFADevices.map((d) => d.SerialNumber)).toContain(created.VirtualMFADevice.SerialNumber);
  }, 90_000);

  it('enables a hardware token from the inventory by its vendor serial (EnableMFADevice)', async ({
    skip,
  }) => {
    skip(NO_PSKC, 'python3-pskc is not installed');
    // Seed chosen by the test, written to a PSKC file by Debian's python3-pskc (RFC 6030).
    const secretHex = createHash('sha1').update('holdfast aws hardware token').digest('hex');
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-pskc-'));
    const file = join(dir, 'tokens.pskc');
    const pskc = execFileSync(
      clientPath('python3-pskc'),
      [fileURLToPath(new URL('../fixtures/pskc/generate.py', import.meta.url))],
      {
        input: JSON.stringify({
          keys: [{ serial: 'GAHT00000001', algorithm: 'totp', digits: 6, period: 30, secretHex }],
        }),
        encoding: 'utf8',
      },
    );
    writeFileSync(file, pskc);
    const imported = await target.cli(['tokens', 'import', file, '--account', accountId]);
    expect(imported.code, imported.stderr).toBe(0);
    // Not assigned yet: the serial names no device of dana's.
    const seed = encodeBase32(Buffer.from(secretHex, 'hex'));
    let t = await enablingStep();
    const unassigned = await errorOf(
      iam(session).send(
        new EnableMFADeviceCommand({
          UserName: 'dana',
          SerialNumber: 'GAHT00000001',
          AuthenticationCode1: oathtool(seed, t - 1),
          AuthenticationCode2: oathtool(seed, t),
        }),
      ),
    );
    expect(unassigned.name).toBe('NoSuchEntity');
    const assigned = await target.cli([
      'tokens',
      'assign',
      '--account',
      accountId,
      '--serial',
      'GAHT00000001',
      '--user',
      'dana',
    ]);
    expect(assigned.code, assigned.stderr).toBe(0);
    t = await enablingStep();
    await iam(session).send(
      new EnableMFADeviceCommand({
        UserName: 'dana',
        SerialNumber: 'GAHT00000001',
        AuthenticationCode1: oathtool(seed, t - 1),
        AuthenticationCode2: oathtool(seed, t),
      }),
    );
    const listed = await iam(session).send(new ListMFADevicesCommand({}));
    expect(listed.MFADevices!.map((d) => d.SerialNumber)).toContain('GAHT00000001');
    const tokenSession = await sts(user).send(
      new GetSessionTokenCommand({
        SerialNumber: 'GAHT00000001',
        TokenCode: oathtool(seed, currentStep() + 1),
      }),
    );
    expect(tokenSession.Credentials!.AccessKeyId).toMatch(/^ASIA/);
  }, 60_000);

  it('exports the audit log as CloudTrail records, refusals included, without secrets', async () => {
    const result = await target.cli(['audit', 'export', '--format', 'cloudtrail']);
    expect(result.code, result.stderr).toBe(0);
    for (const secret of [user.secretAccessKey, session.secretAccessKey, session.sessionToken!]) {
      expect(result.stdout).not.toContain(secret);
    }
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const r of records) {
      expect(r.eventVersion).toBe('1.08');
      expect(r.eventTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(typeof r.eventID).toBe('string');
    }
    const calls = records.filter((r) => r.eventType === 'AwsApiCall');
    // The attacker's refused enrolment, as CloudTrail would show it.
    const refused = calls.find(
      (r) =>
        r.eventName === 'CreateVirtualMFADevice' &&
        r.errorCode === 'AccessDenied' &&
        r.userIdentity.accessKeyId === user.accessKeyId,
    );
    expect(refused).toMatchObject({
      eventSource: 'iam.amazonaws.com',
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${accountId}:user/dana`, accountId },
      requestParameters: { VirtualMFADeviceName: 'evil-0' },
      sourceIPAddress: '127.0.0.1',
    });
    expect(refused!.errorMessage).toContain('guardrail G3');
    // An MFA session's call carries mfaAuthenticated.
    const fromSession = calls.find((r) => r.userIdentity.accessKeyId === session.accessKeyId);
    expect(fromSession!.userIdentity.sessionContext.attributes.mfaAuthenticated).toBe('true');
    // Codes are hidden; the issued credentials show only their key id.
    const enable = calls.find((r) => r.eventName === 'EnableMFADevice' && r.errorCode === undefined)!;
    expect(enable.requestParameters.AuthenticationCode1).toBe('HIDDEN_DUE_TO_SECURITY_REASONS');
    const issued = calls.find((r) => r.eventName === 'GetSessionToken' && r.errorCode === undefined)!;
    expect(issued.eventSource).toBe('sts.amazonaws.com');
    expect(issued.responseElements.credentials.accessKeyId).toMatch(/^ASIA/);
    // SigV4 failures are recorded too, and Holdfast's own events keep their own source.
    expect(calls.some((r) => r.errorCode === 'SignatureDoesNotMatch')).toBe(true);
    expect(records.some((r) => r.eventSource === 'holdfast' && r.eventName === 'factor.enable')).toBe(true);
  }, 60_000);
});
