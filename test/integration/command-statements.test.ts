/**
 * What one command costs the database: the SQL statements, the transactions and the audit
 * records of one request on the hottest second-factor paths (the TOTP factor step of sign-in,
 * step-up with a TOTP code, passwordless passkey sign-in, STS GetSessionToken with SerialNumber
 * and TokenCode from a long-term key, IAM CreateVirtualMFADevice). Each is one command: one transaction, one audit record of the change
 * (and, for an AWS call, its `aws.call` record in the same transaction). SQLite and PostgreSQL;
 * frozen clock. With HOLDFAST_COUNT_REPORT=1 the figures are printed.
 */
import type { FastifyInstance } from 'fastify';
import type { KyselyPlugin, RootOperationNode } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/create-app.js';
import type { Store } from '../../src/core/ports.js';
import { createStore } from '../../src/storage/store.js';
import { awsQuery, xmlValue } from '../helpers/aws-query.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { PASSWORD, STEP_MS, expectStatus, injectHttp, mfaApi, totpAt, type MfaApi } from '../helpers/mfa.js';

/** Statements and transactions seen since the last reset. */
class Counter {
  statements: string[] = [];
  transactions = 0;
  reset(): void {
    this.statements = [];
    this.transactions = 0;
  }
  plugin(): KyselyPlugin {
    return {
      transformQuery: ({ node }: { node: RootOperationNode }) => {
        const text = node.kind === 'RawNode' ? node.sqlFragments.join('?').trim().toLowerCase() : '';
        // Savepoints are SQLite's group commit, not the command's own work.
        if (!/^(savepoint|release|rollback to)\b/.test(text)) this.statements.push(node.kind);
        return node;
      },
      transformResult: ({ result }) => Promise.resolve(result),
    };
  }
}

/** The store of an installation, over the same database, counting what it does. */
function countingStore(inst: TestInstallation, counter: Counter): Store {
  // SQLite's deferred-durability commit runs on the database's own handle: counted statements need
  // the plain group commit over the counting handle (the same statements, synced at commit).
  const store = createStore({
    ...inst.database,
    kysely: inst.database.kysely.withPlugin(counter.plugin()),
    deferredDurabilityTransaction: undefined,
  });
  const transaction = store.transaction;
  return {
    ...store,
    transaction: (work) => {
      counter.transactions++;
      return transaction(work);
    },
  };
}

interface Figures {
  statements: number;
  transactions: number;
  audit: string[];
}

