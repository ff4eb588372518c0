/**
 * Permissions boundaries in the policy engine (AWS IAM User Guide, "Permissions boundaries for IAM
 * entities"): an action is allowed only when an identity policy AND the boundary allow it; an
 * explicit deny in either wins; no boundary caps nothing. Table of cases.
 */
import { describe, expect, it } from 'vitest';
import { buildRequestContext } from './context.js';
import { evaluate, type Decision } from './evaluate.js';
import { parsePolicy } from './parse-policy.js';

const policy = (effect: 'Allow' | 'Deny', ...actions: string[]) =>
  parsePolicy(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: effect, Action: actions, Resource: '*' }],
    }),
  );

const context = (action: string) =>
  buildRequestContext({
    principal: {
      accountId: '123456789012',
      username: 'alice',
      userid: 'AIDAALICE',
      arn: 'arn:aws:iam::123456789012:user/alice',
    },
    action,
    resource: '*',
    nowMs: Date.UTC(2026, 0, 1),
    credential: 'session',
    mfa: null,
  });

const CASES: Array<{
  name: string;
  identity: string[];
  boundary: 'none' | string[] | { deny: string[] };
  action: string;
  decision: Decision;
  reason?: string;
}> = [
  {
    name: 'no boundary: the identity policy decides',
    identity: ['iam:ListUsers'],
    boundary: 'none',
    action: 'iam:ListUsers',
    decision: 'Allow',
  },
  {
    name: 'both allow',
    identity: ['iam:ListUsers'],
    boundary: ['iam:List*'],
    action: 'iam:ListUsers',
    decision: 'Allow',
  },
  {
    name: 'the boundary does not allow it',
    identity: ['iam:ListUsers', 'iam:ListPolicies'],
    boundary: ['iam:ListPolicies'],
    action: 'iam:ListUsers',
    decision: 'ImplicitDeny',
    reason: 'not-allowed-by-permissions-boundary',
  },
  {
    name: 'the boundary alone grants nothing',
    identity: [],
    boundary: ['*'],
    action: 'iam:ListUsers',
    decision: 'ImplicitDeny',
    reason: 'no-identity-allow',
  },
  {
    name: 'an explicit deny in the boundary wins',
    identity: ['*'],
    boundary: { deny: ['iam:ListUsers'] },
    action: 'iam:ListUsers',
    decision: 'ExplicitDeny',
  },
];

describe('permissions boundaries cap identity policies', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const boundary =
        c.boundary === 'none'
          ? null
          : Array.isArray(c.boundary)
            ? policy('Allow', ...c.boundary)
            : parsePolicy(
                JSON.stringify({
                  Version: '2012-10-17',
                  Statement: [
                    { Effect: 'Allow', Action: '*', Resource: '*' },
                    { Effect: 'Deny', Action: c.boundary.deny, Resource: '*' },
                  ],
                }),
              );
      const result = evaluate({
        identityPolicies: c.identity.length === 0 ? [] : [policy('Allow', ...c.identity)],
        accountPolicies: [],
        boundary,
        context: context(c.action),
      });
      expect(result.decision).toBe(c.decision);
      if (c.reason !== undefined) expect(result.implicitDenyReason).toBe(c.reason);
      if (c.decision === 'ExplicitDeny') expect(result.matchedStatements[0]!.set).toBe('boundary');
    });
  }
});
