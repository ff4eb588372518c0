import type { OTPDigits, OTPHashAlgorithm } from './otp/hotp.js';

/** Kinds of second factor. Adding a kind = a driver folder plus a row in registry.ts. */
export type FactorKind = 'totp' | 'hardware_token' | 'webauthn' | 'sms_otp';

import type { AssuranceLevel } from './assurance-levels.js';

/** The levels live in one table (assurance-levels.ts); re-exported for the existing callers. */
export { ASSURANCE_LEVELS, type AssuranceLevel } from './assurance-levels.js';

/** OTP parameters of a factor (RFC 4226 / RFC 6238). */
export interface OTPParams {
  mode: 'totp' | 'hotp';
  algorithm: OTPHashAlgorithm;
  digits: OTPDigits;
  /** TOTP time step in seconds (unused for HOTP). */
  period: number;
  /** HOTP: the counter the token starts from (the next expected when nothing was accepted yet). */
  initialCounter: number;
}

/** Lifecycle of a factor. Pending factors do not count and cannot sign in. */
export type FactorStatus = 'pending' | 'enabled';

/** A second factor of one principal. The secret is sealed; drivers see it only decrypted. */
export interface Factor {
  id: string;
  accountId: string;
  principalId: string;
  kind: FactorKind;
  name: string;
  status: FactorStatus;
  assurance: AssuranceLevel;
  /** Set by an admin (hardware token); the user can neither remove nor replace it. */
  adminProvisioned: boolean;
  hardwareTokenId: string | null;
  secretSealed: string;
  params: OTPParams;
  /** Highest accepted TOTP step or HOTP counter: nothing at or below it is ever accepted again. */
  lastCounter: number | null;
  /** Remembered clock drift of a TOTP factor, in steps. */
  driftSteps: number;
  /** Consecutive failed verifications of this factor. */
  failedAttempts: number;
  createdAt: number;
  enabledAt: number | null;
  lastUsedAt: number | null;
  /** The session that created a pending factor; only it may enable it (null: admin-assigned token). */
  pendingSessionId: string | null;
  pendingExpiresAt: number | null;
  pendingAttempts: number;
  /** The enrolment grant that admitted a pending factor (G3 is re-checked when it is enabled). */
  enrolmentGrantId?: string | null;
}

/** What a driver needs to check a code: the decrypted secret plus the replay and drift state. */
export interface OTPState {
  secret: Uint8Array;
  params: OTPParams;
  lastCounter: number | null;
  driftSteps: number;
}

/** Verification settings (all have defaults in the app settings). */
export interface VerifySettings {
  /** ± TOTP steps accepted around the expected one (default 1). */
  totpWindow: number;
  /** HOTP counters looked ahead (default 10). */
  hotpLookAhead: number;
  /** ± TOTP steps searched when enabling or resynchronising with two codes (default 20 = ±10 min). */
  totpResyncWindow: number;
  /** HOTP counters searched when resynchronising (default 100). */
  hotpResyncWindow: number;
}

/** Outcome of a verification: the new replay/drift state to save, or why it failed (audit only). */
export type FactorVerification =
  | { ok: true; lastCounter: number; driftSteps: number }
  | { ok: false; reason: 'mismatch' | 'replayed' | 'malformed' | 'expired' };

/** What a user answers to finish enrolling a code factor: two consecutive codes, or one. */
export type EnrolmentResponse = { codes: [string, string] } | { code: string };

/** Randomness a driver may draw on (injected: core reads none itself). */
export interface EnrolmentRandom {
  bytes(length: number): Uint8Array;
}

/** What a driver's `beginEnrolment` makes: the secret to seal and the factor's starting state. */
export interface EnrolmentStart {
  secret: Uint8Array;
  params: OTPParams;
  /** The replay counter the pending factor starts with (an SMS factor's first live challenge). */
  lastCounter: number | null;
}

/**
 * A factor driver, shaped for the ceremonies a factor goes through: begin enrolment (a new
 * secret and starting state), complete enrolment (the user's answer to it), an optional
 * challenge (kinds whose code the server sends), and verify (one proof at sign-in or step-up).
 * Every step is a pure check over stored state returning the new state for the caller to save
 * (the caller's conditional update is what makes a code single-use under concurrency).
 */
export interface FactorDriver {
  kind: FactorKind;
  /** RFC 8176 authentication method reference recorded in the session. */
  amr: string;
  /** Human label. */
  label: string;
  /** False for kinds proven by something other than a typed code (WebAuthn assertions). */
  acceptsCodes?: boolean;
  /**
   * Whether an account must allow the kind before anyone may enrol it (text-message codes: off by
   * default, MISSION.md failure 2).
   */
  offByDefault?: boolean;
  /** Assurance of a factor of this kind. */
  assurance(input: { adminProvisioned: boolean }): AssuranceLevel;
  /**
   * Begins a self-service enrolment: the new secret and starting state of a pending factor.
   * Absent for kinds a user cannot start alone this way (hardware tokens are assigned by an
   * admin; WebAuthn registers through its attestation ceremony).
   */
  beginEnrolment?(input: { random: EnrolmentRandom; now: number; phone?: string }): EnrolmentStart;
  /** Completes an enrolment (enable) with the user's answer; the new replay/drift state to save. */
  completeEnrolment(input: {
    state: OTPState;
    response: EnrolmentResponse;
    now: number;
    settings: VerifySettings;
  }): FactorVerification;
  /** Checks one code at sign-in or step-up. */
  verify(input: { state: OTPState; code: string; now: number; settings: VerifySettings }): FactorVerification;
  /** Checks two consecutive codes (enabling, resynchronising), searching a window of `width`. */
  verifyConsecutive(input: {
    state: OTPState;
    codes: [string, string];
    now: number;
    settings: VerifySettings;
    purpose: 'enable' | 'resync';
  }): FactorVerification;
  /**
   * Kinds whose code the server sends (SMS): the code for a new challenge, where to send it, and
   * the last counter to record (conditionally) so only this code is good. Called only when the
   * user asks for this factor's challenge.
   */
  challenge?(input: { state: OTPState; now: number }): {
    code: string;
    phone: string;
    counter: number;
    lastCounter: number;
  };
}

/**
 * The enrolment answer of a code factor: two consecutive codes prove the clock or counter is in
 * step (as AWS EnableMFADevice asks), one code is the console's convenience.
 */
export function completeCodeEnrolment(
  driver: Pick<FactorDriver, 'verify' | 'verifyConsecutive'>,
  input: { state: OTPState; response: EnrolmentResponse; now: number; settings: VerifySettings },
): FactorVerification {
  const { state, response, now, settings } = input;
  return 'codes' in response
    ? driver.verifyConsecutive({ state, codes: response.codes, now, settings, purpose: 'enable' })
    : driver.verify({ state, code: response.code, now, settings });
}
