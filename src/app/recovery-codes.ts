import { HoldfastError } from '../core/errors.js';
import { randomString } from '../core/random.js';
import { hasMFA } from '../core/sessions/session.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, notifyPrincipal, writeAudit, type AppDeps } from './deps.js';
import { recoveryCodeHash, requireRecentMFA } from './mfa.js';

/** Codes per set. */
export const RECOVERY_CODE_COUNT = 10;
/** 10 Base32 characters: 50 bits of entropy per code. */
const RECOVERY_CODE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const RECOVERY_CODE_LENGTH = 10;

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
 * any earlier set. Replacing an existing set, or creating one next to enabled factors, needs a
 * recent MFA (step-up).
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
  const [remaining, factors] = await Promise.all([
    deps.store.recoveryCodes.countRemaining(principal.id),
    deps.store.factors.listByPrincipal(principal.accountId, principal.id),
  ]);
  if (remaining > 0 || factors.some((f) => f.status === 'enabled') || hasMFA(session))
    await requireRecentMFA(deps, session);
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const raw = randomString(deps.random, RECOVERY_CODE_ALPHABET, RECOVERY_CODE_LENGTH);
    return `${raw.slice(0, 5)}-${raw.slice(5)}`;
  });
  if (new Set(codes).size !== codes.length) throw new HoldfastError('INTERNAL_ERROR');
  await deps.store.transaction(async (tx) => {
    await tx.recoveryCodes.replaceSet({
      accountId: principal.accountId,
      principalId: principal.id,
      codes: codes.map((code) => ({
        id: newId(deps, 'rc_'),
        codeHash: recoveryCodeHash(deps, principal.id, code),
      })),
      now: deps.clock.now(),
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: principal.accountId,
        action: 'recovery_code.regenerate',
        target: principal.id,
        details: { count: codes.length },
      },
    });
    await notifyPrincipal(deps, tx, {
      accountId: principal.accountId,
      principalId: principal.id,
      template: 'recovery_code.regenerated',
    });
  });
  return codes;
}
