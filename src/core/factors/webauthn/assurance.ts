/**
 * The assurance model of WebAuthn credentials (MISSION.md failure 5: "MFA required" must say what
 * kind of proof was given). See docs/assurance.md for the table against NIST SP 800-63B.
 *
 * Three WebAuthn levels sit above the OTP ones (ASSURANCE_LEVELS in ../assurance-levels.ts):
 *
 * - `synced_passkey`: the credential is backup eligible (BE flag, W3C WebAuthn Level 3 §6.1.3), so
 *   its private key can be copied to other devices through a passkey provider's sync. Bound to
 *   the origin, hence phishing resistant, which no OTP is: above `hardware_otp`.
 * - `device_bound_key`: not backup eligible, so the authenticator says the key never leaves it.
 *   Without verified attestation that is only the authenticator's claim (software authenticators
 *   exist and can clear BE too), which is why it is not AAL3 on its own.
 * - `attested_hardware_key`: device bound, user verified, attestation verified against a trust
 *   anchor, and the model (AAGUID) explicitly allowed by the account: the key is proven to live in
 *   a known hardware model and the authenticator itself checked a PIN or biometric.
 *
 * One linear order cannot capture every property, so each level also has a profile (phishing
 * resistance, hardware binding, highest NIST AAL) for policies that ask for a property rather
 * than a rank.
 */

/** The WebAuthn assurance levels, weakest first. */
export const WEBAUTHN_ASSURANCE_LEVELS = [
  'synced_passkey',
  'device_bound_key',
  'attested_hardware_key',
] as const;
/** One WebAuthn assurance level. */
export type WebAuthnAssuranceLevel = (typeof WEBAUTHN_ASSURANCE_LEVELS)[number];

/** Every assurance level, weakest first: the one order of assurance-levels.ts. */
export {
  ASSURANCE_LEVELS as ALL_ASSURANCE_LEVELS,
  ASSURANCE_PROFILES,
  assuranceAtLeast,
  type AssuranceLevel as FullAssuranceLevel,
  type AssuranceProfile,
  type HardwareBinding,
} from '../assurance-levels.js';

/** What is known of a WebAuthn credential (from its registration, or from one assertion). */
export interface WebAuthnCredentialFacts {
  /** BE flag: the credential may be synced to other devices (fixed at creation). */
  backupEligible: boolean;
  /** BS flag: the credential is currently backed up (may change over time). */
  backedUp: boolean;
  /** UV flag: the authenticator verified the user (PIN, biometric) in this ceremony. */
  userVerified: boolean;
  /** The attestation statement chained to a trust anchor Holdfast was given. */
  attestationVerified: boolean;
  /** The AAGUID is explicitly on the account's allow-list (`listed` from checkAAGUID). */
  aaguidAllowed: boolean;
  /** The FIDO metadata marks the model compromised (see mds.ts); attestation then proves nothing. */
  modelCompromised?: boolean;
}

/** The assurance level of a WebAuthn credential given what is known about it. */
export function webAuthnAssurance(facts: WebAuthnCredentialFacts): WebAuthnAssuranceLevel {
  // BS without BE is invalid (Level 3 §6.1.3); whatever reported it, treat the key as copyable.
  if (facts.backupEligible || facts.backedUp) return 'synced_passkey';
  const attested =
    facts.userVerified && facts.attestationVerified && facts.aaguidAllowed && facts.modelCompromised !== true;
  return attested ? 'attested_hardware_key' : 'device_bound_key';
}

/**
 * Whether a WebAuthn sign-in is multi-factor. After a password, any verified assertion is the
 * second factor. Without a password (a discoverable passkey as the only step), the authenticator
 * must have verified the user (UV): possession plus a PIN or biometric make it a multi-factor
 * cryptographic authenticator (NIST SP 800-63B §5.1.9); user presence alone is one factor.
 */
export function isMultiFactorSignIn(input: { passwordVerified: boolean; userVerified: boolean }): boolean {
  return input.passwordVerified || input.userVerified;
}
