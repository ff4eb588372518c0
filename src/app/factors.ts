import { HoldfastError } from '../core/errors.js';
import type { Factor, FactorKind } from '../core/factors/factor.js';
import { encodeBase32 } from '../core/factors/otp/base32.js';
import { buildKeyURI } from '../core/factors/otp/key-uri.js';
import { resolveFactorDriver } from '../core/factors/registry.js';
import { StorageConflict, type Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import { hasMFA } from '../core/sessions/session.js';
import {
  checkEnrolment,
  MAX_INITIAL_ENROLMENT_WINDOW_MS,
  type GuardrailVerdict,
} from '../core/policy/guardrails.js';
import type { ThrottlePolicy } from '../core/throttle.js';
import { sha256Hex } from '../core/crypto/hashing.js';
import { ACTIONS, type Action } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, notifyPrincipal, writeAudit, type AppDeps, type AuditFact } from './deps.js';
import { factorSecretContext, otpStateOf } from './factor-secrets.js';
import { revokeDerived } from './derived-credentials.js';
import { clearMfaSuspension } from './mfa.js';
import { voidRecoveryCodesBeforeFirstFactor } from './recovery-codes.js';
import { requireUser } from './users.js';

/** A new authenticator-app factor, with everything needed to load it into any app (shown once). */
export interface TOTPEnrolment {
  factor: Factor;
  secretBase32: string;
  keyUri: string;
  qrCodePng: string;
  qrCodeSvg: string;
}

/** Validates a factor name: 1–64 printable characters, trimmed. */
export function parseFactorName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 64 || /\p{Cc}/u.test(trimmed)) {
    throw new HoldfastError('REQUEST_INVALID', 'a factor name has 1-64 printable characters');
  }
  return trimmed;
}

/** Resolves the principal an actor acts on: itself, or (for admins) a named user. */
async function targetPrincipal(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef?: string; action: Action },
) {
  const target =
    input.userRef === undefined && input.actor.kind === 'principal'
      ? input.actor.principal
      : await requireUser(deps, input.accountId, input.userRef ?? '');
  await authorize(
    deps,
    input.actor,
    input.action,
    { accountId: input.accountId, principal: target },
    input.ctx,
  );
  return target;
}

function actsOnSelf(actor: Actor, target: Principal): actor is Actor & { kind: 'principal' } {
  return actor.kind === 'principal' && actor.principal.id === target.id;
}

/** Lists a principal's factors (never their secrets). */
export async function listFactors(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef?: string },
): Promise<Factor[]> {
  const target = await targetPrincipal(deps, { ...input, action: ACTIONS.ListMFADevices });
  const now = deps.clock.now();
  const factors = await deps.store.factors.listByPrincipal(input.accountId, target.id);
  return factors.filter((f) => f.status === 'enabled' || (f.pendingExpiresAt ?? Infinity) > now);
}

/**
 * G4: failed attempts to enable a factor are rate-limited per principal, and every enrolment
 * step (creating, enabling) per source address. Creating a pending factor does not count against
 * the principal: someone holding only the password could otherwise use up the real user's
 * allowance by creating factors they never enable. An enabling attempt counts until it succeeds
 * (then it is taken back), so a loop of wrong codes slows to one an hour per principal after a
 * small allowance.
 */
export const ENROLMENT_THROTTLE: ThrottlePolicy = {
  freeFailures: 20,
  baseDelayMs: 60_000,
  maxDelayMs: 60 * 60_000,
  windowMs: 60 * 60_000,
};

/** The same per source address: a source serving many users (a proxy, an office) gets more room. */
export const ENROLMENT_SOURCE_THROTTLE: ThrottlePolicy = { ...ENROLMENT_THROTTLE, freeFailures: 200 };

/** Writes a failed security event in its own transaction (it must survive the refusal). */
export async function auditRefusal(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; action: string; target: string | null; error: HoldfastError },
): Promise<void> {
  await deps.store.transaction((tx) =>
    writeAudit(deps, tx, { actor: input.actor, ctx: input.ctx, fact: refusalFact(input) }),
  );
}

/** The record of an enrolment refusal. */
export function refusalFact(input: {
  actor: Actor;
  action: string;
  target: string | null;
  error: HoldfastError;
}): AuditFact {
  return {
    accountId: input.actor.kind === 'principal' ? input.actor.principal.accountId : null,
    action: input.action,
    target: input.target,
    outcome: 'failure',
    errorCode: input.error.code,
    details: {
      security: true,
      // Long-term keys are named: their step-up refusals are no routine prompt (core/alerts).
      ...(input.actor.kind === 'principal' && input.actor.credential === 'long-term-key'
        ? { credential: 'long-term-key' }
        : {}),
      ...(typeof input.error.details?.guardrail === 'string'
        ? { guardrail: input.error.details.guardrail }
        : {}),
    },
  };
}

