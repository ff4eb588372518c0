/**
 * Self-service account recovery (docs/recovery.md):
 *
 * - with a recovery code: sign in with it (src/app/mfa.ts), enrol a new factor in that session,
 *   then {@link completeCodeRecovery} removes the lost factors and ends every other session;
 * - without one: prove control of the verified e-mail (a link) AND the verified phone (a code);
 *   the request then waits (24 hours by default, never under one hour) while the user, on every
 *   channel, and every owner and admin are told and can cancel with one click. When the wait
 *   ends uncancelled, the old factors are removed, sessions revoked and access keys deactivated
 *   (G5), and a one-time enrolment grant (G3) is e-mailed to the user. MFA is never switched off:
 *   the only way back in is to enrol a factor with that grant;
 * - a forgotten password: an e-mail link sets a new one, never touching MFA.
 *
 * The help-desk reset (src/app/resets.ts) shares the waiting period, the notices and the outcome.
 */

import { HoldfastError } from '../core/errors.js';
import type { Repositories } from '../core/ports.js';
import type { Account, Principal } from '../core/principals/types.js';
import {
  transitionFor,
  waitFor,
  type RecoveryEvent,
  isOpen,
  RECOVERY_FLOW,
  MAX_WAIT_MS,
} from '../core/recovery/policy.js';
import type { RecoveryRequest } from '../core/recovery/types.js';
import { hasMFA } from '../core/sessions/session.js';
import { sha256Hex } from '../core/crypto/hashing.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, writeAudit, type AppDeps } from './deps.js';
import { onFactorLoss } from './factors.js';
import { revokeDerived } from './derived-credentials.js';
import { clearMfaSuspension, requireRecentMFA } from './mfa.js';
import {
  adminsOf,
  CODE_MAX_ATTEMPTS,
  checkCode,
  countRecoveryStart,
  countSmsSend,
  emailAddressOf,
  findLinkToken,
  issueCode,
  issueLinkToken,
  queueMessage,
  recoverySettingsOf,
  verifiedContact,
} from './recovery-support.js';
import { checkNewPassword, findAccount } from './users.js';

/** Enrolment grants issued by recovery live 24 hours (the G3 maximum). */
export const RECOVERY_GRANT_TTL_MS = 24 * 3_600_000;
/** Cancel links stay valid through the longest wait and a day more (and die when the request closes). */
const CANCEL_TTL_MS = MAX_WAIT_MS + 24 * 3_600_000;

const SYSTEM: Actor = { kind: 'operator' };

/** The context of work the server does on its own (the scheduler). */
export function systemContext(requestId: string): RequestContext {
  return { requestId, sourceIp: null, userAgent: 'holdfast-scheduler' };
}

/** Moves a request along one transition, conditionally (one writer wins), with its audit event. */
export async function transitionRequest(
  deps: AppDeps,
  tx: Repositories,
  input: {
    request: RecoveryRequest;
    event: RecoveryEvent;
    actor: Actor | null;
    ctx: RequestContext;
    patch?: Partial<RecoveryRequest>;
    details?: Record<string, string | number | boolean | null | string[]>;
  },
): Promise<RecoveryRequest> {
  const { request } = input;
  const t = transitionFor(request, input.event);
  const now = deps.clock.now();
  const next: RecoveryRequest = {
    ...request,
    ...(input.patch ?? {}),
    state: t.to,
    updatedAt: Math.max(now, request.updatedAt + 1),
  };
  if (!(await tx.recovery.updateRequest(next, request.updatedAt))) {
    throw new HoldfastError('RECOVERY_STATE_INVALID', 'the request was changed by another step');
  }
  await writeAudit(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    fact: {
      accountId: request.accountId,
      action: t.audit,
      target: request.principalId,
      details: {
        requestId: request.id,
        kind: request.kind,
        from: request.state,
        to: t.to,
        evidence: request.evidence.map((e) => e.kind),
        security: true,
        ...(input.details ?? {}),
      },
    },
  });
  if (!isOpen(t.to)) {
    await tx.recovery.revokeTokens({ purpose: 'cancel', subjectId: request.id, now });
    await tx.recovery.revokeTokens({ purpose: 'recovery_email', subjectId: request.id, now });
    await tx.recovery.revokeTokens({ purpose: 'recovery_phone', subjectId: request.id, now });
  }
  return next;
}

