/**
 * The cryptography of PSKC pre-shared-key protection (RFC 6030 §6.1): AES-CBC with the IV
 * prepended to the ciphertext (XML Encryption §5.2.2) and an HMAC over IV || ciphertext.
 */

import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { HoldfastError } from '../../errors.js';

/** A CBC cipher named by its XML Encryption URI (RFC 6030 §6.1, XML Encryption §5.2.2). */
export interface PSKCCipher {
  readonly nodeName: 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc';
  readonly keyLength: number;
}

/** Encryption algorithms accepted for EncryptedValue and MACKey; key-wrap and 3DES are not. */
export const PSKC_CIPHERS: ReadonlyMap<string, PSKCCipher> = new Map([
  ['http://www.w3.org/2001/04/xmlenc#aes128-cbc', { nodeName: 'aes-128-cbc', keyLength: 16 }],
  ['http://www.w3.org/2001/04/xmlenc#aes192-cbc', { nodeName: 'aes-192-cbc', keyLength: 24 }],
  ['http://www.w3.org/2001/04/xmlenc#aes256-cbc', { nodeName: 'aes-256-cbc', keyLength: 32 }],
]);

/** MAC algorithms accepted in MACMethod (RFC 6030 §6.1.1; URIs from RFC 3275 and RFC 4051). */
export const PSKC_MAC_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['http://www.w3.org/2000/09/xmldsig#hmac-sha1', 'sha1'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha224', 'sha224'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha256', 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha384', 'sha384'],
  ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha512', 'sha512'],
]);

const BLOCK = 16;

/**
 * Decrypts IV || ciphertext with PKCS#7 padding (XML Encryption §5.2). Any failure, including a
 * key of the wrong length or bad padding, is PSKC_DECRYPT_FAILED: the file gives no oracle.
 */
export function decryptPSKCValue(options: {
  cipher: PSKCCipher;
  key: Uint8Array;
  ivAndCiphertext: Buffer;
}): Buffer {
  const { cipher, key, ivAndCiphertext } = options;
  if (key.length !== cipher.keyLength) {
    throw new HoldfastError('PSKC_DECRYPT_FAILED', `The pre-shared key must be ${cipher.keyLength} bytes.`);
  }
  if (ivAndCiphertext.length < 2 * BLOCK || ivAndCiphertext.length % BLOCK !== 0) {
    throw new HoldfastError('PSKC_DECRYPT_FAILED', 'A ciphertext has an impossible length.');
  }
  try {
    const decipher = createDecipheriv(cipher.nodeName, key, ivAndCiphertext.subarray(0, BLOCK));
    return Buffer.concat([decipher.update(ivAndCiphertext.subarray(BLOCK)), decipher.final()]);
  } catch (cause) {
    throw new HoldfastError('PSKC_DECRYPT_FAILED', 'A value did not decrypt (wrong key?).', { cause });
  }
}

/** True when `mac` is the HMAC of `data` under `key`, compared in constant time (RFC 6030 §6.1.1). */
export function verifyPSKCValueMAC(options: {
  hash: string;
  key: Uint8Array;
  data: Uint8Array;
  mac: Uint8Array;
}): boolean {
  const expected = createHmac(options.hash, options.key).update(options.data).digest();
  return expected.length === options.mac.length && timingSafeEqual(expected, options.mac);
}