/**
 * Counts one enrolment attempt (G4) against the source, and, for an enabling attempt, against
 * the principal; refuses when over the limit. Returns the keys counted, for the caller to take
 * back when the attempt succeeds.
 */
export async function countEnrolmentAttempt(
  deps: AppDeps,
  actor: Actor & { kind: 'principal' },
  ctx: RequestContext,
  action: 'factor.create' | 'factor.enable',
  options: { againstPrincipal?: boolean } = {},
): Promise<string[]> {
  const now = deps.clock.now();
  const keys = enrolmentKeys(actor, ctx, action, options);
  const refusal = await deps.store.transaction(async (tx) => {
    for (const [key, policy] of keys) {
      const hit = await tx.throttle.hit({ key, policy, now });
      if (!hit.allowed) return hit.waitMs;
    }
    return null;
  });
  if (refusal === null) return keys.map(([key]) => key);
  const error = new HoldfastError('AUTH_THROTTLED', 'too many factor enrolment attempts; retry later', {
    details: { retryAfterSeconds: Math.ceil(refusal / 1000), guardrail: 'G4' },
  });
  await auditRefusal(deps, { actor, ctx, action, target: actor.principal.id, error });
  throw error;
}

function enrolmentKeys(
  actor: Actor & { kind: 'principal' },
  ctx: RequestContext,
  action: 'factor.create' | 'factor.enable',
  options: { againstPrincipal?: boolean },
): Array<[string, ThrottlePolicy]> {
  return [
    ...((options.againstPrincipal ?? action === 'factor.enable')
      ? ([[`enrol:p:${actor.principal.id}`, ENROLMENT_THROTTLE]] as Array<[string, ThrottlePolicy]>)
      : []),
    [`enrol:ip:${ctx.sourceIp ?? 'local'}`, ENROLMENT_SOURCE_THROTTLE],
  ];
}

/**
 * `countEnrolmentAttempt` as a step inside a command's transaction `tx`: counts the attempt and,
 * over the limit, writes the refusal's record there and returns the refusal (the command then
 * commits the count and fails with it); null when the attempt may go on.
 */
export async function enrolmentAttemptStep(
  deps: AppDeps,
  tx: Repositories,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    action: 'factor.create' | 'factor.enable';
  },
): Promise<HoldfastError | null> {
  const now = deps.clock.now();
  for (const [key, policy] of enrolmentKeys(input.actor, input.ctx, input.action, {})) {
    const hit = await tx.throttle.hit({ key, policy, now });
    if (hit.allowed) continue;
    const error = new HoldfastError('AUTH_THROTTLED', 'too many factor enrolment attempts; retry later', {
      details: { retryAfterSeconds: Math.ceil(hit.waitMs / 1000), guardrail: 'G4' },
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: refusalFact({
        actor: input.actor,
        action: input.action,
        target: input.actor.principal.id,
        error,
      }),
    });
    return error;
  }
  return null;
}

function enrolmentError(verdict: GuardrailVerdict): HoldfastError {
  const message = `${verdict.guardrail}: ${verdict.reason}`;
  return verdict.outcome === 'step-up'
    ? new HoldfastError('MFA_STEP_UP_REQUIRED', message, { details: { guardrail: verdict.guardrail } })
    : new HoldfastError('ENROLMENT_GRANT_REQUIRED', message, { details: { guardrail: verdict.guardrail } });
}

/** Codes of the refusals {@link admitEnrolment} throws; the caller audits them after the rollback. */
export const ENROLMENT_REFUSALS: ReadonlySet<string> = new Set([
  'MFA_STEP_UP_REQUIRED',
  'ENROLMENT_GRANT_REQUIRED',
  'ENROLMENT_GRANT_INVALID',
]);

/**
 * G3, inside the transaction that changes the state: may this session add a factor? It is asked
 * when a pending factor or a registration challenge is created AND again when that factor is
 * enabled or the credential registered, so an admission that held at creation (the initial
 * window, before the user enrolled their own factor) does not carry over to a later enable.
 * Admitted are: an enrolment grant (presented now, used up here and given back if the
 * transaction rolls back; or the one that admitted the pending factor being enabled), an MFA
 * session of a principal with an enabled factor, or a principal that never had a factor, inside
 * its initial window. Refusals are thrown; the caller audits them once the transaction is over
 * (see ENROLMENT_REFUSALS). Returns the grant that admitted the enrolment, if any.
 */
