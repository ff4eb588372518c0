import { HoldfastError } from '../core/errors.js';
import type { Factor } from '../core/factors/factor.js';
import { codesComparedPerCheck } from '../core/factors/otp/otp-checks.js';
import {
  normaliseRecoveryCode,
  RECOVERY_CODE_PROOF,
  recoveryCodeDriver,
} from '../core/factors/recovery-codes/driver.js';
import { resolveFactorDriver } from '../core/factors/registry.js';
import { isMultiFactorSignIn } from '../core/factors/webauthn/assurance.js';
import { nextTransition, type Flow } from '../core/flows/flow.js';
import { SIGN_IN_FLOW, type SignInState } from '../core/flows/sign-in.js';
import { sourceKeyOf } from '../core/policy/ip-address.js';
import type { MfaState, Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import type { Session, SessionChannel, SessionFactor } from '../core/sessions/session.js';
import type { ThrottlePolicy } from '../core/throttle.js';
import { ACTIONS } from './actions.js';
import { createSession, type IssuedSession } from './auth.js';
import { authorize, stepUpMaxAgeMs } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { notifyPrincipal, writeAudit, writeRefusal, type AppDeps } from './deps.js';
import { otpStateOf } from './factor-secrets.js';
import { runCommand } from './kernel.js';
import { requireUser } from './users.js';

const DAY_MS = 24 * 60 * 60_000;

/**
 * Second-factor guessing (docs/mfa.md, "Online guessing budget"; NIST SP 800-63B §5.2.2, OWASP
 * Authentication Cheat Sheet) is slowed three ways, none of which an attacker can turn against
 * the user signing in from their own device or network:
 *
 * - per (principal, source), for a source no second factor of this principal ever succeeded
 *   from: delays that keep doubling (1 s, 2 s, 4 s ... up to 30 days) and are remembered for 90
 *   days, so a source that never succeeds gets about two dozen guesses a month;
 * - per (principal, known source), for the user's own device or network (a second factor
 *   succeeded from it before): the same doubling but capped at 5 minutes, so nothing an
 *   attacker does holds the user back longer;
 * - per principal, a budget (MFA_PRINCIPAL_BUDGET) that every source a factor never succeeded
 *   from draws on: more addresses buy no speed, and a success from elsewhere does not refill it.
 *
 * Sources are keyed with `sourceKeyOf`: an IPv6 address counts as its /64.
 */
export const MFA_SOURCE_THROTTLE: ThrottlePolicy = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 30 * DAY_MS,
  windowMs: 90 * DAY_MS,
};

/** The per-source delays of a known source (the user's own device or network): capped at 5 minutes. */
export const MFA_KNOWN_SOURCE_THROTTLE: ThrottlePolicy = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  windowMs: DAY_MS,
};

/**
 * The per-principal guessing budget, a GCRA (leaky bucket) in units of "codes a guess is
 * compared with" (`codesComparedPerCheck`: 3 for a 6-digit TOTP with a ±1 window, 11 for an
 * HOTP token with a look-ahead of 10). 60 units at once (20 TOTP guesses), then one unit an hour
 * (8 TOTP guesses a day): over 30 days at most 60 + 720 = 780 units, so a random guesser's chance
 * of hitting a 6-digit code stays below 780 / 10^6, under 1 in 1,000.
 */
export const MFA_PRINCIPAL_BUDGET = { capacityUnits: 60, unitRefillMs: 60 * 60_000 } as const;

/** How long a suspension lasts before it lifts by itself (the alert and audit records stay). */
export const MFA_SUSPENSION_MS = DAY_MS;

/** A source stays known this long after its last success; at most this many are remembered. */
const KNOWN_SOURCE_TTL_MS = 90 * DAY_MS;
const MAX_KNOWN_SOURCES = 16;

/** Consecutive failures at which the user is told that someone is failing their second factor. */
const FAILURE_NOTICE_AT = 5;

/** Normalises a recovery code as users type it (the recovery-code driver's rule). */
export { normaliseRecoveryCode };

/** The keyed hash a recovery code is stored as, bound to its principal (the driver's). */
export function recoveryCodeHash(deps: Pick<AppDeps, 'pepper'>, principalId: string, code: string): string {
  return recoveryCodeDriver.verify({ pepper: deps.pepper, principalId, code }).codeHash;
}

