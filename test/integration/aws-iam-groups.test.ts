/**
 * IAM groups through the AWS SDK for JavaScript v3, on SQLite and PostgreSQL: paths and AGPA
 * ids, membership, inline and attached policies that really grant (a member gains what the
 * group holds), renames, deletion conflicts, IAM's wording for missing and duplicate entities,
 * pagination, and the guardrails answering AccessDenied, never NoSuchEntity, to a caller they
 * refuse.
 */
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  DeleteGroupCommand,
  DeleteGroupPolicyCommand,
  DetachGroupPolicyCommand,
  GetGroupCommand,
  GetGroupPolicyCommand,
  ListAttachedGroupPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsCommand,
  ListGroupsForUserCommand,
  ListPoliciesCommand,
  ListUsersCommand,
  PutGroupPolicyCommand,
  RemoveUserFromGroupCommand,
  UpdateGroupCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { iamWorld, sdkError, type IamWorld } from '../helpers/aws-iam-sdk.js';

const allow = (action: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });

describe.each(DATABASE_KINDS)('IAM groups through the JS SDK [$name]', ({ name }) => {
  let w: IamWorld;
  beforeAll(async () => {
    w = await iamWorld(name);
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('creates groups at paths with AGPA ids; names are unique without regard to case', async () => {
    const created = (await w.admin.iam.send(new CreateGroupCommand({ GroupName: 'Readers', Path: '/eng/' })))
      .Group!;
    expect(created).toMatchObject({
      GroupName: 'Readers',
      Path: '/eng/',
      Arn: `arn:aws:iam::${w.accountId}:group/eng/Readers`,
    });
    expect(created.GroupId).toMatch(/^AGPA[A-Z2-7]{17}$/);
    await w.admin.iam.send(new CreateGroupCommand({ GroupName: 'Auditors' }));
    expect(await sdkError(w.admin.iam.send(new CreateGroupCommand({ GroupName: 'readers' })))).toEqual({
      code: 'EntityAlreadyExists',
      message: 'Group with name readers already exists.',
    });
    const byPath = await w.admin.iam.send(new ListGroupsCommand({ PathPrefix: '/eng/' }));
    expect(byPath.Groups!.map((g) => g.GroupName)).toEqual(['Readers']);
    const first = await w.admin.iam.send(new ListGroupsCommand({ MaxItems: 1 }));
    expect(first.IsTruncated).toBe(true);
    const rest = await w.admin.iam.send(new ListGroupsCommand({ Marker: first.Marker! }));
    expect([...first.Groups!, ...rest.Groups!].map((g) => g.GroupName).sort()).toEqual([
      'Auditors',
      'Readers',
    ]);
    expect(await sdkError(w.admin.iam.send(new GetGroupCommand({ GroupName: 'Nobody' })))).toEqual({
      code: 'NoSuchEntity',
      message: 'The group with name Nobody cannot be found.',
    });
  });

  it('a member gains what the group holds, inline and attached, and loses it on leaving', async () => {
    expect((await sdkError(w.user.iam.send(new ListUsersCommand({})))).code).toBe('AccessDenied');
    await w.admin.iam.send(new AddUserToGroupCommand({ GroupName: 'Readers', UserName: w.user.username }));
    await w.admin.iam.send(
      new PutGroupPolicyCommand({
        GroupName: 'Readers',
        PolicyName: 'people',
        PolicyDocument: allow('iam:ListUsers'),
      }),
    );
    expect((await w.user.iam.send(new ListUsersCommand({}))).Users!.length).toBeGreaterThan(1);

    const policy = await w.admin.iam.send(
      new CreatePolicyCommand({ PolicyName: 'SeePolicies', PolicyDocument: allow('iam:ListPolicies') }),
    );
    const arn = policy.Policy!.Arn!;
    expect((await sdkError(w.user.iam.send(new ListPoliciesCommand({})))).code).toBe('AccessDenied');
    await w.admin.iam.send(new AttachGroupPolicyCommand({ GroupName: 'Readers', PolicyArn: arn }));
    await w.user.iam.send(new ListPoliciesCommand({}));

    const group = await w.admin.iam.send(new GetGroupCommand({ GroupName: 'Readers' }));
    expect(group.Users!.map((u) => u.UserName)).toEqual([w.user.username]);
    expect(group.IsTruncated).toBe(false);
    const forUser = await w.admin.iam.send(new ListGroupsForUserCommand({ UserName: w.user.username }));
    expect(forUser.Groups!.map((g) => g.GroupName)).toEqual(['Readers']);
    expect(
      (await w.admin.iam.send(new ListGroupPoliciesCommand({ GroupName: 'Readers' }))).PolicyNames,
    ).toEqual(['people']);
    const inline = await w.admin.iam.send(
      new GetGroupPolicyCommand({ GroupName: 'Readers', PolicyName: 'people' }),
    );
    expect(decodeURIComponent(inline.PolicyDocument!)).toBe(allow('iam:ListUsers'));
    expect(
      (await w.admin.iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: 'Readers' })))
        .AttachedPolicies,
    ).toEqual([{ PolicyName: 'SeePolicies', PolicyArn: arn }]);

    await w.admin.iam.send(
      new RemoveUserFromGroupCommand({ GroupName: 'Readers', UserName: w.user.username }),
    );
    expect((await sdkError(w.user.iam.send(new ListUsersCommand({})))).code).toBe('AccessDenied');
    expect((await sdkError(w.user.iam.send(new ListPoliciesCommand({})))).code).toBe('AccessDenied');
    expect(
      await sdkError(
        w.admin.iam.send(new AddUserToGroupCommand({ GroupName: 'Readers', UserName: 'ghost' })),
      ),
    ).toEqual({ code: 'NoSuchEntity', message: 'The user with name ghost cannot be found.' });
  });

  it('renames and moves a group; deletes it only once it is empty', async () => {
    await w.admin.iam.send(new AddUserToGroupCommand({ GroupName: 'Readers', UserName: w.user.username }));
    await w.admin.iam.send(
      new UpdateGroupCommand({ GroupName: 'Readers', NewGroupName: 'Viewers', NewPath: '/ops/' }),
    );
    const moved = (await w.admin.iam.send(new GetGroupCommand({ GroupName: 'Viewers' }))).Group!;
    expect(moved.Arn).toBe(`arn:aws:iam::${w.accountId}:group/ops/Viewers`);
    expect((await sdkError(w.admin.iam.send(new GetGroupCommand({ GroupName: 'Readers' })))).code).toBe(
      'NoSuchEntity',
    );
    const conflicts = [
      'Cannot delete entity, must remove users from group first.',
      'Cannot delete entity, must delete policies first.',
      'Cannot delete entity, must detach all policies first.',
    ];
    const steps = [
      () =>
        w.admin.iam.send(new RemoveUserFromGroupCommand({ GroupName: 'Viewers', UserName: w.user.username })),
      () => w.admin.iam.send(new DeleteGroupPolicyCommand({ GroupName: 'Viewers', PolicyName: 'people' })),
      () =>
        w.admin.iam.send(
          new DetachGroupPolicyCommand({
            GroupName: 'Viewers',
            PolicyArn: `arn:aws:iam::${w.accountId}:policy/SeePolicies`,
          }),
        ),
    ];
    for (const [i, message] of conflicts.entries()) {
      expect(await sdkError(w.admin.iam.send(new DeleteGroupCommand({ GroupName: 'Viewers' })))).toEqual({
        code: 'DeleteConflict',
        message,
      });
      await steps[i]!();
    }
    await w.admin.iam.send(new DeleteGroupCommand({ GroupName: 'Viewers' }));
    expect((await w.admin.iam.send(new ListGroupsCommand({}))).Groups!.map((g) => g.GroupName)).toEqual([
      'Auditors',
    ]);
  });

  it('attack: stolen keys without MFA, or a user without permission, learn nothing and change nothing', async () => {
    for (const group of ['Auditors', 'NoSuchGroup']) {
      // The administrator's long-term keys: G2 refuses before any lookup, existing group or not.
      const g2 = await sdkError(
        w.admin.iamWithoutMfa.send(
          new PutGroupPolicyCommand({ GroupName: group, PolicyName: 'all', PolicyDocument: allow('*') }),
        ),
      );
      expect(g2.code).toBe('AccessDenied');
      expect(g2.message).toContain('guardrail G2');
      const join = await sdkError(
        w.admin.iamWithoutMfa.send(
          new AddUserToGroupCommand({ GroupName: group, UserName: w.user.username }),
        ),
      );
      expect(join.code).toBe('AccessDenied');
      // The plain user, MFA session, no permission: cannot add itself to a group either.
      const self = await sdkError(
        w.user.iam.send(new AddUserToGroupCommand({ GroupName: group, UserName: w.user.username })),
      );
      expect(self.code).toBe('AccessDenied');
      expect((await sdkError(w.user.iam.send(new GetGroupCommand({ GroupName: group })))).code).toBe(
        'AccessDenied',
      );
    }
    const auditors = await w.admin.iam.send(new GetGroupCommand({ GroupName: 'Auditors' }));
    expect(auditors.Users).toEqual([]);
    expect(
      (await w.admin.iam.send(new ListGroupPoliciesCommand({ GroupName: 'Auditors' }))).PolicyNames,
    ).toEqual([]);
    // Every change above left its record; the refusals left theirs.
    const records = await w.inst.store.audit.scan(0, 1_000_000);
    expect(records.some((r) => r.action === 'group.update')).toBe(true);
    expect(records.some((r) => r.action === 'group.delete')).toBe(true);
  });
});
