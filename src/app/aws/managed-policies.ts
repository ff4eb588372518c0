/**
 * Customer managed policies as IAM keeps them: a path, up to five versions of which one is the
 * default (the document the policy engine evaluates), tags, and the users and groups holding
 * them. Each use case is one kernel command (authorize once, one transaction, one record).
 * AWS IAM API Reference: CreatePolicy, CreatePolicyVersion, DeletePolicy and friends.
 */

import { awsUniqueId, type IamTag, type PolicyVersionRecord } from '../../core/aws/iam-records.js';
import { sha256Hex } from '../../core/crypto/hashing.js';
import { HoldfastError } from '../../core/errors.js';
import type { Repositories, StoredPolicy } from '../../core/ports.js';
import { iamDocumentFault, type IamDocumentKind } from '../../core/policy/iam-document-rules.js';
import { lintPolicy } from '../../core/policy/lint.js';
import { ACTIONS, type Action } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { newId, type AppDeps } from '../deps.js';
import { runCommand, type UnitOfWork } from '../kernel.js';
import { checkTags, mergeTags, removeTags } from './iam-tags.js';

/** AWS: "You can have up to five versions of a managed policy." */
export const MAX_POLICY_VERSIONS = 5;
const NAME = /^[\w+=,.@-]{1,128}$/;
const POLICY_ARN = /^arn:aws:iam::([0-9]{12}|aws):policy(\/(?:[\u0021-\u007E]*\/)?)([\w+=,.@-]{1,128})$/;

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

/** A managed policy as IAM shows it. */
export interface ManagedPolicyView {
  policy: StoredPolicy;
  /** `ANPA…`, stable for the policy. */
  policyId: string;
  arn: string;
  path: string;
  defaultVersionId: string;
  attachmentCount: number;
  boundaryUsageCount: number;
  tags: IamTag[];
}

/** The ARN of a managed policy at a path. */
export function managedPolicyArn(accountId: string, path: string, name: string): string {
  return `arn:aws:iam::${accountId}:policy${path}${name}`;
}

function noSuchPolicy(arn: string): HoldfastError {
  return new HoldfastError('POLICY_NOT_FOUND', `Policy ${arn} does not exist or is not attachable.`);
}

/**
 * Refuses a document IAM would refuse (its wording), then one Holdfast's linter refuses (an MFA
 * condition that never applies, a malformed condition): the linter's reason, without its code.
 */
export function checkIamDocument(document: string, kind: IamDocumentKind): void {
  const fault = iamDocumentFault(document, kind);
  if (fault !== null) throw new HoldfastError('IAM_POLICY_DOCUMENT_INVALID', fault);
  const lint = lintPolicy(document);
  const first = lint.findings.find((f) => f.severity === 'error');
  if (first !== undefined) {
    throw new HoldfastError('POLICY_LINT_FAILED', first.message, { details: { firstError: first.code } });
  }
}

function mentionsMfa(document: string | null): boolean {
  return document !== null && /multifactorauth|mfaassurance|phishingresistant/i.test(document);
}

/** Finds a managed policy of the account by ARN (path included); null when there is none. */
export async function findManagedPolicyByArn(
  tx: Repositories,
  accountId: string,
  arn: string,
): Promise<StoredPolicy | null> {
  const m = POLICY_ARN.exec(arn);
  if (m === null || m[1] !== accountId) return null;
  const policy = await tx.policies.find({ accountId, scope: 'managed', ownerId: null, name: m[3]! });
  if (policy === null) return null;
  const state = await tx.iam.policyState(policy.id);
  return (state?.path ?? '/') === m[2] ? policy : null;
}

async function requireByArn(tx: Repositories, accountId: string, arn: string): Promise<StoredPolicy> {
  const policy = await findManagedPolicyByArn(tx, accountId, arn);
  if (policy === null) throw noSuchPolicy(arn);
  return policy;
}

/** The versions of a policy: stored ones, or the implicit `v1` of a policy created elsewhere. */
async function versionsOf(tx: Repositories, policy: StoredPolicy): Promise<PolicyVersionRecord[]> {
  const stored = await tx.iam.listPolicyVersions(policy.id);
  if (stored.length > 0) return stored;
  return [{ policyId: policy.id, versionId: 'v1', document: policy.document, createdAt: policy.createdAt }];
}

