import { HoldfastError } from '../core/errors.js';
import type { Factor, OTPParams } from '../core/factors/factor.js';
import { encodeBase32 } from '../core/factors/otp/base32.js';
import { buildKeyURI } from '../core/factors/otp/key-uri.js';
import { resolveFactorDriver } from '../core/factors/registry.js';
import type { Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import { hasMFA } from '../core/sessions/session.js';
import { uniqueViolation } from './conflicts.js';
import { ACTIONS, type Action } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, notifyPrincipal, writeAudit, type AppDeps, type AuditFact } from './deps.js';
import { factorSecretContext, otpStateOf } from './factor-secrets.js';
import { requireRecentMFA } from './mfa.js';
import { requireUser } from './users.js';

/** TOTP seeds are 160 bits, the HMAC-SHA1 block recommendation of RFC 4226 §4 (R6). */
const TOTP_SECRET_BYTES = 20;
const DEFAULT_TOTP_PARAMS: OTPParams = {
  mode: 'totp',
  algorithm: 'SHA1',
  digits: 6,
  period: 30,
  initialCounter: 0,
};

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
  input: { actor: Actor; accountId: string; userRef?: string; action: Action },
) {
  const target =
    input.userRef === undefined && input.actor.kind === 'principal'
      ? input.actor.principal
      : await requireUser(deps, input.accountId, input.userRef ?? '');
  authorize(input.actor, input.action, { accountId: input.accountId, principal: target });
  return target;
}

function actsOnSelf(actor: Actor, target: Principal): actor is Actor & { kind: 'principal' } {
  return actor.kind === 'principal' && actor.principal.id === target.id;
}

/** Lists a principal's factors (never their secrets). */
export async function listFactors(
  deps: AppDeps,
  input: { actor: Actor; accountId: string; userRef?: string },
): Promise<Factor[]> {
  const target = await targetPrincipal(deps, { ...input, action: ACTIONS.ListMFADevices });
  const now = deps.clock.now();
  const factors = await deps.store.factors.listByPrincipal(input.accountId, target.id);
  return factors.filter((f) => f.status === 'enabled' || (f.pendingExpiresAt ?? Infinity) > now);
}

/**
 * Starts enrolling an authenticator app: a pending factor owned by the creating session, valid
 * for 10 minutes. A principal that already has a factor must be in an MFA session to add one
 * ("add before remove" is the recommended path; docs/mfa.md).
 */
