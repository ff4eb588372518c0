/**
 * Bounded, deterministic fuzzing of the AWS Query face: the form parser and its readers, the
 * SigV4 Authorization-header parser and verifier, and the XML writers, in process (over 100,000
 * inputs in total), then mutated signed requests through the real server (`inject`) against a
 * test installation on SQLite.
 *
 * Properties: nothing throws but the module's own `AwsError`; every refusal carries a code of
 * `AWS_ERRORS`; a mutated request that still verifies has the canonical request of the original
 * (so the signature covers what was changed); the XML writers either refuse a character XML 1.0
 * cannot carry (§2.2, Char) or write well-formed XML that reads back to the input; over HTTP no
 * mutation answers 500 or anything but an AWS `ErrorResponse` with a known code, and none
 * changes the account's users, access keys or factors.
 *
 * Inputs come from a seeded PRNG written here (sfc32), so a failure names its seed and index and
 * replays exactly. Real requests are serialised by the AWS SDK for JavaScript v3 clients (their
 * bodies captured by a request handler, no sockets) and signed with `@smithy/signature-v4` at a
 * fixed time.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { Readable } from 'node:stream';

import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteUserCommand,
  EnableMFADeviceCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  buildTestServer,
  createTestInstallation,
  T0,
  type TestInstallation,
} from '../../../test/helpers/installation.js';
import {
  parseQueryRequest,
  readBoolean,
  readEnum,
  readInteger,
  readString,
  readStringList,
  readStructList,
  readTags,
} from './query.js';
import {
  buildCanonicalRequest,
  parseAuthorizationHeader,
  sha256Hex,
  SigningKeyCache,
  verifySigV4,
  type SigV4Request,
} from './sigv4.js';
import {
  AWS_ERRORS,
  AwsError,
  renderXml,
  writeErrorResponse,
  writeSuccessResponse,
  xmlBoolean,
  xmlElement,
  xmlInteger,
  xmlList,
  xmlMap,
  xmlStringList,
  xmlText,
  type AwsErrorCode,
  type AwsService,
  type XmlElement,
} from './xml.js';

const SEED = 0x5eed_a115;
const KNOWN_CODES = new Set(Object.keys(AWS_ERRORS));

// ---- Deterministic randomness ------------------------------------------------------------------

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), 32-bit state words. */
function makeRandom(seed: number) {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p: number): boolean => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
  };
}
type Random = ReturnType<typeof makeRandom>;

/** Pieces random text is made of: form syntax, escapes (valid and broken), controls, surrogates. */
const ATOMS = [
  '&',
  '=',
  '+',
  '%',
  '.',
  'member',
  '.member.',
  '.member.1',
  '.member.0',
  '.member.999999',
  '.member.1.Key',
  '.member.1.Value',
  'Action',
  'Version',
  'UserName',
  'Tags',
  'MaxItems',
  '2010-05-08',
  '2011-06-15',
  'GetUser',
  '%41',
  '%2B',
  '%26',
  '%3D',
  '%25',
  '%00',
  '%0D%0A',
  '%C3%A9',
  '%E2%82%AC',
  '%F0%9F%94%91',
  '%E2%82',
  '%ED%A0%80',
  '%FF',
  '%G1',
  '%4',
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000B',
  '\u001F',
  '\t',
  '\n',
  '\r',
  '\u007F',
  '\u0085',
  '\u00A0',
  '\u2028',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\uD83D\uDD11',
  '\uFFFE',
  '\uFFFF',
  '\uFEFF',
  '<',
  '>',
  '"',
  "'",
  ']]>',
  '&amp;',
  '&#0;',
  '<!--',
  '-1',
  '007',
  '1e3',
  '9'.repeat(20),
  'true',
  'FALSE',
  ' ',
];

function randomText(r: Random, maxParts = 24): string {
  let out = '';
  const parts = r.int(maxParts + 1);
  for (let i = 0; i < parts; i++) {
    const kind = r.int(6);
    if (kind === 0) out += String.fromCharCode(0x20 + r.int(0x5f));
    else if (kind === 1) out += String.fromCharCode(r.int(0x10000));
    else if (kind === 2) out += String.fromCodePoint(r.int(0x110000));
    else out += r.pick(ATOMS);
  }
  return out;
}

