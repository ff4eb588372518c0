/**
 * Drives the real AWS SDK for JavaScript v3 IAM and STS clients through the SigV4 verifier, the
 * Query parser and the XML writers, by way of a custom request handler (no sockets). The SDK's
 * own deserialisers parse our XML, so every field asserted below proves an element name and
 * its nesting; every error asserted proves a wire code.
 */
import { Readable } from 'node:stream';

import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
  type STSClientConfig,
} from '@aws-sdk/client-sts';
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
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
  GetMFADeviceCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListMFADevicesCommand,
  ListUserPoliciesCommand,
  ListVirtualMFADevicesCommand,
  NoSuchEntityException,
  PutUserPolicyCommand,
  ResyncMFADeviceCommand,
  UpdateAccessKeyCommand,
  paginateListUsers,
  type IAMClientConfig,
} from '@aws-sdk/client-iam';
import { afterEach, describe, expect, it } from 'vitest';

import {
  parseQueryRequest,
  readBoolean,
  readEnum,
  readInteger,
  readString,
  readStringList,
  readStructList,
  readTags,
  invalidAction,
} from './query.js';
import * as shapes from './shapes.js';
import { SigningKeyCache, verifySigV4, type SigV4Verified } from './sigv4.js';
import {
  AWS_API_VERSION,
  AwsError,
  awsResponseHeaders,
  writeErrorResponse,
  writeSuccessResponse,
  type AwsService,
} from './xml.js';

const ACCOUNT = '123456789012';
const ENDPOINT = 'http://127.0.0.1:4599/';
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);

const ALICE_KEY = {
  accessKeyId: 'AKIAALICEALICEALICE2',
  secretAccessKey: 'aliceSecretKey/aliceSecretKey+aliceSecre',
};
const SESSION_KEY = {
  accessKeyId: 'ASIASESSIONSESSION23',
  secretAccessKey: 'sessionSecret/sessionSecret+sessionSecre',
  sessionToken: 'FwoGZXIvYXdzEXAMPLE//token+with/odd=chars',
};

const POLICY_JSON = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: 'iam:*',
      Resource: 'arn:aws:iam::*:user/${aws:username}',
      Condition: { StringLike: { 'aws:PrincipalTag/team': 'a&b <c> "d" 100% +e' } },
    },
  ],
});

const SEED = 'JBSWY3DPEHPK3PXP';
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 250, 255]);

function user(name: string, i = 0) {
  return {
    path: '/',
    userName: name,
    userId: `AIDA${String(i).padStart(16, 'X')}`,
    arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
    createDate: T0 + i * 1000,
  };
}

type Credential = { secretAccessKey: string; userName: string; sessionToken?: string };

/** A tiny in-test server: verify, parse, dispatch, write. */
class FakeQueryServer {
  readonly users = ['alice', ...Array.from({ length: 6 }, (_, i) => `user${i + 1}`)];
  readonly calls: {
    verified: SigV4Verified<Credential>;
    action: string;
    params: ReadonlyMap<string, string>;
  }[] = [];
  private readonly cache = new SigningKeyCache(16);
  private seq = 0;
  /** Requests answered, successful or not. */
  answered = 0;

  /** `clockOffset` shifts the server's clock (and its `Date` header) from the real one. */
  constructor(private readonly clockOffset = 0) {}

  private async lookup(accessKeyId: string, context: { securityToken: string | undefined }) {
    if (accessKeyId === ALICE_KEY.accessKeyId)
      return { secretAccessKey: ALICE_KEY.secretAccessKey, userName: 'alice' };
    if (accessKeyId === SESSION_KEY.accessKeyId && context.securityToken === SESSION_KEY.sessionToken) {
      return {
        secretAccessKey: SESSION_KEY.secretAccessKey,
        userName: 'alice',
        sessionToken: context.securityToken,
      };
    }
    return null;
  }

  async serve(request: {
    method: string;
    path: string;
    query: string;
    headers: Record<string, string>;
    body: string;
  }) {
    const requestId = `req-${++this.seq}`;
    this.answered++;
    const now = Date.now() + this.clockOffset;
    let service: AwsService | undefined;
    try {
      const verified = await verifySigV4<Credential>({
        request,
        lookup: (id, ctx) => this.lookup(id, ctx),
        now,
        cache: this.cache,
      });
      service = verified.service as AwsService;
      const { action, version, params } = parseQueryRequest(request.body);
      if (version !== AWS_API_VERSION[service]) throw invalidAction({ action, version });
      this.calls.push({ verified, action, params });
      const result =
        service === 'iam' ? this.iam(action, params, verified) : this.sts(action, params, verified);
      return {
        status: 200,
        headers: awsResponseHeaders({ requestId, now }),
        body: writeSuccessResponse({ service, action, requestId, result }),
      };
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      return {
        status: err.status,
        headers: awsResponseHeaders({ requestId, now }),
        body: writeErrorResponse({ service, code: err.code, message: err.message, requestId }),
      };
    }
  }

