import { HoldfastError } from '../core/errors.js';
import {
  StorageConflict,
  type PolicyGroup,
  type PolicyScope,
  type Repositories,
  type StoredPolicy,
} from '../core/ports.js';
import { accountArn, groupArn, policyArn, policyNameFromArn, userArn } from '../core/policy/arn.js';
import { BUILTIN_POLICY_DOCUMENTS } from '../core/policy/builtin-roles.js';
import { MAX_INITIAL_ENROLMENT_WINDOW_MS, MAX_STEP_UP_AGE_MS } from '../core/policy/guardrails.js';
import { lintPolicy, type LintFinding, type LintResult } from '../core/policy/lint.js';
import type { AccountSettings, Principal, Role } from '../core/principals/types.js';
import { sha256Hex } from '../core/crypto/hashing.js';
import { ACTIONS, type Action } from './actions.js';
import { authorize, stepUpMaxAgeMs } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, writeAudit, type AppDeps } from './deps.js';
import { requireUser } from './users.js';
import { findManagedPolicyByArn } from './aws/managed-policies.js';

/** Most policies (inline or attached) one user, group or account holds (AWS: 10 managed per identity). */
export const MAX_POLICIES_PER_HOLDER = 10;
/** Policy and group names: IAM's `[\w+=,.@-]{1,128}`. */
const NAME = /^[\w+=,.@-]{1,128}$/;

/** A saved policy with its linter warnings. */
export interface SavedPolicy {
  policy: StoredPolicy;
  warnings: LintFinding[];
}

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

function checkName(name: string, what: string): string {
  if (!NAME.test(name)) {
    throw new HoldfastError('REQUEST_INVALID', `a ${what} name has 1-128 letters, digits or +=,.@_-`);
  }
  return name;
}

/** Lints and refuses a document with errors; returns the warnings. */
function lintForSave(document: string): LintFinding[] {
  const result = lintPolicy(document);
  if (result.errors > 0) {
    const first = result.findings.find((f) => f.severity === 'error')!;
    throw new HoldfastError('POLICY_LINT_FAILED', `${first.code}: ${first.message}`, {
      details: { errors: result.errors, warnings: result.warnings, firstError: first.code },
    });
  }
  return result.findings;
}

/** True when the document mentions any MFA condition key (for the audit record of a change). */
function mentionsMfa(document: string | null): boolean {
  return document !== null && /multifactorauth|mfaassurance|phishingresistant/i.test(document);
}

async function audit(
  deps: AppDeps,
  tx: Repositories,
  input: Common & {
    action: string;
    target: string;
    details: Record<string, string | number | boolean | null>;
  },
): Promise<void> {
  await writeAudit(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    fact: { accountId: input.accountId, action: input.action, target: input.target, details: input.details },
  });
}

/** Lints a document (no change anywhere). */
export async function lintPolicyDocument(
  deps: AppDeps,
  input: Common & { document: string },
): Promise<LintResult> {
  await authorize(deps, input.actor, ACTIONS.LintPolicy, { accountId: input.accountId }, input.ctx);
  return lintPolicy(input.document);
}

/**
 * Saves a policy document of a scope (insert or replace), linted first, with a change record that
 * says whether the old and new documents carry MFA conditions (a detection rule reads it).
 */