function randomBytes(r: Random, max = 96): Uint8Array {
  const bytes = new Uint8Array(r.int(max + 1));
  for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(256);
  return bytes;
}

/** One random edit of a string: replace, insert, delete, duplicate, swap or truncate. */
function mutateText(r: Random, text: string): string {
  const at = r.int(text.length + 1);
  const len = 1 + r.int(Math.min(16, text.length + 1));
  switch (r.int(9)) {
    case 0:
      return text.slice(0, at) + randomText(r, 2) + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + r.pick(ATOMS) + text.slice(at);
    case 2:
      return text.slice(0, at) + text.slice(at + len);
    case 3:
      return text.slice(0, at) + text.slice(at, at + len) + text.slice(at);
    case 4:
      return text.slice(0, at);
    case 5:
      return text.replace(r.pick(['&', '=', '%', '.', '+']), r.pick(['=', '&', '%%', '', '%2', '&&']));
    case 6: {
      const c = text.charCodeAt(at);
      return Number.isNaN(c)
        ? text + 'x'
        : text.slice(0, at) + String.fromCharCode(c ^ (1 << r.int(16))) + text.slice(at + 1);
    }
    case 7:
      return text.toUpperCase();
    default:
      return text + randomText(r, 4);
  }
}

/** One random edit of bytes (bit flips, inserts, cuts), as a corrupted transfer would do. */
function mutateBytes(r: Random, bytes: Uint8Array): Uint8Array {
  const out = Array.from(bytes);
  const edits = 1 + r.int(4);
  for (let e = 0; e < edits; e++) {
    const at = r.int(out.length + 1);
    switch (r.int(4)) {
      case 0:
        if (at < out.length) out[at] = out[at]! ^ (1 << r.int(8));
        break;
      case 1:
        out.splice(at, 0, r.int(256));
        break;
      case 2:
        out.splice(at, 1 + r.int(8));
        break;
      default:
        out.splice(
          at,
          0,
          ...Array.from({ length: 1 + r.int(4) }, () => r.pick([0x25, 0x26, 0x3d, 0x2b, 0xc3, 0xed, 0xff])),
        );
    }
  }
  return Uint8Array.from(out);
}

// ---- Assertions shared by every part ---------------------------------------------------------

/** Counts of what each part saw, so a run that never reached a path fails loudly. */
type Tally = Map<string, number>;
const bump = (tally: Tally, key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);

