/**
 * GetAccountAuthorizationDetails (users, groups and managed policies with every document that
 * applies) and the account alias (AWS's one alias per account, mapped onto the account's name,
 * which is what people type at sign-in).
 */

import { awsUniqueId } from '../../core/aws/iam-records.js';
import { HoldfastError } from '../../core/errors.js';
import type { PolicyGroup, StoredPolicy } from '../../core/ports.js';
import { accountArn } from '../../core/policy/arn.js';
import { ACTIONS } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import type { AppDeps } from '../deps.js';
import { runCommand } from '../kernel.js';
import { iamGroupArn } from './groups.js';
import { iamUserView, type IamUserView } from './iam-users.js';
import { viewOf as policyViewOf, type ManagedPolicyView } from './managed-policies.js';

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

/** A managed policy held by a user or group, by name and ARN. */
export interface AttachedPolicyRef {
  name: string;
  arn: string;
}

/** The details of one entity kind, as GetAccountAuthorizationDetails lists them. */
export type AuthorizationDetail =
  | {
      kind: 'user';
      view: IamUserView;
      inline: StoredPolicy[];
      groups: string[];
      attached: AttachedPolicyRef[];
    }
  | {
      kind: 'group';
      group: PolicyGroup;
      groupId: string;
      path: string;
      arn: string;
      inline: StoredPolicy[];
      attached: AttachedPolicyRef[];
    }
  | {
      kind: 'policy';
      view: ManagedPolicyView;
      versions: Array<{ versionId: string; document: string; createdAt: number }>;
    };

/** The `Filter` values of GetAccountAuthorizationDetails that Holdfast has entities for. */
export type DetailFilter = 'User' | 'Group' | 'Role' | 'LocalManagedPolicy' | 'AWSManagedPolicy';

async function attachedRefs(deps: AppDeps, subjectId: string): Promise<AttachedPolicyRef[]> {
  const held = await deps.store.policies.attachedTo(subjectId);
  return Promise.all(held.map(async (p) => ({ name: p.name, arn: (await policyViewOf(deps.store, p)).arn })));
}

/** GetAccountAuthorizationDetails: every user, group and customer managed policy with its documents. */
export async function accountAuthorizationDetails(
  deps: AppDeps,
  input: Common & { filter: readonly DetailFilter[] },
): Promise<AuthorizationDetail[]> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.GetAccountAuthorizationDetails,
    { accountId: input.accountId },
    input.ctx,
  );
  const wants = (kind: DetailFilter) => input.filter.length === 0 || input.filter.includes(kind);
  const out: AuthorizationDetail[] = [];
  const store = deps.store;
  if (wants('User')) {
    for (const user of await store.principals.list(input.accountId)) {
      out.push({
        kind: 'user',
        view: await iamUserView(store, user),
        inline: await store.policies.list({ accountId: input.accountId, scope: 'user', ownerId: user.id }),
        groups: (await store.policies.groupsOf(user.id)).map((g) => g.name),
        attached: await attachedRefs(deps, user.id),
      });
    }
  }
  if (wants('Group')) {
    for (const group of await store.policies.listGroups(input.accountId)) {
      const path = (await store.iam.pathOf(group.id)) ?? '/';
      out.push({
        kind: 'group',
        group,
        groupId: awsUniqueId('AGPA', group.id),
        path,
        arn: iamGroupArn(input.accountId, path, group.name),
        inline: await store.policies.list({ accountId: input.accountId, scope: 'group', ownerId: group.id }),
        attached: await attachedRefs(deps, group.id),
      });
    }
  }
  if (wants('LocalManagedPolicy')) {
    for (const policy of await store.policies.list({ accountId: input.accountId, scope: 'managed' })) {
      const stored = await store.iam.listPolicyVersions(policy.id);
      const versions =
        stored.length > 0
          ? stored
          : [{ versionId: 'v1', document: policy.document, createdAt: policy.createdAt }];
      out.push({ kind: 'policy', view: await policyViewOf(store, policy), versions });
    }
  }
  return out;
}

const ALIAS = /^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$/;

/** ListAccountAliases: the account's name. */
export async function listAccountAliases(deps: AppDeps, input: Common): Promise<string[]> {
  await authorize(deps, input.actor, ACTIONS.ListAccountAliases, { accountId: input.accountId }, input.ctx);
  const account = await deps.store.accounts.findById(input.accountId);
  return account === null ? [] : [account.name];
}

/**
 * CreateAccountAlias: the account's name becomes the alias (one alias per account, as in AWS).
 * Everyone then signs in with the new name; the change is audited with the old one.
 */
export async function createAccountAlias(deps: AppDeps, input: Common & { alias: string }): Promise<void> {
  if (!ALIAS.test(input.alias)) throw new HoldfastError('REQUEST_INVALID', 'invalid account alias');
  await runCommand(
    deps,
    input.actor,
    input.ctx,
    {
      action: ACTIONS.CreateAccountAlias,
      resource: { accountId: input.accountId, arn: accountArn(input.accountId) },
    },
    async (uow) => {
      const account = await uow.tx.accounts.findById(input.accountId);
      if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
      const taken = await uow.tx.accounts.findByName(input.alias);
      if (taken !== null && taken.id !== account.id) {
        throw new HoldfastError('ACCOUNT_NAME_TAKEN', `The account alias ${input.alias} already exists.`);
      }
      if (account.name !== input.alias) await uow.tx.iam.renameAccount(account.id, input.alias);
      uow.record({
        accountId: input.accountId,
        action: 'account.rename',
        target: accountArn(input.accountId),
        details: { oldName: account.name, newName: input.alias },
      });
    },
  );
}