async function savePolicy(
  deps: AppDeps,
  input: Common & {
    scope: PolicyScope;
    ownerId: string | null;
    name: string;
    document: string;
    description?: string;
    /** Managed policies are created, never replaced (AWS keeps versions; Holdfast keeps one). */
    createOnly: boolean;
    action: Action;
    arn: string;
  },
): Promise<SavedPolicy> {
  const warnings = lintForSave(input.document);
  const now = deps.clock.now();
  try {
    const policy = await deps.store.transaction(async (tx) => {
      const before = await tx.policies.find(input);
      if (before !== null && input.createOnly) throw new HoldfastError('POLICY_ALREADY_EXISTS');
      if (before === null) {
        const count = (await tx.policies.list(input)).length;
        if (input.scope !== 'managed' && count >= MAX_POLICIES_PER_HOLDER) {
          throw new HoldfastError('POLICY_LIMIT_REACHED');
        }
      }
      const saved = await tx.policies.put({
        id: newId(deps, 'pol_'),
        accountId: input.accountId,
        scope: input.scope,
        ownerId: input.ownerId,
        name: input.name,
        description: input.description ?? '',
        document: input.document,
        createdAt: now,
        updatedAt: now,
      });
      await audit(deps, tx, {
        ...input,
        action: 'policy.put',
        target: input.arn,
        details: {
          scope: input.scope,
          name: input.name,
          documentHash: sha256Hex(input.document),
          replaced: before !== null,
          mfaConditionBefore: mentionsMfa(before?.document ?? null),
          mfaConditionAfter: mentionsMfa(input.document),
          warnings: warnings.length,
        },
      });
      return saved;
    });
    return { policy, warnings };
  } catch (err) {
    if (err instanceof StorageConflict) throw new HoldfastError('POLICY_ALREADY_EXISTS');
    throw err;
  }
}

async function deletePolicy(
  deps: AppDeps,
  input: Common & { scope: PolicyScope; ownerId: string | null; name: string; arn: string },
): Promise<void> {
  await deps.store.transaction(async (tx) => {
    const policy = await tx.policies.find(input);
    if (policy === null) throw new HoldfastError('POLICY_NOT_FOUND');
    if (policy.scope === 'managed' && (await tx.policies.attachmentCount(policy.id)) > 0) {
      throw new HoldfastError('POLICY_IN_USE');
    }
    if (policy.scope === 'managed') {
      if ((await tx.iam.boundaryUsageCount(policy.id)) > 0) throw new HoldfastError('POLICY_IN_USE');
      // Its versions, path and tags go with it (the IAM face keeps them: app/aws/managed-policies.ts).
      await tx.iam.deletePolicyRecords(policy.id);
    }
    await tx.policies.delete(policy.id);
    await audit(deps, tx, {
      ...input,
      action: 'policy.delete',
      target: input.arn,
      details: { scope: input.scope, name: input.name, mfaConditionBefore: mentionsMfa(policy.document) },
    });
  });
}

async function requirePolicy(
  deps: AppDeps,
  input: { accountId: string; scope: PolicyScope; ownerId: string | null; name: string },
): Promise<StoredPolicy> {
  const policy = await deps.store.policies.find(input);
  if (policy === null) throw new HoldfastError('POLICY_NOT_FOUND');
  return policy;
}

// ---- Managed policies ----

/** Creates a customer managed policy (linted: errors refuse, warnings come back). */
export async function createManagedPolicy(
  deps: AppDeps,
  input: Common & { name: string; document: string; description?: string },
): Promise<SavedPolicy> {
  const name = checkName(input.name, 'policy');
  const arn = policyArn(input.accountId, name);
  await authorize(deps, input.actor, ACTIONS.CreatePolicy, { accountId: input.accountId, arn }, input.ctx);
  return savePolicy(deps, {
    ...input,
    name,
    scope: 'managed',
    ownerId: null,
    createOnly: true,
    action: ACTIONS.CreatePolicy,
    arn,
  });
}

/** A managed policy with how many users and groups hold it. */
export interface ManagedPolicyView {
  policy: StoredPolicy;
  attachmentCount: number;
}

/** Lists the account's managed policies. */
export async function listManagedPolicies(
  deps: AppDeps,
  input: Omit<Common, 'ctx'> & { ctx?: RequestContext },
): Promise<ManagedPolicyView[]> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListPolicies,
    { accountId: input.accountId, arn: policyArn(input.accountId, '*') },
    input.ctx,
  );
  const policies = await deps.store.policies.list({ accountId: input.accountId, scope: 'managed' });
  return Promise.all(
    policies.map(async (policy) => ({
      policy,
      attachmentCount: await deps.store.policies.attachmentCount(policy.id),
    })),
  );
}

