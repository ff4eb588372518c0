/**
 * Delivery of the transactional outbox. A worker claims due messages for a lease (so two servers
 * never send one message at the same time), sends each through its channel's transport, and
 * marks it sent, dropping the sealed secret it carried. A failure is retried with exponential
 * backoff (with jitter) until the attempt limit. A worker killed between sending and marking
 * leaves the claim to expire: the message is then sent once more, never lost; receivers can
 * recognise the repeat by its message id.
 */

import type { OutboxEntry, OutboxMessage, OutboxState } from '../core/ports.js';
import { randomInt } from '../core/random.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import type { AppDeps } from './deps.js';
import { renderMessage } from './messages.js';
import { emailAddressOf, messageSecretContext } from './recovery-support.js';

/** Where a message goes out. Absent transports leave messages of their channel in the outbox. */
export interface Transports {
  email?: { send(m: { to: string; subject: string; text: string; messageId: string }): Promise<void> };
  sms?: { send(m: { to: string; body: string; messageId: string }): Promise<void> };
  webhook?: { send(m: { url: string; body: string; messageId: string }): Promise<void> };
}

/** How the worker behaves. */
export interface DeliveryOptions {
  transports: Transports;
  publicUrl: string;
  /** This worker's claim id (unique per process and pass). */
  claimId: string;
  leaseMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  batchSize?: number;
  log?: (fields: Record<string, unknown>, message: string) => void;
}

/** The delay before retry number `attempts` (1-based): base·2^(attempts−1), capped, with ±20 % jitter. */
export function backoffDelay(
  deps: Pick<AppDeps, 'random'>,
  input: { attempts: number; baseMs: number; maxMs: number },
): number {
  const raw = Math.min(input.maxMs, input.baseMs * 2 ** Math.min(30, Math.max(0, input.attempts - 1)));
  const jitter = Math.floor(raw * 0.2);
  return Math.max(1, raw - jitter + (jitter > 0 ? randomInt(deps.random, 2 * jitter + 1) : 0));
}

function channelsOf(transports: Transports): OutboxMessage['channel'][] {
  const out: OutboxMessage['channel'][] = [];
  if (transports.email) out.push('email');
  if (transports.sms) out.push('sms');
  if (transports.webhook) out.push('webhook');
  return out;
}

async function recipientOf(deps: AppDeps, entry: OutboxEntry): Promise<string | null> {
  if (entry.recipient !== null) return entry.recipient;
  if (entry.channel !== 'email' || entry.accountId === null || entry.principalId === null) return null;
  const principal = await deps.store.principals.findById(entry.accountId, entry.principalId);
  return principal === null ? null : emailAddressOf(deps.store, principal);
}

async function sendOne(deps: AppDeps, entry: OutboxEntry, options: DeliveryOptions): Promise<void> {
  const to = await recipientOf(deps, entry);
  if (to === null) throw new Error('no recipient');
  const sealed = entry.payload.sealedSecret;
  const secret =
    typeof sealed === 'string'
      ? Buffer.from(deps.secretBox.open(sealed, messageSecretContext(entry.id))).toString('utf8')
      : null;
  const { transports } = options;
  if (entry.channel === 'webhook') {
    const { sealedSecret: _drop, ...payload } = entry.payload;
    await transports.webhook!.send({ url: to, body: JSON.stringify(payload), messageId: entry.id });
    return;
  }
  const rendered = renderMessage({
    template: entry.template,
    payload: entry.payload,
    secret,
    publicUrl: options.publicUrl,
  });
  if (entry.channel === 'sms') {
    await transports.sms!.send({ to, body: rendered.text, messageId: entry.id });
  } else {
    await transports.email!.send({ to, subject: rendered.subject, text: rendered.text, messageId: entry.id });
  }
}

/** One pass of the worker: claims due messages and sends them. */
export async function deliverDue(
  deps: AppDeps,
  options: DeliveryOptions,
): Promise<{ sent: number; retried: number; failed: number }> {
  const result = { sent: 0, retried: 0, failed: 0 };
  const channels = channelsOf(options.transports);
  const claimed = await deps.store.outbox.claimDue({
    now: deps.clock.now(),
    limit: options.batchSize ?? 20,
    claimId: options.claimId,
    leaseMs: options.leaseMs,
    channels,
  });
  // The record of one sent message is written while the next one goes out: sending waits on the
  // relay, recording on the disk, and neither needs the other. At most one record is outstanding,
  // so a crash can leave at most the message being recorded and the one being sent to go again.
  // (A failed record is kept, not left as a rejected promise, and thrown at the next wait: the
  // message's claim then runs out and it is sent once more, as after a crash.)
  let recording: Promise<void> = Promise.resolve();
  let recordFailure: { error: unknown } | null = null;
  const recorded = async () => {
    await recording;
    if (recordFailure !== null) throw recordFailure.error;
  };
  for (const entry of claimed) {
    try {
      await sendOne(deps, entry, options);
    } catch (err) {
      await recorded();
      // The error text of a transport never carries the message (secrets stay out of logs).
      const error = err instanceof Error ? err.message.slice(0, 200) : 'delivery failed';
      const attempts = entry.attempts + 1;
      const giveUp = attempts >= options.maxAttempts;
      const nextAttemptAt = giveUp
        ? null
        : deps.clock.now() +
          backoffDelay(deps, { attempts, baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs });
      await deps.store.outbox.markFailed({
        id: entry.id,
        claimId: options.claimId,
        now: deps.clock.now(),
        error,
        nextAttemptAt,
      });
      options.log?.(
        { messageId: entry.id, channel: entry.channel, template: entry.template, attempts, error, giveUp },
        'delivery failed',
      );
      if (giveUp) result.failed++;
      else result.retried++;
      continue;
    }
    await recorded();
    const { sealedSecret: _secret, ...kept } = entry.payload;
    recording = deps.store.outbox
      .markSent({ id: entry.id, claimId: options.claimId, now: deps.clock.now(), payload: kept })
      .then(
        () => {
          result.sent++;
        },
        (error: unknown) => {
          recordFailure = { error };
        },
      );
  }
  await recorded();
  return result;
}