/** When a suspension lifts by itself (older rows carry no end: the default length applies). */
export function suspensionEndsAt(state: Pick<MfaState, 'suspendedAt' | 'suspendedUntil'>): number | null {
  if (state.suspendedAt === null) return null;
  return state.suspendedUntil ?? state.suspendedAt + MFA_SUSPENSION_MS;
}

/** Whether second-factor sign-in from unknown sources is suspended at `now`. */
export function isSuspended(state: Pick<MfaState, 'suspendedAt' | 'suspendedUntil'>, now: number): boolean {
  const ends = suspensionEndsAt(state);
  return ends !== null && now < ends;
}

/** Whether a second factor of this principal succeeded from `source` within the last 90 days. */
export function isKnownSource(
  state: Pick<MfaState, 'knownSources'> | null,
  source: string,
  now: number,
): boolean {
  return state?.knownSources.some((s) => s.key === source && now - s.at <= KNOWN_SOURCE_TTL_MS) ?? false;
}

/** Remembers a success from `source` (most recent first, old and surplus entries dropped). */
function rememberSource(state: MfaState, source: string, now: number): MfaState['knownSources'] {
  const others = state.knownSources.filter((s) => s.key !== source && now - s.at <= KNOWN_SOURCE_TTL_MS);
  return [{ key: source, at: now }, ...others].slice(0, MAX_KNOWN_SOURCES);
}

/**
 * The GCRA check of the per-principal budget: milliseconds until a guess costing `units` fits,
 * 0 when it fits now. A guess costing more than the capacity fits when the bucket is empty.
 */
export function budgetWaitMs(budgetUntil: number, units: number, now: number): number {
  const r = MFA_PRINCIPAL_BUDGET.unitRefillMs;
  const capacity = Math.max(MFA_PRINCIPAL_BUDGET.capacityUnits, units) * r;
  return Math.max(0, Math.max(budgetUntil, now) + units * r - now - capacity);
}

/** The budget after charging `units` at `now` (call only when `budgetWaitMs` is 0). */
export function chargeBudget(budgetUntil: number, units: number, now: number): number {
  return Math.max(budgetUntil, now) + units * MFA_PRINCIPAL_BUDGET.unitRefillMs;
}

/**
 * A second factor proven by something other than a code (a WebAuthn assertion), verified by its
 * own use case before the attempt's transaction; `secondFactorStep` still does the throttling,
 * suspension, failure counting and audit, exactly as for codes, and decides whether the proof
 * makes the session multi-factor.
 */
