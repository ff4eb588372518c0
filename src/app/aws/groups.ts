/**
 * IAM groups as the IAM API shows them, over the groups the JSON API already keeps: paths,
 * AWS-shaped ids, renames, deletion conflicts, membership, inline and attached policies. Every
 * change is one kernel command. Authorization comes before any "not found": a caller the
 * guardrails refuse learns nothing about which groups exist (AccessDenied naming the guardrail).
 * A change of a group's policies reaches its members, so guardrail G6 checks each of them.
 */

import { awsUniqueId } from '../../core/aws/iam-records.js';
import { sha256Hex } from '../../core/crypto/hashing.js';
import { HoldfastError } from '../../core/errors.js';
import type { PolicyGroup, Repositories, StoredPolicy } from '../../core/ports.js';
import type { Principal } from '../../core/principals/types.js';
import { ACTIONS, type Action } from '../actions.js';
import { authorize, type Resource } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { newId, type AppDeps } from '../deps.js';
import { runCommand, type UnitOfWork } from '../kernel.js';
import { MAX_POLICIES_PER_HOLDER } from '../policies.js';
import { checkIamDocument, findManagedPolicyByArn } from './managed-policies.js';

const NAME = /^[\w+=,.@-]{1,128}$/;

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

/** A group as IAM shows it. */
export interface GroupView {
  group: PolicyGroup;
  /** `AGPA…`, stable for the group. */
  groupId: string;
  path: string;
  arn: string;
}

/** A group's ARN at its path. */
export function iamGroupArn(accountId: string, path: string, name: string): string {
  return `arn:aws:iam::${accountId}:group${path}${name}`;
}

function noSuchGroup(name: string): HoldfastError {
  return new HoldfastError('GROUP_NOT_FOUND', `The group with name ${name} cannot be found.`);
}

function noSuchUser(name: string): HoldfastError {
  return new HoldfastError('USER_NOT_FOUND', `The user with name ${name} cannot be found.`);
}

function mentionsMfa(document: string | null): boolean {
  return document !== null && /multifactorauth|mfaassurance|phishingresistant/i.test(document);
}

async function viewOf(tx: Repositories, group: PolicyGroup): Promise<GroupView> {
  const path = (await tx.iam.pathOf(group.id)) ?? '/';
  return {
    group,
    groupId: awsUniqueId('AGPA', group.id),
    path,
    arn: iamGroupArn(group.accountId, path, group.name),
  };
}

async function findUser(tx: Repositories, accountId: string, ref: string): Promise<Principal | null> {
  return (await tx.principals.findByLogin(accountId, ref)) ?? (await tx.principals.findById(accountId, ref));
}

async function membersOf(tx: Repositories, group: PolicyGroup): Promise<Principal[]> {
  const ids = await tx.policies.members(group.id);
  const found = await Promise.all(ids.map((id) => tx.principals.findById(group.accountId, id)));
  return found.filter((p): p is Principal => p !== null);
}

/**
 * Looks a group up and names the resource `action` is authorized on: the group's ARN (at its
 * path), its members when the change reaches them (G6), the user a membership change is about.
 * A group that does not exist is still a resource, so the guardrails and policies see every
 * request before anyone is told "not found".
 */
async function groupResource(
  deps: AppDeps,
  input: Common & { groupName: string },
  options: { reach: boolean; suffix?: string; principal?: Principal },
): Promise<{ view: GroupView | null; resource: Resource }> {
  const group = await deps.store.policies.findGroup(input.accountId, input.groupName);
  const view = group === null ? null : await viewOf(deps.store, group);
  const arn = view?.arn ?? iamGroupArn(input.accountId, '/', input.groupName);
  const reaches = options.reach && group !== null ? await membersOf(deps.store, group) : [];
  return {
    view,
    resource: {
      accountId: input.accountId,
      arn: `${arn}${options.suffix ?? ''}`,
      reaches,
      ...(options.principal === undefined ? {} : { principal: options.principal }),
    },
  };
}

/** A change of one group: one kernel command, authorized once, on the group as it is now. */
async function changeGroup<T>(
  deps: AppDeps,
  input: Common & { groupName: string },
  options: { action: Action; reach: boolean; principal?: Principal },
  work: (uow: UnitOfWork, view: GroupView) => Promise<T>,
): Promise<T> {
  const { resource } = await groupResource(deps, input, options);
  return runCommand(deps, input.actor, input.ctx, { action: options.action, resource }, async (uow) => {
    const group = await uow.tx.policies.findGroup(input.accountId, input.groupName);
    if (group === null) throw noSuchGroup(input.groupName);
    return work(uow, await viewOf(uow.tx, group));
  });
}

