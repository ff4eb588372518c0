/**
 * What the IAM face keeps about users beyond the principal itself: the path, tags and the
 * permissions boundary (a managed policy that caps what the user's identity policies grant; the
 * policy engine enforces it, core/policy/evaluate.ts), and UpdateUser's rename and move. Every
 * change is one kernel command, authorized on the user (guardrail G6 applies to the target)
 * before the answer says whether anything exists.
 */

import type { IamTag } from '../../core/aws/iam-records.js';
import { HoldfastError } from '../../core/errors.js';
import type { Repositories } from '../../core/ports.js';
import { userArn } from '../../core/policy/arn.js';
import { newPrincipalId, parseUsername } from '../../core/principals/identifiers.js';
import type { Principal } from '../../core/principals/types.js';
import { ACTIONS, type Action } from '../actions.js';
import { authorize, type Resource } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import type { AppDeps } from '../deps.js';
import { runCommand, type UnitOfWork } from '../kernel.js';
import { noMailAddressFor } from '../users.js';
import { checkTags, mergeTags, removeTags } from './iam-tags.js';
import { findManagedPolicyByArn, viewOf as policyViewOf } from './managed-policies.js';

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

/** A user with what IAM shows of it. */
export interface IamUserView {
  user: Principal;
  path: string;
  /** `arn:aws:iam::ACCOUNT:user{path}{name}`. */
  arn: string;
  tags: IamTag[];
  /** The ARN of the boundary policy, or null. */
  boundaryArn: string | null;
}

function noSuchUser(name: string): HoldfastError {
  return new HoldfastError('USER_NOT_FOUND', `The user with name ${name} cannot be found.`);
}

function noSuchPolicy(arn: string): HoldfastError {
  return new HoldfastError('POLICY_NOT_FOUND', `Policy ${arn} does not exist or is not attachable.`);
}

async function findUser(tx: Repositories, accountId: string, name: string): Promise<Principal | null> {
  return (
    (await tx.principals.findByLogin(accountId, name)) ?? (await tx.principals.findById(accountId, name))
  );
}

/** The IAM view of a user. */
export async function iamUserView(tx: Repositories, user: Principal): Promise<IamUserView> {
  const path = (await tx.iam.pathOf(user.id)) ?? '/';
  const boundaryId = await tx.iam.boundaryOf(user.id);
  let boundaryArn: string | null = null;
  if (boundaryId !== null) {
    const policy = (await tx.policies.list({ accountId: user.accountId, scope: 'managed' })).find(
      (p) => p.id === boundaryId,
    );
    if (policy !== undefined) boundaryArn = (await policyViewOf(tx, policy)).arn;
  }
  return {
    user,
    path,
    arn: `arn:aws:iam::${user.accountId}:user${path}${user.username}`,
    tags: await tx.iam.listTags(user.id),
    boundaryArn,
  };
}

/** Authorizes `action` on a user (found or not), then one kernel command on the user as it is now. */
async function changeUser<T>(
  deps: AppDeps,
  input: Common & { userName: string },
  action: Action,
  work: (uow: UnitOfWork, user: Principal) => Promise<T>,
): Promise<T> {
  const found = await findUser(deps.store, input.accountId, input.userName);
  const resource: Resource =
    found === null
      ? { accountId: input.accountId, arn: userArn(input.accountId, input.userName) }
      : { accountId: input.accountId, principal: found };
  return runCommand(deps, input.actor, input.ctx, { action, resource }, async (uow) => {
    const user = await findUser(uow.tx, input.accountId, input.userName);
    if (user === null || (found !== null && user.id !== found.id)) throw noSuchUser(input.userName);
    return work(uow, user);
  });
}

async function readUser(
  deps: AppDeps,
  input: Common & { userName: string },
  action: Action,
): Promise<Principal> {
  const found = await findUser(deps.store, input.accountId, input.userName);
  await authorize(
    deps,
    input.actor,
    action,
    found === null
      ? { accountId: input.accountId, arn: userArn(input.accountId, input.userName) }
      : { accountId: input.accountId, principal: found },
    input.ctx,
  );
  if (found === null) throw noSuchUser(input.userName);
  return found;
}

