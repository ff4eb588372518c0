/**
 * Error codes of WebAuthn factors (W3C Web Authentication Level 2) and FIDO metadata imports.
 *
 * Spread into ERROR_CODES in src/core/errors.ts; docs/errors.md needs one row per code. A
 * refused assertion at sign-in or step-up answers MFA_FAILED like every other factor (the
 * precise reason is audited); these codes cover registration and administration.
 */

/** WebAuthn error codes with a one-line meaning each (mirrored in docs/errors.md). */
export const WEBAUTHN_ERROR_CODES = {
  WEBAUTHN_REGISTRATION_FAILED:
    'The authenticator response does not verify (challenge unknown, used or expired, wrong origin, bad signature...); the audit log says why.',
  WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED:
    "The authenticator model is not on the account's allow-list, or its attestation could not be verified as the account requires.",
  WEBAUTHN_CREDENTIAL_EXISTS: 'This authenticator is already registered in this account.',
  WEBAUTHN_METADATA_INVALID:
    'The FIDO metadata BLOB is malformed, its signature does not chain to the given root, or it is older than the one imported.',
  WEBAUTHN_SETTINGS_INVALID:
    'An AAGUID in the allow-list is malformed, or the attestation setting is unknown.',
} as const satisfies Record<string, string>;

/** A WebAuthn error code. */
export type WebAuthnErrorCode = keyof typeof WEBAUTHN_ERROR_CODES;
