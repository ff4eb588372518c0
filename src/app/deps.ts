import type { AuditDetails, AuditOutcome } from '../core/audit/event.js';
import type { Clock } from '../core/clock.js';
import type { PSKCParser } from '../platform/pskc-parser.js';
import type { VerifySettings } from '../core/factors/factor.js';
import type { OutboxMessage } from '../core/ports.js';
import type { PasswordHasher, Repositories, SecretBox, Store } from '../core/ports.js';
import type { RandomSource } from '../core/random.js';
import type { Actor, RequestContext } from './context.js';

/** Second-factor settings. */
export interface MfaSettings {
  /** Most factors one principal may hold, pending included (default 8). */
  maxFactors: number;
  /** Lifetime of a pending factor (default 10 minutes). */
  pendingTtlMs: number;
  /** Wrong codes a pending factor survives (default 5). */
  pendingMaxAttempts: number;
  /** How recent the MFA of a session must be for removal, resync, regeneration (default 15 minutes). */
  stepUpMaxAgeMs: number;
  /** Consecutive failures after which second-factor sign-in is suspended (NIST SP 800-63B §5.2.2: 100). */
  suspendAfterFailures: number;
  /** Issuer in otpauth URIs; null: the account name. */
  issuer: string | null;
  verify: VerifySettings;
}

/** The WebAuthn Relying Party (W3C WebAuthn Level 2 §5.1.3, §13.4.9: origins are checked exactly). */
export interface WebAuthnSettings {
  /** RP ID: a registrable domain suffix of the origins (`localhost` in development). */
  rpId: string;
  /** Shown by authenticators. */
  rpName: string;
  /** Exact origins browsers may report, e.g. `https://id.example.com`. */
  origins: string[];
}

/** The Relying Party of a server on `http://localhost:8080` (Chromium refuses 127.0.0.1 as RP ID). */
export const DEFAULT_WEBAUTHN_SETTINGS: WebAuthnSettings = {
  rpId: 'localhost',
  rpName: 'Holdfast',
  origins: ['http://localhost:8080'],
};

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

/** Default second-factor settings. */
export const DEFAULT_MFA_SETTINGS: MfaSettings = {
  maxFactors: 8,
  pendingTtlMs: 10 * 60_000,
  pendingMaxAttempts: 5,
  stepUpMaxAgeMs: 15 * 60_000,
  suspendAfterFailures: 100,
  issuer: null,
  verify: { totpWindow: 1, hotpLookAhead: 10, totpResyncWindow: 20, hotpResyncWindow: 100 },
};

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
      action: fact.action,
      target: fact.target,
      sourceIp: ctx.sourceIp,
      userAgent: ctx.userAgent,
      outcome: fact.outcome ?? 'success',
      errorCode: fact.errorCode ?? null,
      details: { requestId: ctx.requestId, ...(fact.details ?? {}) },
    },
    { now: deps.clock.now(), eventId: newId(deps, 'evt_') },
  );
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
