import { describe, expect, it } from 'vitest';
import { isHoldfastError, type ErrorCode } from '../errors.js';
import { MAX_POLICY_CHARACTERS, PolicyCache, parsePolicy } from './parse-policy.js';

function expectCode(fn: () => unknown, code: ErrorCode): unknown {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isHoldfastError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
  return caught;
}

const ok = { Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' };
const doc = (statement: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statement, ...extra });
const withCondition = (condition: unknown) => doc([{ ...ok, Condition: condition }]);

const MALFORMED: Array<[string, string, ErrorCode]> = [
  ['not JSON', '{"Version": ', 'POLICY_MALFORMED'],
  ['JSON array', '[]', 'POLICY_MALFORMED'],
  ['JSON string', '"policy"', 'POLICY_MALFORMED'],
  ['JSON null', 'null', 'POLICY_MALFORMED'],
  ['unknown top-level key', doc([ok], { Extra: 1 }), 'POLICY_MALFORMED'],
  ['lower-case version key', JSON.stringify({ version: '2012-10-17', Statement: [ok] }), 'POLICY_MALFORMED'],
  ['unknown Version', doc([ok], { Version: '2012-10-18' }), 'POLICY_MALFORMED'],
  ['numeric Version', doc([ok], { Version: 2012 }), 'POLICY_MALFORMED'],
  ['Id not a string', doc([ok], { Id: 5 }), 'POLICY_MALFORMED'],
  ['missing Statement', JSON.stringify({ Version: '2012-10-17' }), 'POLICY_MALFORMED'],
  ['empty Statement list', doc([]), 'POLICY_MALFORMED'],
  ['Statement is a string', doc('Allow'), 'POLICY_MALFORMED'],
  ['statement is null', doc([null]), 'POLICY_MALFORMED'],
  ['unknown statement key', doc([{ ...ok, Actions: 'iam:*' }]), 'POLICY_MALFORMED'],
  ['Principal in an identity policy', doc([{ ...ok, Principal: '*' }]), 'POLICY_MALFORMED'],
  ['NotPrincipal in an identity policy', doc([{ ...ok, NotPrincipal: '*' }]), 'POLICY_MALFORMED'],
  ['missing Effect', doc([{ Action: 'iam:GetUser', Resource: '*' }]), 'POLICY_MALFORMED'],
  ['lower-case Effect', doc([{ ...ok, Effect: 'allow' }]), 'POLICY_MALFORMED'],
  ['Sid not a string', doc([{ ...ok, Sid: 1 }]), 'POLICY_MALFORMED'],
  ['Sid with a space', doc([{ ...ok, Sid: 'my sid' }]), 'POLICY_MALFORMED'],
  [
    'duplicate Sid',
    doc([
      { ...ok, Sid: 'A' },
      { ...ok, Sid: 'A' },
    ]),
    'POLICY_MALFORMED',
  ],
  ['neither Action nor NotAction', doc([{ Effect: 'Allow', Resource: '*' }]), 'POLICY_MALFORMED'],
  ['both Action and NotAction', doc([{ ...ok, NotAction: 'iam:ListUsers' }]), 'POLICY_MALFORMED'],
  ['neither Resource nor NotResource', doc([{ Effect: 'Allow', Action: '*' }]), 'POLICY_MALFORMED'],
  ['both Resource and NotResource', doc([{ ...ok, NotResource: '*' }]), 'POLICY_MALFORMED'],
  ['empty Action list', doc([{ ...ok, Action: [] }]), 'POLICY_MALFORMED'],
  ['empty Resource list', doc([{ ...ok, Resource: [] }]), 'POLICY_MALFORMED'],
  ['Action is a number', doc([{ ...ok, Action: 7 }]), 'POLICY_MALFORMED'],
  ['Action list holds an object', doc([{ ...ok, Action: ['iam:GetUser', {}] }]), 'POLICY_MALFORMED'],
  ['Action without a service', doc([{ ...ok, Action: 'GetUser' }]), 'POLICY_MALFORMED'],
  ['Action with a space', doc([{ ...ok, Action: 'iam:Get User' }]), 'POLICY_MALFORMED'],
  ['Resource not an ARN', doc([{ ...ok, Resource: 'user/alice' }]), 'POLICY_MALFORMED'],
  ['Resource ARN with too few parts', doc([{ ...ok, Resource: 'arn:aws:iam::user' }]), 'POLICY_MALFORMED'],
  [
    'unterminated variable',
    doc([{ ...ok, Resource: 'arn:aws:iam::*:user/${aws:username' }]),
    'POLICY_MALFORMED',
  ],
  [
    'malformed variable',
    doc([{ ...ok, Resource: 'arn:aws:iam::*:user/${aws username}' }]),
    'POLICY_MALFORMED',
  ],
  ['Condition is a string', withCondition('Bool'), 'POLICY_MALFORMED'],
  ['Condition is an array', withCondition([]), 'POLICY_MALFORMED'],
  ['empty Condition', withCondition({}), 'POLICY_MALFORMED'],
  ['operator maps to a string', withCondition({ Bool: 'true' }), 'POLICY_MALFORMED'],
  ['operator with no key', withCondition({ Bool: {} }), 'POLICY_MALFORMED'],
  [
    'condition key without prefix',
    withCondition({ Bool: { MultiFactorAuthPresent: 'true' } }),
    'POLICY_MALFORMED',
  ],
  ['empty value list', withCondition({ StringEquals: { 'aws:username': [] } }), 'POLICY_MALFORMED'],
  ['object value', withCondition({ StringEquals: { 'aws:username': { a: 1 } } }), 'POLICY_MALFORMED'],
  ['null value', withCondition({ StringEquals: { 'aws:username': null } }), 'POLICY_MALFORMED'],
  [
    'unknown operator',
    withCondition({ StringMatches: { 'aws:username': 'a' } }),
    'POLICY_UNSUPPORTED_OPERATOR',
  ],
  [
    'lower-case operator',
    withCondition({ bool: { 'aws:SecureTransport': 'true' } }),
    'POLICY_UNSUPPORTED_OPERATOR',
  ],
  [
    'unknown set qualifier',
    withCondition({ 'ForSomeValues:StringEquals': { 'aws:username': 'a' } }),
    'POLICY_UNSUPPORTED_OPERATOR',
  ],
  [
    'IfExists on Null',
    withCondition({ NullIfExists: { 'aws:username': 'true' } }),
    'POLICY_UNSUPPORTED_OPERATOR',
  ],
  [
    'qualifier on Null',
    withCondition({ 'ForAnyValue:Null': { 'aws:username': 'true' } }),
    'POLICY_UNSUPPORTED_OPERATOR',
  ],
  [
    'IfExists twice',
    withCondition({ BoolIfExistsIfExists: { 'aws:username': 'true' } }),
    'POLICY_UNSUPPORTED_OPERATOR',
  ],
  [
    'prototype name as operator',
    withCondition({ toString: { 'aws:username': 'a' } }),
    'POLICY_UNSUPPORTED_OPERATOR',
  ],
  [
    'Binary operator (unsupported)',
    withCondition({ BinaryEquals: { 'aws:username': 'YQ==' } }),
    'POLICY_UNSUPPORTED_OPERATOR',
  ],
  [
    'Numeric value not a number',
    withCondition({ NumericLessThan: { 'aws:MultiFactorAuthAge': 'soon' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'Numeric value with a unit',
    withCondition({ NumericLessThan: { 'aws:MultiFactorAuthAge': '3600s' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'Date value not a date',
    withCondition({ DateLessThan: { 'aws:CurrentTime': 'tomorrow' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'Date with month 13',
    withCondition({ DateLessThan: { 'aws:CurrentTime': '2026-13-01' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'Bool value yes',
    withCondition({ Bool: { 'aws:MultiFactorAuthPresent': 'yes' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'Null value maybe',
    withCondition({ Null: { 'aws:MultiFactorAuthPresent': 'maybe' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'IpAddress not an address',
    withCondition({ IpAddress: { 'aws:SourceIp': 'localhost' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'IPv4 octet over 255',
    withCondition({ IpAddress: { 'aws:SourceIp': '10.0.0.256/8' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'IPv4 prefix over 32',
    withCondition({ IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'IPv6 prefix over 128',
    withCondition({ NotIpAddress: { 'aws:SourceIp': '2001:db8::/129' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
  [
    'IPv6 with two ::',
    withCondition({ IpAddress: { 'aws:SourceIp': '2001::db8::1' } }),
    'POLICY_CONDITION_VALUE_INVALID',
  ],
];

describe('parsePolicy refuses malformed documents', () => {
  it.each(MALFORMED)('%s', (_name, text, code) => {
    expectCode(() => parsePolicy(text), code);
  });

  it('names the statement index and element in the message', () => {
    const err = expectCode(
      () => parsePolicy(doc([ok, { ...ok, Sid: 'B', Resource: 'nope' }])),
      'POLICY_MALFORMED',
    ) as Error;
    expect(err.message).toContain('Statement[1]');
    expect(err.message).toContain('Resource');
  });

  it('refuses a document over 6,144 non-white-space characters and accepts one at the limit', () => {
    const base = doc([{ ...ok, Sid: 'S' }]);
    const pad = (n: number) => doc([{ ...ok, Sid: 'S'.repeat(n) }]);
    const atLimit = pad(MAX_POLICY_CHARACTERS - base.length + 1);
    expect(atLimit.length).toBe(MAX_POLICY_CHARACTERS);
    expect(parsePolicy(atLimit).statements).toHaveLength(1);
    expectCode(() => parsePolicy(pad(MAX_POLICY_CHARACTERS - base.length + 2)), 'POLICY_TOO_LARGE');
  });

  it('does not count white space towards the size limit', () => {
    const text = doc([ok]).replace('{', '{' + ' \n'.repeat(4_000));
    expect(text.length).toBeGreaterThan(MAX_POLICY_CHARACTERS);
    expect(parsePolicy(text).statements).toHaveLength(1);
  });

  it('refuses huge raw text before parsing even if it is mostly white space', () => {
    expectCode(() => parsePolicy(' '.repeat(200_000) + doc([ok])), 'POLICY_TOO_LARGE');
  });
});

describe('parsePolicy accepts the IAM grammar', () => {
  it('takes a single statement object and string or list elements', () => {
    const p = parsePolicy(
      doc({ Sid: 'One', Effect: 'Deny', NotAction: ['iam:*'], NotResource: 'arn:aws:iam::*:user/x' }),
    );
    expect(p.statements).toHaveLength(1);
    expect(p.statements[0]).toMatchObject({ sid: 'One', effect: 'Deny', index: 0 });
    expect(p.statements[0]!.action.negated).toBe(true);
    expect(p.statements[0]!.resource.negated).toBe(true);
  });

  it('defaults a missing Version to 2008-10-17 as AWS does', () => {
    expect(parsePolicy(JSON.stringify({ Statement: ok })).version).toBe('2008-10-17');
  });

  it('accepts every supported operator with IfExists and set qualifiers', () => {
    const condition = {
      StringEqualsIfExists: { 'aws:username': 'a' },
      'ForAnyValue:StringLike': { 'holdfast:Tags': ['a*'] },
      'ForAllValues:NumericLessThanIfExists': { 'holdfast:Counts': 3 },
      DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z', 'aws:EpochTime': 1_600_000_000 },
      Bool: { 'aws:MultiFactorAuthPresent': true },
      IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32', '::ffff:192.0.2.0/120'] },
      Null: { 'aws:MultiFactorAuthAge': false },
      ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/*' },
    };
    const p = parsePolicy(withCondition(condition));
    expect(p.statements[0]!.conditions).toHaveLength(9);
  });

  it('accepts an empty Sid and Sids that differ only in position', () => {
    expect(
      parsePolicy(
        doc([
          { ...ok, Sid: '' },
          { ...ok, Sid: '' },
        ]),
      ).statements,
    ).toHaveLength(2);
  });
});

describe('PolicyCache', () => {
  it('returns the same compiled policy for the same text and evicts the least recently used', () => {
    const cache = new PolicyCache(2);
    const a = doc([{ ...ok, Sid: 'A' }]);
    const b = doc([{ ...ok, Sid: 'B' }]);
    const c = doc([{ ...ok, Sid: 'C' }]);
    const first = cache.get(a);
    expect(cache.get(a)).toBe(first);
    cache.get(b);
    cache.get(a); // a is now the most recent
    cache.get(c); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.get(a)).toBe(first);
  });

  it('does not cache failures', () => {
    const cache = new PolicyCache();
    expectCode(() => cache.get('{'), 'POLICY_MALFORMED');
    expect(cache.size).toBe(0);
  });
});
