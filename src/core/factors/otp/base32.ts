/**
 * Base32 (RFC 4648 §6), the encoding authenticator apps use for OTP secrets.
 *
 * Decoding is tolerant of what people type or paste (lowercase, spaces, missing `=`
 * padding, as the Key Uri Format omits it) and strict about everything else.
 */

import { HoldfastError } from '../../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Value of each ASCII code in the alphabet, -1 where the character is not in it. */
const DECODE_TABLE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/**
 * Residues of (characters mod 8) a whole number of bytes can leave (RFC 4648 §6: 1, 2, 3 or 4
 * trailing bytes encode to 2, 4, 5 or 7 characters).
 */
const VALID_TAIL_LENGTHS = new Set([0, 2, 4, 5, 7]);

/** Encodes bytes as RFC 4648 §6 Base32; `padding: false` drops the `=` (Key Uri Format). */
export function encodeBase32(bytes: Uint8Array, options: { padding?: boolean } = {}): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  if (options.padding ?? true) out += '='.repeat((8 - (out.length % 8)) % 8);
  return out;
}

/**
 * Decodes RFC 4648 §6 Base32, accepting lowercase, whitespace and missing padding; throws
 * FACTOR_SECRET_INVALID for any other character, misplaced padding or an impossible length.
 */
export function decodeBase32(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, '').toUpperCase();
  const firstPad = compact.indexOf('=');
  const body = firstPad === -1 ? compact : compact.slice(0, firstPad);
  if (firstPad !== -1) {
    // Padding only at the end, and never more than a full quantum needs (RFC 4648 §6).
    const padding = compact.slice(firstPad);
    if (!/^=+$/.test(padding) || compact.length % 8 !== 0 || padding.length > 6) {
      throw new HoldfastError('FACTOR_SECRET_INVALID', 'Base32 padding is misplaced.');
    }
  }
  if (!VALID_TAIL_LENGTHS.has(body.length % 8)) {
    throw new HoldfastError('FACTOR_SECRET_INVALID', 'Base32 text has an impossible length.');
  }
  const out = new Uint8Array(Math.floor((body.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    const value = code < 128 ? DECODE_TABLE[code]! : -1;
    if (value < 0) {
      // The message names the position, never the character: the text is a secret.
      throw new HoldfastError('FACTOR_SECRET_INVALID', `Base32 text has an invalid character at ${i}.`);
    }
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[index++] = (buffer >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}
