/**
 * The action catalog: every operation of every face maps to exactly one of these names
 * (AWS IAM names where AWS has the operation, `holdfast:` otherwise).
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
  RenameMFADevice: 'holdfast:RenameMFADevice',
  GetRecoveryCodeStatus: 'holdfast:GetRecoveryCodeStatus',
  RegenerateRecoveryCodes: 'holdfast:RegenerateRecoveryCodes',
  GetLockoutRiskInsights: 'holdfast:GetLockoutRiskInsights',
  ImportHardwareTokens: 'holdfast:ImportHardwareTokens',
  ListHardwareTokens: 'holdfast:ListHardwareTokens',
  AssignHardwareToken: 'holdfast:AssignHardwareToken',
  UpdateHardwareTokenState: 'holdfast:UpdateHardwareTokenState',
  ChangePassword: 'iam:ChangePassword',
  GetAccount: 'holdfast:GetAccount',
  CreateAccount: 'holdfast:CreateAccount',
  ListUsers: 'iam:ListUsers',
  GetUser: 'iam:GetUser',
  CreateUser: 'iam:CreateUser',
  DisableUser: 'holdfast:DisableUser',
  CreateSetupLink: 'holdfast:CreateSetupLink',
  RevokeUserSessions: 'holdfast:RevokeUserSessions',
  ReadAuditLog: 'holdfast:ReadAuditLog',
  VerifyAuditLog: 'holdfast:VerifyAuditLog',
  RotateKeys: 'holdfast:RotateKeys',
  Public: 'holdfast:Public',
} as const;

/** An action name. */
export type Action = (typeof ACTIONS)[keyof typeof ACTIONS];
