import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { clientPath, withoutClients } from '../../../../test/helpers/external-clients.js';
import { isHoldfastError, type ErrorCode } from '../../errors.js';
import { encodeBase32 } from './base32.js';
import { generateHOTP, resyncHOTP, verifyHOTP, type OTPDigits, type OTPHashAlgorithm } from './hotp.js';

/** RFC 4226 Appendix D, stored verbatim in test/fixtures/otp. */
const rfc4226 = JSON.parse(
  readFileSync(new URL('../../../../test/fixtures/otp/rfc4226-hotp.json', import.meta.url), 'utf8'),
) as { secret_ascii: string; codes_by_counter: string[] };

/** RFC 6238 Appendix B: TOTP is HOTP with the time step as counter, so it vets SHA-256/512 HOTP. */
const rfc6238 = JSON.parse(
  readFileSync(new URL('../../../../test/fixtures/otp/rfc6238-totp.json', import.meta.url), 'utf8'),
) as { secrets_ascii: Record<OTPHashAlgorithm, string>; vectors: Array<Record<string, number | string>> };

const ALGORITHMS: OTPHashAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
const secret = new TextEncoder().encode(rfc4226.secret_ascii);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

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

describe('generateHOTP', () => {
  it('matches every RFC 4226 Appendix D value', () => {
    expect(rfc4226.codes_by_counter).toHaveLength(10);
    rfc4226.codes_by_counter.forEach((expected, counter) => {
      expect(generateHOTP({ secret, counter, digits: 6, algorithm: 'SHA1' })).toBe(expected);
      expect(generateHOTP({ secret, counter: BigInt(counter), digits: 6, algorithm: 'SHA1' })).toBe(expected);
    });
  });

  it('matches every RFC 6238 Appendix B value for SHA1, SHA256 and SHA512 (counter = step)', () => {
    for (const vector of rfc6238.vectors) {
      for (const algorithm of ALGORITHMS) {
        const key = new TextEncoder().encode(rfc6238.secrets_ascii[algorithm]);
        const counter = Math.floor(Number(vector.time) / 30);
        expect(generateHOTP({ secret: key, counter, digits: 8, algorithm })).toBe(vector[algorithm]);
      }
    }
  });

  it.skipIf(NO_OATHTOOL)('agrees with oathtool for 6, 7 and 8 digits over many counters', () => {
    const key = Uint8Array.from({ length: 20 }, (_, i) => (i * 37 + 11) & 0xff);
    for (const digits of [6, 7, 8] as OTPDigits[]) {
      const expected = oathtool(['--hotp', '-c', '0', '-w', '49', '-d', String(digits), hex(key)]).split(
        '\n',
      );
      expect(expected).toHaveLength(50);
      expected.forEach((code, counter) => {
        expect(generateHOTP({ secret: key, counter, digits, algorithm: 'SHA1' })).toBe(code);
      });
    }
  });

  it('agrees with the otpauth library for SHA256 and SHA512, which oathtool has only for TOTP', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 91 + 7) & 0xff);
    for (const algorithm of ALGORITHMS) {
      for (const counter of [0, 1, 99, 2 ** 32 + 5]) {
        const reference = new OTPAuth.HOTP({
          secret: OTPAuth.Secret.fromBase32(encodeBase32(key)),
          algorithm,
          digits: 8,
        }).generate({ counter });
        expect(generateHOTP({ secret: key, counter, digits: 8, algorithm })).toBe(reference);
      }
    }
  });

  it('takes the full 8-byte counter range as a bigint (RFC 4226 §5.1)', () => {
    const max = (1n << 64n) - 1n;
    expect(generateHOTP({ secret, counter: max, digits: 6, algorithm: 'SHA1' })).toMatch(/^\d{6}$/);
    expectCode(
      () => generateHOTP({ secret, counter: max + 1n, digits: 6, algorithm: 'SHA1' }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
    expectCode(
      () => generateHOTP({ secret, counter: -1, digits: 6, algorithm: 'SHA1' }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
    expectCode(
      () => generateHOTP({ secret, counter: 1.5, digits: 6, algorithm: 'SHA1' }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
  });

  it('refuses unsupported digits, algorithms and an empty secret', () => {
    expectCode(
      () => generateHOTP({ secret, counter: 0, digits: 5 as OTPDigits, algorithm: 'SHA1' }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
    expectCode(
      () => generateHOTP({ secret, counter: 0, digits: 6, algorithm: 'MD5' as OTPHashAlgorithm }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
    expectCode(
      () => generateHOTP({ secret: new Uint8Array(0), counter: 0, digits: 6, algorithm: 'SHA1' }),
      'FACTOR_SECRET_INVALID',
    );
  });
});

describe('verifyHOTP', () => {
  const base = { secret, digits: 6, algorithm: 'SHA1' } as const;
  const codes = rfc4226.codes_by_counter;

  it('accepts the expected counter and returns the counter to store next', () => {
    expect(verifyHOTP({ ...base, code: codes[0]!, counter: 0, lookAhead: 0 })).toEqual({
      ok: true,
      matchedCounter: 0,
      nextCounter: 1,
    });
  });

  it('accepts codes up to counter + lookAhead and no further (RFC 4226 §7.4)', () => {
    expect(verifyHOTP({ ...base, code: codes[5]!, counter: 2, lookAhead: 3 })).toEqual({
      ok: true,
      matchedCounter: 5,
      nextCounter: 6,
    });
    expect(verifyHOTP({ ...base, code: codes[6]!, counter: 2, lookAhead: 3 })).toEqual({ ok: false });
  });

  it('defaults to a look-ahead of 10', () => {
    expect(verifyHOTP({ ...base, code: codes[9]!, counter: 0 })).toMatchObject({
      ok: true,
      matchedCounter: 9,
    });
  });

  it('refuses a code for a counter already used (replay)', () => {
    expect(verifyHOTP({ ...base, code: codes[3]!, counter: 4, lookAhead: 5 })).toEqual({ ok: false });
  });

  it('ignores spaces and refuses ill-formed input without throwing', () => {
    expect(verifyHOTP({ ...base, code: '755 224', counter: 0, lookAhead: 0 })).toMatchObject({ ok: true });
    for (const code of ['', '75522', '7552244', '75522a', '７５５２２４', '-55224']) {
      expect(verifyHOTP({ ...base, code, counter: 0, lookAhead: 9 })).toEqual({ ok: false });
    }
  });

  it.skipIf(NO_OATHTOOL)('agrees with oathtool validation mode on the matched counter', () => {
    const key = Uint8Array.from({ length: 20 }, (_, i) => 255 - i);
    const code = generateHOTP({ secret: key, counter: 17, digits: 6, algorithm: 'SHA1' });
    const offset = Number(oathtool(['--hotp', '-c', '10', '-w', '20', hex(key), code]));
    const ours = verifyHOTP({ secret: key, code, counter: 10, lookAhead: 20, digits: 6, algorithm: 'SHA1' });
    expect(ours).toEqual({ ok: true, matchedCounter: 10 + offset, nextCounter: 11 + offset });
  });

  it('refuses a window over the limit and counters that cannot be reported as numbers', () => {
    expectCode(
      () => verifyHOTP({ ...base, code: codes[0]!, counter: 0, lookAhead: 1001 }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
    expectCode(
      () => verifyHOTP({ ...base, code: codes[0]!, counter: 0, lookAhead: -1 }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
    expectCode(
      () => verifyHOTP({ ...base, code: codes[0]!, counter: BigInt(Number.MAX_SAFE_INTEGER), lookAhead: 1 }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
  });
});

describe('resyncHOTP', () => {
  const key = Uint8Array.from({ length: 20 }, (_, i) => (i * 13) & 0xff);
  const base = { secret: key, digits: 6, algorithm: 'SHA1' } as const;
  const at = (counter: number) => generateHOTP({ ...base, counter });

  it('finds two consecutive codes far ahead of the stored counter', () => {
    expect(resyncHOTP({ ...base, codes: [at(250), at(251)], counter: 3, searchWindow: 500 })).toEqual({
      ok: true,
      matchedCounter: 251,
      nextCounter: 252,
    });
  });

  it('accepts a pair whose first code is at the edge of the window', () => {
    expect(resyncHOTP({ ...base, codes: [at(103), at(104)], counter: 3, searchWindow: 100 })).toMatchObject({
      ok: true,
      matchedCounter: 104,
    });
    expect(resyncHOTP({ ...base, codes: [at(104), at(105)], counter: 3, searchWindow: 100 })).toEqual({
      ok: false,
    });
  });

  it('refuses codes that are not consecutive, are reversed or lie behind the counter', () => {
    expect(resyncHOTP({ ...base, codes: [at(50), at(52)], counter: 0, searchWindow: 100 })).toEqual({
      ok: false,
    });
    expect(resyncHOTP({ ...base, codes: [at(51), at(50)], counter: 0, searchWindow: 100 })).toEqual({
      ok: false,
    });
    expect(resyncHOTP({ ...base, codes: [at(5), at(6)], counter: 10, searchWindow: 100 })).toEqual({
      ok: false,
    });
    expect(resyncHOTP({ ...base, codes: ['abcdef', at(6)], counter: 0, searchWindow: 100 })).toEqual({
      ok: false,
    });
  });

  it('refuses a search window over the limit', () => {
    expectCode(
      () => resyncHOTP({ ...base, codes: [at(1), at(2)], counter: 0, searchWindow: 5000 }),
      'FACTOR_OTP_PARAMETERS_INVALID',
    );
  });
});
