/**
 * Error codes of the one-time-password factors and the PSKC (RFC 6030) importer.
 *
 * Spread into ERROR_CODES in src/core/errors.ts so `new HoldfastError('PSKC_...')` type-checks;
 * docs/errors.md needs one row per code. Messages never carry a secret, a code or a key.
 */

/** Factor and PSKC error codes with a one-line meaning each (mirrored in docs/errors.md). */
export const FACTOR_ERROR_CODES = {
  // One-time passwords (RFC 4226, RFC 6238, RFC 4648)
  FACTOR_SECRET_INVALID:
    'The OTP secret is empty, shorter than 128 bits where a new one is made, or not valid Base32 (RFC 4648 §6).',
  FACTOR_OTP_PARAMETERS_INVALID:
    'An OTP parameter (digits, hash algorithm, period, counter, window, drift or time) is out of range.',
  FACTOR_KEY_URI_INVALID:
    'The issuer or account name cannot be carried in an otpauth:// URI (empty, or contains a colon).',

  // Factors
  FACTOR_KIND_UNSUPPORTED: 'No factor of this kind exists.',
  FACTOR_NOT_FOUND: 'No such factor among those the caller may see.',
  FACTOR_NAME_TAKEN: 'The principal already has a factor with this name.',
  FACTOR_LIMIT_REACHED: 'The principal already has the maximum number of factors (8 by default).',
  FACTOR_CODE_INVALID:
    'The code or codes given to enable or resynchronise the factor are wrong; nothing changed.',
  FACTOR_PENDING_EXPIRED: 'The pending factor expired or used up its attempts; create a new one.',
  FACTOR_NOT_PENDING: 'The factor is already enabled.',
  FACTOR_WRONG_SESSION: 'A pending factor can be enabled only by the session that created it.',
  FACTOR_ADMIN_PROVISIONED: 'The factor was provisioned by an admin; only an admin can remove or replace it.',
  MFA_STEP_UP_REQUIRED:
    'The action needs a session whose second factor was verified recently; verify a factor and retry.',
  MFA_FAILED: 'The second-factor verification failed; the answer does not say why (the audit log does).',
  MFA_SUSPENDED:
    'Second-factor sign-in from new places is suspended after too many failures; it lifts by itself (retry later), or use a recovery code, account recovery or ask an admin.',
  MFA_USER_VERIFICATION_REQUIRED:
    'The security key answered without user verification (PIN or biometric): with no password in this session it is not a second factor; verify with the PIN or use another factor.',
  RECOVERY_CODES_NOT_SET: 'The principal has no recovery codes.',
  RECOVERY_CODES_NEED_FACTOR:
    'Recovery codes back up an enabled factor: create them from a session verified with one of your enabled factors (not a recovery code).',
  HARDWARE_TOKEN_NOT_FOUND: 'No hardware token with this serial in the account inventory.',
  HARDWARE_TOKEN_UNAVAILABLE:
    'The hardware token is not in a state that allows this (assigned, lost or retired).',
  HARDWARE_TOKEN_SERIAL_TAKEN: 'The inventory already holds a token with this serial; nothing was imported.',

  // PSKC import (RFC 6030)
  PSKC_FORBIDDEN_DTD:
    'The PSKC file contains a DOCTYPE, ENTITY or other markup declaration; they are refused.',
  PSKC_MALFORMED: 'The PSKC file is not well-formed XML, is truncated, or is not a PSKC KeyContainer.',
  PSKC_TOO_LARGE: 'The PSKC file is larger than the size limit or holds more key packages than allowed.',
  PSKC_KEY_REQUIRED: 'The PSKC file holds encrypted secrets and no pre-shared key was given.',
  PSKC_DECRYPT_FAILED:
    'A PSKC value could not be decrypted or its MAC does not match (wrong pre-shared key or tampered file).',
  PSKC_MAC_MISSING:
    'A CBC-encrypted PSKC value has no ValueMAC, or the file has no MACMethod with a MACKey (RFC 6030 §6.1.1).',
  PSKC_UNSUPPORTED:
    'A key package has no secret, or uses an algorithm, encoding or key protection Holdfast does not support.',
} as const satisfies Record<string, string>;

/** A factor or PSKC error code. */
export type FactorErrorCode = keyof typeof FACTOR_ERROR_CODES;
