/**
 * The rules of recovery and the help-desk reset, as pure functions: the transition table, the
 * waiting periods and their floors, who must approve, and what counts as evidence
 * (docs/recovery.md). NIST SP 800-63B §6.1.2.3 asks that account recovery after the loss of all
 * authenticators rests on identity proofing or on bound channels, and that the subscriber be
 * notified; the wait with one-click cancel is what turns "notified" into "able to stop it".
 */

import { HoldfastError } from '../errors.js';
import type { FlowDefinition, Transition } from '../flows/flow.js';
import type { Role } from '../principals/types.js';
import type { EvidenceItem, RecoveryKind, RecoveryRequest, RecoveryState } from './types.js';

/** Events a recovery or reset request reacts to. */
export type RecoveryEvent = 'channels_proven' | 'approved' | 'wait_over' | 'cancel' | 'expire';

const OPEN: readonly RecoveryState[] = ['verifying', 'awaiting_approval', 'waiting'];

/** The transition table (each transition writes exactly one audit event, DESIGN.md convention 4). */
export const RECOVERY_TRANSITIONS: readonly Transition<RecoveryState, RecoveryEvent>[] = [
  { from: 'verifying', on: 'channels_proven', to: 'waiting', audit: 'recovery.wait_started' },
  { from: 'awaiting_approval', on: 'approved', to: 'waiting', audit: 'reset.approve' },
  { from: 'waiting', on: 'wait_over', to: 'completed', audit: 'recovery.complete' },
  ...OPEN.map((from) => ({
    from,
    on: 'cancel' as const,
    to: 'cancelled' as const,
    audit: 'recovery.cancel',
  })),
  { from: 'verifying', on: 'expire', to: 'expired', audit: 'recovery.expire' },
  { from: 'awaiting_approval', on: 'expire', to: 'expired', audit: 'recovery.expire' },
];

/** The flow definition (lifetime: how long a request may stay unverified or unapproved). */
export const RECOVERY_FLOW: FlowDefinition<RecoveryState, RecoveryEvent> = {
  kind: 'recovery',
  initial: 'verifying',
  terminal: ['completed', 'cancelled', 'expired'],
  lifetimeMs: 24 * 3_600_000,
  maxAttempts: 5,
  transitions: RECOVERY_TRANSITIONS,
};

/** The audit action of a transition, prefixed by kind (`reset.*` for help-desk resets). */
export function transitionFor(
  request: Pick<RecoveryRequest, 'state' | 'kind'>,
  event: RecoveryEvent,
): Transition<RecoveryState, RecoveryEvent> {
  const t = RECOVERY_TRANSITIONS.find((row) => row.from === request.state && row.on === event);
  if (t === undefined) {
    throw new HoldfastError('RECOVERY_STATE_INVALID', `a ${request.state} request does not accept ${event}`);
  }
  const audit = request.kind === 'helpdesk' ? t.audit.replace(/^recovery\./, 'reset.') : t.audit;
  return { ...t, audit };
}

/** True while a request can still change the principal's factors. */
export function isOpen(state: RecoveryState): boolean {
  return OPEN.includes(state);
}

/** Default waiting period of recovery and resets (24 hours). */
export const DEFAULT_WAIT_MS = 24 * 3_600_000;
/** No account setting brings the self-service recovery wait below one hour. */
export const MIN_RECOVERY_WAIT_MS = 3_600_000;
/** No setting brings a help-desk reset of a non-privileged user below 15 minutes. */
export const MIN_USER_RESET_WAIT_MS = 15 * 60_000;
/** The longest configurable wait (7 days). */
export const MAX_WAIT_MS = 7 * 24 * 3_600_000;

/** Recovery settings of an account (stored beside the account settings). */
export interface RecoverySettings {
  /** Wait of self-service recovery and of resets of owners and admins (seconds, floor 1 h). */
  recoveryWaitSeconds?: number;
  /** Wait of a help-desk reset of a non-privileged user (seconds, floor 15 min, at most the above). */
  userResetWaitSeconds?: number;
  /** Evidence kinds the help desk may record; absent: every built-in kind. */
  evidenceChecklist?: string[];
}

