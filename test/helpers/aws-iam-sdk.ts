/**
 * The AWS SDK for JavaScript v3 (IAMClient) against an in-process Holdfast server: requests go
 * through a request handler that hands them to `server.inject`, so the SDK's own signer,
 * serialisers and XML parsers meet the real SigV4 verifier, router and use cases without a
 * socket. The caller is an account administrator working from an MFA session (GetSessionToken
 * with a TokenCode), as guardrail G2 asks for identity administration; a plain user is there to
 * attack with.
 */
import { Readable } from 'node:stream';
import { IAMClient } from '@aws-sdk/client-iam';
import type { FastifyInstance } from 'fastify';
import type { ManualClock } from '../../src/core/clock.js';
import { awsQuery, type AwsKeys } from './aws-query.js';
import type { TestDatabaseKind } from './databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from './installation.js';
import { expectStatus, injectHttp, PASSWORD, STEP_MS, totpAt, uniqueIp } from './mfa.js';

const operator = { kind: 'operator' as const };
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

type SdkRequest = {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
};

function injectHandler(server: FastifyInstance) {
  return {
    async handle(request: SdkRequest) {
      const body =
        typeof request.body === 'string'
          ? request.body
          : request.body === undefined
            ? ''
            : Buffer.from(request.body as Uint8Array).toString('utf8');
      const res = await server.inject({
        method: request.method as 'POST',
        url: request.path,
        headers: request.headers,
        payload: body,
        remoteAddress: '198.51.100.40',
      });
      return {
        response: {
          statusCode: res.statusCode,
          headers: {
            ...(res.headers as Record<string, string>),
            'content-length': String(res.rawPayload.length),
          },
          body: Readable.from([res.rawPayload]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
  };
}

/** One principal of the test account with its keys. */
export interface IamActor {
  userId: string;
  username: string;
  /** Long-term keys (no MFA facts). */
  keys: AwsKeys;
  /** Temporary keys from GetSessionToken with a TokenCode. */
  mfaKeys: AwsKeys;
  /** An SDK client signing with the MFA session. */
  iam: IAMClient;
  /** An SDK client signing with the long-term keys (no MFA). */
  iamWithoutMfa: IAMClient;
}

/** An installation, a server, and an administrator and a plain user with SDK clients. */
export interface IamWorld {
  inst: TestInstallation;
  server: FastifyInstance;
  accountId: string;
  admin: IamActor;
  user: IamActor;
  close(): Promise<void>;
}

/** A client signing with `keys`, its clock set to the installation's. */
export function sdkClient(
  world: { inst: TestInstallation; server: FastifyInstance },
  keys: AwsKeys,
): IAMClient {
  return new IAMClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:8080/',
    credentials: keys,
    requestHandler: injectHandler(world.server),
    maxAttempts: 1,
    systemClockOffset: world.inst.clock.now() - Date.now(),
  });
}

async function actor(
  inst: TestInstallation,
  server: FastifyInstance,
  input: { email: string; role: string },
): Promise<IamActor> {
  const http = injectHttp(server);
  const aws = awsQuery(server, () => inst.clock.now());
  const { accountId, userId } = await createUserWithPassword(inst, {
    accountName: 'acme',
    email: input.email,
    password: PASSWORD,
    role: input.role,
  });
  const username = (await inst.store.principals.findById(accountId, userId))!.username;
  const ip = uniqueIp();
  const signIn = await http({
    method: 'POST',
    url: '/v1/sign-in',
    body: { account: 'acme', login: input.email, password: PASSWORD },
    ip,
  });
  const token = signIn.body.token as string;
  const created = await http({ method: 'POST', url: '/v1/factors/totp', body: { name: 'app' }, token, ip });
  expectStatus(created, 201);
  const factor = { id: created.body.factor.id as string, secret: created.body.secret as string };
  expectStatus(
    await http({
      method: 'POST',
      url: `/v1/factors/${factor.id}/enable`,
      body: { code: totpAt(factor.secret, inst.clock.now()) },
      token,
      ip,
    }),
    200,
  );
  const issued = await inst.app.createAccessKey({ actor: operator, ctx, accountId, userRef: userId });
  const keys = { accessKeyId: issued.key.id, secretAccessKey: issued.secretAccessKey };
  inst.clock.advance(STEP_MS);
  const mfaKeys = aws.credentialsOf(
    await aws.sts(keys, {
      Action: 'GetSessionToken',
      DurationSeconds: '129600',
      SerialNumber: `arn:aws:iam::${accountId}:mfa/${username}/${factor.id}`,
      TokenCode: totpAt(factor.secret, inst.clock.now()),
    }),
  );
  const world = { inst, server };
  return {
    userId,
    username,
    keys,
    mfaKeys,
    iam: sdkClient(world, mfaKeys),
    iamWithoutMfa: sdkClient(world, keys),
  };
}

/**
 * Builds the world on a fresh database of `kind`. Clients that sign with the wall clock (boto3,
 * the AWS CLI) need `clock: new ManualClock(Date.now())`: the server's time then stays within
 * the 15 minutes SigV4 allows.
 */
export async function iamWorld(
  kind: TestDatabaseKind['name'],
  options: { clock?: ManualClock } = {},
): Promise<IamWorld> {
  const inst = await createTestInstallation(
    kind,
    options.clock === undefined ? {} : { clock: options.clock },
  );
  await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
  const server = await buildTestServer(inst);
  const admin = await actor(inst, server, { email: 'ops@acme.test', role: 'admin' });
  const user = await actor(inst, server, { email: 'dev@acme.test', role: 'user' });
  const account = await inst.store.accounts.findByName('acme');
  return {
    inst,
    server,
    accountId: account!.id,
    admin,
    user,
    async close() {
      for (const a of [admin, user]) {
        a.iam.destroy();
        a.iamWithoutMfa.destroy();
      }
      await server.close();
      await inst.destroy();
    },
  };
}

/** The wire code and message an SDK call failed with (`NoSuchEntityException` → `NoSuchEntity`). */
export async function sdkError(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; message: string; Code?: string };
    return { code: e.Code ?? e.name.replace(/Exception$/, ''), message: e.message };
  }
  throw new Error('expected the call to fail');
}
