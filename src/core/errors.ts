/**
 * One error model for the whole service (DESIGN.md convention 2).
 *
 * Every failure carries a stable SCREAMING_SNAKE code with a module prefix. HTTP
 * statuses and AWS wire codes are mapped only in `http/`. `docs/errors.md` lists
 * every code below; a test keeps the two in sync.
 */

import { AWS_ERROR_CODES } from './access-keys/access-key-errors.js';
import { FACTOR_ERROR_CODES } from './factors/factor-errors.js';
import { IAM_ERROR_CODES } from './aws/iam-errors.js';
import { POLICY_ERROR_CODES } from './policy/policy-errors.js';
import { RECOVERY_ERROR_CODES } from './recovery/recovery-errors.js';
import { WEBAUTHN_ERROR_CODES } from './factors/webauthn/webauthn-errors.js';
import { SMS_OTP_ERROR_CODES } from './factors/sms-otp/sms-otp-errors.js';
import { OIDC_ERROR_CODES } from './oidc/oidc-errors.js';

/** The table of every error code with a one-line meaning (mirrored in docs/errors.md). */
export const ERROR_CODES = {
  // Requests (any face)
  REQUEST_MALFORMED: 'The request body is not valid JSON or not in the expected encoding.',
  REQUEST_INVALID: 'A field is missing, has the wrong type, is out of range, or is not allowed.',
  REQUEST_TOO_LARGE: "The request body is larger than the route's limit (64 KiB; 16 MiB for a PSKC import).",
  REQUEST_UNSUPPORTED_MEDIA_TYPE: 'The Content-Type of the request is not accepted by this route.',
  REQUEST_ROUTE_NOT_FOUND: 'No route answers this method and path.',
  METRICS_TOKEN_INVALID: 'The metrics endpoint needs the bearer token set in HOLDFAST_METRICS_TOKEN.',

  // Authentication and sessions
  AUTH_INVALID_CREDENTIALS:
    'The account, login or password is wrong; the answer does not say which (the audit log does).',
  AUTH_THROTTLED: 'Too many recent failures from this source or for this login; retry after the delay given.',
  AUTH_SESSION_REQUIRED: 'The request needs a signed-in session and carries none.',
  AUTH_SESSION_INVALID: 'The session token is unknown, forged, revoked or expired.',
  AUTH_CSRF_FAILED: 'A cookie-authenticated write came without a valid X-CSRF-Token header.',
  AUTH_FORBIDDEN: 'The signed-in principal is not allowed to perform this action on this resource.',
  AUTH_SETUP_TOKEN_INVALID: 'The one-time setup token is unknown, used or expired.',

  // Flows (state machines)
  FLOW_NOT_FOUND: 'The flow does not exist or belongs to another client.',
  FLOW_EXPIRED: 'The flow has expired; start again.',
  FLOW_INVALID_TRANSITION: 'The flow is not in a state that accepts this step.',

  // Accounts and principals
  ACCOUNT_NOT_FOUND: 'No such account.',
  ACCOUNT_NAME_TAKEN: 'Another account already has this name.',
  USER_NOT_FOUND: 'No such user in this account.',
  USER_EMAIL_TAKEN: 'Another user of this account already has this e-mail address.',
  USER_NAME_TAKEN: 'Another user of this account already has this user name.',
  USER_LAST_OWNER: 'The change would leave the account without an active owner.',
  USER_NOT_DISABLED: 'The user is not disabled: there is nothing to re-enable.',
  USER_DISABLED: 'The user is disabled: re-enable them first.',
  USER_ROLE_UNCHANGED: 'The user already has this role.',
  USER_OWN_ROLE: 'Nobody changes their own role: another owner or administrator does.',
  USER_IMPORT_INVALID:
    'Rows of a users CSV import are not valid (syntax, role, duplicates, taken, not allowed); nothing was created.',

  // Passwords (NIST SP 800-63B §5.1.1.2)
  PASSWORD_TOO_SHORT: 'The password is shorter than the configured minimum (12 by default).',
  PASSWORD_TOO_LONG: 'The password is longer than the maximum (256 characters).',
  PASSWORD_TOO_COMMON: 'The password is on the list of commonly used or breached passwords.',
  PASSWORD_MISMATCH: 'The current password given for a password change is wrong.',

  // Sessions
  SESSION_NOT_FOUND: 'No such session among those the caller may see.',

  // Audit log
  AUDIT_CHAIN_BROKEN:
    'The audit log does not verify (a broken link, records cut off the end, a rewrite, a forged checkpoint); what is wrong is named.',

  // Secrets and keys
  CRYPTO_MASTER_KEY_MISSING:
    'No master key was found (HOLDFAST_MASTER_KEY or the key file in the data folder).',
  CRYPTO_MASTER_KEY_INVALID:
    'The master key is malformed or is not the key this database was encrypted with.',
  CRYPTO_DECRYPT_FAILED: 'A stored ciphertext failed authentication (tampered or wrong key).',

  // Configuration and infrastructure
  CONFIG_INVALID: 'A configuration value (flag or environment variable) is invalid.',
  STORAGE_UNAVAILABLE: 'The database cannot be reached or refused the operation.',
  STORAGE_FULL: 'The disk holding the database is full; nothing was written. Free space and retry.',
  STORAGE_READ_ONLY: 'The database file or its folder is read-only; the server cannot write its records.',

  // Backup, restore and retention
  BACKUP_TARGET_NOT_EMPTY:
    'The restore target (data folder or database file) or the backup output already exists; nothing is overwritten.',
  BACKUP_INVALID: 'The file is not a whole Holdfast backup (not SQLite, damaged, or no Holdfast schema).',
  BACKUP_SCHEMA_NEWER: 'The backup was made by a newer Holdfast version; restore it with that version.',
  BACKUP_ENGINE_UNSUPPORTED:
    'The command works on SQLite only; PostgreSQL is backed up and restored with pg_dump and pg_restore.',
  INTERNAL_ERROR: 'An unexpected error; details are in the server log under the request id.',

  ...FACTOR_ERROR_CODES,
  ...POLICY_ERROR_CODES,
  ...WEBAUTHN_ERROR_CODES,
  ...SMS_OTP_ERROR_CODES,
  ...OIDC_ERROR_CODES,
  ...AWS_ERROR_CODES,
  ...IAM_ERROR_CODES,
  ...RECOVERY_ERROR_CODES,
} as const satisfies Record<string, string>;

/** Every error code Holdfast can return. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra, non-secret facts a client may rely on (e.g. retryAfterSeconds). */
export type ErrorDetails = Record<string, string | number | boolean | null>;

/** The one error class of Holdfast: a stable code, a human message, an optional cause. */
export class HoldfastError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: ErrorDetails }) {
    super(message ?? ERROR_CODES[code], options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HoldfastError';
    this.code = code;
    this.details = options?.details;
  }
}

/** True when `err` is a HoldfastError, optionally with the given code. */
export function isHoldfastError(err: unknown, code?: ErrorCode): err is HoldfastError {
  return err instanceof HoldfastError && (code === undefined || err.code === code);
}