/** Reads one managed policy by name or ARN. */
export async function getManagedPolicy(
  deps: AppDeps,
  input: Omit<Common, 'ctx'> & { ctx?: RequestContext; ref: string },
): Promise<ManagedPolicyView> {
  const name = policyNameFromArn(input.accountId, input.ref) ?? input.ref;
  await authorize(
    deps,
    input.actor,
    ACTIONS.GetPolicy,
    { accountId: input.accountId, arn: policyArn(input.accountId, name) },
    input.ctx,
  );
  const policy = await requirePolicy(deps, {
    accountId: input.accountId,
    scope: 'managed',
    ownerId: null,
    name,
  });
  return { policy, attachmentCount: await deps.store.policies.attachmentCount(policy.id) };
}

/** Deletes a managed policy that nothing holds any more. */
export async function deleteManagedPolicy(deps: AppDeps, input: Common & { ref: string }): Promise<void> {
  const name = policyNameFromArn(input.accountId, input.ref) ?? input.ref;
  const arn = policyArn(input.accountId, name);
  await authorize(deps, input.actor, ACTIONS.DeletePolicy, { accountId: input.accountId, arn }, input.ctx);
  await deletePolicy(deps, { ...input, scope: 'managed', ownerId: null, name, arn });
}

// ---- Inline user policies and attachments ----

async function userTarget(
  deps: AppDeps,
  input: Common & { userRef: string },
  action: Action,
): Promise<Principal> {
  const user = await requireUser(deps, input.accountId, input.userRef).catch(async (err: unknown) => {
    // Authorized before "not found": a caller the guardrails or policies refuse learns nothing
    // about which users exist.
    await authorize(
      deps,
      input.actor,
      action,
      { accountId: input.accountId, arn: userArn(input.accountId, input.userRef) },
      input.ctx,
    );
    throw err;
  });
  await authorize(deps, input.actor, action, { accountId: input.accountId, principal: user }, input.ctx);
  return user;
}

/** Creates or replaces an inline policy of a user. */
export async function putUserPolicy(
  deps: AppDeps,
  input: Common & { userRef: string; name: string; document: string },
): Promise<SavedPolicy> {
  const name = checkName(input.name, 'policy');
  const user = await userTarget(deps, input, ACTIONS.PutUserPolicy);
  return savePolicy(deps, {
    ...input,
    name,
    scope: 'user',
    ownerId: user.id,
    createOnly: false,
    action: ACTIONS.PutUserPolicy,
    arn: `${userArn(user.accountId, user.username)}/policy/${name}`,
  });
}

/** Reads an inline policy of a user. */
export async function getUserPolicy(
  deps: AppDeps,
  input: Common & { userRef: string; name: string },
): Promise<{ user: Principal; policy: StoredPolicy }> {
  const user = await userTarget(deps, input, ACTIONS.GetUserPolicy);
  const policy = await requirePolicy(deps, {
    accountId: input.accountId,
    scope: 'user',
    ownerId: user.id,
    name: input.name,
  });
  return { user, policy };
}

/** Lists the inline policies of a user. */
export async function listUserPolicies(
  deps: AppDeps,
  input: Common & { userRef: string },
): Promise<{ user: Principal; policies: StoredPolicy[] }> {
  const user = await userTarget(deps, input, ACTIONS.ListUserPolicies);
  return {
    user,
    policies: await deps.store.policies.list({ accountId: input.accountId, scope: 'user', ownerId: user.id }),
  };
}

/** Deletes an inline policy of a user. */
export async function deleteUserPolicy(
  deps: AppDeps,
  input: Common & { userRef: string; name: string },
): Promise<void> {
  const user = await userTarget(deps, input, ACTIONS.DeleteUserPolicy);
  await deletePolicy(deps, {
    ...input,
    scope: 'user',
    ownerId: user.id,
    arn: `${userArn(user.accountId, user.username)}/policy/${input.name}`,
  });
}

