/**
 * Account-level IAM operations (AWS IAM API Reference): the account password policy (mapped onto
 * Holdfast's NIST-style rules: docs/aws-api.md), the credential report in AWS's CSV columns, and
 * GetAccessKeyLastUsed.
 */

import { ACTIONS } from '../../app/actions.js';
import type { AuthorizationDetail } from '../../app/aws/account-details.js';
import type { PasswordPolicyView } from '../../app/aws/iam-account-records.js';
import { tagList } from './iam-policy-actions.js';
import { base, paginate, type AwsOperation, type OperationContext } from './operation.js';
import { invalidParameterValue, readBoolean, readInteger, readString, readStringList } from './query.js';
import { encodePolicyDocument, pageMembers } from './shapes.js';
import {
  xmlBlob,
  xmlBoolean,
  xmlElement,
  xmlInteger,
  xmlList,
  xmlStringList,
  xmlText,
  xmlTimestamp,
  type XmlChild,
} from './xml.js';

function policyElement(v: PasswordPolicyView) {
  const p = v.stored;
  const maxAge = p.maxPasswordAge ?? 0;
  return xmlElement('PasswordPolicy', [
    xmlInteger('MinimumPasswordLength', v.minimumPasswordLength),
    xmlBoolean('RequireSymbols', p.requireSymbols ?? false),
    xmlBoolean('RequireNumbers', p.requireNumbers ?? false),
    xmlBoolean('RequireUppercaseCharacters', p.requireUppercaseCharacters ?? false),
    xmlBoolean('RequireLowercaseCharacters', p.requireLowercaseCharacters ?? false),
    xmlBoolean('AllowUsersToChangePassword', p.allowUsersToChangePassword ?? false),
    xmlBoolean('ExpirePasswords', maxAge > 0),
    maxAge > 0 ? xmlInteger('MaxPasswordAge', maxAge) : null,
    p.passwordReusePrevention === undefined
      ? null
      : xmlInteger('PasswordReusePrevention', p.passwordReusePrevention),
    p.hardExpiry === undefined ? null : xmlBoolean('HardExpiry', p.hardExpiry),
  ]);
}

const FILTERS = ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'] as const;

function inlineList(name: string, policies: ReadonlyArray<{ name: string; document: string }>) {
  return xmlList(
    name,
    policies.map((p) => [
      xmlText('PolicyName', p.name),
      xmlText('PolicyDocument', encodePolicyDocument(p.document)),
    ]),
  );
}

function attachedList(refs: ReadonlyArray<{ name: string; arn: string }>) {
  return xmlList(
    'AttachedManagedPolicies',
    refs.map((r) => [xmlText('PolicyName', r.name), xmlText('PolicyArn', r.arn)]),
  );
}

function detailMembers(d: AuthorizationDetail): XmlChild[] {
  switch (d.kind) {
    case 'user':
      return [
        xmlText('Path', d.view.path),
        xmlText('UserName', d.view.user.username),
        xmlText('UserId', d.view.user.id),
        xmlText('Arn', d.view.arn),
        xmlTimestamp('CreateDate', d.view.user.createdAt),
        inlineList('UserPolicyList', d.inline),
        xmlStringList('GroupList', d.groups),
        attachedList(d.attached),
        d.view.boundaryArn === null
          ? null
          : xmlElement('PermissionsBoundary', [
              xmlText('PermissionsBoundaryType', 'PermissionsBoundaryPolicy'),
              xmlText('PermissionsBoundaryArn', d.view.boundaryArn),
            ]),
        tagList(d.view.tags),
      ];
    case 'group':
      return [
        xmlText('Path', d.path),
        xmlText('GroupName', d.group.name),
        xmlText('GroupId', d.groupId),
        xmlText('Arn', d.arn),
        xmlTimestamp('CreateDate', d.group.createdAt),
        inlineList('GroupPolicyList', d.inline),
        attachedList(d.attached),
      ];
    case 'policy':
      return [
        xmlText('PolicyName', d.view.policy.name),
        xmlText('PolicyId', d.view.policyId),
        xmlText('Arn', d.view.arn),
        xmlText('Path', d.view.path),
        xmlText('DefaultVersionId', d.view.defaultVersionId),
        xmlInteger('AttachmentCount', d.view.attachmentCount),
        xmlInteger('PermissionsBoundaryUsageCount', d.view.boundaryUsageCount),
        xmlBoolean('IsAttachable', true),
        xmlTimestamp('CreateDate', d.view.policy.createdAt),
        xmlTimestamp('UpdateDate', d.view.policy.updatedAt),
        xmlList(
          'PolicyVersionList',
          d.versions.map((v) => [
            xmlText('Document', encodePolicyDocument(v.document)),
            xmlText('VersionId', v.versionId),
            xmlBoolean('IsDefaultVersion', v.versionId === d.view.defaultVersionId),
            xmlTimestamp('CreateDate', v.createdAt),
          ]),
        ),
      ];
  }
}

