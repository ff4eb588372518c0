import { hmacBase64url } from '../../crypto/hashing.js';
import { HoldfastError } from '../../errors.js';
import { randomString, type RandomSource } from '../../random.js';
import type { AssuranceLevel } from '../assurance-levels.js';

/**
 * Recovery codes: a set of single-use codes per user, the way back in when every factor is lost
 * (MISSION.md failure 1). Not a `FactorKind` (no `factors` row: a set belongs to the user, not
 * to a device), but shaped like the other drivers: `beginEnrolment` issues a set (shown once,
 * kept only as keyed hashes), `verify` turns a typed code into the hash the store consumes (the
 * store's conditional update is the single-use guard), and the proof it gives a session is
 * fixed. Each code is 10 Base32 characters: 50 bits, out of reach of online guessing (NIST SP
 * 800-63B §5.1.2.2 asks for at least 20 bits of look-up secrets), which is why the throttles
 * spend no principal budget on them.
 */

/** Codes per set. */
export const RECOVERY_CODE_COUNT = 10;
/** Base32 letters (no 0/1/8/9 to misread); 10 of them give 50 bits. */
const RECOVERY_CODE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const RECOVERY_CODE_LENGTH = 10;

/** Normalises a recovery code as users type it (case, spaces and dashes do not matter). */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

/** The keyed hash a recovery code is stored as, bound to its principal (HMAC-SHA-256, a server pepper). */
export function recoveryCodeHash(pepper: Uint8Array, principalId: string, code: string): string {
  return hmacBase64url(pepper, `recovery:${principalId}:${normaliseRecoveryCode(code)}`);
}

/** A new set: the codes to show once (`xxxxx-xxxxx`) and the hashes to store. */
export interface IssuedRecoveryCodes {
  codes: string[];
  hashes: string[];
}

/** What a session records when a recovery code was its second factor. */
export const RECOVERY_CODE_PROOF = {
  factorId: 'recovery_code',
  kind: 'recovery_code',
  assurance: 'recovery_code' as AssuranceLevel,
} as const;

/** The recovery-code driver. */
export const recoveryCodeDriver = {
  kind: 'recovery_code' as const,
  /** RFC 8176 has no recovery-code value; `rec` is ours, documented in docs/mfa.md. */
  amr: 'rec',
  label: 'Recovery code',
  assurance: (): AssuranceLevel => 'recovery_code',
  /** Issues a set of {@link RECOVERY_CODE_COUNT} distinct codes for `principalId`. */
  beginEnrolment(input: {
    random: RandomSource;
    pepper: Uint8Array;
    principalId: string;
  }): IssuedRecoveryCodes {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
      const raw = randomString(input.random, RECOVERY_CODE_ALPHABET, RECOVERY_CODE_LENGTH);
      return `${raw.slice(0, 5)}-${raw.slice(5)}`;
    });
    // 50-bit codes do not collide in practice; a broken random source must not pass unnoticed.
    if (new Set(codes).size !== codes.length) throw new HoldfastError('INTERNAL_ERROR');
    return { codes, hashes: codes.map((code) => recoveryCodeHash(input.pepper, input.principalId, code)) };
  },
  /** The hash to consume for a typed code (the store decides whether it is unused). */
  verify(input: { pepper: Uint8Array; principalId: string; code: string }): { codeHash: string } {
    return { codeHash: recoveryCodeHash(input.pepper, input.principalId, input.code) };
  },
};
