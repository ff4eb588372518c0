/**
 * IAM's document checks (iam-document-rules.ts), from a table: each row a document, the kind of
 * policy, and the message IAM answers with (null: the document passes these checks).
 */
import { describe, expect, it } from 'vitest';
import { iamDocumentFault, type IamDocumentKind } from './iam-document-rules.js';

const stmt = (extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Action: 'iam:GetUser',
  Resource: '*',
  ...extra,
});
const doc = (statement: unknown, version: string | null = '2012-10-17') =>
  JSON.stringify({ ...(version === null ? {} : { Version: version }), Statement: statement });

const SYNTAX = 'Syntax errors in policy.';
const VERSION = 'Policy document must be version 2012-10-17 or greater.';

const CASES: Array<[string, string, IamDocumentKind, string | null]> = [
  ['a plain managed policy', doc([stmt()]), 'managed', null],
  ['one statement as an object', doc(stmt()), 'managed', null],
  ['not JSON', '{"Version": ', 'managed', SYNTAX],
  [
    'an unknown top-level element',
    JSON.stringify({ Version: '2012-10-17', Statement: [stmt()], Extra: 1 }),
    'managed',
    SYNTAX,
  ],
  ['no Statement', JSON.stringify({ Version: '2012-10-17' }), 'managed', SYNTAX],
  ['an Effect that is neither Allow nor Deny', doc([stmt({ Effect: 'allow' })]), 'managed', SYNTAX],
  ['a managed policy without Version', doc([stmt()], null), 'managed', VERSION],
  ['a managed policy in the 2008-10-17 grammar', doc([stmt()], '2008-10-17'), 'managed', VERSION],
  ['an inline policy without Version', doc([stmt()], null), 'inline', null],
  ['an inline policy in the 2008-10-17 grammar', doc([stmt()], '2008-10-17'), 'inline', null],
  ['an unknown Version', doc([stmt()], '2020-01-01'), 'inline', SYNTAX],
  [
    'a Principal',
    doc([stmt({ Principal: '*' })]),
    'managed',
    'Policy document should not specify a principal.',
  ],
  [
    'a Sid outside [0-9A-Za-z]',
    doc([stmt({ Sid: 'read-users' })]),
    'managed',
    'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*',
  ],
  [
    'two statements with one Sid',
    doc([stmt({ Sid: 'A' }), stmt({ Sid: 'A' })]),
    'managed',
    'Statement IDs (SID) in a single policy must be unique.',
  ],
  ['an empty Sid twice', doc([stmt({ Sid: '' }), stmt({ Sid: '' })]), 'managed', null],
  [
    'no Action',
    doc([{ Effect: 'Allow', Resource: '*' }]),
    'managed',
    'Policy statement must contain actions.',
  ],
  [
    'no Resource',
    doc([{ Effect: 'Allow', Action: 'iam:GetUser' }]),
    'managed',
    'Policy statement must contain resources.',
  ],
  [
    'NotResource instead of Resource',
    doc([{ Effect: 'Allow', Action: 'iam:GetUser', NotResource: 'arn:aws:iam::*:user/root' }]),
    'managed',
    null,
  ],
  [
    'a resource that is not an ARN',
    doc([stmt({ Resource: 'user/alice' })]),
    'managed',
    'Resource user/alice must be in ARN format or "*".',
  ],
  [
    'an ARN of five parts',
    doc([stmt({ Resource: 'arn:aws:iam::123456789012' })]),
    'managed',
    'Resource arn:aws:iam::123456789012 must be in ARN format or "*".',
  ],
  [
    'an unknown partition',
    doc([stmt({ Resource: 'arn:aws-xx:iam::1:user/a' })]),
    'managed',
    'Partition "aws-xx" is not valid for resource "arn:aws-xx:iam::1:user/a".',
  ],
  ['a wildcard partition', doc([stmt({ Resource: 'arn:*:iam::*:user/a' })]), 'managed', null],
  [
    'an action without a service prefix',
    doc([stmt({ Action: 'GetUser' })]),
    'managed',
    'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.',
  ],
  ['an action list with "*"', doc([stmt({ Action: ['*', 'iam:*'] })]), 'managed', null],
];

describe('IAM document rules, as IAM words them', () => {
  for (const [name, text, kind, expected] of CASES) {
    it(name, () => expect(iamDocumentFault(text, kind)).toBe(expected));
  }
});
