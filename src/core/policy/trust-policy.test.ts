import { describe, expect, it } from 'vitest';
import { HoldfastError } from '../errors.js';
import { parseRoleArn, roleArn } from './arn.js';
import { evaluate } from './evaluate.js';
import { buildRequestContext } from './context.js';
import {
  parseTrustPolicy,
  trustNamesCaller,
  trustStatementMatches,
  trustsOnlyServices,
} from './trust-policy.js';

const ACCOUNT = '123456789012';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;

function trust(statement: Record<string, unknown> | Record<string, unknown>[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statement });
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof HoldfastError) return err.code;
    throw err;
  }
  throw new Error('expected a HoldfastError');
}

describe('role ARNs', () => {
  it.each([
    [`arn:aws:iam::${ACCOUNT}:role/admin`, { accountId: ACCOUNT, path: '/', name: 'admin' }],
    [
      `arn:aws:iam::${ACCOUNT}:role/ops/team/admin`,
      { accountId: ACCOUNT, path: '/ops/team/', name: 'admin' },
    ],
    [
      `arn:aws:iam::${ACCOUNT}:role/a+b=c,d.e@f-g_h`,
      { accountId: ACCOUNT, path: '/', name: 'a+b=c,d.e@f-g_h' },
    ],
  ])('reads %s and builds it back', (arn, parsed) => {
    expect(parseRoleArn(arn)).toEqual(parsed);
    expect(roleArn(parsed)).toBe(arn);
  });

  it.each([
    `arn:aws:iam::${ACCOUNT}:user/admin`,
    `arn:aws:iam::12345:role/admin`,
    `arn:aws:sts::${ACCOUNT}:assumed-role/admin/s`,
    `arn:aws:iam::${ACCOUNT}:role/`,
    `arn:aws:iam::${ACCOUNT}:role/${'x'.repeat(65)}`,
    `arn:aws:iam::${ACCOUNT}:role/has space`,
    'admin',
  ])('refuses %s', (arn) => {
    expect(parseRoleArn(arn)).toBeNull();
  });
});

describe('trust policies', () => {
  it('reads AWS principals as ARNs, account ids or "*"', () => {
    const [one, two, three] = parseTrustPolicy(
      trust([
        { Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'sts:AssumeRole' },
        { Effect: 'Allow', Principal: { AWS: [ACCOUNT, '*'] }, Action: 'sts:AssumeRole' },
        { Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' },
      ]),
    );
    expect(one!.aws).toEqual([ALICE]);
    expect(two!.aws).toBe('*');
    expect(three!.aws).toBe('*');
  });

  it('keeps service principals but never matches them', () => {
    const statements = parseTrustPolicy(
      trust({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    );
    expect(statements[0]!.others).toEqual(['Service:ec2.amazonaws.com']);
    expect(trustsOnlyServices(statements)).toBe(true);
    expect(trustStatementMatches(statements[0]!, { accountId: ACCOUNT, arns: [ALICE] })).toBe(false);
  });

  it('matches the caller by its ARN, its account id or its account root', () => {
    const caller = { accountId: ACCOUNT, arns: [ALICE] };
    for (const principal of [ALICE, ACCOUNT, `arn:aws:iam::${ACCOUNT}:root`]) {
      const [s] = parseTrustPolicy(
        trust({ Effect: 'Allow', Principal: { AWS: principal }, Action: 'sts:AssumeRole' }),
      );
      expect(trustStatementMatches(s!, caller)).toBe(true);
    }
    const [other] = parseTrustPolicy(
      trust({
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/bob` },
        Action: 'sts:AssumeRole',
      }),
    );
    expect(trustStatementMatches(other!, caller)).toBe(false);
    expect(trustStatementMatches(other!, { accountId: '210987654321', arns: [] })).toBe(false);
  });

  it('names the caller only when its own ARN is listed (not "*", not its account)', () => {
    const caller = { accountId: ACCOUNT, arns: [ALICE] };
    const named = parseTrustPolicy(
      trust({ Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'sts:AssumeRole' }),
    );
    const account = parseTrustPolicy(
      trust({ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole' }),
    );
    const anyone = parseTrustPolicy(trust({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }));
    expect(trustNamesCaller(named, caller)).toBe(true);
    expect(trustNamesCaller(account, caller)).toBe(false);
    expect(trustNamesCaller(anyone, caller)).toBe(false);
  });

  it('evaluates MFA conditions as identity policies do', () => {
    const [s] = parseTrustPolicy(
      trust({
        Effect: 'Allow',
        Principal: { AWS: ACCOUNT },
        Action: 'sts:AssumeRole',
        Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
      }),
    );
    const decide = (mfa: boolean) =>
      evaluate({
        identityPolicies: [s!.compiled],
        accountPolicies: [],
        context: buildRequestContext({
          principal: { accountId: ACCOUNT, username: 'alice', userid: 'AIDAX', arn: ALICE },
          action: 'sts:AssumeRole',
          resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
          nowMs: 1_000_000,
          credential: mfa ? 'session' : 'long-term-key',
          mfa: mfa
            ? {
                authenticatedAtMs: 1_000_000,
                assurance: 'software_otp',
                factorKind: 'totp',
                phishingResistant: false,
              }
            : null,
        }),
      }).decision;
    expect(decide(true)).toBe('Allow');
    expect(decide(false)).not.toBe('Allow');
  });

  it.each([
    ['not JSON', '{'],
    ['no Statement', JSON.stringify({ Version: '2012-10-17' })],
    ['an empty Statement list', trust([])],
    ['a statement that is not an object', trust(['x' as unknown as Record<string, unknown>])],
    ['no Principal', trust({ Effect: 'Allow', Action: 'sts:AssumeRole' })],
    ['NotPrincipal', trust({ Effect: 'Allow', NotPrincipal: { AWS: ALICE }, Action: 'sts:AssumeRole' })],
    ['a Resource', trust({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole', Resource: '*' })],
    ['a non-string principal', trust({ Effect: 'Allow', Principal: { AWS: [3] }, Action: 'sts:AssumeRole' })],
    [
      'an unknown principal kind',
      trust({ Effect: 'Allow', Principal: { Robot: 'x' }, Action: 'sts:AssumeRole' }),
    ],
    ['an empty principal object', trust({ Effect: 'Allow', Principal: {}, Action: 'sts:AssumeRole' })],
    ['a bad Effect', trust({ Effect: 'Maybe', Principal: '*', Action: 'sts:AssumeRole' })],
  ])('refuses %s as POLICY_MALFORMED', (_what, text) => {
    expect(codeOf(() => parseTrustPolicy(text))).toBe('POLICY_MALFORMED');
  });
});
