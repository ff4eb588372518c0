import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { HoldfastError } from '../core/errors.js';
import type { SecretBox } from '../core/ports.js';

/** A set of 256-bit master keys by id; new ciphertexts use `currentId`. */
export interface KeyRing {
  currentId: string;
  keys: ReadonlyMap<string, Buffer>;
}

const VERSION = 'v1';

/** Derives a short, stable key id from key material (first 8 hex digits of its SHA-256). */
export function keyIdOf(key: Buffer): string {
  return 'k' + createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Envelope encryption: AES-256-GCM with a fresh 96-bit IV, the key id stored in the clear in
 * front of the ciphertext, and a caller-supplied context bound in as additional authenticated
 * data so a ciphertext cannot be moved to another row. Format: `v1.<keyId>.<iv>.<ct+tag>`.
 */
export function createSecretBox(ring: KeyRing): SecretBox {
  const current = ring.keys.get(ring.currentId);
  if (current === undefined || current.length !== 32) {
    throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', 'the current master key must be 32 bytes');
  }
  return {
    currentKeyId: ring.currentId,
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return [VERSION, ring.currentId, iv.toString('base64url'), body.toString('base64url')].join('.');
    },
    open(sealed, context) {
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== VERSION)
        throw new HoldfastError('CRYPTO_DECRYPT_FAILED', 'malformed ciphertext');
      const key = ring.keys.get(parts[1]!);
      if (key === undefined) {
        throw new HoldfastError(
          'CRYPTO_MASTER_KEY_INVALID',
          `ciphertext is under key ${parts[1]}, which is not loaded`,
        );
      }
      const iv = Buffer.from(parts[2]!, 'base64url');
      const body = Buffer.from(parts[3]!, 'base64url');
      if (iv.length !== 12 || body.length < 16)
        throw new HoldfastError('CRYPTO_DECRYPT_FAILED', 'malformed ciphertext');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(body.subarray(body.length - 16));
        return new Uint8Array(
          Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]),
        );
      } catch (cause) {
        throw new HoldfastError('CRYPTO_DECRYPT_FAILED', undefined, { cause });
      }
    },
  };
}