/**
 * Tells the target (on every verified channel) and every other owner and admin about a request,
 * each message with its own one-click cancel link.
 */
export async function announceRequest(
  deps: AppDeps,
  tx: Repositories,
  input: { request: RecoveryRequest; target: Principal; template: string },
): Promise<void> {
  const { request, target } = input;
  const payload = {
    requestId: request.id,
    kind: request.kind,
    username: target.username,
    role: target.role,
    waitUntil: request.waitUntil,
    state: request.state,
    evidence: request.evidence.map((e) => e.kind).join(', '),
  };
  const cancelLink = async (recipient: Principal) =>
    (
      await issueLinkToken(deps, tx, {
        principal: recipient,
        purpose: 'cancel',
        subjectId: request.id,
        ttlMs: CANCEL_TTL_MS,
      })
    ).token;
  await queueMessage(deps, tx, {
    accountId: target.accountId,
    principalId: target.id,
    channel: 'email',
    template: input.template,
    recipient: await emailAddressOf(tx, target),
    payload: { ...payload, audience: 'target' },
    secret: await cancelLink(target),
  });
  const phone = await verifiedContact(tx, target, 'phone');
  if (phone !== null) {
    await queueMessage(deps, tx, {
      accountId: target.accountId,
      principalId: target.id,
      channel: 'sms',
      template: input.template,
      recipient: phone.address,
      payload: { ...payload, audience: 'target' },
      secret: await cancelLink(target),
    });
  }
  for (const admin of await adminsOf(tx, target.accountId)) {
    if (admin.id === target.id) continue;
    await queueMessage(deps, tx, {
      accountId: target.accountId,
      principalId: admin.id,
      channel: 'email',
      template: input.template,
      recipient: await emailAddressOf(tx, admin),
      payload: { ...payload, audience: 'admin' },
      secret: await cancelLink(admin),
    });
  }
}

/** Starts the waiting period of a request that is verified (and approved): notices go out now. */
export async function beginWait(
  deps: AppDeps,
  tx: Repositories,
  input: {
    request: RecoveryRequest;
    event: RecoveryEvent;
    actor: Actor | null;
    ctx: RequestContext;
    patch?: Partial<RecoveryRequest>;
    details?: Record<string, string | number | boolean | null | string[]>;
  },
): Promise<RecoveryRequest> {
  const now = deps.clock.now();
  const waiting = await transitionRequest(deps, tx, {
    ...input,
    patch: { ...(input.patch ?? {}), waitUntil: now + input.request.waitMs },
    details: { ...(input.details ?? {}), waitUntil: now + input.request.waitMs },
  });
  const target = await tx.principals.findById(waiting.accountId, waiting.principalId);
  if (target !== null)
    await announceRequest(deps, tx, { request: waiting, target, template: 'recovery.pending' });
  return waiting;
}

/** The account and principal an account string and login resolve to (trimmed; e-mail case-insensitive). */
async function resolveLogin(
  deps: AppDeps,
  input: { account: string; login: string },
): Promise<{ account: Account | null; principal: Principal | null }> {
  const account = await findAccount(deps, input.account);
  const login = input.login.trim();
  const principal =
    account === null || login === '' ? null : await deps.store.principals.findByLogin(account.id, login);
  return { account, principal };
}

/**
 * Starts self-service recovery without a recovery code. The answer is the same whether or not the
 * login exists or has verified channels (the reason goes to the audit log only).
 */
