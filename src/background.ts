/**
 * The background jobs of a server process: the outbox delivery worker, the scheduler that ends
 * waiting periods of recovery and resets, the alert scanner, the audit checkpoints and the
 * retention job that prunes what has expired. Each loop runs one pass at a
 * time (never overlapping itself), survives its own errors, and stops cleanly: `stop()` waits
 * for the pass in flight.
 */

import { randomUUID } from 'node:crypto';
import type { App } from './app/create-app.js';
import type { Transports } from './app/delivery.js';
import type { DeliveryConfig } from './config/delivery-config.js';
import { createSmsSender } from './platform/sms.js';
import { createSmtpSender, type MailSender } from './platform/smtp.js';
import { postSignedWebhook } from './platform/webhooks.js';

/** A logger shape (pino's). */
export interface JobLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Running jobs. */
export interface BackgroundJobs {
  stop(): Promise<void>;
}

/** Builds the transports the configuration asks for (none: messages stay in the outbox). */
export function transportsFor(config: DeliveryConfig): { transports: Transports; close(): void } {
  const transports: Transports = {};
  let mail: MailSender | null = null;
  if (config.smtp !== null) {
    mail = createSmtpSender(config.smtp);
    transports.email = mail;
  }
  if (config.sms !== null) transports.sms = createSmsSender(config.sms);
  if (config.webhookSecret !== null) {
    const secret = config.webhookSecret;
    transports.webhook = {
      send: (m) =>
        postSignedWebhook({
          url: m.url,
          secret,
          body: m.body,
          nowSeconds: Math.floor(Date.now() / 1000),
          messageId: m.messageId,
        }),
    };
  }
  return { transports, close: () => mail?.close() };
}

/** Messages one delivery pass claims (sent one after another, well within a claim's lease). */
const DELIVERY_BATCH = 20;
/** The alert scanner runs at most this often, however often the delivery worker polls. */
const ALERT_SCAN_MS = 2000;
/**
 * What has expired (flows, throttle rows and known clients, WebAuthn challenges, delivered
 * outbox messages) is pruned this often (app/retention.ts, docs/operations.md).
 */
export const RETENTION_PRUNE_MS = 10 * 60_000;
/** How often the server signs the audit chain's head when it moved (docs/audit-log.md). */
export const AUDIT_CHECKPOINT_MS = 60_000;
/**
 * How often the server links unsealed audit records into the chain (PostgreSQL; each commit
 * already asks for a pass at once, this catches the records of a process that stopped first).
 */
export const AUDIT_SEAL_MS = 1000;

/**
 * Runs `pass` every `everyMs`, one at a time. A pass that resolves `true` has more work waiting
 * (a full batch): the next one starts at once instead of after the interval.
 */
function loop(name: string, everyMs: number, pass: () => Promise<boolean | void>, log: JobLogger) {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = pass()
      .then((more) => more === true)
      .catch((err: unknown) => {
        log.error({ job: name, err: err instanceof Error ? err.message : String(err) }, 'job failed');
        return false;
      })
      .then((more) => {
        if (!stopped) timer = setTimeout(tick, more ? 0 : everyMs);
      });
  };
  timer = setTimeout(tick, Math.min(everyMs, 200));
  return async () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    await running;
  };
}

/**
 * Signs the audit chain's head when it moved. When the latest genuine checkpoint no longer
 * matches the chain (records cut off the end, or rewritten), says so loudly: `holdfast audit
 * verify` names the details.
 */
export async function checkpointAudit(app: App, log: JobLogger): Promise<void> {
  const { inconsistent } = await app.writeAuditCheckpoint();
  if (inconsistent !== null) {
    log.error(
      { job: 'audit-checkpoint', problem: inconsistent.kind, seq: inconsistent.seq },
      'the audit log no longer matches its latest signed checkpoint: run holdfast audit verify',
    );
  }
}

/** Prunes what has expired; says how much went when anything did. */
export async function pruneExpired(app: App, log: JobLogger): Promise<void> {
  const pruned = await app.pruneExpired();
  if (Object.values(pruned).some((n) => n > 0))
    log.info({ job: 'retention', ...pruned }, 'expired rows pruned');
}

/**
 * Starts the delivery worker, the waiting-period scheduler, the alert scanner, the audit
 * checkpoints and the retention job.
 */
export function startBackgroundJobs(input: {
  app: App;
  config: DeliveryConfig;
  publicUrl: string;
  log: JobLogger;
  /** Interval of the audit checkpoint job (default: every minute). */
  checkpointMs?: number;
  /** Interval of the retention job (default: every ten minutes). */
  retentionMs?: number;
}): BackgroundJobs {
  const { app, config, log } = input;
  const { transports, close } = transportsFor(config);
  const workerId = `wrk_${randomUUID()}`;
  let pass = 0;
  let lastReported = 0;
  const deliver = async () => {
    pass++;
    const done = await app.deliverDue({
      transports,
      publicUrl: input.publicUrl,
      claimId: `${workerId}:${pass}`,
      leaseMs: config.leaseMs,
      maxAttempts: config.maxAttempts,
      backoffBaseMs: config.backoffBaseMs,
      backoffMaxMs: config.backoffMaxMs,
      batchSize: DELIVERY_BATCH,
      log: (fields, message) => log.warn(fields, message),
    });
    // A full batch: more may be due; drain it now (the held-message report waits for a quiet pass).
    if (done.sent + done.retried + done.failed >= DELIVERY_BATCH) return true;
    // Without a transport, say what is waiting (ids and templates only, never content).
    const held = (await app.listOutbox({ pendingOnly: true, limit: 50 })).filter(
      (m) => m.createdAt > lastReported && !(m.channel in transports),
    );
    for (const m of held.reverse()) {
      log.info(
        { messageId: m.id, channel: m.channel, template: m.template, accountId: m.accountId },
        'message kept in the outbox: no transport configured for its channel (holdfast outbox list)',
      );
      lastReported = Math.max(lastReported, m.createdAt);
    }
    return false;
  };
  const stops = [
    loop('delivery', config.pollMs, deliver, log),
    loop('scheduler', config.schedulerMs, async () => void (await app.runRecoveryScheduler()), log),
    loop(
      'alerts',
      Math.min(Math.max(config.pollMs, ALERT_SCAN_MS), config.schedulerMs),
      async () => void (await app.scanForAlerts({ webhooks: config.alertWebhooks })),
      log,
    ),
    loop('retention', input.retentionMs ?? RETENTION_PRUNE_MS, () => pruneExpired(app, log), log),
    loop('audit-checkpoint', input.checkpointMs ?? AUDIT_CHECKPOINT_MS, () => checkpointAudit(app, log), log),
    loop('audit-seal', AUDIT_SEAL_MS, async () => void (await app.deps.store.sealAudit()), log),
  ];
  return {
    async stop() {
      await Promise.all(stops.map((s) => s()));
      close();
    },
  };
}
