import { completeCodeEnrolment, type FactorDriver } from '../factor.js';
import { verifyConsecutiveOTPCodes, verifyOTPCode } from '../otp/otp-checks.js';

/**
 * Hardware OTP tokens whose seed an admin imported from the vendor's PSKC file (RFC 6030): the
 * seed was never shown to anyone, so a code proves possession of the device ("hwk" in RFC 8176).
 * There is no `beginEnrolment`: a token's seed comes from its import, and an admin assigns it
 * (app/hardware-tokens.ts); enabling it is the generic enable with its codes.
 */
export const hardwareTokenDriver: FactorDriver = {
  kind: 'hardware_token',
  amr: 'hwk',
  label: 'Hardware token (OTP)',
  assurance: () => 'hardware_otp',
  completeEnrolment: (input) => completeCodeEnrolment(hardwareTokenDriver, input),
  verify: verifyOTPCode,
  // A token's clock or counter may have moved since manufacture: enabling searches wide too.
  verifyConsecutive: (input) => verifyConsecutiveOTPCodes({ ...input, wide: true }),
};
