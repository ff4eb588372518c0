/**
 * Error codes of contact channels, self-service recovery, the help-desk reset, delivery and
 * alerts. Spread into ERROR_CODES in src/core/errors.ts; docs/errors.md has one row per code.
 * Messages never carry a token, a code or an address.
 */

/** Recovery error codes with a one-line meaning each (mirrored in docs/errors.md). */
export const RECOVERY_ERROR_CODES = {
  CONTACT_INVALID:
    'The e-mail address or phone number is not well formed (phones: E.164, e.g. +14155550100).',
  CONTACT_NOT_VERIFIED: 'The principal has no verified contact of the kind this step needs.',
  CONTACT_REQUIRED: 'Owners and admins must keep a verified e-mail address; it can be replaced, not removed.',
  VERIFICATION_INVALID: 'The verification link or code is unknown, used, expired or wrong.',
  RECOVERY_NOT_FOUND: 'No such recovery or reset request among those the caller may see.',
  RECOVERY_STATE_INVALID: 'The request is not in a state that accepts this step (already cancelled or done).',
  RECOVERY_IN_PROGRESS: 'The principal already has an open recovery or reset request.',
  RECOVERY_EVIDENCE_REQUIRED:
    'A reset needs at least one verification item from the checklist; free text alone is refused.',
  RECOVERY_ALREADY_APPROVED: 'This principal has already approved the request.',
  RECOVERY_NOT_RECOVERY_SESSION: 'The step needs a session that was signed in with a recovery code.',
  RECOVERY_SETTING_INVALID: 'A recovery or alert setting is out of range or names an unknown rule.',
  ALERT_RULE_CRITICAL: 'A security-critical detection rule cannot be switched off.',
  ALERT_NOT_FOUND: 'No such alert in this account.',
  ALERT_ALREADY_ACKNOWLEDGED: 'The alert was acknowledged already (its first note stays).',
  ALERT_NOTE_INVALID: 'An acknowledgement note is at most 500 characters, without control characters.',
} as const satisfies Record<string, string>;
