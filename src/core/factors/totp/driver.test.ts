import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { OTPState, VerifySettings } from '../factor.js';
import { hardwareTokenDriver } from '../hardware-token/driver.js';
import type { OTPHashAlgorithm } from '../otp/hotp.js';
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

/** RFC 6238 Appendix B, stored verbatim in test/fixtures/otp (8 digits, 30 s steps, T0 = 0). */
const rfc6238 = JSON.parse(
  readFileSync(new URL('../../../../test/fixtures/otp/rfc6238-totp.json', import.meta.url), 'utf8'),
) as { secrets_ascii: Record<OTPHashAlgorithm, string>; vectors: Array<Record<string, number | string>> };

describe('TOTP driver: one code', () => {
  const STEP = Math.floor(now / 30_000);
  const codeAt = (step: number) =>
    generateTOTP({ secret, timeMs: step * 30_000, period: 30, digits: 6, algorithm: 'SHA1' });
  const verify = (code: string, over: Partial<OTPState> = {}) =>
    totpDriver.verify({ state: { ...state, ...over }, code, now, settings });

  it.each(['SHA1', 'SHA256', 'SHA512'] as const)(
    'accepts the RFC 6238 vectors (%s) and returns the step',
    (algorithm) => {
      for (const vector of rfc6238.vectors) {
        const time = vector.time as number;
        const result = totpDriver.verify({
          state: {
            secret: new TextEncoder().encode(rfc6238.secrets_ascii[algorithm]),
            params: { mode: 'totp', algorithm, digits: 8, period: 30, initialCounter: 0 },
            lastCounter: null,
            driftSteps: 0,
          },
          code: vector[algorithm] as string,
          now: time * 1000,
          settings,
        });
        expect(result, `${algorithm} at ${time}`).toEqual({
          ok: true,
          lastCounter: Math.floor(time / 30),
          driftSteps: 0,
        });
      }
    },
  );

  it('returns the new state: the accepted step, the remembered drift unchanged', () => {
    expect(verify(codeAt(STEP))).toEqual({ ok: true, lastCounter: STEP, driftSteps: 0 });
    // A single code never moves the drift, even one a step away from the real time.
    expect(verify(codeAt(STEP + 1))).toEqual({ ok: true, lastCounter: STEP + 1, driftSteps: 0 });
  });

  it('refuses the same step again (replay), and any earlier step', () => {
    expect(verify(codeAt(STEP), { lastCounter: STEP })).toEqual({ ok: false, reason: 'replayed' });
    expect(verify(codeAt(STEP - 1), { lastCounter: STEP })).toEqual({ ok: false, reason: 'replayed' });
    // A later step in the window is still accepted after a used one.
    expect(verify(codeAt(STEP + 1), { lastCounter: STEP })).toEqual({
      ok: true,
      lastCounter: STEP + 1,
      driftSteps: 0,
    });
  });

  it('refuses a wrong code and a malformed one', () => {
    const right = codeAt(STEP);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    expect(verify(wrong)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(right.slice(0, 5))).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(`${right.slice(0, 5)}x`)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts exactly the window: one step either side, not two (RFC 6238 §5.2)', () => {
    expect(verify(codeAt(STEP - 1))).toMatchObject({ ok: true, lastCounter: STEP - 1 });
    expect(verify(codeAt(STEP + 1))).toMatchObject({ ok: true, lastCounter: STEP + 1 });
    expect(verify(codeAt(STEP - 2))).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(codeAt(STEP + 2))).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('centres the window on the remembered drift, bounded by the resync window', () => {
    expect(verify(codeAt(STEP + 5), { driftSteps: 5 })).toEqual({
      ok: true,
      lastCounter: STEP + 5,
      driftSteps: 5,
    });
    expect(verify(codeAt(STEP), { driftSteps: 5 })).toEqual({ ok: false, reason: 'mismatch' });
    // A stored drift beyond the resync window (20 steps) is clamped to it.
    expect(verify(codeAt(STEP + 20), { driftSteps: 50 })).toEqual({
      ok: true,
      lastCounter: STEP + 20,
      driftSteps: 20,
    });
  });
});

describe('TOTP driver: completing enrolment with two consecutive codes', () => {
  const STEP = Math.floor(now / 30_000);
  const codeAt = (step: number) =>
    generateTOTP({ secret, timeMs: step * 30_000, period: 30, digits: 6, algorithm: 'SHA1' });
  const enable = (first: number, over: Partial<OTPState> = {}) =>
    totpDriver.verifyConsecutive({
      state: { ...state, ...over },
      codes: [codeAt(first), codeAt(first + 1)],
      now,
      settings,
      purpose: 'enable',
    });

  it("returns the second code's step as the new state, so neither code works again", () => {
    const result = enable(STEP - 1);
    expect(result).toEqual({ ok: true, lastCounter: STEP, driftSteps: 0 });
    const after = { ...state, lastCounter: STEP };
    expect(totpDriver.verify({ state: after, code: codeAt(STEP), now, settings })).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('refuses the same pair again (replay)', () => {
    expect(enable(STEP - 1, { lastCounter: STEP })).toEqual({ ok: false, reason: 'replayed' });
  });

  it('accepts a pair at the edge of the enable window (window + 1 steps) and bounds the drift it remembers', () => {
    expect(enable(STEP + 1)).toEqual({ ok: true, lastCounter: STEP + 2, driftSteps: 1 });
    expect(enable(STEP + 2)).toEqual({ ok: false, reason: 'mismatch' });
    expect(enable(STEP - 3)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses two codes that are not consecutive', () => {
    const codes: [string, string] = [codeAt(STEP - 1), codeAt(STEP + 1)];
    expect(totpDriver.verifyConsecutive({ state, codes, now, settings, purpose: 'enable' })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('is an authenticator app: software OTP, RFC 8176 "otp"', () => {
    expect(totpDriver.assurance({ adminProvisioned: false })).toBe('software_otp');
    expect(totpDriver.amr).toBe('otp');
  });
});
