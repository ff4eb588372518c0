/**
 * Policy simulation through the AWS SDK for JavaScript v3, on SQLite and PostgreSQL, on the real
 * decision path: "can DeactivateMFADevice be called without MFA?" answers explicitDeny naming
 * guardrail G1 in AWS's shape; fresh MFA in the context entries turns it into allowed; customer
 * statements are named by their Sid; SimulateCustomPolicy evaluates given documents.
 */
import {
  PutUserPolicyCommand,
  SimulateCustomPolicyCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { iamWorld, sdkError, type IamWorld } from '../helpers/aws-iam-sdk.js';

const mfa = (ageSeconds: number) => [
  {
    ContextKeyName: 'aws:MultiFactorAuthPresent',
    ContextKeyValues: ['true'],
    ContextKeyType: 'boolean' as const,
  },
  {
    ContextKeyName: 'aws:MultiFactorAuthAge',
    ContextKeyValues: [String(ageSeconds)],
    ContextKeyType: 'numeric' as const,
  },
];

describe.each(DATABASE_KINDS)('IAM policy simulation through the JS SDK [$name]', ({ name }) => {
  let w: IamWorld;
  let adminArn: string;
  let userArn: string;
  beforeAll(async () => {
    w = await iamWorld(name);
    adminArn = `arn:aws:iam::${w.accountId}:user/${w.admin.username}`;
    userArn = `arn:aws:iam::${w.accountId}:user/${w.user.username}`;
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('DeactivateMFADevice without MFA: explicitDeny by guardrail G1; with a fresh MFA: allowed', async () => {
    const device = `arn:aws:iam::${w.accountId}:mfa/${w.admin.username}/phone`;
    const without = await w.admin.iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: adminArn,
        ActionNames: ['iam:DeactivateMFADevice'],
        ResourceArns: [device],
      }),
    );
    const r = without.EvaluationResults![0]!;
    expect(r).toMatchObject({
      EvalActionName: 'iam:DeactivateMFADevice',
      EvalResourceName: device,
      EvalDecision: 'explicitDeny',
      MatchedStatements: [{ SourcePolicyId: 'holdfast-guardrail-G1', SourcePolicyType: 'none' }],
      EvalDecisionDetails: { 'holdfast:G1': 'explicitDeny' },
    });
    const fresh = await w.admin.iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: adminArn,
        ActionNames: ['iam:DeactivateMFADevice', 'iam:ListUsers'],
        ContextEntries: mfa(30),
      }),
    );
    expect(fresh.EvaluationResults!.map((e) => [e.EvalActionName, e.EvalDecision])).toEqual([
      ['iam:DeactivateMFADevice', 'allowed'],
      ['iam:ListUsers', 'allowed'],
    ]);
    // An MFA older than the step-up age is not fresh enough for a factor-sensitive action.
    const stale = await w.admin.iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: adminArn,
        ActionNames: ['iam:DeactivateMFADevice'],
        ContextEntries: mfa(86_400),
        MaxItems: 1,
      }),
    );
    expect(stale.EvaluationResults![0]!.EvalDecisionDetails).toEqual({ 'holdfast:G1': 'explicitDeny' });
    expect(stale.IsTruncated).toBe(false);
  });

  it('names the customer statement that decides, and the guardrail when MFA is missing', async () => {
    await w.admin.iam.send(
      new PutUserPolicyCommand({
        UserName: w.user.username,
        PolicyName: 'people',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Sid: 'ListPeople', Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }],
        }),
      }),
    );
    const withMfa = await w.admin.iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: userArn,
        ActionNames: ['iam:ListUsers', 'iam:DeleteUser'],
        ContextEntries: mfa(10),
      }),
    );
    const [list, del] = withMfa.EvaluationResults!;
    expect(list!.EvalDecision).toBe('allowed');
    expect(list!.MatchedStatements!.map((m) => m.SourcePolicyId)).toContainEqual(
      expect.stringMatching(/ListPeople$/),
    );
    expect(del!.EvalDecision).toBe('implicitDeny');
    const noMfa = await w.admin.iam.send(
      new SimulatePrincipalPolicyCommand({ PolicySourceArn: userArn, ActionNames: ['iam:ListUsers'] }),
    );
    expect(noMfa.EvaluationResults![0]!.EvalDecisionDetails).toEqual({ 'holdfast:G2': 'explicitDeny' });
  });

  it('SimulateCustomPolicy evaluates the given documents with the MFA facts given', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'ReadBuckets', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
        {
          Sid: 'NoMfaNoBuckets',
          Effect: 'Deny',
          Action: 's3:*',
          Resource: '*',
          Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
        },
      ],
    });
    const run = (context: ReturnType<typeof mfa> | undefined) =>
      w.admin.iam.send(
        new SimulateCustomPolicyCommand({
          PolicyInputList: [policy],
          ActionNames: ['s3:GetObject', 's3:PutObject'],
          ResourceArns: ['arn:aws:s3:::reports/q1.csv'],
          ...(context === undefined ? {} : { ContextEntries: context }),
        }),
      );
    const without = await run(undefined);
    expect(without.EvaluationResults!.map((e) => e.EvalDecision)).toEqual(['explicitDeny', 'explicitDeny']);
    expect(without.EvaluationResults![0]!.MatchedStatements![0]!.SourcePolicyId).toMatch(/NoMfaNoBuckets$/);
    const withMfa = await run(mfa(5));
    expect(withMfa.EvaluationResults!.map((e) => e.EvalDecision)).toEqual(['allowed', 'implicitDeny']);
  });

  it('attack: stolen keys without MFA cannot simulate, and a bad context entry is refused', async () => {
    for (const arn of [userArn, `arn:aws:iam::${w.accountId}:user/ghost`]) {
      const refused = await sdkError(
        w.admin.iamWithoutMfa.send(
          new SimulatePrincipalPolicyCommand({ PolicySourceArn: arn, ActionNames: ['iam:ListUsers'] }),
        ),
      );
      expect(refused.code).toBe('AccessDenied');
      expect(refused.message).toContain('guardrail G2');
      const user = await sdkError(
        w.user.iam.send(
          new SimulatePrincipalPolicyCommand({ PolicySourceArn: arn, ActionNames: ['iam:ListUsers'] }),
        ),
      );
      expect(user.code).toBe('AccessDenied');
    }
    const bad = await sdkError(
      w.admin.iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: adminArn,
          ActionNames: ['iam:ListUsers'],
          ContextEntries: [
            {
              ContextKeyName: 'aws:MultiFactorAuthAge',
              ContextKeyValues: ['soon'],
              ContextKeyType: 'numeric',
            },
          ],
        }),
      ),
    );
    expect(bad.code).toBe('ValidationError');
  });
});
