import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { RandomSource } from '../core/random.js';

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** The operating system's CSPRNG. */
export const systemRandom: RandomSource = { bytes: (length) => new Uint8Array(randomBytes(length)) };
