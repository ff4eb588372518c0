/**
 * Security events as operators count them (docs/operations.md, "Monitoring"): the one table that
 * says which committed audit records and alerts are a sign-in outcome, a second-factor failure, a
 * suspension, a reset or recovery step, a guardrail refusal or an alert. Metrics are derived from
 * here, never counted by the routes, so a count moves exactly when the record it stands for
 * commits. Every label value is drawn from a closed set (no user id, login, address or secret):
 * a value outside the set becomes `other`, so a scrape stays small whatever the traffic.
 */

import type { AuditEvent } from './event.js';

/** One family of security event with its labels. */
export type SecurityEvent =
  | { family: 'sign_in'; outcome: SignInOutcome }
  | { family: 'mfa_failure'; purpose: MfaPurpose; factorKind: string }
  | { family: 'mfa_suspension' }
  | { family: 'mfa_suspension_lift'; reason: string }
  | { family: 'reset'; stage: string; outcome: 'success' | 'failure' }
  | {
      family: 'recovery';
      kind: 'second_factor' | 'recovery_code' | 'password';
      stage: string;
      outcome: 'success' | 'failure';
    }
  | { family: 'guardrail_refusal'; guardrail: string; code: string }
  | { family: 'alert'; rule: string; severity: string };

/** A security event and how many it stands for (a refusal summary stands for several). */
export interface CountedSecurityEvent {
  event: SecurityEvent;
  count: number;
}

/** How a sign-in attempt ended. */
export type SignInOutcome =
  | 'success'
  | 'wrong_password'
  | 'unknown_login'
  | 'unknown_account'
  | 'disabled'
  | 'no_password'
  | 'invalid_passkey'
  | 'wrong_factor'
  | 'throttled'
  | 'suspended'
  | 'flow_failed'
  | 'other';

/** Which ceremony a second factor was asked for. */
export type MfaPurpose = 'sign_in' | 'step_up' | 'passkey_sign_in';

/** Every value each label may take (docs and dashboards may rely on these; `other` for the rest). */
export const SECURITY_EVENT_LABELS = {
  signInOutcomes: [
    'success',
    'wrong_password',
    'unknown_login',
    'unknown_account',
    'disabled',
    'no_password',
    'invalid_passkey',
    'wrong_factor',
    'throttled',
    'suspended',
    'flow_failed',
    'other',
  ] as const satisfies readonly SignInOutcome[],
  factorKinds: [
    'totp',
    'hardware_token',
    'webauthn',
    'sms_otp',
    'recovery_code',
    'unknown',
    'other',
  ] as const,
  suspensionLiftReasons: [
    'expired',
    'recovery_code',
    'admin',
    'operator',
    'enrolment_grant',
    'helpdesk_reset',
    'recovery',
    'other',
  ] as const,
  resetStages: [
    'requested',
    'approval',
    'approved',
    'waiting',
    'completed',
    'cancelled',
    'expired',
    'other',
  ] as const,
  recoveryStages: [
    'started',
    'verify',
    'waiting',
    'completed',
    'cancelled',
    'expired',
    'used',
    'other',
  ] as const,
  guardrails: ['G1', 'G2', 'G3', 'G4', 'G5', 'G6', 'G7', 'other'] as const,
  alertSeverities: ['low', 'medium', 'high', 'critical', 'other'] as const,
} as const;

/** `value` when it is one of `allowed`, else `other`. */
function oneOf(value: unknown, allowed: readonly string[]): string {
  return typeof value === 'string' && allowed.includes(value) ? value : 'other';
}

/** A label from code (a rule id, an error code): kept when it has the shape of one, else `other`. */
function codeLike(value: unknown): string {
  return typeof value === 'string' && /^[A-Z][A-Z0-9_-]{0,63}$/.test(value) ? value : 'other';
}

const CREDENTIAL_REASONS = ['wrong_password', 'unknown_login', 'unknown_account', 'disabled', 'no_password'];

function signInOutcome(event: AuditEvent): SignInOutcome {
  if (event.outcome === 'success') return 'success';
  switch (event.errorCode) {
    case 'AUTH_THROTTLED':
      return 'throttled';
    case 'MFA_SUSPENDED':
      return 'suspended';
    case 'MFA_FAILED':
      return 'wrong_factor';
    case 'AUTH_INVALID_CREDENTIALS':
      if (event.action === 'auth.passkey_sign_in') return 'invalid_passkey';
      return oneOf(event.details.reason, CREDENTIAL_REASONS) as SignInOutcome;
    default:
      return 'other';
  }
}

/** The second-factor attempts: `auth.mfa_<purpose>`. */
const MFA_ACTIONS: Record<string, MfaPurpose> = {
  'auth.mfa_sign_in': 'sign_in',
  'auth.mfa_step_up': 'step_up',
  'auth.mfa_passkey_sign_in': 'passkey_sign_in',
};

