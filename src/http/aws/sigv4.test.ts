import { describe, expect, it, vi } from 'vitest';

import {
  SIGV4_ERROR_STATUS,
  SigningKeyCache,
  SigV4Error,
  buildCanonicalRequest,
  buildStringToSign,
  canonicalHeaderValue,
  canonicalQueryString,
  canonicalURI,
  computeSignature,
  credentialScope,
  deriveSigningKey,
  formatAmzDate,
  parseAuthorizationHeader,
  sha256Hex,
  verifySigV4,
  type SigV4Request,
} from './sigv4.js';

/**
 * The worked example of the AWS Signature Version 4 documentation (AWS General Reference,
 * "Signature Version 4 signing process", examples of tasks 1–4: IAM ListUsers, GET, 2015-08-30),
 * stored verbatim.
 */
const AWS_DOC_EXAMPLE = {
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  method: 'GET',
  path: '/',
  query: 'Action=ListUsers&Version=2010-05-08',
  headers: {
    'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
    Host: 'iam.amazonaws.com',
    'X-Amz-Date': '20150830T123600Z',
  },
  canonicalRequest:
    'GET\n/\nAction=ListUsers&Version=2010-05-08\n' +
    'content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n' +
    'content-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  canonicalRequestHash: 'f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59',
  stringToSign:
    'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n' +
    'f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59',
  signingKey: 'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
  signature: '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
  authorization:
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
};

const DOC_NOW = Date.UTC(2015, 7, 30, 12, 36, 0);

function docRequest(overrides: Partial<SigV4Request> = {}): SigV4Request {
  return {
    method: AWS_DOC_EXAMPLE.method,
    path: AWS_DOC_EXAMPLE.path,
    query: AWS_DOC_EXAMPLE.query,
    headers: { ...AWS_DOC_EXAMPLE.headers, Authorization: AWS_DOC_EXAMPLE.authorization },
    body: '',
    ...overrides,
  };
}

const docLookup = async (id: string) =>
  id === 'AKIDEXAMPLE' ? { secretAccessKey: AWS_DOC_EXAMPLE.secretAccessKey, userId: 'u-1' } : null;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SigV4Error);
    return (err as SigV4Error).code;
  }
  throw new Error('expected a SigV4Error');
}

/** Signs a POST the way the SDKs do, from the primitives checked against the AWS example above. */
function signPost(input: {
  secret: string;
  accessKeyId?: string;
  time: number;
  body: string;
  region?: string;
  service?: string;
  extraHeaders?: Record<string, string>;
  scopeDate?: string;
}): SigV4Request {
  const amzDate = formatAmzDate(input.time);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    host: 'localhost:8080',
    'x-amz-date': amzDate,
    ...input.extraHeaders,
  };
  const signedHeaders = Object.keys(headers).sort();
  const scope = credentialScope({
    date: input.scopeDate ?? amzDate.slice(0, 8),
    region: input.region ?? 'us-east-1',
    service: input.service ?? 'iam',
  });
  const canonicalRequest = buildCanonicalRequest({
    method: 'POST',
    path: '/',
    headers,
    signedHeaders,
    payloadHash: sha256Hex(input.body),
  });
  const [date, region, service] = scope.split('/') as [string, string, string];
  const key = deriveSigningKey({ secretAccessKey: input.secret, date, region, service });
  const signature = computeSignature(key, buildStringToSign({ amzDate, scope, canonicalRequest }));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${input.accessKeyId ?? 'AKIAEXAMPLEEXAMPLE12'}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return { method: 'POST', path: '/', headers, body: input.body };
}