export async function admitEnrolment(
  deps: AppDeps,
  tx: Repositories,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    /** A grant token presented with this request. */
    grantToken?: string | undefined;
    /** The grant that admitted the pending factor now being enabled. */
    admittedByGrant?: string | null | undefined;
  },
): Promise<{ grantId: string | null }> {
  const { principal, session } = input.actor;
  const now = deps.clock.now();
  let grantId = input.admittedByGrant ?? null;
  if (input.grantToken !== undefined) {
    const used = await tx.enrolment.consumeGrant({
      tokenHash: sha256Hex(input.grantToken),
      principalId: principal.id,
      now,
    });
    if (used === null) throw new HoldfastError('ENROLMENT_GRANT_INVALID');
    grantId = used.id;
  }
  const account = await tx.accounts.findById(principal.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  const hasEnabledFactor = (await tx.factors.listByPrincipal(principal.accountId, principal.id)).some(
    (f) => f.status === 'enabled',
  );
  const windowMs = Math.min(
    MAX_INITIAL_ENROLMENT_WINDOW_MS,
    (account.settings.initialEnrolmentWindowSeconds ?? Infinity) * 1000,
  );
  const verdict = checkEnrolment({
    hasEnabledFactor,
    everEnrolled: await tx.enrolment.everEnrolled(principal.id),
    // G3: an MFA session counts only for a principal that has an enabled factor now.
    sessionHasMfa: hasEnabledFactor && hasMFA(session) && (input.actor.credential ?? 'session') === 'session',
    grant: grantId !== null,
    principalCreatedAt: principal.createdAt,
    nowMs: now,
    initialWindowMs: windowMs,
  });
  if (verdict !== null) throw enrolmentError(verdict);
  return { grantId };
}

/**
 * When a principal's first factor is enabled (any kind, any face), what was started while it had
 * none ends in the same transaction: every other pending factor it created and every WebAuthn
 * registration challenge (someone holding only the password may have started them), and every
 * other session and temporary credential of it without MFA (a password-only session from before
 * must not outlive the enrolment). Both are audited. Does nothing when a factor was enabled already.
 */
export async function onFirstFactorEnabled(
  deps: AppDeps,
  tx: Repositories,
  input: {
    actor: Actor;
    ctx: RequestContext;
    target: Principal;
    /** The factor being enabled (kept). */
    factorId: string;
    /** Whether the principal had an enabled factor before this one (read in this transaction). */
    hadEnabledFactor: boolean;
  },
): Promise<void> {
  if (input.hadEnabledFactor) return;
  const { target } = input;
  const now = deps.clock.now();
  // Recovery codes left from before (issued under a factor since removed) no longer count.
  await voidRecoveryCodesBeforeFirstFactor(deps, tx, {
    principal: target,
    enabledFactorId: input.factorId,
    ctx: input.ctx,
  });
  const enabled = await tx.factors.findById(target.accountId, input.factorId);
  // The session that just proved its principal's first factor remembers it: it may issue the
  // first recovery codes without asking for the same factor again (recovery-codes.ts).
  const actor = input.actor;
  if (enabled !== null && actsOnSelf(actor, target) && (actor.credential ?? 'session') === 'session') {
    await tx.sessions.updateAuth(actor.session.id, {
      ...actor.session.auth,
      enrolled: { factorId: enabled.id, kind: enabled.kind, assurance: enabled.assurance, at: now },
    });
  }
  // Enrolling through an enrolment grant ends a second-factor suspension.
  if (enabled?.enrolmentGrantId) {
    await clearMfaSuspension(deps, tx, {
      principal: target,
      reason: 'enrolment_grant',
      actor: input.actor,
      ctx: input.ctx,
    });
  }
  const cancelled = await tx.factors.cancelPending({
    accountId: target.accountId,
    principalId: target.id,
    exceptId: input.factorId,
  });
  const registrations = await tx.webauthn.cancelRegistrations({ principalId: target.id, now });
  if (cancelled.length > 0 || registrations > 0) {
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: target.accountId,
        action: 'factor.pending_cancelled',
        target: target.id,
        details: {
          reason: 'first_factor_enabled',
          factorIds: cancelled,
          registrationsCancelled: registrations,
          keptFactorId: input.factorId,
          security: true,
        },
      },
    });
  }
  await revokeDerived(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    accountId: target.accountId,
    principalId: target.id,
    withoutMfa: true,
    reason: 'first_factor_enabled',
    ...(actsOnSelf(input.actor, target) ? { exceptId: input.actor.session.id } : {}),
  });
}