async function attachment(
  deps: AppDeps,
  input: Common & {
    subjectType: 'user' | 'group';
    subjectId: string;
    subjectArn: string;
    policyArn: string;
    attach: boolean;
  },
): Promise<void> {
  const name = policyNameFromArn(input.accountId, input.policyArn);
  if (name === null) throw new HoldfastError('POLICY_NOT_FOUND', 'not a managed policy ARN of this account');
  await deps.store.transaction(async (tx) => {
    // By the whole ARN: a managed policy at a path (`policy/team/NAME`) is not `policy/NAME`.
    const policy = await findManagedPolicyByArn(tx, input.accountId, input.policyArn);
    if (policy === null) throw new HoldfastError('POLICY_NOT_FOUND');
    if (input.attach) {
      const held = await tx.policies.attachedTo(input.subjectId);
      if (!held.some((p) => p.id === policy.id) && held.length >= MAX_POLICIES_PER_HOLDER) {
        throw new HoldfastError('POLICY_LIMIT_REACHED');
      }
      await tx.policies.attach({ ...input, policyId: policy.id, now: deps.clock.now() });
    } else if (!(await tx.policies.detach({ policyId: policy.id, subjectId: input.subjectId }))) {
      throw new HoldfastError('POLICY_NOT_FOUND', 'the policy is not attached there');
    }
    await audit(deps, tx, {
      ...input,
      action: input.attach ? 'policy.attach' : 'policy.detach',
      target: input.subjectArn,
      details: { policyArn: input.policyArn, mfaCondition: mentionsMfa(policy.document) },
    });
  });
}

/** Attaches a managed policy to a user (idempotent). */
export async function attachUserPolicy(
  deps: AppDeps,
  input: Common & { userRef: string; policyArn: string },
): Promise<void> {
  const user = await userTarget(deps, input, ACTIONS.AttachUserPolicy);
  await attachment(deps, {
    ...input,
    subjectType: 'user',
    subjectId: user.id,
    subjectArn: userArn(user.accountId, user.username),
    attach: true,
  });
}

/** Detaches a managed policy from a user. */
export async function detachUserPolicy(
  deps: AppDeps,
  input: Common & { userRef: string; policyArn: string },
): Promise<void> {
  const user = await userTarget(deps, input, ACTIONS.DetachUserPolicy);
  await attachment(deps, {
    ...input,
    subjectType: 'user',
    subjectId: user.id,
    subjectArn: userArn(user.accountId, user.username),
    attach: false,
  });
}

/** The managed policies attached to a user. */
export async function listAttachedUserPolicies(
  deps: AppDeps,
  input: Common & { userRef: string },
): Promise<StoredPolicy[]> {
  const user = await userTarget(deps, input, ACTIONS.ListAttachedUserPolicies);
  return deps.store.policies.attachedTo(user.id);
}

// ---- Groups ----

async function requireGroup(deps: AppDeps, accountId: string, name: string): Promise<PolicyGroup> {
  const group = await deps.store.policies.findGroup(accountId, name);
  if (group === null) throw new HoldfastError('GROUP_NOT_FOUND');
  return group;
}

/** The principals a change to a group's policies reaches (G6 checks each one). */
async function membersOf(deps: AppDeps, group: PolicyGroup): Promise<Principal[]> {
  const ids = await deps.store.policies.members(group.id);
  const found = await Promise.all(ids.map((id) => deps.store.principals.findById(group.accountId, id)));
  return found.filter((p): p is Principal => p !== null);
}

/**
 * Loads a group and authorizes a change of its policies: the group is the resource, and every
 * member is reached by the change, so the help desk may not touch a group holding an owner or an
 * admin, nor an admin one holding an owner (G6, indirect edits).
 */
