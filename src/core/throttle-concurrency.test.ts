import { describe, expect, it } from 'vitest';
import { LOGIN_THROTTLE, recordThrottleFailure, throttleWaitMs } from './throttle.js';

describe('throttle: attempts counted out of clock order', () => {
  it('a free attempt leaves no wait, even for a concurrent attempt that read the clock a moment earlier', () => {
    // Two sign-ins in flight: B read the clock at t, A at t+3 ms, but A's count landed first.
    const t = 1_000_000;
    const afterA = recordThrottleFailure(LOGIN_THROTTLE, { state: null, key: 'k', now: t + 3 });
    expect(afterA.nextAllowedAt).toBe(0);
    expect(throttleWaitMs(afterA, t)).toBe(0);
    // Past the free attempts the delay still counts from the attempt that imposed it.
    let state = afterA;
    for (let i = 0; i < LOGIN_THROTTLE.freeFailures; i++) {
      state = recordThrottleFailure(LOGIN_THROTTLE, { state, key: 'k', now: t + 3 });
    }
    expect(state.nextAllowedAt).toBe(t + 3 + LOGIN_THROTTLE.baseDelayMs);
    expect(throttleWaitMs(state, t + 3)).toBe(LOGIN_THROTTLE.baseDelayMs);
  });
});
