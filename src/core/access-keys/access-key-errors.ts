/**
 * Error codes of access keys, temporary credentials, roles and IAM device serials (the
 * AWS-compatible face). Spread into ERROR_CODES in src/core/errors.ts; docs/errors.md needs one
 * row per code. The AWS Query API answers each with an AWS wire code (docs/aws-api.md).
 */

/** AWS-face error codes with a one-line meaning each (mirrored in docs/errors.md). */
export const AWS_ERROR_CODES = {
  AWS_ACCESS_KEY_NOT_FOUND: 'No access key with this id belongs to this user.',
  AWS_ACCESS_KEY_LIMIT_REACHED: 'The user already holds the most long-term access keys allowed (2).',
  AWS_SESSION_CREDENTIALS_REFUSED:
    'These temporary credentials may not make this call (GetSessionToken needs long-term keys; IAM needs an MFA session).',
  AWS_DURATION_INVALID: 'DurationSeconds is outside what this call and these credentials allow.',
  AWS_USER_DELETE_CONFLICT:
    'The user still has access keys, MFA devices, policies or group memberships; remove them first.',
  AWS_LOGIN_PROFILE_EXISTS: 'The user already has a password (login profile).',
  AWS_ROLE_NOT_FOUND: 'No role with this name or ARN exists in this account.',
  AWS_ROLE_ALREADY_EXISTS:
    'A role with this name already exists in this account (names are case-insensitive).',
  AWS_MFA_DEVICE_ALREADY_EXISTS:
    'A virtual MFA device with this path and name already exists in this account.',
  AWS_MFA_DEVICE_IN_USE: 'The virtual MFA device is still enabled for a user; deactivate it first.',
  AWS_ROLE_DELETE_CONFLICT: 'The role still has inline or attached policies; delete or detach them first.',
  AWS_AUTHORIZATION_MESSAGE_INVALID:
    'The encoded authorization message was not issued by this installation for this account, or it was altered.',
} as const satisfies Record<string, string>;