/**
 * Starts enrolling an authenticator app: a pending factor owned by the creating session, valid
 * for 10 minutes. A principal that already has a factor must be in an MFA session to add one
 * ("add before remove" is the recommended path; docs/mfa.md).
 */
export async function createTOTPFactor(
  deps: AppDeps,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    name: string;
    /** A one-time enrolment grant (G3), when the session alone may not enrol. */
    enrolmentGrant?: string;
  },
): Promise<TOTPEnrolment> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.CreateVirtualMFADevice,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const name = parseFactorName(input.name);
  const account = await deps.store.accounts.findById(principal.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  await countEnrolmentAttempt(deps, input.actor, input.ctx, 'factor.create');
  const { factor, secret } = newPendingTOTP(deps, input.actor, name);
  const { id } = factor;
  await deps.store
    .transaction(async (tx) => {
      await storePendingFactor(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        factor,
        grantToken: input.enrolmentGrant,
      });
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: principal.accountId,
          action: 'factor.create',
          target: id,
          details: { kind: 'totp', name },
        },
      });
    })
    .catch(async (err: unknown) => {
      if (err instanceof HoldfastError && ENROLMENT_REFUSALS.has(err.code)) {
        await auditRefusal(deps, {
          actor: input.actor,
          ctx: input.ctx,
          action: 'factor.create',
          target: principal.id,
          error: err,
        });
      }
      throw err;
    });
  const secretBase32 = encodeBase32(secret);
  const keyUri = buildKeyURI({
    type: 'totp',
    issuer: deps.settings.mfa.issuer ?? account.name,
    accountName: principal.email,
    secret,
    algorithm: factor.params.algorithm,
    digits: factor.params.digits,
    period: factor.params.period,
  });
  const [qrCodePng, qrCodeSvg] = await Promise.all([
    deps.qrCodes.png(keyUri).then((b) => Buffer.from(b).toString('base64')),
    deps.qrCodes.svg(keyUri),
  ]);
  return { factor, secretBase32, keyUri, qrCodePng, qrCodeSvg };
}

/** A new pending TOTP factor of the acting principal, owned by its session (G3), and its seed. */
export function newPendingTOTP(
  deps: AppDeps,
  actor: Actor & { kind: 'principal' },
  name: string,
): { factor: Factor; secret: Uint8Array } {
  return beginPendingEnrolment(deps, actor, { kind: 'totp', name });
}

/**
 * The generic start of a self-service enrolment: the kind's driver (through the registry)
 * makes the secret and starting state, and the pending factor is built around them (stored with
 * {@link storePendingFactor}). FACTOR_KIND_UNSUPPORTED for kinds a user cannot start alone.
 */
export function beginPendingEnrolment(
  deps: AppDeps,
  actor: Actor & { kind: 'principal' },
  input: { kind: FactorKind; name: string; phone?: string },
): { factor: Factor; secret: Uint8Array } {
  const driver = resolveFactorDriver(input.kind);
  if (driver.beginEnrolment === undefined) throw new HoldfastError('FACTOR_KIND_UNSUPPORTED');
  const start = driver.beginEnrolment({
    random: deps.random,
    now: deps.clock.now(),
    ...(input.phone === undefined ? {} : { phone: input.phone }),
  });
  const factor = newPendingFactor(deps, actor, {
    kind: input.kind,
    name: input.name,
    secret: start.secret,
    params: start.params,
    lastCounter: start.lastCounter,
  });
  return { factor, secret: start.secret };
}

/**
 * A new pending factor of any kind the user enrols for themselves: owned by the acting session
 * (G3) for the pending lifetime, its secret sealed and bound to its id. Stored with
 * {@link storePendingFactor}.
 */
