import { describe, expect, it } from 'vitest';
import type { OTPState, VerifySettings } from '../factor.js';
import { resolveFactorDriver } from '../registry.js';
import { webAuthnDriver } from './driver.js';

const settings: VerifySettings = {
  totpWindow: 1,
  hotpLookAhead: 10,
  totpResyncWindow: 20,
  hotpResyncWindow: 100,
};
const state: OTPState = {
  secret: new Uint8Array(20).fill(1),
  params: { mode: 'totp', algorithm: 'SHA1', digits: 6, period: 30, initialCounter: 0 },
  lastCounter: null,
  driftSteps: 0,
};
const now = 1_800_000_000_000;

describe('WebAuthn driver', () => {
  it('is the driver of its kind and is never proven by a typed code', () => {
    expect(resolveFactorDriver('webauthn')).toBe(webAuthnDriver);
    expect(webAuthnDriver.acceptsCodes).toBe(false);
    expect(webAuthnDriver.amr).toBe('hwk');
  });

  it('refuses any code, even one that would be right for an OTP secret', () => {
    for (const code of ['123456', '000000', '', 'passkey']) {
      expect(webAuthnDriver.verify({ state, code, now, settings })).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
    for (const purpose of ['enable', 'resync'] as const) {
      expect(
        webAuthnDriver.verifyConsecutive({ state, codes: ['123456', '234567'], now, settings, purpose }),
      ).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('gives the floor of a key that is neither synced nor attested (the real level is set per credential)', () => {
    expect(webAuthnDriver.assurance({ adminProvisioned: false })).toBe('device_bound_key');
    expect(webAuthnDriver.assurance({ adminProvisioned: true })).toBe('device_bound_key');
  });
});
