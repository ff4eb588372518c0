/**
 * IAM roles: a trust policy saying who may assume the role (STS AssumeRole, sts.ts) and the
 * permission policies its sessions act with (shared/reference/aws-iam-sts.md §1.7).
 */

import type { AwsRole } from '../../core/access-keys/credentials.js';
import type { IamTag } from '../../core/aws/iam-records.js';
import { HoldfastError } from '../../core/errors.js';
import { roleArn } from '../../core/policy/arn.js';
import { lintPolicy } from '../../core/policy/lint.js';
import { parseTrustPolicy } from '../../core/policy/trust-policy.js';
import type { Repositories, StoredPolicy } from '../../core/ports.js';
import { randomString } from '../../core/random.js';
import { ACTIONS, type Action } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { newId, type AppDeps } from '../deps.js';
import { runCommand, type UnitOfWork } from '../kernel.js';
import { MAX_POLICIES_PER_HOLDER } from '../policies.js';
import { checkTags } from './iam-tags.js';
import { findManagedPolicyByArn, viewOf as policyViewOf } from './managed-policies.js';

/** True when a document mentions an MFA condition key (for the audit record of a change). */
function mentionsMfa(document: string | null): boolean {
  return document !== null && /multifactorauth|mfaassurance|phishingresistant/i.test(document);
}

/** A role's MaxSessionDuration range (IAM CreateRole model: 3600–43200, default 3600). */
export const ROLE_MAX_SESSION = { min: 3600, max: 43_200, default: 3600 } as const;

/** Creates a role with a trust policy (who may assume it, under which conditions). */
export async function createRole(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    name: string;
    path?: string;
    description?: string;
    trustPolicy: string;
    maxSessionDuration?: number;
    tags?: IamTag[];
    /** A managed policy ARN: the permissions boundary of the role's sessions. */
    boundaryArn?: string;
  },
): Promise<RoleView> {
  const path = input.path ?? '/';
  const tags = checkTags(input.tags ?? []);
  const arn = roleArn({ accountId: input.accountId, path, name: input.name });
  parseTrustPolicy(input.trustPolicy);
  const role: AwsRole = {
    id: 'AROA' + randomString(deps.random, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16),
    accountId: input.accountId,
    name: input.name,
    path,
    description: input.description ?? '',
    trustPolicy: input.trustPolicy,
    maxSessionDuration: input.maxSessionDuration ?? ROLE_MAX_SESSION.default,
    createdAt: deps.clock.now(),
  };
  const resource = { accountId: input.accountId, arn };
  return runCommand(deps, input.actor, input.ctx, { action: ACTIONS.CreateRole, resource }, async (uow) => {
    if ((await uow.tx.awsIdentities.findRole(input.accountId, input.name)) !== null) {
      throw new HoldfastError('AWS_ROLE_ALREADY_EXISTS', `Role with name ${input.name} already exists.`);
    }
    await uow.tx.awsIdentities.insertRole(role);
    if (input.boundaryArn !== undefined) await setRoleBoundary(uow, role, input.boundaryArn);
    if (tags.length > 0) await replaceRoleTags(uow, role, tags);
    uow.record({
      accountId: input.accountId,
      action: 'role.create',
      target: arn,
      details: {
        roleId: role.id,
        mfaCondition: /multifactorauth/i.test(input.trustPolicy),
        permissionsBoundary: input.boundaryArn ?? null,
        tagKeys: tags.map((t) => t.key),
      },
    });
    return roleView(uow.tx, role);
  });
}

// ---- Tags and boundary ----

/** A role with its tags and the ARN of its permissions boundary. */
export type RoleView = AwsRole & { tags: IamTag[]; boundaryArn: string | null };

/** A role as GetRole and CreateRole show it, read through `reader`. */
export async function roleView(reader: Repositories, role: AwsRole): Promise<RoleView> {
  const boundaryId = await reader.iam.boundaryOf(role.id);
  let boundaryArn: string | null = null;
  if (boundaryId !== null) {
    const policy = (await reader.policies.list({ accountId: role.accountId, scope: 'managed' })).find(
      (p) => p.id === boundaryId,
    );
    if (policy !== undefined) boundaryArn = (await policyViewOf(reader, policy)).arn;
  }
  return { ...role, tags: await reader.iam.listTags(role.id), boundaryArn };
}

function noSuchPolicy(arn: string): HoldfastError {
  return new HoldfastError('POLICY_NOT_FOUND', `Policy ${arn} does not exist or is not attachable.`);
}

