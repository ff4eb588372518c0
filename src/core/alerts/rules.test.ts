import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../audit/event.js';
import { isHoldfastError } from '../errors.js';
import {
  DEFAULT_THRESHOLDS,
  DETECTION_RULES,
  ENROLMENT_WINDOW_ENDED,
  evaluateRules,
  inInitialEnrolmentWindow,
  parseAlertSettings,
  type RuleFacts,
} from './rules.js';
import { expectCode } from '../../../test/helpers/errors.js';

const T = Date.UTC(2026, 0, 1);
const USER = 'AIDAAAAAAAAAAAAAAAAA';

function record(over: Partial<AuditRecord>): AuditRecord {
  return {
    seq: 10,
    eventId: 'evt_1',
    time: T,
    prevHash: '',
    hash: '',
    accountId: '123456789012',
    actorType: 'principal',
    actorId: USER,
    action: 'factor.create',
    target: USER,
    sourceIp: '192.0.2.1',
    userAgent: null,
    outcome: 'success',
    errorCode: null,
    details: {},
    ...over,
  };
}
const noFacts: RuleFacts = { recentMfaFailures: [], suspendedRecently: false, admins: null };
const settings = { thresholds: DEFAULT_THRESHOLDS, disabledRules: [] as string[] };
const fired = (r: AuditRecord, facts: Partial<RuleFacts> = {}, s = settings) =>
  evaluateRules(r, { ...noFacts, ...facts }, s).map((m) => m.rule.id);

describe('detection rules', () => {
  it.each([
    [
      'refused factor creation',
      record({
        action: 'factor.create',
        outcome: 'failure',
        errorCode: 'ENROLMENT_GRANT_REQUIRED',
        details: { security: true },
      }),
      ['HF-ENROL-FAIL'],
    ],
    [
      'refused enable',
      record({
        action: 'factor.enable',
        outcome: 'failure',
        errorCode: 'FACTOR_WRONG_SESSION',
        details: { security: true },
      }),
      ['HF-ENROL-FAIL'],
    ],
    [
      'device creation with long-term keys and no MFA',
      record({
        action: 'authz.denied',
        outcome: 'failure',
        errorCode: 'MFA_STEP_UP_REQUIRED',
        details: { security: true, action: 'iam:CreateVirtualMFADevice', credential: 'long-term-key' },
      }),
      ['HF-ENROL-FAIL'],
    ],
    [
      'denied device creation without a step-up way out',
      record({
        action: 'authz.denied',
        outcome: 'failure',
        errorCode: 'GUARDRAIL_DENIED',
        details: { security: true, action: 'iam:CreateVirtualMFADevice' },
      }),
      ['HF-ENROL-FAIL'],
    ],
    [
      'the console step-up prompt (a session asked for a fresh factor)',
      record({
        action: 'authz.denied',
        outcome: 'failure',
        errorCode: 'MFA_STEP_UP_REQUIRED',
        details: { security: true, action: 'holdfast:RegenerateRecoveryCodes', guardrail: 'G1' },
      }),
      [],
    ],
    [
      'adding a factor from a session without a fresh factor (prompt)',
      record({
        action: 'factor.create',
        outcome: 'failure',
        errorCode: 'MFA_STEP_UP_REQUIRED',
        details: { security: true, guardrail: 'G3' },
      }),
      [],
    ],
    [
      'denied unrelated action',
      record({
        action: 'authz.denied',
        outcome: 'failure',
        details: { security: true, action: 'iam:ListUsers' },
      }),
      [],
    ],
    ['successful factor creation', record({ action: 'factor.create' }), []],
    [
      'enabled factor removed',
      record({ action: 'factor.remove', details: { status: 'enabled' } }),
      ['HF-FACTOR-REMOVED'],
    ],
    ['pending factor cancelled', record({ action: 'factor.remove', details: { status: 'pending' } }), []],
    ['recovery started', record({ action: 'recovery.start' }), ['HF-RECOVERY']],
    ['recovery start refused', record({ action: 'recovery.start', outcome: 'failure' }), []],
    ['recovery completed', record({ action: 'recovery.complete' }), ['HF-RECOVERY']],
    [
      'recovery code used',
      record({ action: 'recovery_code.use', details: { remaining: 9 } }),
      ['HF-RECOVERY-CODE'],
    ],
    ['reset requested', record({ action: 'reset.request' }), ['HF-RESET']],
    ['reset approved', record({ action: 'reset.approve' }), ['HF-RESET']],
    ['reset cancelled', record({ action: 'reset.cancel' }), ['HF-RESET']],
    [
      'policy lost its MFA condition',
      record({ action: 'policy.put', details: { mfaConditionBefore: true, mfaConditionAfter: false } }),
      ['HF-POLICY-MFA-REMOVED'],
    ],
    [
      'policy kept its MFA condition',
      record({ action: 'policy.put', details: { mfaConditionBefore: true, mfaConditionAfter: true } }),
      [],
    ],
    [
      'text-message codes allowed',
      record({ action: 'account.settings', details: { smsOtpAllowed: true } }),
      ['HF-WEAK-FACTOR-ALLOWED'],
    ],
    [
      'text-message codes turned off',
      record({ action: 'account.settings', details: { smsOtpAllowed: false } }),
      [],
    ],
    [
      'another setting tightened',
      record({ action: 'account.settings', details: { stepUpMaxAgeSeconds: 300 } }),
      [],
    ],
    [
      'policy gained an MFA condition',
      record({ action: 'policy.put', details: { mfaConditionBefore: false, mfaConditionAfter: true } }),
      [],
    ],
  ])('%s', (_name, r, expected) => {
    expect(fired(r)).toEqual(expected);
  });

  it('brute force fires once, when the failures in the window reach the threshold', () => {
    const failure = record({ action: 'auth.mfa_sign_in', outcome: 'failure' });
    const times = (n: number) => Array.from({ length: n }, (_, i) => T - i * 1000);
    expect(fired(failure, { recentMfaFailures: times(9) })).toEqual([]);
    expect(fired(failure, { recentMfaFailures: times(10) })).toEqual(['HF-MFA-BRUTE-FORCE']);
    expect(fired(failure, { recentMfaFailures: times(11) })).toEqual([]);
    const tuned = { ...settings, thresholds: { bruteForceFailures: 3, bruteForceWindowMinutes: 5 } };
    expect(fired(failure, { recentMfaFailures: times(3) }, tuned)).toEqual(['HF-MFA-BRUTE-FORCE']);
  });

  it('sign-in after a suspension', () => {
    const signIn = record({ action: 'auth.sign_in' });
    expect(fired(signIn, { suspendedRecently: true })).toEqual(['HF-SIGN-IN-AFTER-SUSPENSION']);
    expect(fired(signIn, { suspendedRecently: false })).toEqual([]);
  });

  it('a single admin left, and an admin without MFA', () => {
    expect(fired(record({ action: 'user.disable' }), { admins: { total: 1, withoutMfa: [] } })).toEqual([
      'HF-SINGLE-ADMIN',
    ]);
    expect(fired(record({ action: 'user.disable' }), { admins: { total: 2, withoutMfa: [] } })).toEqual([]);
    expect(
      fired(record({ action: 'principal.last_factor_lost' }), { admins: { total: 3, withoutMfa: [USER] } }),
    ).toEqual(['HF-FACTOR-REMOVED', 'HF-ADMIN-WITHOUT-MFA']);
  });

  it('an admin without MFA: only once the initial enrolment window is over, or at once after a loss', () => {
    const day = 24 * 3_600_000;
    expect(
      inInitialEnrolmentWindow({ createdAt: T, everEnrolled: false, windowMs: day, now: T + 1000 }),
    ).toBe(true);
    expect(inInitialEnrolmentWindow({ createdAt: T, everEnrolled: false, windowMs: day, now: T + day })).toBe(
      false,
    );
    expect(inInitialEnrolmentWindow({ createdAt: T, everEnrolled: true, windowMs: day, now: T + 1000 })).toBe(
      false,
    );
    expect(
      fired(record({ action: ENROLMENT_WINDOW_ENDED, actorType: 'anonymous', actorId: null }), {
        admins: { total: 2, withoutMfa: [USER] },
      }),
    ).toEqual(['HF-ADMIN-WITHOUT-MFA']);
  });

  it('every rule has an id, a severity and a doc entry', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../../docs/alerts.md', import.meta.url), 'utf8');
    const ids = DETECTION_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of DETECTION_RULES) {
      expect(['low', 'medium', 'high', 'critical']).toContain(rule.severity);
      expect(doc, rule.id).toContain(`\`${rule.id}\``);
    }
  });
});