export function newPendingFactor(
  deps: AppDeps,
  actor: Actor & { kind: 'principal' },
  input: {
    kind: FactorKind;
    name: string;
    secret: Uint8Array;
    params: Factor['params'];
    lastCounter: number | null;
  },
): Factor {
  const { principal, session } = actor;
  const id = newId(deps, 'mfa_');
  const now = deps.clock.now();
  return {
    id,
    accountId: principal.accountId,
    principalId: principal.id,
    kind: input.kind,
    name: input.name,
    status: 'pending',
    assurance: resolveFactorDriver(input.kind).assurance({ adminProvisioned: false }),
    adminProvisioned: false,
    hardwareTokenId: null,
    secretSealed: deps.secretBox.seal(input.secret, factorSecretContext(id)),
    params: input.params,
    lastCounter: input.lastCounter,
    driftSteps: 0,
    failedAttempts: 0,
    createdAt: now,
    enabledAt: null,
    lastUsedAt: null,
    pendingSessionId: session.id,
    pendingExpiresAt: now + deps.settings.mfa.pendingTtlMs,
    pendingAttempts: 0,
  };
}

/**
 * Inside `tx`: stores a new pending factor of the acting principal after its expired pending
 * ones are dropped, admission (G3) passed, and the factor limit and unique name hold. Throws
 * the refusal (ENROLMENT_REFUSALS are audited by the caller).
 */
export async function storePendingFactor(
  deps: AppDeps,
  tx: Repositories,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    factor: Factor;
    grantToken?: string | undefined;
  },
): Promise<void> {
  const { principal } = input.actor;
  const { factor } = input;
  await tx.factors.deleteExpiredPending({
    accountId: principal.accountId,
    principalId: principal.id,
    now: deps.clock.now(),
  });
  const existing = await tx.factors.listByPrincipal(principal.accountId, principal.id);
  const { grantId } = await admitEnrolment(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    grantToken: input.grantToken,
  });
  if (existing.length >= deps.settings.mfa.maxFactors) throw new HoldfastError('FACTOR_LIMIT_REACHED');
  if (existing.some((f) => f.name === factor.name)) throw new HoldfastError('FACTOR_NAME_TAKEN');
  factor.enrolmentGrantId = grantId;
  await tx.factors.insert(factor);
}

async function loadFactor(
  deps: AppDeps,
  accountId: string,
  factorId: string,
  principalId: string,
): Promise<Factor> {
  const factor = await deps.store.factors.findById(accountId, factorId);
  if (factor === null || factor.principalId !== principalId) throw new HoldfastError('FACTOR_NOT_FOUND');
  return factor;
}

/** Codes given to enable or resync: two consecutive codes (as AWS asks), or one (console convenience). */
export type EnableCodes = { codes: [string, string] } | { code: string };

/**
 * Inside the enabling transaction, once the answer verified: G3 decided again, the limit, the
 * conditional enable, the enrolment mark, the user's notice and the first-factor bookkeeping.
 */
async function storeEnabled(
  deps: AppDeps,
  tx: Repositories,
  input: {
    actor: Actor;
    ctx: RequestContext;
    target: Principal;
    factor: Factor;
    result: { lastCounter: number; driftSteps: number };
    counted: string[];
    now: number;
    admit: (tx: Repositories) => Promise<void>;
  },
): Promise<Factor> {
  const { target, factor, result, now } = input;
  // One enabling decision per principal at a time (a row lock on PostgreSQL): two pending
  // factors enabled at once cannot both count as the first.
  await tx.mfaState.lock({ principalId: target.id, accountId: target.accountId, now });
  await input.admit(tx);
  const enabledBefore = (await tx.factors.listByPrincipal(factor.accountId, target.id)).filter(
    (f) => f.status === 'enabled',
  ).length;
  if (enabledBefore >= deps.settings.mfa.maxFactors) throw new HoldfastError('FACTOR_LIMIT_REACHED');
  const enabled = await tx.factors.enable({
    id: factor.id,
    lastCounter: result.lastCounter,
    driftSteps: result.driftSteps,
    now,
  });
  if (!enabled) throw new HoldfastError('FACTOR_NOT_PENDING');
  await tx.enrolment.markEnrolled({ principalId: target.id, accountId: target.accountId, now });
  for (const key of input.counted) await tx.throttle.release(key);
  await writeAudit(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    fact: {
      accountId: factor.accountId,
      action: 'factor.enable',
      target: factor.id,
      details: { kind: factor.kind, name: factor.name },
    },
  });
  await notifyPrincipal(deps, tx, {
    accountId: factor.accountId,
    principalId: target.id,
    template: 'factor.added',
    payload: { factorName: factor.name, kind: factor.kind },
  });
  await onFirstFactorEnabled(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    target,
    factorId: factor.id,
    hadEnabledFactor: enabledBefore > 0,
  });
  return {
    ...factor,
    status: 'enabled' as const,
    enabledAt: now,
    lastCounter: result.lastCounter,
    driftSteps: result.driftSteps,
    pendingSessionId: null,
    pendingExpiresAt: null,
  };
}