export interface PresentedProof {
  /** The principal's enabled factor the proof names, or null when it names none of theirs. */
  factor: Factor | null;
  /** `ok`, or why the proof failed (audit only). */
  reason: string;
  /** The assurance level this proof gives the session. */
  assurance: string;
  /** RFC 8176 methods to record (`mfa` is added by `secondFactorStep` when it applies). */
  methods: string[];
  /** Whether the authenticator verified the user (PIN, biometric): W3C WebAuthn §6.1, the UV flag. */
  userVerified: boolean;
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

/**
 * The one rule for whether a verified proof gives a session MFA facts (I1, docs/mfa.md): a
 * factor's code or a recovery code that counts always does (they follow a password or an access
 * key); a WebAuthn assertion does only with user verification, or when the flow or session it
 * completes already holds a first factor (a password, an access key). NIST SP 800-63B §5.1.9.
 */
export function proofIsMultiFactor(input: {
  presented: Pick<PresentedProof, 'userVerified'> | null;
  firstFactorVerified: boolean;
}): boolean {
  if (input.presented === null) return true;
  return isMultiFactorSignIn({
    passwordVerified: input.firstFactorVerified,
    userVerified: input.presented.userVerified,
  });
}

/** A proof checked against the factor as last committed, before its attempt is counted. */
export interface PreparedProof {
  factor: Factor | null;
  reason: string;
  verified: { lastCounter: number; driftSteps: number } | null;
  presented: PresentedProof | null;
  /** What a failed guess costs the per-principal budget: the codes it was compared with. */
  units: number;
}

/**
 * Checks a proof against the factor as last committed (`reader`: the store, or the unit of
 * work's transaction); nothing is acted on until `secondFactorStep` has counted the attempt.
 * `factor`: the factor a code names, when the caller has read it already (null: none of theirs).
 */
export async function prepareSecondFactor(
  deps: AppDeps,
  reader: Pick<Repositories, 'factors'>,
  input: { principal: Principal; proof: SecondFactorProof; factor?: Factor | null },
): Promise<PreparedProof> {
  const { principal, proof } = input;
  const usesRecoveryCode = 'recoveryCode' in proof;
  // The code is checked against the factor as last committed; only the conditional update in
  // the transaction decides whether this use wins (the replay guard), and the result is not
  // acted on before the attempt is counted there.
  let factor: Factor | null = null;
  let reason: string;
  let verified: { lastCounter: number; driftSteps: number } | null = null;
  let presented: PresentedProof | null = null;
  // What a failed guess costs the per-principal budget: the codes it was compared with.
  let units = 1;
  if (usesRecoveryCode) {
    reason = 'recovery_code_wrong';
  } else if ('present' in proof) {
    presented = await proof.present(principal);
    factor = presented.factor;
    reason = presented.reason;
  } else {
    factor =
      input.factor !== undefined
        ? input.factor
        : await reader.factors.findById(principal.accountId, proof.factorId);
    if (factor === null || factor.principalId !== principal.id || factor.status !== 'enabled') {
      reason = 'unknown_factor';
      factor = null;
    } else if (resolveFactorDriver(factor.kind).acceptsCodes === false) {
      reason = 'code_for_codeless_factor';
    } else {
      const driver = resolveFactorDriver(factor.kind);
      units = codesComparedPerCheck(factor.params, deps.settings.mfa.verify);
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

  return { factor, reason, verified, presented, units };
}

/** The answer of `secondFactorStep`: the MFA facts of a verified proof, or the refusal. */
export type SecondFactorResult =
  | { ok: true; sessionFactor: SessionFactor | null; methods: string[]; proof: SessionFactor }
  | {
      ok: false;
      error: HoldfastError;
      /** MFA_FAILED: the failure was counted (the flow or command counts it too). */
      failureCounted: boolean;
    };

/** What one step needs: the command's transaction, who is proven, from where, and when. */
interface StepInput {
  principal: Principal;
  proof: SecondFactorProof;
  ctx: RequestContext;
  actor: Actor | null;
  purpose: 'sign_in' | 'step_up' | 'passkey_sign_in';
  /**
   * A first factor (password, access key) was verified earlier in this flow or session. Only
   * WebAuthn proofs depend on it (proofIsMultiFactor); absent means no.
   */
  firstFactorVerified?: boolean;
}

/** One attempt in progress: the step's input and what it derived (source, throttle key, clock). */
interface Attempt {
  deps: AppDeps;
  tx: Repositories;
  input: StepInput;
  prepared: PreparedProof;
  source: string;
  /** The per-source throttle key. */
  key: string;
  now: number;
  usesRecoveryCode: boolean;
  auditBase: { accountId: string; action: string; target: string };
}

/** What admission leaves for the rest of the attempt: the locked state and how it was judged. */
interface Admitted {
  mfa: MfaState;
  known: boolean;
  budgeted: boolean;
}

/** A refusal before any check: audited and committed, nothing else changes. */
async function refuseAttempt(
  a: Attempt,
  code: 'AUTH_THROTTLED' | 'MFA_SUSPENDED',
  waitMs: number,
  scope: 'source' | 'principal',
): Promise<SecondFactorResult> {
  // Repeatable at will by whoever holds the password: counted per source and window (writeRefusal).
  await writeRefusal(a.deps, a.tx, {
    actor: a.input.actor,
    ctx: a.input.ctx,
    fact: { ...a.auditBase, outcome: 'failure', errorCode: code, details: { scope } },
  });
  return {
    ok: false,
    failureCounted: false,
    error: new HoldfastError(code, undefined, {
      // Which limit answered (this source, or the principal's budget): the client knows when to retry.
      details: { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)), scope },
    }),
  };
}

/** A suspension ended by time running out or by a recovery code. */
function auditSuspensionLift(a: Attempt, reason: 'expired' | 'recovery_code'): Promise<void> {
  const { principal } = a.input;
  return writeAudit(a.deps, a.tx, {
    actor: null,
    ctx: a.input.ctx,
    fact: {
      accountId: principal.accountId,
      action: 'mfa.suspension_lift',
      target: principal.id,
      details: { reason },
    },
  });
}

/**
 * Admits the attempt before its proof is acted on: suspension, the per-principal budget and the
 * per-source throttle, counted under locks (throttle, then mfa_state). A refusal, or the state
 * to go on with.
 */
async function admitAttempt(a: Attempt): Promise<{ refused: SecondFactorResult } | Admitted> {
  const { tx, now, key } = a;
  const { principal } = a.input;
  const { units } = a.prepared;
  // Known sources only grow on success; a stale read here at worst picks the stricter policy.
  const before = await tx.mfaState.get(principal.id);
  const known = isKnownSource(before, a.source, now);
  // Recovery codes (50 bits each) are the way back in: no budget, no suspension.
  const budgeted = !known && !a.usesRecoveryCode;
  if (budgeted && before !== null) {
    // Checked again under the lock below; these early answers spare the source a counted hit.
    if (isSuspended(before, now)) {
      return {
        refused: await refuseAttempt(a, 'MFA_SUSPENDED', suspensionEndsAt(before)! - now, 'principal'),
      };
    }
    const wait = budgetWaitMs(before.budgetUntil, units, now);
    if (wait > 0) return { refused: await refuseAttempt(a, 'AUTH_THROTTLED', wait, 'principal') };
  }
  // Counted before any outcome is acted on, under a row lock: a burst of concurrent guesses is
  // throttled too. Refusals are audited and committed, not rolled back.
  const hit = await tx.throttle.hit({
    key,
    policy: known ? MFA_KNOWN_SOURCE_THROTTLE : MFA_SOURCE_THROTTLE,
    now,
  });
  if (!hit.allowed) return { refused: await refuseAttempt(a, 'AUTH_THROTTLED', hit.waitMs, 'source') };
  // Locked for the rest of the attempt (PostgreSQL): attempts of one user from several
  // addresses are decided one after another, so none slips past a budget or suspension that
  // an attempt in flight is about to change. Lock order everywhere: throttle, mfa_state, factor.
  let mfa = await tx.mfaState.lock({ principalId: principal.id, accountId: principal.accountId, now });
  if (mfa.suspendedAt !== null && !isSuspended(mfa, now)) {
    // The suspension ran its course: it lifts by itself and the count starts again.
    mfa = { ...mfa, consecutiveFailures: 0, suspendedAt: null, suspendedUntil: null, updatedAt: now };
    await tx.mfaState.put(mfa);
    await auditSuspensionLift(a, 'expired');
  }
  // A suspension stops factors from sources they never succeeded from; the user's own device
  // or network and recovery codes still work (I4: an attacker cannot lock the user out).
  if (budgeted && isSuspended(mfa, now)) {
    await tx.throttle.release(key);
    return { refused: await refuseAttempt(a, 'MFA_SUSPENDED', suspensionEndsAt(mfa)! - now, 'principal') };
  }
  if (budgeted) {
    const wait = budgetWaitMs(mfa.budgetUntil, units, now);
    if (wait > 0) {
      await tx.throttle.release(key);
      return { refused: await refuseAttempt(a, 'AUTH_THROTTLED', wait, 'principal') };
    }
    mfa = { ...mfa, budgetUntil: chargeBudget(mfa.budgetUntil, units, now), updatedAt: now };
    await tx.mfaState.put(mfa);
  }
  return { mfa, known, budgeted };
}

/**
 * Acts on the prepared proof with its replay-safe conditional update (the assertion's settle,
 * the recovery code's consume, the factor's accepted counter): what the session is given, or
 * why it failed.
 */
async function settleProof(
  a: Attempt,
): Promise<{ proofOf: SessionFactor | null; methods: string[]; reason: string }> {
  const { tx, now, deps } = a;
  const { principal, proof } = a.input;
  const { factor, verified, presented } = a.prepared;
  const { reason } = a.prepared;
  if (presented !== null) {
    const ok = presented.reason === 'ok' && presented.factor !== null;
    const fresh = await presented.settle(tx, { now, accepted: ok });
    if (ok && fresh) {
      const proofOf = {
        factorId: presented.factor!.id,
        kind: presented.factor!.kind,
        assurance: presented.assurance,
        at: now,
      };
      return { proofOf, methods: presented.methods, reason };
    }
    return { proofOf: null, methods: [], reason: ok ? 'replayed' : reason };
  }
  if ('recoveryCode' in proof) {
    // Only a code of a set issued from an MFA session of a principal with an enabled factor
    // counts (the repository never consumes a legacy or void code).
    const codeHash = recoveryCodeHash(deps, principal.id, proof.recoveryCode);
    return (await tx.recoveryCodes.consume({ principalId: principal.id, codeHash, now }))
      ? { proofOf: { ...RECOVERY_CODE_PROOF, at: now }, methods: [recoveryCodeDriver.amr], reason }
      : { proofOf: null, methods: [], reason };
  }
  if (factor === null || verified === null) return { proofOf: null, methods: [], reason };
  // The conditional update is the replay guard: a step/counter is accepted at most once.
  const accepted = await tx.factors.acceptCode({
    id: factor.id,
    lastCounter: verified.lastCounter,
    driftSteps: verified.driftSteps,
    now,
  });
  if (!accepted) return { proofOf: null, methods: [], reason: 'replayed' };
  return {
    proofOf: { factorId: factor.id, kind: factor.kind, assurance: factor.assurance, at: now },
    methods: [resolveFactorDriver(factor.kind).amr],
    reason,
  };
}

/** The bookkeeping of a verified proof: the state it earns, and the MFA facts it gives (if any). */
async function recordSuccess(
  a: Attempt,
  admitted: Admitted,
  settled: { proofOf: SessionFactor; methods: string[] },
): Promise<SecondFactorResult> {
  const { tx, now, key, usesRecoveryCode } = a;
  const { mfa, budgeted } = admitted;
  const { presented, units } = a.prepared;
  const { proofOf } = settled;
  const multiFactor = proofIsMultiFactor({
    presented,
    firstFactorVerified: a.input.firstFactorVerified ?? false,
  });
  // Only a multi-factor success makes its source known and forgives that source's failures
  // (a stolen key without its PIN must not buy its holder the user's standing). Failures from
  // elsewhere still count towards the suspension, and the budget keeps what other sources
  // spent: a success refunds only this attempt's own charge.
  const [row] = multiFactor ? await tx.throttle.get([key]) : [];
  const ownFailures = multiFactor ? Math.max(0, (row?.failures ?? 1) - 1) : 0;
  const next: MfaState = {
    ...mfa,
    consecutiveFailures: usesRecoveryCode ? 0 : Math.max(0, mfa.consecutiveFailures - ownFailures),
    budgetUntil: budgeted
      ? Math.max(now, mfa.budgetUntil - units * MFA_PRINCIPAL_BUDGET.unitRefillMs)
      : mfa.budgetUntil,
    knownSources: multiFactor ? rememberSource(mfa, a.source, now) : mfa.knownSources,
    updatedAt: now,
  };
  if (usesRecoveryCode && mfa.suspendedAt !== null) {
    // A recovery code proves the user: it lifts a suspension.
    next.suspendedAt = null;
    next.suspendedUntil = null;
    await auditSuspensionLift(a, 'recovery_code');
  }
  await tx.mfaState.put(next);
  if (multiFactor) await tx.throttle.clear(key);
  else await tx.throttle.release(key);
  // RFC 8176 `mfa`: the authenticator alone was multi-factor (a passkey with user verification).
  const methods =
    presented !== null && multiFactor && a.input.firstFactorVerified !== true
      ? [...settled.methods, 'mfa']
      : settled.methods;
  // A proof that is not multi-factor on its own (a passkey without user verification, with
  // no first factor before it) is verified, but the session gets no MFA facts from it.
  return { ok: true, sessionFactor: multiFactor ? proofOf : null, methods, proof: proofOf };
}

/**
 * Failure bookkeeping: per source (counted at admission), per factor (insight), per principal
 * (the failure notice, then the suspension), each audited.
 */
async function recordFailure(
  a: Attempt,
  input: { reason: string; known: boolean },
): Promise<SecondFactorResult> {
  const { deps, tx, now } = a;
  const { principal, ctx } = a.input;
  const { factor } = a.prepared;
  // The factor row comes first, as on the success path: a replayed code's conditional update
  // already locked it (PostgreSQL keeps the lock of a re-checked row), so taking mfa_state
  // before it would deadlock against a concurrent failure.
  if (factor !== null) await tx.factors.recordFailure(factor.id);
  const state = await tx.mfaState.recordFailure({
    principalId: principal.id,
    accountId: principal.accountId,
    now,
  });
  await writeAudit(deps, tx, {
    actor: a.input.actor,
    ctx,
    fact: {
      ...a.auditBase,
      outcome: 'failure',
      errorCode: 'MFA_FAILED',
      details: {
        reason: input.reason,
        factorId: factor?.id ?? null,
        // The kind of factor that was tried (metrics count failures by kind; never the code).
        factorKind: a.usesRecoveryCode
          ? 'recovery_code'
          : (factor?.kind ?? ('present' in a.input.proof ? 'webauthn' : 'unknown')),
        consecutiveFailures: state.consecutiveFailures,
        knownSource: input.known,
      },
    },
  });
  const notify = { accountId: principal.accountId, principalId: principal.id };
  if (state.consecutiveFailures === FAILURE_NOTICE_AT) {
    await notifyPrincipal(deps, tx, {
      ...notify,
      template: 'mfa.failures',
      payload: { consecutiveFailures: state.consecutiveFailures },
    });
  }
  if (state.consecutiveFailures >= deps.settings.mfa.suspendAfterFailures && state.suspendedAt === null) {
    const until = now + MFA_SUSPENSION_MS;
    await tx.mfaState.put({ ...state, suspendedAt: now, suspendedUntil: until, updatedAt: now });
    await writeAudit(deps, tx, {
      actor: null,
      ctx,
      fact: {
        accountId: principal.accountId,
        action: 'mfa.suspend',
        target: principal.id,
        details: { consecutiveFailures: state.consecutiveFailures, until, security: true },
      },
    });
    await notifyPrincipal(deps, tx, { ...notify, template: 'mfa.suspended' });
  }
  return { ok: false, error: new HoldfastError('MFA_FAILED'), failureCounted: true };
}

/**
 * The one place a second factor is checked (sign-in, step-up, passkey sign-in, STS TokenCode),
 * as a step inside the command's transaction `tx`: throttles, budget, suspension, the
 * conditional replay-protected update, the failure bookkeeping and its audit, and the MFA facts
 * the proof gives (`sessionFactor`: null when the proof verified but is not multi-factor; `proof`
 * still names the factor). Failures answer MFA_FAILED whatever the reason; the reason is
 * audited. Whatever the answer, the transaction must commit: a refusal counts.
 */
export async function secondFactorStep(
  deps: AppDeps,
  tx: Repositories,
  input: StepInput,
  prepared: PreparedProof,
): Promise<SecondFactorResult> {
  const { principal } = input;
  const source = sourceKeyOf(input.ctx.sourceIp);
  const attempt: Attempt = {
    deps,
    tx,
    input,
    prepared,
    source,
    key: `mfa:${principal.id}:${source}`,
    now: deps.clock.now(),
    usesRecoveryCode: 'recoveryCode' in input.proof,
    auditBase: { accountId: principal.accountId, action: `auth.mfa_${input.purpose}`, target: principal.id },
  };
  const admitted = await admitAttempt(attempt);
  if ('refused' in admitted) return admitted.refused;
  const settled = await settleProof(attempt);
  if (settled.proofOf !== null) {
    return recordSuccess(attempt, admitted, { proofOf: settled.proofOf, methods: settled.methods });
  }
  return recordFailure(attempt, { reason: settled.reason, known: admitted.known });
}

/**
 * Ends a second-factor suspension and its failure count (the audit and alert records stay). Called
 * inside the transaction of: an enrolment through an enrolment grant, a completed help-desk reset
 * or account recovery, and an admin's or the operator's "lift suspension". Audited when there was
 * something to lift.
 */
export async function clearMfaSuspension(
  deps: AppDeps,
  tx: Repositories,
  input: {
    principal: Pick<Principal, 'id' | 'accountId'>;
    reason: 'enrolment_grant' | 'helpdesk_reset' | 'recovery' | 'admin' | 'operator' | 'recovery_code';
    actor: Actor | null;
    ctx: RequestContext;
  },
): Promise<boolean> {
  const now = deps.clock.now();
  const state = await tx.mfaState.lock({
    principalId: input.principal.id,
    accountId: input.principal.accountId,
    now,
  });
  const wasSuspended = isSuspended(state, now);
  if (state.consecutiveFailures === 0 && state.suspendedAt === null) return false;
  await tx.mfaState.put({
    ...state,
    consecutiveFailures: 0,
    suspendedAt: null,
    suspendedUntil: null,
    updatedAt: now,
  });
  if (wasSuspended) {
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.principal.accountId,
        action: 'mfa.suspension_lift',
        target: input.principal.id,
        details: { reason: input.reason, security: true },
      },
    });
  }
  return wasSuspended;
}

