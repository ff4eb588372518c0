/**
 * Account-level IAM operations through the AWS SDK for JavaScript v3, on SQLite and PostgreSQL:
 * the password policy (its minimum length tightens Holdfast's floor and is enforced; composition
 * rules are kept, returned and recorded as not enforced), the credential report in AWS's CSV
 * columns with mfa_active counting every kind of factor, GetAccessKeyLastUsed, and the guardrail
 * refusing stolen long-term keys.
 */
import {
  CreateAccountAliasCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  DeleteAccountAliasCommand,
  GetAccountAuthorizationDetailsCommand,
  GetAccountSummaryCommand,
  ListAccountAliasesCommand,
  PutGroupPolicyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteAccountPasswordPolicyCommand,
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountPasswordPolicyCommand,
  GetCredentialReportCommand,
  UpdateAccountPasswordPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIAL_REPORT_COLUMNS } from '../../src/app/aws/iam-account-records.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { iamWorld, sdkError, type IamWorld } from '../helpers/aws-iam-sdk.js';

describe.each(DATABASE_KINDS)('IAM account records through the JS SDK [$name]', ({ name }) => {
  let w: IamWorld;
  beforeAll(async () => {
    w = await iamWorld(name);
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('password policy: the minimum length is enforced, composition rules are kept and reported', async () => {
    expect(await sdkError(w.admin.iam.send(new GetAccountPasswordPolicyCommand({})))).toEqual({
      code: 'NoSuchEntity',
      message: `The Password Policy with domain name ${w.accountId} cannot be found.`,
    });
    await w.admin.iam.send(
      new UpdateAccountPasswordPolicyCommand({
        MinimumPasswordLength: 24,
        RequireSymbols: true,
        MaxPasswordAge: 90,
      }),
    );
    const policy = (await w.admin.iam.send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy!;
    expect(policy).toMatchObject({
      MinimumPasswordLength: 24,
      RequireSymbols: true,
      RequireNumbers: false,
      ExpirePasswords: true,
      MaxPasswordAge: 90,
    });
    const records = await w.inst.store.audit.scan(0, 1_000_000);
    const change = records.filter((r) => r.action === 'account.password_policy').at(-1)!;
    expect(change.details.notEnforced).toEqual(['RequireSymbols', 'MaxPasswordAge']);

    await w.admin.iam.send(new CreateUserCommand({ UserName: 'pat' }));
    const short = await sdkError(
      w.admin.iam.send(new CreateLoginProfileCommand({ UserName: 'pat', Password: 'violet kettle drum' })),
    );
    expect(short.code).toBe('PasswordPolicyViolation');
    await w.admin.iam.send(
      new CreateLoginProfileCommand({ UserName: 'pat', Password: 'violet kettle drums under a quiet sky' }),
    );

    // Asking for less than the installation's floor does not lower it.
    await w.admin.iam.send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 6 }));
    const loose = (await w.admin.iam.send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy!;
    expect(loose.MinimumPasswordLength).toBe(w.inst.app.deps.settings.passwordMinLength);
    expect(loose.MinimumPasswordLength).toBeGreaterThanOrEqual(8);

    await w.admin.iam.send(new DeleteAccountPasswordPolicyCommand({}));
    expect((await sdkError(w.admin.iam.send(new GetAccountPasswordPolicyCommand({})))).code).toBe(
      'NoSuchEntity',
    );
    expect((await sdkError(w.admin.iam.send(new DeleteAccountPasswordPolicyCommand({})))).code).toBe(
      'NoSuchEntity',
    );
  });

  it('credential report: AWS columns, mfa_active from every factor kind, keys and their last use', async () => {
    expect((await w.admin.iam.send(new GenerateCredentialReportCommand({}))).State).toBe('COMPLETE');
    const report = await w.admin.iam.send(new GetCredentialReportCommand({}));
    expect(report.ReportFormat).toBe('text/csv');
    const lines = new TextDecoder().decode(report.Content!).split('\n');
    expect(lines[0]!.split(',')).toEqual([...CREDENTIAL_REPORT_COLUMNS]);
    const rows = new Map(
      lines.slice(1).map((line) => {
        const cells = line.split(',');
        return [cells[0]!, Object.fromEntries(CREDENTIAL_REPORT_COLUMNS.map((c, i) => [c, cells[i]!]))];
      }),
    );
    const admin = rows.get(w.admin.username)!;
    expect(admin).toMatchObject({
      password_enabled: 'true',
      mfa_active: 'true',
      access_key_1_active: 'true',
      access_key_1_last_used_service: 'sts',
      access_key_2_active: 'false',
    });
    expect(rows.get('pat')).toMatchObject({ mfa_active: 'false', access_key_1_active: 'false' });
  });

  it('GetAccessKeyLastUsed names the user and the service', async () => {
    const used = await w.admin.iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: w.admin.keys.accessKeyId }),
    );
    expect(used.UserName).toBe(w.admin.username);
    expect(used.AccessKeyLastUsed).toMatchObject({ ServiceName: 'sts', Region: 'us-east-1' });
    expect(used.AccessKeyLastUsed!.LastUsedDate).toBeInstanceOf(Date);
    const missing = await sdkError(
      w.admin.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: 'AKIAIOSFODNN7EXAMPLE' })),
    );
    expect(missing.code).toBe('NoSuchEntity');
  });

  it('attack: stolen long-term keys cannot loosen the password policy or read the report', async () => {
    await w.admin.iam.send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 20 }));
    for (const command of [
      new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 6 }),
      new DeleteAccountPasswordPolicyCommand({}),
    ]) {
      const refused = await sdkError(w.admin.iamWithoutMfa.send(command as never));
      expect(refused.code).toBe('AccessDenied');
      expect(refused.message).toContain('guardrail G2');
    }
    expect((await sdkError(w.admin.iamWithoutMfa.send(new GetCredentialReportCommand({})))).code).toBe(
      'AccessDenied',
    );
    expect((await sdkError(w.user.iam.send(new DeleteAccountPasswordPolicyCommand({})))).code).toBe(
      'AccessDenied',
    );
    const policy = (await w.admin.iam.send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy!;
    expect(policy.MinimumPasswordLength).toBe(20);
  });

  it('GetAccountAuthorizationDetails lists users, groups and policies with their documents', async () => {
    const doc = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }],
    });
    await w.admin.iam.send(new CreatePolicyCommand({ PolicyName: 'Details', PolicyDocument: doc }));
    await w.admin.iam.send(new CreateGroupCommand({ GroupName: 'Ops' }));
    await w.admin.iam.send(
      new PutGroupPolicyCommand({ GroupName: 'Ops', PolicyName: 'inline', PolicyDocument: doc }),
    );
    const all = await w.admin.iam.send(new GetAccountAuthorizationDetailsCommand({}));
    expect(all.UserDetailList!.map((u) => u.UserName)).toContain(w.admin.username);
    expect(all.GroupDetailList!.map((g) => [g.GroupName, g.GroupPolicyList![0]!.PolicyName])).toEqual([
      ['Ops', 'inline'],
    ]);
    const policy = all.Policies!.find((p) => p.PolicyName === 'Details')!;
    expect(policy.PolicyVersionList).toEqual([
      expect.objectContaining({ VersionId: 'v1', IsDefaultVersion: true, Document: encodeURIComponent(doc) }),
    ]);
    expect(all.IsTruncated).toBe(false);
    const onlyGroups = await w.admin.iam.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: ['Group'] }),
    );
    expect(onlyGroups.UserDetailList ?? []).toEqual([]);
    expect(onlyGroups.GroupDetailList).toHaveLength(1);
  });

  it('the account alias is the account name: replaced, never removed; stolen keys cannot rename', async () => {
    expect((await w.admin.iam.send(new ListAccountAliasesCommand({}))).AccountAliases).toEqual(['acme']);
    const g2 = await sdkError(
      w.admin.iamWithoutMfa.send(new CreateAccountAliasCommand({ AccountAlias: 'evil-corp' })),
    );
    expect(g2.code).toBe('AccessDenied');
    expect(g2.message).toContain('guardrail G2');
    await w.admin.iam.send(new CreateAccountAliasCommand({ AccountAlias: 'acme-corp' }));
    expect((await w.admin.iam.send(new ListAccountAliasesCommand({}))).AccountAliases).toEqual(['acme-corp']);
    expect((await w.inst.store.accounts.findById(w.accountId))!.name).toBe('acme-corp');
    expect(
      (await sdkError(w.admin.iam.send(new DeleteAccountAliasCommand({ AccountAlias: 'acme-corp' })))).code,
    ).toBe('DeleteConflict');
    expect(
      (await sdkError(w.admin.iam.send(new DeleteAccountAliasCommand({ AccountAlias: 'other' })))).code,
    ).toBe('NoSuchEntity');
    await w.admin.iam.send(new CreateAccountAliasCommand({ AccountAlias: 'acme' }));
    const records = await w.inst.store.audit.scan(0, 1_000_000);
    expect(records.filter((r) => r.action === 'account.rename').map((r) => r.details.newName)).toEqual([
      'acme-corp',
      'acme',
    ]);
  });

  it('GetAccountSummary has every AWS key and counts every kind of MFA device one way', async () => {
    const summary = (await w.admin.iam.send(new GetAccountSummaryCommand({}))).SummaryMap!;
    for (const key of [
      'Users',
      'UsersQuota',
      'Groups',
      'GroupsQuota',
      'GroupsPerUserQuota',
      'Roles',
      'RolesQuota',
      'Policies',
      'PoliciesQuota',
      'PolicyVersionsInUse',
      'PolicyVersionsInUseQuota',
      'VersionsPerPolicyQuota',
      'PolicySizeQuota',
      'UserPolicySizeQuota',
      'GroupPolicySizeQuota',
      'RolePolicySizeQuota',
      'AssumeRolePolicySizeQuota',
      'AttachedPoliciesPerUserQuota',
      'AttachedPoliciesPerGroupQuota',
      'AttachedPoliciesPerRoleQuota',
      'AccessKeysPerUserQuota',
      'SigningCertificatesPerUserQuota',
      'MFADevices',
      'MFADevicesInUse',
      'AccountMFAEnabled',
      'AccountAccessKeysPresent',
      'AccountSigningCertificatesPresent',
      'Providers',
      'InstanceProfiles',
      'InstanceProfilesQuota',
      'ServerCertificates',
      'ServerCertificatesQuota',
      'GlobalEndpointTokenVersion',
    ])
      expect((summary as Record<string, number | undefined>)[key], key).toBeTypeOf('number');
    // The administrator's and the user's authenticator apps were enrolled in the console, not
    // through IAM: both count, as devices and as devices in use.
    expect(summary.MFADevicesInUse).toBe(2);
    expect(summary.MFADevices).toBe(2);
    // The owner has no factor yet: the account's "root" has no MFA.
    expect(summary.AccountMFAEnabled).toBe(0);
  });
});
