import type { FactorDriver } from '../factor.js';
import { verifyConsecutiveOTPCodes, verifyOTPCode } from '../otp/otp-checks.js';

/**
 * Hardware OTP tokens whose seed an admin imported from the vendor's PSKC file (RFC 6030): the
 * seed was never shown to anyone, so a code proves possession of the device ("hwk" in RFC 8176).
 */
export const hardwareTokenDriver: FactorDriver = {
  kind: 'hardware_token',
  amr: 'hwk',
  label: 'Hardware token (OTP)',
  assurance: () => 'hardware_otp',
  verify: verifyOTPCode,
  // A token's clock or counter may have moved since manufacture: enabling searches wide too.
  verifyConsecutive: (input) => verifyConsecutiveOTPCodes({ ...input, wide: true }),
};