/** Rethrows anything but an `AwsError` with a known code; returns the code. */
function awsCodeOf(err: unknown, where: string): AwsErrorCode {
  if (!(err instanceof AwsError)) {
    throw new Error(
      `${where}: uncaught ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
      {
        cause: err,
      },
    );
  }
  if (!KNOWN_CODES.has(err.code)) throw new Error(`${where}: unknown AWS code ${err.code}`);
  expect(err.status).toBe(AWS_ERRORS[err.code].status);
  return err.code;
}

/** The Char production of XML 1.0 §2.2, over code points. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

function hasOnlyXmlChars(text: string): boolean {
  for (const ch of text) if (!isXmlChar(ch.codePointAt(0)!)) return false;
  return true;
}

/** Well-formed: only XML characters, and fast-xml-parser's validator accepts the structure. */
function expectWellFormed(xml: string, where: string): void {
  if (!hasOnlyXmlChars(xml)) throw new Error(`${where}: output holds a character XML 1.0 forbids`);
  const verdict = XMLValidator.validate(xml);
  if (verdict !== true) throw new Error(`${where}: not well-formed: ${JSON.stringify(verdict.err)}`);
}

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&apos;': "'",
  '&#13;': '\r',
};
function unescapeXml(text: string): string {
  return text.replace(/&(?:amp|lt|gt|quot|apos|#13);/g, (e) => ENTITIES[e]!);
}

// ---- Real requests: SDK-serialised bodies, signed at a fixed time -------------------------------

const HOST = '127.0.0.1:8080';
const CAPTURE_ENDPOINT = `http://${HOST}/`;
const FUZZ_KEY = {
  accessKeyId: 'AKIAFUZZFUZZFUZZFUZZ',
  secretAccessKey: 'fuzzSecret/fuzzSecret+fuzzSecret/fuzzSecr',
};

/** The hash constructor @smithy/signature-v4 takes (SHA-256, or HMAC-SHA256 with a secret). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

interface CapturedBody {
  service: AwsService;
  body: string;
}

/** A request handler that keeps the serialised body and answers an error (the SDK then throws). */
function capturingHandler(service: AwsService, into: CapturedBody[]) {
  const xml = writeErrorResponse({ code: 'AccessDenied', message: 'captured', requestId: 'capture' });
  return {
    async handle(request: { body?: unknown }) {
      const body =
        typeof request.body === 'string'
          ? request.body
          : Buffer.from((request.body ?? new Uint8Array()) as Uint8Array).toString('utf8');
      into.push({ service, body });
      return {
        response: {
          statusCode: 403,
          headers: { 'content-type': 'text/xml', 'content-length': String(Buffer.byteLength(xml)) },
          body: Readable.from([Buffer.from(xml)]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
  };
}

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: 'iam:*',
      Resource: '*',
      Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
    },
  ],
});

/** Bodies of real IAM and STS calls as the JS SDK v3 writes them. */
async function captureSdkBodies(): Promise<CapturedBody[]> {
  const out: CapturedBody[] = [];
  const options = { region: 'eu-west-1', endpoint: CAPTURE_ENDPOINT, credentials: FUZZ_KEY, maxAttempts: 1 };
  const iam = new IAMClient({ ...options, requestHandler: capturingHandler('iam', out) });
  const sts = new STSClient({ ...options, requestHandler: capturingHandler('sts', out) });
  const calls: Promise<unknown>[] = [
    iam.send(new GetUserCommand({})),
    iam.send(new GetUserCommand({ UserName: 'fuzz.user+1@example' })),
    iam.send(new ListUsersCommand({ MaxItems: 5, Marker: 'opaque/marker==' })),
    iam.send(
      new CreateUserCommand({
        UserName: 'fuzz-new',
        Path: '/',
        Tags: [
          { Key: 'team', Value: 'a&b <c> "d" 100% +e ünï \u{1F511}' },
          { Key: 'empty', Value: '' },
        ],
      }),
    ),
    iam.send(new DeleteUserCommand({ UserName: 'fuzz-new' })),
    iam.send(new CreateAccessKeyCommand({ UserName: 'fuzz-new' })),
    iam.send(new ListAccessKeysCommand({})),
    iam.send(new UpdateAccessKeyCommand({ AccessKeyId: FUZZ_KEY.accessKeyId, Status: 'Inactive' })),
    iam.send(new PutUserPolicyCommand({ UserName: 'fuzz-new', PolicyName: 'p', PolicyDocument: POLICY })),
    iam.send(
      new EnableMFADeviceCommand({
        UserName: 'fuzz-new',
        SerialNumber: 'arn:aws:iam::123456789012:mfa/fuzz',
        AuthenticationCode1: '123456',
        AuthenticationCode2: '654321',
      }),
    ),
    sts.send(new GetCallerIdentityCommand({})),
    sts.send(
      new GetSessionTokenCommand({
        DurationSeconds: 900,
        SerialNumber: 'arn:aws:iam::123456789012:mfa/fuzz',
        TokenCode: '123456',
      }),
    ),
    sts.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::123456789012:role/fuzz-role',
        RoleSessionName: 'fuzz-session',
        PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
        Tags: [{ Key: 'k', Value: 'v w' }],
        TransitiveTagKeys: ['k'],
        DurationSeconds: 3600,
      }),
    ),
  ];
  for (const call of calls) await call.catch(() => undefined);
  iam.destroy();
  sts.destroy();
  return out;
}