/** Second-factor suspension state of a principal, as an admin sees it. */
export interface MfaSuspensionStatus {
  suspended: boolean;
  suspendedAt: number | null;
  suspendedUntil: number | null;
  consecutiveFailures: number;
}

/**
 * An admin (MFA session; guardrails G2 and G6 apply through `authorize`) or the host operator
 * lifts a user's second-factor suspension. Audited (`mfa.suspension_lift`), the user is told.
 */
export async function liftMfaSuspension(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; userRef: string },
): Promise<MfaSuspensionStatus & { lifted: boolean }> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.LiftMfaSuspension,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  return deps.store.transaction(async (tx) => {
    const lifted = await clearMfaSuspension(deps, tx, {
      principal: user,
      reason: input.actor.kind === 'operator' ? 'operator' : 'admin',
      actor: input.actor,
      ctx: input.ctx,
    });
    if (!lifted) {
      // Nothing was suspended: still one record of the command (a failure count may have been reset).
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: user.accountId,
          action: 'mfa.suspension_lift',
          target: user.id,
          details: { reason: 'not_suspended' },
        },
      });
    } else {
      await notifyPrincipal(deps, tx, {
        accountId: user.accountId,
        principalId: user.id,
        template: 'mfa.suspension_lifted',
      });
    }
    return { lifted, suspended: false, suspendedAt: null, suspendedUntil: null, consecutiveFailures: 0 };
  });
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

