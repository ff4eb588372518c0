import type { FactorDriver, FactorVerification } from '../factor.js';

/** WebAuthn factors are never proven by a typed code: any code presented for one is refused. */
const noCode = (): FactorVerification => ({ ok: false, reason: 'malformed' });

/**
 * Passkeys and security keys (W3C WebAuthn Level 2). Assertions are verified by the WebAuthn
 * use cases (app/webauthn.ts) and fed to the one second-factor check; this row gives the kind
 * its label, its RFC 8176 method (`hwk`: proof of possession of a hardware-secured key) and a
 * refusal for the code paths that apply to OTP factors only.
 */
export const webAuthnDriver: FactorDriver = {
  kind: 'webauthn',
  amr: 'hwk',
  label: 'Passkey or security key (WebAuthn)',
  acceptsCodes: false,
  // The real level is computed per credential at registration (assurance.ts); this is the floor
  // of a key that is neither synced nor attested.
  assurance: () => 'device_bound_key',
  // Registration is the attestation ceremony (app/webauthn/registration.ts, through the
  // WebAuthnCeremonies port), which stores the factor enabled: no code ever completes one.
  completeEnrolment: noCode,
  verify: noCode,
  verifyConsecutive: noCode,
};