interface SignedRequest extends SigV4Request {
  headers: Record<string, string>;
  body: string;
  query: string;
}

/** Signs `body` for `service` with @smithy/signature-v4 at `time`, as the SDKs sign Query calls. */
async function signRequest(input: {
  service: AwsService;
  body: string;
  keys: { accessKeyId: string; secretAccessKey: string };
  time: number;
  region?: string;
  query?: Record<string, string>;
  extraHeaders?: Record<string, string>;
}): Promise<SignedRequest> {
  const signer = new SignatureV4({
    credentials: input.keys,
    region: input.region ?? 'eu-west-1',
    service: input.service,
    sha256: NodeSha256 as never,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 8080,
      path: '/',
      query: input.query ?? {},
      headers: {
        host: HOST,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        ...input.extraHeaders,
      },
      body: input.body,
    },
    { signingDate: new Date(input.time) },
  );
  const query = Object.entries(input.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return {
    method: 'POST',
    path: '/',
    query,
    headers: { ...(signed.headers as Record<string, string>) },
    body: input.body,
  };
}

/**
 * A string as the server receives a request target: bytes, one character per byte (Node hands
 * `request.raw.url` over that way), so never a lone surrogate.
 */
function asWireText(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A random change to a signed request: its headers, Authorization, query, path, method or body. */
function mutateRequest(r: Random, base: SignedRequest): SignedRequest {
  const req: SignedRequest = { ...base, headers: { ...base.headers } };
  const names = Object.keys(req.headers);
  const edits = 1 + r.int(3);
  for (let e = 0; e < edits; e++) {
    switch (r.int(12)) {
      case 0: {
        delete req.headers[r.pick(names)];
        break;
      }
      case 1: {
        const name = r.pick(names);
        if (req.headers[name] !== undefined) req.headers[name] = mutateText(r, req.headers[name]!);
        break;
      }
      case 2:
      case 3: {
        const auth = req.headers.authorization ?? '';
        req.headers.authorization = mutateText(r, auth);
        break;
      }
      case 4: {
        // A hex digit of the signature, or its case (hex is case-insensitive).
        const auth = req.headers.authorization ?? '';
        const at = auth.indexOf('Signature=') + 10 + r.int(64);
        const c = auth[at] ?? '0';
        const swap = r.chance(0.5) ? c.toUpperCase() : '0123456789abcdef'[r.int(16)]!;
        req.headers.authorization = auth.slice(0, at) + swap + auth.slice(at + 1);
        break;
      }
      case 5: {
        // An added header, signed or not; or a header whose name changes case.
        if (r.chance(0.5))
          req.headers[r.pick(['x-amz-security-token', 'x-extra', 'Date', 'X-Amz-Date'])] = randomText(r, 4);
        else {
          const name = r.pick(names);
          const value = req.headers[name];
          if (value !== undefined) {
            delete req.headers[name];
            req.headers[name.toUpperCase()] = value;
          }
        }
        break;
      }
      case 6:
        req.query = asWireText(
          r.chance(0.5) ? mutateText(r, req.query) : `Action=DeleteUser&UserName=${r.int(100)}`,
        );
        break;
      case 7:
        req.path = r.pick(['/', '//', '/./', '/a/../', '/%2F', '/%', '/x', '', '/\u0000']);
        break;
      case 8:
        req.method = r.pick(['post', 'GET', 'PUT', 'POST ', '']);
        break;
      case 9:
        req.body = Buffer.from(mutateBytes(r, Buffer.from(req.body))).toString('utf8');
        break;
      default:
        req.body = mutateText(r, req.body);
    }
  }
  return req;
}

/** The canonical request of `req` under `signedHeaders`, or null when it has none. */
function canonicalOf(req: SigV4Request, signedHeaders: readonly string[]): string | null {
  try {
    return buildCanonicalRequest({ ...req, signedHeaders, payloadHash: sha256Hex(req.body) });
  } catch {
    return null;
  }
}

// ---- In-process parts ----------------------------------------------------------------------------

describe('fuzzing the AWS Query face in process', () => {
  let bodies: CapturedBody[];
  beforeAll(async () => {
    bodies = await captureSdkBodies();
    expect(bodies.length).toBeGreaterThanOrEqual(13);
  });

  it('the form parser and the readers: 60,000 random and mutated bodies', () => {
    const r = makeRandom(SEED);
    const tally: Tally = new Map();
    const run = (input: string | Uint8Array, where: string) => {
      let parsed;
      try {
        parsed = parseQueryRequest(input);
      } catch (err) {
        bump(tally, `parse:${awsCodeOf(err, where)}`);
        return;
      }
      bump(tally, 'parsed');
      expect(parsed.action).not.toBe('');
      expect(parsed.version).not.toBe('');
      expect(parsed.params.has('Action')).toBe(false);
      expect(parsed.params.has('Version')).toBe(false);
      const keys = [...parsed.params.keys()];
      const name = () =>
        keys.length > 0 && r.chance(0.8) ? r.pick(keys) : r.pick(['UserName', 'Tags', 'MaxItems', 'X']);
      const stem = () => {
        const k = name();
        const i = k.indexOf('.member.');
        return i < 0 ? k : k.slice(0, i);
      };
      const readers: (() => unknown)[] = [
        () =>
          readString(parsed.params, name(), {
            required: r.chance(0.5),
            minLength: r.int(3),
            maxLength: r.int(70),
            ...(r.chance(0.5) ? { pattern: /^[\w+=,.@-]+$/ } : {}),
            sensitive: r.chance(0.3),
          }),
        () =>
          readInteger(parsed.params, name(), {
            required: r.chance(0.5),
            min: r.int(10),
            max: 10 + r.int(1000),
          }),
        () => readBoolean(parsed.params, name(), { required: r.chance(0.5) }),
        () =>
          readEnum(parsed.params, name(), {
            values: ['Active', 'Inactive'] as const,
            required: r.chance(0.5),
          }),
        () => readStringList(parsed.params, stem(), { maxItems: 1 + r.int(5), required: r.chance(0.5) }),
        () =>
          readStructList(parsed.params, stem(), { fields: ['Key', 'Value', 'arn'], maxItems: 1 + r.int(5) }),
        () => readTags(parsed.params, stem()),
      ];
      for (const read of readers) {
        try {
          read();
          bump(tally, 'read');
        } catch (err) {
          const code = awsCodeOf(err, `${where} reader`);
          bump(tally, `read:${code}`);
          // Every refusal can be answered: its message goes into a well-formed envelope (checked
          // on a sample: the validator costs more than the parsing under test).
          if (r.chance(0.125))
            expectWellFormed(
              writeErrorResponse({ service: 'iam', code, message: (err as Error).message, requestId: 'r' }),
              `${where} envelope`,
            );
        }
      }
    };
    for (let i = 0; i < 30_000; i++) {
      if (r.chance(0.2)) run(randomBytes(r), `random bytes #${i}`);
      else run(randomText(r, 40), `random text #${i}`);
    }
    for (let i = 0; i < 30_000; i++) {
      const { body } = r.pick(bodies);
      let mutated = body;
      const edits = 1 + r.int(4);
      for (let e = 0; e < edits; e++) mutated = mutateText(r, mutated);
      if (r.chance(0.25)) run(mutateBytes(r, Buffer.from(body)), `mutated bytes #${i}`);
      else run(mutated, `mutated body #${i}`);
    }
    // Both sides of the parser were reached, and the readers refused with several codes.
    expect(tally.get('parsed')).toBeGreaterThan(10_000);
    for (const code of ['MissingAction', 'MissingParameter', 'InvalidParameterValue'])
      expect(tally.get(`parse:${code}`), code).toBeGreaterThan(100);
    for (const code of ['MissingParameter', 'InvalidParameterValue', 'ValidationError'])
      expect(tally.get(`read:${code}`), code).toBeGreaterThan(100);
  }, 120_000);

  it('the Authorization header parser: 15,000 random and mutated headers', async () => {
    const r = makeRandom(SEED + 1);
    const signed = await signRequest({ service: 'iam', body: bodies[0]!.body, keys: FUZZ_KEY, time: T0 });
    const real = signed.headers.authorization!;
    const tally: Tally = new Map();
    for (let i = 0; i < 15_000; i++) {
      let header = real;
      if (r.chance(0.2)) header = randomText(r, 30);
      else {
        const edits = 1 + r.int(4);
        for (let e = 0; e < edits; e++) header = mutateText(r, header);
      }
      try {
        const parsed = parseAuthorizationHeader(header);
        bump(tally, 'parsed');
        expect(parsed.signature).toMatch(/^[0-9a-f]{64}$/);
        expect(parsed.signedHeaders.length).toBeGreaterThan(0);
        for (const h of parsed.signedHeaders) expect(h).toBe(h.toLowerCase());
      } catch (err) {
        const code = awsCodeOf(err, `header #${i}`);
        expect(code).toBe('IncompleteSignature');
        bump(tally, code);
      }
    }
    expect(tally.get('parsed')).toBeGreaterThan(500);
    expect(tally.get('IncompleteSignature')).toBeGreaterThan(5_000);
  });

  it('the SigV4 verifier: 15,000 mutated signed requests', async () => {
    const r = makeRandom(SEED + 2);
    const cache = new SigningKeyCache(64);
    const lookup = async (accessKeyId: string) =>
      accessKeyId === FUZZ_KEY.accessKeyId ? { secretAccessKey: FUZZ_KEY.secretAccessKey } : null;
    const bases: { req: SignedRequest; canonical: string }[] = [];
    for (const [i, { service, body }] of bodies.entries()) {
      const req = await signRequest({
        service,
        body,
        keys: FUZZ_KEY,
        time: T0 + i * 1000,
        region: r.pick(['us-east-1', 'eu-west-1', 'ap-southeast-2']),
        ...(i % 3 === 0 ? { query: { a: 'b c', 'z~': '%' } } : {}),
        ...(i % 4 === 0 ? { extraHeaders: { 'x-amz-content-sha256': sha256Hex(body) } } : {}),
      });
      const verified = await verifySigV4({ request: req, now: T0, lookup, cache });
      expect(verified.service).toBe(service);
      bases.push({ req, canonical: canonicalOf(req, verified.signedHeaders)! });
    }
    const tally: Tally = new Map();
    for (let i = 0; i < 15_000; i++) {
      const base = r.pick(bases);
      const req = mutateRequest(r, base.req);
      const now = T0 + (r.chance(0.9) ? r.int(60_000) : (r.int(2) * 2 - 1) * (15 * 60_000 + r.int(60_000)));
      try {
        const verified = await verifySigV4({ request: req, now, lookup, cache });
        bump(tally, 'verified');
        // Whatever changed, the signature still covers the same canonical request: the change
        // was one SigV4 ignores (an unsigned header, header-name case, signature hex case, ...).
        expect(canonicalOf(req, verified.signedHeaders), `request #${i}`).toBe(base.canonical);
        expect(sha256Hex(req.body)).toBe(sha256Hex(base.req.body));
      } catch (err) {
        bump(tally, awsCodeOf(err, `request #${i}`));
      }
    }
    expect(tally.get('verified')).toBeGreaterThan(100);
    for (const code of [
      'IncompleteSignature',
      'SignatureDoesNotMatch',
      'MissingAuthenticationToken',
      'InvalidClientTokenId',
    ])
      expect(tally.get(code), code).toBeGreaterThan(10);
  });

  it('the XML writers: 15,000 random strings, refused or well-formed and read back', () => {
    const r = makeRandom(SEED + 3);
    const tally: Tally = new Map();
    const codes = Object.keys(AWS_ERRORS) as AwsErrorCode[];
    const names = ['Value', 'member', 'User', 'a.b-c_d', '_x', 'Bad Name', '1abc', '', 'x:y', 'ü'];
    for (let i = 0; i < 15_000; i++) {
      const text = randomText(r, 12);
      const where = `string #${i}`;
      const allowed = hasOnlyXmlChars(text);
      // A single element: refused exactly when XML 1.0 cannot carry the text, else read back.
      try {
        const xml = renderXml(xmlText('Value', text));
        expect(allowed, where).toBe(true);
        expectWellFormed(xml, where);
        const inner = xml === '<Value/>' ? '' : xml.slice('<Value>'.length, -'</Value>'.length);
        expect(unescapeXml(inner), where).toBe(text);
        bump(tally, 'rendered');
      } catch (err) {
        if (!(err instanceof Error) || !/XML 1\.0 cannot represent/.test(err.message)) throw err;
        expect(allowed, where).toBe(false);
        bump(tally, 'refused');
      }
      // Attributes take the same escaping.
      try {
        expectWellFormed(renderXml(xmlElement('R', []), { attr: text }), `${where} attribute`);
      } catch (err) {
        if (!(err instanceof Error) || !/XML 1\.0 cannot represent/.test(err.message)) throw err;
      }
      // Whole success envelopes built with every element builder.
      try {
        const element: XmlElement = xmlElement('Wrapper', [
          xmlText('Text', text),
          xmlBoolean('Flag', r.chance(0.5)),
          xmlInteger('Count', r.int(1_000_000)),
          xmlStringList('List', [text, randomText(r, 3)]),
          xmlList('Structs', [[xmlText('K', text)], [null, undefined]]),
          xmlMap('Map', [[text, randomText(r, 3)]]),
        ]);
        const xml = writeSuccessResponse({
          service: r.pick(['iam', 'sts'] as const),
          action: r.pick(['GetUser', 'GetSessionToken', 'CreateUser']),
          requestId: `req-${i}`,
          result: r.chance(0.1) ? null : [element],
        });
        expectWellFormed(xml, `${where} success`);
      } catch (err) {
        if (!(err instanceof Error) || !/XML 1\.0 cannot represent/.test(err.message)) throw err;
        bump(tally, 'success refused');
      }
      // Error envelopes never refuse: forbidden characters in the message are replaced.
      const xml = writeErrorResponse({
        service: r.chance(0.3) ? undefined : r.pick(['iam', 'sts'] as const),
        code: r.pick(codes),
        message: text,
        requestId: `req-${i}`,
      });
      expectWellFormed(xml, `${where} error`);
      // Element names: only XML names pass.
      const name = r.chance(0.5) ? r.pick(names) : randomText(r, 2);
      try {
        expectWellFormed(renderXml(xmlText(name, 'v')), `${where} name`);
        expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_.-]*$/);
      } catch (err) {
        if (!(err instanceof Error) || err.message !== 'invalid XML element name') throw err;
        bump(tally, 'bad name');
      }
    }
    expect(tally.get('rendered')).toBeGreaterThan(1_000);
    expect(tally.get('refused')).toBeGreaterThan(1_000);
    expect(tally.get('bad name')).toBeGreaterThan(1_000);
  });
});

