import { HoldfastError } from '../core/errors.js';
import type { Factor } from '../core/factors/factor.js';
import { resolveFactorDriver } from '../core/factors/registry.js';
import { nextTransition, type Flow } from '../core/flows/flow.js';
import { SIGN_IN_FLOW, type SignInState } from '../core/flows/sign-in.js';
import type { Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import type { Session, SessionChannel, SessionFactor } from '../core/sessions/session.js';
import type { ThrottlePolicy } from '../core/throttle.js';
import { hmacBase64url } from '../platform/hashing.js';
import { ACTIONS } from './actions.js';
import { createSession, type IssuedSession } from './auth.js';
import { authorize, stepUpMaxAgeMs } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { notifyPrincipal, writeAudit, type AppDeps } from './deps.js';
import { otpStateOf } from './factor-secrets.js';

/**
 * Second-factor guessing is slowed per principal *and source address*: an attacker hammering
 * from one place waits longer and longer, while the owner signing in from elsewhere is not
 * delayed at all. Only the per-principal count of consecutive failures (all sources) suspends
 * second-factor sign-in, at the NIST SP 800-63B §5.2.2 limit of 100 (docs/mfa.md).
 */
export const MFA_SOURCE_THROTTLE: ThrottlePolicy = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60_000,
  windowMs: 24 * 60 * 60_000,
};

/** Consecutive failures at which the user is told that someone is failing their second factor. */
const FAILURE_NOTICE_AT = 5;

/** Normalises a recovery code as users type it (case, spaces and dashes do not matter). */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

/** The keyed hash a recovery code is stored as, bound to its principal. */
export function recoveryCodeHash(deps: Pick<AppDeps, 'pepper'>, principalId: string, code: string): string {
  return hmacBase64url(deps.pepper, `recovery:${principalId}:${normaliseRecoveryCode(code)}`);
}

/**
 * What the caller of `checkSecondFactor` does on success, inside the transaction. `proof` is
 * what the session records as its second factor: null when the proof verified but is not
 * multi-factor (`verified` then still names the factor).
 */
type OnVerified<T> = (
  tx: Repositories,
  proof: SessionFactor | null,
  methods: string[],
  verified: SessionFactor,
) => Promise<T>;

/**
 * A second factor proven by something other than a code (a WebAuthn assertion), verified by its
 * own use case before the attempt's transaction; `checkSecondFactor` still does the throttling,
 * suspension, failure counting and audit, exactly as for codes.
 */
export interface PresentedProof {
  /** The principal's enabled factor the proof names, or null when it names none of theirs. */
  factor: Factor | null;
  /** `ok`, or why the proof failed (audit only). */
  reason: string;
  /** The assurance level this proof gives the session. */
  assurance: string;
  /** RFC 8176 methods to record. */
  methods: string[];
  /** Whether this proof makes the session multi-factor (a UV-less passkey alone does not). */
  multiFactor: boolean;
  /**
   * Inside the attempt's transaction, after throttle and suspension passed: uses up the
   * challenge and, when `accepted`, records the use (counter, backup state); false when the
   * proof was used already (replay). Also the place for security side effects of a failure.
   */
  settle(tx: Repositories, input: { now: number; accepted: boolean }): Promise<boolean>;
}

/**
 * How a second factor is presented: a factor and its code, a recovery code, or a proof verified
 * by the factor's own use case (given the principal the flow or session is about).
 */
export type SecondFactorProof =
  | { factorId: string; code: string }
  | { recoveryCode: string }
  | { present: (principal: Principal) => Promise<PresentedProof> };

function throttleKey(principal: Principal, ctx: RequestContext): string {
  return `mfa:${principal.id}:${ctx.sourceIp ?? 'local'}`;
}

/**
 * The one place a second factor is checked (sign-in and step-up alike): throttle, suspension,
 * the driver's verification, the conditional replay-protected update, and the failure
 * bookkeeping. Failures answer MFA_FAILED whatever the reason; the reason is audited.
 */
