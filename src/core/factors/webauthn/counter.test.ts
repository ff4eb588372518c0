import { describe, expect, it } from 'vitest';
import { checkSignatureCounter, isCounterAccepted, MAX_SIGNATURE_COUNTER } from './counter.js';

// W3C WebAuthn Level 2 §6.1.1 and §7.2 step 21, case by case.
describe('signature-counter rule', () => {
  it.each([
    { stored: 0, received: 0, expected: { status: 'no_counter', newCounter: 0 } },
    { stored: 0, received: 1, expected: { status: 'advanced', newCounter: 1 } },
    { stored: 5, received: 6, expected: { status: 'advanced', newCounter: 6 } },
    { stored: 5, received: 500, expected: { status: 'advanced', newCounter: 500 } },
    {
      stored: 5,
      received: 5,
      expected: { status: 'clone_suspected', storedCounter: 5, receivedCounter: 5 },
    },
    {
      stored: 5,
      received: 4,
      expected: { status: 'clone_suspected', storedCounter: 5, receivedCounter: 4 },
    },
    {
      // An authenticator that had a counter and now reports none is not "without counter".
      stored: 7,
      received: 0,
      expected: { status: 'clone_suspected', storedCounter: 7, receivedCounter: 0 },
    },
    {
      stored: MAX_SIGNATURE_COUNTER - 1,
      received: MAX_SIGNATURE_COUNTER,
      expected: { status: 'advanced', newCounter: MAX_SIGNATURE_COUNTER },
    },
  ])('stored $stored, received $received', ({ stored, received, expected }) => {
    expect(checkSignatureCounter({ stored, received })).toEqual(expected);
  });

  it.each([
    [-1, 0],
    [0, 1.5],
    [0, MAX_SIGNATURE_COUNTER + 1],
    [Number.NaN, 1],
  ])('refuses values a 32-bit signCount cannot hold (%s, %s)', (stored, received) => {
    expect(checkSignatureCounter({ stored, received })).toEqual({ status: 'malformed' });
  });

  it('accepts only advanced and counter-less outcomes', () => {
    expect(isCounterAccepted(checkSignatureCounter({ stored: 0, received: 0 }))).toBe(true);
    expect(isCounterAccepted(checkSignatureCounter({ stored: 1, received: 2 }))).toBe(true);
    expect(isCounterAccepted(checkSignatureCounter({ stored: 2, received: 2 }))).toBe(false);
    expect(isCounterAccepted(checkSignatureCounter({ stored: -2, received: 2 }))).toBe(false);
  });
});