  private iam(
    action: string,
    params: ReadonlyMap<string, string>,
    verified: SigV4Verified<Credential>,
  ): shapes.AwsResult {
    const userNameOrCaller = () =>
      readString(params, 'UserName', { maxLength: 64 }) ?? verified.credential.userName;
    const known = (name: string) => {
      if (!this.users.includes(name))
        throw new AwsError('NoSuchEntity', `The user with name ${name} cannot be found.`);
      return name;
    };
    switch (action) {
      case 'CreateUser': {
        const name = readString(params, 'UserName', {
          required: true,
          minLength: 1,
          maxLength: 64,
          pattern: /^[\w+=,.@-]+$/,
        });
        const tags = readTags(params);
        return shapes.createUserResult({
          user: { ...user(name, 42), path: readString(params, 'Path') ?? '/', tags },
        });
      }
      case 'GetUser':
        return shapes.getUserResult({
          user: {
            ...user(known(userNameOrCaller()), 0),
            passwordLastUsed: T0 + 60_000,
            tags: [{ key: 'team', value: 'blue' }],
          },
        });
      case 'ListUsers': {
        const maxItems = readInteger(params, 'MaxItems', { min: 1, max: 1000 }) ?? 100;
        const start = Number(readString(params, 'Marker') ?? '0');
        const page = this.users.slice(start, start + maxItems);
        const next = start + page.length;
        return shapes.listUsersResult({
          users: page.map((n) => user(n, this.users.indexOf(n))),
          isTruncated: next < this.users.length,
          marker: String(next),
        });
      }
      case 'DeleteUser':
        known(readString(params, 'UserName', { required: true }));
        return shapes.deleteUserResult();
      case 'CreateLoginProfile':
        readString(params, 'Password', { required: true, minLength: 1, maxLength: 128, sensitive: true });
        return shapes.createLoginProfileResult({
          userName: known(userNameOrCaller()),
          createDate: T0,
          passwordResetRequired: readBoolean(params, 'PasswordResetRequired') ?? false,
        });
      case 'CreateAccessKey':
        return shapes.createAccessKeyResult({
          userName: known(userNameOrCaller()),
          accessKeyId: 'AKIANEWKEYNEWKEYNEW2',
          status: 'Active',
          secretAccessKey: 'newSecret/newSecret+newSecret/newSecret+',
          createDate: T0,
        });
      case 'ListAccessKeys':
        return shapes.listAccessKeysResult({
          accessKeys: [
            {
              userName: known(userNameOrCaller()),
              accessKeyId: ALICE_KEY.accessKeyId,
              status: 'Active',
              createDate: T0,
            },
            {
              userName: 'alice',
              accessKeyId: 'AKIAOLDKEYOLDKEYOLD2',
              status: 'Inactive',
              createDate: T0 - 86_400_000,
            },
          ],
          isTruncated: false,
        });
      case 'UpdateAccessKey':
        readString(params, 'AccessKeyId', { required: true, minLength: 16, maxLength: 128 });
        readEnum(params, 'Status', { values: ['Active', 'Inactive'] as const, required: true });
        return shapes.updateAccessKeyResult();
      case 'DeleteAccessKey':
        readString(params, 'AccessKeyId', { required: true });
        return shapes.deleteAccessKeyResult();
      case 'CreateVirtualMFADevice': {
        const name = readString(params, 'VirtualMFADeviceName', { required: true, pattern: /^[\w+=,.@-]+$/ });
        return shapes.createVirtualMFADeviceResult({
          serialNumber: `arn:aws:iam::${ACCOUNT}:mfa${readString(params, 'Path') ?? '/'}${name}`,
          base32StringSeed: SEED,
          qrCodePNG: PNG,
          tags: readTags(params),
        });
      }
      case 'EnableMFADevice':
      case 'ResyncMFADevice': {
        known(readString(params, 'UserName', { required: true }));
        readString(params, 'SerialNumber', { required: true, minLength: 9, maxLength: 256 });
        const codes = /^[0-9]{6}$/;
        const c1 = readString(params, 'AuthenticationCode1', {
          required: true,
          pattern: codes,
          sensitive: true,
        });
        const c2 = readString(params, 'AuthenticationCode2', {
          required: true,
          pattern: codes,
          sensitive: true,
        });
        if (c1 === c2)
          throw new AwsError('InvalidAuthenticationCode', 'Authentication code for device is not valid.');
        return action === 'EnableMFADevice' ? shapes.enableMFADeviceResult() : shapes.resyncMFADeviceResult();
      }
      case 'DeactivateMFADevice':
        readString(params, 'SerialNumber', { required: true });
        return shapes.deactivateMFADeviceResult();
      case 'DeleteVirtualMFADevice':
        if (readString(params, 'SerialNumber', { required: true }).endsWith('/in-use')) {
          throw new AwsError('DeleteConflict', 'MFA VirtualDevice in use. Must deactivate first.');
        }
        return shapes.deleteVirtualMFADeviceResult();
      case 'ListMFADevices':
        return shapes.listMFADevicesResult({
          devices: [
            {
              userName: known(userNameOrCaller()),
              serialNumber: `arn:aws:iam::${ACCOUNT}:mfa/alice-phone`,
              enableDate: T0,
            },
          ],
          isTruncated: true,
          marker: 'opaque-token',
        });
      case 'ListVirtualMFADevices': {
        const status = readEnum(params, 'AssignmentStatus', { values: shapes.ASSIGNMENT_STATUSES }) ?? 'Any';
        const devices = [
          { serialNumber: `arn:aws:iam::${ACCOUNT}:mfa/alice-phone`, user: user('alice'), enableDate: T0 },
          { serialNumber: `arn:aws:iam::${ACCOUNT}:mfa/orphan` },
        ];
        return shapes.listVirtualMFADevicesResult({
          devices: shapes.filterByAssignmentStatus(devices, status),
          isTruncated: false,
        });
      }
      case 'GetMFADevice':
        return shapes.getMFADeviceResult({
          userName: 'alice',
          serialNumber: readString(params, 'SerialNumber', { required: true }),
          enableDate: T0,
          certifications: { 'FIPS-140-2': 'L2', FIDO: 'L1' },
        });
      case 'PutUserPolicy':
        known(readString(params, 'UserName', { required: true }));
        readString(params, 'PolicyName', { required: true, minLength: 1, maxLength: 128 });
        if (readString(params, 'PolicyDocument', { required: true }) !== POLICY_JSON) {
          throw new AwsError('MalformedPolicyDocument', 'The policy document differs from the one sent.');
        }
        return shapes.putUserPolicyResult();
      case 'GetUserPolicy':
        return shapes.getUserPolicyResult({
          userName: known(readString(params, 'UserName', { required: true })),
          policyName: readString(params, 'PolicyName', { required: true }),
          policyDocument: POLICY_JSON,
        });
      case 'ListUserPolicies':
        known(readString(params, 'UserName', { required: true }));
        return shapes.listUserPoliciesResult({
          policyNames: ['self-manage-mfa', 'read-only'],
          isTruncated: false,
        });
      case 'DeleteUserPolicy':
        readString(params, 'PolicyName', { required: true });
        return shapes.deleteUserPolicyResult();
      case 'CreatePolicy':
        return shapes.createPolicyResult({
          policy: {
            policyName: readString(params, 'PolicyName', { required: true }),
            policyId: 'ANPAPOLICYPOLICYPOLI',
            arn: `arn:aws:iam::${ACCOUNT}:policy/${readString(params, 'PolicyName', { required: true })}`,
            path: '/',
            defaultVersionId: 'v1',
            attachmentCount: 0,
            permissionsBoundaryUsageCount: 0,
            isAttachable: true,
            description: readString(params, 'Description'),
            createDate: T0,
            updateDate: T0 + 1,
            tags: readTags(params),
          },
        });
      case 'AttachUserPolicy':
        readString(params, 'PolicyArn', { required: true });
        return shapes.attachUserPolicyResult();
      case 'DetachUserPolicy':
        readString(params, 'PolicyArn', { required: true });
        return shapes.detachUserPolicyResult();
      case 'ListAttachedUserPolicies':
        return shapes.listAttachedUserPoliciesResult({
          policies: [{ policyName: 'ReadOnly', policyArn: `arn:aws:iam::${ACCOUNT}:policy/ReadOnly` }],
          isTruncated: false,
        });
      case 'CreateRole':
        return shapes.createRoleResult({
          role: {
            path: '/',
            roleName: readString(params, 'RoleName', { required: true }),
            roleId: 'AROAROLEROLEROLEROLE',
            arn: `arn:aws:iam::${ACCOUNT}:role/${readString(params, 'RoleName', { required: true })}`,
            createDate: T0,
            assumeRolePolicyDocument: readString(params, 'AssumeRolePolicyDocument', { required: true }),
            maxSessionDuration: readInteger(params, 'MaxSessionDuration', { min: 3600, max: 43200 }) ?? 3600,
          },
        });
      case 'GetAccountSummary':
        return shapes.getAccountSummaryResult({
          summary: { Users: 7, MFADevices: 2, MFADevicesInUse: 1, AccountMFAEnabled: 0 },
        });
      default:
        throw invalidAction({ action, version: AWS_API_VERSION.iam });
    }
  }