/** Sets a role's boundary in the command's transaction (the policy must exist). */
export async function setRoleBoundary(uow: UnitOfWork, role: AwsRole, boundaryArn: string): Promise<void> {
  const policy = await findManagedPolicyByArn(uow.tx, role.accountId, boundaryArn);
  if (policy === null) throw noSuchPolicy(boundaryArn);
  await uow.tx.iam.setBoundary({
    accountId: role.accountId,
    subjectType: 'role',
    subjectId: role.id,
    policyId: policy.id,
  });
}

/** Replaces a role's tags in the command's transaction. */
export async function replaceRoleTags(
  uow: UnitOfWork,
  role: AwsRole,
  tags: readonly IamTag[],
): Promise<void> {
  await uow.tx.iam.replaceTags({ accountId: role.accountId, subjectType: 'role', subjectId: role.id, tags });
}

/** Forgets a deleted role's tags and boundary, in the command's transaction. */
export async function dropRoleRecords(uow: UnitOfWork, role: AwsRole): Promise<void> {
  await replaceRoleTags(uow, role, []);
  await uow.tx.iam.deleteBoundary(role.id);
}

// ---- Reading and changing roles ----

/** Who acts, the request, and the account acted in. */
export interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

function noSuchRole(name: string): HoldfastError {
  return new HoldfastError('AWS_ROLE_NOT_FOUND', `The role with name ${name} cannot be found.`);
}

/** The ARN a command about `roleName` is authorized on: the role's, or the root-path one when there is none. */
function arnFor(accountId: string, roleName: string, found: AwsRole | null): string {
  return found !== null ? roleArn(found) : roleArn({ accountId, path: '/', name: roleName });
}

/**
 * Reads a role for a read-only command: authorized first (on the role's ARN), so a caller
 * without the right is refused (AccessDenied naming the guardrail or policy) before it can learn
 * whether the role exists.
 */
export async function readRole(
  deps: AppDeps,
  input: Common & { roleName: string },
  action: Action,
): Promise<AwsRole> {
  const found = await deps.store.awsIdentities.findRole(input.accountId, input.roleName);
  await authorize(
    deps,
    input.actor,
    action,
    { accountId: input.accountId, arn: arnFor(input.accountId, input.roleName, found) },
    input.ctx,
  );
  if (found === null) throw noSuchRole(input.roleName);
  return found;
}

/** Runs a change of one role as a kernel command: authorized once, the role re-read in the transaction. */
export async function changeRole<T>(
  deps: AppDeps,
  input: Common & { roleName: string },
  action: Action,
  change: (uow: UnitOfWork, role: AwsRole) => Promise<T>,
): Promise<T> {
  const found = await deps.store.awsIdentities.findRole(input.accountId, input.roleName);
  const resource = { accountId: input.accountId, arn: arnFor(input.accountId, input.roleName, found) };
  return runCommand(deps, input.actor, input.ctx, { action, resource }, async (uow) => {
    const role = await uow.tx.awsIdentities.findRole(input.accountId, input.roleName);
    if (found === null || role === null || role.id !== found.id) throw noSuchRole(input.roleName);
    return change(uow, role);
  });
}

/** IAM ListRoles: the account's roles whose path starts with `pathPrefix` (default `/`), by name. */
export async function listRoles(deps: AppDeps, input: Common & { pathPrefix?: string }): Promise<AwsRole[]> {
  const prefix = input.pathPrefix ?? '/';
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListRoles,
    { accountId: input.accountId, arn: `arn:aws:iam::${input.accountId}:role${prefix}*` },
    input.ctx,
  );
  return (await deps.store.awsIdentities.listRoles(input.accountId)).filter((r) => r.path.startsWith(prefix));
}

/** IAM UpdateRole: the description and the longest session AssumeRole may grant. */
export function updateRole(
  deps: AppDeps,
  input: Common & { roleName: string; description?: string; maxSessionDuration?: number },
): Promise<AwsRole> {
  return changeRole(deps, input, ACTIONS.UpdateRole, async (uow, role) => {
    const updated: AwsRole = {
      ...role,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.maxSessionDuration === undefined ? {} : { maxSessionDuration: input.maxSessionDuration }),
    };
    await uow.tx.awsIdentities.updateRole(updated);
    uow.record({
      accountId: role.accountId,
      action: 'role.update',
      target: roleArn(role),
      details: { roleId: role.id, maxSessionDuration: updated.maxSessionDuration },
    });
    return updated;
  });
}

/**
 * IAM UpdateAssumeRolePolicy: replaces the trust policy. Sessions already issued keep running
 * until they expire (as in AWS); the next AssumeRole is decided by the new policy.
 */
