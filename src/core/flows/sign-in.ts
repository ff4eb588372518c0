import type { FlowDefinition } from './flow.js';

/** States of the sign-in flow. */
export type SignInState = 'password_required' | 'second_factor_required' | 'completed' | 'failed';
/** Events the sign-in flow accepts. */
export type SignInEvent = 'password_ok' | 'password_ok_mfa_needed' | 'factor_ok' | 'too_many_failures';

/**
 * The sign-in state machine. The password step either completes the flow (no factor enrolled)
 * or moves it to `second_factor_required`, where the user chooses any enabled factor.
 */
export const SIGN_IN_FLOW: FlowDefinition<SignInState, SignInEvent> = {
  kind: 'sign_in',
  initial: 'password_required',
  terminal: ['completed', 'failed'],
  lifetimeMs: 10 * 60 * 1000,
  maxAttempts: 10,
  transitions: [
    { from: 'password_required', on: 'password_ok', to: 'completed', audit: 'auth.sign_in' },
    {
      from: 'password_required',
      on: 'password_ok_mfa_needed',
      to: 'second_factor_required',
      audit: 'auth.password_verified',
    },
    { from: 'second_factor_required', on: 'factor_ok', to: 'completed', audit: 'auth.sign_in' },
    {
      from: 'second_factor_required',
      on: 'too_many_failures',
      to: 'failed',
      audit: 'auth.sign_in_flow_failed',
    },
  ],
};
