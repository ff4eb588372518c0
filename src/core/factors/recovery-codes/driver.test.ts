import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RandomSource } from '../../random.js';
import {
  normaliseRecoveryCode,
  RECOVERY_CODE_COUNT,
  RECOVERY_CODE_PROOF,
  recoveryCodeDriver,
  recoveryCodeHash,
} from './driver.js';

/** Real randomness (tests may use node:crypto). */
function counterRandom(): RandomSource {
  return { bytes: (length: number) => new Uint8Array(randomBytes(length)) };
}
const constantRandom: RandomSource = { bytes: (length) => new Uint8Array(length) };
const pepper = new Uint8Array(32).fill(9);

describe('the recovery-code driver', () => {
  it('issues ten distinct xxxxx-xxxxx codes and stores only their keyed hashes', () => {
    const { codes, hashes } = recoveryCodeDriver.beginEnrolment({
      random: counterRandom(),
      pepper,
      principalId: 'usr_1',
    });
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(new Set(codes).size).toBe(codes.length);
    expect(hashes).toEqual(codes.map((code) => recoveryCodeHash(pepper, 'usr_1', code)));
    for (const hash of hashes) for (const code of codes) expect(hash).not.toContain(code.replace('-', ''));
  });

  it('refuses a random source that repeats itself (INTERNAL_ERROR), never a short set', () => {
    expect(() =>
      recoveryCodeDriver.beginEnrolment({ random: constantRandom, pepper, principalId: 'usr_1' }),
    ).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
  });

  it('verifies a code as typed: case, spaces and dashes do not matter; the hash is bound to its principal', () => {
    const { codes } = recoveryCodeDriver.beginEnrolment({
      random: counterRandom(),
      pepper,
      principalId: 'usr_1',
    });
    const code = codes[0]!;
    const typed = ` ${code.toUpperCase().replace('-', ' - ')} `;
    expect(normaliseRecoveryCode(typed)).toBe(code.replace('-', ''));
    expect(recoveryCodeDriver.verify({ pepper, principalId: 'usr_1', code: typed }).codeHash).toBe(
      recoveryCodeHash(pepper, 'usr_1', code),
    );
    expect(recoveryCodeDriver.verify({ pepper, principalId: 'usr_2', code }).codeHash).not.toBe(
      recoveryCodeHash(pepper, 'usr_1', code),
    );
  });

  it('gives the floor of the assurance order and the `rec` method', () => {
    expect(recoveryCodeDriver.assurance()).toBe('recovery_code');
    expect(recoveryCodeDriver.amr).toBe('rec');
    expect(RECOVERY_CODE_PROOF).toEqual({
      factorId: 'recovery_code',
      kind: 'recovery_code',
      assurance: 'recovery_code',
    });
  });
});