/**
 * Loads a live sign-in flow waiting for its second factor and its active principal; anything
 * else is FLOW_NOT_FOUND.
 */
export async function waitingSignIn(
  deps: AppDeps,
  flowId: string,
): Promise<{ flow: Flow<SignInState, SignInFlowData>; principal: Principal }> {
  const flow = (await deps.store.flows.findById(flowId)) as Flow<SignInState, SignInFlowData> | null;
  if (
    flow === null ||
    flow.kind !== SIGN_IN_FLOW.kind ||
    flow.principalId === null ||
    flow.accountId === null
  ) {
    throw new HoldfastError('FLOW_NOT_FOUND');
  }
  // Throws unless the flow waits for its second factor and is still live.
  nextTransition(SIGN_IN_FLOW, flow, { event: 'factor_ok', now: deps.clock.now() });
  const principal = await deps.store.principals.findById(flow.accountId, flow.principalId);
  if (principal === null || principal.status !== 'active') throw new HoldfastError('FLOW_NOT_FOUND');
  return { flow, principal };
}

/** Result of the factor step of sign-in. */
export type SecondFactorSignInResult = IssuedSession & {
  status: 'signed_in';
  /** After a recovery code: the console asks the user to review their factors. */
  reviewFactors: boolean;
  recoveryCodesRemaining: number | null;
};

