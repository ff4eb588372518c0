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
