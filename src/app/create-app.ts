import * as accessKeys from './aws/access-keys.js';
import * as iamAccount from './aws/iam-account.js';
import * as roleRecords from './aws/role-records.js';
import * as roles from './aws/roles.js';
import * as sts from './aws/sts.js';
import * as alerts from './alerts.js';
import * as contacts from './contacts.js';
import * as delivery from './delivery.js';
import * as oidc from './oidc/index.js';
import * as accountSettings from './account-settings.js';
import * as recovery from './recovery.js';
import * as resets from './resets.js';
import {
  exportAudit,
  listOwnSecurityEvents,
  readAudit,
  scanAudit,
  verifyAudit,
  writeAuditCheckpoint,
} from './audit-log.js';
import { recordAwsCall } from './aws-calls.js';
import * as awsMfaDevices from './aws/mfa-devices.js';
import {
  authenticate,
  changePassword,
  listOwnSessions,
  revokeOwnSession,
  revokeUserSessions,
  pruneThrottles,
  signIn,
} from './auth.js';
import type { AppDeps } from './deps.js';
import { createSmsOtpFactor, sendFactorChallenge, sendSignInChallenge } from './factor-challenge.js';
import {
  createTOTPFactor,
  enableFactor,
  listFactors,
  removeFactor,
  renameFactor,
  resyncFactor,
} from './factors.js';
import {
  assignHardwareToken,
  importHardwareTokens,
  listHardwareTokens,
  setHardwareTokenState,
} from './hardware-tokens.js';
import { lockoutRisk } from './insights.js';
import { resealSecrets } from './key-rotation.js';
import { completeSignInWithSecondFactor, liftMfaSuspension, stepUp } from './mfa.js';
import * as policies from './policies.js';
import { MANAGED_POLICY_USE_CASES } from './aws/managed-policies.js';
import { GROUP_USE_CASES } from './aws/groups.js';
import { IAM_USER_USE_CASES } from './aws/iam-users.js';
import { SIMULATION_USE_CASES } from './aws/simulation.js';
import { IAM_ACCOUNT_RECORD_USE_CASES } from './aws/iam-account-records.js';
import { LOGIN_PROFILE_USE_CASES } from './aws/login-profiles.js';
import { ACCOUNT_DETAIL_USE_CASES } from './aws/account-details.js';
import { OIDC_PROVIDER_USE_CASES } from './aws/oidc-providers.js';
import { checkReadiness, outboxBacklog } from './readiness.js';
import {
  createSecurityEventHub,
  publishCommittedSecurityEvents,
  type SecurityEventHub,
} from './security-events.js';
import * as retention from './retention.js';
import { recoveryCodeStatus, regenerateRecoveryCodes } from './recovery-codes.js';
import * as webauthn from './webauthn.js';
import * as userAdmin from './user-admin.js';
import {
  bootstrapAccount,
  completeSetup,
  inspectSetupToken,
  createSetupLink,
  createUser,
  disableUser,
  getUser,
  listUsers,
  queryUsers,
  importUsers,
  requireAccount,
} from './users.js';

