/**
 * Stand-ins for the outside world of delivery, on loopback: a real SMTP server (smtp-server)
 * whose received mail is parsed with mailparser, and an SMS provider that answers like a REST
 * messaging API (form-encoded POST with basic auth). Tests read the messages and follow links.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Transports } from '../../src/app/delivery.js';
import type { Installation } from '../../src/installation.js';

/** One received e-mail. */
export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
  messageId: string;
}

/** A loopback SMTP server. */
export interface Mailbox {
  port: number;
  mails: ReceivedMail[];
  /** Mails to an address (case-insensitive). */
  to(address: string): ReceivedMail[];
  /** Holds the answer to DATA until `release()` (to simulate a crash mid-delivery). */
  hold(): void;
  release(): void;
  /** Called when a message has arrived (before answering). */
  onMessage: ((mail: ReceivedMail) => void) | null;
  close(): Promise<void>;
}

/** Starts an SMTP server on 127.0.0.1 (no TLS, no auth: the loopback relay case). */
export async function startMailbox(): Promise<Mailbox> {
  const mails: ReceivedMail[] = [];
  let held: Array<() => void> | null = null;
  const box: Mailbox = {
    port: 0,
    mails,
    to: (address) => mails.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase())),
    hold: () => {
      held = [];
    },
    release: () => {
      const waiting = held ?? [];
      held = null;
      for (const go of waiting) go();
    },
    onMessage: null,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const mail: ReceivedMail = {
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            messageId: parsed.messageId ?? '',
          };
          mails.push(mail);
          box.onMessage?.(mail);
          if (held !== null) held.push(() => callback());
          else callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  box.port = (server.server.address() as AddressInfo).port;
  return box;
}

/** The first link in a text whose path starts with `path`, as path + query. */
export function linkIn(text: string, path: string): string {
  const match = new RegExp(`https?://[^\\s/]+(${path.replace(/\//g, '\\/')}[^\\s]*)`).exec(text);
  if (match === null) throw new Error(`no ${path} link in:\n${text}`);
  return match[1]!;
}

/** One request the SMS stand-in received. */
export interface ReceivedSms {
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  form: Record<string, string>;
  raw: string;
  headers: IncomingMessage['headers'];
}

/** A loopback HTTP server standing in for an SMS provider (or any webhook receiver). */
export interface HttpStandIn {
  url: string;
  requests: ReceivedSms[];
  /** The next `n` requests answer with this status (then 201 again). */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

/** Starts an HTTP stand-in on 127.0.0.1 that records every request. */
export async function startHttpStandIn(): Promise<HttpStandIn> {
  const requests: ReceivedSms[] = [];
  let failures = 0;
  let failStatus = 500;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const contentType = req.headers['content-type'];
      requests.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        contentType,
        form: contentType?.startsWith('application/x-www-form-urlencoded')
          ? Object.fromEntries(new URLSearchParams(raw))
          : {},
        raw,
        headers: req.headers,
      });
      if (failures > 0) {
        failures--;
        res.writeHead(failStatus, { 'content-type': 'application/json' }).end('{"message":"unavailable"}');
        return;
      }
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end('{"sid":"SM00000000000000000000000000000000","status":"queued"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(n, status = 500) {
      failures = n;
      failStatus = status;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let deliveryPass = 0;

/**
 * Runs the delivery worker of an installation until nothing is due (what the background job does
 * in a server, on demand): tests then read what the mailbox and the SMS stand-in received.
 */
export async function deliverAll(
  inst: Installation,
  input: { transports: Transports; publicUrl: string },
): Promise<void> {
  for (;;) {
    const r = await inst.app.deliverDue({
      transports: input.transports,
      publicUrl: input.publicUrl,
      claimId: `test-${process.pid}-${++deliveryPass}`,
      leaseMs: 60_000,
      maxAttempts: 5,
      backoffBaseMs: 1000,
      backoffMaxMs: 60_000,
    });
    if (r.sent + r.retried + r.failed === 0) return;
  }
}

/**
 * The delivery settings that send e-mail to `mailbox` and text messages to the `sms` stand-in
 * (Twilio-shaped); `accountSid` tells suites apart in the stand-in's requests.
 */
export function deliveryEnv(mailbox: Mailbox, sms: HttpStandIn, accountSid: string): Record<string, string> {
  return {
    HOLDFAST_SMTP_HOST: '127.0.0.1',
    HOLDFAST_SMTP_PORT: String(mailbox.port),
    HOLDFAST_SMTP_TLS: 'none',
    HOLDFAST_SMS_PROVIDER: 'twilio',
    HOLDFAST_SMS_URL: sms.url,
    HOLDFAST_SMS_ACCOUNT_SID: accountSid,
    HOLDFAST_SMS_AUTH_TOKEN: 'test-sms-auth-token',
    HOLDFAST_SMS_FROM: '+15005550006',
  };
}
