/**
 * WebAuthn factors (W3C Web Authentication Level 2): passkeys and security keys as second
 * factors, passwordless passkey sign-in, step-up, admin-provisioned keys, attestation against an
 * imported FIDO metadata catalog. The use cases live in `webauthn/`, one file per ceremony:
 *
 * - `ceremony.ts`: the Relying Party, server-side challenges, assertion options;
 * - `registration.ts`: registering a key (options, then verify, judge the model, store);
 * - `assertion.ts`: sign-in factor step, step-up and passwordless sign-in;
 * - `metadata.ts`: the account's FIDO metadata catalog and registration rules.
 *
 * A WebAuthn factor is a row in `factors` (kind `webauthn`), so the factor limit, names, listing,
 * removal with step-up (G1) and the lock-out insights apply unchanged; its credential sits beside
 * it.
 */
export { WEBAUTHN_CHALLENGE_TTL_MS, type WebAuthnCeremony } from './webauthn/ceremony.js';
export { importWebAuthnMetadata, setWebAuthnSettings, type MetadataImport } from './webauthn/metadata.js';
export { registerWebAuthnFactor, webAuthnRegistrationOptions } from './webauthn/registration.js';
export {
  completeSignInWithWebAuthn,
  listWebAuthnCredentials,
  passkeySignInOptions,
  signInWithPasskey,
  stepUpWithWebAuthn,
  webAuthnSignInOptions,
  webAuthnStepUpOptions,
} from './webauthn/assertion.js';