async function stateOf(tx: Repositories, policy: StoredPolicy) {
  return (
    (await tx.iam.policyState(policy.id)) ?? {
      policyId: policy.id,
      accountId: policy.accountId,
      path: '/',
      defaultVersion: 'v1',
      nextVersion: 2,
    }
  );
}

/** The IAM view of one policy. */
export async function viewOf(tx: Repositories, policy: StoredPolicy): Promise<ManagedPolicyView> {
  const state = await stateOf(tx, policy);
  return {
    policy,
    policyId: awsUniqueId('ANPA', policy.id),
    arn: managedPolicyArn(policy.accountId, state.path, policy.name),
    path: state.path,
    defaultVersionId: state.defaultVersion,
    attachmentCount: await tx.policies.attachmentCount(policy.id),
    boundaryUsageCount: await tx.iam.boundaryUsageCount(policy.id),
    tags: await tx.iam.listTags(policy.id),
  };
}

/**
 * A read of one policy: authorized on its ARN first (a refusal says nothing of existence), then
 * loaded. Reads change nothing, so the call's own record is all they leave.
 */
async function readPolicy<T>(
  deps: AppDeps,
  input: Common & { policyArn: string },
  action: Action,
  read: (tx: Repositories, policy: StoredPolicy) => Promise<T>,
): Promise<T> {
  await authorize(deps, input.actor, action, { accountId: input.accountId, arn: input.policyArn }, input.ctx);
  return read(deps.store, await requireByArn(deps.store, input.accountId, input.policyArn));
}

/** A change of one policy, in one command. */
async function changePolicy<T>(
  deps: AppDeps,
  input: Common & { policyArn: string },
  action: Action,
  change: (uow: UnitOfWork, policy: StoredPolicy) => Promise<T>,
): Promise<T> {
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    { action, resource: { accountId: input.accountId, arn: input.policyArn } },
    async (uow) => change(uow, await requireByArn(uow.tx, input.accountId, input.policyArn)),
  );
}

/**
 * Creates a customer managed policy with its path, first version `v1` and tags. The document is
 * checked as IAM checks managed policies (Version 2012-10-17 required), then linted.
 */
export async function createPolicy(
  deps: AppDeps,
  input: Common & { name: string; path: string; document: string; description?: string; tags?: IamTag[] },
): Promise<ManagedPolicyView> {
  if (!NAME.test(input.name)) throw new HoldfastError('REQUEST_INVALID', 'invalid policy name');
  const arn = managedPolicyArn(input.accountId, input.path, input.name);
  const tags = checkTags(input.tags ?? []);
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.CreatePolicy, resource: { accountId: input.accountId, arn } },
    async (uow) => {
      checkIamDocument(input.document, 'managed');
      const taken = await uow.tx.policies.find({
        accountId: input.accountId,
        scope: 'managed',
        ownerId: null,
        name: input.name,
      });
      if (taken !== null) {
        throw new HoldfastError(
          'POLICY_ALREADY_EXISTS',
          `A policy called ${input.name} already exists. Duplicate names are not allowed.`,
        );
      }
      const now = deps.clock.now();
      const policy = await uow.tx.policies.put({
        id: newId(deps, 'pol_'),
        accountId: input.accountId,
        scope: 'managed',
        ownerId: null,
        name: input.name,
        description: input.description ?? '',
        document: input.document,
        createdAt: now,
        updatedAt: now,
      });
      await uow.tx.iam.putPolicyState({
        policyId: policy.id,
        accountId: input.accountId,
        path: input.path,
        defaultVersion: 'v1',
        nextVersion: 2,
      });
      await uow.tx.iam.insertPolicyVersion({
        policyId: policy.id,
        accountId: input.accountId,
        versionId: 'v1',
        document: input.document,
        createdAt: now,
      });
      await uow.tx.iam.replaceTags({
        accountId: input.accountId,
        subjectType: 'policy',
        subjectId: policy.id,
        tags,
      });
      uow.record({
        accountId: input.accountId,
        action: 'policy.put',
        target: arn,
        details: {
          scope: 'managed',
          name: input.name,
          documentHash: sha256Hex(input.document),
          replaced: false,
          mfaConditionBefore: false,
          mfaConditionAfter: mentionsMfa(input.document),
          tags: tags.length,
        },
      });
      return viewOf(uow.tx, policy);
    },
  );
}