function readAlias(c: OperationContext): string {
  return readString(c.params, 'AccountAlias', {
    required: true,
    minLength: 3,
    maxLength: 63,
    pattern: /^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$/,
    patternText: '^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$',
  });
}

/** The account-level operations by wire name. */
export const IAM_ACCOUNT_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
  GetAccountAuthorizationDetails: {
    action: ACTIONS.GetAccountAuthorizationDetails,
    async handle(c) {
      const filter = readStringList(c.params, 'Filter', { maxItems: 5 });
      for (const f of filter)
        if (!(FILTERS as readonly string[]).includes(f))
          throw invalidParameterValue({ name: 'Filter', value: f });
      const details = await c.app.accountAuthorizationDetails({
        ...base(c),
        filter: filter as (typeof FILTERS)[number][],
      });
      const page = paginate(c.params, details);
      const of = (kind: AuthorizationDetail['kind']) =>
        page.items.filter((d) => d.kind === kind).map(detailMembers);
      return {
        result: [
          xmlList('UserDetailList', of('user')),
          xmlList('GroupDetailList', of('group')),
          xmlList('RoleDetailList', []),
          xmlList('Policies', of('policy')),
          ...pageMembers(page),
        ],
      };
    },
  },
  ListAccountAliases: {
    action: ACTIONS.ListAccountAliases,
    async handle(c) {
      const aliases = await c.app.listAccountAliases(base(c));
      const page = paginate(c.params, aliases);
      return {
        result: [xmlStringList('AccountAliases', page.items), ...pageMembers(page)],
      };
    },
  },
  CreateAccountAlias: {
    action: ACTIONS.CreateAccountAlias,
    async handle(c) {
      await c.app.createAccountAlias({ ...base(c), alias: readAlias(c) });
      return { result: null };
    },
  },
  DeleteAccountAlias: {
    action: ACTIONS.DeleteAccountAlias,
    async handle(c) {
      await c.app.deleteAccountAlias({ ...base(c), alias: readAlias(c) });
      return { result: null };
    },
  },
  GetAccountPasswordPolicy: {
    action: ACTIONS.GetAccountPasswordPolicy,
    async handle(c) {
      return { result: [policyElement(await c.app.getPasswordPolicy(base(c)))] };
    },
  },
  UpdateAccountPasswordPolicy: {
    action: ACTIONS.UpdateAccountPasswordPolicy,
    async handle(c) {
      const flag = (name: string) => readBoolean(c.params, name);
      const int = (name: string, min: number, max: number) => readInteger(c.params, name, { min, max });
      const entries = {
        minimumPasswordLength: int('MinimumPasswordLength', 6, 128),
        requireSymbols: flag('RequireSymbols'),
        requireNumbers: flag('RequireNumbers'),
        requireUppercaseCharacters: flag('RequireUppercaseCharacters'),
        requireLowercaseCharacters: flag('RequireLowercaseCharacters'),
        allowUsersToChangePassword: flag('AllowUsersToChangePassword'),
        maxPasswordAge: int('MaxPasswordAge', 1, 1095),
        passwordReusePrevention: int('PasswordReusePrevention', 1, 24),
        hardExpiry: flag('HardExpiry'),
      };
      const policy = Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
      await c.app.updatePasswordPolicy({ ...base(c), policy });
      return { result: null };
    },
  },
  DeleteAccountPasswordPolicy: {
    action: ACTIONS.DeleteAccountPasswordPolicy,
    async handle(c) {
      await c.app.deletePasswordPolicy(base(c));
      return { result: null };
    },
  },
  GenerateCredentialReport: {
    action: ACTIONS.GenerateCredentialReport,
    async handle(c) {
      await c.app.credentialReport({ ...base(c), action: 'generate' });
      return {
        result: [xmlText('State', 'COMPLETE'), xmlText('Description', 'The credential report is ready.')],
      };
    },
  },
  GetCredentialReport: {
    action: ACTIONS.GetCredentialReport,
    async handle(c) {
      const report = await c.app.credentialReport({ ...base(c), action: 'get' });
      return {
        result: [
          xmlBlob('Content', new TextEncoder().encode(report.csv)),
          xmlText('ReportFormat', 'text/csv'),
          xmlTimestamp('GeneratedTime', report.generatedAt),
        ],
      };
    },
  },
  GetAccessKeyLastUsed: {
    action: ACTIONS.GetAccessKeyLastUsed,
    async handle(c) {
      const accessKeyId = readString(c.params, 'AccessKeyId', {
        required: true,
        minLength: 16,
        maxLength: 128,
        pattern: /^\w+$/,
      });
      const used = await c.app.accessKeyLastUsed({ ...base(c), accessKeyId });
      return {
        result: [
          xmlText('UserName', used.userName),
          xmlElement('AccessKeyLastUsed', [
            used.lastUsedAt === null ? null : xmlTimestamp('LastUsedDate', used.lastUsedAt),
            xmlText('ServiceName', used.service ?? 'N/A'),
            xmlText('Region', used.lastUsedAt === null ? 'N/A' : 'us-east-1'),
          ]),
        ],
      };
    },
  },
};