export function updateAssumeRolePolicy(
  deps: AppDeps,
  input: Common & { roleName: string; trustPolicy: string },
): Promise<AwsRole> {
  parseTrustPolicy(input.trustPolicy);
  return changeRole(deps, input, ACTIONS.UpdateAssumeRolePolicy, async (uow, role) => {
    const updated: AwsRole = { ...role, trustPolicy: input.trustPolicy };
    await uow.tx.awsIdentities.updateRole(updated);
    uow.record({
      accountId: role.accountId,
      action: 'role.trust_policy_update',
      target: roleArn(role),
      details: {
        roleId: role.id,
        name: role.name,
        // A trust policy that stops asking for MFA is a policy weakened (HF-POLICY-MFA-REMOVED).
        mfaConditionBefore: mentionsMfa(role.trustPolicy),
        mfaConditionAfter: mentionsMfa(input.trustPolicy),
        // Who may now assume it is a security fact (a trust policy opened to "*" or an account).
        security: true,
      },
    });
    return updated;
  });
}

/**
 * IAM DeleteRole: refused (DeleteConflict) while the role still has inline or attached policies,
 * as IAM does. Its sessions end at once: a temporary credential of a deleted role no longer
 * resolves.
 */
export function deleteRole(deps: AppDeps, input: Common & { roleName: string }): Promise<void> {
  return changeRole(deps, input, ACTIONS.DeleteRole, async (uow, role) => {
    const { tx } = uow;
    if ((await tx.policies.list({ accountId: role.accountId, scope: 'role', ownerId: role.id })).length > 0) {
      throw new HoldfastError(
        'AWS_ROLE_DELETE_CONFLICT',
        'Cannot delete entity, must delete policies first.',
      );
    }
    if ((await tx.policies.attachedTo(role.id)).length > 0) {
      throw new HoldfastError(
        'AWS_ROLE_DELETE_CONFLICT',
        'Cannot delete entity, must detach all policies first.',
      );
    }
    await tx.awsIdentities.deleteRole(role.accountId, role.id);
    await dropRoleRecords(uow, role);
    uow.record({
      accountId: role.accountId,
      action: 'role.delete',
      target: roleArn(role),
      details: { roleId: role.id, security: true },
    });
  });
}

// ---- The role's permission policies ----

const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;

function checkPolicyName(name: string): string {
  if (!POLICY_NAME.test(name)) {
    throw new HoldfastError('REQUEST_INVALID', 'a policy name has 1-128 letters, digits or +=,.@_-');
  }
  return name;
}

/** Lints a permission policy and refuses one with errors (the same rules as user and group policies). */
function checkPermissionPolicy(document: string): void {
  const result = lintPolicy(document);
  const first = result.findings.find((f) => f.severity === 'error');
  if (first !== undefined) {
    throw new HoldfastError('POLICY_LINT_FAILED', `${first.code}: ${first.message}`, {
      details: { errors: result.errors, warnings: result.warnings, firstError: first.code },
    });
  }
}

function noSuchRolePolicy(name: string): HoldfastError {
  return new HoldfastError('POLICY_NOT_FOUND', `The role policy with name ${name} cannot be found.`);
}

/** IAM PutRolePolicy: adds or replaces an inline permission policy of the role. */
export function putRolePolicy(
  deps: AppDeps,
  input: Common & { roleName: string; policyName: string; document: string },
): Promise<StoredPolicy> {
  const name = checkPolicyName(input.policyName);
  checkPermissionPolicy(input.document);
  return changeRole(deps, input, ACTIONS.PutRolePolicy, async (uow, role) => {
    const now = deps.clock.now();
    const existing = await uow.tx.policies.find({
      accountId: role.accountId,
      scope: 'role',
      ownerId: role.id,
      name,
    });
    const saved = await uow.tx.policies.put({
      id: existing?.id ?? newId(deps, 'pol_'),
      accountId: role.accountId,
      scope: 'role',
      ownerId: role.id,
      name,
      description: '',
      document: input.document,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    });
    uow.record({
      accountId: role.accountId,
      action: 'policy.put',
      target: `${roleArn(role)}/policy/${name}`,
      details: {
        scope: 'role',
        name,
        mfaConditionBefore: mentionsMfa(existing?.document ?? null),
        mfaConditionAfter: mentionsMfa(input.document),
      },
    });
    return saved;
  });
}

/** IAM GetRolePolicy. */
export async function getRolePolicy(
  deps: AppDeps,
  input: Common & { roleName: string; policyName: string },
): Promise<{ role: AwsRole; policy: StoredPolicy }> {
  const role = await readRole(deps, input, ACTIONS.GetRolePolicy);
  const policy = await deps.store.policies.find({
    accountId: role.accountId,
    scope: 'role',
    ownerId: role.id,
    name: input.policyName,
  });
  if (policy === null) throw noSuchRolePolicy(input.policyName);
  return { role, policy };
}

