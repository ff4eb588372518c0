import { readAudit, scanAudit, verifyAudit } from './audit-log.js';
import {
  authenticate,
  changePassword,
  listOwnSessions,
  revokeOwnSession,
  revokeUserSessions,
  signIn,
} from './auth.js';
import type { AppDeps } from './deps.js';
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
import { completeSignInWithSecondFactor, stepUp } from './mfa.js';
import * as policies from './policies.js';
import { recoveryCodeStatus, regenerateRecoveryCodes } from './recovery-codes.js';
import {
  bootstrapAccount,
  completeSetup,
  createSetupLink,
  createUser,
  disableUser,
  getUser,
  listUsers,
  requireAccount,
} from './users.js';

const USE_CASES = {
  bootstrapAccount,
  completeSetup,
  createSetupLink,
  createUser,
  disableUser,
  getUser,
  listUsers,
  requireAccount,
  signIn,
  authenticate,
  changePassword,
  listOwnSessions,
  revokeOwnSession,
  revokeUserSessions,
  readAudit,
  scanAudit,
  verifyAudit,
  createTOTPFactor,
  enableFactor,
  listFactors,
  removeFactor,
  renameFactor,
  resyncFactor,
  lockoutRisk,
  completeSignInWithSecondFactor,
  stepUp,
  recoveryCodeStatus,
  regenerateRecoveryCodes,
  importHardwareTokens,
  listHardwareTokens,
  assignHardwareToken,
  setHardwareTokenState,
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
  putAccountPolicy: policies.putAccountPolicy,
  deleteAccountPolicy: policies.deleteAccountPolicy,
  listAccountPolicies: policies.listAccountPolicies,
  updateAccountSettings: policies.updateAccountSettings,
  issueEnrolmentGrant: policies.issueEnrolmentGrant,
};

type UseCases = typeof USE_CASES;
type Bound = {
  [K in keyof UseCases]: UseCases[K] extends (deps: AppDeps, ...rest: infer A) => infer R
    ? (...rest: A) => R
    : never;
};

/** The app layer: every use case bound to its dependencies. Every face calls these and nothing else. */
export function createApp(deps: AppDeps): Bound & { deps: AppDeps } {
  const bound = Object.fromEntries(
    Object.entries(USE_CASES).map(([name, fn]) => [
      name,
      (...args: unknown[]) => (fn as (...a: unknown[]) => unknown)(deps, ...args),
    ]),
  ) as Bound;
  return { ...bound, deps };
}

/** The app object. */
export type App = ReturnType<typeof createApp>;
