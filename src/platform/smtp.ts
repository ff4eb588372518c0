/**
 * E-mail over SMTP (RFC 5321) through nodemailer: implicit TLS (RFC 8314 §3.3, port 465),
 * STARTTLS required (RFC 3207, port 587), or plain (loopback relays and tests only).
 */

import type { Transporter } from 'nodemailer';
import type { SmtpConfig } from '../core/settings.js';

export type { SmtpConfig } from '../core/settings.js';

/** One e-mail. `messageId` makes a repeated delivery recognisable to receivers. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  messageId: string;
}

/** Sends e-mail; throws when the server refused it or could not be reached. */
export interface MailSender {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * A pooled SMTP sender. nodemailer loads with the first message: an installation without SMTP,
 * or a server that has nothing to send, never loads it.
 */
export function createSmtpSender(config: SmtpConfig): MailSender {
  let transport: Promise<Transporter> | undefined;
  const connect = async (): Promise<Transporter> => {
    const { default: nodemailer } = await import('nodemailer');
    return nodemailer.createTransport({
      // One connection kept open and reused: the worker sends one message at a time, and a new
      // connection per message (greeting, EHLO, QUIT) would cap delivery at a few messages a second.
      pool: true,
      maxConnections: 1,
      host: config.host,
      port: config.port,
      secure: config.tls === 'implicit',
      requireTLS: config.tls === 'starttls',
      ignoreTLS: config.tls === 'none',
      ...(config.user !== null ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
      tls: { rejectUnauthorized: config.rejectUnauthorized },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  };
  return {
    async send(message) {
      transport ??= connect();
      await (
        await transport
      ).sendMail({
        from: config.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: `<${message.messageId}@holdfast>`,
      });
    },
    close: () => {
      void transport?.then((t) => t.close());
    },
  };
}
