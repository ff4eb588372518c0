/**
 * Error codes of the SMS one-time-code factor (a restricted authenticator, NIST SP 800-63B
 * §5.1.3.3). Spread into ERROR_CODES in src/core/errors.ts; docs/errors.md has one row per code.
 */
export const SMS_OTP_ERROR_CODES = {
  SMS_OTP_DISABLED:
    'Text-message (SMS) codes are off for this account (the default): only the account owner, with a fresh second factor, can allow them.',
  SMS_OTP_PHONE_INVALID: 'The phone number is not an E.164 number (a plus sign, then 8 to 15 digits).',
} as const satisfies Record<string, string>;

/** An SMS-OTP error code. */
export type SmsOtpErrorCode = keyof typeof SMS_OTP_ERROR_CODES;
