import { describe, expect, it } from 'vitest';
import type { OTPState, VerifySettings } from '../factor.js';
import { generateHOTP } from './hotp.js';
import {
  boundedDrift,
  codesComparedPerCheck,
  verifyConsecutiveOTPCodes,
  verifyOTPCode,
} from './otp-checks.js';

const SECRET = new Uint8Array(Buffer.from('12345678901234567890', 'ascii'));
const SETTINGS: VerifySettings = {
  totpWindow: 1,
  hotpLookAhead: 10,
  totpResyncWindow: 20,
  hotpResyncWindow: 100,
};
const T = Date.UTC(2026, 0, 1, 12, 0, 0);
const STEP = Math.floor(T / 30_000);
const codeForStep = (step: number) =>
  generateHOTP({ secret: SECRET, counter: step, digits: 6, algorithm: 'SHA1' });

function totpState(driftSteps = 0, lastCounter: number | null = null): OTPState {
  return {
    secret: SECRET,
    params: { mode: 'totp', algorithm: 'SHA1', digits: 6, period: 30, initialCounter: 0 },
    lastCounter,
    driftSteps,
  };
}

describe('bounded TOTP drift (RFC 6238 §6)', () => {
  it('codes at offsets 0, +1, +2, +3 in a row are not all accepted: a single code never moves the window', () => {
    let state = totpState();
    const accepted: number[] = [];
    for (const offset of [0, 1, 2, 3]) {
      const r = verifyOTPCode({ state, code: codeForStep(STEP + offset), now: T, settings: SETTINGS });
      if (r.ok) {
        accepted.push(offset);
        state = { ...state, lastCounter: r.lastCounter, driftSteps: r.driftSteps };
      }
    }
    expect(accepted).toEqual([0, 1]);
    expect(state.driftSteps).toBe(0);
  });

  it('the accepted window never sits further than the window from the real time without a resync', () => {
    // An attacker-friendly walk: each step later, a code one step ahead of the real time.
    let state = totpState();
    for (let i = 0; i < 50; i++) {
      const now = T + i * 30_000;
      const step = Math.floor(now / 30_000);
      const ahead = verifyOTPCode({ state, code: codeForStep(step + 1), now, settings: SETTINGS });
      expect(ahead.ok).toBe(true);
      if (ahead.ok) state = { ...state, lastCounter: ahead.lastCounter, driftSteps: ahead.driftSteps };
      expect(Math.abs(state.driftSteps)).toBeLessThanOrEqual(SETTINGS.totpWindow);
      const farther = verifyOTPCode({ state, code: codeForStep(step + 3), now, settings: SETTINGS });
      expect(farther).toEqual({ ok: false, reason: 'mismatch' });
    }
  });

  it('resync with two consecutive codes remembers a drift up to the resync window, and codes there work', () => {
    const resync = verifyConsecutiveOTPCodes({
      state: totpState(),
      codes: [codeForStep(STEP + 11), codeForStep(STEP + 12)],
      now: T,
      settings: SETTINGS,
      wide: true,
    });
    expect(resync).toEqual({ ok: true, lastCounter: STEP + 12, driftSteps: 12 });
    const later = T + 10 * 30_000;
    const state = totpState(12, STEP + 12);
    expect(verifyOTPCode({ state, code: codeForStep(STEP + 22), now: later, settings: SETTINGS })).toEqual({
      ok: true,
      lastCounter: STEP + 22,
      driftSteps: 12,
    });
    // Outside the resync window: no pair is found.
    expect(
      verifyConsecutiveOTPCodes({
        state: totpState(),
        codes: [codeForStep(STEP + 30), codeForStep(STEP + 31)],
        now: T,
        settings: SETTINGS,
        wide: true,
      }),
    ).toMatchObject({ ok: false });
  });

  it('enabling in the normal window remembers at most ±window', () => {
    const enabled = verifyConsecutiveOTPCodes({
      state: totpState(),
      codes: [codeForStep(STEP + 1), codeForStep(STEP + 2)],
      now: T,
      settings: SETTINGS,
      wide: false,
    });
    expect(enabled).toEqual({ ok: true, lastCounter: STEP + 2, driftSteps: 1 });
  });

  it('a stored drift beyond the bound (older versions) is clamped to the resync window', () => {
    expect(boundedDrift(500, SETTINGS)).toBe(20);
    expect(boundedDrift(-500, SETTINGS)).toBe(-20);
    expect(boundedDrift(7, SETTINGS)).toBe(7);
    const state = totpState(500);
    expect(verifyOTPCode({ state, code: codeForStep(STEP + 500), now: T, settings: SETTINGS })).toMatchObject(
      {
        ok: false,
      },
    );
    expect(verifyOTPCode({ state, code: codeForStep(STEP + 20), now: T, settings: SETTINGS })).toEqual({
      ok: true,
      lastCounter: STEP + 20,
      driftSteps: 20,
    });
  });

  it('HOTP keeps its look-ahead (RFC 4226 §7.4): a token pressed ahead is accepted and the counter moves', () => {
    const state: OTPState = {
      secret: SECRET,
      params: { mode: 'hotp', algorithm: 'SHA1', digits: 6, period: 30, initialCounter: 0 },
      lastCounter: 4,
      driftSteps: 0,
    };
    expect(verifyOTPCode({ state, code: codeForStep(15), now: T, settings: SETTINGS })).toEqual({
      ok: true,
      lastCounter: 15,
      driftSteps: 0,
    });
    expect(verifyOTPCode({ state, code: codeForStep(16), now: T, settings: SETTINGS })).toMatchObject({
      ok: false,
    });
  });

  it('counts the codes one check compares a guess with', () => {
    expect(codesComparedPerCheck({ mode: 'totp' }, SETTINGS)).toBe(3);
    expect(codesComparedPerCheck({ mode: 'hotp' }, SETTINGS)).toBe(11);
    expect(codesComparedPerCheck({ mode: 'totp' }, { ...SETTINGS, totpWindow: 2 })).toBe(5);
  });
});