/** IAM ListRolePolicies: the names of the role's inline policies. */
export async function listRolePolicies(
  deps: AppDeps,
  input: Common & { roleName: string },
): Promise<StoredPolicy[]> {
  const role = await readRole(deps, input, ACTIONS.ListRolePolicies);
  return deps.store.policies.list({ accountId: role.accountId, scope: 'role', ownerId: role.id });
}

/** IAM DeleteRolePolicy. */
export function deleteRolePolicy(
  deps: AppDeps,
  input: Common & { roleName: string; policyName: string },
): Promise<void> {
  return changeRole(deps, input, ACTIONS.DeleteRolePolicy, async (uow, role) => {
    const policy = await uow.tx.policies.find({
      accountId: role.accountId,
      scope: 'role',
      ownerId: role.id,
      name: input.policyName,
    });
    if (policy === null) throw noSuchRolePolicy(input.policyName);
    await uow.tx.policies.delete(policy.id);
    uow.record({
      accountId: role.accountId,
      action: 'policy.delete',
      target: `${roleArn(role)}/policy/${policy.name}`,
      details: { scope: 'role', name: policy.name, mfaConditionBefore: mentionsMfa(policy.document) },
    });
  });
}

/** The managed policy an ARN names in the account (path included), read in `tx`. */
async function managedPolicy(tx: Repositories, accountId: string, arn: string): Promise<StoredPolicy> {
  const policy = await findManagedPolicyByArn(tx, accountId, arn);
  if (policy === null) throw noSuchPolicy(arn);
  return policy;
}

/** IAM AttachRolePolicy (idempotent; at most 10 managed policies per role, as IAM's default quota). */
export function attachRolePolicy(
  deps: AppDeps,
  input: Common & { roleName: string; policyArn: string },
): Promise<void> {
  return changeRole(deps, input, ACTIONS.AttachRolePolicy, async (uow, role) => {
    const policy = await managedPolicy(uow.tx, role.accountId, input.policyArn);
    const held = await uow.tx.policies.attachedTo(role.id);
    if (!held.some((p) => p.id === policy.id) && held.length >= MAX_POLICIES_PER_HOLDER) {
      throw new HoldfastError(
        'POLICY_LIMIT_REACHED',
        `Cannot exceed quota for PoliciesPerRole: ${MAX_POLICIES_PER_HOLDER}`,
      );
    }
    await uow.tx.policies.attach({
      policyId: policy.id,
      subjectType: 'role',
      subjectId: role.id,
      accountId: role.accountId,
      now: deps.clock.now(),
    });
    uow.record({
      accountId: role.accountId,
      action: 'policy.attach',
      target: roleArn(role),
      details: { policyArn: input.policyArn, mfaCondition: /multifactorauth/i.test(policy.document) },
    });
  });
}

/** IAM DetachRolePolicy (NoSuchEntity when it was not attached). */
export function detachRolePolicy(
  deps: AppDeps,
  input: Common & { roleName: string; policyArn: string },
): Promise<void> {
  return changeRole(deps, input, ACTIONS.DetachRolePolicy, async (uow, role) => {
    const policy = await managedPolicy(uow.tx, role.accountId, input.policyArn);
    if (!(await uow.tx.policies.detach({ policyId: policy.id, subjectId: role.id }))) {
      throw new HoldfastError('POLICY_NOT_FOUND', `Policy ${input.policyArn} was not found.`);
    }
    uow.record({
      accountId: role.accountId,
      action: 'policy.detach',
      target: roleArn(role),
      details: { policyArn: input.policyArn },
    });
  });
}

/** IAM ListAttachedRolePolicies: each policy's name and ARN (its path included). */
export async function listAttachedRolePolicies(
  deps: AppDeps,
  input: Common & { roleName: string },
): Promise<{ name: string; arn: string }[]> {
  const role = await readRole(deps, input, ACTIONS.ListAttachedRolePolicies);
  const attached = await deps.store.policies.attachedTo(role.id);
  return Promise.all(
    attached.map(async (p) => ({ name: p.name, arn: (await policyViewOf(deps.store, p)).arn })),
  );
}

/** The role use cases, registered in createApp with one spread. */
export const ROLE_USE_CASES = {
  createRole,
  listRoles,
  updateRole,
  updateAssumeRolePolicy,
  deleteRole,
  putRolePolicy,
  getRolePolicy,
  listRolePolicies,
  deleteRolePolicy,
  attachRolePolicy,
  detachRolePolicy,
  listAttachedRolePolicies,
};
