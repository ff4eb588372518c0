import type { AuditDetails, AuditOutcome } from '../core/audit/event.js';
import type { Clock } from '../core/clock.js';
import type { PasswordHasher, Repositories, SecretBox, Store } from '../core/ports.js';
import type { RandomSource } from '../core/random.js';
import type { Actor, RequestContext } from './context.js';

/** Settings the use cases read. */
export interface AppSettings {
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  passwordMinLength: number;
  setupTokenTtlMs: number;
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
