/**
 * IAM login profiles over the principal's password: GetLoginProfile, UpdateLoginProfile (a new
 * password, checked against the account's rules; the user's sessions end as with any password
 * reset) and DeleteLoginProfile (the user can no longer sign in with a password; the account
 * always keeps an owner who can). CreateLoginProfile is in iam-account.ts.
 */

import { HoldfastError } from '../../core/errors.js';
import type { Repositories } from '../../core/ports.js';
import { userArn } from '../../core/policy/arn.js';
import type { Principal } from '../../core/principals/types.js';
import { ACTIONS, type Action } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import type { AppDeps } from '../deps.js';
import { revokeDerived } from '../derived-credentials.js';
import { runCommand, type UnitOfWork } from '../kernel.js';
import { checkNewPassword, keepAnOwnerWhoCanSignIn } from '../users.js';

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

function noSuchUser(name: string): HoldfastError {
  return new HoldfastError('USER_NOT_FOUND', `The user with name ${name} cannot be found.`);
}

function noProfile(name: string): HoldfastError {
  return new HoldfastError('IAM_LOGIN_PROFILE_NOT_FOUND', `Login Profile for User ${name} cannot be found.`);
}

async function findUser(tx: Repositories, accountId: string, name: string): Promise<Principal | null> {
  return (
    (await tx.principals.findByLogin(accountId, name)) ?? (await tx.principals.findById(accountId, name))
  );
}

async function resourceOf(deps: AppDeps, input: Common & { userName: string }) {
  const found = await findUser(deps.store, input.accountId, input.userName);
  return {
    found,
    resource:
      found === null
        ? { accountId: input.accountId, arn: userArn(input.accountId, input.userName) }
        : { accountId: input.accountId, principal: found },
  };
}

async function changeProfile<T>(
  deps: AppDeps,
  input: Common & { userName: string },
  options: { action: Action; authorized?: boolean },
  work: (uow: UnitOfWork, user: Principal) => Promise<T>,
): Promise<T> {
  const { found, resource } = await resourceOf(deps, input);
  // `authorized`: the use case asked before its slow password hash; the kernel does not ask again.
  const authorization = options.authorized === true ? null : { action: options.action, resource };
  return runCommand(deps, input.actor, input.ctx, authorization, async (uow) => {
    const user = found === null ? null : await uow.tx.principals.findById(input.accountId, found.id);
    if (user === null) throw noSuchUser(input.userName);
    if (user.passwordHash === null) throw noProfile(user.username);
    return work(uow, user);
  });
}

/** GetLoginProfile: when the user's password was set. */
export async function getLoginProfile(
  deps: AppDeps,
  input: Common & { userName: string },
): Promise<{ userName: string; createDate: number }> {
  const { found, resource } = await resourceOf(deps, input);
  await authorize(deps, input.actor, ACTIONS.GetLoginProfile, resource, input.ctx);
  if (found === null) throw noSuchUser(input.userName);
  if (found.passwordHash === null) throw noProfile(found.username);
  return { userName: found.username, createDate: found.passwordChangedAt ?? found.createdAt };
}

/**
 * UpdateLoginProfile with a new password: checked against the rules (the account password
 * policy's minimum included), and every session and temporary credential of the user ends.
 */
export async function updateLoginProfile(
  deps: AppDeps,
  input: Common & { userName: string; password?: string },
): Promise<void> {
  const { found } = await resourceOf(deps, input);
  let passwordHash: string | null = null;
  if (input.password !== undefined && found !== null) {
    const account = await deps.store.accounts.findById(input.accountId);
    if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
    // Authorized first (the rules and the hash come after, so a refused caller learns nothing).
    await authorize(
      deps,
      input.actor,
      ACTIONS.UpdateLoginProfile,
      { accountId: input.accountId, principal: found },
      input.ctx,
    );
    checkNewPassword(deps, { password: input.password, principal: found, account });
    passwordHash = await deps.passwords.hash(input.password);
  }
  const options = { action: ACTIONS.UpdateLoginProfile, authorized: passwordHash !== null };
  await changeProfile(deps, input, options, async (uow, user) => {
    const now = deps.clock.now();
    let revoked = 0;
    if (passwordHash !== null) {
      await uow.tx.principals.update({ ...user, passwordHash, passwordChangedAt: now, updatedAt: now });
      revoked = await uow.tx.sessions.revokeAllForPrincipal({
        accountId: user.accountId,
        principalId: user.id,
        now,
        reason: 'password_changed',
      });
      await revokeDerived(deps, uow.tx, {
        actor: uow.actor,
        ctx: uow.ctx,
        accountId: user.accountId,
        principalId: user.id,
        temporaryOnly: true,
        reason: 'password_changed',
      });
    }
    uow.record({
      accountId: input.accountId,
      action: 'user.login_profile_update',
      target: user.id,
      details: { passwordChanged: passwordHash !== null, sessionsRevoked: revoked },
    });
  });
}

/** DeleteLoginProfile: the password goes; never the last owner's who can sign in. */
export async function deleteLoginProfile(deps: AppDeps, input: Common & { userName: string }): Promise<void> {
  await changeProfile(deps, input, { action: ACTIONS.DeleteLoginProfile }, async (uow, user) => {
    await keepAnOwnerWhoCanSignIn(uow.tx, user);
    const now = deps.clock.now();
    await uow.tx.principals.update({ ...user, passwordHash: null, passwordChangedAt: null, updatedAt: now });
    const revoked = await uow.tx.sessions.revokeAllForPrincipal({
      accountId: user.accountId,
      principalId: user.id,
      now,
      reason: 'password_changed',
    });
    uow.record({
      accountId: input.accountId,
      action: 'user.login_profile_delete',
      target: user.id,
      details: { sessionsRevoked: revoked },
    });
  });
}

/** The use cases of this file, for createApp. */
export const LOGIN_PROFILE_USE_CASES = { getLoginProfile, updateLoginProfile, deleteLoginProfile };
