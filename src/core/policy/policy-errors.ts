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
  POLICY_NOT_FOUND: 'No policy with this name (or ARN) in this account, or not attached where named.',
  POLICY_ALREADY_EXISTS: 'A managed policy with this name already exists in this account.',
  POLICY_LINT_FAILED:
    'The policy document has linter errors (listed in details and by POST /v1/policies/lint); it was not saved.',
  POLICY_IN_USE: 'The managed policy is still attached to users or groups; detach it first.',
  POLICY_LIMIT_REACHED: 'The user, group or account already holds the most policies allowed (10 each).',
  GROUP_NOT_FOUND: 'No group with this name in this account.',
  GROUP_ALREADY_EXISTS: 'A group with this name already exists in this account.',
  GUARDRAIL_DENIED:
    'A built-in guardrail forbids this action whatever the policies say; details name the guardrail (docs/guardrails.md).',
  ENROLMENT_GRANT_REQUIRED:
    'Enrolling a factor now needs an MFA session or a one-time enrolment grant (the initial enrolment window is over).',
  ENROLMENT_GRANT_INVALID: 'The enrolment grant is unknown, used, expired or issued to someone else.',
  ENROLMENT_GRANT_NOT_NEEDED:
    'The user has an enabled second factor: they add another from an MFA session, no grant is sent.',
  SETTING_WOULD_LOOSEN:
    'The account setting would loosen a guardrail (step-up age above 15 minutes, enrolment window above its default); settings can only tighten.',
} as const satisfies Record<string, string>;

/** A policy error code. */
export type PolicyErrorCode = keyof typeof POLICY_ERROR_CODES;
