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
  /** Texts the code of a factor the server sends (SMS) during sign-in, when the user asks. */
  SendSignInChallenge: 'holdfast:SendSignInChallenge',
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
  LiftMfaSuspension: 'holdfast:LiftMfaSuspension',
  ReadAuditLog: 'holdfast:ReadAuditLog',
  ListOwnSecurityEvents: 'holdfast:ListOwnSecurityEvents',
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
  ListGroupPolicies: 'iam:ListGroupPolicies',
  GetGroupPolicy: 'iam:GetGroupPolicy',
  DeleteGroupPolicy: 'iam:DeleteGroupPolicy',
  DetachGroupPolicy: 'iam:DetachGroupPolicy',
  ListAttachedGroupPolicies: 'iam:ListAttachedGroupPolicies',
  PutAccountPolicy: 'holdfast:PutAccountPolicy',
  DeleteAccountPolicy: 'holdfast:DeleteAccountPolicy',
  ListAccountPolicies: 'holdfast:ListAccountPolicies',
  SimulatePrincipalPolicy: 'iam:SimulatePrincipalPolicy',
  DeleteUser: 'iam:DeleteUser',
  CreateLoginProfile: 'iam:CreateLoginProfile',
  CreateAccessKey: 'iam:CreateAccessKey',
  ListAccessKeys: 'iam:ListAccessKeys',
  UpdateAccessKey: 'iam:UpdateAccessKey',
  DeleteAccessKey: 'iam:DeleteAccessKey',
  GetMFADevice: 'iam:GetMFADevice',
  ListVirtualMFADevices: 'iam:ListVirtualMFADevices',
  CreateRole: 'iam:CreateRole',
  GetAccountSummary: 'iam:GetAccountSummary',
  GetSessionToken: 'sts:GetSessionToken',
  AssumeRole: 'sts:AssumeRole',
  GetCallerIdentity: 'sts:GetCallerIdentity',
  /** The AWS Query endpoint itself: it dispatches each request to one of the IAM/STS actions above. */
  AwsQuery: 'holdfast:AwsQuery',
  Public: 'holdfast:Public',
  // Contact channels, recovery, the help-desk reset, delivery and alerts (docs/recovery.md).
  ListContacts: 'holdfast:ListContacts',
  UpdateContact: 'holdfast:UpdateContact',
  CompleteCodeRecovery: 'holdfast:CompleteCodeRecovery',
  StartRecovery: 'holdfast:StartRecovery',
  ResetPassword: 'holdfast:ResetPassword',
  OpenResetRequest: 'holdfast:OpenResetRequest',
  ApproveResetRequest: 'holdfast:ApproveResetRequest',
  CancelResetRequest: 'holdfast:CancelResetRequest',
  ListResetRequests: 'holdfast:ListResetRequests',
  GetRecoverySettings: 'holdfast:GetRecoverySettings',
  UpdateRecoverySettings: 'holdfast:UpdateRecoverySettings',
  ListAlerts: 'holdfast:ListAlerts',
  // The OpenID Connect provider (docs/oidc.md).
  CreateOidcClient: 'holdfast:CreateOidcClient',
  ListOidcClients: 'holdfast:ListOidcClients',
  DeleteOidcClient: 'holdfast:DeleteOidcClient',
  RotateOidcKeys: 'holdfast:RotateOidcKeys',
  /** The provider's protocol endpoints (authorization, token, userinfo, …): OAuth decides there. */
  OidcProvider: 'holdfast:OidcProvider',
  /** The sign-in and consent page of an authorization request. */
  OidcInteraction: 'holdfast:OidcInteraction',
  ListOidcConsents: 'holdfast:ListOidcConsents',
  RevokeOidcConsent: 'holdfast:RevokeOidcConsent',
} as const;

/** An action name. */
export type Action = (typeof ACTIONS)[keyof typeof ACTIONS];

const ADMINISTRATION: readonly Action[] = [
  ACTIONS.UpdateAccountSettings,
  ACTIONS.CreateOidcClient,
  ACTIONS.ListOidcClients,
  ACTIONS.DeleteOidcClient,
  ACTIONS.ListUsers,
  ACTIONS.CreateUser,
  ACTIONS.DisableUser,
  ACTIONS.CreateSetupLink,
  ACTIONS.RevokeUserSessions,
  ACTIONS.IssueEnrolmentGrant,
  ACTIONS.LiftMfaSuspension,
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
  ACTIONS.ListGroupPolicies,
  ACTIONS.GetGroupPolicy,
  ACTIONS.DeleteGroupPolicy,
  ACTIONS.DetachGroupPolicy,
  ACTIONS.ListAttachedGroupPolicies,
  ACTIONS.PutAccountPolicy,
  ACTIONS.DeleteAccountPolicy,
  ACTIONS.ListAccountPolicies,
  ACTIONS.SimulatePrincipalPolicy,
  ACTIONS.DeleteUser,
  ACTIONS.CreateLoginProfile,
  // Access keys are credentials that act without MFA: managing them is identity administration.
  ACTIONS.CreateAccessKey,
  ACTIONS.ListAccessKeys,
  ACTIONS.UpdateAccessKey,
  ACTIONS.DeleteAccessKey,
  ACTIONS.CreateRole,
  ACTIONS.GetAccountSummary,
  ACTIONS.OpenResetRequest,
  ACTIONS.ApproveResetRequest,
  ACTIONS.CancelResetRequest,
  ACTIONS.ListResetRequests,
  ACTIONS.GetRecoverySettings,
  ACTIONS.UpdateRecoverySettings,
  ACTIONS.ListAlerts,
];

/**
 * Factor-sensitive actions checked here (G1). Regenerating recovery codes is G1 too, but only when
 * it replaces a set or sits next to enabled factors: recovery-codes.ts decides that case by case,
 * so a brand-new user can create a first set.
 */
const FACTOR_SENSITIVE: readonly Action[] = [
  ACTIONS.DeactivateMFADevice,
  ACTIONS.ResyncMFADevice,
  // A changed e-mail or phone becomes a recovery channel: changing it needs a fresh second factor.
  ACTIONS.UpdateContact,
];

const administration = new Set<string>(ADMINISTRATION);
const factorSensitive = new Set<string>(FACTOR_SENSITIVE);

/** What the guardrails need to know about an action (G1 factor-sensitive, G2 administration). */
export function actionTraits(action: Action): ActionTraits {
  return { administration: administration.has(action), factorSensitive: factorSensitive.has(action) };
}

/** Every action name, for the catalog test and the docs. */
export const ALL_ACTIONS: readonly Action[] = Object.values(ACTIONS);