export async function checkSecondFactor<T>(
  deps: AppDeps,
  input: {
    principal: Principal;
    proof: SecondFactorProof;
    ctx: RequestContext;
    actor: Actor | null;
    purpose: 'sign_in' | 'step_up' | 'passkey_sign_in';
    onVerified: OnVerified<T>;
    onFailure?: (tx: Repositories) => Promise<void>;
  },
): Promise<T> {
  const { principal, proof, ctx } = input;
  const key = throttleKey(principal, ctx);
  const auditBase = {
    accountId: principal.accountId,
    action: `auth.mfa_${input.purpose}`,
    target: principal.id,
  };
  const usesRecoveryCode = 'recoveryCode' in proof;

  // The code is checked against the factor as last committed; only the conditional update in
  // the transaction decides whether this use wins (the replay guard), and the result is not
  // acted on before the attempt is counted there.
  let factor: Factor | null = null;
  let reason: string;
  let verified: { lastCounter: number; driftSteps: number } | null = null;
  let presented: PresentedProof | null = null;
  if (usesRecoveryCode) {
    reason = 'recovery_code_wrong';
  } else if ('present' in proof) {
    presented = await proof.present(principal);
    factor = presented.factor;
    reason = presented.reason;
  } else {
    factor = await deps.store.factors.findById(principal.accountId, proof.factorId);
    if (factor === null || factor.principalId !== principal.id || factor.status !== 'enabled') {
      reason = 'unknown_factor';
      factor = null;
    } else if (resolveFactorDriver(factor.kind).acceptsCodes === false) {
      reason = 'code_for_codeless_factor';
    } else {
      const driver = resolveFactorDriver(factor.kind);
      const result = driver.verify({
        state: otpStateOf(deps, factor),
        code: proof.code,
        now: deps.clock.now(),
        settings: deps.settings.mfa.verify,
      });
      reason = result.ok ? 'ok' : result.reason;
      if (result.ok) verified = result;
    }
  }

  // One transaction (one durable commit) per attempt: count it, check it, record the outcome.
  const outcome = await deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    // Counted before any outcome is acted on, under a row lock: a burst of concurrent guesses is
    // throttled too. Refusals are audited and committed, not rolled back.
    const hit = await tx.throttle.hit({ key, policy: MFA_SOURCE_THROTTLE, now });
    if (!hit.allowed) {
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx,
        fact: { ...auditBase, outcome: 'failure', errorCode: 'AUTH_THROTTLED' },
      });
      return {
        ok: false as const,
        error: new HoldfastError('AUTH_THROTTLED', undefined, {
          details: { retryAfterSeconds: Math.ceil(hit.waitMs / 1000) },
        }),
      };
    }
    // Locked for the rest of the attempt (PostgreSQL): attempts of one user from several
    // addresses are decided one after another, so none slips past a suspension that an
    // attempt in flight is about to impose. Lock order everywhere: throttle, mfa_state, factor.
    const mfa = await tx.mfaState.lock({ principalId: principal.id, accountId: principal.accountId, now });
    // A suspension stops factor codes; recovery codes (50+ bits each) remain the way back in.
    if (mfa.suspendedAt !== null && !usesRecoveryCode) {
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx,
        fact: { ...auditBase, outcome: 'failure', errorCode: 'MFA_SUSPENDED' },
      });
      return { ok: false as const, error: new HoldfastError('MFA_SUSPENDED') };
    }

    let proofOf: SessionFactor | null = null;
    let methods: string[] = [];
    let verifiedWithoutMFA = false;
    if (presented !== null) {
      const ok = presented.reason === 'ok' && presented.factor !== null;
      const fresh = await presented.settle(tx, { now, accepted: ok });
      if (ok && fresh) {
        proofOf = {
          factorId: presented.factor!.id,
          kind: presented.factor!.kind,
          assurance: presented.assurance,
          at: now,
        };
        methods = presented.methods;
        verifiedWithoutMFA = !presented.multiFactor;
      } else if (ok) {
        reason = 'replayed';
      }
    } else if (usesRecoveryCode) {
      if (
        await tx.recoveryCodes.consume({
          principalId: principal.id,
          codeHash: recoveryCodeHash(deps, principal.id, proof.recoveryCode),
          now,
        })
      ) {
        proofOf = { factorId: 'recovery_code', kind: 'recovery_code', assurance: 'recovery_code', at: now };
        methods = ['rec'];
      }
    } else if (factor !== null && verified !== null) {
      // The conditional update is the replay guard: a step/counter is accepted at most once.
      if (
        await tx.factors.acceptCode({
          id: factor.id,
          lastCounter: verified.lastCounter,
          driftSteps: verified.driftSteps,
          now,
        })
      ) {
        proofOf = { factorId: factor.id, kind: factor.kind, assurance: factor.assurance, at: now };
        methods = [resolveFactorDriver(factor.kind).amr];
      } else {
        reason = 'replayed';
      }
    }
    if (proofOf !== null) {
      if (mfa.consecutiveFailures > 0 || mfa.suspendedAt !== null) {
        await tx.mfaState.put({ ...mfa, consecutiveFailures: 0, suspendedAt: null, updatedAt: now });
      }
      await tx.throttle.clear(key);
      // A proof that is not multi-factor on its own (a passkey without user verification)
      // signs in, but the session carries no verified second factor.
      const sessionFactor = verifiedWithoutMFA ? null : proofOf;
      return { ok: true as const, value: await input.onVerified(tx, sessionFactor, methods, proofOf) };
    }
    // Failure bookkeeping: per source (counted above), per factor (insight), per principal
    // (suspension). The factor row comes first, as on the success path: a replayed code's
    // conditional update above already locked it (PostgreSQL keeps the lock of a re-checked
    // row), so taking mfa_state before it would deadlock against a concurrent failure.
    if (factor !== null) await tx.factors.recordFailure(factor.id);
    const state = await tx.mfaState.recordFailure({
      principalId: principal.id,
      accountId: principal.accountId,
      now,
    });
    await input.onFailure?.(tx);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx,
      fact: {
        ...auditBase,
        outcome: 'failure',
        errorCode: 'MFA_FAILED',
        details: { reason, factorId: factor?.id ?? null, consecutiveFailures: state.consecutiveFailures },
      },
    });
    if (state.consecutiveFailures === FAILURE_NOTICE_AT) {
      await notifyPrincipal(deps, tx, {
        accountId: principal.accountId,
        principalId: principal.id,
        template: 'mfa.failures',
        payload: { consecutiveFailures: state.consecutiveFailures },
      });
    }
    if (state.consecutiveFailures >= deps.settings.mfa.suspendAfterFailures && state.suspendedAt === null) {
      await tx.mfaState.put({ ...state, suspendedAt: now, updatedAt: now });
      await writeAudit(deps, tx, {
        actor: null,
        ctx,
        fact: {
          accountId: principal.accountId,
          action: 'mfa.suspend',
          target: principal.id,
          details: { consecutiveFailures: state.consecutiveFailures },
        },
      });
      await notifyPrincipal(deps, tx, {
        accountId: principal.accountId,
        principalId: principal.id,
        template: 'mfa.suspended',
      });
    }
    return { ok: false as const, error: new HoldfastError('MFA_FAILED') };
  });
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** A factor as the sign-in flow offers it. */
export interface OfferedFactor {
  id: string;
  kind: string;
  name: string;
  lastUsedAt: number | null;
}