/**
 * CreateUser with its path, tags and permissions boundary, in one command (the boundary must be
 * an existing managed policy of the account). IAM users get no e-mail address and no password:
 * CreateLoginProfile gives them one.
 */
export async function createIamUser(
  deps: AppDeps,
  input: Common & { userName: string; path: string; tags?: IamTag[]; boundaryArn?: string },
): Promise<IamUserView> {
  const username = parseUsername(input.userName);
  const tags = checkTags(input.tags ?? []);
  const id = newPrincipalId(deps.random);
  const now = deps.clock.now();
  const user: Principal = {
    id,
    accountId: input.accountId,
    username,
    email: noMailAddressFor(id),
    role: 'user',
    status: 'active',
    passwordHash: null,
    passwordChangedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  const resource = { accountId: input.accountId, principal: user };
  return runCommand(deps, input.actor, input.ctx, { action: ACTIONS.CreateUser, resource }, async (uow) => {
    const { tx } = uow;
    if ((await tx.accounts.findById(input.accountId)) === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
    if ((await tx.principals.findByLogin(input.accountId, username)) !== null)
      throw new HoldfastError('USER_NAME_TAKEN', `User with name ${username} already exists.`);
    const boundary =
      input.boundaryArn === undefined
        ? null
        : await findManagedPolicyByArn(tx, input.accountId, input.boundaryArn);
    if (input.boundaryArn !== undefined && boundary === null) throw noSuchPolicy(input.boundaryArn);
    await tx.principals.insert(user);
    await tx.iam.setPath({
      accountId: input.accountId,
      subjectType: 'user',
      subjectId: id,
      path: input.path,
    });
    await tx.iam.replaceTags({ accountId: input.accountId, subjectType: 'user', subjectId: id, tags });
    if (boundary !== null)
      await tx.iam.setBoundary({
        accountId: input.accountId,
        subjectType: 'user',
        subjectId: id,
        policyId: boundary.id,
      });
    uow.record({
      accountId: input.accountId,
      action: 'user.create',
      target: id,
      details: {
        role: 'user',
        path: input.path,
        tagKeys: tags.map((t) => t.key),
        permissionsBoundary: input.boundaryArn ?? null,
      },
    });
    return iamUserView(tx, user);
  });
}

/** GetUser with path, tags and boundary (the caller's own user when no name is given). */
export async function getIamUser(deps: AppDeps, input: Common & { userName: string }): Promise<IamUserView> {
  const user = await readUser(deps, input, ACTIONS.GetUser);
  return iamUserView(deps.store, user);
}

/** ListUsers under a path prefix. */
export async function listIamUsers(
  deps: AppDeps,
  input: Common & { pathPrefix: string },
): Promise<IamUserView[]> {
  await authorize(deps, input.actor, ACTIONS.ListUsers, { accountId: input.accountId }, input.ctx);
  const users = await deps.store.principals.list(input.accountId);
  const views = await Promise.all(users.map((u) => iamUserView(deps.store, u)));
  return views.filter((v) => v.path.startsWith(input.pathPrefix));
}

/** UpdateUser: a new name (unique in the account) and/or a new path. */
export async function updateIamUser(
  deps: AppDeps,
  input: Common & { userName: string; newUserName?: string; newPath?: string },
): Promise<void> {
  const newName = input.newUserName === undefined ? undefined : parseUsername(input.newUserName);
  await changeUser(deps, input, ACTIONS.UpdateUser, async (uow, user) => {
    const { tx } = uow;
    if (newName !== undefined && newName !== user.username) {
      const clash = await tx.principals.findByLogin(input.accountId, newName);
      if (clash !== null && clash.id !== user.id)
        throw new HoldfastError('USER_NAME_TAKEN', `User with name ${newName} already exists.`);
      await tx.principals.update({ ...user, username: newName, updatedAt: deps.clock.now() });
    }
    if (input.newPath !== undefined)
      await tx.iam.setPath({
        accountId: input.accountId,
        subjectType: 'user',
        subjectId: user.id,
        path: input.newPath,
      });
    uow.record({
      accountId: input.accountId,
      action: 'user.update',
      target: user.id,
      details: { oldUserName: user.username, newUserName: newName ?? null, newPath: input.newPath ?? null },
    });
  });
}

/** TagUser: adds or overwrites tags (50 at most on the user). */
export async function tagIamUser(
  deps: AppDeps,
  input: Common & { userName: string; tags: IamTag[] },
): Promise<void> {
  const given = checkTags(input.tags);
  await changeUser(deps, input, ACTIONS.TagUser, async (uow, user) => {
    const tags = mergeTags(await uow.tx.iam.listTags(user.id), given);
    await uow.tx.iam.replaceTags({
      accountId: input.accountId,
      subjectType: 'user',
      subjectId: user.id,
      tags,
    });
    uow.record({
      accountId: input.accountId,
      action: 'user.tag',
      target: user.id,
      details: { keys: given.map((t) => t.key) },
    });
  });
}

/** UntagUser: removes the tags with these keys (compared without regard to case). */
export async function untagIamUser(
  deps: AppDeps,
  input: Common & { userName: string; keys: string[] },
): Promise<void> {
  await changeUser(deps, input, ACTIONS.UntagUser, async (uow, user) => {
    const tags = removeTags(await uow.tx.iam.listTags(user.id), input.keys);
    await uow.tx.iam.replaceTags({
      accountId: input.accountId,
      subjectType: 'user',
      subjectId: user.id,
      tags,
    });
    uow.record({
      accountId: input.accountId,
      action: 'user.untag',
      target: user.id,
      details: { keys: input.keys },
    });
  });
}

/** ListUserTags. */
export async function listIamUserTags(
  deps: AppDeps,
  input: Common & { userName: string },
): Promise<IamTag[]> {
  const user = await readUser(deps, input, ACTIONS.ListUserTags);
  return deps.store.iam.listTags(user.id);
}

/** PutUserPermissionsBoundary: the policy must exist; it caps the user's identity policies at once. */
export async function putIamUserBoundary(
  deps: AppDeps,
  input: Common & { userName: string; boundaryArn: string },
): Promise<void> {
  await changeUser(deps, input, ACTIONS.PutUserPermissionsBoundary, async (uow, user) => {
    const policy = await findManagedPolicyByArn(uow.tx, input.accountId, input.boundaryArn);
    if (policy === null) throw noSuchPolicy(input.boundaryArn);
    await uow.tx.iam.setBoundary({
      accountId: input.accountId,
      subjectType: 'user',
      subjectId: user.id,
      policyId: policy.id,
    });
    uow.record({
      accountId: input.accountId,
      action: 'user.boundary.put',
      target: user.id,
      details: { permissionsBoundary: input.boundaryArn },
    });
  });
}

/** DeleteUserPermissionsBoundary: widens what the user may do, so it is identity administration. */
export async function deleteIamUserBoundary(
  deps: AppDeps,
  input: Common & { userName: string },
): Promise<void> {
  await changeUser(deps, input, ACTIONS.DeleteUserPermissionsBoundary, async (uow, user) => {
    if (!(await uow.tx.iam.deleteBoundary(user.id)))
      throw new HoldfastError(
        'POLICY_NOT_FOUND',
        `The user with name ${user.username} has no permissions boundary.`,
      );
    uow.record({ accountId: input.accountId, action: 'user.boundary.delete', target: user.id, details: {} });
  });
}

/** ListAttachedUserPolicies: names and ARNs (at each policy's path) under a path prefix. */
export async function listAttachedIamUserPolicies(
  deps: AppDeps,
  input: Common & { userName: string; pathPrefix: string },
): Promise<Array<{ name: string; arn: string }>> {
  const user = await readUser(deps, input, ACTIONS.ListAttachedUserPolicies);
  const views = await Promise.all(
    (await deps.store.policies.attachedTo(user.id)).map((p) => policyViewOf(deps.store, p)),
  );
  return views
    .filter((v) => v.path.startsWith(input.pathPrefix))
    .map((v) => ({ name: v.policy.name, arn: v.arn }));
}

/** The use cases of this file, for createApp. */
export const IAM_USER_USE_CASES = {
  listAttachedIamUserPolicies,
  createIamUser,
  getIamUser,
  listIamUsers,
  updateIamUser,
  tagIamUser,
  untagIamUser,
  listIamUserTags,
  putIamUserBoundary,
  deleteIamUserBoundary,
};