export async function startRecovery(
  deps: AppDeps,
  input: { ctx: RequestContext; account: string; login: string },
): Promise<{ status: 'started' }> {
  const { account, principal } = await resolveLogin(deps, input);
  await countRecoveryStart(deps, {
    kind: 'recover',
    account: input.account,
    login: input.login,
    sourceIp: input.ctx.sourceIp,
    resolved: { accountId: account?.id ?? null, principalId: principal?.id ?? null },
  });
  await deps.store.transaction(async (tx) => {
    const refuse = (reason: string) =>
      writeAudit(deps, tx, {
        actor: null,
        ctx: input.ctx,
        fact: {
          accountId: account?.id ?? null,
          action: 'recovery.start',
          target: principal?.id ?? null,
          outcome: 'failure',
          errorCode: 'CONTACT_NOT_VERIFIED',
          details: { reason, security: true },
        },
      });
    if (account === null || principal === null || principal.status !== 'active')
      return refuse('unknown_login');
    const email = await verifiedContact(tx, principal, 'email');
    const phone = await verifiedContact(tx, principal, 'phone');
    if (email === null || phone === null) return refuse('channels_not_verified');
    const now = deps.clock.now();
    const open = (
      await tx.recovery.listRequests({ accountId: account.id, principalId: principal.id })
    ).filter((r) => isOpen(r.state));
    if (open.some((r) => r.state !== 'verifying')) return refuse('request_open');
    // A restart never expires a live request: anyone who knows the account and login can ask,
    // and the link and code already sent to the user must keep working. The answer is the same.
    const live = open.find((r) => r.expiresAt > now);
    // Texts a fresh phone code for a request (the code itself goes only into the message).
    const textCode = async (requestId: string): Promise<void> => {
      const code = await issueCode(deps, tx, { principal, purpose: 'recovery_phone', subjectId: requestId });
      await queueMessage(deps, tx, {
        accountId: account.id,
        principalId: principal.id,
        channel: 'sms',
        template: 'recovery.verify_phone',
        recipient: phone.address,
        secret: code,
      });
    };
    if (live !== undefined) {
      const code = await tx.recovery.findLiveToken({ purpose: 'recovery_phone', subjectId: live.id, now });
      if (code !== null) return refuse('request_live');
      // The code (10 minutes) died before the request (an hour): a fresh code for the same
      // request, within the daily cap on texts.
      if (!(await countSmsSend(deps, tx, principal.id))) return refuse('sms_cap');
      await textCode(live.id);
      await writeAudit(deps, tx, {
        actor: null,
        ctx: input.ctx,
        fact: {
          accountId: account.id,
          action: 'recovery.start',
          target: principal.id,
          details: { requestId: live.id, kind: 'self_service', resent: 'code', security: true },
        },
      });
      return;
    }
    for (const stale of open) {
      await transitionRequest(deps, tx, {
        request: stale,
        event: 'expire',
        actor: null,
        ctx: input.ctx,
      });
    }
    if (!(await countSmsSend(deps, tx, principal.id))) return refuse('sms_cap');
    const settings = await recoverySettingsOf(tx, account.id);
    const request: RecoveryRequest = {
      id: newId(deps, 'rcv_'),
      accountId: account.id,
      principalId: principal.id,
      kind: 'self_service',
      state: 'verifying',
      requestedBy: null,
      evidence: [],
      reason: 'self-service recovery',
      emailVerifiedAt: null,
      phoneVerifiedAt: null,
      approvalsRequired: 0,
      approvals: [],
      waitMs: waitFor({ kind: 'self_service', targetRole: principal.role, settings }),
      waitUntil: null,
      expiresAt: now + 3_600_000,
      createdAt: now,
      updatedAt: now,
      completedAt: null,
      cancelledAt: null,
      cancelledBy: null,
    };
    await tx.recovery.insertRequest(request);
    const link = await issueLinkToken(deps, tx, {
      principal,
      purpose: 'recovery_email',
      subjectId: request.id,
      ttlMs: 3_600_000,
    });
    await queueMessage(deps, tx, {
      accountId: account.id,
      principalId: principal.id,
      channel: 'email',
      template: 'recovery.verify_email',
      recipient: email.address,
      secret: link.token,
    });
    await textCode(request.id);
    await writeAudit(deps, tx, {
      actor: null,
      ctx: input.ctx,
      fact: {
        accountId: account.id,
        action: 'recovery.start',
        target: principal.id,
        details: { requestId: request.id, kind: 'self_service', security: true },
      },
    });
  });
  return { status: 'started' };
}

/**
 * The second step of self-service recovery: the e-mail link (proving the mailbox) together with
 * the code sent to the phone. Both proven, the request starts its waiting period.
 */
