/**
 * The `aws.call` record of the AWS-compatible API, attacked through the real server (`inject`) on
 * SQLite and PostgreSQL:
 * - a change and the record of the call that made it commit together: a fault between the two
 *   leaves neither; a successful change has its call record in the same transaction;
 * - an ARN as long as IAM allows (2,000 characters) gets its refusal, audited, never a 500;
 * - an attacker sending 1,000 badly signed calls from one address writes a bounded number of
 *   audit rows, and the trail still says who was refused and how often.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/create-app.js';
import { flushRefusalSummaries, REFUSAL_WINDOW_MS } from '../../src/app/deps.js';
import type { Repositories, Store } from '../../src/core/ports.js';
import type { AuditRecord } from '../../src/core/audit/event.js';
import { buildServer } from '../../src/http/server.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { createTestInstallation, type TestInstallation } from '../helpers/installation.js';

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

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A Query API call signed as the SDKs sign it, at `time`. */
async function signed(input: { service: 'iam' | 'sts'; body: string; keys: Keys; time: number }) {
  const signer = new SignatureV4({
    credentials: input.keys,
    region: 'eu-west-1',
    service: input.service,
    sha256: NodeSha256 as never,
  });
  const request = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 8080,
      path: '/',
      query: {},
      headers: { host: '127.0.0.1:8080', 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: input.body,
    },
    { signingDate: new Date(input.time) },
  );
  return { headers: request.headers as Record<string, string>, body: input.body };
}

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe.each(DATABASE_KINDS)('the record of an AWS call [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: Awaited<ReturnType<typeof buildServer>>;
  let app: ReturnType<typeof createApp>;
  let accountId: string;
  let keys: Keys;
  /** Injected between the change and its commit: the call's record fails to append. */
  let faultOnCallRecord = false;
  /** The audit actions each transaction appended, in order. */
  const transactions: string[][] = [];

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    const ctx = { requestId: 'setup', sourceIp: null, userAgent: 'test' };
    const boot = await inst.app.bootstrapAccount({ accountName: 'acme', ownerEmail: 'owner@acme.test', ctx });
    accountId = boot.account.id;
    const admin = await inst.app.createAdminWithAccessKey({ ctx, accountId, username: 'ops' });
    keys = { accessKeyId: admin.key.id, secretAccessKey: admin.secretAccessKey };
    // The same app over a store whose transactions can fail at the call's record (the test hook).
    const base = inst.app.deps.store;
    const store: Store = {
      ...base,
      transaction: (work) =>
        base.transaction((tx) => {
          const appended: string[] = [];
          transactions.push(appended);
          const audit: Repositories['audit'] = {
            ...tx.audit,
            append: async (event, input) => {
              appended.push(event.action);
              if (faultOnCallRecord && event.action === 'aws.call') throw new Error('injected fault');
              return tx.audit.append(event, input);
            },
          };
          return work({ ...tx, audit });
        }),
    };
    app = createApp({ ...inst.app.deps, store });
    server = await buildServer({
      app,
      trustedProxies: [],
      publicUrl: 'http://127.0.0.1:8080',
    });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  const call = async (
    service: 'iam' | 'sts',
    params: Record<string, string>,
    options: { keys?: Keys; ip?: string } = {},
  ) => {
    const req = await signed({
      service,
      body: form(params),
      keys: options.keys ?? keys,
      time: inst.clock.now(),
    });
    return server.inject({
      method: 'POST',
      url: '/',
      headers: req.headers,
      payload: req.body,
      ...(options.ip === undefined ? {} : { remoteAddress: options.ip }),
    });
  };
  const records = (): Promise<AuditRecord[]> => inst.store.audit.scan(0, 1_000_000);
  const temporaryCredentials = async () =>
    (await inst.database.kysely.selectFrom('temporary_credentials').select('id').execute()).length;
  const getSessionToken = { Action: 'GetSessionToken', Version: '2011-06-15' };

  it('a fault between the change and its commit leaves neither the change nor a record of the call', async () => {
    const before = await temporaryCredentials();
    const recordsBefore = (await records()).length;
    faultOnCallRecord = true;
    let res;
    try {
      res = await call('sts', getSessionToken);
    } finally {
      faultOnCallRecord = false;
    }
    expect(res.statusCode).toBe(500);
    expect(res.body).toContain('<Code>ServiceFailure</Code>');
    // No credentials were issued (none reached the client, none is live), and no record says so.
    expect(await temporaryCredentials()).toBe(before);
    const after = await records();
    expect(after.length).toBe(recordsBefore);
    expect(after.filter((r) => r.action === 'sts.session_token_issue')).toHaveLength(0);
  });

  it('a successful change commits with its aws.call record, in the same transaction, right after it', async () => {
    transactions.length = 0;
    const res = await call('sts', getSessionToken);
    expect(res.statusCode).toBe(200);
    const issuedId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(res.body)![1]!;
    const withChange = transactions.filter((t) => t.includes('sts.session_token_issue'));
    expect(withChange).toEqual([['sts.session_token_issue', 'aws.call']]);
    // Exactly one aws.call for the request, and it says what was issued (never the secret).
    const all = await records();
    const change = all.find(
      (r) => r.action === 'sts.session_token_issue' && r.details.accessKeyId === issuedId,
    )!;
    const calls = all.filter(
      (r) => r.action === 'aws.call' && r.details.requestId === change.details.requestId,
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]!.seq).toBe(change.seq + 1);
    expect(calls[0]!.outcome).toBe('success');
    const response = JSON.parse(String(calls[0]!.details.responseElements)) as {
      credentials: { accessKeyId: string };
    };
    expect(response.credentials.accessKeyId).toBe(issuedId);
    expect(JSON.stringify(calls[0])).not.toContain(keys.secretAccessKey);
  });

  it('a created MFA device is named in the record of the call, committed with the device', async () => {
    transactions.length = 0;
    const res = await call('iam', {
      Action: 'CreateVirtualMFADevice',
      Version: '2010-05-08',
      VirtualMFADeviceName: 'ops-phone',
    });
    expect(res.statusCode).toBe(200);
    const serial = /<SerialNumber>([^<]+)<\/SerialNumber>/.exec(res.body)![1]!;
    expect(transactions.filter((t) => t.includes('aws.call'))).toEqual([['factor.create', 'aws.call']]);
    const record = (await records()).find(
      (r) => r.action === 'aws.call' && r.details.requestId === res.headers['x-amzn-requestid'],
    )!;
    expect(JSON.parse(String(record.details.responseElements))).toEqual({
      virtualMFADevice: { serialNumber: serial },
    });
    expect(String(record.details.responseElements)).not.toMatch(/Base32StringSeed|QRCodePNG/);
  });

  it('a read-only call and a refusal still leave one aws.call record each', async () => {
    const ok = await call('sts', { Action: 'GetCallerIdentity', Version: '2011-06-15' });
    expect(ok.statusCode).toBe(200);
    const refused = await call('iam', { Action: 'CreateUser', Version: '2010-05-08', UserName: 'mallory' });
    expect(refused.body).toContain('<Code>AccessDenied</Code>');
    const all = await records();
    for (const res of [ok, refused]) {
      const requestId = res.headers['x-amzn-requestid'];
      expect(all.filter((r) => r.action === 'aws.call' && r.details.requestId === requestId)).toHaveLength(1);
    }
    expect(await inst.store.principals.findByLogin(accountId, 'mallory')).toBeNull();
  });

  it('a 2,000-character ARN gets its refusal, audited with the ARN bounded, never a 500', async () => {
    const arn = `arn:aws:iam::${accountId}:policy/${'p'.repeat(2000 - `arn:aws:iam::${accountId}:policy/`.length)}`;
    expect(arn).toHaveLength(2000);
    const role = `arn:aws:iam::${accountId}:role/${'r'.repeat(2000 - `arn:aws:iam::${accountId}:role/`.length)}`;
    const attempts = [
      await call('iam', {
        Action: 'AttachUserPolicy',
        Version: '2010-05-08',
        UserName: 'ops',
        PolicyArn: arn,
      }),
      await call('sts', {
        Action: 'AssumeRole',
        Version: '2011-06-15',
        RoleArn: role,
        RoleSessionName: 'x1',
      }),
    ];
    const all = await records();
    for (const res of attempts) {
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.body).toMatch(/<Code>(AccessDenied|NoSuchEntity)<\/Code>/);
      const requestId = res.headers['x-amzn-requestid'];
      const own = all.filter((r) => r.details.requestId === requestId);
      expect(own.filter((r) => r.action === 'aws.call')).toHaveLength(1);
      expect(own.every((r) => r.outcome === 'failure')).toBe(true);
      for (const r of own) expect((r.target ?? '').length).toBeLessThanOrEqual(2048);
    }
    // Where the ARN is the record's target, it is there whole (it fits the column).
    expect(all.some((r) => r.target === role || r.target === arn)).toBe(true);
  });

  it('1,000 badly signed calls from one address write a bounded number of rows, and say how many', async () => {
    const stolen: Keys = {
      accessKeyId: keys.accessKeyId,
      secretAccessKey: 'not-the-secret-0123456789abcdefghijklmn',
    };
    const before = (await records()).length;
    for (let i = 0; i < 1000; i++) {
      const res = await call(
        'iam',
        { Action: 'GetUser', Version: '2010-05-08' },
        { keys: stolen, ip: '203.0.113.9' },
      );
      expect(res.body).toContain('<Code>SignatureDoesNotMatch</Code>');
      if (i === 499) inst.clock.advance(REFUSAL_WINDOW_MS + 1);
    }
    // The summaries of windows still open (as at shutdown).
    await flushRefusalSummaries(app.deps, { all: true });
    const added = (await records()).slice(before);
    const refusals = added.filter(
      (r) =>
        r.action === 'aws.call' && r.errorCode === 'SignatureDoesNotMatch' && r.sourceIp === '203.0.113.9',
    );
    expect(added.length).toBeLessThanOrEqual(10);
    const counted = refusals.reduce(
      (n, r) => n + (r.details.summary === true ? Number(r.details.repeated) : 1),
      0,
    );
    expect(counted).toBe(1000);
    expect(refusals.some((r) => r.details.summary === true && Number(r.details.repeated) >= 499)).toBe(true);
    expect(refusals.every((r) => r.accountId === accountId)).toBe(true);
    // The owner of the key still gets in.
    const ok = await call('sts', { Action: 'GetCallerIdentity', Version: '2011-06-15' });
    expect(ok.statusCode).toBe(200);
  });
});
