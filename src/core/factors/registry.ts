import { HoldfastError } from '../errors.js';
import type { FactorDriver, FactorKind } from './factor.js';
import { hardwareTokenDriver } from './hardware-token/driver.js';
import { smsOtpDriver } from './sms-otp/driver.js';
import { totpDriver } from './totp/driver.js';
import { webAuthnDriver } from './webauthn/driver.js';

/** The one table of factor drivers. */
export const FACTOR_DRIVERS: Readonly<Record<FactorKind, FactorDriver>> = {
  totp: totpDriver,
  hardware_token: hardwareTokenDriver,
  webauthn: webAuthnDriver,
  sms_otp: smsOtpDriver,
};

/** The driver for a kind; flows never branch on kinds themselves. */
export function resolveFactorDriver(kind: string): FactorDriver {
  const driver = (FACTOR_DRIVERS as Record<string, FactorDriver | undefined>)[kind];
  if (driver === undefined) throw new HoldfastError('FACTOR_KIND_UNSUPPORTED');
  return driver;
}