export async function verifyRecovery(
  deps: AppDeps,
  input: { ctx: RequestContext; token: string; code: string },
): Promise<{ requestId: string; waitUntil: number }> {
  const result = await deps.store.transaction(async (tx) => {
    const link = await findLinkToken(deps, tx, { token: input.token, purposes: ['recovery_email'] });
    if (link === null) return null;
    const request = await tx.recovery.findRequestById(link.subjectId);
    const now = deps.clock.now();
    if (request === null || request.state !== 'verifying') return null;
    if (now >= request.expiresAt) {
      await transitionRequest(deps, tx, { request, event: 'expire', actor: null, ctx: input.ctx });
      return null;
    }
    if (
      !(await checkCode(deps, tx, { purpose: 'recovery_phone', subjectId: request.id, code: input.code }))
    ) {
      const live = await tx.recovery.findLiveToken({ purpose: 'recovery_phone', subjectId: request.id, now });
      await writeAudit(deps, tx, {
        actor: null,
        ctx: input.ctx,
        fact: {
          accountId: request.accountId,
          action: 'recovery.verify',
          target: request.principalId,
          outcome: 'failure',
          errorCode: 'VERIFICATION_INVALID',
          details: { requestId: request.id, security: true },
        },
      });
      if (live === null || live.attempts >= CODE_MAX_ATTEMPTS) {
        await transitionRequest(deps, tx, {
          request,
          event: 'expire',
          actor: null,
          ctx: input.ctx,
          details: { reason: 'too_many_codes' },
        });
      }
      return null;
    }
    await tx.recovery.consumeToken({ id: link.id, now });
    const waiting = await beginWait(deps, tx, {
      request,
      event: 'channels_proven',
      actor: null,
      ctx: input.ctx,
      patch: { emailVerifiedAt: now, phoneVerifiedAt: now },
    });
    return { requestId: waiting.id, waitUntil: waiting.waitUntil! };
  });
  if (result === null) throw new HoldfastError('VERIFICATION_INVALID');
  return result;
}

/** What a link is for, without using it (the GET of a link page has no side effect). */
export async function inspectLink(
  deps: AppDeps,
  input: { token: string },
): Promise<{ purpose: string; requestKind: string | null; username: string | null } | null> {
  const token = await findLinkToken(deps, deps.store, {
    token: input.token,
    purposes: ['cancel', 'recovery_email', 'password_reset', 'contact_verify'],
  });
  if (token === null) return null;
  const request =
    token.purpose === 'cancel' ? await deps.store.recovery.findRequestById(token.subjectId) : null;
  const target =
    request === null ? null : await deps.store.principals.findById(request.accountId, request.principalId);
  return { purpose: token.purpose, requestKind: request?.kind ?? null, username: target?.username ?? null };
}

/** "This was not me": a cancel link from a notice stops the request, whoever received it. */
export async function cancelByLink(
  deps: AppDeps,
  input: { ctx: RequestContext; token: string },
): Promise<{ requestId: string; kind: string }> {
  const done = await deps.store.transaction(async (tx) => {
    const token = await findLinkToken(deps, tx, { token: input.token, purposes: ['cancel'] });
    if (token === null) return null;
    const request = await tx.recovery.findRequestById(token.subjectId);
    if (request === null || !isOpen(request.state)) return null;
    const now = deps.clock.now();
    await tx.recovery.consumeToken({ id: token.id, now });
    const cancelled = await transitionRequest(deps, tx, {
      request,
      event: 'cancel',
      actor: null,
      ctx: input.ctx,
      patch: { cancelledAt: now, cancelledBy: token.principalId },
      details: { via: 'link', cancelledBy: token.principalId },
    });
    await noticeOutcome(deps, tx, { request: cancelled, template: 'recovery.cancelled' });
    return { requestId: request.id, kind: request.kind };
  });
  if (done === null) throw new HoldfastError('VERIFICATION_INVALID');
  return done;
}

/** Tells the target and the owners and admins how a request ended (no links). */
export async function noticeOutcome(
  deps: AppDeps,
  tx: Repositories,
  input: { request: RecoveryRequest; template: string },
): Promise<void> {
  const { request } = input;
  const target = await tx.principals.findById(request.accountId, request.principalId);
  if (target === null) return;
  const payload = {
    requestId: request.id,
    kind: request.kind,
    username: target.username,
    state: request.state,
  };
  const recipients = [target, ...(await adminsOf(tx, request.accountId)).filter((a) => a.id !== target.id)];
  for (const p of recipients) {
    await queueMessage(deps, tx, {
      accountId: request.accountId,
      principalId: p.id,
      channel: 'email',
      template: input.template,
      recipient: await emailAddressOf(tx, p),
      payload: { ...payload, audience: p.id === target.id ? 'target' : 'admin' },
    });
  }
}