/** Messages for `holdfast outbox list` (operator). Secrets are never shown, only whether one is held. */
export async function listOutbox(
  deps: AppDeps,
  input: { accountId?: string; pendingOnly?: boolean; limit?: number },
): Promise<
  Array<Omit<OutboxEntry, 'payload'> & { payload: OutboxMessage['payload']; holdsSecret: boolean }>
> {
  const rows = await deps.store.outbox.list({
    ...(input.accountId === undefined ? {} : { accountId: input.accountId }),
    pendingOnly: input.pendingOnly ?? false,
    limit: input.limit ?? 100,
  });
  return rows.map((r) => {
    const { sealedSecret, ...payload } = r.payload;
    return { ...r, payload, holdsSecret: typeof sealedSecret === 'string' };
  });
}

/**
 * The operator's view of one held message, rendered with its secret, for installations without
 * a transport (the embedded default): the host operator reads and hands it over out of band.
 */
export async function renderOutboxMessage(
  deps: AppDeps,
  input: { id: string; publicUrl: string },
): Promise<{ to: string | null; subject: string; text: string } | null> {
  const [entry] = (await deps.store.outbox.list({ limit: 10_000 })).filter((r) => r.id === input.id);
  if (entry === undefined) return null;
  const sealed = entry.payload.sealedSecret;
  const secret =
    typeof sealed === 'string'
      ? Buffer.from(deps.secretBox.open(sealed, messageSecretContext(entry.id))).toString('utf8')
      : null;
  const rendered = renderMessage({
    template: entry.template,
    payload: entry.payload,
    secret,
    publicUrl: input.publicUrl,
  });
  return { to: await recipientOf(deps, entry), ...rendered };
}

/** One outbox message as an administrator sees it: where it goes and how delivery went, never its contents. */
export interface OutboxMessageView {
  id: string;
  channel: OutboxMessage['channel'];
  template: string;
  state: OutboxState;
  /** The address or number; a webhook only by its origin (its path may carry a token). */
  recipient: string | null;
  principalId: string | null;
  /** The recipient's login name, when the message is for a principal. */
  principalName: string | null;
  /** The recovery or reset request the message is about, if any (so a reset can say who was told). */
  requestId: string | null;
  /** Whether the message carries a link, code or grant (sealed; dropped once delivered). */
  holdsSecret: boolean;
  attempts: number;
  createdAt: number;
  sentAt: number | null;
  failedAt: number | null;
  nextAttemptAt: number | null;
  lastError: string | null;
}

function stateOf(entry: OutboxEntry): OutboxState {
  if (entry.sentAt !== null) return 'sent';
  return entry.failedAt !== null ? 'failed' : 'pending';
}

function shownRecipient(entry: OutboxEntry): string | null {
  if (entry.recipient === null || entry.channel !== 'webhook') return entry.recipient;
  try {
    return new URL(entry.recipient).origin;
  } catch {
    return null;
  }
}

/** The most messages one page of the outbox holds. */
export const OUTBOX_PAGE_MAX = 100;

/**
 * The account's outbox for its administrators, newest first, one page at a time: recipient,
 * kind, delivery state, attempts, next attempt and last error. The payload (where links, codes
 * and grants travel sealed) never leaves: only whether a secret is held, and the request a
 * recovery or reset message is about.
 */
export async function listOutboxMessages(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    state?: OutboxState;
    limit?: number;
    offset?: number;
  },
): Promise<{ messages: OutboxMessageView[]; hasMore: boolean }> {
  await authorize(deps, input.actor, ACTIONS.ListOutboxMessages, { accountId: input.accountId }, input.ctx);
  const limit = Math.min(OUTBOX_PAGE_MAX, Math.max(1, input.limit ?? 50));
  // One row past the page says whether another page follows, without counting the table.
  const rows = await deps.store.outbox.list({
    accountId: input.accountId,
    ...(input.state === undefined ? {} : { state: input.state }),
    limit: limit + 1,
    offset: Math.max(0, input.offset ?? 0),
  });
  const page = rows.slice(0, limit);
  const names = new Map<string, string | null>();
  for (const id of new Set(page.map((r) => r.principalId).filter((id): id is string => id !== null))) {
    names.set(id, (await deps.store.principals.findById(input.accountId, id))?.username ?? null);
  }
  return {
    hasMore: rows.length > limit,
    messages: page.map((r) => ({
      id: r.id,
      channel: r.channel,
      template: r.template,
      state: stateOf(r),
      recipient: shownRecipient(r),
      principalId: r.principalId,
      principalName: r.principalId === null ? null : (names.get(r.principalId) ?? null),
      requestId: typeof r.payload.requestId === 'string' ? r.payload.requestId : null,
      holdsSecret: typeof r.payload.sealedSecret === 'string',
      attempts: r.attempts,
      createdAt: r.createdAt,
      sentAt: r.sentAt,
      failedAt: r.failedAt,
      nextAttemptAt: r.nextAttemptAt,
      lastError: r.lastError,
    })),
  };
}