async function groupTarget(
  deps: AppDeps,
  input: Common & { groupName: string },
  action: Action,
): Promise<{ group: PolicyGroup; arn: string }> {
  const group = await requireGroup(deps, input.accountId, input.groupName);
  const arn = groupArn(input.accountId, group.name);
  await authorize(
    deps,
    input.actor,
    action,
    { accountId: input.accountId, arn, reaches: await membersOf(deps, group) },
    input.ctx,
  );
  return { group, arn };
}

/** Loads a group and authorizes reading it, or with `policy` one of its inline policies. */
async function groupRead(
  deps: AppDeps,
  input: Common & { groupName: string },
  action: Action,
  policy?: string,
): Promise<PolicyGroup> {
  const group = await requireGroup(deps, input.accountId, input.groupName);
  const arn = groupArn(input.accountId, group.name);
  const resource = policy === undefined ? arn : `${arn}/policy/${policy}`;
  await authorize(deps, input.actor, action, { accountId: input.accountId, arn: resource }, input.ctx);
  return group;
}

/** Creates a group. */
export async function createGroup(deps: AppDeps, input: Common & { name: string }): Promise<PolicyGroup> {
  const name = checkName(input.name, 'group');
  const arn = groupArn(input.accountId, name);
  await authorize(deps, input.actor, ACTIONS.CreateGroup, { accountId: input.accountId, arn }, input.ctx);
  const group: PolicyGroup = {
    id: newId(deps, 'grp_'),
    accountId: input.accountId,
    name,
    createdAt: deps.clock.now(),
  };
  try {
    await deps.store.transaction(async (tx) => {
      if ((await tx.policies.findGroup(input.accountId, name)) !== null)
        throw new HoldfastError('GROUP_ALREADY_EXISTS');
      await tx.policies.insertGroup(group);
      await audit(deps, tx, { ...input, action: 'group.create', target: arn, details: { name } });
    });
  } catch (err) {
    if (err instanceof StorageConflict) throw new HoldfastError('GROUP_ALREADY_EXISTS');
    throw err;
  }
  return group;
}

/** Lists the groups of the account with their member ids. */
export async function listGroups(
  deps: AppDeps,
  input: Omit<Common, 'ctx'> & { ctx?: RequestContext },
): Promise<Array<{ group: PolicyGroup; members: string[] }>> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListGroups,
    { accountId: input.accountId, arn: groupArn(input.accountId, '*') },
    input.ctx,
  );
  const groups = await deps.store.policies.listGroups(input.accountId);
  return Promise.all(
    groups.map(async (group) => ({ group, members: await deps.store.policies.members(group.id) })),
  );
}

/**
 * Adds a user to a group or removes one. The user is the target (G6 applies to it), so nobody
 * moves a principal they may not act on into (or out of) a group's policies.
 */
export async function setGroupMembership(
  deps: AppDeps,
  input: Common & { groupName: string; userRef: string; member: boolean },
): Promise<void> {
  const group = await requireGroup(deps, input.accountId, input.groupName);
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    input.member ? ACTIONS.AddUserToGroup : ACTIONS.RemoveUserFromGroup,
    { accountId: input.accountId, principal: user, arn: groupArn(input.accountId, group.name) },
    input.ctx,
  );
  await deps.store.transaction(async (tx) => {
    const changed = input.member
      ? await tx.policies.addMember({ groupId: group.id, principalId: user.id, accountId: input.accountId })
      : await tx.policies.removeMember({ groupId: group.id, principalId: user.id });
    if (!changed && !input.member)
      throw new HoldfastError('USER_NOT_FOUND', 'the user is not a member of the group');
    await audit(deps, tx, {
      ...input,
      action: input.member ? 'group.add_member' : 'group.remove_member',
      target: groupArn(input.accountId, group.name),
      details: { userId: user.id },
    });
  });
}

