import { describe, expect, it } from 'vitest';
import type { Role } from '../principals/types.js';
import {
  breakGlassFor,
  BREAK_GLASS_POLICY_ACTIONS,
  BREAK_GLASS_SELF_ACTIONS,
  checkEnrolment,
  checkGuardrails,
  MAX_STEP_UP_AGE_MS,
  type BreakGlassInput,
  type GuardrailInput,
} from './guardrails.js';

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

  for (const role of roles) {
    for (const reachedRole of roles) {
      const allowed = mayTarget[role].includes(reachedRole);
      it(`G6: ${role} changing a group that holds another ${reachedRole} is ${allowed ? 'not refused' : 'refused'}`, () => {
        const verdict = checkGuardrails(
          input({
            role,
            reached: [
              { principalId: 'u1', role: 'user' },
              { principalId: 'them', role: reachedRole },
            ],
          }),
        );
        if (allowed) expect(verdict).toBeNull();
        else expect(verdict).toMatchObject({ guardrail: 'G6', outcome: 'deny' });
      });
    }
  }

  it('G6: a group that holds the actor themselves is not a refusal for that reason', () => {
    expect(
      checkGuardrails(input({ role: 'helpdesk', reached: [{ principalId: 'me', role: 'helpdesk' }] })),
    ).toBeNull();
  });

  it('G7: only an owner puts or deletes account-wide policies, and it is a hard deny', () => {
    for (const action of ['holdfast:PutAccountPolicy', 'holdfast:DeleteAccountPolicy']) {
      for (const role of ['admin', 'helpdesk', 'user'] as Role[]) {
        expect(checkGuardrails(input({ role, action }))).toMatchObject({ guardrail: 'G7', outcome: 'deny' });
      }
      expect(checkGuardrails(input({ role: 'owner', action }))).toBeNull();
      // Owners still need MFA for it (G2).
      expect(
        checkGuardrails(
          input({
            role: 'owner',
            action,
            mfaAgeMs: null,
            traits: { administration: true, factorSensitive: false },
          }),
        ),
      ).toMatchObject({ guardrail: 'G2' });
    }
    expect(checkGuardrails(input({ role: 'admin', action: 'holdfast:ListAccountPolicies' }))).toBeNull();
  });
});

describe('breakGlassFor (G7)', () => {
  const base: BreakGlassInput = {
    action: 'holdfast:DeleteAccountPolicy',
    actor: { principalId: 'me', role: 'owner' },
    targetId: null,
    interactiveSession: true,
    hasMfa: true,
  };
  it('sets customer policies aside for an owner MFA session managing policies', () => {
    for (const action of BREAK_GLASS_POLICY_ACTIONS) {
      expect(breakGlassFor({ ...base, action }), action).toBe('policies-ignored');
      expect(breakGlassFor({ ...base, action, targetId: 'them' }), action).toBe('policies-ignored');
    }
  });
  it("covers the owner's own security only on themselves", () => {
    for (const action of BREAK_GLASS_SELF_ACTIONS) {
      expect(breakGlassFor({ ...base, action, targetId: 'me' }), action).toBe('policies-ignored');
      expect(breakGlassFor({ ...base, action, targetId: 'them' }), action).toBeNull();
    }
  });
  it('never skips MFA: without it only the way to a step-up stays open', () => {
    expect(breakGlassFor({ ...base, hasMfa: false })).toBe('needs-mfa');
    expect(breakGlassFor({ ...base, hasMfa: false, action: 'iam:ListMFADevices', targetId: 'me' })).toBe(
      'needs-mfa',
    );
    expect(breakGlassFor({ ...base, hasMfa: false, action: 'holdfast:StepUp', targetId: 'me' })).toBe(
      'policies-ignored',
    );
  });
  it('is for owners in interactive sessions only, and for the listed actions only', () => {
    for (const role of ['admin', 'helpdesk', 'user'] as Role[]) {
      expect(breakGlassFor({ ...base, actor: { principalId: 'me', role } })).toBeNull();
    }
    expect(breakGlassFor({ ...base, interactiveSession: false })).toBeNull();
    expect(breakGlassFor({ ...base, action: 'iam:ListUsers' })).toBeNull();
    expect(breakGlassFor({ ...base, action: 'holdfast:PutAccountPolicy' })).toBeNull();
    expect(breakGlassFor({ ...base, action: 'iam:AttachUserPolicy', targetId: 'me' })).toBeNull();
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
