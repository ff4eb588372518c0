import { describe, expect, it } from 'vitest';
import { buildRequestContext } from './context.js';
import { evaluate, type EvaluationResult } from './evaluate.js';
import { parsePolicy } from './parse-policy.js';
import { combineSessionPolicies, intersectWithSessionPolicy } from './session-policy.js';

const allow = (sid: string, action: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Allow', Action: action, Resource: '*' }],
  });

function decide(documents: string[], action: string): EvaluationResult['decision'] {
  return evaluate({
    identityPolicies: documents.map((d) => parsePolicy(d)),
    accountPolicies: [],
    context: buildRequestContext({
      principal: {
        accountId: '123456789012',
        userid: 'AROAX',
        arn: 'arn:aws:sts::123456789012:assumed-role/r/s',
      },
      action,
      resource: 'arn:aws:iam::123456789012:role/r',
      nowMs: 1,
      credential: 'session',
      mfa: null,
    }),
  }).decision;
}

describe('session policies', () => {
  const result = (decision: EvaluationResult['decision']): EvaluationResult => ({
    decision,
    matchedStatements: [],
  });

  it.each([
    ['Allow', 'Allow', 'Allow'],
    ['Allow', 'ImplicitDeny', 'ImplicitDeny'],
    ['Allow', 'ExplicitDeny', 'ExplicitDeny'],
    ['ImplicitDeny', 'Allow', 'ImplicitDeny'],
    ['ExplicitDeny', 'Allow', 'ExplicitDeny'],
  ] as const)('own %s with session %s is %s (a session policy only narrows)', (own, session, expected) => {
    expect(intersectWithSessionPolicy(result(own), result(session)).decision).toBe(expected);
  });

  it('joins the inline policy and the managed ones: any of them may allow, Sids stay unique', () => {
    expect(combineSessionPolicies([])).toBeNull();
    expect(combineSessionPolicies([allow('A', 'iam:GetRole')])).toBe(allow('A', 'iam:GetRole'));
    const joined = combineSessionPolicies([allow('A', 'iam:GetRole'), allow('A', 'iam:ListRoles')])!;
    expect(JSON.parse(joined).Statement.map((s: { Sid: string }) => s.Sid)).toEqual(['A', 'A2']);
    expect(decide([joined], 'iam:GetRole')).toBe('Allow');
    expect(decide([joined], 'iam:ListRoles')).toBe('Allow');
    expect(decide([joined], 'iam:DeleteRole')).toBe('ImplicitDeny');
  });
});
