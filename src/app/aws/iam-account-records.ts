/**
 * Account-level IAM records: the account password policy mapped onto Holdfast's password rules,
 * the credential report in AWS's CSV columns, and GetAccessKeyLastUsed.
 *
 * Password policy: Holdfast follows NIST SP 800-63B §5.1.1.2 (a length floor, a breached and
 * common password list, no composition rules, no periodic expiry). `MinimumPasswordLength` can
 * only tighten the installation's floor and is enforced on every password set afterwards; the
 * other fields are stored and returned as given but not enforced, for the reason §5.1.1.2 gives
 * ("Verifiers SHOULD NOT impose other composition rules ... SHOULD NOT require memorized secrets
 * to be changed arbitrarily"); the record of the change lists them.
 */

import { HoldfastError } from '../../core/errors.js';
import type { Principal } from '../../core/principals/types.js';
import { ACTIONS } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import type { AppDeps } from '../deps.js';
import { runCommand } from '../kernel.js';
import { iamUserView } from './iam-users.js';

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

/** The AWS password policy fields (UpdateAccountPasswordPolicy's parameters). */
export interface AwsPasswordPolicy {
  minimumPasswordLength?: number;
  requireSymbols?: boolean;
  requireNumbers?: boolean;
  requireUppercaseCharacters?: boolean;
  requireLowercaseCharacters?: boolean;
  allowUsersToChangePassword?: boolean;
  maxPasswordAge?: number;
  passwordReusePrevention?: number;
  hardExpiry?: boolean;
}

/** The policy as GetAccountPasswordPolicy shows it: what was set, and the effective minimum. */
export interface PasswordPolicyView {
  stored: AwsPasswordPolicy;
  /** The minimum length enforced (never below the installation's). */
  minimumPasswordLength: number;
  /** Fields accepted but not enforced. */
  notEnforced: string[];
}

const NOT_ENFORCED_REASON =
  'NIST SP 800-63B 5.1.1.2: no composition rules, no periodic expiry; Holdfast checks length and breached or common passwords';

function notEnforced(policy: AwsPasswordPolicy): string[] {
  const out: string[] = [];
  if (policy.requireSymbols) out.push('RequireSymbols');
  if (policy.requireNumbers) out.push('RequireNumbers');
  if (policy.requireUppercaseCharacters) out.push('RequireUppercaseCharacters');
  if (policy.requireLowercaseCharacters) out.push('RequireLowercaseCharacters');
  if (policy.allowUsersToChangePassword === false) out.push('AllowUsersToChangePassword');
  if (policy.maxPasswordAge !== undefined && policy.maxPasswordAge > 0) out.push('MaxPasswordAge');
  if (policy.passwordReusePrevention !== undefined) out.push('PasswordReusePrevention');
  if (policy.hardExpiry) out.push('HardExpiry');
  return out;
}

/** GetAccountPasswordPolicy. */
export async function getPasswordPolicy(deps: AppDeps, input: Common): Promise<PasswordPolicyView> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.GetAccountPasswordPolicy,
    { accountId: input.accountId },
    input.ctx,
  );
  const stored = await deps.store.iam.passwordPolicy(input.accountId);
  if (stored === null) {
    throw new HoldfastError(
      'IAM_PASSWORD_POLICY_NOT_FOUND',
      `The Password Policy with domain name ${input.accountId} cannot be found.`,
    );
  }
  const policy = JSON.parse(stored) as AwsPasswordPolicy;
  const account = await deps.store.accounts.findById(input.accountId);
  return {
    stored: policy,
    minimumPasswordLength: Math.max(
      deps.settings.passwordMinLength,
      account?.settings.passwordMinLength ?? 0,
    ),
    notEnforced: notEnforced(policy),
  };
}

/**
 * UpdateAccountPasswordPolicy: replaces the policy (fields left out take IAM's defaults). The
 * minimum length becomes the account's password floor (tighten only: the installation's floor
 * stays when the policy asks for less).
 */
export async function updatePasswordPolicy(
  deps: AppDeps,
  input: Common & { policy: AwsPasswordPolicy },
): Promise<PasswordPolicyView> {
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.UpdateAccountPasswordPolicy, resource: { accountId: input.accountId } },
    async (uow) => {
      const account = await uow.tx.accounts.findById(input.accountId);
      if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
      const minimum = input.policy.minimumPasswordLength ?? 6;
      const effective = Math.max(deps.settings.passwordMinLength, minimum);
      await uow.tx.iam.putPasswordPolicy(input.accountId, JSON.stringify(input.policy));
      const settings = { ...account.settings };
      if (minimum > deps.settings.passwordMinLength) settings.passwordMinLength = minimum;
      else delete settings.passwordMinLength;
      await uow.tx.accounts.updateSettings(input.accountId, settings);
      const ignored = notEnforced(input.policy);
      uow.record({
        accountId: input.accountId,
        action: 'account.password_policy',
        target: input.accountId,
        details: {
          minimumPasswordLength: minimum,
          enforcedMinimum: effective,
          notEnforced: ignored,
          reason: ignored.length === 0 ? null : NOT_ENFORCED_REASON,
        },
      });
      return { stored: input.policy, minimumPasswordLength: effective, notEnforced: ignored };
    },
  );
}

