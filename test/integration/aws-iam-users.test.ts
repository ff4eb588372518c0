/**
 * IAM users through the AWS SDK for JavaScript v3, on SQLite and PostgreSQL: paths, tags (kept,
 * returned, validated, never dropped), UpdateUser's rename and move with IAM's wording, and
 * permissions boundaries enforced by the policy engine: a user whose policies allow two actions
 * and whose boundary allows one can do that one only, and removing the boundary is identity
 * administration that stolen keys without MFA cannot do.
 */
import {
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  DeletePolicyCommand,
  DeleteUserCommand,
  DeleteUserPermissionsBoundaryCommand,
  GetPolicyCommand,
  GetUserCommand,
  ListAttachedUserPoliciesCommand,
  ListPoliciesCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
  TagUserCommand,
  UntagUserCommand,
  UpdateUserCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { iamWorld, sdkError, type IamWorld } from '../helpers/aws-iam-sdk.js';

const allow = (...actions: string[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });

describe.each(DATABASE_KINDS)('IAM users through the JS SDK [$name]', ({ name }) => {
  let w: IamWorld;
  let boundaryArn: string;
  beforeAll(async () => {
    w = await iamWorld(name);
    boundaryArn = (
      await w.admin.iam.send(
        new CreatePolicyCommand({ PolicyName: 'OnlyPolicies', PolicyDocument: allow('iam:ListPolicies') }),
      )
    ).Policy!.Arn!;
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('creates a user with a path, tags and a boundary, and shows them back', async () => {
    const created = await w.admin.iam.send(
      new CreateUserCommand({
        UserName: 'build-bot',
        Path: '/ci/',
        Tags: [
          { Key: 'team', Value: 'platform' },
          { Key: 'cost-centre', Value: '' },
        ],
        PermissionsBoundary: boundaryArn,
      }),
    );
    expect(created.User).toMatchObject({
      UserName: 'build-bot',
      Path: '/ci/',
      Arn: `arn:aws:iam::${w.accountId}:user/ci/build-bot`,
      PermissionsBoundary: {
        PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
        PermissionsBoundaryArn: boundaryArn,
      },
    });
    const got = (await w.admin.iam.send(new GetUserCommand({ UserName: 'build-bot' }))).User!;
    expect(got.Tags).toEqual([
      { Key: 'team', Value: 'platform' },
      { Key: 'cost-centre', Value: '' },
    ]);
    expect(got.PermissionsBoundary?.PermissionsBoundaryArn).toBe(boundaryArn);
    const ci = await w.admin.iam.send(new ListUsersCommand({ PathPrefix: '/ci/' }));
    expect(ci.Users!.map((u) => u.UserName)).toEqual(['build-bot']);
    expect(
      (await w.admin.iam.send(new GetPolicyCommand({ PolicyArn: boundaryArn }))).Policy!
        .PermissionsBoundaryUsageCount,
    ).toBe(1);
  });

  it('DeleteUser removes the user with its tags, path and boundary', async () => {
    const created = await w.admin.iam.send(
      new CreateUserCommand({
        UserName: 'short-lived',
        Path: '/tmp/',
        Tags: [{ Key: 'purpose', Value: 'deleted soon' }],
        PermissionsBoundary: boundaryArn,
      }),
    );
    const id = created.User!.UserId!;
    const usage = async () =>
      (await w.admin.iam.send(new GetPolicyCommand({ PolicyArn: boundaryArn }))).Policy!
        .PermissionsBoundaryUsageCount;
    const before = await usage();
    const db = w.inst.database.kysely;
    const rows = (table: 'iam_tags' | 'iam_paths' | 'permissions_boundaries') =>
      db.selectFrom(table).select('subject_id').where('subject_id', '=', id).execute();
    const tables = ['iam_tags', 'iam_paths', 'permissions_boundaries'] as const;
    for (const table of tables) expect(await rows(table), table).toHaveLength(1);
    await w.admin.iam.send(new DeleteUserCommand({ UserName: 'short-lived' }));
    for (const table of tables) expect(await rows(table), table).toEqual([]);
    expect(await usage()).toBe(before! - 1);
  });

  it('refuses bad tags and a missing boundary policy, and creates nothing then', async () => {
    const duplicate = await sdkError(
      w.admin.iam.send(
        new CreateUserCommand({
          UserName: 'twice',
          Tags: [
            { Key: 'Team', Value: 'a' },
            { Key: 'team', Value: 'b' },
          ],
        }),
      ),
    );
    expect(duplicate).toEqual({
      code: 'InvalidInput',
      message: 'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
    });
    const tooMany = await sdkError(
      w.admin.iam.send(
        new CreateUserCommand({
          UserName: 'twice',
          Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
        }),
      ),
    );
    expect(tooMany.code).toBe('ValidationError');
    const longKey = await sdkError(
      w.admin.iam.send(
        new CreateUserCommand({ UserName: 'twice', Tags: [{ Key: 'k'.repeat(129), Value: '' }] }),
      ),
    );
    expect(longKey.code).toBe('ValidationError');
    const reserved = await sdkError(
      w.admin.iam.send(new CreateUserCommand({ UserName: 'twice', Tags: [{ Key: 'aws:team', Value: 'x' }] })),
    );
    expect(reserved.code).toBe('ValidationError');
    const missing = `arn:aws:iam::${w.accountId}:policy/NotThere`;
    expect(
      await sdkError(
        w.admin.iam.send(new CreateUserCommand({ UserName: 'twice', PermissionsBoundary: missing })),
      ),
    ).toEqual({ code: 'NoSuchEntity', message: `Policy ${missing} does not exist or is not attachable.` });
    expect(await sdkError(w.admin.iam.send(new GetUserCommand({ UserName: 'twice' })))).toEqual({
      code: 'NoSuchEntity',
      message: 'The user with name twice cannot be found.',
    });
  });

  it('tags and untags a user (keys compared without regard to case, 50 at most)', async () => {
    await w.admin.iam.send(
      new TagUserCommand({ UserName: 'build-bot', Tags: [{ Key: 'TEAM', Value: 'sre' }] }),
    );
    expect((await w.admin.iam.send(new ListUserTagsCommand({ UserName: 'build-bot' }))).Tags).toEqual([
      { Key: 'TEAM', Value: 'sre' },
      { Key: 'cost-centre', Value: '' },
    ]);
    const full = Array.from({ length: 49 }, (_, i) => ({ Key: `extra${i}`, Value: '' }));
    expect(
      (await sdkError(w.admin.iam.send(new TagUserCommand({ UserName: 'build-bot', Tags: full })))).code,
    ).toBe('LimitExceeded');
    await w.admin.iam.send(new UntagUserCommand({ UserName: 'build-bot', TagKeys: ['team', 'Cost-Centre'] }));
    expect((await w.admin.iam.send(new ListUserTagsCommand({ UserName: 'build-bot' }))).Tags ?? []).toEqual(
      [],
    );
  });

  it('renames and moves a user, with IAM wording for a taken or missing name', async () => {
    await w.admin.iam.send(
      new UpdateUserCommand({ UserName: 'build-bot', NewUserName: 'deploy-bot', NewPath: '/cd/' }),
    );
    const moved = (await w.admin.iam.send(new GetUserCommand({ UserName: 'deploy-bot' }))).User!;
    expect(moved.Arn).toBe(`arn:aws:iam::${w.accountId}:user/cd/deploy-bot`);
    expect(await sdkError(w.admin.iam.send(new GetUserCommand({ UserName: 'build-bot' })))).toEqual({
      code: 'NoSuchEntity',
      message: 'The user with name build-bot cannot be found.',
    });
    expect(
      await sdkError(
        w.admin.iam.send(new UpdateUserCommand({ UserName: 'deploy-bot', NewUserName: w.user.username })),
      ),
    ).toEqual({ code: 'EntityAlreadyExists', message: `User with name ${w.user.username} already exists.` });
  });

  it('a boundary caps what the user’s policies allow, at once, and lifting it restores them', async () => {
    const both = await w.admin.iam.send(
      new CreatePolicyCommand({
        PolicyName: 'UsersAndPolicies',
        PolicyDocument: allow('iam:ListUsers', 'iam:ListPolicies'),
      }),
    );
    await w.admin.iam.send(
      new AttachUserPolicyCommand({ UserName: w.user.username, PolicyArn: both.Policy!.Arn! }),
    );
    expect((await w.user.iam.send(new ListUsersCommand({}))).Users!.length).toBeGreaterThan(1);
    await w.admin.iam.send(
      new PutUserPermissionsBoundaryCommand({ UserName: w.user.username, PermissionsBoundary: boundaryArn }),
    );
    // The boundary allows ListPolicies only: ListUsers is refused though a policy allows it.
    expect((await sdkError(w.user.iam.send(new ListUsersCommand({})))).code).toBe('AccessDenied');
    await w.user.iam.send(new ListPoliciesCommand({}));
    const boundaries = await w.admin.iam.send(
      new ListPoliciesCommand({ PolicyUsageFilter: 'PermissionsBoundary' }),
    );
    expect(boundaries.Policies!.map((p) => p.PolicyName)).toEqual(['OnlyPolicies']);
    // The policy used as a boundary cannot be deleted.
    expect((await sdkError(w.admin.iam.send(new DeletePolicyCommand({ PolicyArn: boundaryArn })))).code).toBe(
      'DeleteConflict',
    );
    await w.admin.iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: w.user.username }));
    expect((await w.user.iam.send(new ListUsersCommand({}))).Users!.length).toBeGreaterThan(1);
    await w.admin.iam.send(
      new PutUserPermissionsBoundaryCommand({ UserName: w.user.username, PermissionsBoundary: boundaryArn }),
    );
  });

  it('attack: the boundary cannot be lifted with stolen keys, by the user itself, or by probing names', async () => {
    for (const userName of [w.user.username, 'no-such-user']) {
      const g2 = await sdkError(
        w.admin.iamWithoutMfa.send(new DeleteUserPermissionsBoundaryCommand({ UserName: userName })),
      );
      expect(g2.code).toBe('AccessDenied');
      expect(g2.message).toContain('guardrail G2');
    }
    const self = await sdkError(
      w.user.iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: w.user.username })),
    );
    expect(self.code).toBe('AccessDenied');
    const widen = await sdkError(
      w.user.iam.send(
        new PutUserPermissionsBoundaryCommand({
          UserName: w.user.username,
          PermissionsBoundary: `arn:aws:iam::${w.accountId}:policy/UsersAndPolicies`,
        }),
      ),
    );
    expect(widen.code).toBe('AccessDenied');
    // Still capped; the administrator still reads the boundary.
    expect((await sdkError(w.user.iam.send(new ListUsersCommand({})))).code).toBe('AccessDenied');
    const user = (await w.admin.iam.send(new GetUserCommand({ UserName: w.user.username }))).User!;
    expect(user.PermissionsBoundary?.PermissionsBoundaryArn).toBe(boundaryArn);
  });

  it('inline user policies: IAM document rules with IAM wording; attached policies listed at their path', async () => {
    const badSid = await sdkError(
      w.admin.iam.send(
        new PutUserPolicyCommand({
          UserName: 'deploy-bot',
          PolicyName: 'p',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Sid: 'has space', Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }],
          }),
        }),
      ),
    );
    expect(badSid.code).toBe('MalformedPolicyDocument');
    expect(badSid.message).toMatch(/^Statement IDs \(SID\) must be alpha-numeric/);
    const pathed = await w.admin.iam.send(
      new CreatePolicyCommand({ PolicyName: 'Pathed', Path: '/ops/', PolicyDocument: allow('iam:GetUser') }),
    );
    await w.admin.iam.send(
      new AttachUserPolicyCommand({ UserName: 'deploy-bot', PolicyArn: pathed.Policy!.Arn! }),
    );
    // The ARN names the path: the same name at another path is no policy.
    const wrongPath = `arn:aws:iam::${w.accountId}:policy/Pathed`;
    expect(
      await sdkError(
        w.admin.iam.send(new AttachUserPolicyCommand({ UserName: 'deploy-bot', PolicyArn: wrongPath })),
      ),
    ).toEqual({ code: 'NoSuchEntity', message: `Policy ${wrongPath} does not exist or is not attachable.` });
    const attached = await w.admin.iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'deploy-bot' }));
    expect(attached.AttachedPolicies).toEqual([{ PolicyName: 'Pathed', PolicyArn: pathed.Policy!.Arn! }]);
    const other = await w.admin.iam.send(
      new ListAttachedUserPoliciesCommand({ UserName: 'deploy-bot', PathPrefix: '/dev/' }),
    );
    expect(other.AttachedPolicies).toEqual([]);
  });

  it('attack: probing user names with stolen keys answers AccessDenied, never NoSuchEntity', async () => {
    for (const userName of ['deploy-bot', 'no-such-user']) {
      const put = await sdkError(
        w.admin.iamWithoutMfa.send(
          new PutUserPolicyCommand({ UserName: userName, PolicyName: 'all', PolicyDocument: allow('*') }),
        ),
      );
      expect(put.code).toBe('AccessDenied');
      expect(put.message).toContain('guardrail G2');
      const attach = await sdkError(
        w.admin.iamWithoutMfa.send(
          new AttachUserPolicyCommand({ UserName: userName, PolicyArn: boundaryArn }),
        ),
      );
      expect(attach.code).toBe('AccessDenied');
    }
  });
});
