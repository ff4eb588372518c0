import { describe, expect, it } from 'vitest';
import type { Role } from '../principals/types.js';
import { checkEnrolment, checkGuardrails, MAX_STEP_UP_AGE_MS, type GuardrailInput } from './guardrails.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;

function input(
  over: Partial<GuardrailInput> & { role?: Role; targetRole?: Role | null; mfaAgeMs?: number | null },
) {
  const { role = 'admin', targetRole = null, mfaAgeMs = 0, ...rest } = over;
  return {
    traits: { administration: false, factorSensitive: false },
    actor: {
      principalId: 'me',
      role,
      mfa: mfaAgeMs === null ? null : { at: NOW - mfaAgeMs, assurance: 'software_otp' },
    },
    target: targetRole === null ? null : { principalId: 'them', role: targetRole },
    nowMs: NOW,
    stepUpMaxAgeMs: MAX_STEP_UP_AGE_MS,
    ...rest,
  } satisfies GuardrailInput;
}

describe('checkGuardrails', () => {
  const roles: Role[] = ['owner', 'admin', 'helpdesk', 'user'];
  const mayTarget: Record<Role, Role[]> = {
    owner: ['owner', 'admin', 'helpdesk', 'user'],
    admin: ['admin', 'helpdesk', 'user'],
    helpdesk: ['user'],
    user: [],
  };
  for (const role of roles) {
    for (const targetRole of roles) {
      const allowed = mayTarget[role].includes(targetRole);
      it(`G6: ${role} acting on another ${targetRole} is ${allowed ? 'not refused' : 'refused'}`, () => {
        const verdict = checkGuardrails(input({ role, targetRole }));
        if (allowed) expect(verdict).toBeNull();
        else expect(verdict).toMatchObject({ guardrail: 'G6', outcome: 'deny' });
      });
    }
  }

  it('G6: acting on oneself is never a role-targeting refusal', () => {
    const self = { ...input({ role: 'user' }), target: { principalId: 'me', role: 'user' as Role } };
    expect(checkGuardrails(self)).toBeNull();
  });

  it('G6: nobody approves their own request or a request about themselves', () => {
    expect(checkGuardrails(input({ requesterId: 'me', targetRole: 'user' }))).toMatchObject({
      guardrail: 'G6',
    });
    const aboutMe = {
      ...input({ requesterId: 'other' }),
      target: { principalId: 'me', role: 'admin' as Role },
    };
    expect(checkGuardrails(aboutMe)).toMatchObject({
      guardrail: 'G6',
      reason: expect.stringContaining('themselves'),
    });
    expect(checkGuardrails(input({ requesterId: 'other', targetRole: 'user' }))).toBeNull();
  });

  it('G2: administration needs MFA, of any age; acting on someone else is administration too', () => {
    const admin = { administration: true, factorSensitive: false };
    expect(checkGuardrails(input({ traits: admin, mfaAgeMs: null }))).toMatchObject({
      guardrail: 'G2',
      outcome: 'step-up',
    });
    expect(checkGuardrails(input({ traits: admin, mfaAgeMs: 10 * 60 * MIN }))).toBeNull();
    expect(checkGuardrails(input({ targetRole: 'user', mfaAgeMs: null }))).toMatchObject({ guardrail: 'G2' });
    expect(checkGuardrails(input({ mfaAgeMs: null }))).toBeNull();
  });

  it('G1: factor-sensitive actions need MFA no older than the step-up age, to the millisecond', () => {
    const sensitive = { administration: false, factorSensitive: true };
    expect(checkGuardrails(input({ traits: sensitive, mfaAgeMs: 15 * MIN }))).toBeNull();
    expect(checkGuardrails(input({ traits: sensitive, mfaAgeMs: 15 * MIN + 1 }))).toMatchObject({
      guardrail: 'G1',
      outcome: 'step-up',
      maxAgeSeconds: 900,
    });
    expect(checkGuardrails(input({ traits: sensitive, mfaAgeMs: null }))).toMatchObject({ guardrail: 'G1' });
    // A tightened age applies.
    expect(
      checkGuardrails(input({ traits: sensitive, mfaAgeMs: 2 * MIN, stepUpMaxAgeMs: MIN })),
    ).toMatchObject({ guardrail: 'G1', maxAgeSeconds: 60 });
  });

  it('checks G6 before G2 and G2 before G1', () => {
    const both = { administration: true, factorSensitive: true };
    expect(
      checkGuardrails(input({ traits: both, role: 'helpdesk', targetRole: 'admin', mfaAgeMs: null })),
    ).toMatchObject({
      guardrail: 'G6',
    });
    expect(checkGuardrails(input({ traits: both, mfaAgeMs: null }))).toMatchObject({ guardrail: 'G2' });
    expect(checkGuardrails(input({ traits: both, mfaAgeMs: 20 * MIN }))).toMatchObject({ guardrail: 'G1' });
  });
});

describe('checkEnrolment (G3)', () => {
  const base = {
    hasEnabledFactor: false,
    everEnrolled: false,
    sessionHasMfa: false,
    grant: false,
    principalCreatedAt: NOW - 60 * MIN,
    nowMs: NOW,
    initialWindowMs: 7 * 24 * 60 * MIN,
  };
  it('lets a brand-new principal enrol its first factor from a password session inside the window', () => {
    expect(checkEnrolment(base)).toBeNull();
  });
  it('asks for step-up when an enabled factor exists and the session has no MFA', () => {
    expect(checkEnrolment({ ...base, hasEnabledFactor: true, everEnrolled: true })).toMatchObject({
      guardrail: 'G3',
      outcome: 'step-up',
    });
    expect(
      checkEnrolment({ ...base, hasEnabledFactor: true, everEnrolled: true, sessionHasMfa: true }),
    ).toBeNull();
  });
  it('refuses a principal that had factors before unless it brings a grant', () => {
    expect(checkEnrolment({ ...base, everEnrolled: true })).toMatchObject({
      guardrail: 'G3',
      outcome: 'deny',
    });
    expect(checkEnrolment({ ...base, everEnrolled: true, grant: true })).toBeNull();
  });
  it('closes the initial window at its end, and at once when the account sets it to zero', () => {
    expect(checkEnrolment({ ...base, principalCreatedAt: NOW - base.initialWindowMs })).toMatchObject({
      guardrail: 'G3',
      outcome: 'deny',
    });
    expect(checkEnrolment({ ...base, principalCreatedAt: NOW - base.initialWindowMs + 1 })).toBeNull();
    expect(checkEnrolment({ ...base, principalCreatedAt: NOW, initialWindowMs: 0 })).toMatchObject({
      outcome: 'deny',
    });
    expect(checkEnrolment({ ...base, initialWindowMs: 0, grant: true })).toBeNull();
  });
});