/** GetPolicy. */
export function getPolicy(deps: AppDeps, input: Common & { policyArn: string }): Promise<ManagedPolicyView> {
  return readPolicy(deps, input, ACTIONS.GetPolicy, (tx, policy) => viewOf(tx, policy));
}

/**
 * ListPolicies over the account's own policies (Holdfast has no AWS managed policies, so
 * `Scope=AWS` lists nothing): by path prefix, and only attached ones when asked.
 */
export async function listPolicies(
  deps: AppDeps,
  input: Common & {
    scope: 'All' | 'AWS' | 'Local';
    onlyAttached: boolean;
    pathPrefix: string;
    usage?: 'PermissionsPolicy' | 'PermissionsBoundary';
  },
): Promise<ManagedPolicyView[]> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListPolicies,
    { accountId: input.accountId, arn: `arn:aws:iam::${input.accountId}:policy/*` },
    input.ctx,
  );
  if (input.scope === 'AWS') return [];
  const policies = await deps.store.policies.list({ accountId: input.accountId, scope: 'managed' });
  const views = await Promise.all(policies.map((p) => viewOf(deps.store, p)));
  return views.filter(
    (v) =>
      v.path.startsWith(input.pathPrefix) &&
      (!input.onlyAttached || v.attachmentCount > 0) &&
      (input.usage !== 'PermissionsPolicy' || v.attachmentCount > 0) &&
      (input.usage !== 'PermissionsBoundary' || v.boundaryUsageCount > 0),
  );
}

/**
 * DeletePolicy: refused while the policy is attached or used as a boundary, or still has versions
 * besides the default one (IAM deletes the default version with the policy).
 */
export async function deletePolicy(deps: AppDeps, input: Common & { policyArn: string }): Promise<void> {
  await changePolicy(deps, input, ACTIONS.DeletePolicy, async (uow, policy) => {
    const { tx } = uow;
    if (
      (await tx.policies.attachmentCount(policy.id)) > 0 ||
      (await tx.iam.boundaryUsageCount(policy.id)) > 0
    )
      throw new HoldfastError('POLICY_IN_USE', 'Cannot delete a policy attached to entities.');
    if ((await versionsOf(tx, policy)).length > 1) {
      throw new HoldfastError(
        'IAM_POLICY_HAS_VERSIONS',
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
      );
    }
    await tx.iam.deletePolicyRecords(policy.id);
    await tx.policies.delete(policy.id);
    uow.record({
      accountId: input.accountId,
      action: 'policy.delete',
      target: input.policyArn,
      details: { scope: 'managed', name: policy.name, mfaConditionBefore: mentionsMfa(policy.document) },
    });
  });
}

/** Makes `versionId` the default: the policy's document becomes that version's. */
async function makeDefault(
  uow: UnitOfWork,
  input: { policy: StoredPolicy; version: PolicyVersionRecord; now: number },
): Promise<void> {
  const state = await stateOf(uow.tx, input.policy);
  await uow.tx.iam.putPolicyState({ ...state, defaultVersion: input.version.versionId });
  await uow.tx.policies.put({ ...input.policy, document: input.version.document, updatedAt: input.now });
}

/** Stores the implicit `v1` of a policy created before versions were kept. */
async function materialize(tx: Repositories, policy: StoredPolicy): Promise<PolicyVersionRecord[]> {
  const versions = await versionsOf(tx, policy);
  if ((await tx.iam.listPolicyVersions(policy.id)).length === 0) {
    await tx.iam.insertPolicyVersion({ ...versions[0]!, accountId: policy.accountId });
    await tx.iam.putPolicyState(await stateOf(tx, policy));
  }
  return versions;
}

