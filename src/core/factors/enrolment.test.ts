/**
 * The enrolment ceremony of every registered kind, through the registry only: begin (where a
 * user can start alone) and complete with the user's answer.
 */
import { describe, expect, it } from 'vitest';
import type { OTPState, VerifySettings } from './factor.js';
import { generateHOTP } from './otp/hotp.js';
import { generateTOTP } from './otp/totp.js';
import { FACTOR_DRIVERS, resolveFactorDriver } from './registry.js';
import { unpackSmsSecret } from './sms-otp/driver.js';
import { DEFAULT_TOTP_PARAMS, TOTP_SECRET_BYTES } from './totp/driver.js';

const settings: VerifySettings = {
  totpWindow: 1,
  hotpLookAhead: 10,
  totpResyncWindow: 20,
  hotpResyncWindow: 100,
};
const now = 1_800_000_000_000;
const random = { bytes: (length: number) => new Uint8Array(length).fill(5) };

describe('enrolment through the registry', () => {
  it('every kind completes an enrolment; only totp and sms_otp can be begun by a user alone', () => {
    for (const driver of Object.values(FACTOR_DRIVERS))
      expect(typeof driver.completeEnrolment).toBe('function');
    const startable = Object.values(FACTOR_DRIVERS)
      .filter((d) => d.beginEnrolment !== undefined)
      .map((d) => d.kind);
    expect(startable.sort()).toEqual(['sms_otp', 'totp']);
    expect(
      Object.values(FACTOR_DRIVERS)
        .filter((d) => d.offByDefault === true)
        .map((d) => d.kind),
    ).toEqual(['sms_otp']);
  });

  it('totp: a 160-bit seed with RFC 6238 defaults, completed by two consecutive codes or one', () => {
    const driver = resolveFactorDriver('totp');
    const start = driver.beginEnrolment!({ random, now });
    expect(start.secret).toHaveLength(TOTP_SECRET_BYTES);
    expect(start.params).toEqual(DEFAULT_TOTP_PARAMS);
    expect(start.lastCounter).toBeNull();
    const state: OTPState = { secret: start.secret, params: start.params, lastCounter: null, driftSteps: 0 };
    const at = (ms: number) =>
      generateTOTP({ secret: start.secret, timeMs: ms, period: 30, digits: 6, algorithm: 'SHA1' });
    const two = driver.completeEnrolment({
      state,
      response: { codes: [at(now - 30_000), at(now)] },
      now,
      settings,
    });
    expect(two).toMatchObject({ ok: true, lastCounter: Math.floor(now / 30_000) });
    expect(driver.completeEnrolment({ state, response: { code: at(now) }, now, settings })).toMatchObject({
      ok: true,
    });
    expect(driver.completeEnrolment({ state, response: { code: '000000' }, now, settings }).ok).toBe(false);
  });

  it('sms_otp: the seed sealed with the phone, the first challenge live, completed by the one texted code only', () => {
    const driver = resolveFactorDriver('sms_otp');
    expect(() => driver.beginEnrolment!({ random, now })).toThrow(
      expect.objectContaining({ code: 'SMS_OTP_PHONE_INVALID' }),
    );
    const start = driver.beginEnrolment!({ random, now, phone: '+44 7700 900123' });
    expect(unpackSmsSecret(start.secret).phone).toBe('+447700900123');
    expect(start.lastCounter! % 2).toBe(1);
    const state: OTPState = {
      secret: start.secret,
      params: start.params,
      lastCounter: start.lastCounter,
      driftSteps: 0,
    };
    const sent = driver.challenge!({ state: { ...state, lastCounter: null }, now });
    expect(sent.lastCounter).toBe(start.lastCounter);
    const { seed } = unpackSmsSecret(start.secret);
    const code = generateHOTP({ secret: seed, counter: sent.counter, digits: 6, algorithm: 'SHA1' });
    expect(driver.completeEnrolment({ state, response: { code }, now, settings })).toMatchObject({
      ok: true,
    });
    expect(driver.completeEnrolment({ state, response: { codes: [code, code] }, now, settings })).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('webauthn: no code ever completes a registration', () => {
    const state: OTPState = {
      secret: new Uint8Array(0),
      params: DEFAULT_TOTP_PARAMS,
      lastCounter: null,
      driftSteps: 0,
    };
    expect(
      resolveFactorDriver('webauthn').completeEnrolment({
        state,
        response: { code: '123456' },
        now,
        settings,
      }),
    ).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('hardware_token: completed by two consecutive codes of the imported seed, searched wide', () => {
    const secret = new Uint8Array(20).fill(3);
    const state: OTPState = { secret, params: DEFAULT_TOTP_PARAMS, lastCounter: null, driftSteps: 0 };
    const at = (ms: number) => generateTOTP({ secret, timeMs: ms, period: 30, digits: 6, algorithm: 'SHA1' });
    // Ten steps of drift: outside the sign-in window, inside the enabling search of a token.
    const drifted = now + 10 * 30_000;
    const result = resolveFactorDriver('hardware_token').completeEnrolment({
      state,
      response: { codes: [at(drifted), at(drifted + 30_000)] },
      now,
      settings,
    });
    expect(result).toMatchObject({ ok: true, driftSteps: 11 });
  });
});
