import { describe, expect, it } from 'vitest';
import { expectCode } from '../../../../test/helpers/errors.js';
import type { OTPState, VerifySettings } from '../factor.js';
import { generateHOTP } from '../otp/hotp.js';
import { resolveFactorDriver } from '../registry.js';
import { ALL_ASSURANCE_LEVELS, assuranceAtLeast } from '../webauthn/assurance.js';
import {
  maskPhoneNumber,
  packSmsSecret,
  parsePhoneNumber,
  SMS_CODE_TTL_MS,
  SMS_OTP_PARAMS,
  smsChallenge,
  smsOtpDriver,
  unpackSmsSecret,
} from './driver.js';

const settings: VerifySettings = {
  totpWindow: 1,
  hotpLookAhead: 10,
  totpResyncWindow: 20,
  hotpResyncWindow: 100,
};
const seed = new Uint8Array(20).fill(9);
const phone = '+447700900123';
const secret = packSmsSecret(seed, phone);
const now = 1_800_000_000_500;
const stateWith = (lastCounter: number | null): OTPState => ({
  secret,
  params: SMS_OTP_PARAMS,
  lastCounter,
  driftSteps: 0,
});
const verify = (lastCounter: number | null, code: string, at = now) =>
  smsOtpDriver.verify({ state: stateWith(lastCounter), code, now: at, settings });
const other = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('the sms_otp driver: a restricted authenticator (NIST SP 800-63B §5.1.3.3)', () => {
  it('is a registry row with the lowest assurance level, labelled weak', () => {
    expect(resolveFactorDriver('sms_otp')).toBe(smsOtpDriver);
    expect(smsOtpDriver.assurance({ adminProvisioned: false })).toBe('restricted_otp');
    // The weakest factor kind; only the recovery path (recovery codes) sits below it.
    expect(ALL_ASSURANCE_LEVELS.slice(0, 3)).toEqual(['recovery_code', 'restricted_otp', 'software_otp']);
    expect(assuranceAtLeast('restricted_otp', 'software_otp')).toBe(false);
    expect(assuranceAtLeast('restricted_otp', 'recovery_code')).toBe(true);
    expect(smsOtpDriver.label).toMatch(/weak/);
    expect(smsOtpDriver.amr).toBe('sms');
  });

  it('seals the phone number with the seed and validates E.164', () => {
    expect(unpackSmsSecret(secret)).toEqual({ seed: Buffer.from(seed), phone });
    expect(parsePhoneNumber('+44 7700 900123')).toBe(phone);
    for (const bad of ['07700900123', '+0123456789', '+12', '+1234567890123456', 'phone']) {
      expectCode(() => parsePhoneNumber(bad), 'SMS_OTP_PHONE_INVALID');
    }
    expect(maskPhoneNumber(phone)).toMatch(/^•+23$/);
  });

  it('a challenge gives a 6-digit HOTP code for an even counter at the current second', () => {
    const c = smsChallenge({ state: stateWith(null), now });
    expect(c.counter % 2).toBe(0);
    expect(c.counter).toBe(Math.floor(now / 1000));
    expect(c.lastCounter).toBe(c.counter - 1);
    expect(c.phone).toBe(phone);
    expect(c.code).toMatch(/^\d{6}$/);
    expect(c.code).toBe(generateHOTP({ secret: seed, counter: c.counter, digits: 6, algorithm: 'SHA1' }));
  });

  it('accepts the live code once, returning the new counter; a second use is a replay', () => {
    const c = smsChallenge({ state: stateWith(null), now });
    const ok = verify(c.lastCounter, c.code);
    expect(ok).toEqual({ ok: true, lastCounter: c.counter, driftSteps: 0 });
    expect(verify(c.counter, c.code)).toEqual({ ok: false, reason: 'replayed' });
  });

  it('refuses a wrong, malformed or expired code, and any code with no challenge live', () => {
    const c = smsChallenge({ state: stateWith(null), now });
    expect(verify(c.lastCounter, other(c.code))).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(c.lastCounter, '12345')).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(null, c.code)).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(c.lastCounter, c.code, c.counter * 1000 + SMS_CODE_TTL_MS - 1).ok).toBe(true);
    expect(verify(c.lastCounter, c.code, c.counter * 1000 + SMS_CODE_TTL_MS)).toEqual({
      ok: false,
      reason: 'expired',
    });
    // After a use (even counter) no code is good until the next challenge.
    const next = generateHOTP({ secret: seed, counter: c.counter + 1, digits: 6, algorithm: 'SHA1' });
    expect(verify(c.counter, next).ok).toBe(false);
  });

  it('a new challenge spends the previous one, even within the same second', () => {
    const first = smsChallenge({ state: stateWith(null), now });
    const second = smsChallenge({ state: stateWith(first.lastCounter), now });
    expect(second.counter).toBeGreaterThan(first.counter);
    expect(second.counter % 2).toBe(0);
    expect(verify(second.lastCounter, first.code).ok).toBe(false);
    expect(verify(second.lastCounter, second.code).ok).toBe(true);
    // After a use in the same second, the next challenge is above the used counter.
    const third = smsChallenge({ state: stateWith(second.counter), now });
    expect(third.lastCounter).toBeGreaterThan(second.counter);
  });

  it('never enables or resynchronises with two codes', () => {
    const c = smsChallenge({ state: stateWith(null), now });
    expect(
      smsOtpDriver.verifyConsecutive({
        state: stateWith(c.lastCounter),
        codes: [c.code, c.code],
        now,
        settings,
        purpose: 'enable',
      }),
    ).toEqual({ ok: false, reason: 'malformed' });
  });
});
