/**
 * The outbox survives a crash: a real `holdfast serve` is killed with SIGKILL while its delivery
 * worker waits for the SMTP server to accept a message. Nothing is lost: after a restart every
 * message arrives, and the one in flight arrives at most once more (its claim's lease expires,
 * then it is sent again; receivers see the same Message-ID).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { notifyPrincipal } from '../../src/app/deps.js';
import { startMailbox, type Mailbox } from '../helpers/mailbox.js';
import {
  assertCliBuilt,
  createCliTarget,
  killAllChildren,
  startServe,
  type CliTarget,
} from '../helpers/processes.js';

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('outbox delivery across a crash (SIGKILL of holdfast serve)', () => {
  let target: CliTarget;
  let mailbox: Mailbox;
  const COUNT = 5;

  beforeAll(async () => {
    assertCliBuilt();
    target = await createCliTarget('sqlite', { envKey: true });
    mailbox = await startMailbox();
    const inst = await target.open();
    try {
      const ctx = { requestId: 'seed', sourceIp: null, userAgent: 'test' };
      const { account, owner } = await inst.app.bootstrapAccount({
        accountName: 'acme',
        ownerEmail: 'owner@acme.test',
        ctx,
      });
      for (let i = 0; i < COUNT; i++) {
        await inst.store.transaction((tx) =>
          notifyPrincipal(inst.app.deps, tx, {
            accountId: account.id,
            principalId: owner.id,
            template: 'factor.added',
            payload: { factorName: `key ${i}` },
          }),
        );
      }
    } finally {
      await inst.close();
    }
  });
  afterEach(() => killAllChildren());
  afterAll(async () => {
    await killAllChildren();
    await mailbox?.close();
    await target?.cleanup();
  });

  it('loses nothing and resends the message in flight at most once', async () => {
    const env = {
      ...target.env,
      HOLDFAST_SMTP_HOST: '127.0.0.1',
      HOLDFAST_SMTP_PORT: String(mailbox.port),
      HOLDFAST_SMTP_TLS: 'none',
      HOLDFAST_DELIVERY_POLL_MS: '100',
      HOLDFAST_DELIVERY_LEASE_SECONDS: '2',
    };
    // The relay takes the first message, then the server dies before the relay says "250 OK".
    mailbox.hold();
    const first = await startServe(target.dbArgs, { env });
    await waitFor(() => mailbox.mails.length >= 1, 20_000, 'the first message');
    expect(mailbox.mails[0]!.subject).toMatch(/second factor was added/);
    const killed = await first.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const inFlight = mailbox.mails[0]!.messageId;
    mailbox.release();

    const second = await startServe(target.dbArgs, { env });
    // Only the seeded notices (the alert scanner may mail the owner about the new account too).
    const seeded = () => mailbox.mails.filter((m) => /second factor was added/.test(m.subject));
    const distinct = () => new Set(seeded().map((m) => m.messageId)).size;
    await waitFor(() => distinct() === COUNT, 30_000, 'every message');
    await second.stop();

    const counts = new Map<string, number>();
    for (const m of seeded()) counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1);
    expect(counts.size).toBe(COUNT);
    for (const [id, n] of counts) expect(n, id).toBeLessThanOrEqual(id === inFlight ? 2 : 1);
    expect(counts.get(inFlight)).toBe(2);
    for (const m of seeded()) expect(m.to).toEqual(['owner@acme.test']);

    const inst = await target.open();
    try {
      const rows = await inst.store.outbox.list({ limit: 100 });
      expect(rows.filter((r) => r.template === 'factor.added').every((r) => r.sentAt !== null)).toBe(true);
    } finally {
      await inst.close();
    }
  });
});