/**
 * The end of a waiting period: the target's factors and recovery codes are removed, its sessions
 * and credentials revoked (G5), and a one-time enrolment grant goes to its e-mail. The MFA
 * requirement stays: the grant only lets the user enrol a new factor.
 */
async function completeRequest(
  deps: AppDeps,
  request: RecoveryRequest,
  ctx: RequestContext,
): Promise<boolean> {
  return deps.store
    .transaction(async (tx) => {
      const now = deps.clock.now();
      const current = await tx.recovery.findRequestById(request.id);
      if (
        current === null ||
        current.state !== 'waiting' ||
        current.waitUntil === null ||
        current.waitUntil > now
      ) {
        return false;
      }
      await transitionRequest(deps, tx, {
        request: current,
        event: 'wait_over',
        actor: SYSTEM,
        ctx,
        patch: { completedAt: now },
        details: { by: 'scheduler' },
      });
      const target = await tx.principals.findById(current.accountId, current.principalId);
      if (target === null) return true;
      const factors = await tx.factors.listByPrincipal(target.accountId, target.id);
      for (const factor of factors) {
        await tx.factors.delete(factor.id);
        // A token the user no longer has must not go back to the pool: it is marked lost.
        const token =
          factor.hardwareTokenId === null
            ? null
            : await tx.hardwareTokens.findById(factor.accountId, factor.hardwareTokenId);
        if (token !== null && token.state === 'assigned') {
          await tx.hardwareTokens.update({
            ...token,
            state: 'lost',
            principalId: null,
            factorId: null,
            updatedAt: now,
          });
        }
      }
      await tx.recoveryCodes.replaceSet({
        accountId: target.accountId,
        principalId: target.id,
        codes: [],
        now,
      });
      await onFactorLoss(deps, tx, { actor: SYSTEM, ctx, target });
      // A suspension from before must not stand between the user and their new factor.
      await clearMfaSuspension(deps, tx, {
        principal: target,
        reason: current.kind === 'helpdesk' ? 'helpdesk_reset' : 'recovery',
        actor: SYSTEM,
        ctx,
      });
      const token = 'hfgrant_' + Buffer.from(deps.random.bytes(32)).toString('base64url');
      await tx.enrolment.insertGrant({
        id: newId(deps, 'egr_'),
        accountId: target.accountId,
        principalId: target.id,
        tokenHash: sha256Hex(token),
        reason: current.kind === 'helpdesk' ? 'helpdesk_reset' : 'recovery',
        issuedBy: current.requestedBy,
        createdAt: now,
        expiresAt: now + RECOVERY_GRANT_TTL_MS,
        usedAt: null,
      });
      await writeAudit(deps, tx, {
        actor: SYSTEM,
        ctx,
        fact: {
          accountId: target.accountId,
          action: 'enrolment_grant.issue',
          target: target.id,
          details: {
            reason: current.kind,
            requestId: current.id,
            expiresAt: now + RECOVERY_GRANT_TTL_MS,
            security: true,
          },
        },
      });
      await queueMessage(deps, tx, {
        accountId: target.accountId,
        principalId: target.id,
        channel: 'email',
        template: 'recovery.grant',
        recipient: await emailAddressOf(tx, target),
        payload: { requestId: current.id, kind: current.kind, expiresAt: now + RECOVERY_GRANT_TTL_MS },
        secret: token,
      });
      const admins = (await adminsOf(tx, target.accountId)).filter((a) => a.id !== target.id);
      for (const admin of admins) {
        await queueMessage(deps, tx, {
          accountId: target.accountId,
          principalId: admin.id,
          channel: 'email',
          template: 'recovery.completed',
          recipient: await emailAddressOf(tx, admin),
          payload: {
            requestId: current.id,
            kind: current.kind,
            username: target.username,
            audience: 'admin',
          },
        });
      }
      return true;
    })
    .catch((err: unknown) => {
      // Another server completed it first: nothing to do.
      if (err instanceof HoldfastError && err.code === 'RECOVERY_STATE_INVALID') return false;
      throw err;
    });
}

