import type { AuditDetails, AuditOutcome } from '../core/audit/event.js';
import type { Clock } from '../core/clock.js';
import type { PSKCParser } from '../core/factors/pskc/parse-pskc.js';
import type { WebAuthnCeremonies } from '../core/factors/webauthn/ceremonies.js';
import type { OutboxMessage } from '../core/ports.js';
import type { PasswordHasher, QrCodeRenderer, Repositories, SecretBox, Store } from '../core/ports.js';
import type { RandomSource } from '../core/random.js';
import type { MfaSettings, WebAuthnSettings } from '../core/settings.js';
import type { Actor, RequestContext } from './context.js';

export {
  DEFAULT_MFA_SETTINGS,
  DEFAULT_WEBAUTHN_SETTINGS,
  type MfaSettings,
  type WebAuthnSettings,
} from '../core/settings.js';

/** Settings the use cases read. */
export interface AppSettings {
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  passwordMinLength: number;
  setupTokenTtlMs: number;
  mfa: MfaSettings;
  /** WebAuthn Relying Party; DEFAULT_WEBAUTHN_SETTINGS when absent. */
  webauthn?: WebAuthnSettings;
}

/** Everything the app layer needs, injected (DESIGN.md convention 5). */
export interface AppDeps {
  store: Store;
  clock: Clock;
  random: RandomSource;
  secretBox: SecretBox;
  passwords: PasswordHasher;
  /** Installation secret for keyed hashes (CSRF tokens, later recovery codes). */
  pepper: Uint8Array;
  commonPasswords: ReadonlySet<string>;
  /** PSKC (RFC 6030) parsing, run off the event loop by the installation. */
  parsePSKC: PSKCParser;
  /** QR codes of otpauth key URIs for authenticator apps. */
  qrCodes: QrCodeRenderer;
  /**
   * The WebAuthn ceremonies. The library and its ASN.1/X.509 dependencies load on the first
   * ceremony, not at start-up: most processes (CLI commands, servers whose users use codes)
   * never need them.
   */
  webauthn: () => Promise<WebAuthnCeremonies>;
  settings: AppSettings;
}

/** Random id with a readable prefix, e.g. `ses_…` (128 bits). */
export function newId(deps: Pick<AppDeps, 'random'>, prefix: string): string {
  return prefix + Buffer.from(deps.random.bytes(16)).toString('base64url');
}

/** A fact for the audit log, in the caller's words. */
export interface AuditFact {
  accountId: string | null;
  action: string;
  target: string | null;
  outcome?: AuditOutcome;
  errorCode?: string | null;
  details?: AuditDetails;
}

/**
 * Widths of the audit columns (storage enforces them on PostgreSQL). An audit write must never
 * change the answer of the command it records, so what is written is bounded here: longer
 * values are cut and end with a marker saying how much was left out.
 */
export const AUDIT_LIMITS = {
  action: 64,
  target: 2048,
  sourceIp: 64,
  userAgent: 512,
  errorCode: 64,
} as const;

/** `value` cut to `max` characters, ending with `…[+N]` (N characters left out) when cut. */
export function boundText(value: string, max: number): string {
  if (value.length <= max) return value;
  let keep = max - 12;
  // Never split a surrogate pair.
  if (keep > 0 && /[\uD800-\uDBFF]/.test(value[keep - 1]!)) keep--;
  return `${value.slice(0, Math.max(0, keep))}…[+${value.length - Math.max(0, keep)}]`.slice(0, max);
}

const bounded = (value: string | null, max: number): string | null =>
  value === null ? null : boundText(value, max);

/** Appends one audit record inside transaction `tx`, naming actor and request. */
export async function writeAudit(
  deps: Pick<AppDeps, 'clock' | 'random'>,
  tx: Repositories,
  input: { actor: Actor | null; ctx: RequestContext; fact: AuditFact },
): Promise<void> {
  const { actor, ctx, fact } = input;
  await tx.audit.append(
    {
      accountId: fact.accountId,
      actorType: actor === null ? 'anonymous' : actor.kind === 'operator' ? 'operator' : 'principal',
      actorId: actor !== null && actor.kind === 'principal' ? actor.principal.id : null,
      action: boundText(fact.action, AUDIT_LIMITS.action),
      target: bounded(fact.target, AUDIT_LIMITS.target),
      sourceIp: bounded(ctx.sourceIp, AUDIT_LIMITS.sourceIp),
      userAgent: bounded(ctx.userAgent, AUDIT_LIMITS.userAgent),
      outcome: fact.outcome ?? 'success',
      errorCode: bounded(fact.errorCode ?? null, AUDIT_LIMITS.errorCode),
      details: { requestId: ctx.requestId, ...(fact.details ?? {}) },
    },
    { now: deps.clock.now(), eventId: newId(deps, 'evt_') },
  );
  // The record of the call that caused this change (an AWS API call) commits with the change.
  if (ctx.call !== undefined && (fact.outcome ?? 'success') === 'success') {
    await ctx.call.appendWithChange(tx, fact);
  }
}

/** How long refusals of one kind from one source are counted into one summary (1 minute). */
export const REFUSAL_WINDOW_MS = 60_000;
/** Most (action, reason, source) windows held at once; past it, refusals are written one by one. */
const MAX_REFUSAL_WINDOWS = 10_000;
/** Logins a summary names (the first ones seen in its window). */
const SUMMARY_LOGINS = 10;