const USE_CASES = {
  checkReadiness,
  outboxBacklog,
  pruneThrottles,
  archiveAudit: retention.archiveAudit,
  verifyAuditSegment: retention.verifyAuditSegment,
  pruneExpired: retention.pruneExpired,
  bootstrapAccount,
  completeSetup,
  inspectSetupToken,
  createSetupLink,
  createUser,
  disableUser,
  getUser,
  listUsers,
  queryUsers,
  importUsers,
  requireAccount,
  signIn,
  authenticate,
  changePassword,
  listOwnSessions,
  revokeOwnSession,
  revokeUserSessions,
  readAudit,
  exportAudit,
  listOwnSecurityEvents,
  scanAudit,
  verifyAudit,
  writeAuditCheckpoint,
  createTOTPFactor,
  createSmsOtpFactor,
  sendSignInChallenge,
  sendFactorChallenge,
  enableFactor,
  listFactors,
  removeFactor,
  renameFactor,
  resyncFactor,
  lockoutRisk,
  resealSecrets,
  completeSignInWithSecondFactor,
  stepUp,
  liftMfaSuspension,
  recoveryCodeStatus,
  regenerateRecoveryCodes,
  importHardwareTokens,
  listHardwareTokens,
  assignHardwareToken,
  setHardwareTokenState,
  webAuthnRegistrationOptions: webauthn.webAuthnRegistrationOptions,
  registerWebAuthnFactor: webauthn.registerWebAuthnFactor,
  webAuthnSignInOptions: webauthn.webAuthnSignInOptions,
  completeSignInWithWebAuthn: webauthn.completeSignInWithWebAuthn,
  webAuthnStepUpOptions: webauthn.webAuthnStepUpOptions,
  stepUpWithWebAuthn: webauthn.stepUpWithWebAuthn,
  passkeySignInOptions: webauthn.passkeySignInOptions,
  signInWithPasskey: webauthn.signInWithPasskey,
  listWebAuthnCredentials: webauthn.listWebAuthnCredentials,
  importWebAuthnMetadata: webauthn.importWebAuthnMetadata,
  setWebAuthnSettings: webauthn.setWebAuthnSettings,
  lintPolicyDocument: policies.lintPolicyDocument,
  createManagedPolicy: policies.createManagedPolicy,
  listManagedPolicies: policies.listManagedPolicies,
  getManagedPolicy: policies.getManagedPolicy,
  deleteManagedPolicy: policies.deleteManagedPolicy,
  putUserPolicy: policies.putUserPolicy,
  getUserPolicy: policies.getUserPolicy,
  listUserPolicies: policies.listUserPolicies,
  deleteUserPolicy: policies.deleteUserPolicy,
  attachUserPolicy: policies.attachUserPolicy,
  detachUserPolicy: policies.detachUserPolicy,
  listAttachedUserPolicies: policies.listAttachedUserPolicies,
  createGroup: policies.createGroup,
  listGroups: policies.listGroups,
  setGroupMembership: policies.setGroupMembership,
  putGroupPolicy: policies.putGroupPolicy,
  attachGroupPolicy: policies.attachGroupPolicy,
  detachGroupPolicy: policies.detachGroupPolicy,
  listAttachedGroupPolicies: policies.listAttachedGroupPolicies,
  listGroupPolicies: policies.listGroupPolicies,
  getGroupPolicy: policies.getGroupPolicy,
  deleteGroupPolicy: policies.deleteGroupPolicy,
  putAccountPolicy: policies.putAccountPolicy,
  deleteAccountPolicy: policies.deleteAccountPolicy,
  listAccountPolicies: policies.listAccountPolicies,
  updateAccountSettings: policies.updateAccountSettings,
  getAccountSettings: accountSettings.getAccountSettings,
  issueEnrolmentGrant: policies.issueEnrolmentGrant,
  // One person's account in the administration console (app/user-admin.ts).
  enableUser: userAdmin.enableUser,
  changeUserRole: userAdmin.changeUserRole,
  sendEnrolmentGrant: userAdmin.sendEnrolmentGrant,
  listUserSessions: userAdmin.listUserSessions,
  revokeUserSession: userAdmin.revokeUserSession,
  listUserEvents: userAdmin.listUserEvents,
  listUserContacts: userAdmin.listUserContacts,
  listUserResets: userAdmin.listUserResets,
  listUserAlerts: userAdmin.listUserAlerts,
  // The AWS-compatible face (IAM/STS Query API): credentials, roles, devices by serial number.
  resolveAccessKey: accessKeys.resolveAccessKey,
  createAccessKey: accessKeys.createAccessKey,
  createAdminWithAccessKey: accessKeys.createAdminWithAccessKey,
  listAccessKeys: accessKeys.listAccessKeys,
  updateAccessKey: accessKeys.updateAccessKey,
  deleteAccessKey: accessKeys.deleteAccessKey,
  deleteUser: iamAccount.deleteUser,
  createLoginProfile: iamAccount.createLoginProfile,
  accountSummary: iamAccount.accountSummary,
  ...roles.ROLE_USE_CASES,
  ...roleRecords.ROLE_RECORD_USE_CASES,
  ...sts.STS_USE_CASES,
  recordAwsCall,
  createVirtualMFADevice: awsMfaDevices.createVirtualMFADevice,
  enableMFADevice: awsMfaDevices.enableMFADevice,
  resyncMFADevice: awsMfaDevices.resyncMFADevice,
  deactivateMFADevice: awsMfaDevices.deactivateMFADevice,
  deleteVirtualMFADevice: awsMfaDevices.deleteVirtualMFADevice,
  listMFADevices: awsMfaDevices.listMFADevices,
  listVirtualMFADevices: awsMfaDevices.listVirtualMFADevices,
  getMFADevice: awsMfaDevices.getMFADevice,
  // Contact channels, recovery, the help-desk reset, delivery and alerts (docs/recovery.md).
  listContacts: contacts.listContacts,
  requestContactChange: contacts.requestContactChange,
  verifyCurrentEmail: contacts.verifyCurrentEmail,
  verifyContactLink: contacts.verifyContactLink,
  verifyPhoneCode: contacts.verifyPhoneCode,
  removeContact: contacts.removeContact,
  startRecovery: recovery.startRecovery,
  verifyRecovery: recovery.verifyRecovery,
  inspectLink: recovery.inspectLink,
  cancelByLink: recovery.cancelByLink,
  runRecoveryScheduler: recovery.runRecoveryScheduler,
  startPasswordReset: recovery.startPasswordReset,
  completePasswordReset: recovery.completePasswordReset,
  completeCodeRecovery: recovery.completeCodeRecovery,
  openResetRequest: resets.openResetRequest,
  approveResetRequest: resets.approveResetRequest,
  cancelResetRequest: resets.cancelResetRequest,
  listResetRequests: resets.listResetRequests,
  getRecoverySettings: resets.getRecoverySettings,
  updateRecoverySettings: resets.updateRecoverySettings,
  listAlerts: alerts.listAlerts,
  acknowledgeAlert: alerts.acknowledgeAlert,
  // IAM records the AWS face keeps beyond users, keys and devices (app/aws/).
  ...MANAGED_POLICY_USE_CASES,
  ...GROUP_USE_CASES,
  ...IAM_USER_USE_CASES,
  ...SIMULATION_USE_CASES,
  ...IAM_ACCOUNT_RECORD_USE_CASES,
  ...LOGIN_PROFILE_USE_CASES,
  ...ACCOUNT_DETAIL_USE_CASES,
  ...OIDC_PROVIDER_USE_CASES,
  scanForAlerts: alerts.scanForAlerts,
  deliverDue: delivery.deliverDue,
  listOutbox: delivery.listOutbox,
  listOutboxMessages: delivery.listOutboxMessages,
  renderOutboxMessage: delivery.renderOutboxMessage,
  // The OpenID Connect provider (docs/oidc.md).
  ...oidc.OIDC_USE_CASES,
};

type UseCases = typeof USE_CASES;
type Bound = {
  [K in keyof UseCases]: UseCases[K] extends (deps: AppDeps, ...rest: infer A) => infer R
    ? (...rest: A) => R
    : never;
};

/**
 * The app layer: every use case bound to its dependencies. Every face calls these and nothing
 * else. `securityEvents` hands on what each committed command stood for (app/security-events.ts).
 */
export function createApp(input: AppDeps): Bound & { deps: AppDeps; securityEvents: SecurityEventHub } {
  const securityEvents = createSecurityEventHub();
  const deps: AppDeps = { ...input, store: publishCommittedSecurityEvents(input.store, securityEvents) };
  const bound = Object.fromEntries(
    Object.entries(USE_CASES).map(([name, fn]) => [
      name,
      (...args: unknown[]) => (fn as (...a: unknown[]) => unknown)(deps, ...args),
    ]),
  ) as Bound;
  return { ...bound, deps, securityEvents };
}

/** The app object. */
export type App = ReturnType<typeof createApp>;