/**
 * The scheduler's step (run in the server process, and by `holdfast reset run-due`): completes
 * requests whose wait is over and expires the ones left unverified or unapproved too long.
 */
export async function runRecoveryScheduler(
  deps: AppDeps,
  input: { ctx?: RequestContext } = {},
): Promise<{ completed: number; expired: number }> {
  const ctx = input.ctx ?? systemContext(newId(deps, 'job_'));
  let completed = 0;
  for (const request of await deps.store.recovery.dueRequests(deps.clock.now(), 100)) {
    if (await completeRequest(deps, request, ctx)) completed++;
  }
  let expired = 0;
  for (const account of await deps.store.accounts.list()) {
    const stale = (
      await deps.store.recovery.listRequests({
        accountId: account.id,
        states: ['verifying', 'awaiting_approval'],
      })
    ).filter((r) => r.expiresAt <= deps.clock.now());
    for (const request of stale) {
      const moved = await deps.store
        .transaction((tx) => transitionRequest(deps, tx, { request, event: 'expire', actor: SYSTEM, ctx }))
        .then(() => true)
        .catch(() => false);
      if (moved) expired++;
    }
  }
  return { completed, expired };
}

/** Starts a password reset: a link to the verified e-mail. The answer never says whether it exists. */
export async function startPasswordReset(
  deps: AppDeps,
  input: { ctx: RequestContext; account: string; login: string },
): Promise<{ status: 'started' }> {
  const { account, principal } = await resolveLogin(deps, input);
  await countRecoveryStart(deps, {
    kind: 'pwreset',
    account: input.account,
    login: input.login,
    sourceIp: input.ctx.sourceIp,
    resolved: { accountId: account?.id ?? null, principalId: principal?.id ?? null },
  });
  await deps.store.transaction(async (tx) => {
    const email = principal === null ? null : await verifiedContact(tx, principal, 'email');
    const now = deps.clock.now();
    // A restart never expires a live link: the one already sent keeps working (same answer).
    const live =
      principal === null
        ? null
        : await tx.recovery.findLiveToken({ purpose: 'password_reset', subjectId: principal.id, now });
    if (
      account === null ||
      principal === null ||
      principal.status !== 'active' ||
      email === null ||
      live !== null
    ) {
      await writeAudit(deps, tx, {
        actor: null,
        ctx: input.ctx,
        fact: {
          accountId: account?.id ?? null,
          action: 'user.password_reset_request',
          target: principal?.id ?? null,
          outcome: 'failure',
          errorCode: 'CONTACT_NOT_VERIFIED',
          details: { security: true, ...(live !== null ? { reason: 'request_live' } : {}) },
        },
      });
      return;
    }
    const { token } = await issueLinkToken(deps, tx, {
      principal,
      purpose: 'password_reset',
      subjectId: principal.id,
      ttlMs: 3_600_000,
    });
    await queueMessage(deps, tx, {
      accountId: principal.accountId,
      principalId: principal.id,
      channel: 'email',
      template: 'password_reset.link',
      recipient: email.address,
      secret: token,
    });
    await writeAudit(deps, tx, {
      actor: null,
      ctx: input.ctx,
      fact: { accountId: principal.accountId, action: 'user.password_reset_request', target: principal.id },
    });
  });
  return { status: 'started' };
}

/**
 * Sets a new password from a reset link. It never removes or skips a factor: the next sign-in
 * still asks for the second factor. Every session is revoked and the user is told.
 */
