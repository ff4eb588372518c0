import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clientPath, withoutClients } from '../../../../test/helpers/external-clients.js';
import { isHoldfastError, type ErrorCode } from '../../errors.js';
import { encodeBase32 } from './base32.js';
import type { OTPHashAlgorithm } from './hotp.js';
import { computeTOTPStep, generateTOTP, verifyTOTP, verifyTwoConsecutiveTOTP } from './totp.js';

/** RFC 6238 Appendix B, stored verbatim in test/fixtures/otp. */
const rfc6238 = JSON.parse(
  readFileSync(new URL('../../../../test/fixtures/otp/rfc6238-totp.json', import.meta.url), 'utf8'),
) as { secrets_ascii: Record<OTPHashAlgorithm, string>; vectors: Array<Record<string, number | string>> };

const ALGORITHMS: OTPHashAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
const rfcSecret = (algorithm: OTPHashAlgorithm) => new TextEncoder().encode(rfc6238.secrets_ascii[algorithm]);

function expectCode(fn: () => unknown, code: ErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isHoldfastError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
}

/** oathtool (OATH Toolkit) is an independent implementation; CI installs it, elsewhere its checks are skipped. */
const NO_OATHTOOL = withoutClients('oathtool');
function oathtool(args: string[]): string {
  return execFileSync(clientPath('oathtool'), args, { encoding: 'utf8' }).trim();
}

const secret = Uint8Array.from({ length: 20 }, (_, i) => (i * 29 + 3) & 0xff);
const base = { secret, digits: 6, algorithm: 'SHA1', period: 30 } as const;
/** Server time: 5 s into step 56,666,667. */
const T = 1_700_000_015_000;
const STEP = 56_666_667;
const codeAt = (timeMs: number) => generateTOTP({ ...base, timeMs });
const codeForStep = (step: number) => generateTOTP({ ...base, timeMs: step * 30_000 });

describe('generateTOTP', () => {
  it('matches every RFC 6238 Appendix B value for SHA1, SHA256 and SHA512', () => {
    expect(rfc6238.vectors).toHaveLength(6);
    for (const vector of rfc6238.vectors) {
      for (const algorithm of ALGORITHMS) {
        const timeMs = Number(vector.time) * 1000;
        const code = generateTOTP({ secret: rfcSecret(algorithm), timeMs, period: 30, digits: 8, algorithm });
        expect(code, `${algorithm} at ${vector.time}`).toBe(vector[algorithm]);
      }
    }
  });

  it.skipIf(NO_OATHTOOL)('agrees with oathtool on every RFC 6238 time for every algorithm', () => {
    for (const vector of rfc6238.vectors) {
      for (const algorithm of ALGORITHMS) {
        const b32 = encodeBase32(rfcSecret(algorithm), { padding: false });
        const args = [`--totp=${algorithm}`, '-d', '8', '-b', b32, '--now', `@${vector.time}`];
        expect(oathtool(args), `${algorithm} at ${vector.time}`).toBe(vector[algorithm]);
      }
    }
  });

  it.skipIf(NO_OATHTOOL)('agrees with oathtool for a 60 s period, 6 and 7 digits and a non-zero T0', () => {
    const b32 = encodeBase32(secret, { padding: false });
    for (const algorithm of ALGORITHMS) {
      for (const digits of [6, 7] as const) {
        const expected = oathtool([
          `--totp=${algorithm}`,
          '-d',
          String(digits),
          '-s',
          '60s',
          '-S',
          '1970-01-01 00:01:40 UTC',
          '-b',
          b32,
          '--now',
          '2024-02-29 12:34:56 UTC',
        ]);
        const timeMs = Date.UTC(2024, 1, 29, 12, 34, 56);
        expect(generateTOTP({ secret, timeMs, period: 60, t0: 100, digits, algorithm })).toBe(expected);
      }
    }
  });

  it('counts steps from T0 (RFC 6238 §4.2) and refuses a time before it', () => {
    expect(computeTOTPStep({ timeMs: 59_999, period: 30 })).toBe(1);
    expect(computeTOTPStep({ timeMs: 60_000 })).toBe(2);
    expect(computeTOTPStep({ timeMs: 70_000, period: 30, t0: 10 })).toBe(2);
    expectCode(() => computeTOTPStep({ timeMs: 5_000, t0: 10 }), 'FACTOR_OTP_PARAMETERS_INVALID');
    expectCode(() => computeTOTPStep({ timeMs: T, period: 0 }), 'FACTOR_OTP_PARAMETERS_INVALID');
    expectCode(() => computeTOTPStep({ timeMs: Number.NaN }), 'FACTOR_OTP_PARAMETERS_INVALID');
  });
});