// ---- Over HTTP: the real server on SQLite ------------------------------------------------------

describe('fuzzing POST / through the server', () => {
  let inst: TestInstallation;
  let server: Awaited<ReturnType<typeof buildTestServer>>;
  let accountId: string;
  let keys: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    inst = await createTestInstallation('sqlite');
    server = await buildTestServer(inst);
    const ctx = { requestId: 'fuzz', sourceIp: null, userAgent: 'fuzz' };
    const boot = await inst.app.bootstrapAccount({ accountName: 'fuzz', ownerEmail: 'owner@fuzz.test', ctx });
    accountId = boot.account.id;
    const admin = await inst.app.createAdminWithAccessKey({ ctx, accountId, username: 'ops' });
    keys = { accessKeyId: admin.key.id, secretAccessKey: admin.secretAccessKey };
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  /** What a request must not change: users, their access keys and their factors. */
  async function snapshot(): Promise<string> {
    const users = await inst.store.principals.list(accountId);
    const out = [];
    for (const u of users.sort((a, b) => a.id.localeCompare(b.id))) {
      const accessKeys = await inst.store.accessKeys.listByPrincipal(accountId, u.id);
      const factors = await inst.store.factors.listByPrincipal(accountId, u.id);
      out.push({
        user: [u.id, u.username, u.status, u.role, u.updatedAt],
        keys: accessKeys.map((k) => [k.id, k.status]).sort(),
        factors: factors.map((f) => [f.id, f.status]).sort(),
      });
    }
    return JSON.stringify(out);
  }

  const send = (req: SignedRequest) =>
    server.inject({
      method: req.method as 'POST',
      url: `${req.path}${req.query ? `?${req.query}` : ''}`,
      headers: req.headers,
      payload: req.body,
    });

  it('2,000 mutated signed requests never answer 500, always an AWS error envelope, and change nothing', async () => {
    const r = makeRandom(SEED + 4);
    // Read-only calls that succeed, and writes the guardrails refuse to a key without MFA (G2):
    // a mutation that still verifies can then change nothing either.
    const bodiesOf = (await captureSdkBodies()).filter(
      (b) => !/Action=(EnableMFADevice|GetSessionToken|AssumeRole)&/.test(b.body),
    );
    const bases: SignedRequest[] = [];
    for (const { service, body } of bodiesOf) {
      const signedBody = body.replace('fuzz-new', 'ops').replace(FUZZ_KEY.accessKeyId, keys.accessKeyId);
      const req = await signRequest({ service, body: signedBody, keys, time: T0 });
      const res = await send(req);
      expect(res.statusCode, `${body}: ${res.body}`).not.toBe(500);
      if (res.statusCode !== 200)
        expect(res.body).toMatch(/<Code>(AccessDenied|NoSuchEntity|ValidationError)<\/Code>/);
      bases.push(req);
    }
    const before = await snapshot();
    const tally: Tally = new Map();
    for (let i = 0; i < 2_000; i++) {
      const base = r.pick(bases);
      let req = mutateRequest(r, base);
      // Keep to the route under test: other paths and methods belong to other routes.
      req = { ...req, method: 'POST', path: '/' };
      if (r.chance(0.05)) req.headers['content-type'] = r.pick(['text/plain', 'application/json', '']);
      const res = await send(req);
      const where = `request #${i} (${res.statusCode})`;
      expect(res.statusCode, where).not.toBe(500);
      if (req.headers['content-type'] !== base.headers['content-type'] && res.body.startsWith('{"error"')) {
        // A body whose Content-Type the route does not take is refused by Fastify's body parsing
        // before the route runs (415, or 400 from the JSON parser), in the server's JSON error
        // shape: only a changed Content-Type gets there.
        expect([400, 415], where).toContain(res.statusCode);
        bump(tally, 'refused before the route');
        continue;
      }
      if (res.statusCode === 200) {
        bump(tally, 'ok');
        expect(sha256Hex(req.body)).toBe(sha256Hex(base.body));
        continue;
      }
      const m =
        /^<ErrorResponse(?: xmlns="[^"]+")?><Error><Type>(Sender|Receiver)<\/Type><Code>([A-Za-z]+)<\/Code><Message>/.exec(
          res.body,
        );
      expect(m, `${where}: ${res.body.slice(0, 200)}`).not.toBeNull();
      const code = m![2]!;
      expect(KNOWN_CODES.has(code), `${where}: ${code}`).toBe(true);
      expect(res.statusCode, where).toBe(AWS_ERRORS[code as AwsErrorCode].status);
      expect(res.headers['content-type']).toMatch(/^text\/xml/);
      expectWellFormed(res.body, where);
      bump(tally, code);
    }
    expect(await snapshot()).toBe(before);
    expect(tally.get('ok') ?? 0).toBeGreaterThan(0);
    expect(tally.get('SignatureDoesNotMatch')).toBeGreaterThan(100);
    expect(tally.get('IncompleteSignature')).toBeGreaterThan(50);
  }, 120_000);
});
