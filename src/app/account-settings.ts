/**
 * The account settings as they apply, for the console's settings page: each value in force (the
 * account's own, else the default it tightens), the caps the guardrails set, and what this
 * caller may change through the API (settings only tighten there; allowing text-message codes
 * is the owner's alone). Changing them is `updateAccountSettings` (src/app/policies.ts).
 */

import { HoldfastError } from '../core/errors.js';
import { MAX_INITIAL_ENROLMENT_WINDOW_MS, MAX_STEP_UP_AGE_MS } from '../core/policy/guardrails.js';
import { ACTIONS } from './actions.js';
import { authorize, stepUpMaxAgeMs } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import type { AppDeps } from './deps.js';

/** The settings in force and their bounds. */
export interface AccountSettingsView {
  /** Seconds since the last second-factor check within which factor changes need no new check (G1). */
  stepUpMaxAgeSeconds: number;
  /** The most the step-up age can be (the installation's, at most 15 minutes). */
  stepUpMaxAgeCapSeconds: number;
  /** Seconds a new person may enrol a first factor without a grant (G3). */
  initialEnrolmentWindowSeconds: number;
  initialEnrolmentWindowCapSeconds: number;
  /** Every help-desk reset needs a second approver, not only those of owners and admins. */
  requireSecondApprover: boolean;
  /** Text-message codes may be enrolled and sent (a weak factor; off by default). */
  smsOtpAllowed: boolean;
  /** Only the owner (with a fresh second factor) turns text-message codes on through the API. */
  mayAllowSms: boolean;
  /** WebAuthn attestation asked for at registration. */
  webauthnAttestation: 'none' | 'direct';
  /** How many authenticator models are allow-listed (0: every model). */
  allowedAuthenticatorModels: number;
}

/** Reads the account's settings as they apply (administrators, MFA session). */
export async function getAccountSettings(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string },
): Promise<AccountSettingsView> {
  await authorize(deps, input.actor, ACTIONS.GetAccountSettings, { accountId: input.accountId }, input.ctx);
  const account = await deps.store.accounts.findById(input.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  const s = account.settings;
  const stepUpCap = Math.floor(Math.min(deps.settings.mfa.stepUpMaxAgeMs, MAX_STEP_UP_AGE_MS) / 1000);
  const windowCap = MAX_INITIAL_ENROLMENT_WINDOW_MS / 1000;
  return {
    stepUpMaxAgeSeconds: Math.floor(stepUpMaxAgeMs(deps, account) / 1000),
    stepUpMaxAgeCapSeconds: stepUpCap,
    initialEnrolmentWindowSeconds: Math.min(windowCap, s.initialEnrolmentWindowSeconds ?? windowCap),
    initialEnrolmentWindowCapSeconds: windowCap,
    requireSecondApprover: s.requireSecondApprover === true,
    smsOtpAllowed: s.smsOtpAllowed === true,
    mayAllowSms:
      input.actor.kind === 'operator' ||
      (input.actor.kind === 'principal' &&
        input.actor.principal.role === 'owner' &&
        (input.actor.credential ?? 'session') === 'session'),
    webauthnAttestation: s.webauthnAttestation ?? 'none',
    allowedAuthenticatorModels: s.webauthnAllowedAAGUIDs?.length ?? 0,
  };
}