/** Creates or replaces an inline policy of a group. */
export async function putGroupPolicy(
  deps: AppDeps,
  input: Common & { groupName: string; name: string; document: string },
): Promise<SavedPolicy> {
  const name = checkName(input.name, 'policy');
  const { group, arn } = await groupTarget(deps, input, ACTIONS.PutGroupPolicy);
  return savePolicy(deps, {
    ...input,
    name,
    scope: 'group',
    ownerId: group.id,
    createOnly: false,
    action: ACTIONS.PutGroupPolicy,
    arn: `${arn}/policy/${name}`,
  });
}

/** Attaches a managed policy to a group. */
export async function attachGroupPolicy(
  deps: AppDeps,
  input: Common & { groupName: string; policyArn: string },
): Promise<void> {
  const { group, arn } = await groupTarget(deps, input, ACTIONS.AttachGroupPolicy);
  await attachment(deps, {
    ...input,
    subjectType: 'group',
    subjectId: group.id,
    subjectArn: arn,
    attach: true,
  });
}

/** Detaches a managed policy from a group. */
export async function detachGroupPolicy(
  deps: AppDeps,
  input: Common & { groupName: string; policyArn: string },
): Promise<void> {
  const { group, arn } = await groupTarget(deps, input, ACTIONS.DetachGroupPolicy);
  await attachment(deps, {
    ...input,
    subjectType: 'group',
    subjectId: group.id,
    subjectArn: arn,
    attach: false,
  });
}

/** The managed policies attached to a group. */
export async function listAttachedGroupPolicies(
  deps: AppDeps,
  input: Common & { groupName: string },
): Promise<StoredPolicy[]> {
  const group = await groupRead(deps, input, ACTIONS.ListAttachedGroupPolicies);
  return deps.store.policies.attachedTo(group.id);
}

/** Lists the inline policies of a group. */
export async function listGroupPolicies(
  deps: AppDeps,
  input: Common & { groupName: string },
): Promise<StoredPolicy[]> {
  const group = await groupRead(deps, input, ACTIONS.ListGroupPolicies);
  return deps.store.policies.list({ accountId: input.accountId, scope: 'group', ownerId: group.id });
}

/** Reads an inline policy of a group. */
export async function getGroupPolicy(
  deps: AppDeps,
  input: Common & { groupName: string; name: string },
): Promise<StoredPolicy> {
  const group = await groupRead(deps, input, ACTIONS.GetGroupPolicy, input.name);
  return requirePolicy(deps, {
    accountId: input.accountId,
    scope: 'group',
    ownerId: group.id,
    name: input.name,
  });
}

/** Deletes an inline policy of a group. */
export async function deleteGroupPolicy(
  deps: AppDeps,
  input: Common & { groupName: string; name: string },
): Promise<void> {
  const { group, arn } = await groupTarget(deps, input, ACTIONS.DeleteGroupPolicy);
  await deletePolicy(deps, {
    ...input,
    scope: 'group',
    ownerId: group.id,
    arn: `${arn}/policy/${input.name}`,
  });
}

// ---- Account-wide policies and settings ----

/**
 * Creates or replaces an account-wide policy: it caps what any identity policy of the account
 * grants, owners' included, so only an owner (or the host operator) writes one (G7).
 */
export async function putAccountPolicy(
  deps: AppDeps,
  input: Common & { name: string; document: string },
): Promise<SavedPolicy> {
  const name = checkName(input.name, 'policy');
  const arn = `${accountArn(input.accountId)}/policy/${name}`;
  await authorize(
    deps,
    input.actor,
    ACTIONS.PutAccountPolicy,
    { accountId: input.accountId, arn },
    input.ctx,
  );
  return savePolicy(deps, {
    ...input,
    name,
    scope: 'account',
    ownerId: null,
    createOnly: false,
    action: ACTIONS.PutAccountPolicy,
    arn,
  });
}