/** A read of one group: authorized, then "not found" if it is not there. */
async function readGroup(
  deps: AppDeps,
  input: Common & { groupName: string },
  action: Action,
  suffix?: string,
): Promise<GroupView> {
  const { view, resource } = await groupResource(deps, input, {
    reach: false,
    ...(suffix ? { suffix } : {}),
  });
  await authorize(deps, input.actor, action, resource, input.ctx);
  if (view === null) throw noSuchGroup(input.groupName);
  return view;
}

/** CreateGroup at a path. */
export async function createIamGroup(
  deps: AppDeps,
  input: Common & { groupName: string; path: string },
): Promise<GroupView> {
  if (!NAME.test(input.groupName)) throw new HoldfastError('REQUEST_INVALID', 'invalid group name');
  const arn = iamGroupArn(input.accountId, input.path, input.groupName);
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.CreateGroup, resource: { accountId: input.accountId, arn } },
    async (uow) => {
      const taken = (await uow.tx.policies.listGroups(input.accountId)).some(
        (g) => g.name.toLowerCase() === input.groupName.toLowerCase(),
      );
      if (taken) {
        throw new HoldfastError('GROUP_ALREADY_EXISTS', `Group with name ${input.groupName} already exists.`);
      }
      const group: PolicyGroup = {
        id: newId(deps, 'grp_'),
        accountId: input.accountId,
        name: input.groupName,
        createdAt: deps.clock.now(),
      };
      await uow.tx.policies.insertGroup(group);
      await uow.tx.iam.setPath({
        accountId: input.accountId,
        subjectType: 'group',
        subjectId: group.id,
        path: input.path,
      });
      uow.record({
        accountId: input.accountId,
        action: 'group.create',
        target: arn,
        details: { name: group.name },
      });
      return viewOf(uow.tx, group);
    },
  );
}

/** GetGroup: the group and its users. */
export async function getIamGroup(
  deps: AppDeps,
  input: Common & { groupName: string },
): Promise<{ view: GroupView; users: Principal[] }> {
  const view = await readGroup(deps, input, ACTIONS.GetGroup);
  return { view, users: await membersOf(deps.store, view.group) };
}

/** ListGroups under a path prefix. */
export async function listIamGroups(
  deps: AppDeps,
  input: Common & { pathPrefix: string },
): Promise<GroupView[]> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListGroups,
    { accountId: input.accountId, arn: iamGroupArn(input.accountId, '/', '*') },
    input.ctx,
  );
  const groups = await deps.store.policies.listGroups(input.accountId);
  const views = await Promise.all(groups.map((g) => viewOf(deps.store, g)));
  return views.filter((v) => v.path.startsWith(input.pathPrefix));
}

/** UpdateGroup: a new name and/or path. */
export async function updateIamGroup(
  deps: AppDeps,
  input: Common & { groupName: string; newName?: string; newPath?: string },
): Promise<void> {
  if (input.newName !== undefined && !NAME.test(input.newName))
    throw new HoldfastError('REQUEST_INVALID', 'invalid group name');
  await changeGroup(deps, input, { action: ACTIONS.UpdateGroup, reach: true }, async (uow, view) => {
    const { tx } = uow;
    if (input.newName !== undefined && input.newName !== view.group.name) {
      const clash = (await tx.policies.listGroups(input.accountId)).some(
        (g) => g.id !== view.group.id && g.name.toLowerCase() === input.newName!.toLowerCase(),
      );
      if (clash)
        throw new HoldfastError('GROUP_ALREADY_EXISTS', `Group with name ${input.newName} already exists.`);
      await tx.iam.renameGroup(view.group.id, input.newName);
    }
    if (input.newPath !== undefined) {
      await tx.iam.setPath({
        accountId: input.accountId,
        subjectType: 'group',
        subjectId: view.group.id,
        path: input.newPath,
      });
    }
    uow.record({
      accountId: input.accountId,
      action: 'group.update',
      target: view.arn,
      details: { newName: input.newName ?? null, newPath: input.newPath ?? null },
    });
  });
}

