import { describe, expect, it } from 'vitest';
import type { AuditEvent } from './event.js';
import { securityEventOfAlert, securityEventsOfAudit } from './security-events.js';

function record(partial: Partial<AuditEvent> & Pick<AuditEvent, 'action'>): AuditEvent {
  return {
    accountId: '123456789012',
    actorType: 'anonymous',
    actorId: null,
    target: 'AIDAEXAMPLE',
    sourceIp: '203.0.113.9',
    userAgent: 'test',
    outcome: 'success',
    errorCode: null,
    details: {},
    ...partial,
  };
}

const failure = (action: string, errorCode: string, details: AuditEvent['details'] = {}) =>
  record({ action, outcome: 'failure', errorCode, details });

describe('security events of audit records', () => {
  it.each([
    ['a completed sign-in', record({ action: 'auth.sign_in' }), [{ family: 'sign_in', outcome: 'success' }]],
    [
      'a wrong password',
      failure('auth.sign_in', 'AUTH_INVALID_CREDENTIALS', { reason: 'wrong_password', login: 'a@b.test' }),
      [{ family: 'sign_in', outcome: 'wrong_password' }],
    ],
    [
      'an unknown reason is not a label',
      failure('auth.sign_in', 'AUTH_INVALID_CREDENTIALS', { reason: 'alice@example.com' }),
      [{ family: 'sign_in', outcome: 'other' }],
    ],
    [
      'a throttled password',
      failure('auth.sign_in', 'AUTH_THROTTLED'),
      [{ family: 'sign_in', outcome: 'throttled' }],
    ],
    [
      'a wrong TOTP code',
      failure('auth.mfa_sign_in', 'MFA_FAILED', { factorKind: 'totp' }),
      [
        { family: 'sign_in', outcome: 'wrong_factor' },
        { family: 'mfa_failure', purpose: 'sign_in', factorKind: 'totp' },
      ],
    ],
    [
      'a wrong step-up code is no sign-in',
      failure('auth.mfa_step_up', 'MFA_FAILED', { factorKind: 'webauthn' }),
      [{ family: 'mfa_failure', purpose: 'step_up', factorKind: 'webauthn' }],
    ],
    [
      'a suspended attempt',
      failure('auth.mfa_sign_in', 'MFA_SUSPENDED'),
      [{ family: 'sign_in', outcome: 'suspended' }],
    ],
    [
      'a password step that asks for a factor is no outcome yet',
      record({ action: 'auth.password_verified' }),
      [],
    ],
    ['a suspension', record({ action: 'mfa.suspend' }), [{ family: 'mfa_suspension' }]],
    [
      'a lift of nothing',
      record({ action: 'mfa.suspension_lift', details: { reason: 'not_suspended' } }),
      [],
    ],
    [
      'a lift by an admin',
      record({ action: 'mfa.suspension_lift', details: { reason: 'admin' } }),
      [{ family: 'mfa_suspension_lift', reason: 'admin' }],
    ],
    [
      'a help-desk reset completed',
      record({ action: 'reset.complete' }),
      [{ family: 'reset', stage: 'completed', outcome: 'success' }],
    ],
    [
      'a recovery started',
      record({ action: 'recovery.start' }),
      [{ family: 'recovery', kind: 'second_factor', stage: 'started', outcome: 'success' }],
    ],
    [
      'a G6 refusal',
      failure('authz.denied', 'GUARDRAIL_DENIED', { guardrail: 'G6', action: 'holdfast:ResetMfa' }),
      [{ family: 'guardrail_refusal', guardrail: 'G6', code: 'GUARDRAIL_DENIED' }],
    ],
    [
      'a forged guardrail name',
      failure('factor.enable', 'x"}\nholdfast_evil 1', { guardrail: 'G6"} 1\n' }),
      [{ family: 'guardrail_refusal', guardrail: 'other', code: 'other' }],
    ],
    ['a user created', record({ action: 'user.create' }), []],
  ])('%s', (_name, event, expected) => {
    expect(securityEventsOfAudit(event)).toEqual(expected.map((e) => ({ event: e, count: 1 })));
  });

  it('a refusal summary stands for the refusals it counted (the first had its own record)', () => {
    const summary = failure('auth.sign_in', 'AUTH_THROTTLED', { summary: true, repeated: 41 });
    expect(securityEventsOfAudit(summary)).toEqual([
      { event: { family: 'sign_in', outcome: 'throttled' }, count: 41 },
    ]);
    expect(
      securityEventsOfAudit(failure('auth.sign_in', 'AUTH_THROTTLED', { summary: true, repeated: -3 })),
    ).toEqual([]);
  });

  it('an alert keeps its rule and a known severity', () => {
    expect(securityEventOfAlert({ ruleId: 'HF-RESET', severity: 'high' })).toEqual({
      event: { family: 'alert', rule: 'HF-RESET', severity: 'high' },
      count: 1,
    });
    expect(securityEventOfAlert({ ruleId: 'hf reset <b>', severity: 'extreme' }).event).toEqual({
      family: 'alert',
      rule: 'other',
      severity: 'other',
    });
  });
});
