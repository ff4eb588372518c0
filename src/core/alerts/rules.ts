/**
 * Built-in detection rules over the audit stream (MISSION.md failure 7; docs/alerts.md). Each rule
 * is a pure function of one audit record plus the facts the scanner looked up for it; the
 * scanner (src/app/alerts.ts) runs them in the server process and turns matches into alerts.
 */

import { HoldfastError } from '../errors.js';
import type { AuditRecord } from '../audit/event.js';
import type { AlertSeverity } from '../recovery/types.js';

/** Per-account tunable thresholds. */
export interface AlertThresholds {
  /** Second-factor failures of one principal that count as brute force (default 10)... */
  bruteForceFailures: number;
  /** ...within this many minutes (default 15). */
  bruteForceWindowMinutes: number;
}

/** Default thresholds. */
export const DEFAULT_THRESHOLDS: AlertThresholds = { bruteForceFailures: 10, bruteForceWindowMinutes: 15 };

/** Facts a rule may need beyond the record, looked up by the scanner. */
export interface RuleFacts {
  /** Times of the target's second-factor failures in the brute-force window, this record included. */
  recentMfaFailures: number[];
  /** True when the signed-in principal had its second factor suspended in the last 7 days. */
  suspendedRecently: boolean;
  /**
   * Active owners and admins of the account, and those among the record's target and actor that
   * have no enabled factor (null when the record cannot change either).
   */
  admins: { total: number; withoutMfa: string[] } | null;
}

/** What a rule found. */
export interface RuleMatch {
  summary: string;
  principalId: string | null;
  details: Record<string, string | number | boolean | null>;
}

/** A detection rule. */
export interface DetectionRule {
  id: string;
  severity: AlertSeverity;
  /** Security-critical rules cannot be switched off by an account. */
  critical: boolean;
  /** Audit actions the rule looks at. */
  actions: readonly string[];
  /** One-line description (docs/alerts.md carries the long form). */
  title: string;
  match(record: AuditRecord, facts: RuleFacts, thresholds: AlertThresholds): RuleMatch | null;
}

const MFA_ATTEMPTS = ['auth.mfa_sign_in', 'auth.mfa_step_up', 'auth.mfa_passkey_sign_in'];
/** The audit action the scanner writes when an owner's or admin's initial enrolment window ends without a factor. */
export const ENROLMENT_WINDOW_ENDED = 'enrolment.window_ended';
/** Actions that can leave an account with fewer administrators. */
export const ADMIN_REDUCING_ACTIONS = ['user.disable', 'user.delete', 'user.role_change'];
/** Actions after which the account's administrators are re-counted. */
export const ADMIN_CHANGE_ACTIONS = [
  'user.create',
  'user.disable',
  'user.delete',
  'user.role_change',
  'factor.remove',
  'principal.last_factor_lost',
  'recovery.complete',
  'reset.complete',
  ENROLMENT_WINDOW_ENDED,
];

/**
 * Whether an owner or admin without a factor is still in their initial enrolment window (G3): a
 * person created a moment ago cannot have enrolled yet, so "admin without MFA" waits until the
 * window is over (or fires at once for someone who had a factor before and lost it).
 */
export function inInitialEnrolmentWindow(input: {
  createdAt: number;
  everEnrolled: boolean;
  windowMs: number;
  now: number;
}): boolean {
  return !input.everEnrolled && input.now - input.createdAt < input.windowMs;
}

/**
 * A refusal that is the console's routine step-up prompt, not an attack: a signed-in session
 * asked for a fresh second factor (the step-up dialog follows). The same refusal of long-term
 * access keys is kept: a key holder without MFA enrolling a device is MISSION.md failure 4.
 */
export function isRoutineStepUp(record: AuditRecord): boolean {
  return record.errorCode === 'MFA_STEP_UP_REQUIRED' && record.details.credential !== 'long-term-key';
}