/** Data a sign-in flow keeps between the password step and the factor step. */
export interface SignInFlowData {
  channel: SessionChannel;
  [key: string]: unknown;
}

/** What the password step found about the principal's second factors. */
export async function offeredFactors(
  deps: AppDeps,
  principal: Principal,
): Promise<{ factors: OfferedFactor[]; recoveryCodes: boolean }> {
  const [factors, remaining] = await Promise.all([
    deps.store.factors.listByPrincipal(principal.accountId, principal.id),
    deps.store.recoveryCodes.countRemaining(principal.id),
  ]);
  return {
    factors: factors
      .filter((f) => f.status === 'enabled')
      .map((f) => ({ id: f.id, kind: f.kind, name: f.name, lastUsedAt: f.lastUsedAt })),
    recoveryCodes: remaining > 0,
  };
}

/** Result of the factor step of sign-in. */
export type SecondFactorSignInResult = IssuedSession & {
  status: 'signed_in';
  /** After a recovery code: the console asks the user to review their factors. */
  reviewFactors: boolean;
  recoveryCodesRemaining: number | null;
};

/**
 * The factor step of the sign-in flow: the user proves any enabled factor of their choice, or
 * uses a recovery code. Never an automatic fallback: the client names what it presents.
 */
export async function completeSignInWithSecondFactor(
  deps: AppDeps,
  input: { ctx: RequestContext; flowId: string; proof: SecondFactorProof },
): Promise<SecondFactorSignInResult> {
  const flow = (await deps.store.flows.findById(input.flowId)) as Flow<SignInState, SignInFlowData> | null;
  if (
    flow === null ||
    flow.kind !== SIGN_IN_FLOW.kind ||
    flow.principalId === null ||
    flow.accountId === null
  ) {
    throw new HoldfastError('FLOW_NOT_FOUND');
  }
  const now = deps.clock.now();
  nextTransition(SIGN_IN_FLOW, flow, { event: 'factor_ok', now });
  const principal = await deps.store.principals.findById(flow.accountId, flow.principalId);
  if (principal === null || principal.status !== 'active') throw new HoldfastError('FLOW_NOT_FOUND');
  const usesRecoveryCode = 'recoveryCode' in input.proof;

  return checkSecondFactor(deps, {
    principal,
    proof: input.proof,
    ctx: input.ctx,
    actor: null,
    purpose: 'sign_in',
    async onVerified(tx, _sessionFactor, methods, proof) {
      const at = deps.clock.now();
      const transition = nextTransition(SIGN_IN_FLOW, flow, { event: 'factor_ok', now: at });
      if (
        !(await tx.flows.update(
          { ...flow, state: transition.to, updatedAt: Math.max(at, flow.updatedAt + 1) },
          flow.updatedAt,
        ))
      ) {
        throw new HoldfastError('FLOW_INVALID_TRANSITION', 'the flow was completed by another request');
      }
      const issued = await createSession(deps, tx, {
        principal,
        auth: { methods: ['pwd', ...methods], factor: proof },
        channel: flow.data.channel,
        ctx: input.ctx,
      });
      let remaining: number | null = null;
      if (usesRecoveryCode) {
        remaining = await tx.recoveryCodes.countRemaining(principal.id);
        await writeAudit(deps, tx, {
          actor: null,
          ctx: input.ctx,
          fact: {
            accountId: principal.accountId,
            action: 'recovery_code.use',
            target: principal.id,
            details: { remaining },
          },
        });
        await notifyPrincipal(deps, tx, {
          accountId: principal.accountId,
          principalId: principal.id,
          template: 'recovery_code.used',
          payload: { remaining },
        });
      }
      await writeAudit(deps, tx, {
        actor: null,
        ctx: input.ctx,
        fact: {
          accountId: principal.accountId,
          action: transition.audit,
          target: principal.id,
          details: {
            sessionId: issued.session.id,
            methods: ['pwd', ...methods],
            factorId: proof.factorId,
            assurance: proof.assurance,
          },
        },
      });
      return {
        status: 'signed_in' as const,
        ...issued,
        reviewFactors: usesRecoveryCode,
        recoveryCodesRemaining: remaining,
      };
    },
    async onFailure(tx) {
      const attempts = flow.attempts + 1;
      const at = deps.clock.now();
      if (attempts >= SIGN_IN_FLOW.maxAttempts) {
        const t = nextTransition(SIGN_IN_FLOW, flow, { event: 'too_many_failures', now: at });
        const moved = await tx.flows.update(
          { ...flow, attempts, state: t.to, updatedAt: Math.max(at, flow.updatedAt + 1) },
          flow.updatedAt,
        );
        // The transition's own audit event (DESIGN.md convention 4), only if this request made it.
        if (moved) {
          await writeAudit(deps, tx, {
            actor: null,
            ctx: input.ctx,
            fact: {
              accountId: principal.accountId,
              action: t.audit,
              target: principal.id,
              details: { flowId: flow.id, attempts },
            },
          });
        }
      } else {
        await tx.flows.update(
          { ...flow, attempts, updatedAt: Math.max(at, flow.updatedAt + 1) },
          flow.updatedAt,
        );
      }
    },
  });
}