/**
 * Deletes an account-wide policy, named by its name or its id. Only an owner or the host operator
 * may (G7); an owner always may, whatever the policies say (the break-glass).
 */
export async function deleteAccountPolicy(deps: AppDeps, input: Common & { name: string }): Promise<void> {
  let name = input.name;
  if (!NAME.test(name) || name.startsWith('pol_')) {
    const byId = (await deps.store.policies.list({ accountId: input.accountId, scope: 'account' })).find(
      (p) => p.id === input.name,
    );
    if (byId !== undefined) name = byId.name;
  }
  const arn = `${accountArn(input.accountId)}/policy/${name}`;
  await authorize(
    deps,
    input.actor,
    ACTIONS.DeleteAccountPolicy,
    { accountId: input.accountId, arn },
    input.ctx,
  );
  await deletePolicy(deps, { ...input, name, scope: 'account', ownerId: null, arn });
}

/** Lists the account-wide policies. */
export async function listAccountPolicies(
  deps: AppDeps,
  input: Omit<Common, 'ctx'> & { ctx?: RequestContext },
): Promise<StoredPolicy[]> {
  await authorize(deps, input.actor, ACTIONS.ListAccountPolicies, { accountId: input.accountId }, input.ctx);
  return deps.store.policies.list({ accountId: input.accountId, scope: 'account' });
}

/** The JSON text of a built-in role's managed policy. */
export function builtinPolicyDocument(role: Role): string {
  return BUILTIN_POLICY_DOCUMENTS[role];
}

/**
 * Settings an account may change; each can only tighten a guardrail, except `smsOtpAllowed`
 * (see {@link updateAccountSettings}).
 */
export type AccountSettingsPatch = Pick<
  AccountSettings,
  'stepUpMaxAgeSeconds' | 'initialEnrolmentWindowSeconds' | 'requireSecondApprover' | 'smsOtpAllowed'
>;

/**
 * Allowing text-message (SMS) codes is the one loosening the API accepts, and only from the
 * account owner in a session whose second factor was verified within the step-up age: a weak
 * factor is the owner's decision, taken with a fresh proof, never an admin's or a key's. Turning
 * it off is a tightening anyone allowed to change settings may do. The host operator (no principal)
 * is not asked.
 */
function requireOwnerWithFreshMfa(
  deps: AppDeps,
  actor: Actor,
  account: Parameters<typeof stepUpMaxAgeMs>[1],
): void {
  if (actor.kind !== 'principal') return;
  if (actor.principal.role !== 'owner' || (actor.credential ?? 'session') !== 'session') {
    throw new HoldfastError('SETTING_WOULD_LOOSEN', 'only the account owner can allow text-message codes');
  }
  const maxAgeMs = stepUpMaxAgeMs(deps, account);
  const factor = actor.session.auth.factor;
  if (factor === null || deps.clock.now() - factor.at > maxAgeMs) {
    throw new HoldfastError(
      'MFA_STEP_UP_REQUIRED',
      'allowing text-message codes needs a fresh second factor',
      {
        details: { guardrail: 'G1', maxAgeSeconds: Math.floor(maxAgeMs / 1000) },
      },
    );
  }
}

/**
 * Changes account settings. Nothing may exceed a guardrail's cap, and through the API nothing may
 * become looser than it is (SETTING_WOULD_LOOSEN); the host operator may relax back to the caps.
 */