  private sts(
    action: string,
    params: ReadonlyMap<string, string>,
    verified: SigV4Verified<Credential>,
  ): shapes.AwsResult {
    const credentials = (seconds: number) => ({
      accessKeyId: SESSION_KEY.accessKeyId,
      secretAccessKey: SESSION_KEY.secretAccessKey,
      sessionToken: SESSION_KEY.sessionToken,
      expiration: T0 + seconds * 1000 + 611,
    });
    switch (action) {
      case 'GetSessionToken': {
        const seconds = readInteger(params, 'DurationSeconds', { min: 900, max: 129600 }) ?? 43200;
        const serial = readString(params, 'SerialNumber', { minLength: 9, maxLength: 256 });
        const code = readString(params, 'TokenCode', { pattern: /^[0-9]{6}$/, sensitive: true });
        if ((serial === undefined) !== (code === undefined))
          throw new AwsError('AccessDenied', 'MFA serial and code go together.');
        return shapes.getSessionTokenResult({ credentials: credentials(seconds) });
      }
      case 'AssumeRole': {
        const roleArn = readString(params, 'RoleArn', { required: true, minLength: 20, maxLength: 2048 });
        const session = readString(params, 'RoleSessionName', {
          required: true,
          minLength: 2,
          maxLength: 64,
        });
        const policyArns = readStructList(params, 'PolicyArns', { fields: ['arn'], maxItems: 10 });
        const transitive = readStringList(params, 'TransitiveTagKeys');
        const tags = readTags(params);
        const roleName = roleArn.split('/').pop()!;
        return shapes.assumeRoleResult({
          credentials: credentials(readInteger(params, 'DurationSeconds', { min: 900, max: 43200 }) ?? 3600),
          assumedRoleId: `AROAROLEROLEROLEROLE:${session}`,
          assumedRoleArn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${session}`,
          packedPolicySize: policyArns.length * 10 + tags.length + transitive.length,
          sourceIdentity: readString(params, 'SourceIdentity'),
        });
      }
      case 'GetCallerIdentity':
        return shapes.getCallerIdentityResult({
          userId: 'AIDAXXXXXXXXXXXXXXX0',
          account: ACCOUNT,
          arn: `arn:aws:iam::${ACCOUNT}:user/${verified.credential.userName}`,
        });
      default:
        throw invalidAction({ action, version: AWS_API_VERSION.sts });
    }
  }
}

type SdkRequest = {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
};

/** The custom request handler: an object with `handle(request)` returning `{ response }`. */
function requestHandler(server: FakeQueryServer, seen?: SdkRequest[]) {
  return {
    async handle(request: SdkRequest) {
      seen?.push(request);
      const query = Object.entries(request.query ?? {})
        .flatMap(([k, v]) =>
          v === null
            ? [k]
            : (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`),
        )
        .join('&');
      const body =
        typeof request.body === 'string'
          ? request.body
          : request.body === undefined
            ? ''
            : Buffer.from(request.body as Uint8Array).toString('utf8');
      const res = await server.serve({
        method: request.method,
        path: request.path,
        query,
        headers: request.headers,
        body,
      });
      return {
        response: {
          statusCode: res.status,
          headers: { ...res.headers, 'content-length': String(Buffer.byteLength(res.body)) },
          body: Readable.from([Buffer.from(res.body, 'utf8')]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
  };
}

const clients: { destroy(): void }[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

function iamClient(
  server: FakeQueryServer,
  extra: Partial<IAMClientConfig> = {},
  seen?: SdkRequest[],
): IAMClient {
  const client = new IAMClient({
    region: 'us-east-1',
    endpoint: ENDPOINT,
    credentials: { accessKeyId: ALICE_KEY.accessKeyId, secretAccessKey: ALICE_KEY.secretAccessKey },
    requestHandler: requestHandler(server, seen),
    maxAttempts: 1,
    ...extra,
  });
  clients.push(client);
  return client;
}

function stsClient(server: FakeQueryServer, extra: Partial<STSClientConfig> = {}): STSClient {
  const client = new STSClient({
    region: 'us-east-1',
    endpoint: ENDPOINT,
    credentials: { accessKeyId: ALICE_KEY.accessKeyId, secretAccessKey: ALICE_KEY.secretAccessKey },
    requestHandler: requestHandler(server),
    maxAttempts: 1,
    ...extra,
  });
  clients.push(client);
  return client;
}

async function sdkError(
  promise: Promise<unknown>,
): Promise<Error & { $metadata: { httpStatusCode?: number }; $fault?: string; Type?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the SDK call to fail');
}

describe('AWS SDK v3 IAM client against the Query layer', () => {
  it('GetUser: every User member parses, and the request was signed for iam', async () => {
    const server = new FakeQueryServer();
    const out = await iamClient(server).send(new GetUserCommand({}));
    expect(out.User).toEqual({
      Path: '/',
      UserName: 'alice',
      UserId: 'AIDAXXXXXXXXXXXXXXX0',
      Arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      CreateDate: new Date(T0),
      PasswordLastUsed: new Date(T0 + 60_000),
      Tags: [{ Key: 'team', Value: 'blue' }],
    });
    expect(out.$metadata.requestId).toBe('req-1');
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(server.calls[0]).toMatchObject({
      action: 'GetUser',
      verified: { service: 'iam', accessKeyId: ALICE_KEY.accessKeyId },
    });
  });

  it('ListUsers: the paginator follows IsTruncated/Marker over every page', async () => {
    const server = new FakeQueryServer();
    const pages = [];
    for await (const page of paginateListUsers({ client: iamClient(server), pageSize: 3 }, {}))
      pages.push(page);
    expect(pages.map((p) => p.IsTruncated)).toEqual([true, true, false]);
    expect(pages.map((p) => p.Marker)).toEqual(['3', '6', undefined]);
    expect(pages.flatMap((p) => p.Users!.map((u) => u.UserName))).toEqual(server.users);
    expect(pages[1]!.Users![0]).toMatchObject({ UserName: 'user3', CreateDate: new Date(T0 + 3000) });
    expect(server.calls.map((c) => [c.params.get('MaxItems'), c.params.get('Marker')])).toEqual([
      ['3', undefined],
      ['3', '3'],
      ['3', '6'],
    ]);
  });

  it('CreateUser sends Tags.member.N and parses the created user; DeleteUser has an empty result', async () => {
    const server = new FakeQueryServer();
    const iam = iamClient(server);
    const out = await iam.send(
      new CreateUserCommand({
        UserName: 'bob',
        Path: '/eng/',
        Tags: [
          { Key: 'a', Value: 'b' },
          { Key: 'c', Value: '' },
        ],
      }),
    );
    expect(out.User).toMatchObject({
      UserName: 'bob',
      Path: '/eng/',
      Tags: [
        { Key: 'a', Value: 'b' },
        { Key: 'c', Value: '' },
      ],
    });
    expect(server.calls[0]!.params.get('Tags.member.2.Key')).toBe('c');
    const del = await iam.send(new DeleteUserCommand({ UserName: 'user1' }));
    expect(del.$metadata.httpStatusCode).toBe(200);
    expect(Object.keys(del)).toEqual(['$metadata']);
  });

  it('CreateLoginProfile', async () => {
    const out = await iamClient(new FakeQueryServer()).send(
      new CreateLoginProfileCommand({
        UserName: 'alice',
        Password: 'correct horse',
        PasswordResetRequired: true,
      }),
    );
    expect(out.LoginProfile).toEqual({
      UserName: 'alice',
      CreateDate: new Date(T0),
      PasswordResetRequired: true,
    });
  });

  it('access keys: Create, List, Update, Delete', async () => {
    const iam = iamClient(new FakeQueryServer());
    const created = await iam.send(new CreateAccessKeyCommand({}));
    expect(created.AccessKey).toEqual({
      UserName: 'alice',
      AccessKeyId: 'AKIANEWKEYNEWKEYNEW2',
      Status: 'Active',
      SecretAccessKey: 'newSecret/newSecret+newSecret/newSecret+',
      CreateDate: new Date(T0),
    });
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: 'alice' }));
    expect(listed.AccessKeyMetadata).toEqual([
      { UserName: 'alice', AccessKeyId: ALICE_KEY.accessKeyId, Status: 'Active', CreateDate: new Date(T0) },
      {
        UserName: 'alice',
        AccessKeyId: 'AKIAOLDKEYOLDKEYOLD2',
        Status: 'Inactive',
        CreateDate: new Date(T0 - 86_400_000),
      },
    ]);
    expect(listed.IsTruncated).toBe(false);
    expect(listed.Marker).toBeUndefined();
    await expect(
      iam.send(new UpdateAccessKeyCommand({ AccessKeyId: 'AKIAOLDKEYOLDKEYOLD2', Status: 'Active' })),
    ).resolves.toBeTruthy();
    await expect(
      iam.send(new DeleteAccessKeyCommand({ AccessKeyId: 'AKIAOLDKEYOLDKEYOLD2' })),
    ).resolves.toBeTruthy();
    const bad = await sdkError(
      iam.send(new UpdateAccessKeyCommand({ AccessKeyId: 'AKIAOLDKEYOLDKEYOLD2', Status: 'Expired' })),
    );
    expect(bad.name).toBe('ValidationError');
    expect(bad.$metadata.httpStatusCode).toBe(400);
  });

  it('CreateVirtualMFADevice: the blobs decode to the Base32 text and the PNG bytes', async () => {
    const out = await iamClient(new FakeQueryServer()).send(
      new CreateVirtualMFADeviceCommand({
        VirtualMFADeviceName: 'alice-phone',
        Tags: [{ Key: 'k', Value: 'v' }],
      }),
    );
    const device = out.VirtualMFADevice!;
    expect(device.SerialNumber).toBe(`arn:aws:iam::${ACCOUNT}:mfa/alice-phone`);
    expect(new TextDecoder().decode(device.Base32StringSeed)).toBe(SEED);
    expect([...device.QRCodePNG!]).toEqual([...PNG]);
    expect(device.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
  });

  it('MFA device lifecycle calls with empty results, and their errors', async () => {
    const iam = iamClient(new FakeQueryServer());
    const serial = `arn:aws:iam::${ACCOUNT}:mfa/alice-phone`;
    const codes = {
      UserName: 'alice',
      SerialNumber: serial,
      AuthenticationCode1: '123456',
      AuthenticationCode2: '654321',
    };
    await expect(iam.send(new EnableMFADeviceCommand(codes))).resolves.toBeTruthy();
    await expect(iam.send(new ResyncMFADeviceCommand(codes))).resolves.toBeTruthy();
    await expect(
      iam.send(new DeactivateMFADeviceCommand({ UserName: 'alice', SerialNumber: serial })),
    ).resolves.toBeTruthy();
    await expect(iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: serial }))).resolves.toBeTruthy();

    const same = await sdkError(
      iam.send(new EnableMFADeviceCommand({ ...codes, AuthenticationCode2: '123456' })),
    );
    expect(same.name).toBe('InvalidAuthenticationCodeException');
    expect(same.$metadata.httpStatusCode).toBe(403);
    const conflict = await sdkError(
      iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: `${serial}/in-use` })),
    );
    expect(conflict.name).toBe('DeleteConflictException');
    expect(conflict.$metadata.httpStatusCode).toBe(409);
    const badCode = await sdkError(
      iam.send(new ResyncMFADeviceCommand({ ...codes, AuthenticationCode1: '12345x' })),
    );
    expect(badCode.name).toBe('ValidationError');
    expect(badCode.message).not.toContain('12345x');
  });

  it('ListMFADevices, ListVirtualMFADevices with AssignmentStatus, GetMFADevice', async () => {
    const iam = iamClient(new FakeQueryServer());
    const serial = `arn:aws:iam::${ACCOUNT}:mfa/alice-phone`;
    const mfa = await iam.send(new ListMFADevicesCommand({}));
    expect(mfa.MFADevices).toEqual([{ UserName: 'alice', SerialNumber: serial, EnableDate: new Date(T0) }]);
    expect(mfa.IsTruncated).toBe(true);
    expect(mfa.Marker).toBe('opaque-token');

    const any = await iam.send(new ListVirtualMFADevicesCommand({}));
    expect(any.VirtualMFADevices).toEqual([
      {
        SerialNumber: serial,
        User: {
          Path: '/',
          UserName: 'alice',
          UserId: 'AIDAXXXXXXXXXXXXXXX0',
          Arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
          CreateDate: new Date(T0),
        },
        EnableDate: new Date(T0),
      },
      { SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/orphan` },
    ]);
    const assigned = await iam.send(new ListVirtualMFADevicesCommand({ AssignmentStatus: 'Assigned' }));
    expect(assigned.VirtualMFADevices!.map((d) => d.SerialNumber)).toEqual([serial]);
    const unassigned = await iam.send(new ListVirtualMFADevicesCommand({ AssignmentStatus: 'Unassigned' }));
    expect(unassigned.VirtualMFADevices!.map((d) => d.SerialNumber)).toEqual([
      `arn:aws:iam::${ACCOUNT}:mfa/orphan`,
    ]);

    const got = await iam.send(new GetMFADeviceCommand({ SerialNumber: serial }));
    expect(got).toMatchObject({
      UserName: 'alice',
      SerialNumber: serial,
      EnableDate: new Date(T0),
      Certifications: { 'FIPS-140-2': 'L2', FIDO: 'L1' },
    });
  });

  it('inline policies: the document round-trips, URL-encoded on the wire', async () => {
    const server = new FakeQueryServer();
    const iam = iamClient(server);
    await iam.send(
      new PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'p1', PolicyDocument: POLICY_JSON }),
    );
    const got = await iam.send(new GetUserPolicyCommand({ UserName: 'alice', PolicyName: 'p1' }));
    expect(got.UserName).toBe('alice');
    expect(got.PolicyName).toBe('p1');
    expect(got.PolicyDocument).not.toBe(POLICY_JSON);
    expect(got.PolicyDocument).toMatch(/^%7B%22Version%22/);
    expect(decodeURIComponent(got.PolicyDocument!)).toBe(POLICY_JSON);
    const names = await iam.send(new ListUserPoliciesCommand({ UserName: 'alice' }));
    expect(names.PolicyNames).toEqual(['self-manage-mfa', 'read-only']);
    await expect(
      iam.send(new DeleteUserPolicyCommand({ UserName: 'alice', PolicyName: 'p1' })),
    ).resolves.toBeTruthy();
  });

  it('managed policies and roles', async () => {
    const iam = iamClient(new FakeQueryServer());
    const policy = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'ReadOnly',
        PolicyDocument: POLICY_JSON,
        Description: 'read & <only>',
      }),
    );
    expect(policy.Policy).toEqual({
      PolicyName: 'ReadOnly',
      PolicyId: 'ANPAPOLICYPOLICYPOLI',
      Arn: `arn:aws:iam::${ACCOUNT}:policy/ReadOnly`,
      Path: '/',
      DefaultVersionId: 'v1',
      AttachmentCount: 0,
      PermissionsBoundaryUsageCount: 0,
      IsAttachable: true,
      Description: 'read & <only>',
      CreateDate: new Date(T0),
      UpdateDate: new Date(T0 + 1),
    });
    const arn = policy.Policy!.Arn!;
    await expect(
      iam.send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: arn })),
    ).resolves.toBeTruthy();
    const attached = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'alice' }));
    expect(attached.AttachedPolicies).toEqual([{ PolicyName: 'ReadOnly', PolicyArn: arn }]);
    await expect(
      iam.send(new DetachUserPolicyCommand({ UserName: 'alice', PolicyArn: arn })),
    ).resolves.toBeTruthy();

    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'sts:AssumeRole',
          Condition: { Bool: { 'aws:MultiFactorAuthPresent': true } },
        },
      ],
    });
    const role = await iam.send(
      new CreateRoleCommand({ RoleName: 'admin', AssumeRolePolicyDocument: trust, MaxSessionDuration: 7200 }),
    );
    expect(role.Role).toMatchObject({
      Path: '/',
      RoleName: 'admin',
      RoleId: 'AROAROLEROLEROLEROLE',
      Arn: `arn:aws:iam::${ACCOUNT}:role/admin`,
      CreateDate: new Date(T0),
      MaxSessionDuration: 7200,
    });
    expect(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!)).toBe(trust);
  });

  it('GetAccountSummary: SummaryMap entries parse to numbers', async () => {
    const out = await iamClient(new FakeQueryServer()).send(new GetAccountSummaryCommand({}));
    expect(out.SummaryMap).toEqual({ Users: 7, MFADevices: 2, MFADevicesInUse: 1, AccountMFAEnabled: 0 });
  });

  it('a modelled error maps to its SDK exception class', async () => {
    const err = await sdkError(
      iamClient(new FakeQueryServer()).send(new GetUserCommand({ UserName: 'nobody' })),
    );
    expect(err).toBeInstanceOf(NoSuchEntityException);
    expect(err.name).toBe('NoSuchEntityException');
    expect(err.message).toBe('The user with name nobody cannot be found.');
    expect(err.$metadata.httpStatusCode).toBe(404);
    expect(err.$fault).toBe('client');
  });
});

describe('AWS SDK v3 STS client against the Query layer', () => {
  it('GetSessionToken with MFA: Credentials parse, Expiration to a Date with milliseconds', async () => {
    const server = new FakeQueryServer();
    const out = await stsClient(server).send(
      new GetSessionTokenCommand({
        DurationSeconds: 3600,
        SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/alice-phone`,
        TokenCode: '123456',
      }),
    );
    expect(out.Credentials).toEqual({
      AccessKeyId: SESSION_KEY.accessKeyId,
      SecretAccessKey: SESSION_KEY.secretAccessKey,
      SessionToken: SESSION_KEY.sessionToken,
      Expiration: new Date(T0 + 3600_000 + 611),
    });
    expect(server.calls[0]!.verified.service).toBe('sts');
    expect(server.calls[0]!.params.get('TokenCode')).toBe('123456');
  });

  it('GetSessionToken out of range is a ValidationError (400)', async () => {
    const err = await sdkError(
      stsClient(new FakeQueryServer()).send(new GetSessionTokenCommand({ DurationSeconds: 60 })),
    );
    expect(err.name).toBe('ValidationError');
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  it('AssumeRole: Credentials, AssumedRoleUser and list parameters', async () => {
    const server = new FakeQueryServer();
    const out = await stsClient(server).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/admin`,
        RoleSessionName: 'ops-session',
        PolicyArns: [
          { arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
          { arn: 'arn:aws:iam::aws:policy/Two' },
        ],
        Tags: [{ Key: 'team', Value: 'blue' }],
        TransitiveTagKeys: ['team'],
        SourceIdentity: 'alice',
      }),
    );
    expect(out.Credentials?.SessionToken).toBe(SESSION_KEY.sessionToken);
    expect(out.AssumedRoleUser).toEqual({
      AssumedRoleId: 'AROAROLEROLEROLEROLE:ops-session',
      Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/admin/ops-session`,
    });
    expect(out.PackedPolicySize).toBe(22);
    expect(out.SourceIdentity).toBe('alice');
    expect(server.calls[0]!.params.get('PolicyArns.member.2.arn')).toBe('arn:aws:iam::aws:policy/Two');
  });

  it('GetCallerIdentity with session credentials passes the security token through', async () => {
    const server = new FakeQueryServer();
    const out = await stsClient(server, {
      credentials: { ...SESSION_KEY },
    }).send(new GetCallerIdentityCommand({}));
    expect(out).toMatchObject({
      UserId: 'AIDAXXXXXXXXXXXXXXX0',
      Account: ACCOUNT,
      Arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
    });
    expect(server.calls[0]!.verified).toMatchObject({
      accessKeyId: SESSION_KEY.accessKeyId,
      securityToken: SESSION_KEY.sessionToken,
      credential: { sessionToken: SESSION_KEY.sessionToken },
    });
    expect(server.calls[0]!.verified.signedHeaders).toContain('x-amz-security-token');
  });

  it('a session key with the wrong token is InvalidClientTokenId', async () => {
    const err = await sdkError(
      stsClient(new FakeQueryServer(), { credentials: { ...SESSION_KEY, sessionToken: 'forged' } }).send(
        new GetCallerIdentityCommand({}),
      ),
    );
    expect(err.name).toBe('InvalidClientTokenId');
    expect(err.$metadata.httpStatusCode).toBe(403);
  });
});