/**
 * Why a pending factor may not be enabled by this actor (G3: only the session that created it),
 * or null.
 */
function enableRefusal(actor: Actor, factor: Factor): HoldfastError | null {
  if (factor.status !== 'pending') return new HoldfastError('FACTOR_NOT_PENDING');
  if (
    factor.pendingSessionId !== null &&
    (actor.kind !== 'principal' || actor.session.id !== factor.pendingSessionId)
  ) {
    // G3: only the session that created a pending factor may enable it.
    return new HoldfastError('FACTOR_WRONG_SESSION', undefined, { details: { guardrail: 'G3' } });
  }
  return null;
}

/**
 * G3 decided again for a factor its principal created (an admin-assigned token was admitted by
 * the admin who assigned it), inside the transaction it is given.
 */
function readmission(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext },
  factor: Factor,
): (tx: Repositories) => Promise<void> {
  const admittedBySelf = input.actor.kind === 'principal' && !factor.adminProvisioned ? input.actor : null;
  return (tx) =>
    admittedBySelf === null
      ? Promise.resolve()
      : admitEnrolment(deps, tx, {
          actor: admittedBySelf,
          ctx: input.ctx,
          admittedByGrant: factor.enrolmentGrantId ?? null,
        }).then(() => undefined);
}

/**
 * Enables a pending factor. Only the session that created it may (an admin-assigned hardware
 * token: its user or an admin), within its lifetime; wrong codes change nothing but the
 * attempt counter, and the pending factor survives a few of them. G3 is decided again here, in
 * the transaction that enables it: a factor admitted when it was created (say, inside the initial
 * window) is refused once the principal enrolled another factor meanwhile.
 */
export async function enableFactor(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    factorId: string;
    userRef?: string;
  } & EnableCodes,
): Promise<Factor> {
  const target = await targetPrincipal(deps, { ...input, action: ACTIONS.EnableMFADevice });
  const factor = await loadFactor(deps, input.accountId, input.factorId, target.id);
  const refuse = async (error: HoldfastError): Promise<never> => {
    const { actor, ctx } = input;
    await auditRefusal(deps, { actor, ctx, action: 'factor.enable', target: factor.id, error });
    throw error;
  };
  const refusal = enableRefusal(input.actor, factor);
  if (refusal !== null) return refuse(refusal);
  // A factor its principal created is admitted again now (an admin-assigned token was admitted by
  // the admin who assigned it). Checked before counting, so a refused admission costs the
  // principal's G4 allowance nothing; decided for good in the enabling transaction below.
  const admit = readmission(deps, input, factor);
  try {
    await deps.store.transaction(admit);
  } catch (err) {
    if (err instanceof HoldfastError && ENROLMENT_REFUSALS.has(err.code)) return refuse(err);
    throw err;
  }
  const counted =
    input.actor.kind === 'principal'
      ? await countEnrolmentAttempt(deps, input.actor, input.ctx, 'factor.enable')
      : [];
  const now = deps.clock.now();
  /** The audit record of one enabling attempt (success or failure). */
  const auditEnable = (tx: Repositories, fact: Partial<AuditFact>) =>
    writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: { accountId: factor.accountId, action: 'factor.enable', target: factor.id, ...fact },
    });
  if (
    (factor.pendingExpiresAt !== null && factor.pendingExpiresAt <= now) ||
    factor.pendingAttempts >= deps.settings.mfa.pendingMaxAttempts
  ) {
    // Expired or out of attempts: a self-enrolled pending factor goes (an assigned token stays).
    await deps.store.transaction(async (tx) => {
      if (factor.hardwareTokenId === null) await tx.factors.delete(factor.id);
      await auditEnable(tx, { outcome: 'failure', errorCode: 'FACTOR_PENDING_EXPIRED' });
    });
    throw new HoldfastError('FACTOR_PENDING_EXPIRED');
  }
  // The kind's driver completes the enrolment with the user's answer (registry dispatch only).
  const result = resolveFactorDriver(factor.kind).completeEnrolment({
    state: otpStateOf(deps, factor),
    response: 'codes' in input ? { codes: input.codes } : { code: input.code },
    now,
    settings: deps.settings.mfa.verify,
  });
  return deps.store
    .transaction(async (tx) => {
      if (!result.ok) {
        const attempts = await tx.factors.recordPendingFailure(factor.id);
        await auditEnable(tx, {
          outcome: 'failure',
          errorCode: 'FACTOR_CODE_INVALID',
          details: { reason: result.reason, attempts },
        });
        return null;
      }
      const { actor, ctx } = input;
      return storeEnabled(deps, tx, { actor, ctx, target, factor, result, counted, now, admit });
    })
    .catch(async (err: unknown) => {
      if (
        err instanceof HoldfastError &&
        (ENROLMENT_REFUSALS.has(err.code) || err.code === 'FACTOR_NOT_PENDING')
      ) {
        await refuse(err);
      }
      throw err;
    })
    .then((enabled) => {
      if (enabled === null) throw new HoldfastError('FACTOR_CODE_INVALID');
      return enabled;
    });
}

