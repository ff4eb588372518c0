/**
 * Phone delivery through a provider's HTTP API. Phone codes are a recovery channel only, never a
 * sign-in factor (NIST SP 800-63B §5.1.3.3 restricts SMS). Two adapters:
 *
 * - `twilio`: Twilio's Programmable Messaging REST API, `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
 *   with a form-encoded body (`To`, `From`, `Body`) and HTTP basic authentication (Account SID and
 *   auth token), as Twilio documents it. The base URL is configurable (tests use a loopback stand-in).
 * - `webhook`: a JSON POST `{ "to", "body", "messageId" }` to any URL, signed like every Holdfast
 *   webhook (src/platform/webhooks.ts), for an in-house gateway.
 */

import type { SmsConfig } from '../core/settings.js';
import { postSignedWebhook } from './webhooks.js';

/** One SMS to send. */
export interface SmsMessage {
  to: string;
  body: string;
  messageId: string;
}

/** Sends SMS; throws when the provider refused or could not be reached. */
export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}

export type { SmsConfig } from '../core/settings.js';

/** The Twilio-style adapter: form-encoded POST with basic auth. */
export function twilioSender(config: Extract<SmsConfig, { provider: 'twilio' }>): SmsSender {
  const url = `${config.baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`;
  const auth = Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64');
  return {
    async send(message) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${auth}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ To: message.to, From: config.from, Body: message.body }).toString(),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`SMS provider answered HTTP ${res.status}`);
    },
  };
}

/** The generic signed-webhook adapter. */
export function webhookSmsSender(
  config: Extract<SmsConfig, { provider: 'webhook' }>,
  now: () => number = Date.now,
): SmsSender {
  return {
    send: (message) =>
      postSignedWebhook({
        url: config.url,
        secret: config.secret,
        body: JSON.stringify({ to: message.to, body: message.body, messageId: message.messageId }),
        nowSeconds: Math.floor(now() / 1000),
        messageId: message.messageId,
      }),
  };
}

/** The sender for a configuration. */
export function createSmsSender(config: SmsConfig): SmsSender {
  return config.provider === 'twilio' ? twilioSender(config) : webhookSmsSender(config);
}
