import { completeCodeEnrolment, type FactorDriver, type OTPParams } from '../factor.js';
import { verifyConsecutiveOTPCodes, verifyOTPCode } from '../otp/otp-checks.js';

/** Seed length of a new authenticator-app factor: 160 bits (RFC 4226 §4 R6). */
export const TOTP_SECRET_BYTES = 20;

/** The parameters every authenticator app understands: RFC 6238 defaults (SHA-1, 6 digits, 30 s). */
export const DEFAULT_TOTP_PARAMS: OTPParams = {
  mode: 'totp',
  algorithm: 'SHA1',
  digits: 6,
  period: 30,
  initialCounter: 0,
};

/** Authenticator apps (RFC 6238): the seed lives on a phone or in a password manager, so assurance is "software". */
export const totpDriver: FactorDriver = {
  kind: 'totp',
  amr: 'otp',
  label: 'Authenticator app (TOTP)',
  assurance: () => 'software_otp',
  // A fresh seed the user's app takes from the QR code or key URI; nothing accepted yet.
  beginEnrolment: ({ random }) => ({
    secret: random.bytes(TOTP_SECRET_BYTES),
    params: DEFAULT_TOTP_PARAMS,
    lastCounter: null,
  }),
  completeEnrolment: (input) => completeCodeEnrolment(totpDriver, input),
  verify: verifyOTPCode,
  // Enabling an app proves its clock is in step (normal window); resync searches wide.
  verifyConsecutive: (input) => verifyConsecutiveOTPCodes({ ...input, wide: input.purpose === 'resync' }),
};