/** Renames one of the caller's factors. */
export async function renameFactor(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; factorId: string; name: string },
): Promise<Factor> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.RenameMFADevice,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const name = parseFactorName(input.name);
  const factor = await loadFactor(deps, principal.accountId, input.factorId, principal.id);
  try {
    await deps.store.transaction(async (tx) => {
      await tx.factors.rename({ id: factor.id, name });
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: principal.accountId,
          action: 'factor.rename',
          target: factor.id,
          details: { name },
        },
      });
    });
  } catch (err) {
    if (err instanceof StorageConflict) throw new HoldfastError('FACTOR_NAME_TAKEN');
    throw err;
  }
  return { ...factor, name };
}

/** Marks an admin-assigned token's inventory entry after its factor is removed. */
async function releaseHardwareToken(tx: Repositories, factor: Factor, now: number): Promise<void> {
  if (factor.hardwareTokenId === null) return;
  const token = await tx.hardwareTokens.findById(factor.accountId, factor.hardwareTokenId);
  if (token !== null && token.state === 'assigned') {
    await tx.hardwareTokens.update({
      ...token,
      state: 'unassigned',
      principalId: null,
      factorId: null,
      updatedAt: now,
    });
  }
}

/**
 * I3: a removed factor takes with it every session in which it was verified and every temporary
 * credential minted with its code (a thief signed in with a lost phone keeps nothing). The acting
 * session or credential stays only when its current second factor is another one (the user
 * stepped up with the new phone before removing the old one); one still standing on the removed
 * factor ends with it, whoever holds it.
 */
export async function endDerivedFromFactor(
  deps: AppDeps,
  tx: Repositories,
  input: { actor: Actor; ctx: RequestContext; factor: Factor },
): Promise<void> {
  await revokeDerived(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    accountId: input.factor.accountId,
    principalId: input.factor.principalId,
    factorId: input.factor.id,
    reason: 'factor_removed',
    ...(input.actor.kind === 'principal' && input.actor.session.auth.factor?.factorId !== input.factor.id
      ? { exceptId: input.actor.session.id }
      : {}),
  });
}

/**
 * G5: when a principal is left without an enabled factor by someone else's action (an admin, a
 * reset), its sessions are revoked until it enrols again; when it removes its last factor itself,
 * every other session of it is revoked. Either way its temporary AWS credentials are revoked and
 * its long-term access keys are deactivated (marked as deactivated by the guardrail). Nothing is
 * re-activated automatically when it enrols again: an administrator, from an MFA session,
 * re-activates a key with UpdateAccessKey (docs/aws-api.md).
 */
export async function onFactorLoss(
  deps: AppDeps,
  tx: Repositories,
  input: { actor: Actor; ctx: RequestContext; target: Principal },
): Promise<boolean> {
  const { target } = input;
  const remaining = (await tx.factors.listByPrincipal(target.accountId, target.id)).filter(
    (f) => f.status === 'enabled',
  );
  if (remaining.length > 0) return false;
  const { actor } = input;
  const { sessionsRevoked: revoked, temporaryCredentialsRevoked: temporaryRevoked } = await revokeDerived(
    deps,
    tx,
    {
      actor,
      ctx: input.ctx,
      accountId: target.accountId,
      principalId: target.id,
      reason: 'last_factor_removed',
      ...(actsOnSelf(actor, target) ? { exceptId: actor.session.id } : {}),
    },
  );
  const keysDeactivated = await tx.accessKeys.deactivateAllForPrincipal({
    accountId: target.accountId,
    principalId: target.id,
  });
  await writeAudit(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    fact: {
      accountId: target.accountId,
      action: 'principal.last_factor_lost',
      target: target.id,
      details: {
        guardrail: 'G5',
        sessionsRevoked: revoked,
        accessKeysDeactivated: keysDeactivated,
        temporaryCredentialsRevoked: temporaryRevoked,
        security: true,
      },
    },
  });
  return true;
}

