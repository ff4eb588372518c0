import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HoldfastError } from '../core/errors.js';
import { keyRingFrom, parseKeyRingText } from './master-key.js';
import { createSecretBox } from './secret-box.js';

const code = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (e) {
    return (e as HoldfastError).code;
  }
};

describe('secret box (AES-256-GCM envelope)', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  it('round-trips and names its key id in the ciphertext', () => {
    const box = createSecretBox(keyRingFrom([k1]));
    const sealed = box.seal(Buffer.from('seed'), 'factor:1');
    expect(sealed.split('.')[1]).toBe(box.currentKeyId);
    expect(Buffer.from(box.open(sealed, 'factor:1')).toString()).toBe('seed');
    expect(sealed).not.toContain(Buffer.from('seed').toString('base64'));
  });
  it('binds the context: a ciphertext moved to another row does not open', () => {
    const box = createSecretBox(keyRingFrom([k1]));
    expect(code(() => box.open(box.seal(Buffer.from('x'), 'factor:1'), 'factor:2'))).toBe(
      'CRYPTO_DECRYPT_FAILED',
    );
  });
  it('detects tampering', () => {
    const box = createSecretBox(keyRingFrom([k1]));
    const sealed = box.seal(Buffer.from('secret value'), 'c');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0]! ^= 1;
    parts[3] = body.toString('base64url');
    expect(code(() => box.open(parts.join('.'), 'c'))).toBe('CRYPTO_DECRYPT_FAILED');
    expect(code(() => box.open('garbage', 'c'))).toBe('CRYPTO_DECRYPT_FAILED');
  });
  it('reads old ciphertexts with an older key in the ring and refuses unknown keys', () => {
    const old = createSecretBox(keyRingFrom([k1]));
    const sealed = old.seal(Buffer.from('x'), 'c');
    expect(Buffer.from(createSecretBox(keyRingFrom([k2, k1])).open(sealed, 'c')).toString()).toBe('x');
    expect(code(() => createSecretBox(keyRingFrom([k2])).open(sealed, 'c'))).toBe(
      'CRYPTO_MASTER_KEY_INVALID',
    );
  });
  it('parses HOLDFAST_MASTER_KEY and rejects malformed keys', () => {
    const ring = parseKeyRingText(`${k2.toString('base64')},${k1.toString('base64')}`);
    expect(ring.keys.size).toBe(2);
    expect(code(() => parseKeyRingText('c2hvcnQ='))).toBe('CRYPTO_MASTER_KEY_INVALID');
  });
});
