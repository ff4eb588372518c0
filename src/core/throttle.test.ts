import { describe, expect, it } from 'vitest';
import {
  LOGIN_THROTTLE,
  recordThrottleFailure,
  throttleDelayMs,
  throttleWaitMs,
  type ThrottleState,
} from './throttle.js';

describe('growing delays', () => {
  it('allows a few free failures, then doubles up to the cap', () => {
    const delays = Array.from({ length: 15 }, (_, i) => throttleDelayMs(LOGIN_THROTTLE, i + 1));
    expect(delays.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(delays.slice(5, 9)).toEqual([1000, 2000, 4000, 8000]);
    expect(Math.max(...delays)).toBe(LOGIN_THROTTLE.maxDelayMs);
  });
  it('never exceeds the cap however many failures (no lock-out weapon)', () => {
    expect(throttleDelayMs(LOGIN_THROTTLE, 10_000)).toBe(LOGIN_THROTTLE.maxDelayMs);
  });
  it('forgets failures older than the window', () => {
    let state: ThrottleState | null = null;
    for (let i = 0; i < 8; i++)
      state = recordThrottleFailure(LOGIN_THROTTLE, { state, key: 'k', now: 1000 + i });
    expect(state!.failures).toBe(8);
    const later = recordThrottleFailure(LOGIN_THROTTLE, {
      state,
      key: 'k',
      now: 1000 + LOGIN_THROTTLE.windowMs + 10,
    });
    expect(later.failures).toBe(1);
    expect(throttleWaitMs(later, later.lastFailureAt)).toBe(0);
  });
  it('reports the remaining wait', () => {
    const state = { key: 'k', failures: 7, lastFailureAt: 0, nextAllowedAt: 5000 };
    expect(throttleWaitMs(state, 1000)).toBe(4000);
    expect(throttleWaitMs(state, 6000)).toBe(0);
  });
});
