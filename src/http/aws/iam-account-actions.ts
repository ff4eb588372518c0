/**
 * Account-level IAM operations (AWS IAM API Reference): the account password policy (mapped onto
 * Holdfast's NIST-style rules: docs/aws-api.md), the credential report in AWS's CSV columns, and
 * GetAccessKeyLastUsed.
 */

import { ACTIONS } from '../../app/actions.js';
import type { PasswordPolicyView } from '../../app/aws/iam-account-records.js';
import type { AwsOperation, OperationContext } from './operation.js';
import { readBoolean, readInteger, readString } from './query.js';
import { xmlBlob, xmlBoolean, xmlElement, xmlInteger, xmlText, xmlTimestamp } from './xml.js';

function base(c: OperationContext) {
  return { actor: c.caller.actor, ctx: c.ctx, accountId: c.accountId };
}

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

/** The account-level operations by wire name. */
export const IAM_ACCOUNT_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
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
