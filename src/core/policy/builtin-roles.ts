/**
 * Managed policies of the built-in roles (owner, admin, helpdesk, user), written as IAM JSON
 * documents and compiled once at load, so they go through the same parser and evaluator as
 * customer policies.
 *
 * Every resource is scoped to the caller's own account through `${aws:PrincipalAccount}`
 * (accounts are walls, MISSION.md failure 6). The guardrails (MFA for identity administration,
 * step-up for factor removal, help desk never acting on owners or admins) are separate and sit
 * before these policies; these policies grant, the guardrails restrict.
 */

import type { Role } from '../principals/types.js';
import { parsePolicy, type CompiledPolicy } from './parse-policy.js';

const ACCOUNT = 'arn:aws:iam::${aws:PrincipalAccount}';

/** Actions only an owner may take, denied to admins even if another policy allows them. */
export const OWNER_ONLY_ACTIONS = [
  'holdfast:DeleteAccount',
  'holdfast:TransferOwnership',
  'holdfast:AddOwner',
  'holdfast:RemoveOwner',
  'holdfast:RotateKeys',
  // Account-wide policies cap owners too: only owners write them (guardrail G7 says the same).
  'holdfast:PutAccountPolicy',
  'holdfast:DeleteAccountPolicy',
] as const;

/** Self-service on one's own user and MFA devices (`${aws:username}`). */
const USER = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'ReadOwnAccount',
      Effect: 'Allow',
      Action: ['holdfast:GetAccount', 'holdfast:LintPolicy'],
      Resource: `${ACCOUNT}:root`,
    },
    {
      Sid: 'ManageOwnUserAndSessions',
      Effect: 'Allow',
      Action: [
        'iam:GetUser',
        'iam:ChangePassword',
        'holdfast:GetSession',
        'holdfast:ListSessions',
        'holdfast:RevokeSession',
        'holdfast:SignOut',
        'holdfast:StepUp',
        'holdfast:GetRecoveryCodeStatus',
        'holdfast:RegenerateRecoveryCodes',
        'holdfast:ListOwnSecurityEvents',
        'holdfast:ListContacts',
        'holdfast:UpdateContact',
        'holdfast:CompleteCodeRecovery',
      ],
      Resource: `${ACCOUNT}:user/\${aws:username}`,
    },
    {
      Sid: 'ManageOwnAccessKeys',
      Effect: 'Allow',
      Action: [
        'iam:ListAccessKeys',
        'iam:CreateAccessKey',
        'iam:UpdateAccessKey',
        'iam:DeleteAccessKey',
        'iam:GetAccessKeyLastUsed',
      ],
      Resource: `${ACCOUNT}:user/\${aws:username}`,
    },
    {
      Sid: 'ManageOwnMFADevices',
      Effect: 'Allow',
      Action: [
        'iam:ListMFADevices',
        'iam:GetMFADevice',
        'iam:CreateVirtualMFADevice',
        'iam:EnableMFADevice',
        'iam:ResyncMFADevice',
        'iam:DeactivateMFADevice',
        'iam:DeleteVirtualMFADevice',
        'holdfast:RenameMFADevice',
      ],
      Resource: [
        `${ACCOUNT}:user/\${aws:username}`,
        `${ACCOUNT}:mfa/\${aws:username}`,
        `${ACCOUNT}:mfa/\${aws:username}/*`,
      ],
    },
  ],
};

/** Read users, list their MFA devices, revoke their sessions, open (not approve) a reset. */
const HELPDESK = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'HelpUsers',
      Effect: 'Allow',
      Action: [
        'holdfast:GetAccount',
        'iam:ListUsers',
        'iam:GetUser',
        'iam:ListMFADevices',
        'iam:ListVirtualMFADevices',
        'holdfast:RevokeUserSessions',
        'holdfast:GetLockoutRiskInsights',
        'holdfast:OpenResetRequest',
      ],
      Resource: `${ACCOUNT}:*`,
    },
  ],
};

/** iam:* and holdfast:* in the account, except what only an owner may do. */
const ADMIN = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'AdministerAccount',
      Effect: 'Allow',
      Action: ['iam:*', 'holdfast:*'],
      Resource: `${ACCOUNT}:*`,
    },
    {
      Sid: 'OwnerOnly',
      Effect: 'Deny',
      Action: [...OWNER_ONLY_ACTIONS],
      Resource: '*',
    },
  ],
};

/** Everything in the account. */
const OWNER = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'OwnAccount', Effect: 'Allow', Action: '*', Resource: `${ACCOUNT}:*` }],
};

/** The JSON text of each built-in managed policy (what `holdfast policy show` would print). */
export const BUILTIN_POLICY_DOCUMENTS: Readonly<Record<Role, string>> = {
  owner: JSON.stringify(OWNER, null, 2),
  admin: JSON.stringify(ADMIN, null, 2),
  helpdesk: JSON.stringify(HELPDESK, null, 2),
  user: JSON.stringify(USER, null, 2),
};

const compiled: Readonly<Record<Role, CompiledPolicy>> = {
  owner: parsePolicy(BUILTIN_POLICY_DOCUMENTS.owner),
  admin: parsePolicy(BUILTIN_POLICY_DOCUMENTS.admin),
  helpdesk: parsePolicy(BUILTIN_POLICY_DOCUMENTS.helpdesk),
  user: parsePolicy(BUILTIN_POLICY_DOCUMENTS.user),
};

/**
 * The compiled managed policies a principal of `role` holds. A principal has exactly one role;
 * the help desk also gets the user's self-service policy (admin and owner already cover it).
 */
export function builtinPoliciesFor(role: Role): readonly CompiledPolicy[] {
  switch (role) {
    case 'owner':
      return [compiled.owner];
    case 'admin':
      return [compiled.admin];
    case 'helpdesk':
      return [compiled.helpdesk, compiled.user];
    case 'user':
      return [compiled.user];
  }
}
