import { describe, expect, it } from 'vitest';

import {
  AWS_ERRORS,
  AwsError,
  awsErrorStatus,
  awsResponseHeaders,
  escapeXmlText,
  formatAwsTimestamp,
  renderXml,
  replaceForbiddenXmlCharacters,
  writeErrorResponse,
  writeSuccessResponse,
  xmlBlob,
  xmlBoolean,
  xmlElement,
  xmlInteger,
  xmlList,
  xmlMap,
  xmlOptionalText,
  xmlStringList,
  xmlText,
  xmlTimestamp,
} from './xml.js';

describe('escaping', () => {
  it('escapes the five XML special characters and CR', () => {
    expect(escapeXmlText(`a&b<c>d"e'f\r\ng\th`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;\ng\th');
  });

  it('does not double-escape an entity-looking text', () => {
    expect(renderXml(xmlText('A', '&amp;'))).toBe('<A>&amp;amp;</A>');
  });

  it.each([
    ['NUL', 'a\u0000b'],
    ['BEL', '\u0007'],
    ['ESC', 'x\u001by'],
    ['U+FFFE', '\uFFFE'],
    ['lone high surrogate', 'a\uD800b'],
    ['lone low surrogate', '\uDC00'],
  ])('refuses %s', (_label, text) => {
    expect(() => escapeXmlText(text)).toThrow('text contains a character XML 1.0 cannot represent');
    expect(() => renderXml(xmlText('A', text))).toThrow('text contains a character XML 1.0 cannot represent');
  });

  it('keeps valid astral characters (surrogate pairs)', () => {
    expect(escapeXmlText('key 🔑')).toBe('key 🔑');
  });

  it('replaces forbidden characters for text that may carry them', () => {
    expect(replaceForbiddenXmlCharacters('a\u0000b\uD800')).toBe('a\uFFFDb\uFFFD');
  });

  it('refuses invalid element names', () => {
    expect(() => xmlText('a b', 'x')).toThrow('invalid XML element name');
    expect(() => xmlElement('<x>', [])).toThrow('invalid XML element name');
    expect(() =>
      writeSuccessResponse({ service: 'iam', action: 'Get"User', requestId: 'r', result: null }),
    ).toThrow('invalid XML element name');
  });
});

describe('values', () => {
  it('writes booleans, integers, timestamps and blobs as AWS does', () => {
    expect(renderXml(xmlBoolean('B', true))).toBe('<B>true</B>');
    expect(renderXml(xmlBoolean('B', false))).toBe('<B>false</B>');
    expect(renderXml(xmlInteger('N', 43200))).toBe('<N>43200</N>');
    expect(() => xmlInteger('N', 1.5)).toThrow('N is not an integer');
    expect(renderXml(xmlTimestamp('T', Date.UTC(2024, 4, 1, 12, 0, 0)))).toBe('<T>2024-05-01T12:00:00Z</T>');
    expect(formatAwsTimestamp(Date.UTC(2011, 6, 11, 19, 55, 29, 611))).toBe('2011-07-11T19:55:29.611Z');
    expect(() => formatAwsTimestamp(Number.NaN)).toThrow('timestamp is not a finite number');
    // The reference's checked example: base64 of the ASCII text JBSWY3DPEHPK3PXP.
    expect(renderXml(xmlBlob('S', new TextEncoder().encode('JBSWY3DPEHPK3PXP')))).toBe(
      '<S>SkJTV1kzRFBFSFBLM1BYUA==</S>',
    );
  });

  it('writes a blob that is a view into a larger buffer from its own bytes only', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    expect(renderXml(xmlBlob('S', backing.subarray(2, 5)))).toBe('<S>AQID</S>');
  });

  it('writes lists with member, maps with entry/key/value, and leaves out absent members', () => {
    expect(renderXml(xmlStringList('PolicyNames', ['a', 'b']))).toBe(
      '<PolicyNames><member>a</member><member>b</member></PolicyNames>',
    );
    expect(renderXml(xmlStringList('PolicyNames', []))).toBe('<PolicyNames/>');
    expect(renderXml(xmlList('Tags', [[xmlText('Key', 'k'), xmlOptionalText('Value', undefined)]]))).toBe(
      '<Tags><member><Key>k</Key></member></Tags>',
    );
    expect(renderXml(xmlMap('SummaryMap', [['Users', '5']]))).toBe(
      '<SummaryMap><entry><key>Users</key><value>5</value></entry></SummaryMap>',
    );
    expect(renderXml(xmlElement('X', [null, undefined, xmlText('Y', '')]))).toBe('<X><Y/></X>');
  });
});

describe('envelopes', () => {
  it('writes the IAM success envelope with its namespace', () => {
    expect(
      writeSuccessResponse({
        service: 'iam',
        action: 'GetUser',
        requestId: 'rid-1',
        result: [xmlElement('User', [xmlText('UserName', 'alice')])],
      }),
    ).toBe(
      '<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User><UserName>alice</UserName></User></GetUserResult>' +
        '<ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata></GetUserResponse>',
    );
  });

  it('writes an action without output as ResponseMetadata only', () => {
    expect(writeSuccessResponse({ service: 'iam', action: 'DeleteUser', requestId: 'r', result: null })).toBe(
      '<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteUserResponse>',
    );
  });

  it('uses the STS namespace for STS', () => {
    expect(
      writeSuccessResponse({ service: 'sts', action: 'GetCallerIdentity', requestId: 'r', result: [] }),
    ).toMatch(
      /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><GetCallerIdentityResult\/>/,
    );
  });

  it('writes the error envelope with Type, Code, Message and RequestId under the root', () => {
    expect(
      writeErrorResponse({
        service: 'iam',
        code: 'NoSuchEntity',
        message: 'The user with name <bob> cannot be found.',
        requestId: 'r-2',
      }),
    ).toBe(
      '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>' +
        '<Message>The user with name &lt;bob&gt; cannot be found.</Message></Error><RequestId>r-2</RequestId></ErrorResponse>',
    );
    expect(writeErrorResponse({ code: 'ServiceFailure', message: 'x\u0000', requestId: 'r' })).toBe(
      '<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>x\uFFFD</Message></Error><RequestId>r</RequestId></ErrorResponse>',
    );
  });
});

describe('error table', () => {
  it('gives the statuses of the reference tables', () => {
    expect(awsErrorStatus('NoSuchEntity')).toBe(404);
    expect(awsErrorStatus('EntityAlreadyExists')).toBe(409);
    expect(awsErrorStatus('DeleteConflict')).toBe(409);
    expect(awsErrorStatus('InvalidAuthenticationCode')).toBe(403);
    expect(awsErrorStatus('AccessDenied')).toBe(403);
    expect(awsErrorStatus('SignatureDoesNotMatch')).toBe(403);
    expect(awsErrorStatus('IncompleteSignature')).toBe(400);
    expect(awsErrorStatus('MissingAuthenticationToken')).toBe(403);
    expect(awsErrorStatus('ValidationError')).toBe(400);
    expect(awsErrorStatus('ServiceFailure')).toBe(500);
  });

  it('answers every Sender fault with a 4xx and no code with the Exception suffix except the STS ones', () => {
    for (const [code, { status, type }] of Object.entries(AWS_ERRORS)) {
      if (type === 'Sender') expect(status, code).toBeLessThan(500);
      else expect(status, code).toBeGreaterThanOrEqual(500);
      if (code.endsWith('Exception'))
        expect([
          'RegionDisabledException',
          'ExpiredTokenException',
          'InvalidAuthorizationMessageException',
        ]).toContain(code);
    }
  });

  it('AwsError carries code, status and type', () => {
    const err = new AwsError('LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2');
    expect(err).toMatchObject({ code: 'LimitExceeded', status: 409, type: 'Sender' });
    expect(err).toBeInstanceOf(Error);
  });

  it('response headers carry text/xml, the request id and an HTTP date', () => {
    expect(awsResponseHeaders({ requestId: 'r', now: Date.UTC(2024, 4, 1, 12, 0, 0) })).toEqual({
      'content-type': 'text/xml',
      'x-amzn-requestid': 'r',
      date: 'Wed, 01 May 2024 12:00:00 GMT',
    });
  });
});