describe('authentication failures as the SDK sees them', () => {
  it('a wrong secret gives SignatureDoesNotMatch (403), without our signature in the message', async () => {
    const server = new FakeQueryServer();
    const err = await sdkError(
      iamClient(server, {
        credentials: { accessKeyId: ALICE_KEY.accessKeyId, secretAccessKey: 'wrong'.repeat(8) },
      }).send(new GetUserCommand({})),
    );
    expect(err.name).toBe('SignatureDoesNotMatch');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).not.toMatch(/[0-9a-f]{64}/);
    expect(err.message).not.toContain(ALICE_KEY.secretAccessKey);
    expect(server.calls).toHaveLength(0);
  });

  it('an unknown access key gives InvalidClientTokenId (403)', async () => {
    const err = await sdkError(
      stsClient(new FakeQueryServer(), {
        credentials: { accessKeyId: 'AKIANOBODYNOBODYNOB2', secretAccessKey: 'x'.repeat(40) },
      }).send(new GetCallerIdentityCommand({})),
    );
    expect(err.name).toBe('InvalidClientTokenId');
    expect(err.$metadata.httpStatusCode).toBe(403);
  });

  it('a clock 20 minutes off gives SignatureDoesNotMatch "Signature expired" when the SDK may not retry', async () => {
    for (const offset of [-20 * 60_000, 20 * 60_000]) {
      const err = await sdkError(
        iamClient(new FakeQueryServer(), { systemClockOffset: offset }).send(new GetUserCommand({})),
      );
      expect(err.name).toBe('SignatureDoesNotMatch');
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message).toMatch(offset < 0 ? /^Signature expired/ : /^Signature not yet current/);
    }
  });

  it('with retries, the SDK corrects its clock from our Date header and succeeds', async () => {
    // The server's clock runs 20 minutes ahead: the first attempt fails as expired, the SDK
    // reads the server time from the Date header of that error, and the retry is signed with it.
    const server = new FakeQueryServer(20 * 60_000);
    const iam = iamClient(server, { maxAttempts: 3 });
    const out = await iam.send(new GetUserCommand({}));
    expect(out.User?.UserName).toBe('alice');
    expect(server.answered).toBe(2);
    expect(Math.abs(iam.config.systemClockOffset - 20 * 60_000)).toBeLessThan(60_000);
  });

  it('the region in the client config does not matter; the scope region is reported', async () => {
    for (const region of ['us-east-1', 'eu-west-3', 'ap-southeast-2']) {
      const server = new FakeQueryServer();
      await iamClient(server, { region }).send(new GetUserCommand({}));
      await stsClient(server, { region }).send(new GetCallerIdentityCommand({}));
      expect(server.calls.map((c) => [c.verified.service, c.verified.region])).toEqual([
        ['iam', region],
        ['sts', region],
      ]);
    }
  });

  it('a custom endpoint path is part of what is signed', async () => {
    const server = new FakeQueryServer();
    const seen: SdkRequest[] = [];
    await iamClient(server, { endpoint: 'http://127.0.0.1:4599/aws/v1/' }, seen).send(new GetUserCommand({}));
    expect(seen[0]!.path).toBe('/aws/v1/');
    expect(server.calls).toHaveLength(1);
  });
});
