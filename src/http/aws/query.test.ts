import { describe, expect, it } from 'vitest';

import {
  invalidAction,
  parseQueryRequest,
  readBoolean,
  readEnum,
  readInteger,
  readString,
  readStringList,
  readStructList,
  readTags,
  validationError,
} from './query.js';
import { AwsError } from './xml.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AwsError);
    return (err as AwsError).code;
  }
  throw new Error('expected an AwsError');
}

function params(body: string): ReadonlyMap<string, string> {
  return parseQueryRequest(`Action=X&Version=2010-05-08&${body}`).params;
}

describe('parseQueryRequest', () => {
  it('parses the botocore example body', () => {
    const req = parseQueryRequest(
      'Action=CreateVirtualMFADevice&Version=2010-05-08&VirtualMFADeviceName=alice&Path=%2F&Tags.member.1.Key=a&Tags.member.1.Value=b',
    );
    expect(req.action).toBe('CreateVirtualMFADevice');
    expect(req.version).toBe('2010-05-08');
    expect([...req.params]).toEqual([
      ['VirtualMFADeviceName', 'alice'],
      ['Path', '/'],
      ['Tags.member.1.Key', 'a'],
      ['Tags.member.1.Value', 'b'],
    ]);
  });

  it('decodes + and %20 alike, and UTF-8 from bytes', () => {
    expect(params('A=a+b&B=a%20b&C=a%2Bb').get('A')).toBe('a b');
    expect(params('A=a+b&B=a%20b&C=a%2Bb').get('B')).toBe('a b');
    expect(params('A=a+b&B=a%20b&C=a%2Bb').get('C')).toBe('a+b');
    const bytes = new TextEncoder().encode('Action=GetUser&Version=2010-05-08&UserName=J%C3%B6rg');
    expect(parseQueryRequest(bytes).params.get('UserName')).toBe('Jörg');
  });

  it('keeps a bare key as an empty value (botocore empty list)', () => {
    expect(params('Tags=').get('Tags')).toBe('');
    expect(params('Tags').get('Tags')).toBe('');
  });

  it('fails with the Query codes', () => {
    expect(codeOf(() => parseQueryRequest('Version=2010-05-08'))).toBe('MissingAction');
    expect(codeOf(() => parseQueryRequest('Action=&Version=2010-05-08'))).toBe('MissingAction');
    expect(codeOf(() => parseQueryRequest('Action=GetUser'))).toBe('MissingParameter');
    expect(codeOf(() => parseQueryRequest('Action=GetUser&Version=2010-05-08&UserName=%E0%A4%A'))).toBe(
      'InvalidParameterValue',
    );
    expect(codeOf(() => parseQueryRequest('Action=GetUser&Version=2010-05-08&A=1&A=2'))).toBe(
      'InvalidParameterValue',
    );
    const many = Array.from({ length: 1001 }, (_, i) => `P${i}=1`).join('&');
    expect(codeOf(() => parseQueryRequest(`Action=X&Version=1&${many}`))).toBe('ValidationError');
  });

  it('builds InvalidAction for the dispatcher', () => {
    expect(invalidAction({ action: 'Nope', version: '2010-05-08' })).toMatchObject({
      code: 'InvalidAction',
      status: 400,
    });
  });
});