/** After a recovery code: the count left, its own record, and the user told. */
async function recordRecoveryCodeUse(
  deps: AppDeps,
  tx: Repositories,
  input: { principal: Principal; ctx: RequestContext },
): Promise<number> {
  const { principal } = input;
  const remaining = await tx.recoveryCodes.countRemaining(principal.id);
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
  return remaining;
}

/** A counted failure counts against the sign-in flow too; too many end it. */
async function countFlowFailure(
  deps: AppDeps,
  tx: Repositories,
  input: { flow: Flow<SignInState, SignInFlowData>; principal: Principal; ctx: RequestContext },
): Promise<void> {
  const { flow, principal } = input;
  const attempts = flow.attempts + 1;
  const at = deps.clock.now();
  const updatedAt = Math.max(at, flow.updatedAt + 1);
  if (attempts < SIGN_IN_FLOW.maxAttempts) {
    await tx.flows.update({ ...flow, attempts, updatedAt }, flow.updatedAt);
    return;
  }
  const t = nextTransition(SIGN_IN_FLOW, flow, { event: 'too_many_failures', now: at });
  const moved = await tx.flows.update({ ...flow, attempts, state: t.to, updatedAt }, flow.updatedAt);
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
}

/**
 * The factor step of the sign-in flow: the user proves any enabled factor of their choice, or
 * uses a recovery code. Never an automatic fallback: the client names what it presents.
 */
