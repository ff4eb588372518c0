/**
 * The WebAuthn signature-counter rule (W3C WebAuthn Level 2 §6.1.1 "Signature Counter
 * Considerations" and §7.2 "Verifying an Authentication Assertion", step 21).
 *
 * An authenticator that implements a counter increments it on every assertion. If either the
 * stored or the received counter is non-zero, the received one must be strictly greater than the
 * stored one; otherwise two copies of the private key may exist (a cloned authenticator) and the
 * Relying Party decides what to do. Holdfast refuses the assertion and reports it distinctly so
 * the audit log and the alerting rules can tell a clone from a wrong signature.
 *
 * Both counters zero means the authenticator has no counter (synced passkeys, many platform
 * authenticators): that is allowed, and such a credential can never be checked for clones.
 */

/** The largest value of the 32-bit signCount field of authenticator data (§6.1). */
export const MAX_SIGNATURE_COUNTER = 0xffff_ffff;

/** Outcome of the counter rule: the counter to store, or why the assertion must be refused. */
export type CounterOutcome =
  /** The received counter is greater than the stored one: store `newCounter`. */
  | { status: 'advanced'; newCounter: number }
  /** Both counters are zero: the authenticator keeps no counter; nothing to store. */
  | { status: 'no_counter'; newCounter: 0 }
  /** The received counter did not move forward: possible cloned authenticator (§6.1.1). */
  | { status: 'clone_suspected'; storedCounter: number; receivedCounter: number }
  /** A counter is not an integer in [0, 2^32 - 1]. */
  | { status: 'malformed' };

/** True for a value the 32-bit signCount field can hold. */
function isCounterValue(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_SIGNATURE_COUNTER;
}

/** Applies the signature-counter rule to a stored and a received counter. */
export function checkSignatureCounter(input: { stored: number; received: number }): CounterOutcome {
  const { stored, received } = input;
  if (!isCounterValue(stored) || !isCounterValue(received)) return { status: 'malformed' };
  if (stored === 0 && received === 0) return { status: 'no_counter', newCounter: 0 };
  if (received > stored) return { status: 'advanced', newCounter: received };
  return { status: 'clone_suspected', storedCounter: stored, receivedCounter: received };
}

/** True when the outcome lets the assertion through. */
export function isCounterAccepted(
  outcome: CounterOutcome,
): outcome is Extract<CounterOutcome, { status: 'advanced' | 'no_counter' }> {
  return outcome.status === 'advanced' || outcome.status === 'no_counter';
}