/** CreatePolicyVersion: at most five versions; `setAsDefault` makes it the evaluated document. */
export async function createPolicyVersion(
  deps: AppDeps,
  input: Common & { policyArn: string; document: string; setAsDefault: boolean },
): Promise<PolicyVersionRecord & { isDefault: boolean }> {
  return changePolicy(deps, input, ACTIONS.CreatePolicyVersion, async (uow, policy) => {
    checkIamDocument(input.document, 'managed');
    const versions = await materialize(uow.tx, policy);
    if (versions.length >= MAX_POLICY_VERSIONS) {
      throw new HoldfastError(
        'IAM_POLICY_VERSION_LIMIT',
        'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
      );
    }
    const state = await stateOf(uow.tx, policy);
    const now = deps.clock.now();
    const version = {
      policyId: policy.id,
      versionId: `v${state.nextVersion}`,
      document: input.document,
      createdAt: now,
    };
    await uow.tx.iam.insertPolicyVersion({ ...version, accountId: input.accountId });
    await uow.tx.iam.putPolicyState({ ...state, nextVersion: state.nextVersion + 1 });
    if (input.setAsDefault) await makeDefault(uow, { policy, version, now });
    uow.record({
      accountId: input.accountId,
      action: input.setAsDefault ? 'policy.put' : 'policy.version.create',
      target: input.policyArn,
      details: {
        scope: 'managed',
        name: policy.name,
        versionId: version.versionId,
        setAsDefault: input.setAsDefault,
        documentHash: sha256Hex(input.document),
        mfaConditionBefore: mentionsMfa(policy.document),
        mfaConditionAfter: mentionsMfa(input.setAsDefault ? input.document : policy.document),
      },
    });
    return { ...version, isDefault: input.setAsDefault };
  });
}

function noSuchVersion(arn: string, versionId: string): HoldfastError {
  return new HoldfastError(
    'IAM_POLICY_VERSION_NOT_FOUND',
    `Policy ${arn} version ${versionId} does not exist or is not attachable.`,
  );
}

/** GetPolicyVersion. */
export function getPolicyVersion(
  deps: AppDeps,
  input: Common & { policyArn: string; versionId: string },
): Promise<PolicyVersionRecord & { isDefault: boolean }> {
  return readPolicy(deps, input, ACTIONS.GetPolicyVersion, async (tx, policy) => {
    const version = (await versionsOf(tx, policy)).find((v) => v.versionId === input.versionId);
    if (version === undefined) throw noSuchVersion(input.policyArn, input.versionId);
    const state = await stateOf(tx, policy);
    return { ...version, isDefault: state.defaultVersion === version.versionId };
  });
}

/** ListPolicyVersions: newest first, as IAM lists them. */
export function listPolicyVersions(
  deps: AppDeps,
  input: Common & { policyArn: string },
): Promise<Array<PolicyVersionRecord & { isDefault: boolean }>> {
  return readPolicy(deps, input, ACTIONS.ListPolicyVersions, async (tx, policy) => {
    const state = await stateOf(tx, policy);
    const versions = await versionsOf(tx, policy);
    const number = (v: PolicyVersionRecord) => Number(v.versionId.slice(1));
    return versions
      .sort((a, b) => number(b) - number(a))
      .map((v) => ({ ...v, isDefault: v.versionId === state.defaultVersion }));
  });
}

/** DeletePolicyVersion: never the default version. */
export async function deletePolicyVersion(
  deps: AppDeps,
  input: Common & { policyArn: string; versionId: string },
): Promise<void> {
  await changePolicy(deps, input, ACTIONS.DeletePolicyVersion, async (uow, policy) => {
    const state = await stateOf(uow.tx, policy);
    if (state.defaultVersion === input.versionId)
      throw new HoldfastError(
        'IAM_POLICY_VERSION_IS_DEFAULT',
        'Cannot delete the default version of a policy.',
      );
    if (!(await uow.tx.iam.deletePolicyVersion(policy.id, input.versionId)))
      throw noSuchVersion(input.policyArn, input.versionId);
    uow.record({
      accountId: input.accountId,
      action: 'policy.version.delete',
      target: input.policyArn,
      details: { name: policy.name, versionId: input.versionId },
    });
  });
}