export async function completeSignInWithSecondFactor(
  deps: AppDeps,
  input: { ctx: RequestContext; flowId: string; proof: SecondFactorProof },
): Promise<SecondFactorSignInResult> {
  const { flow, principal } = await waitingSignIn(deps, input.flowId);
  const usesRecoveryCode = 'recoveryCode' in input.proof;
  const step = {
    principal,
    proof: input.proof,
    ctx: input.ctx,
    actor: null,
    purpose: 'sign_in' as const,
    // The flow passed the password step.
    firstFactorVerified: true,
  };
  // The proof is checked against the factor as last committed, before the unit of work (the
  // factor row read once); the step counts the attempt and only its conditional update decides.
  const prepared = await prepareSecondFactor(deps, deps.store, step);

  return runCommand(deps, null, input.ctx, null, async (uow) => {
    const { tx } = uow;
    const checked = await secondFactorStep(deps, tx, step, prepared);
    if (!checked.ok) {
      if (checked.failureCounted) await countFlowFailure(deps, tx, { flow, principal, ctx: input.ctx });
      return uow.failAfterCommit(checked.error);
    }
    const { sessionFactor, methods, proof } = checked;
    // With the password behind it, every verified proof is multi-factor (proofIsMultiFactor).
    if (sessionFactor === null) throw new HoldfastError('INTERNAL_ERROR');
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
    const remaining = usesRecoveryCode
      ? await recordRecoveryCodeUse(deps, tx, { principal, ctx: input.ctx })
      : null;
    uow.record({
      accountId: principal.accountId,
      action: transition.audit,
      target: principal.id,
      details: {
        sessionId: issued.session.id,
        methods: ['pwd', ...methods],
        factorId: proof.factorId,
        assurance: proof.assurance,
      },
    });
    return {
      status: 'signed_in' as const,
      ...issued,
      reviewFactors: usesRecoveryCode,
      recoveryCodesRemaining: remaining,
    };
  });
}