/** DeleteGroup: only once it has no members and no policies, as IAM asks. */
export async function deleteIamGroup(deps: AppDeps, input: Common & { groupName: string }): Promise<void> {
  await changeGroup(deps, input, { action: ACTIONS.DeleteGroup, reach: true }, async (uow, view) => {
    const { tx } = uow;
    const id = view.group.id;
    if ((await tx.policies.members(id)).length > 0)
      throw new HoldfastError(
        'IAM_GROUP_NOT_EMPTY',
        'Cannot delete entity, must remove users from group first.',
      );
    if ((await tx.policies.list({ accountId: input.accountId, scope: 'group', ownerId: id })).length > 0)
      throw new HoldfastError('IAM_GROUP_NOT_EMPTY', 'Cannot delete entity, must delete policies first.');
    if ((await tx.policies.attachedTo(id)).length > 0)
      throw new HoldfastError('IAM_GROUP_NOT_EMPTY', 'Cannot delete entity, must detach all policies first.');
    await tx.iam.deleteGroup(id);
    uow.record({
      accountId: input.accountId,
      action: 'group.delete',
      target: view.arn,
      details: { name: view.group.name },
    });
  });
}

/**
 * AddUserToGroup / RemoveUserFromGroup. The user is the target (G6), so nobody moves a principal
 * they may not act on into, or out of, a group's policies.
 */
export async function setIamGroupMembership(
  deps: AppDeps,
  input: Common & { groupName: string; userName: string; member: boolean },
): Promise<void> {
  const user = await findUser(deps.store, input.accountId, input.userName);
  const action = input.member ? ACTIONS.AddUserToGroup : ACTIONS.RemoveUserFromGroup;
  await changeGroup(
    deps,
    input,
    { action, reach: false, ...(user === null ? {} : { principal: user }) },
    async (uow, view) => {
      if (user === null) throw noSuchUser(input.userName);
      const changed = input.member
        ? await uow.tx.policies.addMember({
            groupId: view.group.id,
            principalId: user.id,
            accountId: input.accountId,
          })
        : await uow.tx.policies.removeMember({ groupId: view.group.id, principalId: user.id });
      if (!changed && !input.member) throw noSuchUser(input.userName);
      uow.record({
        accountId: input.accountId,
        action: input.member ? 'group.add_member' : 'group.remove_member',
        target: view.arn,
        details: { userId: user.id },
      });
    },
  );
}

/** ListGroupsForUser. */
export async function listIamGroupsForUser(
  deps: AppDeps,
  input: Common & { userName: string },
): Promise<GroupView[]> {
  const user = await findUser(deps.store, input.accountId, input.userName);
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListGroupsForUser,
    { accountId: input.accountId, ...(user === null ? {} : { principal: user }) },
    input.ctx,
  );
  if (user === null) throw noSuchUser(input.userName);
  const groups = await deps.store.policies.groupsOf(user.id);
  return Promise.all(groups.map((g) => viewOf(deps.store, g)));
}

/** PutGroupPolicy: creates or replaces an inline policy (IAM's checks, then the linter). */
export async function putIamGroupPolicy(
  deps: AppDeps,
  input: Common & { groupName: string; policyName: string; document: string },
): Promise<void> {
  if (!NAME.test(input.policyName)) throw new HoldfastError('REQUEST_INVALID', 'invalid policy name');
  await changeGroup(deps, input, { action: ACTIONS.PutGroupPolicy, reach: true }, async (uow, view) => {
    checkIamDocument(input.document, 'inline');
    const where = { accountId: input.accountId, scope: 'group' as const, ownerId: view.group.id };
    const before = await uow.tx.policies.find({ ...where, name: input.policyName });
    if (before === null && (await uow.tx.policies.list(where)).length >= MAX_POLICIES_PER_HOLDER)
      throw new HoldfastError('POLICY_LIMIT_REACHED');
    const now = deps.clock.now();
    await uow.tx.policies.put({
      id: newId(deps, 'pol_'),
      ...where,
      name: input.policyName,
      description: '',
      document: input.document,
      createdAt: now,
      updatedAt: now,
    });
    uow.record({
      accountId: input.accountId,
      action: 'policy.put',
      target: `${view.arn}/policy/${input.policyName}`,
      details: {
        scope: 'group',
        name: input.policyName,
        documentHash: sha256Hex(input.document),
        replaced: before !== null,
        mfaConditionBefore: mentionsMfa(before?.document ?? null),
        mfaConditionAfter: mentionsMfa(input.document),
      },
    });
  });
}

async function requireInline(tx: Repositories, view: GroupView, policyName: string): Promise<StoredPolicy> {
  const policy = await tx.policies.find({
    accountId: view.group.accountId,
    scope: 'group',
    ownerId: view.group.id,
    name: policyName,
  });
  if (policy === null) {
    throw new HoldfastError('POLICY_NOT_FOUND', `The group policy with name ${policyName} cannot be found.`);
  }
  return policy;
}

