/**
 * XML for the AWS Query protocol (IAM 2010-05-08, STS 2011-06-15): a small element tree, its
 * writer, the success and error envelopes, and the table of AWS error codes with their HTTP
 * status and fault type.
 *
 * Wire facts (AWS IAM/STS service models): the root element is `{Action}Response` with the
 * service namespace, the result wrapper is `{Action}Result` and is left out for actions
 * without output, lists are `<Name><member>…</member></Name>`, maps are
 * `<Name><entry><key>…</key><value>…</value></entry></Name>`, blobs are base64, booleans are
 * `true`/`false`, timestamps are ISO 8601 in UTC with `Z`. Errors are
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>` with
 * `RequestId` directly under the root.
 */

/** The two services spoken over the Query protocol, named as in the SigV4 credential scope. */
export type AwsService = 'iam' | 'sts';

/** XML namespace of each service's responses (from the service models). */
export const AWS_XML_NAMESPACE: Record<AwsService, string> = {
  iam: 'https://iam.amazonaws.com/doc/2010-05-08/',
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
};

/** The `Version` parameter each service's requests carry. */
export const AWS_API_VERSION: Record<AwsService, string> = {
  iam: '2010-05-08',
  sts: '2011-06-15',
};

/** Who is at fault, as AWS writes it in `<Type>`: the client (`Sender`) or the server (`Receiver`). */
export type AwsFaultType = 'Sender' | 'Receiver';

/**
 * HTTP status and fault type of every AWS error code Holdfast may send. Codes are the wire
 * codes, without the `Exception` suffix of the model shape names, except the STS codes whose
 * wire code keeps it. Never answer a client fault with a 5xx: the SDKs retry those.
 */
export const AWS_ERRORS = {
  // Generic codes, valid for every operation.
  AccessDenied: { status: 403, type: 'Sender' },
  IncompleteSignature: { status: 400, type: 'Sender' },
  InvalidAction: { status: 400, type: 'Sender' },
  InvalidClientTokenId: { status: 403, type: 'Sender' },
  InvalidParameterValue: { status: 400, type: 'Sender' },
  MissingAction: { status: 400, type: 'Sender' },
  MissingAuthenticationToken: { status: 403, type: 'Sender' },
  MissingParameter: { status: 400, type: 'Sender' },
  RequestExpired: { status: 400, type: 'Sender' },
  SignatureDoesNotMatch: { status: 403, type: 'Sender' },
  ExpiredToken: { status: 403, type: 'Sender' },
  Throttling: { status: 400, type: 'Sender' },
  ValidationError: { status: 400, type: 'Sender' },
  // IAM modelled errors.
  NoSuchEntity: { status: 404, type: 'Sender' },
  EntityAlreadyExists: { status: 409, type: 'Sender' },
  LimitExceeded: { status: 409, type: 'Sender' },
  DeleteConflict: { status: 409, type: 'Sender' },
  ConcurrentModification: { status: 409, type: 'Sender' },
  EntityTemporarilyUnmodifiable: { status: 409, type: 'Sender' },
  InvalidAuthenticationCode: { status: 403, type: 'Sender' },
  InvalidInput: { status: 400, type: 'Sender' },
  InvalidUserType: { status: 400, type: 'Sender' },
  MalformedPolicyDocument: { status: 400, type: 'Sender' },
  PolicyNotAttachable: { status: 400, type: 'Sender' },
  PasswordPolicyViolation: { status: 400, type: 'Sender' },
  UnmodifiableEntity: { status: 400, type: 'Sender' },
  ServiceFailure: { status: 500, type: 'Receiver' },
  // A database fault (storage/faults.ts): temporary; AWS SDKs retry it with backoff.
  ServiceUnavailable: { status: 503, type: 'Receiver' },
  // STS modelled errors (wire codes as the STS model spells them).
  PackedPolicyTooLarge: { status: 400, type: 'Sender' },
  RegionDisabledException: { status: 403, type: 'Sender' },
  ExpiredTokenException: { status: 400, type: 'Sender' },
  InvalidAuthorizationMessageException: { status: 400, type: 'Sender' },
  InvalidIdentityToken: { status: 400, type: 'Sender' },
} as const satisfies Record<string, { status: number; type: AwsFaultType }>;

