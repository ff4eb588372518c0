import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { OTPState, VerifySettings } from '../factor.js';
import { generateHOTP } from '../otp/hotp.js';
import { generateTOTP } from '../otp/totp.js';
import { resolveFactorDriver } from '../registry.js';
import { hardwareTokenDriver } from './driver.js';

/** RFC 4226 Appendix D, stored verbatim in test/fixtures/otp (HMAC-SHA1, 6 digits). */
const rfc4226 = JSON.parse(
  readFileSync(new URL('../../../../test/fixtures/otp/rfc4226-hotp.json', import.meta.url), 'utf8'),
) as { secret_ascii: string; codes_by_counter: string[] };

const settings: VerifySettings = {
  totpWindow: 1,
  hotpLookAhead: 10,
  totpResyncWindow: 20,
  hotpResyncWindow: 100,
};
const secret = new TextEncoder().encode(rfc4226.secret_ascii);
/** An event-based (HOTP) token that starts at counter 0 and was never used. */
const hotp: OTPState = {
  secret,
  params: { mode: 'hotp', algorithm: 'SHA1', digits: 6, period: 30, initialCounter: 0 },
  lastCounter: null,
  driftSteps: 0,
};
const now = 1_800_000_000_000;
const codeAt = (counter: number) => generateHOTP({ secret, counter, digits: 6, algorithm: 'SHA1' });
const verify = (code: string, over: Partial<OTPState> = {}) =>
  hardwareTokenDriver.verify({ state: { ...hotp, ...over }, code, now, settings });
const resync = (
  codes: [string, string],
  over: Partial<OTPState> = {},
  purpose: 'enable' | 'resync' = 'resync',
) => hardwareTokenDriver.verifyConsecutive({ state: { ...hotp, ...over }, codes, now, settings, purpose });

describe('hardware token driver: HOTP (RFC 4226)', () => {
  it('accepts the RFC 4226 vectors in order, each returning its counter as the new state', () => {
    let lastCounter: number | null = null;
    rfc4226.codes_by_counter.forEach((code, counter) => {
      const result = verify(code, { lastCounter });
      expect(result, `counter ${counter}`).toEqual({ ok: true, lastCounter: counter, driftSteps: 0 });
      lastCounter = counter;
    });
  });

  it('starts from the imported initial counter', () => {
    expect(verify(codeAt(500), { params: { ...hotp.params, initialCounter: 500 } })).toEqual({
      ok: true,
      lastCounter: 500,
      driftSteps: 0,
    });
    expect(verify(codeAt(499), { params: { ...hotp.params, initialCounter: 500 } })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('refuses a used counter again (replay) and any earlier one', () => {
    const used = rfc4226.codes_by_counter[3]!;
    expect(verify(used, { lastCounter: 3 })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(rfc4226.codes_by_counter[2]!, { lastCounter: 3 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verify(rfc4226.codes_by_counter[4]!, { lastCounter: 3 })).toEqual({
      ok: true,
      lastCounter: 4,
      driftSteps: 0,
    });
  });

  it('refuses a wrong code and a malformed one', () => {
    expect(verify('000000')).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify('75522')).toEqual({ ok: false, reason: 'malformed' });
    expect(verify('75522a')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('looks ahead exactly 10 counters past the next expected one (RFC 4226 §7.4)', () => {
    expect(verify(codeAt(10))).toEqual({ ok: true, lastCounter: 10, driftSteps: 0 });
    expect(verify(codeAt(11))).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(codeAt(15), { lastCounter: 4 })).toEqual({ ok: true, lastCounter: 15, driftSteps: 0 });
    expect(verify(codeAt(16), { lastCounter: 4 })).toEqual({ ok: false, reason: 'mismatch' });
  });
});

describe('hardware token driver: enabling and resynchronising with two consecutive codes', () => {
  it('finds a token that ran ahead within the resync window, returning the second counter', () => {
    expect(resync([codeAt(50), codeAt(51)])).toEqual({ ok: true, lastCounter: 51, driftSteps: 0 });
    expect(resync([codeAt(50), codeAt(51)], {}, 'enable')).toEqual({
      ok: true,
      lastCounter: 51,
      driftSteps: 0,
    });
  });

  it('searches exactly 100 counters: a pair starting at 100 is found, one at 101 is not', () => {
    expect(resync([codeAt(100), codeAt(101)])).toEqual({ ok: true, lastCounter: 101, driftSteps: 0 });
    expect(resync([codeAt(101), codeAt(102)])).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses a pair that was used already, and codes out of order', () => {
    expect(resync([codeAt(50), codeAt(51)], { lastCounter: 51 })).toEqual({ ok: false, reason: 'mismatch' });
    expect(resync([codeAt(51), codeAt(50)])).toEqual({ ok: false, reason: 'mismatch' });
  });
});

describe('hardware token driver: TOTP tokens', () => {
  const totp: OTPState = { ...hotp, params: { ...hotp.params, mode: 'totp' } };
  const STEP = Math.floor(now / 30_000);
  const totpAt = (step: number) =>
    generateTOTP({ secret, timeMs: step * 30_000, period: 30, digits: 6, algorithm: 'SHA1' });

  it('checks a code in the window, refuses it again and refuses two steps off', () => {
    const first = hardwareTokenDriver.verify({ state: totp, code: totpAt(STEP), now, settings });
    expect(first).toEqual({ ok: true, lastCounter: STEP, driftSteps: 0 });
    expect(
      hardwareTokenDriver.verify({
        state: { ...totp, lastCounter: STEP },
        code: totpAt(STEP),
        now,
        settings,
      }),
    ).toEqual({ ok: false, reason: 'replayed' });
    expect(hardwareTokenDriver.verify({ state: totp, code: totpAt(STEP + 2), now, settings })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('enables a token whose clock drifted up to the resync window (20 steps), remembering the drift', () => {
    const enable = (first: number) =>
      hardwareTokenDriver.verifyConsecutive({
        state: totp,
        codes: [totpAt(first), totpAt(first + 1)],
        now,
        settings,
        purpose: 'enable',
      });
    expect(enable(STEP + 19)).toEqual({ ok: true, lastCounter: STEP + 20, driftSteps: 20 });
    expect(enable(STEP + 20)).toEqual({ ok: false, reason: 'mismatch' });
    expect(enable(STEP - 20)).toEqual({ ok: true, lastCounter: STEP - 19, driftSteps: -19 });
    expect(enable(STEP - 21)).toEqual({ ok: false, reason: 'mismatch' });
  });
});

describe('hardware token driver: the registry row', () => {
  it('is the driver of its kind: hardware OTP, RFC 8176 "hwk"', () => {
    expect(resolveFactorDriver('hardware_token')).toBe(hardwareTokenDriver);
    expect(hardwareTokenDriver.assurance({ adminProvisioned: true })).toBe('hardware_otp');
    expect(hardwareTokenDriver.amr).toBe('hwk');
  });
});
