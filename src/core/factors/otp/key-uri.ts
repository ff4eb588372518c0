/**
 * otpauth:// URIs in the Key Uri Format (Google Authenticator wiki, "Key Uri Format"), the
 * text a QR code carries when an authenticator app is enrolled.
 *
 *   otpauth://TYPE/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 */

import { HoldfastError } from '../../errors.js';
import { encodeBase32 } from './base32.js';
import { assertOTPParameters, assertOTPSecret, type OTPDigits, type OTPHashAlgorithm } from './hotp.js';

/** Shortest secret a new enrolment may use: RFC 4226 §4 R6 requires at least 128 bits. */
export const MIN_OTP_SECRET_BYTES = 16;

interface KeyURIBase {
  /** Who the account is with, shown by the app; prefixed to the label and repeated as a parameter. */
  issuer: string;
  /** The user's account name (e-mail or login) shown by the app. */
  accountName: string;
  secret: Uint8Array;
  algorithm: OTPHashAlgorithm;
  digits: OTPDigits;
}

/** Options of buildKeyURI: a TOTP key with its period, or an HOTP key with its counter. */
export type BuildKeyURIOptions =
  (KeyURIBase & { type: 'totp'; period?: number }) | (KeyURIBase & { type: 'hotp'; counter: number });

/**
 * Percent-encodes a label or parameter part with RFC 3986 §2.3 unreserved characters only;
 * spaces become %20, never "+" as the Key Uri Format requires.
 */
function encodePart(value: string): string {
  try {
    return encodeURIComponent(value).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  } catch {
    // A lone UTF-16 surrogate cannot be encoded as UTF-8.
    throw new HoldfastError('FACTOR_KEY_URI_INVALID', 'The text is not valid Unicode.');
  }
}

function assertLabelPart(value: string, name: string): void {
  // The Key Uri Format forbids a colon in either part: it separates issuer and account.
  if (typeof value !== 'string' || value.trim() === '' || value.includes(':')) {
    throw new HoldfastError('FACTOR_KEY_URI_INVALID', `${name} must be non-empty and contain no colon.`);
  }
}

/** Builds the otpauth:// URI for a TOTP or HOTP key (Key Uri Format), for a QR code. */
export function buildKeyURI(options: BuildKeyURIOptions): string {
  assertLabelPart(options.issuer, 'issuer');
  assertLabelPart(options.accountName, 'accountName');
  assertOTPSecret(options.secret);
  if (options.secret.length < MIN_OTP_SECRET_BYTES) {
    throw new HoldfastError('FACTOR_SECRET_INVALID', 'The OTP secret is shorter than 128 bits.');
  }
  assertOTPParameters(options);
  const issuer = encodePart(options.issuer);
  const label = `${issuer}:${encodePart(options.accountName)}`;
  const params = [
    `secret=${encodeBase32(options.secret, { padding: false })}`,
    `issuer=${issuer}`,
    `algorithm=${options.algorithm}`,
    `digits=${options.digits}`,
  ];
  if (options.type === 'totp') {
    const period = options.period ?? 30;
    if (!Number.isSafeInteger(period) || period < 1) {
      throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'period must be a positive integer.');
    }
    params.push(`period=${period}`);
  } else {
    if (!Number.isSafeInteger(options.counter) || options.counter < 0) {
      throw new HoldfastError('FACTOR_OTP_PARAMETERS_INVALID', 'counter must be a non-negative integer.');
    }
    params.push(`counter=${options.counter}`);
  }
  return `otpauth://${options.type}/${label}?${params.join('&')}`;
}
