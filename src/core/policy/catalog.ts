/**
 * Action names the guardrails and the linter reason about. The app's action catalog
 * (src/app/actions.ts) holds every action; a test checks these lists against it.
 */

/** Actions that remove or weaken a factor (guardrail G1: recent MFA). */
export const FACTOR_SENSITIVE_ACTIONS = [
  'iam:DeactivateMFADevice',
  'iam:ResyncMFADevice',
  'holdfast:RegenerateRecoveryCodes',
] as const;

/** Actions that add a factor (guardrail G3). */
export const ENROLMENT_ACTIONS = ['iam:CreateVirtualMFADevice', 'iam:EnableMFADevice'] as const;

/**
 * Identity-administration writes (guardrail G2): users, groups, roles, policies, access keys,
 * other people's factors, account settings, the hardware token inventory.
 */
export const ADMINISTRATION_WRITE_ACTIONS = [
  'iam:CreateUser',
  'iam:DeleteUser',
  'iam:CreateLoginProfile',
  'iam:CreateAccessKey',
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
  'iam:CreatePolicy',
  'iam:DeletePolicy',
  'iam:PutUserPolicy',
  'iam:DeleteUserPolicy',
  'iam:AttachUserPolicy',
  'iam:DetachUserPolicy',
  'iam:CreateRole',
  'iam:UpdateRole',
  'iam:UpdateAssumeRolePolicy',
  'iam:DeleteRole',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:TagRole',
  'iam:UntagRole',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'iam:CreateGroup',
  'iam:AddUserToGroup',
  'iam:RemoveUserFromGroup',
  'iam:PutGroupPolicy',
  'iam:AttachGroupPolicy',
  'iam:DeleteGroupPolicy',
  'iam:DetachGroupPolicy',
  'iam:CreatePolicyVersion',
  'iam:DeletePolicyVersion',
  'iam:SetDefaultPolicyVersion',
  'iam:TagPolicy',
  'iam:UntagPolicy',
  'iam:UpdateGroup',
  'iam:DeleteGroup',
  'iam:UpdateUser',
  'iam:TagUser',
  'iam:UntagUser',
  'iam:PutUserPermissionsBoundary',
  'iam:DeleteUserPermissionsBoundary',
  'iam:UpdateAccountPasswordPolicy',
  'iam:DeleteAccountPasswordPolicy',
  'iam:UpdateLoginProfile',
  'iam:DeleteLoginProfile',
  'iam:CreateAccountAlias',
  'iam:DeleteAccountAlias',
  'holdfast:DisableUser',
  'holdfast:EnableUser',
  'holdfast:ChangeUserRole',
  'holdfast:CreateSetupLink',
  'holdfast:RevokeUserSessions',
  'holdfast:IssueEnrolmentGrant',
  'holdfast:LiftMfaSuspension',
  'holdfast:UpdateAccountSettings',
  'holdfast:PutAccountPolicy',
  'holdfast:DeleteAccountPolicy',
  'holdfast:ImportHardwareTokens',
  'holdfast:AssignHardwareToken',
  'holdfast:UpdateHardwareTokenState',
  'holdfast:ProvisionWebAuthnKey',
  'holdfast:ImportWebAuthnMetadata',
] as const;
