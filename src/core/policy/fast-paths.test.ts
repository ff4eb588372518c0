import { describe, expect, it } from 'vitest';
import { buildRequestContext } from './context.js';
import { evaluate } from './evaluate.js';
import { parsePolicy } from './parse-policy.js';

const ctx = (action: string, resource: string, username = 'alice') =>
  buildRequestContext({
    principal: {
      accountId: '111122223333',
      username,
      userid: 'AIDA1',
      arn: `arn:aws:iam::111122223333:user/${username}`,
    },
    action,
    resource,
    nowMs: 0,
    credential: 'session',
    mfa: null,
  });
const policy = (statement: Record<string, unknown>) =>
  parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', ...statement }] }));
const decide = (p: ReturnType<typeof policy>, action: string, resource: string, username?: string) =>
  evaluate({ identityPolicies: [p], accountPolicies: [], context: ctx(action, resource, username) }).decision;

describe('evaluation fast paths', () => {
  it('a variable followed by a trailing * matches by prefix; the value is literal, not a wildcard', () => {
    const p = policy({ Action: 'iam:GetUser', Resource: 'arn:aws:iam::111122223333:user/${aws:username}*' });
    expect(decide(p, 'iam:GetUser', 'arn:aws:iam::111122223333:user/alice')).toBe('Allow');
    expect(decide(p, 'iam:GetUser', 'arn:aws:iam::111122223333:user/alice/sub')).toBe('Allow');
    expect(decide(p, 'iam:GetUser', 'arn:aws:iam::111122223333:user/bob')).toBe('ImplicitDeny');
    // A user named "a*" must not match "abc": the * in the value is a character.
    expect(decide(p, 'iam:GetUser', 'arn:aws:iam::111122223333:user/abc', 'a*')).toBe('ImplicitDeny');
    expect(decide(p, 'iam:GetUser', 'arn:aws:iam::111122223333:user/a*', 'a*')).toBe('Allow');
  });

  it('refuses variables in actions, so what an action selects depends on the action alone', () => {
    expect(() => policy({ Action: 'holdfast:${aws:username}Read', Resource: '*' })).toThrow(
      /not a valid action/,
    );
  });

  it('remembers which statements an action selects, and the same policy answers each action right', () => {
    const p = parsePolicy(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'iam:List*', Resource: '*' },
          { Effect: 'Deny', NotAction: ['iam:ListUsers'], Resource: '*' },
        ],
      }),
    );
    for (let round = 0; round < 3; round++) {
      expect(decide(p, 'iam:ListUsers', '*')).toBe('Allow');
      expect(decide(p, 'iam:ListGroups', '*')).toBe('ExplicitDeny');
      expect(decide(p, 'iam:GetUser', '*')).toBe('ExplicitDeny');
      expect(decide(p, 'IAM:LISTUSERS', '*')).toBe('Allow');
    }
  });
});
