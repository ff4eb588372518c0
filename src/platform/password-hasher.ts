import { hash, parseOptions, verify } from '@node-rs/argon2';
import { HoldfastError } from '../core/errors.js';
import type { PasswordHasher } from '../core/ports.js';
import { OWASP_ARGON2_MINIMUM, type Argon2Params } from '../core/settings.js';

export { OWASP_ARGON2_MINIMUM, type Argon2Params } from '../core/settings.js';

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum, not importable under isolatedModules)

/**
 * argon2id hashing through @node-rs/argon2, whose hash/verify run on libuv's thread pool, so
 * the event loop keeps serving while a hash is computed (both cores are used).
 */
export function createPasswordHasher(params: Argon2Params = OWASP_ARGON2_MINIMUM): PasswordHasher {
  if (
    params.memoryCost < OWASP_ARGON2_MINIMUM.memoryCost ||
    params.timeCost < OWASP_ARGON2_MINIMUM.timeCost ||
    params.parallelism < 1
  ) {
    throw new HoldfastError(
      'CONFIG_INVALID',
      'argon2id parameters are below the OWASP minimum (m=19456, t=2, p=1)',
    );
  }
  const options = { algorithm: ARGON2ID, ...params } as const;
  return {
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      try {
        return await verify(stored, password);
      } catch {
        return false;
      }
    },
    needsRehash(stored) {
      try {
        const current = parseOptions(stored);
        return (
          current.algorithm !== ARGON2ID ||
          current.memoryCost < params.memoryCost ||
          current.timeCost < params.timeCost ||
          current.parallelism < params.parallelism
        );
      } catch {
        return true;
      }
    },
  };
}
