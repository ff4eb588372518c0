import type { ActionTraits } from '../core/policy/guardrails.js';

/**
 * The action catalog: every operation of every face maps to exactly one of these names
 * (AWS IAM names where AWS has the operation, `holdfast:` otherwise). Policies name these
 * actions; docs/policies.md lists them with their resources.
 */
export const ACTIONS = {
  SignIn: 'holdfast:SignIn',
  SignOut: 'holdfast:SignOut',
  CompleteSetup: 'holdfast:CompleteSetup',
  GetSession: 'holdfast:GetSession',
  ListSessions: 'holdfast:ListSessions',
  RevokeSession: 'holdfast:RevokeSession',
  StepUp: 'holdfast:StepUp',
  CompleteSecondFactor: 'holdfast:CompleteSecondFactor',
  ListMFADevices: 'iam:ListMFADevices',
  CreateVirtualMFADevice: 'iam:CreateVirtualMFADevice',
  EnableMFADevice: 'iam:EnableMFADevice',
  ResyncMFADevice: 'iam:ResyncMFADevice',
  DeactivateMFADevice: 'iam:DeactivateMFADevice',
  DeleteVirtualMFADevice: 'iam:DeleteVirtualMFADevice',
  RenameMFADevice: 'holdfast:RenameMFADevice',
  GetRecoveryCodeStatus: 'holdfast:GetRecoveryCodeStatus',
  RegenerateRecoveryCodes: 'holdfast:RegenerateRecoveryCodes',
  GetLockoutRiskInsights: 'holdfast:GetLockoutRiskInsights',
  ImportHardwareTokens: 'holdfast:ImportHardwareTokens',
  ListHardwareTokens: 'holdfast:ListHardwareTokens',
  AssignHardwareToken: 'holdfast:AssignHardwareToken',
  UpdateHardwareTokenState: 'holdfast:UpdateHardwareTokenState',
  ProvisionWebAuthnKey: 'holdfast:ProvisionWebAuthnKey',
  ImportWebAuthnMetadata: 'holdfast:ImportWebAuthnMetadata',
  ChangePassword: 'iam:ChangePassword',
  GetAccount: 'holdfast:GetAccount',
  UpdateAccountSettings: 'holdfast:UpdateAccountSettings',
  CreateAccount: 'holdfast:CreateAccount',
  ListUsers: 'iam:ListUsers',
  GetUser: 'iam:GetUser',
  CreateUser: 'iam:CreateUser',
  DisableUser: 'holdfast:DisableUser',
  CreateSetupLink: 'holdfast:CreateSetupLink',
  RevokeUserSessions: 'holdfast:RevokeUserSessions',
  IssueEnrolmentGrant: 'holdfast:IssueEnrolmentGrant',
  ReadAuditLog: 'holdfast:ReadAuditLog',
  VerifyAuditLog: 'holdfast:VerifyAuditLog',
  RotateKeys: 'holdfast:RotateKeys',
  LintPolicy: 'holdfast:LintPolicy',
  CreatePolicy: 'iam:CreatePolicy',
  GetPolicy: 'iam:GetPolicy',
  ListPolicies: 'iam:ListPolicies',
  DeletePolicy: 'iam:DeletePolicy',
  PutUserPolicy: 'iam:PutUserPolicy',
  GetUserPolicy: 'iam:GetUserPolicy',
  ListUserPolicies: 'iam:ListUserPolicies',
  DeleteUserPolicy: 'iam:DeleteUserPolicy',
  AttachUserPolicy: 'iam:AttachUserPolicy',
  DetachUserPolicy: 'iam:DetachUserPolicy',
  ListAttachedUserPolicies: 'iam:ListAttachedUserPolicies',
  CreateGroup: 'iam:CreateGroup',
  ListGroups: 'iam:ListGroups',
  AddUserToGroup: 'iam:AddUserToGroup',
  RemoveUserFromGroup: 'iam:RemoveUserFromGroup',
  PutGroupPolicy: 'iam:PutGroupPolicy',
  AttachGroupPolicy: 'iam:AttachGroupPolicy',
  PutAccountPolicy: 'holdfast:PutAccountPolicy',
  DeleteAccountPolicy: 'holdfast:DeleteAccountPolicy',
  ListAccountPolicies: 'holdfast:ListAccountPolicies',
  SimulatePrincipalPolicy: 'iam:SimulatePrincipalPolicy',
  Public: 'holdfast:Public',
} as const;

/** An action name. */
export type Action = (typeof ACTIONS)[keyof typeof ACTIONS];

const ADMINISTRATION: readonly Action[] = [
  ACTIONS.UpdateAccountSettings,
  ACTIONS.ListUsers,
  ACTIONS.CreateUser,
  ACTIONS.DisableUser,
  ACTIONS.CreateSetupLink,
  ACTIONS.RevokeUserSessions,
  ACTIONS.IssueEnrolmentGrant,
  ACTIONS.ReadAuditLog,
  ACTIONS.GetLockoutRiskInsights,
  ACTIONS.ImportHardwareTokens,
  ACTIONS.ListHardwareTokens,
  ACTIONS.AssignHardwareToken,
  ACTIONS.UpdateHardwareTokenState,
  ACTIONS.ProvisionWebAuthnKey,
  ACTIONS.ImportWebAuthnMetadata,
  ACTIONS.CreatePolicy,
  ACTIONS.GetPolicy,
  ACTIONS.ListPolicies,
  ACTIONS.DeletePolicy,
  ACTIONS.PutUserPolicy,
  ACTIONS.GetUserPolicy,
  ACTIONS.ListUserPolicies,
  ACTIONS.DeleteUserPolicy,
  ACTIONS.AttachUserPolicy,
  ACTIONS.DetachUserPolicy,
  ACTIONS.ListAttachedUserPolicies,
  ACTIONS.CreateGroup,
  ACTIONS.ListGroups,
  ACTIONS.AddUserToGroup,
  ACTIONS.RemoveUserFromGroup,
  ACTIONS.PutGroupPolicy,
  ACTIONS.AttachGroupPolicy,
  ACTIONS.PutAccountPolicy,
  ACTIONS.DeleteAccountPolicy,
  ACTIONS.ListAccountPolicies,
  ACTIONS.SimulatePrincipalPolicy,
];

/**
 * Factor-sensitive actions checked here (G1). Regenerating recovery codes is G1 too, but only when
 * it replaces a set or sits next to enabled factors: recovery-codes.ts decides that case by case,
 * so a brand-new user can create a first set.
 */
const FACTOR_SENSITIVE: readonly Action[] = [ACTIONS.DeactivateMFADevice, ACTIONS.ResyncMFADevice];

const administration = new Set<string>(ADMINISTRATION);
const factorSensitive = new Set<string>(FACTOR_SENSITIVE);

/** What the guardrails need to know about an action (G1 factor-sensitive, G2 administration). */
export function actionTraits(action: Action): ActionTraits {
  return { administration: administration.has(action), factorSensitive: factorSensitive.has(action) };
}

/** Every action name, for the catalog test and the docs. */
export const ALL_ACTIONS: readonly Action[] = Object.values(ACTIONS);
