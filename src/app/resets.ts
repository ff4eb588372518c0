/**
 * The help-desk MFA reset, enforced (MISSION.md failure 3; docs/recovery.md): an MFA-authenticated
 * admin or help-desk agent opens it for a target with recorded verification evidence from the
 * account's checklist; the help desk never opens one for an owner or admin (G6); a second
 * approver, never the requester nor the target (G6 through `requesterId`), approves it when the
 * target is privileged or the account asks for it on every reset; then the waiting period runs
 * with notices and cancel links to the target and every owner and admin, and the outcome is an
 * enrolment grant (src/app/recovery.ts), never a switched-off MFA requirement. Every step is
 * audited with the evidence.
 */

import { HoldfastError } from '../core/errors.js';
import { approvalsRequired, checkEvidence, isOpen, RECOVERY_FLOW, waitFor } from '../core/recovery/policy.js';
import type { EvidenceItem, RecoveryRequest, RecoveryState } from '../core/recovery/types.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, writeAudit, type AppDeps } from './deps.js';
import { announceRequest, beginWait, noticeOutcome, transitionRequest } from './recovery.js';
import { recoverySettingsOf } from './recovery-support.js';
import { requireUser } from './users.js';

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

async function auditFailure(
  deps: AppDeps,
  input: Common & {
    action: string;
    target: string | null;
    error: HoldfastError;
    details?: Record<string, string | number | boolean | null | string[]>;
  },
): Promise<void> {
  await deps.store.transaction((tx) =>
    writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.accountId,
        action: input.action,
        target: input.target,
        outcome: 'failure',
        errorCode: input.error.code,
        details: { security: true, ...(input.details ?? {}) },
      },
    }),
  );
}

/**
 * Opens a reset request. Authorization first (G2: an MFA session; G6: the help desk never on
 * owners or admins), then the evidence: at least one checklist item; free text alone is refused.
 */
export async function openResetRequest(
  deps: AppDeps,
  input: Common & { userRef: string; evidence: EvidenceItem[]; reason?: string },
): Promise<RecoveryRequest> {
  const target = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.OpenResetRequest,
    { accountId: input.accountId, principal: target },
    input.ctx,
  );
  const requesterId = input.actor.kind === 'principal' ? input.actor.principal.id : null;
  if (requesterId === target.id) {
    const error = new HoldfastError('GUARDRAIL_DENIED', 'G6: nobody opens a reset of their own factors', {
      details: { guardrail: 'G6' },
    });
    await auditFailure(deps, {
      ...input,
      action: 'reset.request',
      target: target.id,
      error,
      details: { guardrail: 'G6' },
    });
    throw error;
  }
  const settings = await recoverySettingsOf(deps.store, input.accountId);
  let evidence: EvidenceItem[];
  try {
    evidence = checkEvidence(input.evidence, settings.evidenceChecklist);
  } catch (err) {
    if (err instanceof HoldfastError) {
      await auditFailure(deps, {
        ...input,
        action: 'reset.request',
        target: target.id,
        error: err,
        details: { evidence: input.evidence.map((e) => String(e.kind)).slice(0, 10) },
      });
    }
    throw err;
  }
  const account = await deps.store.accounts.findById(input.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  return deps.store.transaction(async (tx) => {
    const open = (
      await tx.recovery.listRequests({ accountId: input.accountId, principalId: target.id })
    ).filter((r) => isOpen(r.state));
    if (open.length > 0) throw new HoldfastError('RECOVERY_IN_PROGRESS');
    const now = deps.clock.now();
    const required = approvalsRequired({
      targetRole: target.role,
      requireSecondApprover: account.settings.requireSecondApprover === true,
    });
    const request: RecoveryRequest = {
      id: newId(deps, 'rst_'),
      accountId: input.accountId,
      principalId: target.id,
      kind: 'helpdesk',
      state: 'awaiting_approval',
      requestedBy: requesterId,
      evidence,
      reason: (input.reason ?? '').trim().slice(0, 500),
      emailVerifiedAt: null,
      phoneVerifiedAt: null,
      approvalsRequired: required,
      approvals: [],
      waitMs: waitFor({ kind: 'helpdesk', targetRole: target.role, settings }),
      waitUntil: null,
      expiresAt: now + RECOVERY_FLOW.lifetimeMs,
      createdAt: now,
      updatedAt: now,
      completedAt: null,
      cancelledAt: null,
      cancelledBy: null,
    };
    await tx.recovery.insertRequest(request);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.accountId,
        action: 'reset.request',
        target: target.id,
        details: {
          requestId: request.id,
          targetRole: target.role,
          evidence: evidence.map((e) => e.kind),
          evidenceNotes: evidence.map((e) => `${e.kind}: ${e.note}`),
          reason: request.reason,
          approvalsRequired: required,
          waitSeconds: Math.round(request.waitMs / 1000),
          security: true,
        },
      },
    });
    if (required === 0) {
      return beginWait(deps, tx, {
        request,
        event: 'approved',
        actor: input.actor,
        ctx: input.ctx,
        details: { approvals: 0 },
      });
    }
    // Everyone hears of it now, before any approval: the target and the owners and admins can cancel.
    await announceRequest(deps, tx, { request, target, template: 'reset.requested' });
    return request;
  });
}

