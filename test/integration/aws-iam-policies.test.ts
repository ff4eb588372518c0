/**
 * Customer managed policies through the AWS SDK for JavaScript v3, on SQLite and PostgreSQL:
 * AWS-shaped ids, paths and tags, the five-version limit and the default version (the document
 * the policy engine evaluates), deletion conflicts, IAM's document checks with IAM's messages,
 * list pagination, and the guardrails answering AccessDenied before anything is looked up.
 */
import {
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DetachUserPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  ListEntitiesForPolicyCommand,
  ListPoliciesCommand,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
  ListUsersCommand,
  SetDefaultPolicyVersionCommand,
  TagPolicyCommand,
  UntagPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { iamWorld, sdkError, type IamWorld } from '../helpers/aws-iam-sdk.js';

const allow = (action: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'Read', Effect: 'Allow', Action: action, Resource: '*' }],
  });

describe.each(DATABASE_KINDS)('IAM managed policies through the JS SDK [$name]', ({ name }) => {
  let w: IamWorld;
  beforeAll(async () => {
    w = await iamWorld(name);
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('creates a policy with an ANPA id, a path and tags, and echoes no Description', async () => {
    const created = await w.admin.iam.send(
      new CreatePolicyCommand({
        PolicyName: 'ListPeople',
        Path: '/team/',
        PolicyDocument: allow('iam:ListUsers'),
        Description: 'lets a user list users',
        Tags: [{ Key: 'owner', Value: 'platform' }],
      }),
    );
    const p = created.Policy!;
    expect(p.PolicyId).toMatch(/^ANPA[A-Z2-7]{17}$/);
    expect(p.Arn).toBe(`arn:aws:iam::${w.accountId}:policy/team/ListPeople`);
    expect(p.Path).toBe('/team/');
    expect(p.DefaultVersionId).toBe('v1');
    expect(p.AttachmentCount).toBe(0);
    expect(p.Description).toBeUndefined();
    expect(p.Tags).toEqual([{ Key: 'owner', Value: 'platform' }]);
    const got = (await w.admin.iam.send(new GetPolicyCommand({ PolicyArn: p.Arn }))).Policy!;
    expect(got.Description).toBe('lets a user list users');
    expect(got.PolicyId).toBe(p.PolicyId);
    const again = await sdkError(
      w.admin.iam.send(
        new CreatePolicyCommand({ PolicyName: 'ListPeople', PolicyDocument: allow('iam:GetUser') }),
      ),
    );
    expect(again).toEqual({
      code: 'EntityAlreadyExists',
      message: 'A policy called ListPeople already exists. Duplicate names are not allowed.',
    });
    // The ARN must name the policy's path: the same name elsewhere is another (absent) policy.
    const wrongPath = await sdkError(
      w.admin.iam.send(new GetPolicyCommand({ PolicyArn: `arn:aws:iam::${w.accountId}:policy/ListPeople` })),
    );
    expect(wrongPath.code).toBe('NoSuchEntity');
    expect(wrongPath.message).toBe(
      `Policy arn:aws:iam::${w.accountId}:policy/ListPeople does not exist or is not attachable.`,
    );
  });

  it('refuses documents as IAM does, with its messages and nothing stored', async () => {
    const cases: Array<[string, string]> = [
      [
        JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }] }),
        'Policy document must be version 2012-10-17 or greater.',
      ],
      [
        JSON.stringify({
          Version: '2008-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }],
        }),
        'Policy document must be version 2012-10-17 or greater.',
      ],
      [
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Sid: 'no-dashes', Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }],
        }),
        'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*',
      ],
      [
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: 'user/alice' }],
        }),
        'Resource user/alice must be in ARN format or "*".',
      ],
      [
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 'iam:GetUser', Resource: '*' }],
        }),
        'Policy document should not specify a principal.',
      ],
      ['{"Version": "2012-10-17", "Statement": [', 'Syntax errors in policy.'],
    ];
    for (const [document, message] of cases) {
      const refused = await sdkError(
        w.admin.iam.send(new CreatePolicyCommand({ PolicyName: 'Broken', PolicyDocument: document })),
      );
      expect(refused, document).toEqual({ code: 'MalformedPolicyDocument', message });
    }
    // Holdfast's own linter: the reason without its finding code.
    const lint = await sdkError(
      w.admin.iam.send(
        new CreatePolicyCommand({
          PolicyName: 'Broken',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Deny',
                Action: '*',
                Resource: '*',
                Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } },
              },
            ],
          }),
        }),
      ),
    );
    expect(lint.code).toBe('MalformedPolicyDocument');
    expect(lint.message).not.toMatch(/^[A-Z_]+:/);
    const listed = await w.admin.iam.send(new ListPoliciesCommand({ Scope: 'Local' }));
    expect(listed.Policies!.map((p) => p.PolicyName)).not.toContain('Broken');
  });

  it('keeps five versions, and the default version is what the policy engine evaluates', async () => {
    const arn = `arn:aws:iam::${w.accountId}:policy/team/ListPeople`;
    // Before the policy is attached, the plain user may not list users.
    expect((await sdkError(w.user.iam.send(new ListUsersCommand({})))).code).toBe('AccessDenied');
    await w.admin.iam.send(new AttachUserPolicyCommand({ UserName: w.user.username, PolicyArn: arn }));
    expect((await w.user.iam.send(new ListUsersCommand({}))).Users!.length).toBeGreaterThan(1);

    const v2 = await w.admin.iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: arn,
        PolicyDocument: allow('iam:GetUser'),
        SetAsDefault: true,
      }),
    );
    expect(v2.PolicyVersion).toMatchObject({ VersionId: 'v2', IsDefaultVersion: true });
    expect(v2.PolicyVersion!.Document).toBeUndefined();
    expect((await sdkError(w.user.iam.send(new ListUsersCommand({})))).code).toBe('AccessDenied');

    for (const action of ['iam:ListGroups', 'iam:ListRoles', 'iam:ListPolicies'])
      await w.admin.iam.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: allow(action) }),
      );
    const full = await sdkError(
      w.admin.iam.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: allow('iam:GetUser') }),
      ),
    );
    expect(full).toEqual({
      code: 'LimitExceeded',
      message:
        'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
    });
    const versions = (await w.admin.iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions!;
    expect(versions.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
      ['v5', false],
      ['v4', false],
      ['v3', false],
      ['v2', true],
      ['v1', false],
    ]);
    expect(
      await sdkError(w.admin.iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v2' }))),
    ).toEqual({ code: 'DeleteConflict', message: 'Cannot delete the default version of a policy.' });

    // Back to v1: the user lists users again; the document comes back URL-encoded, as IAM sends it.
    await w.admin.iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));
    expect((await w.user.iam.send(new ListUsersCommand({}))).Users!.length).toBeGreaterThan(1);
    const v1 = (await w.admin.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' })))
      .PolicyVersion!;
    expect(v1.IsDefaultVersion).toBe(true);
    expect(v1.Document).toBe(encodeURIComponent(allow('iam:ListUsers')));

    // Version ids are never reused.
    await w.admin.iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v5' }));
    const v6 = await w.admin.iam.send(
      new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: allow('iam:GetUser') }),
    );
    expect(v6.PolicyVersion!.VersionId).toBe('v6');
    const missing = await sdkError(
      w.admin.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v5' })),
    );
    expect(missing).toEqual({
      code: 'NoSuchEntity',
      message: `Policy ${arn} version v5 does not exist or is not attachable.`,
    });

    // Setting a default without the MFA condition is audited as a policy change.
    const records = await w.inst.store.audit.scan(0, 1_000_000);
    const change = records.filter((r) => r.action === 'policy.put' && r.target === arn).at(-1)!;
    expect(change.details).toMatchObject({ versionId: 'v1', setAsDefault: true });
  });

  it('lists by scope, path and attachment, one page at a time, and names who holds a policy', async () => {
    await w.admin.iam.send(
      new CreatePolicyCommand({ PolicyName: 'Loose', PolicyDocument: allow('iam:GetUser') }),
    );
    const all = await w.admin.iam.send(new ListPoliciesCommand({ Scope: 'Local' }));
    expect(all.Policies!.map((p) => p.PolicyName).sort()).toEqual(['ListPeople', 'Loose']);
    expect(all.IsTruncated).toBe(false);
    expect(all.Policies!.every((p) => p.Description === undefined && /^ANPA/.test(p.PolicyId!))).toBe(true);
    const attached = await w.admin.iam.send(new ListPoliciesCommand({ OnlyAttached: true }));
    expect(attached.Policies!.map((p) => p.PolicyName)).toEqual(['ListPeople']);
    const byPath = await w.admin.iam.send(new ListPoliciesCommand({ PathPrefix: '/team/' }));
    expect(byPath.Policies!.map((p) => p.PolicyName)).toEqual(['ListPeople']);
    expect((await w.admin.iam.send(new ListPoliciesCommand({ Scope: 'AWS' }))).Policies).toEqual([]);
    const first = await w.admin.iam.send(new ListPoliciesCommand({ MaxItems: 1 }));
    expect(first.IsTruncated).toBe(true);
    const second = await w.admin.iam.send(new ListPoliciesCommand({ MaxItems: 1, Marker: first.Marker }));
    expect(second.IsTruncated).toBe(false);
    expect([first.Policies![0]!.PolicyName, second.Policies![0]!.PolicyName].sort()).toEqual([
      'ListPeople',
      'Loose',
    ]);
    const entities = await w.admin.iam.send(
      new ListEntitiesForPolicyCommand({ PolicyArn: `arn:aws:iam::${w.accountId}:policy/team/ListPeople` }),
    );
    expect(entities.PolicyUsers).toEqual([{ UserName: w.user.username, UserId: w.user.userId }]);
    expect(entities.PolicyGroups ?? []).toEqual([]);
    expect(entities.IsTruncated).toBe(false);
  });

  it('tags: case-insensitive keys, 50 at most, IAM characters, untag by any case', async () => {
    const arn = `arn:aws:iam::${w.accountId}:policy/Loose`;
    await w.admin.iam.send(new TagPolicyCommand({ PolicyArn: arn, Tags: [{ Key: 'Env', Value: 'dev' }] }));
    await w.admin.iam.send(new TagPolicyCommand({ PolicyArn: arn, Tags: [{ Key: 'env', Value: 'prod' }] }));
    expect((await w.admin.iam.send(new ListPolicyTagsCommand({ PolicyArn: arn }))).Tags).toEqual([
      { Key: 'env', Value: 'prod' },
    ]);
    const duplicate = await sdkError(
      w.admin.iam.send(
        new TagPolicyCommand({
          PolicyArn: arn,
          Tags: [
            { Key: 'a', Value: '1' },
            { Key: 'A', Value: '2' },
          ],
        }),
      ),
    );
    expect(duplicate).toEqual({
      code: 'InvalidInput',
      message: 'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
    });
    const badCharacter = await sdkError(
      w.admin.iam.send(new TagPolicyCommand({ PolicyArn: arn, Tags: [{ Key: 'semi;colon', Value: '' }] })),
    );
    expect(badCharacter.code).toBe('ValidationError');
    const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const tooMany = await sdkError(w.admin.iam.send(new TagPolicyCommand({ PolicyArn: arn, Tags: fifty })));
    expect(tooMany).toEqual({
      code: 'LimitExceeded',
      message: 'The number of tags has reached the maximum limit.',
    });
    expect((await w.admin.iam.send(new ListPolicyTagsCommand({ PolicyArn: arn }))).Tags).toHaveLength(1);
    await w.admin.iam.send(new UntagPolicyCommand({ PolicyArn: arn, TagKeys: ['ENV'] }));
    expect((await w.admin.iam.send(new ListPolicyTagsCommand({ PolicyArn: arn }))).Tags ?? []).toEqual([]);
  });

  it('deletes a policy only once it is detached and down to its default version', async () => {
    const arn = `arn:aws:iam::${w.accountId}:policy/team/ListPeople`;
    expect(await sdkError(w.admin.iam.send(new DeletePolicyCommand({ PolicyArn: arn })))).toEqual({
      code: 'DeleteConflict',
      message: 'Cannot delete a policy attached to entities.',
    });
    await w.admin.iam.send(new DetachUserPolicyCommand({ UserName: w.user.username, PolicyArn: arn }));
    const versions = await sdkError(w.admin.iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
    expect(versions.code).toBe('DeleteConflict');
    for (const v of ['v2', 'v3', 'v4', 'v6'])
      await w.admin.iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: v }));
    await w.admin.iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
    expect((await sdkError(w.admin.iam.send(new GetPolicyCommand({ PolicyArn: arn })))).code).toBe(
      'NoSuchEntity',
    );
  });

  it('attack: keys without MFA, or a user without permission, get AccessDenied and never learn what exists', async () => {
    const real = `arn:aws:iam::${w.accountId}:policy/Loose`;
    const absent = `arn:aws:iam::${w.accountId}:policy/NoSuchPolicy`;
    for (const arn of [real, absent]) {
      // The administrator's long-term keys (stolen, no MFA): guardrail G2 refuses first.
      const g2 = await sdkError(
        w.admin.iamWithoutMfa.send(
          new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: allow('*'), SetAsDefault: true }),
        ),
      );
      expect(g2.code).toBe('AccessDenied');
      expect(g2.message).toContain('guardrail G2');
      // A plain user with an MFA session but no permission.
      const denied = await sdkError(w.user.iam.send(new GetPolicyCommand({ PolicyArn: arn })));
      expect(denied.code).toBe('AccessDenied');
      const deleted = await sdkError(w.user.iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
      expect(deleted.code).toBe('AccessDenied');
    }
    // Nothing changed: the policy still has one version, its own; the administrator still works.
    const versions = (await w.admin.iam.send(new ListPolicyVersionsCommand({ PolicyArn: real }))).Versions!;
    expect(versions.map((v) => v.VersionId)).toEqual(['v1']);
  });
});