describe.each(DATABASE_KINDS)('what one command costs the database [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  const counter = new Counter();

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    const app = createApp({ ...inst.app.deps, store: countingStore(inst, counter) });
    server = await buildTestServer({ ...inst, app });
    api = mfaApi(injectHttp(server), 'acme');
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  const now = () => inst.clock.now();
  const lastSeq = async () =>
    Number(
      (
        await inst.database.kysely
          .selectFrom('audit_log')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirst()
      )?.seq ?? 0,
    );

  /** Runs one request and counts what it did. */
  async function measure<T>(what: string, request: () => Promise<T>): Promise<{ answer: T } & Figures> {
    const seq = await lastSeq();
    counter.reset();
    const answer = await request();
    const figures = { statements: counter.statements.length, transactions: counter.transactions };
    const audit = (
      await inst.database.kysely
        .selectFrom('audit_log')
        .select('action')
        .where('seq', '>', seq)
        .orderBy('seq')
        .execute()
    ).map((r) => r.action);
    if (process.env.HOLDFAST_COUNT_REPORT === '1') {
      process.stdout.write(
        `[${name}] ${what}: ${figures.statements} statements (${counter.statements.join(',')}), ` +
          `${figures.transactions} transactions, audit ${JSON.stringify(audit)}\n`,
      );
    }
    return { answer, ...figures, audit };
  }

  it('the TOTP factor step of sign-in: one transaction, one audit record', async () => {
    const email = 'signin@acme.test';
    await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD, role: 'user' });
    const token = await api.passwordToken(email);
    const enrolled = await api.enrolTOTP(token, 'phone');
    expectStatus(enrolled, 201);
    const factorId = enrolled.body.factor.id as string;
    const secret = enrolled.body.secret as string;
    const codes: [string, string] = [totpAt(secret, now() - STEP_MS), totpAt(secret, now())];
    expectStatus(await api.enable(token, factorId, { codes }), 200);
    inst.clock.advance(STEP_MS);
    // The password step: the attempt is counted (and committed) before the slow password check,
    // so parallel guesses cannot outrun the throttle; then the step itself is one command.
    const password = await measure('sign-in password step', () => api.signIn(email));
    expectStatus(password.answer, 200);
    expect(password.transactions).toBe(2);
    expect(password.audit).toEqual(['auth.password_verified']);
    const flowId = password.answer.body.flowId as string;

    const step = await measure('sign-in factor step', () =>
      api.secondFactor(flowId, { factorId, code: totpAt(secret, now()) }),
    );
    expectStatus(step.answer, 200);
    expect(step.transactions).toBe(1);
    expect(step.audit).toEqual(['auth.sign_in']);
  });

  it('step-up with a TOTP code: one transaction, one audit record', async () => {
    const email = 'stepup@acme.test';
    await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD, role: 'user' });
    const passwordOnly = await api.passwordToken(email);
    const enrolled = await api.enrolTOTP(passwordOnly, 'phone');
    expectStatus(enrolled, 201);
    const factorId = enrolled.body.factor.id as string;
    const secret = enrolled.body.secret as string;
    const codes: [string, string] = [totpAt(secret, now() - STEP_MS), totpAt(secret, now())];
    expectStatus(await api.enable(passwordOnly, factorId, { codes }), 200);
    inst.clock.advance(STEP_MS);
    const signedIn = await api.secondFactor(await api.startFlow(email), {
      factorId,
      code: totpAt(secret, now()),
    });
    expectStatus(signedIn, 200);
    const token = signedIn.body.token as string;
    inst.clock.advance(STEP_MS);

    const step = await measure('step-up with TOTP', () =>
      api.http({
        method: 'POST',
        url: '/v1/session/step-up',
        body: { factorId, code: totpAt(secret, now()) },
        token,
      }),
    );
    expectStatus(step.answer, 200);
    expect(step.transactions).toBe(1);
    expect(step.audit).toEqual(['session.step_up']);
  });

  it('passwordless passkey sign-in: one transaction, one audit record', async () => {
    const email = 'passkey@acme.test';
    await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD, role: 'user' });
    const token = await api.passwordToken(email);
    const authenticator = new SoftAuthenticator({
      userVerified: true,
      backupEligible: true,
      backedUp: true,
      counter: 'none',
    });
    const origin = 'http://localhost:8080';
    const creation = await api.http({
      method: 'POST',
      url: '/v1/factors/webauthn/options',
      body: { kind: 'passkey', name: 'Phone passkey' },
      token,
    });
    expectStatus(creation, 200);
    const credential = authenticator.createCredential({ options: creation.body.options, origin });
    const registered = await api.http({
      method: 'POST',
      url: '/v1/factors/webauthn',
      body: { challengeId: creation.body.challengeId, credential },
      token,
    });
    expectStatus(registered, 201);
    const request = await api.http({
      method: 'POST',
      url: '/v1/sign-in/passkey/options',
      body: { account: 'acme' },
    });
    expectStatus(request, 200);
    const assertion = authenticator.getAssertion({ options: request.body.options, origin });

    const signIn = await measure('passkey sign-in', () =>
      api.http({
        method: 'POST',
        url: '/v1/sign-in/passkey',
        body: { challengeId: request.body.challengeId, credential: assertion },
      }),
    );
    expectStatus(signIn.answer, 200);
    expect(signIn.transactions).toBe(1);
    expect(signIn.audit).toEqual(['auth.sign_in']);
  });

  it('IAM CreateVirtualMFADevice and STS GetSessionToken with a TokenCode: one transaction each', async () => {
    const account = (await inst.store.accounts.findByName('acme'))!;
    const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };
    const admin = await inst.app.createAdminWithAccessKey({ ctx, accountId: account.id, username: 'ops' });
    const keys = { accessKeyId: admin.key.id, secretAccessKey: admin.secretAccessKey };
    const aws = awsQuery(server, now);

    const created = await measure('CreateVirtualMFADevice', () =>
      aws.iam(keys, { Action: 'CreateVirtualMFADevice', VirtualMFADeviceName: 'ops-phone' }),
    );
    expect(created.answer.status, created.answer.body).toBe(200);
    expect(created.transactions).toBe(1);
    expect(created.audit).toEqual(['factor.create', 'aws.call']);

    const serial = xmlValue(created.answer.body, 'SerialNumber')!;
    const seed = Buffer.from(xmlValue(created.answer.body, 'Base32StringSeed')!, 'base64').toString('ascii');
    inst.clock.advance(STEP_MS);
    const enabled = await aws.iam(keys, {
      Action: 'EnableMFADevice',
      UserName: 'ops',
      SerialNumber: serial,
      AuthenticationCode1: totpAt(seed, now() - STEP_MS),
      AuthenticationCode2: totpAt(seed, now()),
    });
    expect(enabled.status, enabled.body).toBe(200);
    inst.clock.advance(STEP_MS);

    const session = await measure('GetSessionToken with TokenCode', () =>
      aws.sts(keys, { Action: 'GetSessionToken', SerialNumber: serial, TokenCode: totpAt(seed, now()) }),
    );
    expect(session.answer.status, session.answer.body).toBe(200);
    expect(session.transactions).toBe(1);
    expect(session.audit).toEqual(['sts.session_token_issue', 'aws.call']);
  });

  it('STS AssumeRole with a TokenCode: one transaction, one audit record; a refused one spends the code', async () => {
    const account = (await inst.store.accounts.findByName('acme'))!;
    const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };
    const admin = await inst.app.createAdminWithAccessKey({ ctx, accountId: account.id, username: 'roles' });
    const keys = { accessKeyId: admin.key.id, secretAccessKey: admin.secretAccessKey };
    const aws = awsQuery(server, now);
    const created = await aws.iam(keys, {
      Action: 'CreateVirtualMFADevice',
      VirtualMFADeviceName: 'roles-phone',
    });
    expect(created.status, created.body).toBe(200);
    const serial = xmlValue(created.body, 'SerialNumber')!;
    const seed = Buffer.from(xmlValue(created.body, 'Base32StringSeed')!, 'base64').toString('ascii');
    inst.clock.advance(STEP_MS);
    const enabled = await aws.iam(keys, {
      Action: 'EnableMFADevice',
      UserName: 'roles',
      SerialNumber: serial,
      AuthenticationCode1: totpAt(seed, now() - STEP_MS),
      AuthenticationCode2: totpAt(seed, now()),
    });
    expect(enabled.status, enabled.body).toBe(200);
    const trust = (principal: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: principal },
            Action: 'sts:AssumeRole',
            Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
          },
        ],
      });
    const operator = { kind: 'operator' as const };
    const role = await inst.app.createRole({
      actor: operator,
      ctx,
      accountId: account.id,
      name: 'oncall',
      trustPolicy: trust(`arn:aws:iam::${account.id}:user/roles`),
    });
    const closed = await inst.app.createRole({
      actor: operator,
      ctx,
      accountId: account.id,
      name: 'closed',
      trustPolicy: trust(`arn:aws:iam::${account.id}:user/nobody`),
    });
    inst.clock.advance(STEP_MS);

    const assumed = await measure('AssumeRole with TokenCode', () =>
      aws.sts(keys, {
        Action: 'AssumeRole',
        RoleArn: `arn:aws:iam::${account.id}:role/${role.name}`,
        RoleSessionName: 'oncall-1',
        SerialNumber: serial,
        TokenCode: totpAt(seed, now()),
      }),
    );
    expect(assumed.answer.status, assumed.answer.body).toBe(200);
    expect(assumed.transactions).toBe(1);
    expect(assumed.audit).toEqual(['sts.assume_role', 'aws.call']);

    // The trust policy refuses: the valid code is used up with the refusal, so it cannot be replayed.
    inst.clock.advance(STEP_MS);
    const code = totpAt(seed, now());
    const refused = await measure('AssumeRole refused by the trust policy', () =>
      aws.sts(keys, {
        Action: 'AssumeRole',
        RoleArn: `arn:aws:iam::${account.id}:role/${closed.name}`,
        RoleSessionName: 'oncall-2',
        SerialNumber: serial,
        TokenCode: code,
      }),
    );
    expect(refused.answer.code).toBe('AccessDenied');
    expect(refused.audit).toEqual(['sts.assume_role', 'aws.call']);
    const replay = await aws.sts(keys, { Action: 'GetSessionToken', SerialNumber: serial, TokenCode: code });
    expect(replay.code).toBe('AccessDenied');
  });
});