describe('alert settings', () => {
  it('switches off only non-critical rules', () => {
    expect(parseAlertSettings({ disabledAlertRules: ['HF-RECOVERY-CODE'] }).disabledRules).toEqual([
      'HF-RECOVERY-CODE',
    ]);
    const critical = () => parseAlertSettings({ disabledAlertRules: ['HF-RESET'] });
    expectCode(critical, 'ALERT_RULE_CRITICAL');
    try {
      critical();
    } catch (err) {
      expect(isHoldfastError(err, 'ALERT_RULE_CRITICAL')).toBe(true);
    }
    expect(() => parseAlertSettings({ disabledAlertRules: ['HF-NOPE'] })).toThrow(/unknown/);
  });

  it('a disabled rule stays silent, a critical one cannot be silenced by stored settings either', () => {
    const r = record({ action: 'recovery_code.use' });
    expect(fired(r, {}, { ...settings, disabledRules: ['HF-RECOVERY-CODE'] })).toEqual([]);
    const reset = record({ action: 'reset.request' });
    expect(fired(reset, {}, { ...settings, disabledRules: ['HF-RESET'] })).toEqual(['HF-RESET']);
  });

  it('bounds thresholds', () => {
    expect(parseAlertSettings({ alertThresholds: { bruteForceFailures: 5 } }).thresholds).toEqual({
      bruteForceFailures: 5,
      bruteForceWindowMinutes: 15,
    });
    expectCode(
      () => parseAlertSettings({ alertThresholds: { bruteForceFailures: 1 } }),
      'RECOVERY_SETTING_INVALID',
    );
    expectCode(
      () => parseAlertSettings({ alertThresholds: { bruteForceWindowMinutes: 0 } }),
      'RECOVERY_SETTING_INVALID',
    );
  });
});
