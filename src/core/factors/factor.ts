import type { OTPDigits, OTPHashAlgorithm } from './otp/hotp.js';

/** Kinds of second factor. Adding a kind = a driver folder plus a row in registry.ts. */
export type FactorKind = 'totp' | 'hardware_token' | 'webauthn' | 'sms_otp';

/**
 * Assurance levels, weakest first (MISSION.md failure 5). A session records the level of the
 * factor that authenticated it so policies can require a minimum. The last three are WebAuthn's
 * (webauthn/assurance.ts, docs/assurance.md). `restricted_otp` is a code texted to a phone (NIST
 * SP 800-63B §5.1.3.3 "restricted"): the weakest factor kind. Recovery codes stay the floor of
 * the order: they are the way back in, and "any second factor" still answers `recovery_code`.
 */
export const ASSURANCE_LEVELS = [
  'recovery_code',
  'restricted_otp',
  'software_otp',
  'hardware_otp',
  'synced_passkey',
  'device_bound_key',
  'attested_hardware_key',
] as const;
/** One assurance level. */
export type AssuranceLevel = (typeof ASSURANCE_LEVELS)[number];

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

/**
 * A factor driver: pure checks over stored state, returning the new state for the caller to
 * save (the caller's conditional update is what makes a code single-use under concurrency).
 */
export interface FactorDriver {
  kind: FactorKind;
  /** RFC 8176 authentication method reference recorded in the session. */
  amr: string;
  /** Human label. */
  label: string;
  /** False for kinds proven by something other than a typed code (WebAuthn assertions). */
  acceptsCodes?: boolean;
  /** Assurance of a factor of this kind. */
  assurance(input: { adminProvisioned: boolean }): AssuranceLevel;
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
