import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { isHoldfastError, type ErrorCode } from '../../errors.js';
import { decodeBase32 } from './base32.js';
import { generateHOTP } from './hotp.js';
import { buildKeyURI } from './key-uri.js';
import { generateTOTP } from './totp.js';

const secret = new TextEncoder().encode('12345678901234567890');

function expectCode(fn: () => unknown, code: ErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isHoldfastError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
}

describe('buildKeyURI', () => {
  it('builds a TOTP URI with every parameter spelled out', () => {
    const uri = buildKeyURI({
      type: 'totp',
      issuer: 'Holdfast',
      accountName: 'alice@example.com',
      secret,
      algorithm: 'SHA256',
      digits: 8,
      period: 60,
    });
    expect(uri).toBe(
      'otpauth://totp/Holdfast:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' +
        '&issuer=Holdfast&algorithm=SHA256&digits=8&period=60',
    );
  });

  it('builds an HOTP URI with its counter', () => {
    const uri = buildKeyURI({
      type: 'hotp',
      issuer: 'Holdfast',
      accountName: 'bob',
      secret,
      algorithm: 'SHA1',
      digits: 6,
      counter: 42,
    });
    expect(uri).toBe(
      'otpauth://hotp/Holdfast:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Holdfast&algorithm=SHA1&digits=6&counter=42',
    );
  });

  it('percent-encodes spaces as %20 and reserved or non-ASCII characters in issuer and label', () => {
    const uri = buildKeyURI({
      type: 'totp',
      issuer: "ACME & Co (Zürich) #1's",
      accountName: 'a+b/c?d=e f',
      secret,
      algorithm: 'SHA1',
      digits: 6,
    });
    const issuer = 'ACME%20%26%20Co%20%28Z%C3%BCrich%29%20%231%27s';
    expect(uri).toBe(
      `otpauth://totp/${issuer}:a%2Bb%2Fc%3Fd%3De%20f?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ` +
        `&issuer=${issuer}&algorithm=SHA1&digits=6&period=30`,
    );
    expect(uri).not.toContain('+');
  });

  it('is read back by the otpauth library with the same key and parameters', () => {
    const uri = buildKeyURI({
      type: 'totp',
      issuer: 'Holdfast Test & Co',
      accountName: 'carol smith@example.com',
      secret,
      algorithm: 'SHA512',
      digits: 7,
      period: 45,
    });
    const parsed = OTPAuth.URI.parse(uri);
    expect(parsed).toBeInstanceOf(OTPAuth.TOTP);
    const totp = parsed as OTPAuth.TOTP;
    expect(totp.issuer).toBe('Holdfast Test & Co');
    expect(totp.label).toBe('carol smith@example.com');
    expect(totp.algorithm).toBe('SHA512');
    expect(totp.digits).toBe(7);
    expect(totp.period).toBe(45);
    const timestamp = 1_700_000_000_000;
    expect(totp.generate({ timestamp })).toBe(
      generateTOTP({ secret, timeMs: timestamp, period: 45, digits: 7, algorithm: 'SHA512' }),
    );

    const hotp = OTPAuth.URI.parse(
      buildKeyURI({
        type: 'hotp',
        issuer: 'H',
        accountName: 'd',
        secret,
        algorithm: 'SHA1',
        digits: 6,
        counter: 7,
      }),
    ) as OTPAuth.HOTP;
    expect(hotp.counter).toBe(7);
    expect(hotp.generate()).toBe(generateHOTP({ secret, counter: 7, digits: 6, algorithm: 'SHA1' }));
  });

  it('carries the secret as unpadded Base32 that decodes to the same bytes', () => {
    const odd = Uint8Array.from({ length: 21 }, (_, i) => i * 11);
    const uri = buildKeyURI({
      type: 'totp',
      issuer: 'H',
      accountName: 'e',
      secret: odd,
      algorithm: 'SHA1',
      digits: 6,
    });
    const b32 = /secret=([A-Z2-7]+)&/.exec(uri)?.[1] ?? '';
    expect(b32).not.toContain('=');
    expect(decodeBase32(b32)).toEqual(odd);
  });

  it('refuses a colon, an empty issuer or account, a short secret and bad parameters', () => {
    const ok = { type: 'totp', issuer: 'H', accountName: 'e', secret, algorithm: 'SHA1', digits: 6 } as const;
    expectCode(() => buildKeyURI({ ...ok, issuer: 'A:B' }), 'FACTOR_KEY_URI_INVALID');
    expectCode(() => buildKeyURI({ ...ok, accountName: 'x:y' }), 'FACTOR_KEY_URI_INVALID');
    expectCode(() => buildKeyURI({ ...ok, issuer: ' ' }), 'FACTOR_KEY_URI_INVALID');
    expectCode(() => buildKeyURI({ ...ok, accountName: '' }), 'FACTOR_KEY_URI_INVALID');
    expectCode(() => buildKeyURI({ ...ok, accountName: '\uD800' }), 'FACTOR_KEY_URI_INVALID');
    expectCode(() => buildKeyURI({ ...ok, secret: new Uint8Array(15) }), 'FACTOR_SECRET_INVALID');
    expectCode(() => buildKeyURI({ ...ok, period: 0 }), 'FACTOR_OTP_PARAMETERS_INVALID');
    expectCode(() => buildKeyURI({ ...ok, digits: 9 as 8 }), 'FACTOR_OTP_PARAMETERS_INVALID');
    expectCode(() => buildKeyURI({ ...ok, type: 'hotp', counter: -1 }), 'FACTOR_OTP_PARAMETERS_INVALID');
  });
});
