import { HoldfastError } from '../core/errors.js';
import type { Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import { RECOVERY_CODE_COUNT, recoveryCodeDriver } from '../core/factors/recovery-codes/driver.js';
import { hasMFA } from '../core/sessions/session.js';
import { ACTIONS } from './actions.js';
import { authorize, stepUpMaxAgeMs } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, notifyPrincipal, writeAudit, type AppDeps } from './deps.js';
import { requireRecentMFA } from './mfa.js';

/** Codes per set (the recovery-code driver's). */
export { RECOVERY_CODE_COUNT };

/** Recovery code status (never the codes). */
export interface RecoveryCodeStatus {
  remaining: number;
}

/** How many unused recovery codes the caller has. */
export async function recoveryCodeStatus(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx?: RequestContext },
): Promise<RecoveryCodeStatus> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.GetRecoveryCodeStatus,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  return { remaining: await deps.store.recoveryCodes.countRemaining(principal.id) };
}

/**
 * Generates a new set of 10 single-use codes (shown once, stored only as keyed hashes), replacing
 * any earlier set. Recovery codes are a backup of a factor, never a first factor: they are issued
 * only to a session verified, recently, with one of the principal's factors (not a recovery
 * code), while the principal has an enabled factor, which is decided inside the transaction that
 * writes them. The set records the session and factor it was issued from (its provenance).
 */
export async function regenerateRecoveryCodes(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext },
): Promise<string[]> {
  const { principal, session } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.RegenerateRecoveryCodes,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const maxAgeMs = stepUpMaxAgeMs(deps, await deps.store.accounts.findById(principal.accountId));
  const issuedWith =
    issuingFactor(input.actor) ??
    ((await deps.store.recoveryCodes.countRemaining(principal.id)) === 0
      ? justEnrolled(input.actor, deps.clock.now(), maxAgeMs)
      : null);
  if (issuedWith === null) {
    // A principal that has a factor is asked to step up with it (the console and CLI then retry);
    // one without a factor, or a long-term key, cannot get codes at all.
    const hasFactor = (await deps.store.factors.listByPrincipal(principal.accountId, principal.id)).some(
      (f) => f.status === 'enabled',
    );
    if (!hasFactor || (input.actor.credential ?? 'session') !== 'session') {
      return refuse(deps, input, new HoldfastError('RECOVERY_CODES_NEED_FACTOR'));
    }
    return refuse(
      deps,
      input,
      new HoldfastError('MFA_STEP_UP_REQUIRED', undefined, {
        details: { guardrail: 'G1', maxAgeSeconds: Math.floor(maxAgeMs / 1000) },
      }),
    );
  }
  // G1: a recent MFA, as for every factor-sensitive change (or the first factor, proved just now).
  if (issuedWith !== session.auth.enrolled?.factorId || hasMFA(session))
    await requireRecentMFA(deps, session);
  const { codes, hashes } = recoveryCodeDriver.beginEnrolment({
    random: deps.random,
    pepper: deps.pepper,
    principalId: principal.id,
  });
  const written = await deps.store.transaction(async (tx) => {
    // Decided here, with the write: a factor removed a moment ago does not leave codes behind.
    const factors = await tx.factors.listByPrincipal(principal.accountId, principal.id);
    if (!factors.some((f) => f.status === 'enabled')) return false;
    // Issued on the strength of a factor: it must still be enabled now.
    if (!factors.some((f) => f.id === issuedWith && f.status === 'enabled')) return false;
    await tx.recoveryCodes.replaceSet({
      accountId: principal.accountId,
      principalId: principal.id,
      codes: hashes.map((codeHash) => ({ id: newId(deps, 'rc_'), codeHash })),
      now: deps.clock.now(),
      issued: { factorId: issuedWith, sessionId: session.id },
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: principal.accountId,
        action: 'recovery_code.regenerate',
        target: principal.id,
        details: { count: codes.length, issuedWithFactor: issuedWith },
      },
    });
    await notifyPrincipal(deps, tx, {
      accountId: principal.accountId,
      principalId: principal.id,
      template: 'recovery_code.regenerated',
    });
    return true;
  });
  if (!written) return refuse(deps, input, new HoldfastError('RECOVERY_CODES_NEED_FACTOR'));
  return codes;
}

/**
 * The factor an MFA session was verified with, when it can issue recovery codes: an MFA session
 * (not an access key) whose second factor was a factor, not a recovery code.
 */
function issuingFactor(actor: Actor & { kind: 'principal' }): string | null {
  const factor = actor.session.auth.factor;
  if ((actor.credential ?? 'session') !== 'session') return null;
  if (!hasMFA(actor.session) || factor === null || factor.kind === 'recovery_code') return null;
  return factor.factorId;
}

/**
 * The first factor this password session enrolled and proved, within the step-up age, while the
 * session has no MFA of its own: the moment right after enrolment, when the person still holds
 * the factor they just proved and is asked to print their first recovery codes (the caller asks
 * only while no code is left: replacing a set always needs a step-up).
 */
function justEnrolled(actor: Actor & { kind: 'principal' }, now: number, maxAgeMs: number): string | null {
  const enrolled = actor.session.auth.enrolled;
  if ((actor.credential ?? 'session') !== 'session' || hasMFA(actor.session)) return null;
  if (enrolled === undefined || now - enrolled.at > maxAgeMs) return null;
  return enrolled.factorId;
}

async function refuse(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext },
  error: HoldfastError,
): Promise<never> {
  await deps.store.transaction((tx) =>
    writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.actor.principal.accountId,
        action: 'recovery_code.regenerate',
        target: input.actor.principal.id,
        outcome: 'failure',
        errorCode: error.code,
      },
    }),
  );
  throw error;
}

/**
 * When a principal's first factor is enabled, any recovery codes left from before (issued under a
 * factor that has since been removed) no longer count: a new set is issued from a session that
 * verified the new factor. Called inside the transaction that enables the factor.
 */
export async function voidRecoveryCodesBeforeFirstFactor(
  deps: AppDeps,
  tx: Repositories,
  input: { principal: Pick<Principal, 'id' | 'accountId'>; enabledFactorId: string; ctx: RequestContext },
): Promise<number> {
  const others = (await tx.factors.listByPrincipal(input.principal.accountId, input.principal.id)).filter(
    (f) => f.status === 'enabled' && f.id !== input.enabledFactorId,
  );
  if (others.length > 0) return 0;
  const voided = await tx.recoveryCodes.voidAll(input.principal.id);
  if (voided > 0) {
    await writeAudit(deps, tx, {
      actor: null,
      ctx: input.ctx,
      fact: {
        accountId: input.principal.accountId,
        action: 'recovery_code.void',
        target: input.principal.id,
        details: { voided, reason: 'first_factor_enabled', security: true },
      },
    });
  }
  return voided;
}