const on = (record: AuditRecord, summary: string, extra: RuleMatch['details'] = {}): RuleMatch => ({
  summary,
  principalId: record.target !== null && record.target.startsWith('AIDA') ? record.target : record.actorId,
  details: { action: record.action, outcome: record.outcome, sourceIp: record.sourceIp, ...extra },
});

const success = (r: AuditRecord) => r.outcome === 'success';

/** Every built-in rule. */
export const DETECTION_RULES: readonly DetectionRule[] = [
  {
    id: 'HF-ENROL-FAIL',
    severity: 'medium',
    critical: true,
    actions: ['factor.create', 'factor.enable', 'authz.denied'],
    title: 'A factor creation or enable attempt was refused',
    match(r) {
      if (r.outcome !== 'failure' || r.details.security !== true) return null;
      if (isRoutineStepUp(r)) return null;
      if (r.action === 'authz.denied') {
        const action = String(r.details.action ?? '');
        if (!/MFADevice|RegenerateRecoveryCodes/.test(action)) return null;
      }
      return on(r, `refused ${r.action} (${r.errorCode ?? 'unknown'})`, {
        errorCode: r.errorCode,
        guardrail: typeof r.details.guardrail === 'string' ? r.details.guardrail : null,
      });
    },
  },
  {
    id: 'HF-FACTOR-REMOVED',
    severity: 'medium',
    critical: false,
    actions: ['factor.remove', 'principal.last_factor_lost'],
    title: 'A factor was removed, or a principal lost its last factor',
    match(r) {
      if (!success(r)) return null;
      if (r.action === 'factor.remove' && r.details.status !== 'enabled') return null;
      return on(
        r,
        r.action === 'factor.remove' ? 'an enabled factor was removed' : 'a principal has no factor left',
      );
    },
  },
  {
    id: 'HF-RECOVERY',
    severity: 'high',
    critical: true,
    actions: ['recovery.start', 'recovery.wait_started', 'recovery.complete', 'recovery.with_code_complete'],
    title: 'Account recovery was started or completed',
    match: (r) => (success(r) ? on(r, `recovery: ${r.action.split('.')[1]}`) : null),
  },
  {
    id: 'HF-RECOVERY-CODE',
    severity: 'medium',
    critical: false,
    actions: ['recovery_code.use'],
    title: 'A recovery code was used to sign in',
    match: (r) =>
      success(r) ? on(r, 'a recovery code was used', { remaining: Number(r.details.remaining ?? 0) }) : null,
  },
  {
    id: 'HF-RESET',
    severity: 'high',
    critical: true,
    actions: ['reset.request', 'reset.approve', 'reset.cancel', 'reset.complete'],
    title: 'A help-desk MFA reset was requested, approved, cancelled or completed',
    match: (r) => (success(r) ? on(r, `MFA reset: ${r.action.split('.')[1]}`) : null),
  },
  {
    id: 'HF-MFA-BRUTE-FORCE',
    severity: 'high',
    critical: true,
    actions: MFA_ATTEMPTS,
    title: 'Many second-factor failures for one principal in a short time',
    match(r, facts, t) {
      if (r.outcome !== 'failure') return null;
      // Fire once, when the count reaches the threshold (not on every failure after it).
      if (facts.recentMfaFailures.length !== t.bruteForceFailures) return null;
      return on(r, `${t.bruteForceFailures} second-factor failures in ${t.bruteForceWindowMinutes} minutes`, {
        failures: facts.recentMfaFailures.length,
      });
    },
  },
  {
    id: 'HF-SIGN-IN-AFTER-SUSPENSION',
    severity: 'high',
    critical: true,
    actions: ['auth.sign_in'],
    title: 'A principal signed in after its second factor was suspended',
    match: (r, facts) =>
      success(r) && facts.suspendedRecently ? on(r, 'sign-in after a second-factor suspension') : null,
  },
  {
    id: 'HF-POLICY-MFA-REMOVED',
    severity: 'critical',
    critical: true,
    actions: ['policy.put', 'policy.delete', 'role.trust_policy_update'],
    title: 'A policy change removed an MFA condition',
    match(r) {
      if (!success(r)) return null;
      const before = r.details.mfaConditionBefore === true;
      const after = r.details.mfaConditionAfter === true;
      if (!before || after) return null;
      return on(r, 'a policy no longer requires MFA where it did', {
        policy: String(r.details.name ?? r.target ?? ''),
      });
    },
  },
  {
    id: 'HF-WEAK-FACTOR-ALLOWED',
    severity: 'high',
    critical: true,
    actions: ['account.settings'],
    title: 'The account allowed text-message (SMS) codes, a weak factor',
    match(r) {
      return success(r) && r.details.smsOtpAllowed === true
        ? on(r, 'text-message (SMS) codes were allowed for the account')
        : null;
    },
  },
  {
    id: 'HF-SINGLE-ADMIN',
    severity: 'medium',
    critical: false,
    actions: ADMIN_REDUCING_ACTIONS,
    title: 'The account is left with a single owner or admin',
    match: (r, facts) =>
      success(r) && facts.admins !== null && facts.admins.total === 1
        ? on(r, 'the account has a single owner or admin', { admins: 1 })
        : null,
  },
  {
    id: 'HF-ADMIN-WITHOUT-MFA',
    severity: 'high',
    critical: false,
    actions: ADMIN_CHANGE_ACTIONS,
    title: 'An owner or admin has no enabled second factor',
    match: (r, facts) =>
      success(r) && facts.admins !== null && facts.admins.withoutMfa.length > 0
        ? {
            ...on(r, 'an owner or admin has no enabled second factor'),
            principalId: facts.admins.withoutMfa[0]!,
            details: { action: r.action, count: facts.admins.withoutMfa.length },
          }
        : null,
  },
];