/** Privileged roles: their resets need a second approver and never get a shortened wait. */
export function isPrivileged(role: Role): boolean {
  return role === 'owner' || role === 'admin';
}

/** The wait a request gets, with the floors applied whatever the settings say. */
export function waitFor(input: { kind: RecoveryKind; targetRole: Role; settings: RecoverySettings }): number {
  const base = Math.min(
    MAX_WAIT_MS,
    Math.max(MIN_RECOVERY_WAIT_MS, (input.settings.recoveryWaitSeconds ?? DEFAULT_WAIT_MS / 1000) * 1000),
  );
  if (input.kind === 'self_service' || isPrivileged(input.targetRole)) return base;
  const shortened = input.settings.userResetWaitSeconds;
  if (shortened === undefined) return base;
  return Math.min(base, Math.max(MIN_USER_RESET_WAIT_MS, shortened * 1000));
}

/** Second approvals a help-desk reset needs: one for owners and admins, or when the account says so. */
export function approvalsRequired(input: { targetRole: Role; requireSecondApprover: boolean }): number {
  return isPrivileged(input.targetRole) || input.requireSecondApprover ? 1 : 0;
}

/** The built-in evidence checklist. */
export const EVIDENCE_KINDS = {
  phone_callback: 'Called back the phone number on file and the person confirmed the request',
  factor_code: 'The person read out a valid code from one of their enrolled factors',
  id_document: 'Checked an official identity document against the records',
  manager_confirmation: "The person's manager confirmed the request through a known channel",
} as const;

/** A built-in evidence kind. */
export type EvidenceKind = keyof typeof EVIDENCE_KINDS;

/**
 * Validates the evidence of a reset: at least one item from the account's checklist, each with
 * a note. Free text without a checklist item is refused (MISSION.md failure 3).
 */
export function checkEvidence(
  items: readonly EvidenceItem[],
  checklist: readonly string[] | undefined,
): EvidenceItem[] {
  const allowed = new Set(checklist ?? Object.keys(EVIDENCE_KINDS));
  const valid = items.filter((item) => allowed.has(item.kind));
  if (valid.length === 0 || valid.length !== items.length) {
    throw new HoldfastError(
      'RECOVERY_EVIDENCE_REQUIRED',
      valid.length === 0
        ? 'record at least one verification step from the checklist'
        : 'an evidence item names a kind that is not on the checklist',
      { details: { checklist: [...allowed].join(',') } },
    );
  }
  return valid.map((item) => ({ kind: item.kind, note: item.note.trim().slice(0, 500) }));
}

/** Parses and bounds stored or submitted recovery settings. */
export function parseRecoverySettings(raw: Record<string, unknown>): RecoverySettings {
  const out: RecoverySettings = {};
  const seconds = (name: string, min: number): number | undefined => {
    const v = raw[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min / 1000 || v > MAX_WAIT_MS / 1000) {
      throw new HoldfastError(
        'RECOVERY_SETTING_INVALID',
        `${name} must be an integer from ${min / 1000} to ${MAX_WAIT_MS / 1000}`,
      );
    }
    return v;
  };
  const recovery = seconds('recoveryWaitSeconds', MIN_RECOVERY_WAIT_MS);
  if (recovery !== undefined) out.recoveryWaitSeconds = recovery;
  const user = seconds('userResetWaitSeconds', MIN_USER_RESET_WAIT_MS);
  if (user !== undefined) out.userResetWaitSeconds = user;
  const list = raw.evidenceChecklist;
  if (list !== undefined && list !== null) {
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((k) => typeof k === 'string' && k in EVIDENCE_KINDS)
    ) {
      throw new HoldfastError(
        'RECOVERY_SETTING_INVALID',
        'evidenceChecklist must list built-in evidence kinds',
      );
    }
    out.evidenceChecklist = [...new Set(list as string[])];
  }
  return out;
}
