import { describe, expect, it } from 'vitest';
import { isHoldfastError } from '../../errors.js';
import { decodeBase32, encodeBase32 } from './base32.js';

/** RFC 4648 §10 test vectors for Base32. */
const RFC4648_VECTORS: Array<[string, string]> = [
  ['', ''],
  ['f', 'MY======'],
  ['fo', 'MZXQ===='],
  ['foo', 'MZXW6==='],
  ['foob', 'MZXW6YQ='],
  ['fooba', 'MZXW6YTB'],
  ['foobar', 'MZXW6YTBOI======'],
];

const bytes = (text: string) => new TextEncoder().encode(text);

function expectSecretInvalid(text: string): void {
  let caught: unknown;
  try {
    decodeBase32(text);
  } catch (err) {
    caught = err;
  }
  expect(isHoldfastError(caught, 'FACTOR_SECRET_INVALID'), `decoding ${JSON.stringify(text)}`).toBe(true);
}

describe('encodeBase32', () => {
  it.each(RFC4648_VECTORS)('encodes %j as %s (RFC 4648 §10)', (plain, encoded) => {
    expect(encodeBase32(bytes(plain))).toBe(encoded);
  });

  it('omits padding on request (Key Uri Format)', () => {
    expect(encodeBase32(bytes('foobar'), { padding: false })).toBe('MZXW6YTBOI');
    expect(encodeBase32(bytes('12345678901234567890'), { padding: false })).toBe(
      'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
    );
  });
});

describe('decodeBase32', () => {
  it.each(RFC4648_VECTORS)('decodes %j from %s (RFC 4648 §10)', (plain, encoded) => {
    expect(decodeBase32(encoded)).toEqual(bytes(plain));
  });

  it('accepts lowercase, spaces, line breaks and missing padding', () => {
    expect(decodeBase32('mzxw 6ytb oi')).toEqual(bytes('foobar'));
    expect(decodeBase32('MZXW6\nYTBOI')).toEqual(bytes('foobar'));
    expect(decodeBase32('mzxw6yq')).toEqual(bytes('foob'));
    expect(decodeBase32('  gezdgnbvgy3tqojqgezdgnbvgy3tqojq  ')).toEqual(bytes('12345678901234567890'));
  });

  it('round-trips every length of random-looking bytes', () => {
    for (let length = 0; length < 70; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 151 + length * 7) & 0xff);
      expect(decodeBase32(encodeBase32(data))).toEqual(data);
      expect(decodeBase32(encodeBase32(data, { padding: false }).toLowerCase())).toEqual(data);
    }
  });

  it.each([
    'MZXW6YT1',
    'MZXW6YT8',
    'MZXW-6YTB',
    'MZXW6YTB!',
    'MZXWÉYTB',
    'MZ=XW6YTB',
    'MY==',
    'MZXW6YTB========',
  ])('rejects %j with FACTOR_SECRET_INVALID', (text) => expectSecretInvalid(text));

  it.each(['M', 'MZX', 'MZXW6Y'])('rejects the impossible length of %j', (text) => expectSecretInvalid(text));
});
