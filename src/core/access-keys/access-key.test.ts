import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { RandomSource } from '../random.js';
import {
  ACCESS_KEY_ID_LENGTH,
  SECRET_ACCESS_KEY_LENGTH,
  accessKeyKind,
  isAccessKeyId,
  isAccessKeyIdSyntax,
  isSecretAccessKey,
  newAccessKeyId,
  newSecretAccessKey,
} from './access-key.js';

/** A deterministic source: a counter, so outputs are reproducible and distinct. */
function counterSource(start = 0): RandomSource & { used: number } {
  let n = start;
  const source = {
    used: 0,
    bytes(length: number) {
      source.used += length;
      return Uint8Array.from({ length }, () => n++ & 0xff);
    },
  };
  return source;
}

/** A deterministic, well-mixed source: SHA-256 in counter mode. */
function hashSource(): RandomSource {
  let block = 0;
  return {
    bytes(length) {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i += 32) {
        out.set(
          createHash('sha256')
            .update(`block-${block++}`)
            .digest()
            .subarray(0, Math.min(32, length - i)),
          i,
        );
      }
      return out;
    },
  };
}

function constantSource(byte: number): RandomSource {
  return { bytes: (length) => new Uint8Array(length).fill(byte) };
}

describe('access key ids', () => {
  it('are AKIA + 16 for long-term keys and ASIA + 16 for temporary ones', () => {
    const longTerm = newAccessKeyId(counterSource(), 'long-term');
    const temporary = newAccessKeyId(counterSource(), 'temporary');
    expect(longTerm).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(temporary).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(longTerm).toHaveLength(ACCESS_KEY_ID_LENGTH);
    expect(accessKeyKind(longTerm)).toBe('long-term');
    expect(accessKeyKind(temporary)).toBe('temporary');
  });

  it('come from the injected randomness', () => {
    expect(newAccessKeyId(constantSource(0), 'long-term')).toBe(`AKIA${'A'.repeat(16)}`);
    expect(newAccessKeyId(constantSource(0xff), 'long-term')).toBe(`AKIA${'7'.repeat(16)}`);
    expect(newAccessKeyId(counterSource(0), 'long-term')).not.toBe(
      newAccessKeyId(counterSource(1), 'long-term'),
    );
  });

  it('use every character of the Base32 alphabet', () => {
    const source = hashSource();
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) for (const c of newAccessKeyId(source, 'long-term').slice(4)) seen.add(c);
    expect(seen.size).toBe(32);
  });

  it('are checked for syntax', () => {
    expect(isAccessKeyId('AKIAIOSFODNN7EXAMPLE')).toBe(true);
    expect(isAccessKeyId('ASIAIOSFODNN7EXAMPLE')).toBe(true);
    expect(isAccessKeyId('AKIAIOSFODNN7EXAMPL')).toBe(false);
    expect(isAccessKeyId('AKIAIOSFODNN7EXAMPLE1')).toBe(false);
    expect(isAccessKeyId('AKIAiosfodnn7example')).toBe(false);
    expect(isAccessKeyId('AKIAIOSFODNN1EXAMPLE')).toBe(false); // 1 is not Base32
    expect(isAccessKeyId('AROAIOSFODNN7EXAMPLE')).toBe(false);
    expect(accessKeyKind('AIDAIOSFODNN7EXAMPLE')).toBeUndefined();
    expect(isAccessKeyIdSyntax('AKIDEXAMPLE12345')).toBe(true);
    expect(isAccessKeyIdSyntax('AKIDEXAMPLE1234')).toBe(false);
    expect(isAccessKeyIdSyntax('AKID-EXAMPLE12345')).toBe(false);
    expect(isAccessKeyIdSyntax('A'.repeat(129))).toBe(false);
  });
});

describe('secret access keys', () => {
  it('are 40 base64 characters from 30 random bytes', () => {
    const source = counterSource();
    const secret = newSecretAccessKey(source);
    expect(secret).toHaveLength(SECRET_ACCESS_KEY_LENGTH);
    expect(source.used).toBe(30);
    expect(isSecretAccessKey(secret)).toBe(true);
    expect(Buffer.from(secret, 'base64')).toEqual(Buffer.from(Uint8Array.from({ length: 30 }, (_, i) => i)));
  });

  it('map the extremes of the byte range onto the alphabet ends', () => {
    expect(newSecretAccessKey(constantSource(0))).toBe('A'.repeat(40));
    expect(newSecretAccessKey(constantSource(0xff))).toBe('/'.repeat(40));
  });

  it('refuse a source that returns too few bytes', () => {
    expect(() => newSecretAccessKey({ bytes: () => new Uint8Array(29) })).toThrow(RangeError);
  });

  it('are checked for syntax', () => {
    expect(isSecretAccessKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe(true);
    expect(isSecretAccessKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE')).toBe(false);
    expect(isSecretAccessKey('wJalrXUtnFEMI-K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe(false);
  });
});
