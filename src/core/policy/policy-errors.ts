/**
 * Error codes of the policy engine (parsing and validating IAM-grammar policy documents).
 *
 * Spread into ERROR_CODES in src/core/errors.ts; docs/errors.md needs one row per code. Messages
 * name the offending statement index and element, never the caller's request context.
 */

/** Policy error codes with a one-line meaning each (mirrored in docs/errors.md). */
export const POLICY_ERROR_CODES = {
  POLICY_MALFORMED:
    'The policy document is not valid JSON or breaks the IAM policy grammar (unknown or missing element, wrong type, empty list); the message names the statement and element.',
  POLICY_TOO_LARGE:
    'The policy document is longer than 6,144 characters, not counting white space (the AWS managed-policy size quota).',
  POLICY_UNSUPPORTED_OPERATOR:
    'A Condition block uses an operator or set qualifier Holdfast does not support.',
  POLICY_CONDITION_VALUE_INVALID:
    'A Condition value cannot be read for its operator (not a number, date, true/false or IP address/CIDR).',
} as const satisfies Record<string, string>;

/** A policy error code. */
export type PolicyErrorCode = keyof typeof POLICY_ERROR_CODES;