/** Alert settings of an account. */
export interface AlertSettings {
  thresholds: AlertThresholds;
  /** Non-critical rules switched off. */
  disabledRules: string[];
}

/** Parses and checks alert settings: thresholds in range, only non-critical rules may be switched off. */
export function parseAlertSettings(raw: Record<string, unknown>): AlertSettings {
  const thresholds = { ...DEFAULT_THRESHOLDS };
  const t = (raw.alertThresholds ?? {}) as Record<string, unknown>;
  const bound = (name: keyof AlertThresholds, min: number, max: number) => {
    const v = t[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new HoldfastError('RECOVERY_SETTING_INVALID', `${name} must be an integer from ${min} to ${max}`);
    }
    thresholds[name] = v;
  };
  bound('bruteForceFailures', 3, 1000);
  bound('bruteForceWindowMinutes', 1, 24 * 60);
  const disabled = raw.disabledAlertRules ?? [];
  if (!Array.isArray(disabled))
    throw new HoldfastError('RECOVERY_SETTING_INVALID', 'disabledAlertRules must be a list');
  for (const id of disabled) {
    const rule = DETECTION_RULES.find((r) => r.id === id);
    if (rule === undefined) throw new HoldfastError('RECOVERY_SETTING_INVALID', 'unknown detection rule');
    if (rule.critical)
      throw new HoldfastError('ALERT_RULE_CRITICAL', undefined, { details: { rule: rule.id } });
  }
  return { thresholds, disabledRules: [...new Set(disabled as string[])] };
}

/** Runs every enabled rule on one record. */
export function evaluateRules(
  record: AuditRecord,
  facts: RuleFacts,
  settings: AlertSettings,
): Array<{ rule: DetectionRule; match: RuleMatch }> {
  const out: Array<{ rule: DetectionRule; match: RuleMatch }> = [];
  for (const rule of DETECTION_RULES) {
    if (!rule.actions.includes(record.action)) continue;
    if (!rule.critical && settings.disabledRules.includes(rule.id)) continue;
    const match = rule.match(record, facts, settings.thresholds);
    if (match !== null) out.push({ rule, match });
  }
  return out;
}