/** SetDefaultPolicyVersion: the version becomes the document every holder is evaluated with. */
export async function setDefaultPolicyVersion(
  deps: AppDeps,
  input: Common & { policyArn: string; versionId: string },
): Promise<void> {
  await changePolicy(deps, input, ACTIONS.SetDefaultPolicyVersion, async (uow, policy) => {
    const version = (await versionsOf(uow.tx, policy)).find((v) => v.versionId === input.versionId);
    if (version === undefined) throw noSuchVersion(input.policyArn, input.versionId);
    await makeDefault(uow, { policy, version, now: deps.clock.now() });
    // Recorded as a policy change: a detection rule raises an alert when MFA conditions go.
    uow.record({
      accountId: input.accountId,
      action: 'policy.put',
      target: input.policyArn,
      details: {
        scope: 'managed',
        name: policy.name,
        versionId: input.versionId,
        setAsDefault: true,
        documentHash: sha256Hex(version.document),
        mfaConditionBefore: mentionsMfa(policy.document),
        mfaConditionAfter: mentionsMfa(version.document),
      },
    });
  });
}

/** The users and groups a policy is attached to (ListEntitiesForPolicy). */
export function listEntitiesForPolicy(
  deps: AppDeps,
  input: Common & { policyArn: string },
): Promise<{
  users: Array<{ id: string; name: string }>;
  groups: Array<{ id: string; name: string }>;
  roles: Array<{ id: string; name: string }>;
}> {
  return readPolicy(deps, input, ACTIONS.ListEntitiesForPolicy, async (tx, policy) => {
    const users: Array<{ id: string; name: string }> = [];
    const groups: Array<{ id: string; name: string }> = [];
    const roles: Array<{ id: string; name: string }> = [];
    const allGroups = await tx.policies.listGroups(input.accountId);
    for (const a of await tx.iam.attachmentsOf(policy.id)) {
      if (a.subjectType === 'user') {
        const user = await tx.principals.findById(input.accountId, a.subjectId);
        if (user !== null) users.push({ id: user.id, name: user.username });
      } else if (a.subjectType === 'group') {
        const group = allGroups.find((g) => g.id === a.subjectId);
        if (group !== undefined) groups.push({ id: group.id, name: group.name });
      } else if (a.subjectType === 'role') {
        const role = await tx.awsIdentities.findRoleById(input.accountId, a.subjectId);
        if (role !== null) roles.push({ id: role.id, name: role.name });
      }
    }
    return { users, groups, roles };
  });
}

/** TagPolicy: adds or overwrites tags (50 at most on the policy). */
export async function tagPolicy(
  deps: AppDeps,
  input: Common & { policyArn: string; tags: IamTag[] },
): Promise<void> {
  const given = checkTags(input.tags);
  await changePolicy(deps, input, ACTIONS.TagPolicy, async (uow, policy) => {
    const tags = mergeTags(await uow.tx.iam.listTags(policy.id), given);
    await uow.tx.iam.replaceTags({
      accountId: input.accountId,
      subjectType: 'policy',
      subjectId: policy.id,
      tags,
    });
    uow.record({
      accountId: input.accountId,
      action: 'policy.tag',
      target: input.policyArn,
      details: { keys: given.map((t) => t.key) },
    });
  });
}

/** UntagPolicy: removes the tags with these keys (compared without regard to case). */
export async function untagPolicy(
  deps: AppDeps,
  input: Common & { policyArn: string; keys: string[] },
): Promise<void> {
  await changePolicy(deps, input, ACTIONS.UntagPolicy, async (uow, policy) => {
    const tags = removeTags(await uow.tx.iam.listTags(policy.id), input.keys);
    await uow.tx.iam.replaceTags({
      accountId: input.accountId,
      subjectType: 'policy',
      subjectId: policy.id,
      tags,
    });
    uow.record({
      accountId: input.accountId,
      action: 'policy.untag',
      target: input.policyArn,
      details: { keys: input.keys },
    });
  });
}

/** ListPolicyTags. */
export function listPolicyTags(deps: AppDeps, input: Common & { policyArn: string }): Promise<IamTag[]> {
  return readPolicy(deps, input, ACTIONS.ListPolicyTags, (tx, policy) => tx.iam.listTags(policy.id));
}

/** The use cases of this file, for createApp. */
export const MANAGED_POLICY_USE_CASES = {
  createPolicy,
  getPolicy,
  listPolicies,
  deletePolicy,
  createPolicyVersion,
  getPolicyVersion,
  listPolicyVersions,
  deletePolicyVersion,
  setDefaultPolicyVersion,
  listEntitiesForPolicy,
  tagPolicy,
  untagPolicy,
  listPolicyTags,
};
