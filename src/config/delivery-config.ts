import { HoldfastError } from '../core/errors.js';
import type { SmsConfig, SmtpConfig } from '../core/settings.js';

export type { SmsConfig, SmtpConfig } from '../core/settings.js';

/** Delivery of the outbox, the background jobs, and alert webhooks. */
export interface DeliveryConfig {
  /** SMTP relay; null (the embedded default): e-mail stays in the outbox and is logged. */
  smtp: SmtpConfig | null;
  /** Phone provider; null: SMS stays in the outbox. */
  sms: SmsConfig | null;
  /** Alert webhooks (HOLDFAST_ALERT_WEBHOOK_URLS), signed with HOLDFAST_WEBHOOK_SECRET. */
  alertWebhooks: string[];
  webhookSecret: string | null;
  /** How often the worker looks for due messages (ms). */
  pollMs: number;
  /** How long a claimed message is reserved for the worker that claimed it (ms). */
  leaseMs: number;
  /** Attempts before a message is given up. */
  maxAttempts: number;
  /** First retry delay (ms); doubled on every failure up to `backoffMaxMs`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How often waiting periods and alert rules are checked (ms). */
  schedulerMs: number;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, [min, max]: [number, number]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new HoldfastError('CONFIG_INVALID', `${name} must be an integer from ${min} to ${max}`);
  }
  return v;
}

function smtpConfig(env: NodeJS.ProcessEnv): SmtpConfig | null {
  const host = env.HOLDFAST_SMTP_HOST;
  if (host === undefined || host === '') return null;
  const tls = (env.HOLDFAST_SMTP_TLS ?? 'starttls') as SmtpConfig['tls'];
  if (!['implicit', 'starttls', 'none'].includes(tls)) {
    throw new HoldfastError('CONFIG_INVALID', 'HOLDFAST_SMTP_TLS must be implicit, starttls or none');
  }
  return {
    host,
    port: int(env, 'HOLDFAST_SMTP_PORT', tls === 'implicit' ? 465 : 587, [1, 65535]),
    tls,
    user: env.HOLDFAST_SMTP_USER ?? null,
    password: env.HOLDFAST_SMTP_PASSWORD ?? null,
    from: env.HOLDFAST_SMTP_FROM ?? 'Holdfast <holdfast@localhost>',
    rejectUnauthorized: env.HOLDFAST_SMTP_TLS_REJECT_UNAUTHORIZED !== 'false',
  };
}

function smsConfig(env: NodeJS.ProcessEnv): SmsConfig | null {
  const provider = env.HOLDFAST_SMS_PROVIDER;
  if (provider === undefined || provider === '') return null;
  if (provider === 'twilio') {
    const { HOLDFAST_SMS_ACCOUNT_SID: sid, HOLDFAST_SMS_AUTH_TOKEN: token, HOLDFAST_SMS_FROM: from } = env;
    if (!sid || !token || !from) {
      throw new HoldfastError(
        'CONFIG_INVALID',
        'HOLDFAST_SMS_ACCOUNT_SID, HOLDFAST_SMS_AUTH_TOKEN and HOLDFAST_SMS_FROM are needed for twilio',
      );
    }
    return {
      provider,
      baseUrl: env.HOLDFAST_SMS_URL ?? 'https://api.twilio.com',
      accountSid: sid,
      authToken: token,
      from,
    };
  }
  if (provider === 'webhook') {
    if (!env.HOLDFAST_SMS_URL || !env.HOLDFAST_SMS_WEBHOOK_SECRET) {
      throw new HoldfastError(
        'CONFIG_INVALID',
        'HOLDFAST_SMS_URL and HOLDFAST_SMS_WEBHOOK_SECRET are needed',
      );
    }
    return { provider, url: env.HOLDFAST_SMS_URL, secret: env.HOLDFAST_SMS_WEBHOOK_SECRET };
  }
  throw new HoldfastError('CONFIG_INVALID', 'HOLDFAST_SMS_PROVIDER must be twilio or webhook');
}

/** Reads HOLDFAST_SMTP_*, HOLDFAST_SMS_*, HOLDFAST_ALERT_WEBHOOK_URLS and the job timings. */
export function loadDeliveryConfig(env: NodeJS.ProcessEnv): DeliveryConfig {
  const alertWebhooks = (env.HOLDFAST_ALERT_WEBHOOK_URLS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const url of alertWebhooks) {
    if (!/^https?:\/\//.test(url))
      throw new HoldfastError('CONFIG_INVALID', 'HOLDFAST_ALERT_WEBHOOK_URLS must list http(s) URLs');
  }
  const webhookSecret = env.HOLDFAST_WEBHOOK_SECRET ?? null;
  if (alertWebhooks.length > 0 && (webhookSecret === null || webhookSecret.length < 16)) {
    throw new HoldfastError(
      'CONFIG_INVALID',
      'HOLDFAST_WEBHOOK_SECRET (16 characters or more) is needed for webhooks',
    );
  }
  return {
    smtp: smtpConfig(env),
    sms: smsConfig(env),
    alertWebhooks,
    webhookSecret,
    pollMs: int(env, 'HOLDFAST_DELIVERY_POLL_MS', 250, [50, 600_000]),
    leaseMs: int(env, 'HOLDFAST_DELIVERY_LEASE_SECONDS', 60, [1, 3600]) * 1000,
    maxAttempts: int(env, 'HOLDFAST_DELIVERY_MAX_ATTEMPTS', 8, [1, 100]),
    backoffBaseMs: int(env, 'HOLDFAST_DELIVERY_BACKOFF_MS', 5000, [10, 3_600_000]),
    backoffMaxMs: int(env, 'HOLDFAST_DELIVERY_BACKOFF_MAX_MS', 3_600_000, [10, 86_400_000]),
    schedulerMs: int(env, 'HOLDFAST_SCHEDULER_INTERVAL_MS', 30_000, [50, 3_600_000]),
  };
}
