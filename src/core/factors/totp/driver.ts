import type { FactorDriver } from '../factor.js';
import { verifyConsecutiveOTPCodes, verifyOTPCode } from '../otp/otp-checks.js';

/** Authenticator apps (RFC 6238): the seed lives on a phone or in a password manager, so assurance is "software". */
export const totpDriver: FactorDriver = {
  kind: 'totp',
  amr: 'otp',
  label: 'Authenticator app (TOTP)',
  assurance: () => 'software_otp',
  verify: verifyOTPCode,
  // Enabling an app proves its clock is in step (normal window); resync searches wide.
  verifyConsecutive: (input) => verifyConsecutiveOTPCodes({ ...input, wide: input.purpose === 'resync' }),
};