/**
 * Re-verifies a factor in a live session (step-up), refreshing the MFA the session carries. One
 * command: authorized once, the second-factor step and the session update in one transaction,
 * one `session.step_up` record. A proof that verified but is not multi-factor (a key without
 * user verification on a session with no password behind it) is refused after its bookkeeping
 * commits (the challenge is used up), with the refusal as the command's record.
 */
export async function stepUp(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext } & (
    { factorId: string; code: string } | { proof: SecondFactorProof }
  ),
): Promise<Session> {
  const { principal, session } = input.actor;
  const step = {
    principal,
    proof: 'proof' in input ? input.proof : { factorId: input.factorId, code: input.code },
    ctx: input.ctx,
    actor: input.actor,
    purpose: 'step_up' as const,
    // A session that began with a password holds its first factor; one that began with a
    // passkey alone does not, so a key without user verification cannot make it multi-factor.
    firstFactorVerified: session.auth.methods.includes('pwd'),
  };
  const authorization = { action: ACTIONS.StepUp, resource: { accountId: principal.accountId, principal } };
  // The proof is checked against the factor as last committed, before the unit of work (as at
  // sign-in); the step counts the attempt and only its conditional update decides.
  const prepared = await prepareSecondFactor(deps, deps.store, step);
  return runCommand(deps, input.actor, input.ctx, authorization, async (uow) => {
    const checked = await secondFactorStep(deps, uow.tx, step, prepared);
    if (!checked.ok) return uow.failAfterCommit(checked.error);
    const fact = { accountId: principal.accountId, action: 'session.step_up', target: session.id };
    if (checked.sessionFactor === null) {
      const refusal = new HoldfastError('MFA_USER_VERIFICATION_REQUIRED');
      await writeAudit(deps, uow.tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: { ...fact, outcome: 'failure', errorCode: refusal.code },
      });
      return uow.failAfterCommit(refusal);
    }
    const auth = {
      methods: [...new Set([...session.auth.methods, ...checked.methods])],
      factor: checked.proof,
    };
    await uow.tx.sessions.updateAuth(session.id, auth);
    uow.record({ ...fact, details: { factorId: checked.proof.factorId } });
    return { ...session, auth };
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