/** DeleteAccountPasswordPolicy: the account's floor returns to the installation's. */
export async function deletePasswordPolicy(deps: AppDeps, input: Common): Promise<void> {
  await runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.DeleteAccountPasswordPolicy, resource: { accountId: input.accountId } },
    async (uow) => {
      if (!(await uow.tx.iam.deletePasswordPolicy(input.accountId))) {
        throw new HoldfastError(
          'IAM_PASSWORD_POLICY_NOT_FOUND',
          `The Password Policy with domain name ${input.accountId} cannot be found.`,
        );
      }
      const account = await uow.tx.accounts.findById(input.accountId);
      if (account !== null) {
        const settings = { ...account.settings };
        delete settings.passwordMinLength;
        await uow.tx.accounts.updateSettings(input.accountId, settings);
      }
      uow.record({
        accountId: input.accountId,
        action: 'account.password_policy_delete',
        target: input.accountId,
      });
    },
  );
}

/** The columns of AWS's credential report, in order. */
export const CREDENTIAL_REPORT_COLUMNS = [
  'user',
  'arn',
  'user_creation_time',
  'password_enabled',
  'password_last_used',
  'password_last_changed',
  'password_next_rotation',
  'mfa_active',
  'access_key_1_active',
  'access_key_1_last_rotated',
  'access_key_1_last_used_date',
  'access_key_1_last_used_region',
  'access_key_1_last_used_service',
  'access_key_2_active',
  'access_key_2_last_rotated',
  'access_key_2_last_used_date',
  'access_key_2_last_used_region',
  'access_key_2_last_used_service',
  'cert_1_active',
  'cert_1_last_rotated',
  'cert_2_active',
  'cert_2_last_rotated',
] as const;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

async function reportRow(deps: AppDeps, user: Principal): Promise<string[]> {
  const view = await iamUserView(deps.store, user);
  const factors = await deps.store.factors.listByPrincipal(user.accountId, user.id);
  const keys = (await deps.store.accessKeys.listByPrincipal(user.accountId, user.id)).sort(
    (a, b) => a.createdAt - b.createdAt,
  );
  const key = (i: number): string[] => {
    const k = keys[i];
    if (k === undefined) return ['false', 'N/A', 'N/A', 'N/A', 'N/A'];
    return [
      String(k.status === 'Active'),
      iso(k.createdAt),
      k.lastUsedAt === null ? 'N/A' : iso(k.lastUsedAt),
      k.lastUsedAt === null ? 'N/A' : 'us-east-1',
      k.lastUsedService ?? 'N/A',
    ];
  };
  const hasPassword = user.passwordHash !== null;
  return [
    user.username,
    view.arn,
    iso(user.createdAt),
    String(hasPassword),
    hasPassword ? 'no_information' : 'N/A',
    hasPassword && user.passwordChangedAt !== null ? iso(user.passwordChangedAt) : 'N/A',
    'N/A',
    // Every kind of second factor counts (authenticator apps, hardware tokens, passkeys, texts).
    String(factors.some((f) => f.status === 'enabled')),
    ...key(0),
    ...key(1),
    'false',
    'N/A',
    'false',
    'N/A',
  ];
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * GenerateCredentialReport and GetCredentialReport in one: the report is built when asked for
 * (Holdfast keeps no copy), one row per user with AWS's columns.
 */
export async function credentialReport(
  deps: AppDeps,
  input: Common & { action: 'generate' | 'get' },
): Promise<{ csv: string; generatedAt: number }> {
  await authorize(
    deps,
    input.actor,
    input.action === 'generate' ? ACTIONS.GenerateCredentialReport : ACTIONS.GetCredentialReport,
    { accountId: input.accountId },
    input.ctx,
  );
  const users = await deps.store.principals.list(input.accountId);
  const rows = [CREDENTIAL_REPORT_COLUMNS as readonly string[]];
  for (const user of users) rows.push(await reportRow(deps, user));
  return { csv: rows.map((r) => r.map(csvField).join(',')).join('\n'), generatedAt: deps.clock.now() };
}

/** GetAccessKeyLastUsed: the key's user and when and where it was last used. */
export async function accessKeyLastUsed(
  deps: AppDeps,
  input: Common & { accessKeyId: string },
): Promise<{ userName: string; lastUsedAt: number | null; service: string | null }> {
  const key = await deps.store.accessKeys.findById(input.accessKeyId);
  const user =
    key === null || key.accountId !== input.accountId
      ? null
      : await deps.store.principals.findById(input.accountId, key.principalId);
  await authorize(
    deps,
    input.actor,
    ACTIONS.GetAccessKeyLastUsed,
    user === null ? { accountId: input.accountId } : { accountId: input.accountId, principal: user },
    input.ctx,
  );
  if (key === null || user === null) {
    throw new HoldfastError(
      'AWS_ACCESS_KEY_NOT_FOUND',
      `The Access Key with id ${input.accessKeyId} cannot be found.`,
    );
  }
  return { userName: user.username, lastUsedAt: key.lastUsedAt, service: key.lastUsedService };
}

/** The use cases of this file, for createApp. */
export const IAM_ACCOUNT_RECORD_USE_CASES = {
  getPasswordPolicy,
  updatePasswordPolicy,
  deletePasswordPolicy,
  credentialReport,
  accessKeyLastUsed,
};