/** Re-verifies a factor in a live session (step-up), refreshing the MFA the session carries. */
export async function stepUp(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext } & (
    { factorId: string; code: string } | { proof: SecondFactorProof }
  ),
): Promise<Session> {
  const { principal, session } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.StepUp,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  return checkSecondFactor(deps, {
    principal,
    proof: 'proof' in input ? input.proof : { factorId: input.factorId, code: input.code },
    ctx: input.ctx,
    actor: input.actor,
    purpose: 'step_up',
    async onVerified(tx, _sessionFactor, methods, proof) {
      const merged = [...new Set([...session.auth.methods, ...methods])];
      const auth = { methods: merged, factor: proof };
      await tx.sessions.updateAuth(session.id, auth);
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: principal.accountId,
          action: 'session.step_up',
          target: session.id,
          details: { factorId: proof.factorId },
        },
      });
      return { ...session, auth };
    },
  });
}

/**
 * The step-up check (guardrail G1) for use cases that decide case by case whether they need it:
 * the session's second factor must be verified within the account's step-up age (the
 * installation's, tightened by the account setting; 15 minutes at most), as `authorize` applies
 * it to factor-sensitive actions.
 */
export async function requireRecentMFA(deps: AppDeps, session: Session): Promise<void> {
  const maxAgeMs = stepUpMaxAgeMs(deps, await deps.store.accounts.findById(session.accountId));
  const factor = session.auth.factor;
  if (factor === null || deps.clock.now() - factor.at > maxAgeMs) {
    throw new HoldfastError('MFA_STEP_UP_REQUIRED', undefined, {
      details: { guardrail: 'G1', maxAgeSeconds: Math.floor(maxAgeMs / 1000) },
    });
  }
}
