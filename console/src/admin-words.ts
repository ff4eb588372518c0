import { ApiError } from './api.js';
import { statusLine } from './dom.js';
import { describeError } from './messages.js';

/**
 * Plain words for the errors of the help-desk, settings, groups and outbox pages (codes the
 * console-wide table does not name). The code stays beside the words for support.
 */
const WORDS: Readonly<Record<string, string>> = {
  RECOVERY_EVIDENCE_REQUIRED:
    'Tick at least one check you made from the evidence checklist, and say what you saw.',
  RECOVERY_IN_PROGRESS:
    'This person already has a reset or recovery under way. Cancel it first or wait for it.',
  RECOVERY_ALREADY_APPROVED: 'You have already approved this reset.',
  RECOVERY_STATE_INVALID:
    'This reset has moved on (approved, cancelled or done). Reload to see where it stands.',
  RECOVERY_NOT_FOUND: 'That reset no longer exists.',
  RECOVERY_SETTING_INVALID: 'That value is outside what the server accepts.',
  GUARDRAIL_DENIED:
    'A safety rule refuses this: nobody approves their own request or a request about themselves, and the help desk never acts on owners or administrators.',
  SETTING_WOULD_LOOSEN:
    'That would weaken the setting. Here a setting can only be made stricter; loosening it is for the host operator (holdfast CLI).',
  WEBAUTHN_SETTINGS_INVALID: 'That passkey setting is not valid.',
  POLICY_MALFORMED: 'The policy document is not valid JSON or breaks the policy grammar (see the message).',
  POLICY_TOO_LARGE: 'The policy document is too long (at most 6,144 characters without white space).',
  POLICY_NOT_FOUND: 'No such policy, or it is not attached there.',
  POLICY_ALREADY_EXISTS: 'A policy with this name already exists.',
  POLICY_LINT_FAILED: 'The policy has errors (see the findings); it was not saved.',
  POLICY_IN_USE: 'The policy is still attached to users or groups: detach it first.',
  POLICY_LIMIT_REACHED: 'This user, group or account already holds the most policies allowed (10).',
  GROUP_NOT_FOUND: 'That group no longer exists.',
  GROUP_ALREADY_EXISTS: 'A group with this name already exists.',
  IAM_GROUP_NOT_EMPTY: 'The group still has members or policies: remove them first.',
};

/** Words for an error of these pages (falls back to the console-wide table). */
export function describeAdminError(err: unknown): string {
  if (err instanceof ApiError && WORDS[err.code] !== undefined) {
    return describeError(
      new ApiError({
        code: err.code,
        status: err.status,
        message: WORDS[err.code]!,
        requestId: err.requestId,
        details: err.details,
      }),
    );
  }
  return describeError(err);
}

/** Roles in words. */
export const ROLE_WORDS: Readonly<Record<string, string>> = {
  owner: 'Owner',
  admin: 'Administrator',
  helpdesk: 'Help desk',
  user: 'User',
};

/** A duration in words: "1 hour", "15 minutes", "2 days". */
export function durationWords(seconds: number): string {
  const units: Array<[number, string]> = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

/** An error line standing on its own: the words, with the code and request id behind Details. */
export function errorLine(err: unknown): HTMLElement {
  const line = statusLine();
  line.error(describeAdminError(err));
  return line.el;
}
