/**
 * Delivery of the transactional outbox (src/app/delivery.ts) and its transports: signed webhooks
 * (verified the way docs/alerts.md tells receivers to), the SMS adapters against a loopback
 * stand-in of the provider, retries with exponential backoff, claims that keep two workers off
 * the same message, and secrets dropped once delivered. SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyPrincipal, writeAudit } from '../../src/app/deps.js';
import { backoffDelay } from '../../src/app/delivery.js';
import { startBackgroundJobs, transportsFor } from '../../src/background.js';
import { loadDeliveryConfig } from '../../src/config/delivery-config.js';
import { queueMessage } from '../../src/app/recovery-support.js';
import { systemRandom } from '../../src/platform/system.js';
import { twilioSender, webhookSmsSender } from '../../src/platform/sms.js';
import {
  postSignedWebhook,
  signWebhook,
  verifyWebhook,
  SIGNATURE_HEADER,
} from '../../src/platform/webhooks.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { startHttpStandIn, startMailbox, type HttpStandIn, type Mailbox } from '../helpers/mailbox.js';
import { PASSWORD } from '../helpers/mfa.js';

const SECRET = 'whsec_test_0123456789abcdef';

describe('signed webhooks', () => {
  let receiver: HttpStandIn;
  beforeAll(async () => {
    receiver = await startHttpStandIn();
  });
  afterAll(() => receiver.close());

  it('signs timestamp and body with HMAC-SHA256; receivers reject tampering, old timestamps and junk', () => {
    const body = '{"ruleId":"HF-RESET"}';
    const header = signWebhook(SECRET, 1_700_000_000, body);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    const check = (over: Partial<Parameters<typeof verifyWebhook>[0]>) =>
      verifyWebhook({ secret: SECRET, header, body, nowSeconds: 1_700_000_010, ...over });
    expect(check({})).toBeNull();
    expect(check({ body: '{"ruleId":"HF-RESEt"}' })).toBe('bad_signature');
    expect(check({ secret: 'another secret of some length' })).toBe('bad_signature');
    expect(check({ nowSeconds: 1_700_000_000 + 301 })).toBe('stale');
    expect(check({ nowSeconds: 1_700_000_000 - 301 })).toBe('stale');
    expect(check({ nowSeconds: 1_700_000_000 + 300 })).toBeNull();
    expect(check({ header: undefined })).toBe('malformed');
    expect(check({ header: 't=1700000000,v1=zz' })).toBe('malformed');
    // A signature for another timestamp does not move to this one.
    const moved = header.replace('t=1700000000', 't=1700000005');
    expect(check({ header: moved })).toBe('bad_signature');
  });

  it('posts JSON with the signature header; the receiver verifies the raw bytes it got', async () => {
    const now = Math.floor(Date.now() / 1000);
    await postSignedWebhook({
      url: `${receiver.url}/hooks`,
      secret: SECRET,
      body: '{"a":1}',
      nowSeconds: now,
      messageId: 'msg_1',
    });
    const got = receiver.requests.at(-1)!;
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['holdfast-message-id']).toBe('msg_1');
    const header = got.headers[SIGNATURE_HEADER] as string;
    expect(
      verifyWebhook({ secret: SECRET, header, body: got.raw, nowSeconds: Math.floor(Date.now() / 1000) }),
    ).toBeNull();
    receiver.failNext(1, 503);
    await expect(
      postSignedWebhook({
        url: receiver.url,
        secret: SECRET,
        body: '{}',
        nowSeconds: now,
        messageId: 'msg_2',
      }),
    ).rejects.toThrow(/503/);
  });
});

describe('SMS adapters against a loopback provider', () => {
  let provider: HttpStandIn;
  beforeAll(async () => {
    provider = await startHttpStandIn();
  });
  afterAll(() => provider.close());

  it('sends a form-encoded POST with basic auth to the Messages resource', async () => {
    const sender = twilioSender({
      provider: 'twilio',
      baseUrl: provider.url,
      accountSid: 'AC0123456789abcdef',
      authToken: 'auth-token-1',
      from: '+15005550006',
    });
    await sender.send({
      to: '+14155550100',
      body: 'Holdfast account recovery code: 123456.',
      messageId: 'msg_x',
    });
    const got = provider.requests.at(-1)!;
    expect(got.path).toBe('/2010-04-01/Accounts/AC0123456789abcdef/Messages.json');
    expect(got.contentType).toBe('application/x-www-form-urlencoded');
    expect(Buffer.from(got.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe(
      'AC0123456789abcdef:auth-token-1',
    );
    expect(got.form).toEqual({
      To: '+14155550100',
      From: '+15005550006',
      Body: 'Holdfast account recovery code: 123456.',
    });
    provider.failNext(1, 429);
    await expect(sender.send({ to: '+14155550100', body: 'x', messageId: 'msg_y' })).rejects.toThrow(/429/);
  });

  it('the webhook adapter posts signed JSON', async () => {
    const sender = webhookSmsSender({ provider: 'webhook', url: `${provider.url}/sms`, secret: SECRET });
    await sender.send({ to: '+14155550100', body: 'code 654321', messageId: 'msg_z' });
    const got = provider.requests.at(-1)!;
    expect(JSON.parse(got.raw)).toEqual({ to: '+14155550100', body: 'code 654321', messageId: 'msg_z' });
    expect(
      verifyWebhook({
        secret: SECRET,
        header: got.headers[SIGNATURE_HEADER] as string,
        body: got.raw,
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
    ).toBeNull();
  });
});

describe('backoff', () => {
  it('doubles from the base up to the cap, within ±20 % jitter', () => {
    for (let attempts = 1; attempts <= 12; attempts++) {
      const expected = Math.min(60_000, 1000 * 2 ** (attempts - 1));
      for (let i = 0; i < 20; i++) {
        const d = backoffDelay({ random: systemRandom }, { attempts, baseMs: 1000, maxMs: 60_000 });
        expect(d).toBeGreaterThanOrEqual(Math.floor(expected * 0.8));
        expect(d).toBeLessThanOrEqual(Math.ceil(expected * 1.2));
      }
    }
  });
});

describe.each(DATABASE_KINDS)('the outbox worker [$name]', ({ name }) => {
  let inst: TestInstallation;
  let hook: HttpStandIn;
  let accountId: string;
  let userId: string;
  let pass = 0;

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    hook = await startHttpStandIn();
    ({ accountId, userId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'o@acme.test',
      password: PASSWORD,
    }));
  });
  afterAll(async () => {
    await inst?.destroy();
    await hook?.close();
  });

  const received: string[] = [];
  const transports = () => ({
    webhook: {
      send: async (m: { url: string; body: string; messageId: string }) => {
        await postSignedWebhook({
          url: m.url,
          secret: SECRET,
          body: m.body,
          nowSeconds: 0,
          messageId: m.messageId,
        });
        received.push(m.messageId);
      },
    },
  });
  const run = () =>
    inst.app.deliverDue({
      transports: transports(),
      publicUrl: 'http://x',
      claimId: `t-${++pass}`,
      leaseMs: 30_000,
      maxAttempts: 3,
      backoffBaseMs: 1000,
      backoffMaxMs: 10_000,
    });
  const queue = (secret?: string) =>
    inst.store.transaction((tx) =>
      queueMessage(inst.app.deps, tx, {
        accountId,
        principalId: userId,
        channel: 'webhook',
        template: 'alert',
        recipient: `${hook.url}/alerts`,
        payload: { ruleId: 'HF-TEST' },
        ...(secret === undefined ? {} : { secret }),
      }),
    );
  const row = async (id: string) =>
    (await inst.store.outbox.list({ limit: 10_000 })).find((m) => m.id === id)!;

  it('retries a failing delivery with backoff and drops the sealed secret once sent', async () => {
    const id = await queue('hfv_secret_token_value');
    expect(typeof (await row(id)).payload.sealedSecret).toBe('string');
    hook.failNext(2, 500);
    expect(await run()).toEqual({ sent: 0, retried: 1, failed: 0 });
    const first = await row(id);
    expect(first.attempts).toBe(1);
    expect(first.nextAttemptAt! - inst.clock.now()).toBeGreaterThanOrEqual(800);
    expect(await run()).toEqual({ sent: 0, retried: 0, failed: 0 }); // not due yet
    inst.clock.advance(1200);
    expect(await run()).toEqual({ sent: 0, retried: 1, failed: 0 });
    expect((await row(id)).nextAttemptAt! - inst.clock.now()).toBeGreaterThanOrEqual(1600);
    inst.clock.advance(2400);
    expect(await run()).toEqual({ sent: 1, retried: 0, failed: 0 });
    const sent = await row(id);
    expect(sent.sentAt).not.toBeNull();
    expect(sent.attempts).toBe(3);
    expect(sent.payload.sealedSecret).toBeUndefined();
    expect(JSON.stringify(await inst.store.outbox.list({ limit: 10_000 }))).not.toContain(
      'hfv_secret_token_value',
    );
  });

  it('gives up after the attempt limit', async () => {
    const id = await queue();
    hook.failNext(3, 500);
    await run();
    inst.clock.advance(10_000);
    await run();
    inst.clock.advance(10_000);
    expect(await run()).toEqual({ sent: 0, retried: 0, failed: 1 });
    expect((await row(id)).failedAt).not.toBeNull();
    inst.clock.advance(60_000);
    expect(await run()).toEqual({ sent: 0, retried: 0, failed: 0 });
  });

  it('never lets two workers claim the same message, and frees a crashed claim after its lease', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++) ids.add(await queue());
    const now = inst.clock.now();
    const claim = (claimId: string) =>
      inst.store.transaction((tx) =>
        tx.outbox.claimDue({ now, limit: 20, claimId, leaseMs: 5000, channels: ['webhook'] }),
      );
    const [a, b] = await Promise.all([claim('wa'), claim('wb')]);
    const aIds = a.map((m) => m.id);
    const bIds = b.map((m) => m.id);
    expect(aIds.filter((x) => bIds.includes(x))).toEqual([]);
    expect(new Set([...aIds, ...bIds])).toEqual(ids);
    // Neither worker finishes (crash): nothing is claimable until the lease runs out.
    expect(await claim('wc')).toEqual([]);
    inst.clock.advance(5001);
    const again = await inst.store.transaction((tx) =>
      tx.outbox.claimDue({
        now: inst.clock.now(),
        limit: 100,
        claimId: 'wd',
        leaseMs: 5000,
        channels: ['webhook'],
      }),
    );
    expect(new Set(again.map((m) => m.id))).toEqual(ids);
    // The crashed worker's late "sent" no longer counts: its claim is gone.
    expect(
      await inst.store.outbox.markSent({ id: aIds[0]!, claimId: 'wa', now: inst.clock.now(), payload: {} }),
    ).toBe(false);
  });

  it('sends alerts to the configured webhooks, signed, once per rule and event', async () => {
    await inst.store.transaction((tx) =>
      writeAudit(inst.app.deps, tx, {
        actor: { kind: 'operator' },
        ctx: { requestId: 'r', sourceIp: null, userAgent: null },
        fact: { accountId, action: 'reset.request', target: userId, details: { evidence: ['id_document'] } },
      }),
    );
    const url = `${hook.url}/alerts-endpoint`;
    expect((await inst.app.scanForAlerts({ webhooks: [url] })).raised).toBeGreaterThanOrEqual(1);
    expect((await inst.app.scanForAlerts({ webhooks: [url] })).raised).toBe(0);
    const config = loadDeliveryConfig({ HOLDFAST_ALERT_WEBHOOK_URLS: url, HOLDFAST_WEBHOOK_SECRET: SECRET });
    const { transports } = transportsFor(config);
    await inst.app.deliverDue({
      transports,
      publicUrl: 'http://x',
      claimId: `t-${++pass}`,
      leaseMs: 30_000,
      maxAttempts: 3,
      backoffBaseMs: 1000,
      backoffMaxMs: 10_000,
    });
    const got = hook.requests.filter((r) => r.path === '/alerts-endpoint');
    const reset = got
      .map((r) => ({ r, body: JSON.parse(r.raw) as { ruleId: string } }))
      .find((x) => x.body.ruleId === 'HF-RESET');
    expect(reset).toBeDefined();
    const header = reset!.r.headers[SIGNATURE_HEADER] as string;
    expect(
      verifyWebhook({
        secret: SECRET,
        header,
        body: reset!.r.raw,
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
    ).toBeNull();
    expect(
      verifyWebhook({
        secret: 'not the secret at all!!',
        header,
        body: reset!.r.raw,
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
    ).toBe('bad_signature');
  });
});

describe.each(DATABASE_KINDS)('the delivery worker of a running server, over SMTP [$name]', ({ name }) => {
  let inst: TestInstallation;
  let mailbox: Mailbox;

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    mailbox = await startMailbox();
  });
  afterAll(async () => {
    await inst?.destroy();
    await mailbox?.close();
  });

  it('delivers what the outbox holds with its own claim ids (wrk_<uuid>:<pass>) to a real SMTP server', async () => {
    const { accountId, userId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'alice@acme.test',
      password: PASSWORD,
    });
    const queued = [];
    for (const factorName of ['phone', 'key']) {
      queued.push(factorName);
      await inst.store.transaction((tx) =>
        notifyPrincipal(inst.app.deps, tx, {
          accountId,
          principalId: userId,
          template: 'factor.added',
          payload: { factorName },
        }),
      );
    }
    const failures: string[] = [];
    const log = {
      info: () => undefined,
      warn: (fields: Record<string, unknown>, message: string) =>
        failures.push(`${message} ${JSON.stringify(fields)}`),
      error: (fields: Record<string, unknown>, message: string) =>
        failures.push(`${message} ${JSON.stringify(fields)}`),
    };
    // The worker exactly as `holdfast serve` runs it.
    const jobs = startBackgroundJobs({
      app: inst.app,
      config: loadDeliveryConfig({
        HOLDFAST_SMTP_HOST: '127.0.0.1',
        HOLDFAST_SMTP_PORT: String(mailbox.port),
        HOLDFAST_SMTP_TLS: 'none',
        HOLDFAST_SMTP_FROM: 'Holdfast <holdfast@acme.test>',
        HOLDFAST_DELIVERY_POLL_MS: '50',
      }),
      publicUrl: 'http://127.0.0.1:8080',
      log,
    });
    try {
      for (
        let waited = 0;
        mailbox.to('alice@acme.test').length < queued.length && waited < 30_000;
        waited += 50
      ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await jobs.stop();
    }
    expect(failures).toEqual([]);
    const mails = mailbox.to('alice@acme.test');
    expect(mails.map((m) => m.subject)).toEqual(
      queued.map(() => 'A second factor was added to your account'),
    );
    expect(mails.map((m) => m.text).join('\n')).toContain('"phone"');
    const rows = (await inst.store.outbox.list({ limit: 100 })).filter(
      (m) => m.principalId === userId && m.template === 'factor.added',
    );
    expect(rows).toHaveLength(queued.length);
    expect(rows.every((m) => m.sentAt !== null)).toBe(true);
  }, 60_000);
});