/**
 * Removes a factor. An enabled factor is deactivated (`iam:DeactivateMFADevice`: G1 step-up, G2
 * for someone else's); a pending one is deleted (`iam:DeleteVirtualMFADevice`) by the session
 * that created it or an admin. Admin-provisioned factors only an admin can remove.
 */
export async function removeFactor(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; factorId: string; userRef?: string },
): Promise<{ lastFactorRemoved: boolean }> {
  const target =
    input.userRef === undefined && input.actor.kind === 'principal'
      ? input.actor.principal
      : await requireUser(deps, input.accountId, input.userRef ?? '');
  const found = await deps.store.factors.findById(input.accountId, input.factorId);
  const factor = found !== null && found.principalId === target.id ? found : null;
  const action = factor?.status === 'pending' ? ACTIONS.DeleteVirtualMFADevice : ACTIONS.DeactivateMFADevice;
  await authorize(deps, input.actor, action, { accountId: input.accountId, principal: target }, input.ctx);
  if (factor === null) throw new HoldfastError('FACTOR_NOT_FOUND');
  const self = actsOnSelf(input.actor, target);
  if (self && factor.adminProvisioned) throw new HoldfastError('FACTOR_ADMIN_PROVISIONED');
  if (
    actsOnSelf(input.actor, target) &&
    factor.status === 'pending' &&
    factor.pendingSessionId !== input.actor.session.id
  ) {
    // G3: a pending factor belongs to the session enrolling it; nobody else cancels it either.
    const error = new HoldfastError('FACTOR_WRONG_SESSION', undefined, { details: { guardrail: 'G3' } });
    await auditRefusal(deps, {
      actor: input.actor,
      ctx: input.ctx,
      action: 'factor.remove',
      target: factor.id,
      error,
    });
    throw error;
  }
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    await tx.factors.delete(factor.id);
    await releaseHardwareToken(tx, factor, now);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: factor.accountId,
        action: 'factor.remove',
        target: factor.id,
        details: { kind: factor.kind, name: factor.name, status: factor.status },
      },
    });
    if (factor.status === 'enabled') {
      await notifyPrincipal(deps, tx, {
        accountId: factor.accountId,
        principalId: target.id,
        template: 'factor.removed',
        payload: { factorName: factor.name, byAdmin: !self },
      });
      await endDerivedFromFactor(deps, tx, { actor: input.actor, ctx: input.ctx, factor });
    }
    const lastFactorRemoved =
      factor.status === 'enabled' &&
      (await onFactorLoss(deps, tx, { actor: input.actor, ctx: input.ctx, target }));
    return { lastFactorRemoved };
  });
}

/** Re-synchronises a drifted factor with two consecutive codes searched in a wide window; needs step-up. */
export async function resyncFactor(
  deps: AppDeps,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    factorId: string;
    codes: [string, string];
  },
): Promise<Factor> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ResyncMFADevice,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const factor = await loadFactor(deps, principal.accountId, input.factorId, principal.id);
  if (factor.status !== 'enabled') throw new HoldfastError('FACTOR_NOT_FOUND');
  const now = deps.clock.now();
  const result = resolveFactorDriver(factor.kind).verifyConsecutive({
    state: otpStateOf(deps, factor),
    codes: input.codes,
    now,
    settings: deps.settings.mfa.verify,
    purpose: 'resync',
  });
  const ok = await deps.store.transaction(async (tx) => {
    const accepted =
      result.ok &&
      (await tx.factors.acceptCode({
        id: factor.id,
        lastCounter: result.lastCounter,
        driftSteps: result.driftSteps,
        now,
      }));
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: accepted
        ? {
            accountId: factor.accountId,
            action: 'factor.resync',
            target: factor.id,
            details: { driftSteps: result.ok ? result.driftSteps : 0 },
          }
        : {
            accountId: factor.accountId,
            action: 'factor.resync',
            target: factor.id,
            outcome: 'failure',
            errorCode: 'FACTOR_CODE_INVALID',
            details: { reason: result.ok ? 'replayed' : result.reason },
          },
    });
    return accepted;
  });
  if (!ok || !result.ok) throw new HoldfastError('FACTOR_CODE_INVALID');
  return { ...factor, lastCounter: result.lastCounter, driftSteps: result.driftSteps, lastUsedAt: now };
}