/** Every AWS wire error code Holdfast may send. */
export type AwsErrorCode = keyof typeof AWS_ERRORS;

/** HTTP status an AWS error code answers with. */
export function awsErrorStatus(code: AwsErrorCode): number {
  return AWS_ERRORS[code].status;
}

/**
 * An error to be answered with an AWS `ErrorResponse`. The message is sent to the client, so
 * it must never carry a secret (signature, secret key, session token, password, TOTP code).
 */
export class AwsError extends Error {
  /** The wire code (`<Code>`). */
  readonly code: AwsErrorCode;
  /** HTTP status from {@link AWS_ERRORS}. */
  readonly status: number;
  /** Fault type from {@link AWS_ERRORS}. */
  readonly type: AwsFaultType;

  constructor(code: AwsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AwsError';
    this.code = code;
    this.status = AWS_ERRORS[code].status;
    this.type = AWS_ERRORS[code].type;
  }
}

/** One XML element: either text content or child elements (never mixed content). */
export interface XmlElement {
  readonly name: string;
  readonly text?: string;
  readonly children?: readonly XmlElement[];
}

/** A child slot: `undefined` and `null` are optional members left out. */
export type XmlChild = XmlElement | undefined | null;

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error('invalid XML element name');
  return name;
}

/**
 * Characters XML 1.0 (§2.2 Char production) does not allow at all, not even as character
 * references: C0 controls other than tab, LF and CR, lone surrogates, U+FFFE and U+FFFF.
 */
const FORBIDDEN =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const FORBIDDEN_GLOBAL = new RegExp(FORBIDDEN.source, 'g');

/**
 * Escapes text for element content or attribute values: `&`, `<`, `>`, `"`, `'` become
 * entities and CR becomes `&#13;` (a parser would otherwise fold CRLF to LF). Throws on a
 * character XML 1.0 cannot carry; use {@link replaceForbiddenXmlCharacters} first for text
 * that may legitimately contain one (such as an error message echoing input).
 */
export function escapeXmlText(value: string): string {
  if (FORBIDDEN.test(value)) throw new Error('text contains a character XML 1.0 cannot represent');
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#13;');
}

/** Replaces every character XML 1.0 cannot carry with U+FFFD. */
export function replaceForbiddenXmlCharacters(value: string): string {
  return value.replace(FORBIDDEN_GLOBAL, '\uFFFD');
}

/** An element with text content. */
export function xmlText(name: string, text: string): XmlElement {
  return { name: checkName(name), text };
}

/** An element with text content, or nothing when the value is absent. */
export function xmlOptionalText(name: string, text: string | undefined | null): XmlElement | undefined {
  return text === undefined || text === null ? undefined : xmlText(name, text);
}

/** An element with children; absent (`undefined`/`null`) children are left out. */
export function xmlElement(name: string, children: readonly XmlChild[]): XmlElement {
  return { name: checkName(name), children: children.filter((c): c is XmlElement => !!c) };
}

/** A boolean as AWS writes it: `true` or `false`. */
export function xmlBoolean(name: string, value: boolean): XmlElement {
  return xmlText(name, value ? 'true' : 'false');
}

/** An integer in decimal; throws on a non-integer (a programming error, not input). */
export function xmlInteger(name: string, value: number): XmlElement {
  if (!Number.isSafeInteger(value)) throw new Error(`${name} is not an integer`);
  return xmlText(name, String(value));
}

/** Formats epoch milliseconds as ISO 8601 UTC with `Z`; milliseconds only when not zero. */
export function formatAwsTimestamp(epochMs: number): string {
  if (!Number.isFinite(epochMs)) throw new Error('timestamp is not a finite number');
  return new Date(epochMs).toISOString().replace('.000Z', 'Z');
}

/** A timestamp (epoch milliseconds) as ISO 8601 UTC, e.g. `2024-05-01T12:00:00Z`. */
export function xmlTimestamp(name: string, epochMs: number): XmlElement {
  return xmlText(name, formatAwsTimestamp(epochMs));
}