/**
 * DeleteAccountAlias: a Holdfast account always has a name (people sign in with it), so the
 * alias cannot be removed, only replaced by CreateAccountAlias; an alias the account does not
 * have answers NoSuchEntity.
 */
export async function deleteAccountAlias(deps: AppDeps, input: Common & { alias: string }): Promise<void> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.DeleteAccountAlias,
    { accountId: input.accountId, arn: accountArn(input.accountId) },
    input.ctx,
  );
  const account = await deps.store.accounts.findById(input.accountId);
  if (account === null || account.name !== input.alias) {
    throw new HoldfastError(
      'IAM_ACCOUNT_ALIAS_NOT_FOUND',
      `The account alias ${input.alias} cannot be found.`,
    );
  }
  throw new HoldfastError(
    'IAM_ACCOUNT_ALIAS_REQUIRED',
    'A Holdfast account keeps its name, which is its alias: replace it with CreateAccountAlias.',
  );
}

/**
 * GetAccountSummary with every key AWS returns. MFA devices are counted one way for every kind:
 * `MFADevices` is every second factor of the account's users (authenticator apps, hardware
 * tokens, passkeys and security keys, text-message phones; enabled or pending) plus the IAM
 * virtual devices no factor backs any more; `MFADevicesInUse` is the enabled factors. "Root" is
 * the account's owners: `AccountMFAEnabled` is 1 when every active owner has an enabled factor,
 * `AccountAccessKeysPresent` 1 when an owner holds an access key. Quotas are Holdfast's own limits
 * where it has one, AWS's defaults otherwise.
 */
export async function iamAccountSummary(deps: AppDeps, input: Common): Promise<Record<string, number>> {
  await authorize(deps, input.actor, ACTIONS.GetAccountSummary, { accountId: input.accountId }, input.ctx);
  const store = deps.store;
  const principals = await store.principals.list(input.accountId);
  const factorsByPrincipal = await Promise.all(
    principals.map((p) => store.factors.listByPrincipal(input.accountId, p.id)),
  );
  const factors = factorsByPrincipal.flat();
  const factorIds = new Set(factors.map((f) => f.id));
  const devices = await store.awsIdentities.listDevices(input.accountId);
  const unbacked = devices.filter((d) => d.factorId === null || !factorIds.has(d.factorId)).length;
  const owners = principals.filter((p) => p.role === 'owner' && p.status === 'active');
  const ownerMfa = owners.every((o) =>
    factorsByPrincipal[principals.indexOf(o)]!.some((f) => f.status === 'enabled'),
  );
  const ownerKeys = await Promise.all(
    owners.map((o) => store.accessKeys.listByPrincipal(input.accountId, o.id)),
  );
  const policies = await store.policies.list({ accountId: input.accountId, scope: 'managed' });
  const versions = await Promise.all(policies.map((p) => store.iam.listPolicyVersions(p.id)));
  return {
    Users: principals.length,
    UsersQuota: 5000,
    Groups: (await store.policies.listGroups(input.accountId)).length,
    GroupsQuota: 300,
    GroupsPerUserQuota: 10,
    Roles: await store.awsIdentities.countRoles(input.accountId),
    RolesQuota: 1000,
    Policies: policies.length,
    PoliciesQuota: 1500,
    PolicyVersionsInUse: versions.reduce((n, v) => n + Math.max(1, v.length), 0),
    PolicyVersionsInUseQuota: 10000,
    VersionsPerPolicyQuota: 5,
    PolicySizeQuota: 6144,
    UserPolicySizeQuota: 6144,
    GroupPolicySizeQuota: 6144,
    RolePolicySizeQuota: 6144,
    AssumeRolePolicySizeQuota: 6144,
    AttachedPoliciesPerUserQuota: 10,
    AttachedPoliciesPerGroupQuota: 10,
    AttachedPoliciesPerRoleQuota: 10,
    AccessKeysPerUserQuota: 2,
    SigningCertificatesPerUserQuota: 0,
    MFADevices: factors.length + unbacked,
    MFADevicesInUse: factors.filter((f) => f.status === 'enabled').length,
    AccountMFAEnabled: owners.length > 0 && ownerMfa ? 1 : 0,
    AccountAccessKeysPresent: ownerKeys.some((k) => k.length > 0) ? 1 : 0,
    AccountSigningCertificatesPresent: 0,
    // OpenID Connect providers (CreateOpenIDConnectProvider); Holdfast keeps no SAML providers.
    Providers: (await store.oidc.listIdentityProviders(input.accountId)).length,
    InstanceProfiles: 0,
    InstanceProfilesQuota: 1000,
    ServerCertificates: 0,
    ServerCertificatesQuota: 20,
    GlobalEndpointTokenVersion: 1,
  };
}

/** The use cases of this file, for createApp. */
export const ACCOUNT_DETAIL_USE_CASES = {
  iamAccountSummary,
  accountAuthorizationDetails,
  listAccountAliases,
  createAccountAlias,
  deleteAccountAlias,
};