interface RefusalWindow {
  startedAt: number;
  lastAt: number;
  repeated: number;
  accountId: string | null;
  action: string;
  errorCode: string | null;
  sourceIp: string | null;
  userAgent: string | null;
  requestId: string;
  logins: Set<string>;
}

interface RefusalCounter {
  windows: Map<string, RefusalWindow>;
  lastSweep: number;
}

/** One counter per store (per installation in this process). */
const refusalCounters = new WeakMap<object, RefusalCounter>();

function counterOf(deps: Pick<AppDeps, 'store'>): RefusalCounter {
  let counter = refusalCounters.get(deps.store);
  if (counter === undefined) {
    counter = { windows: new Map(), lastSweep: 0 };
    refusalCounters.set(deps.store, counter);
  }
  return counter;
}

async function writeSummary(
  deps: Pick<AppDeps, 'clock' | 'random'>,
  tx: Repositories,
  w: RefusalWindow,
): Promise<void> {
  await writeAudit(deps, tx, {
    actor: null,
    ctx: { requestId: w.requestId, sourceIp: w.sourceIp, userAgent: w.userAgent },
    fact: {
      accountId: w.accountId,
      action: w.action,
      target: null,
      outcome: 'failure',
      errorCode: w.errorCode,
      details: {
        summary: true,
        repeated: w.repeated,
        windowStart: new Date(w.startedAt).toISOString(),
        lastAt: new Date(w.lastAt).toISOString(),
        ...(w.logins.size === 0 ? {} : { logins: [...w.logins].join(',') }),
      },
    },
  });
}

/**
 * Writes, into `tx`, the summary of every refusal window that has closed (or of every window,
 * with `all`, at shutdown): how many refusals of that kind came from that source after the
 * first one, which was written on its own.
 */
export async function writeRefusalSummaries(
  deps: Pick<AppDeps, 'clock' | 'random' | 'store'>,
  tx: Repositories,
  options: { all?: boolean } = {},
): Promise<number> {
  const counter = counterOf(deps);
  const now = deps.clock.now();
  counter.lastSweep = now;
  let written = 0;
  for (const [key, w] of counter.windows) {
    if (options.all !== true && now - w.startedAt < REFUSAL_WINDOW_MS) continue;
    counter.windows.delete(key);
    if (w.repeated === 0) continue;
    await writeSummary(deps, tx, w);
    written++;
  }
  return written;
}

/** Writes the pending refusal summaries in a transaction of their own (at shutdown: `all`). */
export async function flushRefusalSummaries(
  deps: Pick<AppDeps, 'clock' | 'random' | 'store'>,
  options: { all?: boolean } = {},
): Promise<number> {
  if ((refusalCounters.get(deps.store)?.windows.size ?? 0) === 0) return 0;
  return deps.store.transaction((tx) => writeRefusalSummaries(deps, tx, options));
}

/**
 * Audits a refusal that an unauthenticated client can repeat at will (a throttled sign-in or
 * second-factor attempt, a badly signed AWS call) without one row per attempt: the first
 * refusal of an (action, error code, account, source) in a window of REFUSAL_WINDOW_MS is
 * written as usual; the next ones are counted, and one summary record (`details.summary`,
 * `details.repeated`: the count, the logins named) is written when the window has closed, with
 * the next refusal or sweep, or at shutdown. The trail still shows who was refused and how
 * often, at a bounded number of rows (OWASP Logging Cheat Sheet: log volume is an attack surface).
 */
export async function writeRefusal(
  deps: Pick<AppDeps, 'clock' | 'random' | 'store'>,
  tx: Repositories,
  input: { actor: Actor | null; ctx: RequestContext; fact: AuditFact },
): Promise<void> {
  const { ctx, fact } = input;
  const counter = counterOf(deps);
  const now = deps.clock.now();
  if (now - counter.lastSweep >= 1000) await writeRefusalSummaries(deps, tx);
  const key = JSON.stringify([fact.action, fact.errorCode ?? null, fact.accountId, ctx.sourceIp]);
  const open = counter.windows.get(key);
  const login = typeof fact.details?.login === 'string' ? fact.details.login.slice(0, 64) : null;
  if (open !== undefined && now - open.startedAt < REFUSAL_WINDOW_MS) {
    open.repeated++;
    open.lastAt = now;
    if (login !== null && open.logins.size < SUMMARY_LOGINS) open.logins.add(login);
    return;
  }
  if (open !== undefined) {
    counter.windows.delete(key);
    if (open.repeated > 0) await writeSummary(deps, tx, open);
  }
  if (counter.windows.size < MAX_REFUSAL_WINDOWS) {
    counter.windows.set(key, {
      startedAt: now,
      lastAt: now,
      repeated: 0,
      accountId: fact.accountId,
      action: fact.action,
      errorCode: fact.errorCode ?? null,
      sourceIp: ctx.sourceIp,
      userAgent: ctx.userAgent,
      requestId: ctx.requestId,
      logins: new Set(),
    });
  }
  await writeAudit(deps, tx, input);
}

/** Queues a notification to a principal in the same transaction as the change (transactional outbox). */
export async function notifyPrincipal(
  deps: Pick<AppDeps, 'clock' | 'random'>,
  tx: Repositories,
  input: { accountId: string; principalId: string; template: string; payload?: OutboxMessage['payload'] },
): Promise<void> {
  await tx.outbox.insert({
    id: newId(deps, 'msg_'),
    accountId: input.accountId,
    principalId: input.principalId,
    channel: 'email',
    template: input.template,
    payload: input.payload ?? {},
    createdAt: deps.clock.now(),
  });
}
