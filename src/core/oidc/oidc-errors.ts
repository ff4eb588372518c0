/**
 * Error codes of the OpenID Connect provider's Holdfast side (client registration, the sign-in
 * interaction, consent). Errors of the protocol itself (`invalid_grant`, `invalid_client`, …) are
 * answered by the provider in OAuth's own shape (RFC 6749 §5.2). Spread into ERROR_CODES in
 * src/core/errors.ts; docs/errors.md has one row per code.
 */
export const OIDC_ERROR_CODES = {
  OIDC_CLIENT_NOT_FOUND: 'No such OpenID Connect client in this account.',
  OIDC_REDIRECT_URI_INVALID:
    'A redirect URI must be an absolute https URL (http only on a loopback host), without a fragment or credentials.',
  OIDC_INTERACTION_NOT_FOUND:
    'The sign-in interaction is unknown, finished or expired; start again from the application.',
  OIDC_ACCOUNT_MISMATCH:
    "The signed-in user belongs to another account than the application's; sign in with an account of the application's own.",
  OIDC_STEP_UP_REQUIRED:
    'The application asks for a stronger or more recent second factor than this session has: verify a factor that meets it.',
  OIDC_CONSENT_NOT_FOUND: 'No consent was given to this client.',
  OIDC_IDENTITY_TOKEN_INVALID:
    'The web identity token could not be validated: unknown issuer, wrong audience, bad signature, expired or not yet valid.',
} as const satisfies Record<string, string>;

/** An OpenID Connect error code. */
export type OidcErrorCode = keyof typeof OIDC_ERROR_CODES;