/** Approves a reset (another admin or owner; never the requester, never the target: G6). */
export async function approveResetRequest(
  deps: AppDeps,
  input: Common & { requestId: string },
): Promise<RecoveryRequest> {
  const request = await deps.store.recovery.findRequest(input.accountId, input.requestId);
  if (request === null || request.kind !== 'helpdesk') throw new HoldfastError('RECOVERY_NOT_FOUND');
  const target = await requireUser(deps, input.accountId, request.principalId);
  await authorize(
    deps,
    input.actor,
    ACTIONS.ApproveResetRequest,
    {
      accountId: input.accountId,
      principal: target,
      ...(request.requestedBy === null ? {} : { requesterId: request.requestedBy }),
    },
    input.ctx,
  );
  if (input.actor.kind !== 'principal')
    throw new HoldfastError('AUTH_FORBIDDEN', 'an approval is given by a person');
  const approverId = input.actor.principal.id;
  return deps.store.transaction(async (tx) => {
    const current = await tx.recovery.findRequest(input.accountId, input.requestId);
    if (current === null) throw new HoldfastError('RECOVERY_NOT_FOUND');
    if (current.state !== 'awaiting_approval') throw new HoldfastError('RECOVERY_STATE_INVALID');
    if (
      !(await tx.recovery.addApproval({
        requestId: current.id,
        accountId: current.accountId,
        approverId,
        now: deps.clock.now(),
      }))
    ) {
      throw new HoldfastError('RECOVERY_ALREADY_APPROVED');
    }
    const approvals = [...current.approvals, approverId];
    if (approvals.length < current.approvalsRequired) {
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: current.accountId,
          action: 'reset.approval',
          target: current.principalId,
          details: { requestId: current.id, approvals: approvals.length, security: true },
        },
      });
      return { ...current, approvals };
    }
    return beginWait(deps, tx, {
      request: current,
      event: 'approved',
      actor: input.actor,
      ctx: input.ctx,
      patch: { approvals },
      details: { approvals: approvals.length, approvedBy: approverId },
    });
  });
}

/** Cancels a reset from the API or CLI (an admin or owner; the help desk may not, G6 protects privileged targets). */
export async function cancelResetRequest(
  deps: AppDeps,
  input: Common & { requestId: string; reason?: string },
): Promise<RecoveryRequest> {
  const request = await deps.store.recovery.findRequest(input.accountId, input.requestId);
  if (request === null) throw new HoldfastError('RECOVERY_NOT_FOUND');
  const target = await requireUser(deps, input.accountId, request.principalId);
  const self = input.actor.kind === 'principal' && input.actor.principal.id === target.id;
  // The target may always stop a request about themselves; others need the permission.
  if (!self) {
    await authorize(
      deps,
      input.actor,
      ACTIONS.CancelResetRequest,
      { accountId: input.accountId, principal: target },
      input.ctx,
    );
  }
  return deps.store.transaction(async (tx) => {
    const current = await tx.recovery.findRequest(input.accountId, input.requestId);
    if (current === null) throw new HoldfastError('RECOVERY_NOT_FOUND');
    const now = deps.clock.now();
    const by = input.actor.kind === 'principal' ? input.actor.principal.id : 'operator';
    const cancelled = await transitionRequest(deps, tx, {
      request: current,
      event: 'cancel',
      actor: input.actor,
      ctx: input.ctx,
      patch: { cancelledAt: now, cancelledBy: by },
      details: { via: 'api', reason: (input.reason ?? '').slice(0, 200) },
    });
    await noticeOutcome(deps, tx, { request: cancelled, template: 'recovery.cancelled' });
    return cancelled;
  });
}

/** Lists the recovery and reset requests of the account (admins). */
export async function listResetRequests(
  deps: AppDeps,
  input: Common & { states?: RecoveryState[] },
): Promise<RecoveryRequest[]> {
  await authorize(deps, input.actor, ACTIONS.ListResetRequests, { accountId: input.accountId }, input.ctx);
  return deps.store.recovery.listRequests({
    accountId: input.accountId,
    ...(input.states ? { states: input.states } : {}),
  });
}

/** Reads the account's recovery and alert settings. */
export async function getRecoverySettings(deps: AppDeps, input: Common): Promise<Record<string, unknown>> {
  await authorize(deps, input.actor, ACTIONS.GetRecoverySettings, { accountId: input.accountId }, input.ctx);
  const raw = await deps.store.recovery.getSettings(input.accountId);
  return { ...raw, ...(await recoverySettingsOf(deps.store, input.accountId)) };
}

/** Changes the account's recovery and alert settings (bounded: floors of waits, critical rules stay on). */
export async function updateRecoverySettings(
  deps: AppDeps,
  input: Common & { changes: Record<string, unknown> },
): Promise<Record<string, unknown>> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.UpdateRecoverySettings,
    { accountId: input.accountId },
    input.ctx,
  );
  const allowed = [
    'recoveryWaitSeconds',
    'userResetWaitSeconds',
    'evidenceChecklist',
    'alertThresholds',
    'disabledAlertRules',
  ];
  for (const key of Object.keys(input.changes)) {
    if (!allowed.includes(key)) throw new HoldfastError('RECOVERY_SETTING_INVALID', `unknown setting ${key}`);
  }
  return deps.store.transaction(async (tx) => {
    const merged = { ...(await tx.recovery.getSettings(input.accountId)), ...input.changes };
    for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k];
    await recoverySettingsOf(
      { recovery: { ...tx.recovery, getSettings: async () => merged } },
      input.accountId,
    );
    await tx.recovery.putSettings({ accountId: input.accountId, document: merged, now: deps.clock.now() });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.accountId,
        action: 'account.recovery_settings',
        target: input.accountId,
        details: { changed: Object.keys(input.changes), security: true },
      },
    });
    return merged;
  });
}