export async function updateAccountSettings(
  deps: AppDeps,
  input: Common & { patch: AccountSettingsPatch },
): Promise<AccountSettings> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.UpdateAccountSettings,
    { accountId: input.accountId },
    input.ctx,
  );
  const { patch } = input;
  const inRange = (v: number | undefined, max: number) =>
    v === undefined || (Number.isInteger(v) && v >= 0 && v <= max);
  if (!inRange(patch.stepUpMaxAgeSeconds, MAX_STEP_UP_AGE_MS / 1000) || patch.stepUpMaxAgeSeconds === 0) {
    throw new HoldfastError('SETTING_WOULD_LOOSEN', 'stepUpMaxAgeSeconds must be 1-900');
  }
  if (!inRange(patch.initialEnrolmentWindowSeconds, MAX_INITIAL_ENROLMENT_WINDOW_MS / 1000)) {
    throw new HoldfastError('SETTING_WOULD_LOOSEN', 'initialEnrolmentWindowSeconds must be 0-604800');
  }
  return deps.store.transaction(async (tx) => {
    const account = await tx.accounts.findById(input.accountId);
    if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
    // Through the API a setting only moves tighter than it is now; the host operator (CLI) may
    // move it back within the guardrails' caps.
    if (input.actor.kind === 'principal') {
      const current = account.settings;
      const looser = (next: number | undefined, now: number | undefined) =>
        next !== undefined && now !== undefined && next > now;
      if (
        looser(patch.stepUpMaxAgeSeconds, current.stepUpMaxAgeSeconds) ||
        looser(patch.initialEnrolmentWindowSeconds, current.initialEnrolmentWindowSeconds) ||
        (current.requireSecondApprover === true && patch.requireSecondApprover === false)
      ) {
        throw new HoldfastError('SETTING_WOULD_LOOSEN', 'through the API a setting can only be tightened');
      }
      if (patch.smsOtpAllowed === true && current.smsOtpAllowed !== true) {
        requireOwnerWithFreshMfa(deps, input.actor, account);
      }
    }
    const settings: AccountSettings = { ...account.settings };
    for (const [key, value] of Object.entries(patch) as Array<[keyof AccountSettingsPatch, never]>) {
      if (value !== undefined) settings[key] = value;
    }
    await tx.accounts.updateSettings(account.id, settings);
    await audit(deps, tx, {
      ...input,
      action: 'account.settings',
      target: accountArn(account.id),
      details: Object.fromEntries(
        Object.entries(patch).filter(([, v]) => v !== undefined) as Array<[string, number | boolean]>,
      ),
    });
    return settings;
  });
}

// ---- Enrolment grants ----

/** How long an enrolment grant lives unless the issuer says otherwise (G3). */
export const ENROLMENT_GRANT_TTL_MS = 24 * 60 * 60_000;

/**
 * Issues a one-time enrolment grant bound to a principal (shown once, stored as SHA-256). Only
 * the host operator issues grants directly; recovery and the help-desk reset issue them as the
 * outcome of their own workflows.
 */
export async function issueEnrolmentGrant(
  deps: AppDeps,
  input: Common & { userRef: string; ttlMs?: number; reason?: string },
): Promise<{ token: string; expiresAt: number; principal: Principal }> {
  // A principal never issues one here: the account wall ('' is no account) refuses it.
  await authorize(deps, input.actor, ACTIONS.IssueEnrolmentGrant, { accountId: '' }, input.ctx);
  const principal = await requireUser(deps, input.accountId, input.userRef);
  const ttl = Math.min(input.ttlMs ?? ENROLMENT_GRANT_TTL_MS, ENROLMENT_GRANT_TTL_MS);
  const token = 'hfgrant_' + Buffer.from(deps.random.bytes(32)).toString('base64url');
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.enrolment.insertGrant({
      id: newId(deps, 'egr_'),
      accountId: principal.accountId,
      principalId: principal.id,
      tokenHash: sha256Hex(token),
      reason: input.reason ?? 'operator',
      issuedBy: input.actor.kind === 'principal' ? input.actor.principal.id : null,
      createdAt: now,
      expiresAt: now + ttl,
      usedAt: null,
    });
    await audit(deps, tx, {
      ...input,
      action: 'enrolment_grant.issue',
      target: principal.id,
      details: { reason: input.reason ?? 'operator', expiresAt: now + ttl, security: true },
    });
  });
  return { token, expiresAt: now + ttl, principal };
}