/** A blob: the bytes in standard base64 (the SDKs decode it once into bytes). */
export function xmlBlob(name: string, bytes: Uint8Array): XmlElement {
  return xmlText(name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'));
}

/** A list of structures: `<Name><member>…</member>…</Name>`; empty lists are `<Name/>`. */
export function xmlList(name: string, members: readonly (readonly XmlChild[])[]): XmlElement {
  return xmlElement(
    name,
    members.map((m) => xmlElement('member', m)),
  );
}

/** A list of strings: `<Name><member>value</member>…</Name>`. */
export function xmlStringList(name: string, values: readonly string[]): XmlElement {
  return xmlElement(
    name,
    values.map((v) => xmlText('member', v)),
  );
}

/** A map: `<Name><entry><key>k</key><value>v</value></entry>…</Name>`. */
export function xmlMap(name: string, entries: readonly (readonly [string, string])[]): XmlElement {
  return xmlElement(
    name,
    entries.map(([k, v]) => xmlElement('entry', [xmlText('key', k), xmlText('value', v)])),
  );
}

/** Serialises an element tree (no declaration, no whitespace between elements). */
export function renderXml(element: XmlElement, attributes: Readonly<Record<string, string>> = {}): string {
  const name = checkName(element.name);
  let attrs = '';
  for (const [key, value] of Object.entries(attributes))
    attrs += ` ${checkName(key)}="${escapeXmlText(value)}"`;
  if (element.text !== undefined) {
    return element.text === ''
      ? `<${name}${attrs}/>`
      : `<${name}${attrs}>${escapeXmlText(element.text)}</${name}>`;
  }
  const children = element.children ?? [];
  if (children.length === 0) return `<${name}${attrs}/>`;
  let out = `<${name}${attrs}>`;
  for (const child of children) out += renderXml(child);
  return `${out}</${name}>`;
}

/** Input of {@link writeSuccessResponse}. */
export interface SuccessResponseInput {
  service: AwsService;
  /** The operation name, e.g. `GetUser`. */
  action: string;
  requestId: string;
  /**
   * The members of `{Action}Result`, or `null` for actions without output (DeleteUser,
   * EnableMFADevice, …), which AWS answers with `ResponseMetadata` only.
   */
  result: readonly XmlChild[] | null;
}

/** Writes `<{Action}Response xmlns=…><{Action}Result>…</{Action}Result><ResponseMetadata>…`. */
export function writeSuccessResponse(input: SuccessResponseInput): string {
  const action = checkName(input.action);
  const root = xmlElement(`${action}Response`, [
    input.result === null ? undefined : xmlElement(`${action}Result`, input.result),
    xmlElement('ResponseMetadata', [xmlText('RequestId', input.requestId)]),
  ]);
  return renderXml(root, { xmlns: AWS_XML_NAMESPACE[input.service] });
}

/** Input of {@link writeErrorResponse}. */
export interface ErrorResponseInput {
  /** The service the request was for; unknown (no valid signature yet) leaves out the namespace. */
  service?: AwsService | undefined;
  code: AwsErrorCode;
  message: string;
  requestId: string;
}

/** Writes `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`. */
export function writeErrorResponse(input: ErrorResponseInput): string {
  const root = xmlElement('ErrorResponse', [
    xmlElement('Error', [
      xmlText('Type', AWS_ERRORS[input.code].type),
      xmlText('Code', input.code),
      xmlText('Message', replaceForbiddenXmlCharacters(input.message)),
    ]),
    xmlText('RequestId', input.requestId),
  ]);
  return renderXml(root, input.service ? { xmlns: AWS_XML_NAMESPACE[input.service] } : {});
}

/**
 * Response headers AWS sends with every Query answer: `text/xml`, the request id the SDKs read
 * (`x-amzn-RequestId`), and `Date`, from which the SDKs correct their clock skew.
 */
export function awsResponseHeaders(input: { requestId: string; now: number }): Record<string, string> {
  return {
    'content-type': 'text/xml',
    'x-amzn-requestid': input.requestId,
    date: new Date(input.now).toUTCString(),
  };
}
