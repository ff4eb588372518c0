/**
 * What only the IAM face does for users and the account: DeleteUser (refused while the user
 * still holds something, as IAM does), CreateLoginProfile, and GetAccountSummary's counts
 * (shared/reference/aws-iam-sts.md §1.3, §1.5, §1.8).
 */

import { MAX_ACCESS_KEYS_PER_USER } from '../../core/access-keys/credentials.js';
import { HoldfastError } from '../../core/errors.js';
import type { Principal } from '../../core/principals/types.js';
import { ACTIONS } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { writeAudit, type AppDeps } from '../deps.js';
import { checkNewPassword, keepAnOwnerWhoCanSignIn, requireUser } from '../users.js';

/**
 * Deletes a user that holds nothing any more: like IAM, it fails while access keys, MFA devices
 * (enabled or pending), inline or attached policies, or group memberships remain. The last owner
 * is never deleted.
 */
export async function deleteUser(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; userRef: string },
): Promise<void> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.DeleteUser,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  await deps.store.transaction(async (tx) => {
    const conflict = async (): Promise<string | null> => {
      if ((await tx.accessKeys.listByPrincipal(user.accountId, user.id)).length > 0) return 'access keys';
      if ((await tx.factors.listByPrincipal(user.accountId, user.id)).length > 0) return 'MFA device';
      if ((await tx.policies.list({ accountId: user.accountId, scope: 'user', ownerId: user.id })).length > 0)
        return 'inline policies';
      if ((await tx.policies.attachedTo(user.id)).length > 0) return 'attached policies';
      const effective = await tx.policies.effectiveFor(user.accountId, user.id);
      if (effective.identity.length > 0) return 'group memberships';
      return null;
    };
    const what = await conflict();
    if (what !== null) {
      throw new HoldfastError(
        'AWS_USER_DELETE_CONFLICT',
        `Cannot delete entity, must delete ${what} first.`,
        {
          details: { remaining: what },
        },
      );
    }
    await keepAnOwnerWhoCanSignIn(tx, user);
    await tx.awsIdentities.deletePrincipal(user.accountId, user.id);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: user.accountId,
        action: 'user.delete',
        target: user.id,
        details: { username: user.username, security: true },
      },
    });
  });
}

/** Gives a user without a password its first one (IAM CreateLoginProfile). */
export async function createLoginProfile(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    userRef: string;
    password: string;
  },
): Promise<{ user: Principal; createdAt: number }> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.CreateLoginProfile,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  if (user.passwordHash !== null) {
    throw new HoldfastError(
      'AWS_LOGIN_PROFILE_EXISTS',
      `Login Profile for user ${user.username} already exists.`,
    );
  }
  const account = await deps.store.accounts.findById(user.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  checkNewPassword(deps, { password: input.password, principal: user, account });
  const passwordHash = await deps.passwords.hash(input.password);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    const current = await tx.principals.findById(user.accountId, user.id);
    if (current === null) throw new HoldfastError('USER_NOT_FOUND');
    if (current.passwordHash !== null) {
      throw new HoldfastError(
        'AWS_LOGIN_PROFILE_EXISTS',
        `Login Profile for user ${user.username} already exists.`,
      );
    }
    await tx.principals.update({ ...current, passwordHash, passwordChangedAt: now, updatedAt: now });
    await tx.setupTokens.revokeForPrincipal(user.accountId, user.id, now);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: { accountId: user.accountId, action: 'user.login_profile_create', target: user.id },
    });
  });
  return { user, createdAt: now };
}

/** The account summary counts IAM's GetAccountSummary reports. */
export async function accountSummary(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string },
): Promise<Record<string, number>> {
  await authorize(deps, input.actor, ACTIONS.GetAccountSummary, { accountId: input.accountId }, input.ctx);
  const principals = await deps.store.principals.list(input.accountId);
  const enabled = await deps.store.factors.listEnabledByAccount(input.accountId);
  const devices = await deps.store.awsIdentities.listDevices(input.accountId);
  const policies = await deps.store.policies.list({ accountId: input.accountId, scope: 'managed' });
  return {
    Users: principals.length,
    UsersQuota: 5000,
    MFADevices: devices.length,
    MFADevicesInUse: enabled.length,
    AccountMFAEnabled: 0,
    AccountAccessKeysPresent: 0,
    AccessKeysPerUserQuota: MAX_ACCESS_KEYS_PER_USER,
    Policies: policies.length,
    PoliciesQuota: 1500,
    AttachedPoliciesPerUserQuota: 10,
    Roles: await deps.store.awsIdentities.countRoles(input.accountId),
    RolesQuota: 1000,
    Groups: (await deps.store.policies.listGroups(input.accountId)).length,
  };
}
