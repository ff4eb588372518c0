import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { HoldfastError } from '../core/errors.js';
import { keyIdOf, type KeyRing } from './secret-box.js';

/** Name of the key file inside the data folder. */
export const KEY_FILE_NAME = 'master.key';

/** Where a key ring came from. */
export type KeyRingOrigin = { kind: 'env' } | { kind: 'file'; path: string };

/** A loaded key ring and its origin. */
export interface LoadedKeyRing {
  ring: KeyRing;
  origin: KeyRingOrigin;
}

function decodeKey(text: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) {
    throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', 'a master key must be 32 bytes, base64-encoded');
  }
  return key;
}

/** Builds a ring from keys, the first being current. */
export function keyRingFrom(keys: Buffer[]): KeyRing {
  if (keys.length === 0) throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', 'no key given');
  const map = new Map(keys.map((k) => [keyIdOf(k), k] as const));
  return { currentId: keyIdOf(keys[0]!), keys: map };
}

/**
 * Parses `HOLDFAST_MASTER_KEY`: one base64 32-byte key, or several separated by commas where the
 * first is current and the others are kept to read older ciphertexts during a rotation.
 */
export function parseKeyRingText(text: string): KeyRing {
  return keyRingFrom(
    text
      .split(',')
      .filter((part) => part.trim() !== '')
      .map(decodeKey),
  );
}

/** Loads the master key ring from the environment or the key file; null when neither exists. */
export function loadKeyRing(input: { envValue: string | undefined; dataDir: string }): LoadedKeyRing | null {
  if (input.envValue !== undefined && input.envValue.trim() !== '') {
    return { ring: parseKeyRingText(input.envValue), origin: { kind: 'env' } };
  }
  const path = join(input.dataDir, KEY_FILE_NAME);
  if (!existsSync(path)) return null;
  const mode = statSync(path).mode & 0o077;
  if (mode !== 0) {
    throw new HoldfastError(
      'CRYPTO_MASTER_KEY_INVALID',
      `${path} is readable by group or others; chmod 600 it`,
    );
  }
  let parsed: { version?: unknown; keys?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', `${path} is not a valid key file`, { cause });
  }
  if (
    parsed.version !== 1 ||
    !Array.isArray(parsed.keys) ||
    !parsed.keys.every((k) => typeof k === 'string')
  ) {
    throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', `${path} is not a valid key file`);
  }
  return { ring: keyRingFrom((parsed.keys as string[]).map(decodeKey)), origin: { kind: 'file', path } };
}

function serialise(keys: Buffer[]): string {
  return JSON.stringify({ version: 1, keys: keys.map((k) => k.toString('base64')) }, null, 2) + '\n';
}

/** Creates a new key file (mode 0600, never overwriting one) with a fresh random key. */
export function createKeyFile(dataDir: string): LoadedKeyRing {
  const path = join(dataDir, KEY_FILE_NAME);
  const key = randomBytes(32);
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeFileSync(fd, serialise([key]));
  } finally {
    closeSync(fd);
  }
  return { ring: keyRingFrom([key]), origin: { kind: 'file', path } };
}

/** Replaces the key file atomically (write, fsync by close, rename) with the given keys, first current. */
export function writeKeyFile(path: string, keys: Buffer[]): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeFileSync(fd, serialise(keys));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The keys of a ring with the current one first. */
export function ringKeys(ring: KeyRing): Buffer[] {
  const current = ring.keys.get(ring.currentId)!;
  return [current, ...[...ring.keys.values()].filter((k) => k !== current)];
}