describe('verifyTOTP', () => {
  it('accepts the current code and reports its step with no drift', () => {
    expect(computeTOTPStep({ timeMs: T })).toBe(STEP);
    expect(verifyTOTP({ ...base, code: codeAt(T), timeMs: T })).toEqual({
      ok: true,
      step: STEP,
      driftSteps: 0,
    });
  });

  it('accepts one step either side by default and not two (RFC 6238 §5.2)', () => {
    expect(verifyTOTP({ ...base, code: codeForStep(STEP - 1), timeMs: T })).toEqual({
      ok: true,
      step: STEP - 1,
      driftSteps: -1,
    });
    expect(verifyTOTP({ ...base, code: codeForStep(STEP + 1), timeMs: T })).toEqual({
      ok: true,
      step: STEP + 1,
      driftSteps: 1,
    });
    expect(verifyTOTP({ ...base, code: codeForStep(STEP - 2), timeMs: T })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyTOTP({ ...base, code: codeForStep(STEP + 2), timeMs: T })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('honours window 0 and wider windows', () => {
    expect(verifyTOTP({ ...base, code: codeForStep(STEP + 1), timeMs: T, window: 0 })).toMatchObject({
      ok: false,
    });
    expect(verifyTOTP({ ...base, code: codeForStep(STEP - 3), timeMs: T, window: 3 })).toMatchObject({
      ok: true,
      step: STEP - 3,
    });
  });

  it('centres the window on the remembered drift (RFC 6238 §6)', () => {
    const drift = 6;
    const code = codeForStep(STEP + drift);
    expect(verifyTOTP({ ...base, code, timeMs: T })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyTOTP({ ...base, code, timeMs: T, driftSteps: drift })).toEqual({
      ok: true,
      step: STEP + drift,
      driftSteps: drift,
    });
    // The token's clock wandered one more step: the drift follows it.
    expect(verifyTOTP({ ...base, code: codeForStep(STEP + 7), timeMs: T, driftSteps: drift })).toEqual({
      ok: true,
      step: STEP + 7,
      driftSteps: 7,
    });
    // Without the drift the device's present code is now outside the window.
    expect(verifyTOTP({ ...base, code: codeAt(T), timeMs: T, driftSteps: drift })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('never accepts the same step twice (replay, RFC 6238 §5.2)', () => {
    const code = codeAt(T);
    const first = verifyTOTP({ ...base, code, timeMs: T, lastAcceptedStep: STEP - 1 });
    expect(first).toEqual({ ok: true, step: STEP, driftSteps: 0 });
    // Same code again a few seconds later, within the same step.
    expect(verifyTOTP({ ...base, code, timeMs: T + 10_000, lastAcceptedStep: STEP })).toEqual({
      ok: false,
      reason: 'replayed',
    });
    // And once the next step has begun: still inside the window, still refused.
    expect(verifyTOTP({ ...base, code, timeMs: T + 30_000, lastAcceptedStep: STEP })).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('refuses an older step after a newer one was accepted', () => {
    expect(verifyTOTP({ ...base, code: codeForStep(STEP - 1), timeMs: T, lastAcceptedStep: STEP })).toEqual({
      ok: false,
      reason: 'replayed',
    });
    expect(verifyTOTP({ ...base, code: codeForStep(STEP + 1), timeMs: T, lastAcceptedStep: STEP })).toEqual({
      ok: true,
      step: STEP + 1,
      driftSteps: 1,
    });
  });

  it('answers mismatch for a wrong or ill-formed code', () => {
    const right = codeAt(T);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    expect(verifyTOTP({ ...base, code: wrong, timeMs: T, window: 0 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    for (const code of ['', '12345', '1234567', 'abcdef', `${right.slice(0, 5)}x`]) {
      expect(verifyTOTP({ ...base, code, timeMs: T })).toEqual({ ok: false, reason: 'mismatch' });
    }
    expect(verifyTOTP({ ...base, code: `${right.slice(0, 3)} ${right.slice(3)}`, timeMs: T })).toMatchObject({
      ok: true,
    });
  });

  it.skipIf(NO_OATHTOOL)('works for every algorithm and 8 digits against oathtool', () => {
    for (const algorithm of ALGORITHMS) {
      const code = oathtool([
        `--totp=${algorithm}`,
        '-d',
        '8',
        '-b',
        encodeBase32(secret),
        '--now',
        `@${(T - 30_000) / 1000}`,
      ]);
      expect(verifyTOTP({ secret, code, timeMs: T, digits: 8, algorithm })).toEqual({
        ok: true,
        step: STEP - 1,
        driftSteps: -1,
      });
    }
  });

  it('refuses out-of-range parameters', () => {
    const code = codeAt(T);
    expectCode(() => verifyTOTP({ ...base, code, timeMs: T, window: 241 }), 'FACTOR_OTP_PARAMETERS_INVALID');
    expectCode(() => verifyTOTP({ ...base, code, timeMs: T, window: 1.5 }), 'FACTOR_OTP_PARAMETERS_INVALID');
    expectCode(
      () => verifyTOTP({ ...base, code, timeMs: T, driftSteps: 0.5 }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
    expectCode(
      () => verifyTOTP({ ...base, code, timeMs: T, lastAcceptedStep: Number.NaN }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
    expectCode(
      () => verifyTOTP({ ...base, secret: new Uint8Array(0), code, timeMs: T }),
      'FACTOR_SECRET_INVALID',
    );
  });
});

describe('verifyTwoConsecutiveTOTP', () => {
  it('enables a new authenticator from two consecutive codes', () => {
    // The user types the code shown at T, waits, and types the next one at T + 30 s.
    const codes = [codeAt(T), codeAt(T + 30_000)] as const;
    expect(verifyTwoConsecutiveTOTP({ ...base, codes, timeMs: T + 30_000 })).toEqual({
      ok: true,
      step: STEP + 1,
      driftSteps: 0,
    });
    // The returned step guards against replaying the second code at the first sign-in.
    expect(verifyTOTP({ ...base, code: codes[1], timeMs: T + 35_000, lastAcceptedStep: STEP + 1 })).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('refuses codes that are not consecutive or come in the wrong order', () => {
    expect(
      verifyTwoConsecutiveTOTP({ ...base, codes: [codeAt(T), codeAt(T + 60_000)], timeMs: T + 30_000 }),
    ).toEqual({ ok: false, reason: 'mismatch' });
    expect(
      verifyTwoConsecutiveTOTP({ ...base, codes: [codeAt(T + 30_000), codeAt(T)], timeMs: T + 30_000 }),
    ).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyTwoConsecutiveTOTP({ ...base, codes: ['', codeAt(T)], timeMs: T })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  for (const offsetMinutes of [8, -8]) {
    it(`resynchronises a device whose clock is ${offsetMinutes > 0 ? 'ahead' : 'behind'} by 8 minutes`, () => {
      const offsetMs = offsetMinutes * 60_000;
      const codes = [codeAt(T + offsetMs), codeAt(T + offsetMs + 30_000)] as const;
      // Normal sign-in fails: 16 steps is far outside ±1.
      expect(verifyTOTP({ ...base, code: codes[0], timeMs: T })).toEqual({ ok: false, reason: 'mismatch' });
      const resync = verifyTwoConsecutiveTOTP({ ...base, codes, timeMs: T + 30_000, window: 20 });
      const drift = Math.sign(offsetMinutes) * 16;
      expect(resync).toEqual({ ok: true, step: STEP + 1 + drift, driftSteps: drift });
      if (!resync.ok) return;
      // Ten minutes later the remembered drift lets a normal ±1 window accept the device.
      const later = T + 10 * 60_000;
      expect(
        verifyTOTP({
          ...base,
          code: codeAt(later + offsetMs),
          timeMs: later,
          driftSteps: resync.driftSteps,
          lastAcceptedStep: resync.step,
        }),
      ).toEqual({ ok: true, step: STEP + 20 + drift, driftSteps: drift });
    });
  }

  it('does not reach 12 minutes with the default ±20-step window', () => {
    const offsetMs = 12 * 60_000;
    const codes = [codeAt(T + offsetMs), codeAt(T + offsetMs + 30_000)] as const;
    expect(verifyTwoConsecutiveTOTP({ ...base, codes, timeMs: T + 30_000 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyTwoConsecutiveTOTP({ ...base, codes, timeMs: T + 30_000, window: 30 })).toMatchObject({
      ok: true,
      driftSteps: 24,
    });
  });

  it('refuses a pair whose first step was already accepted (replay)', () => {
    const codes = [codeAt(T), codeAt(T + 30_000)] as const;
    expect(verifyTwoConsecutiveTOTP({ ...base, codes, timeMs: T + 30_000, lastAcceptedStep: STEP })).toEqual({
      ok: false,
      reason: 'replayed',
    });
    expect(
      verifyTwoConsecutiveTOTP({ ...base, codes, timeMs: T + 30_000, lastAcceptedStep: STEP - 1 }),
    ).toMatchObject({ ok: true, step: STEP + 1 });
  });
});
