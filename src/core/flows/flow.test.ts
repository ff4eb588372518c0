import { describe, expect, it } from 'vitest';
import { HoldfastError } from '../errors.js';
import { nextTransition, type Flow } from './flow.js';
import { SIGN_IN_FLOW, type SignInState } from './sign-in.js';

const flow = (state: SignInState, expiresAt = 10_000): Flow<SignInState, unknown> => ({
  id: 'f',
  kind: 'sign_in',
  accountId: 'a',
  principalId: 'p',
  state,
  attempts: 0,
  createdAt: 0,
  updatedAt: 0,
  expiresAt,
  data: {},
});
const code = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (e) {
    return (e as HoldfastError).code;
  }
};

describe('sign-in state machine', () => {
  it('completes on a password when no second factor is needed', () => {
    expect(nextTransition(SIGN_IN_FLOW, flow('password_required'), { event: 'password_ok', now: 1 }).to).toBe(
      'completed',
    );
  });
  it('moves to second_factor_required when factors exist, then completes on a factor', () => {
    const t = nextTransition(SIGN_IN_FLOW, flow('password_required'), {
      event: 'password_ok_mfa_needed',
      now: 1,
    });
    expect(t.to).toBe('second_factor_required');
    expect(nextTransition(SIGN_IN_FLOW, flow(t.to), { event: 'factor_ok', now: 1 }).to).toBe('completed');
  });
  it('refuses events the table does not allow and terminal states', () => {
    expect(
      code(() => nextTransition(SIGN_IN_FLOW, flow('password_required'), { event: 'factor_ok', now: 1 })),
    ).toBe('FLOW_INVALID_TRANSITION');
    expect(
      code(() => nextTransition(SIGN_IN_FLOW, flow('completed'), { event: 'password_ok', now: 1 })),
    ).toBe('FLOW_INVALID_TRANSITION');
  });
  it('refuses expired flows', () => {
    expect(
      code(() =>
        nextTransition(SIGN_IN_FLOW, flow('second_factor_required', 5), { event: 'factor_ok', now: 5 }),
      ),
    ).toBe('FLOW_EXPIRED');
  });
  it('names one audit action per transition', () => {
    for (const t of SIGN_IN_FLOW.transitions) expect(t.audit).toMatch(/^[a-z_]+\.[a-z_]+$/);
  });
});