describe('readString', () => {
  const p = params('UserName=alice&Empty=&Password=hunter2hunter2');

  it('returns the value, undefined when optional and absent', () => {
    expect(readString(p, 'UserName', { required: true, minLength: 1, maxLength: 64 })).toBe('alice');
    expect(readString(p, 'Path')).toBeUndefined();
  });

  it('fails MissingParameter for an absent required value', () => {
    expect(codeOf(() => readString(p, 'PolicyName', { required: true }))).toBe('MissingParameter');
  });

  it('fails ValidationError on length and pattern, in AWS wording', () => {
    expect(codeOf(() => readString(p, 'Empty', { minLength: 1 }))).toBe('ValidationError');
    expect(codeOf(() => readString(p, 'UserName', { maxLength: 3 }))).toBe('ValidationError');
    expect(codeOf(() => readString(p, 'UserName', { pattern: /^[0-9]+$/ }))).toBe('ValidationError');
    try {
      readString(p, 'UserName', { maxLength: 3 });
    } catch (err) {
      expect((err as Error).message).toBe(
        "1 validation error detected: Value 'alice' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 3",
      );
    }
  });

  it('counts length in characters, not UTF-16 units', () => {
    const q = params(`N=${encodeURIComponent('🔑🔑')}`);
    expect(readString(q, 'N', { maxLength: 2 })).toBe('🔑🔑');
  });

  it('does not echo sensitive values', () => {
    try {
      readString(p, 'Password', { maxLength: 4, sensitive: true });
      throw new Error('accepted');
    } catch (err) {
      expect((err as AwsError).code).toBe('ValidationError');
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(
      validationError({ name: 'TokenCode', value: '123456', constraint: 'c', sensitive: true }).message,
    ).not.toContain('123456');
  });
});

describe('readInteger, readBoolean, readEnum', () => {
  const p = params('D=3600&Neg=-1&Bad=12a&Big=99999999999999999&T=true&F=FALSE&X=yes&S=Active&W=active');

  it('reads integers within bounds', () => {
    expect(readInteger(p, 'D', { min: 900, max: 129600 })).toBe(3600);
    expect(readInteger(p, 'Missing')).toBeUndefined();
    expect(codeOf(() => readInteger(p, 'Missing', { required: true }))).toBe('MissingParameter');
    expect(codeOf(() => readInteger(p, 'D', { max: 3599 }))).toBe('ValidationError');
    expect(codeOf(() => readInteger(p, 'Neg', { min: 0 }))).toBe('ValidationError');
    expect(codeOf(() => readInteger(p, 'Bad'))).toBe('InvalidParameterValue');
    expect(codeOf(() => readInteger(p, 'Big'))).toBe('InvalidParameterValue');
  });

  it('reads booleans', () => {
    expect(readBoolean(p, 'T')).toBe(true);
    expect(readBoolean(p, 'F')).toBe(false);
    expect(readBoolean(p, 'Missing')).toBeUndefined();
    expect(codeOf(() => readBoolean(p, 'X'))).toBe('InvalidParameterValue');
  });

  it('reads enums case-sensitively', () => {
    expect(readEnum(p, 'S', { values: ['Active', 'Inactive'] })).toBe('Active');
    expect(codeOf(() => readEnum(p, 'W', { values: ['Active', 'Inactive'] }))).toBe('ValidationError');
    expect(codeOf(() => readEnum(p, 'Missing', { values: ['Active'], required: true }))).toBe(
      'MissingParameter',
    );
  });
});

describe('member.N lists', () => {
  it('reads string lists in index order, whatever the arrival order', () => {
    const p = params('K.member.10=j&K.member.2=b&K.member.1=a');
    expect(readStringList(p, 'K')).toEqual(['a', 'b', 'j']);
    expect(readStringList(p, 'Other')).toEqual([]);
    expect(readStringList(params('K='), 'K')).toEqual([]);
  });

  it('reads structure lists such as PolicyArns.member.N.arn', () => {
    const p = params('PolicyArns.member.2.arn=arn:two&PolicyArns.member.1.arn=arn:one');
    expect(readStructList(p, 'PolicyArns', { fields: ['arn'] })).toEqual([
      { arn: 'arn:one' },
      { arn: 'arn:two' },
    ]);
    expect(codeOf(() => readStructList(p, 'PolicyArns', { fields: ['Arn'] }))).toBe('InvalidParameterValue');
  });

  it('reads Tags.member.N.Key/Value', () => {
    const p = params(
      'Tags.member.1.Key=team&Tags.member.1.Value=blue&Tags.member.2.Key=empty&Tags.member.2.Value=',
    );
    expect(readTags(p)).toEqual([
      { key: 'team', value: 'blue' },
      { key: 'empty', value: '' },
    ]);
    expect(readTags(params('Tags='))).toEqual([]);
    expect(codeOf(() => readTags(params('Tags.member.1.Value=v')))).toBe('MissingParameter');
    expect(codeOf(() => readTags(params(`Tags.member.1.Key=${'k'.repeat(129)}`)))).toBe('ValidationError');
  });

  it('refuses malformed indexes and too many items', () => {
    expect(codeOf(() => readStringList(params('K.member.0=a'), 'K'))).toBe('InvalidParameterValue');
    expect(codeOf(() => readStringList(params('K.member.01=a'), 'K'))).toBe('InvalidParameterValue');
    expect(codeOf(() => readStringList(params('K.member.x=a'), 'K'))).toBe('InvalidParameterValue');
    expect(codeOf(() => readStringList(params('K.member.1.Sub=a'), 'K'))).toBe('InvalidParameterValue');
    const tags = Array.from({ length: 51 }, (_, i) => `Tags.member.${i + 1}.Key=k${i}`).join('&');
    expect(codeOf(() => readTags(params(tags)))).toBe('ValidationError');
  });
});