/** The records of a refused sign-in step other than `auth.sign_in` itself. */
const SIGN_IN_REFUSALS = ['auth.passkey_sign_in', 'auth.mfa_sign_in', 'auth.mfa_passkey_sign_in'];

/** Help-desk reset actions (`reset.*`, core/recovery/policy.ts) and their stage. */
const RESET_STAGES: Record<string, string> = {
  'reset.request': 'requested',
  'reset.approval': 'approval',
  'reset.approve': 'approved',
  'reset.wait_started': 'waiting',
  'reset.complete': 'completed',
  'reset.cancel': 'cancelled',
  'reset.expire': 'expired',
};

/** Recovery actions: self-service second-factor recovery, recovery codes, password resets. */
const RECOVERY_STAGES: Record<
  string,
  { kind: 'second_factor' | 'recovery_code' | 'password'; stage: string }
> = {
  'recovery.start': { kind: 'second_factor', stage: 'started' },
  'recovery.verify': { kind: 'second_factor', stage: 'verify' },
  'recovery.wait_started': { kind: 'second_factor', stage: 'waiting' },
  'recovery.complete': { kind: 'second_factor', stage: 'completed' },
  'recovery.cancel': { kind: 'second_factor', stage: 'cancelled' },
  'recovery.expire': { kind: 'second_factor', stage: 'expired' },
  'recovery.with_code_complete': { kind: 'recovery_code', stage: 'completed' },
  'recovery_code.use': { kind: 'recovery_code', stage: 'used' },
  'user.password_reset_request': { kind: 'password', stage: 'started' },
  'user.password_reset': { kind: 'password', stage: 'completed' },
};

/**
 * The security events one committed audit record stands for (none for most records). A refusal
 * summary (`details.summary`, core of `writeRefusal`) stands for `details.repeated` more refusals
 * of its kind: the first of its window was a record of its own.
 */
export function securityEventsOfAudit(event: AuditEvent): CountedSecurityEvent[] {
  const repeated = Number(event.details.repeated);
  const count =
    event.details.summary === true ? (Number.isSafeInteger(repeated) && repeated > 0 ? repeated : 0) : 1;
  if (count === 0) return [];
  const out: SecurityEvent[] = [];
  const { action } = event;
  const failed = event.outcome === 'failure';
  // Sign-in outcomes: a success is the one `auth.sign_in` of a completed sign-in (password,
  // password and second factor, or passkey); a failure is the record of the step that refused.
  if (action === 'auth.sign_in' || (failed && SIGN_IN_REFUSALS.includes(action))) {
    out.push({ family: 'sign_in', outcome: signInOutcome(event) });
  } else if (action === 'auth.sign_in_flow_failed') {
    out.push({ family: 'sign_in', outcome: 'flow_failed' });
  }
  const purpose = MFA_ACTIONS[action];
  if (purpose !== undefined && failed && event.errorCode === 'MFA_FAILED') {
    out.push({
      family: 'mfa_failure',
      purpose,
      factorKind: oneOf(event.details.factorKind, SECURITY_EVENT_LABELS.factorKinds),
    });
  }
  if (action === 'mfa.suspend' && !failed) out.push({ family: 'mfa_suspension' });
  // An admin's lift of a principal that was not suspended lifts nothing.
  if (action === 'mfa.suspension_lift' && !failed && event.details.reason !== 'not_suspended') {
    out.push({
      family: 'mfa_suspension_lift',
      reason: oneOf(event.details.reason, SECURITY_EVENT_LABELS.suspensionLiftReasons),
    });
  }
  const resetStage = RESET_STAGES[action];
  if (resetStage !== undefined) out.push({ family: 'reset', stage: resetStage, outcome: event.outcome });
  const recovery = RECOVERY_STAGES[action];
  if (recovery !== undefined) out.push({ family: 'recovery', ...recovery, outcome: event.outcome });
  if (failed && typeof event.details.guardrail === 'string') {
    out.push({
      family: 'guardrail_refusal',
      guardrail: oneOf(event.details.guardrail, SECURITY_EVENT_LABELS.guardrails),
      code: codeLike(event.errorCode),
    });
  }
  return out.map((e) => ({ event: e, count }));
}

/** The security event of an alert the scanner stored. */
export function securityEventOfAlert(alert: { ruleId: string; severity: string }): CountedSecurityEvent {
  return {
    event: {
      family: 'alert',
      rule: codeLike(alert.ruleId),
      severity: oneOf(alert.severity, SECURITY_EVENT_LABELS.alertSeverities),
    },
    count: 1,
  };
}