describe('SigV4 primitives against the AWS documentation example', () => {
  it('builds the canonical request, string to sign, signing key and signature of the example', () => {
    const canonicalRequest = buildCanonicalRequest({
      method: AWS_DOC_EXAMPLE.method,
      path: AWS_DOC_EXAMPLE.path,
      query: AWS_DOC_EXAMPLE.query,
      headers: AWS_DOC_EXAMPLE.headers,
      signedHeaders: ['content-type', 'host', 'x-amz-date'],
      payloadHash: sha256Hex(''),
    });
    expect(canonicalRequest).toBe(AWS_DOC_EXAMPLE.canonicalRequest);
    expect(sha256Hex(canonicalRequest)).toBe(AWS_DOC_EXAMPLE.canonicalRequestHash);
    const stringToSign = buildStringToSign({
      amzDate: '20150830T123600Z',
      scope: credentialScope({ date: '20150830', region: 'us-east-1', service: 'iam' }),
      canonicalRequest,
    });
    expect(stringToSign).toBe(AWS_DOC_EXAMPLE.stringToSign);
    const key = deriveSigningKey({
      secretAccessKey: AWS_DOC_EXAMPLE.secretAccessKey,
      date: '20150830',
      region: 'us-east-1',
      service: 'iam',
    });
    expect(key.toString('hex')).toBe(AWS_DOC_EXAMPLE.signingKey);
    expect(computeSignature(key, stringToSign)).toBe(AWS_DOC_EXAMPLE.signature);
  });

  it('verifies the example request and returns the lookup data untouched', async () => {
    const verified = await verifySigV4({ request: docRequest(), lookup: docLookup, now: DOC_NOW });
    expect(verified).toMatchObject({
      accessKeyId: 'AKIDEXAMPLE',
      region: 'us-east-1',
      service: 'iam',
      securityToken: undefined,
      signedHeaders: ['content-type', 'host', 'x-amz-date'],
      credential: { userId: 'u-1' },
      requestTime: DOC_NOW,
    });
  });

  it('rejects the example when any signed part changes', async () => {
    const variants: Partial<SigV4Request>[] = [
      { method: 'POST' },
      { path: '/other' },
      { query: 'Action=ListUsers&Version=2010-05-09' },
      { body: 'x' },
      {
        headers: {
          ...AWS_DOC_EXAMPLE.headers,
          Host: 'evil.example',
          Authorization: AWS_DOC_EXAMPLE.authorization,
        },
      },
    ];
    for (const v of variants) {
      expect(await codeOf(verifySigV4({ request: docRequest(v), lookup: docLookup, now: DOC_NOW }))).toBe(
        'SignatureDoesNotMatch',
      );
    }
  });

  it('answers a wrong secret with SignatureDoesNotMatch without leaking the expected signature', async () => {
    const err = await verifySigV4({
      request: docRequest(),
      lookup: async () => ({ secretAccessKey: 'not-the-secret' }),
      now: DOC_NOW,
    }).catch((e: unknown) => e as SigV4Error);
    expect(err).toBeInstanceOf(SigV4Error);
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 403, reason: 'signature' });
    const expectedWithWrongKey = computeSignature(
      deriveSigningKey({
        secretAccessKey: 'not-the-secret',
        date: '20150830',
        region: 'us-east-1',
        service: 'iam',
      }),
      AWS_DOC_EXAMPLE.stringToSign,
    );
    expect((err as Error).message).not.toContain(expectedWithWrongKey);
    expect((err as Error).message).not.toContain('not-the-secret');
    expect((err as Error).message).not.toContain(AWS_DOC_EXAMPLE.signature);
  });
});

describe('canonical parts', () => {
  it('encodes path segments again and resolves dot segments', () => {
    expect(canonicalURI('')).toBe('/');
    expect(canonicalURI('/')).toBe('/');
    expect(canonicalURI('/aws/iam/')).toBe('/aws/iam/');
    expect(canonicalURI('/a%20b/c')).toBe('/a%2520b/c');
    expect(canonicalURI('/a/./b/../c')).toBe('/a/c');
  });

  it('sorts and re-encodes the query string', () => {
    expect(canonicalQueryString('b=2&a=3&a=1&c')).toBe('a=1&a=3&b=2&c=');
    expect(canonicalQueryString('k=a%20b&sp=x*y~')).toBe('k=a%20b&sp=x%2Ay~');
    expect(canonicalQueryString(undefined)).toBe('');
  });

  it('trims header values and collapses inner whitespace', () => {
    expect(canonicalHeaderValue('  a   b\t c  ')).toBe('a b c');
  });

  it('joins repeated header values with commas', () => {
    const cr = buildCanonicalRequest({
      method: 'post',
      path: '/',
      headers: { host: 'h', 'x-multi': ['a', ' b '] },
      signedHeaders: ['host', 'x-multi'],
      payloadHash: sha256Hex(''),
    });
    expect(cr.split('\n').slice(0, 5)).toEqual(['POST', '/', '', 'host:h', 'x-multi:a, b']);
  });
});

