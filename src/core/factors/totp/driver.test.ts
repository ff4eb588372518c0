import { describe, expect, it } from 'vitest';
import type { OTPState, VerifySettings } from '../factor.js';
import { hardwareTokenDriver } from '../hardware-token/driver.js';
import { generateTOTP } from '../otp/totp.js';
import { HoldfastError } from '../../errors.js';
import { expectCode } from '../../../../test/helpers/errors.js';
import { resolveFactorDriver } from '../registry.js';
import { totpDriver } from './driver.js';

const settings: VerifySettings = {
  totpWindow: 1,
  hotpLookAhead: 10,
  totpResyncWindow: 20,
  hotpResyncWindow: 100,
};
const secret = new Uint8Array(20).fill(7);
const state: OTPState = {
  secret,
  params: { mode: 'totp', algorithm: 'SHA1', digits: 6, period: 30, initialCounter: 0 },
  lastCounter: null,
  driftSteps: 0,
};
const now = 1_800_000_000_000;
const pairAt = (offsetMs: number): [string, string] => [
  generateTOTP({ secret, timeMs: now + offsetMs, period: 30, digits: 6, algorithm: 'SHA1' }),
  generateTOTP({ secret, timeMs: now + offsetMs + 30_000, period: 30, digits: 6, algorithm: 'SHA1' }),
];

describe('enabling proves the clock is in step; resync searches wide', () => {
  it('enables an app with two codes in the normal window', () => {
    expect(
      totpDriver.verifyConsecutive({ state, codes: pairAt(-30_000), now, settings, purpose: 'enable' }).ok,
    ).toBe(true);
  });
  it('refuses to enable an app whose clock is five minutes off, but resyncs it', () => {
    const codes = pairAt(-5 * 60_000);
    expect(totpDriver.verifyConsecutive({ state, codes, now, settings, purpose: 'enable' }).ok).toBe(false);
    const resync = totpDriver.verifyConsecutive({ state, codes, now, settings, purpose: 'resync' });
    expect(resync).toMatchObject({ ok: true, driftSteps: -9 });
  });
  it('enables a hardware token that drifted since manufacture (wide search)', () => {
    const codes = pairAt(5 * 60_000);
    expect(
      hardwareTokenDriver.verifyConsecutive({ state, codes, now, settings, purpose: 'enable' }),
    ).toMatchObject({
      ok: true,
      driftSteps: 11,
    });
  });
});

describe('factor registry', () => {
  it('resolves every kind to its driver and refuses unknown kinds', () => {
    expect(resolveFactorDriver('totp')).toBe(totpDriver);
    expect(resolveFactorDriver('hardware_token')).toBe(hardwareTokenDriver);
    expectCode(() => resolveFactorDriver('sms'), 'FACTOR_KIND_UNSUPPORTED');
    try {
      resolveFactorDriver('sms');
    } catch (err) {
      expect((err as HoldfastError).code).toBe('FACTOR_KIND_UNSUPPORTED');
    }
  });
});