export async function completePasswordReset(
  deps: AppDeps,
  input: { ctx: RequestContext; token: string; password: string },
): Promise<{ principalId: string }> {
  const preview = await findLinkToken(deps, deps.store, { token: input.token, purposes: ['password_reset'] });
  const principal =
    preview === null ? null : await deps.store.principals.findById(preview.accountId, preview.principalId);
  const account = preview === null ? null : await deps.store.accounts.findById(preview.accountId);
  if (preview === null || principal === null || account === null)
    throw new HoldfastError('VERIFICATION_INVALID');
  checkNewPassword(deps, { password: input.password, principal, account });
  const passwordHash = await deps.passwords.hash(input.password);
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    if (!(await tx.recovery.consumeToken({ id: preview.id, now })))
      throw new HoldfastError('VERIFICATION_INVALID');
    const current = await tx.principals.findById(principal.accountId, principal.id);
    if (current === null || current.status !== 'active') throw new HoldfastError('VERIFICATION_INVALID');
    await tx.principals.update({ ...current, passwordHash, passwordChangedAt: now, updatedAt: now });
    // Every session and temporary AWS credential of the principal ends with the old password.
    const { sessionsRevoked: revoked } = await revokeDerived(deps, tx, {
      actor: null,
      ctx: input.ctx,
      accountId: current.accountId,
      principalId: current.id,
      reason: 'password_reset',
    });
    await queueMessage(deps, tx, {
      accountId: current.accountId,
      principalId: current.id,
      channel: 'email',
      template: 'password_reset.done',
      recipient: await emailAddressOf(tx, current),
    });
    await writeAudit(deps, tx, {
      actor: null,
      ctx: input.ctx,
      fact: {
        accountId: current.accountId,
        action: 'user.password_reset',
        target: current.id,
        details: { sessionsRevoked: revoked, security: true },
      },
    });
    return { principalId: current.id };
  });
}

/**
 * Finishes recovery with a recovery code, in the session that code opened: once a new factor is
 * enabled there, the factors enrolled before this session (the lost ones) are removed and every
 * other session of the principal is revoked.
 */
export async function completeCodeRecovery(
  deps: AppDeps,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    /** Earlier factors the user still holds and keeps (default: every earlier factor is removed). */
    keepFactorIds?: string[];
  },
): Promise<{ factorsRemoved: number; sessionsRevoked: number }> {
  const { principal, session } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.CompleteCodeRecovery,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  if (!hasMFA(session) || session.auth.factor?.kind !== 'recovery_code') {
    throw new HoldfastError('RECOVERY_NOT_RECOVERY_SESSION');
  }
  await requireRecentMFA(deps, session);
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    // Only a code of a set issued from an MFA session of a principal with an enabled factor is a
    // second factor (recovery-codes.ts); a session opened with a code minted any other way, or
    // before sets recorded where they came from, cannot finish a recovery.
    if (!(await tx.recoveryCodes.usedAt({ principalId: principal.id, usedAt: session.auth.factor!.at }))) {
      throw new HoldfastError('RECOVERY_NOT_RECOVERY_SESSION');
    }
    const factors = await tx.factors.listByPrincipal(principal.accountId, principal.id);
    const fresh = factors.filter((f) => f.status === 'enabled' && (f.enabledAt ?? 0) >= session.createdAt);
    if (fresh.length === 0) {
      throw new HoldfastError(
        'RECOVERY_STATE_INVALID',
        'enrol and enable a new factor in this session first',
      );
    }
    const keep = new Set(input.keepFactorIds ?? []);
    const lost = factors.filter(
      (f) => !fresh.includes(f) && !keep.has(f.id) && !f.adminProvisioned && f.status === 'enabled',
    );
    for (const factor of lost) await tx.factors.delete(factor.id);
    const sessionsRevoked = await tx.sessions.revokeAllForPrincipal({
      accountId: principal.accountId,
      principalId: principal.id,
      now,
      reason: 'recovered_with_code',
      exceptId: session.id,
    });
    await clearMfaSuspension(deps, tx, { principal, reason: 'recovery', actor: input.actor, ctx: input.ctx });
    // The temporary AWS credentials go too (whatever minted them, the lost factors included).
    await revokeDerived(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      accountId: principal.accountId,
      principalId: principal.id,
      temporaryOnly: true,
      exceptId: session.id,
      reason: 'recovery_completed',
    });
    await queueMessage(deps, tx, {
      accountId: principal.accountId,
      principalId: principal.id,
      channel: 'email',
      template: 'recovery.code_completed',
      recipient: await emailAddressOf(tx, principal),
      payload: { factorsRemoved: lost.length, sessionsRevoked },
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: principal.accountId,
        action: 'recovery.with_code_complete',
        target: principal.id,
        details: {
          factorsRemoved: lost.map((f) => f.id),
          newFactors: fresh.map((f) => f.id),
          sessionsRevoked,
          security: true,
        },
      },
    });
    return { factorsRemoved: lost.length, sessionsRevoked };
  });
}

/** The lifetime of requests awaiting verification or approval. */
export const RECOVERY_PENDING_TTL_MS = RECOVERY_FLOW.lifetimeMs;