export async function createTOTPFactor(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; name: string },
): Promise<TOTPEnrolment> {
  const { principal, session } = input.actor;
  authorize(input.actor, ACTIONS.CreateVirtualMFADevice, { accountId: principal.accountId, principal });
  const name = parseFactorName(input.name);
  const account = await deps.store.accounts.findById(principal.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  const secret = deps.random.bytes(TOTP_SECRET_BYTES);
  const id = newId(deps, 'mfa_');
  const now = deps.clock.now();
  const factor: Factor = {
    id,
    accountId: principal.accountId,
    principalId: principal.id,
    kind: 'totp',
    name,
    status: 'pending',
    assurance: resolveFactorDriver('totp').assurance({ adminProvisioned: false }),
    adminProvisioned: false,
    hardwareTokenId: null,
    secretSealed: deps.secretBox.seal(secret, factorSecretContext(id)),
    params: DEFAULT_TOTP_PARAMS,
    lastCounter: null,
    driftSteps: 0,
    failedAttempts: 0,
    createdAt: now,
    enabledAt: null,
    lastUsedAt: null,
    pendingSessionId: session.id,
    pendingExpiresAt: now + deps.settings.mfa.pendingTtlMs,
    pendingAttempts: 0,
  };
  await deps.store.transaction(async (tx) => {
    await tx.factors.deleteExpiredPending({ accountId: principal.accountId, principalId: principal.id, now });
    const existing = await tx.factors.listByPrincipal(principal.accountId, principal.id);
    if (existing.some((f) => f.status === 'enabled') && !hasMFA(session)) {
      throw new HoldfastError(
        'MFA_STEP_UP_REQUIRED',
        'adding a factor next to an existing one needs an MFA session',
      );
    }
    if (existing.length >= deps.settings.mfa.maxFactors) throw new HoldfastError('FACTOR_LIMIT_REACHED');
    if (existing.some((f) => f.name === name)) throw new HoldfastError('FACTOR_NAME_TAKEN');
    await tx.factors.insert(factor);
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
  // Loaded on first enrolment only: most requests never draw a QR code.
  const { default: QRCode } = await import('qrcode');
  const [qrCodePng, qrCodeSvg] = await Promise.all([
    QRCode.toBuffer(keyUri, { type: 'png', errorCorrectionLevel: 'M', margin: 2 }).then((b) =>
      b.toString('base64'),
    ),
    QRCode.toString(keyUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
  ]);
  return { factor, secretBase32, keyUri, qrCodePng, qrCodeSvg };
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
 * Enables a pending factor. Only the session that created it may (an admin-assigned hardware
 * token: its user or an admin), within its lifetime; wrong codes change nothing but the
 * attempt counter, and the pending factor survives a few of them.
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
  if (factor.status !== 'pending') throw new HoldfastError('FACTOR_NOT_PENDING');
  const now = deps.clock.now();
  if (factor.pendingSessionId !== null) {
    if (input.actor.kind !== 'principal' || input.actor.session.id !== factor.pendingSessionId) {
      throw new HoldfastError('FACTOR_WRONG_SESSION');
    }
  }
  /** The audit record of one enabling attempt (success or failure). */
  const auditEnable = (tx: Repositories, fact: Partial<AuditFact>) =>
    writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: { accountId: factor.accountId, action: 'factor.enable', target: factor.id, ...fact },
    });
  const expired =
    (factor.pendingExpiresAt !== null && factor.pendingExpiresAt <= now) ||
    factor.pendingAttempts >= deps.settings.mfa.pendingMaxAttempts;
  if (expired) {
    await deps.store.transaction(async (tx) => {
      if (factor.hardwareTokenId === null) await tx.factors.delete(factor.id);
      await auditEnable(tx, { outcome: 'failure', errorCode: 'FACTOR_PENDING_EXPIRED' });
    });
    throw new HoldfastError('FACTOR_PENDING_EXPIRED');
  }
  const driver = resolveFactorDriver(factor.kind);
  const state = otpStateOf(deps, factor);
  const result =
    'codes' in input
      ? driver.verifyConsecutive({
          state,
          codes: input.codes,
          now,
          settings: deps.settings.mfa.verify,
          purpose: 'enable',
        })
      : driver.verify({ state, code: input.code, now, settings: deps.settings.mfa.verify });
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
      const enabledCount = (await tx.factors.listByPrincipal(factor.accountId, target.id)).filter(
        (f) => f.status === 'enabled',
      ).length;
      if (enabledCount >= deps.settings.mfa.maxFactors) throw new HoldfastError('FACTOR_LIMIT_REACHED');
      if (
        !(await tx.factors.enable({
          id: factor.id,
          lastCounter: result.lastCounter,
          driftSteps: result.driftSteps,
          now,
        }))
      ) {
        throw new HoldfastError('FACTOR_NOT_PENDING');
      }
      await auditEnable(tx, { details: { kind: factor.kind, name: factor.name } });
      await notifyPrincipal(deps, tx, {
        accountId: factor.accountId,
        principalId: target.id,
        template: 'factor.added',
        payload: { factorName: factor.name, kind: factor.kind },
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
  authorize(input.actor, ACTIONS.RenameMFADevice, { accountId: principal.accountId, principal });
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
    if (uniqueViolation(err) !== null) throw new HoldfastError('FACTOR_NAME_TAKEN');
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
 * Removes a factor. Users remove their own with a recent MFA (step-up); admin-provisioned
 * factors only an admin can remove. Pending factors go without step-up.
 */
export async function removeFactor(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; factorId: string; userRef?: string },
): Promise<void> {
  const target = await targetPrincipal(deps, { ...input, action: ACTIONS.DeactivateMFADevice });
  const factor = await loadFactor(deps, input.accountId, input.factorId, target.id);
  const self = actsOnSelf(input.actor, target);
  if (self && factor.adminProvisioned) throw new HoldfastError('FACTOR_ADMIN_PROVISIONED');
  if (factor.status === 'enabled' && input.actor.kind === 'principal')
    requireRecentMFA(deps, input.actor.session);
  await deps.store.transaction(async (tx) => {
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
    }
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
  const { principal, session } = input.actor;
  authorize(input.actor, ACTIONS.ResyncMFADevice, { accountId: principal.accountId, principal });
  requireRecentMFA(deps, session);
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