describe('parseAuthorizationHeader', () => {
  const good =
    'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20240501/eu-west-3/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
    'a'.repeat(64);

  it('parses the standard form and its spacing variants', () => {
    const expected = {
      accessKeyId: 'AKIAEXAMPLE',
      date: '20240501',
      region: 'eu-west-3',
      service: 'sts',
      signedHeaders: ['host', 'x-amz-date'],
      signature: 'a'.repeat(64),
    };
    expect(parseAuthorizationHeader(good)).toEqual(expected);
    expect(parseAuthorizationHeader(good.replace(/, /g, ','))).toEqual(expected);
    expect(parseAuthorizationHeader(`  ${good.replace(/, /g, ' ,   ')}  `)).toEqual(expected);
    expect(
      parseAuthorizationHeader(
        'AWS4-HMAC-SHA256 Signature=' +
          'A'.repeat(64) +
          ', SignedHeaders=Host;X-Amz-Date, Credential=AKIAEXAMPLE/20240501/eu-west-3/sts/aws4_request',
      ),
    ).toEqual(expected);
  });

  it.each([
    ['wrong algorithm', good.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512')],
    ['signature version 2', 'AWS AKIAEXAMPLE:c2lnbmF0dXJl'],
    ['no components', 'AWS4-HMAC-SHA256'],
    ['no Signature', good.replace(/, Signature=a+/, '')],
    ['no Credential', good.replace(/Credential=[^,]+, /, '')],
    ['no SignedHeaders', good.replace(/SignedHeaders=[^,]+, /, '')],
    ['empty Signature', good.replace(/Signature=a+/, 'Signature=')],
    ['short signature', good.replace(/a{64}/, 'a'.repeat(63))],
    ['non-hex signature', good.replace(/a{64}/, 'g'.repeat(64))],
    ['4-part credential', good.replace('/eu-west-3', '')],
    ['bad terminator', good.replace('aws4_request', 'aws4_reqest')],
    ['bad scope date', good.replace('20240501', '2024-05-01')],
    ['duplicate component', `${good}, Signature=${'b'.repeat(64)}`],
    ['component without =', good.replace('SignedHeaders=', 'SignedHeaders ')],
    ['unknown component', `${good}, Foo=bar`],
    ['duplicate signed header', good.replace('host;x-amz-date', 'host;host')],
    ['empty signed header name', good.replace('host;x-amz-date', 'host;;x-amz-date')],
  ])('rejects %s with IncompleteSignature', (_label, header) => {
    try {
      parseAuthorizationHeader(header);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(SigV4Error);
      expect((err as SigV4Error).code).toBe('IncompleteSignature');
      expect((err as SigV4Error).status).toBe(400);
    }
  });
});

describe('verifySigV4', () => {
  const secret = 'S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr';
  const now = Date.UTC(2024, 4, 1, 12, 0, 0);
  const lookup = async (id: string) => (id === 'AKIAEXAMPLEEXAMPLE12' ? { secretAccessKey: secret } : null);
  const body = 'Action=GetUser&Version=2010-05-08';

  it('accepts a fresh POST in any region and returns the service and security token', async () => {
    const request = signPost({
      secret,
      time: now,
      body,
      region: 'ap-southeast-2',
      service: 'sts',
      extraHeaders: { 'x-amz-security-token': 'token-abc' },
    });
    const verified = await verifySigV4({ request, lookup, now });
    expect(verified).toMatchObject({ region: 'ap-southeast-2', service: 'sts', securityToken: 'token-abc' });
  });

  it('passes the security token and service to the lookup', async () => {
    const spy = vi.fn(lookup);
    const request = signPost({ secret, time: now, body, extraHeaders: { 'x-amz-security-token': 'tok' } });
    await verifySigV4({ request, lookup: spy, now });
    expect(spy).toHaveBeenCalledWith('AKIAEXAMPLEEXAMPLE12', { securityToken: 'tok', service: 'iam' });
  });

  it('answers each failure with its code and status', async () => {
    const cases: [string, SigV4Request, string][] = [
      [
        'no authorization',
        { method: 'POST', path: '/', headers: { host: 'h' }, body },
        'MissingAuthenticationToken',
      ],
      [
        'unknown key',
        signPost({ secret, time: now, body, accessKeyId: 'AKIAUNKNOWNUNKNOWN12' }),
        'InvalidClientTokenId',
      ],
      ['wrong secret', signPost({ secret: `${secret}x`, time: now, body }), 'SignatureDoesNotMatch'],
      ['service not served', signPost({ secret, time: now, body, service: 's3' }), 'SignatureDoesNotMatch'],
      [
        'scope date mismatch',
        signPost({ secret, time: now, body, scopeDate: '20240430' }),
        'SignatureDoesNotMatch',
      ],
    ];
    for (const [label, request, code] of cases) {
      const err = await verifySigV4({ request, lookup, now }).catch((e: unknown) => e as SigV4Error);
      expect(err, label).toBeInstanceOf(SigV4Error);
      expect((err as SigV4Error).code, label).toBe(code);
      expect((err as SigV4Error).status, label).toBe(
        SIGV4_ERROR_STATUS[code as keyof typeof SIGV4_ERROR_STATUS],
      );
    }
  });

  it('accepts 15 minutes of skew either way and refuses more', async () => {
    const fifteen = 15 * 60 * 1000;
    for (const offset of [-fifteen, fifteen]) {
      await expect(
        verifySigV4({ request: signPost({ secret, time: now + offset, body }), lookup, now }),
      ).resolves.toBeTruthy();
    }
    for (const offset of [-fifteen - 1000, fifteen + 1000]) {
      const err = await verifySigV4({
        request: signPost({ secret, time: now + offset, body }),
        lookup,
        now,
      }).catch((e: unknown) => e as SigV4Error);
      expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 403, reason: 'clock-skew' });
      expect((err as Error).message).toMatch(
        offset < 0 ? /^Signature expired: / : /^Signature not yet current: /,
      );
    }
  });

  it('checks skew before looking up the key', async () => {
    const spy = vi.fn(lookup);
    await verifySigV4({ request: signPost({ secret, time: now - 3_600_000, body }), lookup: spy, now }).catch(
      () => {},
    );
    expect(spy).not.toHaveBeenCalled();
  });

  it('requires host among the signed headers', async () => {
    const request = signPost({ secret, time: now, body });
    const auth = (request.headers.authorization as string).replace(
      'content-type;host;x-amz-date',
      'content-type;x-amz-date',
    );
    expect(
      await codeOf(
        verifySigV4({
          request: { ...request, headers: { ...request.headers, authorization: auth } },
          lookup,
          now,
        }),
      ),
    ).toBe('IncompleteSignature');
  });

  it('requires a date header and a listed header to be present', async () => {
    const request = signPost({ secret, time: now, body });
    const { 'x-amz-date': _date, ...withoutDate } = request.headers as Record<string, string>;
    expect(await codeOf(verifySigV4({ request: { ...request, headers: withoutDate }, lookup, now }))).toBe(
      'IncompleteSignature',
    );
    const { 'content-type': _ct, ...withoutType } = request.headers as Record<string, string>;
    expect(await codeOf(verifySigV4({ request: { ...request, headers: withoutType }, lookup, now }))).toBe(
      'IncompleteSignature',
    );
  });

  it('accepts the Date header when X-Amz-Date is absent', async () => {
    const httpDate = new Date(now).toUTCString();
    const amzDate = formatAmzDate(now);
    const headers: Record<string, string> = { date: httpDate, host: 'h' };
    const scope = credentialScope({ date: amzDate.slice(0, 8), region: 'us-east-1', service: 'iam' });
    const canonicalRequest = buildCanonicalRequest({
      method: 'POST',
      path: '/',
      headers,
      signedHeaders: ['date', 'host'],
      payloadHash: sha256Hex(body),
    });
    const signature = computeSignature(
      deriveSigningKey({
        secretAccessKey: secret,
        date: amzDate.slice(0, 8),
        region: 'us-east-1',
        service: 'iam',
      }),
      buildStringToSign({ amzDate, scope, canonicalRequest }),
    );
    headers.authorization = `AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE12/${scope}, SignedHeaders=date;host, Signature=${signature}`;
    await expect(
      verifySigV4({ request: { method: 'POST', path: '/', headers, body }, lookup, now }),
    ).resolves.toMatchObject({
      requestTime: now,
    });
  });

  it('uses x-amz-content-sha256 only when it matches the body', async () => {
    const good = signPost({
      secret,
      time: now,
      body,
      extraHeaders: { 'x-amz-content-sha256': sha256Hex(body) },
    });
    await expect(verifySigV4({ request: good, lookup, now })).resolves.toBeTruthy();
    // Signed over the declared hash of another body: a valid signature replayed with a swapped body.
    const other = 'Action=DeleteUser&Version=2010-05-08&UserName=alice';
    const swapped = signPost({
      secret,
      time: now,
      body,
      extraHeaders: { 'x-amz-content-sha256': sha256Hex(body) },
    });
    const err = await verifySigV4({ request: { ...swapped, body: other }, lookup, now }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', reason: 'payload-hash' });
    const unsigned = signPost({
      secret,
      time: now,
      body,
      extraHeaders: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    expect(await codeOf(verifySigV4({ request: unsigned, lookup, now }))).toBe('SignatureDoesNotMatch');
  });

  it('verifies raw bytes bodies the same as strings', async () => {
    const request = signPost({
      secret,
      time: now,
      body: 'UserName=J%C3%B6rg&Action=GetUser&Version=2010-05-08',
    });
    const bytes = new TextEncoder().encode(request.body as string);
    await expect(verifySigV4({ request: { ...request, body: bytes }, lookup, now })).resolves.toBeTruthy();
  });
});

describe('SigningKeyCache', () => {
  const base = { accessKeyId: 'AKIA1', date: '20240501', region: 'us-east-1', service: 'iam' };

  it('returns the derived key and reuses it', () => {
    const cache = new SigningKeyCache(4);
    const k1 = cache.getOrDerive({ ...base, secretAccessKey: 's1' });
    expect(k1.equals(deriveSigningKey({ ...base, secretAccessKey: 's1' }))).toBe(true);
    expect(cache.getOrDerive({ ...base, secretAccessKey: 's1' })).toBe(k1);
    expect(cache.size).toBe(1);
  });

  it('derives again when the secret changed', () => {
    const cache = new SigningKeyCache(4);
    const k1 = cache.getOrDerive({ ...base, secretAccessKey: 's1' });
    const k2 = cache.getOrDerive({ ...base, secretAccessKey: 's2' });
    expect(k2.equals(k1)).toBe(false);
    expect(k2.equals(deriveSigningKey({ ...base, secretAccessKey: 's2' }))).toBe(true);
  });

  it('stays within its bound, evicting the least recently used', () => {
    const cache = new SigningKeyCache(2);
    const a = cache.getOrDerive({ ...base, region: 'a', secretAccessKey: 's' });
    cache.getOrDerive({ ...base, region: 'b', secretAccessKey: 's' });
    cache.getOrDerive({ ...base, region: 'a', secretAccessKey: 's' });
    cache.getOrDerive({ ...base, region: 'c', secretAccessKey: 's' });
    expect(cache.size).toBe(2);
    expect(cache.getOrDerive({ ...base, region: 'a', secretAccessKey: 's' })).toBe(a);
  });

  it('is used by verifySigV4', async () => {
    const cache = new SigningKeyCache();
    await verifySigV4({ request: docRequest(), lookup: docLookup, now: DOC_NOW, cache });
    await verifySigV4({ request: docRequest(), lookup: docLookup, now: DOC_NOW, cache });
    expect(cache.size).toBe(1);
  });
});