/** GetGroupPolicy. */
export async function getIamGroupPolicy(
  deps: AppDeps,
  input: Common & { groupName: string; policyName: string },
): Promise<{ view: GroupView; policy: StoredPolicy }> {
  const view = await readGroup(deps, input, ACTIONS.GetGroupPolicy, `/policy/${input.policyName}`);
  return { view, policy: await requireInline(deps.store, view, input.policyName) };
}

/** ListGroupPolicies: the inline policy names. */
export async function listIamGroupPolicies(
  deps: AppDeps,
  input: Common & { groupName: string },
): Promise<string[]> {
  const view = await readGroup(deps, input, ACTIONS.ListGroupPolicies);
  const policies = await deps.store.policies.list({
    accountId: input.accountId,
    scope: 'group',
    ownerId: view.group.id,
  });
  return policies.map((p) => p.name);
}

/** DeleteGroupPolicy. */
export async function deleteIamGroupPolicy(
  deps: AppDeps,
  input: Common & { groupName: string; policyName: string },
): Promise<void> {
  await changeGroup(deps, input, { action: ACTIONS.DeleteGroupPolicy, reach: true }, async (uow, view) => {
    const policy = await requireInline(uow.tx, view, input.policyName);
    await uow.tx.policies.delete(policy.id);
    uow.record({
      accountId: input.accountId,
      action: 'policy.delete',
      target: `${view.arn}/policy/${input.policyName}`,
      details: { scope: 'group', name: input.policyName, mfaConditionBefore: mentionsMfa(policy.document) },
    });
  });
}

/** AttachGroupPolicy / DetachGroupPolicy. */
export async function setIamGroupPolicyAttachment(
  deps: AppDeps,
  input: Common & { groupName: string; policyArn: string; attach: boolean },
): Promise<void> {
  const action = input.attach ? ACTIONS.AttachGroupPolicy : ACTIONS.DetachGroupPolicy;
  await changeGroup(deps, input, { action, reach: true }, async (uow, view) => {
    const policy = await findManagedPolicyByArn(uow.tx, input.accountId, input.policyArn);
    if (policy === null) {
      throw new HoldfastError(
        'POLICY_NOT_FOUND',
        `Policy ${input.policyArn} does not exist or is not attachable.`,
      );
    }
    if (input.attach) {
      const held = await uow.tx.policies.attachedTo(view.group.id);
      if (!held.some((p) => p.id === policy.id) && held.length >= MAX_POLICIES_PER_HOLDER)
        throw new HoldfastError('POLICY_LIMIT_REACHED');
      await uow.tx.policies.attach({
        policyId: policy.id,
        subjectType: 'group',
        subjectId: view.group.id,
        accountId: input.accountId,
        now: deps.clock.now(),
      });
    } else if (!(await uow.tx.policies.detach({ policyId: policy.id, subjectId: view.group.id }))) {
      throw new HoldfastError('POLICY_NOT_FOUND', `Policy ${input.policyArn} was not found.`);
    }
    uow.record({
      accountId: input.accountId,
      action: input.attach ? 'policy.attach' : 'policy.detach',
      target: view.arn,
      details: { policyArn: input.policyArn, mfaCondition: mentionsMfa(policy.document) },
    });
  });
}

/** ListAttachedGroupPolicies: the managed policies attached to a group. */
export async function listAttachedIamGroupPolicies(
  deps: AppDeps,
  input: Common & { groupName: string; pathPrefix: string },
): Promise<Array<{ name: string; arn: string }>> {
  const view = await readGroup(deps, input, ACTIONS.ListAttachedGroupPolicies);
  const attached = await deps.store.policies.attachedTo(view.group.id);
  const out = await Promise.all(
    attached.map(async (p) => {
      const path = (await deps.store.iam.policyState(p.id))?.path ?? '/';
      return { name: p.name, path, arn: `arn:aws:iam::${input.accountId}:policy${path}${p.name}` };
    }),
  );
  return out.filter((p) => p.path.startsWith(input.pathPrefix)).map(({ name, arn }) => ({ name, arn }));
}

/** The use cases of this file, for createApp. */
export const GROUP_USE_CASES = {
  createIamGroup,
  getIamGroup,
  listIamGroups,
  updateIamGroup,
  deleteIamGroup,
  setIamGroupMembership,
  listIamGroupsForUser,
  putIamGroupPolicy,
  getIamGroupPolicy,
  listIamGroupPolicies,
  deleteIamGroupPolicy,
  setIamGroupPolicyAttachment,
  listAttachedIamGroupPolicies,
};
