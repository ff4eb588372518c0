/**
 * Parser for PSKC files (RFC 6030), the format hardware OTP token vendors ship seeds in.
 *
 * Hostile input is expected: markup declarations are refused before any parsing (no entity
 * expansion, no external entities), size and key-package count are capped, and the import is
 * all-or-nothing, so one bad KeyPackage fails the file. Errors name the KeyPackage index,
 * never a secret.
 */

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { HoldfastError, type ErrorCode } from '../../errors.js';
import type { OTPHashAlgorithm } from '../otp/hotp.js';
import {
  decryptPSKCValue,
  PSKC_CIPHERS,
  PSKC_MAC_ALGORITHMS,
  verifyPSKCValueMAC,
  type PSKCCipher,
} from './pskc-crypto.js';

/** Default cap on the file size in UTF-8 bytes (50 MiB holds ~50,000 encrypted tokens). */
export const PSKC_MAX_BYTES = 50 * 1024 * 1024;

/** Default cap on the number of KeyPackage elements in one file. */
export const PSKC_MAX_KEY_PACKAGES = 100_000;

/** One OTP token read from a KeyPackage. */
export interface PSKCToken {
  /** DeviceInfo/SerialNo, or Key/@Id when the package has no serial number. */
  serial: string;
  manufacturer: string | null;
  model: string | null;
  algorithm: 'TOTP' | 'HOTP';
  hashAlgorithm: OTPHashAlgorithm;
  /** AlgorithmParameters/ResponseFormat/@Length (6 when absent, the RFC 4226 default). */
  digits: number;
  /** Data/TimeInterval in seconds for TOTP (30 when absent, RFC 6238 §4.1); null for HOTP. */
  period: number | null;
  /** Data/Counter for HOTP (0 when absent); null for TOTP. */
  counter: number | null;
  secret: Uint8Array;
  /** Key/Issuer. */
  issuer: string | null;
}

/** Options of parsePSKC. */
export interface ParsePSKCOptions {
  /** The file's text (decoded by the caller). */
  xml: string;
  /** The pre-shared key for EncryptedValue elements (RFC 6030 §6.1). */
  preSharedKey?: Uint8Array;
  /** Size cap in UTF-8 bytes; default PSKC_MAX_BYTES. */
  maxBytes?: number;
  /** KeyPackage cap; default PSKC_MAX_KEY_PACKAGES. */
  maxKeyPackages?: number;
}

/** Result of parsePSKC: every token of the file, in file order. */
export interface ParsePSKCResult {
  tokens: PSKCToken[];
}

/** Parses a PSKC document; the installation's implementation runs it off the event loop. */
export type PSKCParser = (
  options: Pick<ParsePSKCOptions, 'xml' | 'preSharedKey'>,
) => Promise<ParsePSKCResult>;

const ALGORITHM_URNS: ReadonlyMap<string, 'HOTP' | 'TOTP'> = new Map([
  ['urn:ietf:params:xml:ns:keyprov:pskc:hotp', 'HOTP'],
  ['urn:ietf:params:xml:ns:keyprov:pskc:totp', 'TOTP'],
]);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const KEY_PACKAGE_TAG = /<(?:[A-Za-z_][\w.-]*:)?KeyPackage[\s/>]/g;

/** A parsed element: text for a text-only element, an object when it has children or attributes. */
type XMLElement = string | { readonly [name: string]: unknown };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  htmlEntities: false,
  // Every element is an array, so a duplicated element is seen rather than silently merged.
  isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
});

function children(element: XMLElement | undefined, name: string): XMLElement[] {
  if (element === undefined || typeof element === 'string' || !Object.hasOwn(element, name)) return [];
  const value = element[name];
  return Array.isArray(value) ? (value as XMLElement[]) : [];
}

/**
 * One place in the file (a KeyPackage index or the container) that reads elements and fails
 * with errors naming that place: `details.keyPackageIndex` for packages, never a value.
 */
class Scope {
  constructor(private readonly keyPackageIndex: number | null) {}

  /** Throws `code` with the message prefixed by the place. */
  fail(code: ErrorCode, message: string): never {
    throw this.error(code, message);
  }

  /** Re-throws a HoldfastError from a helper as if raised here, keeping it as the cause. */
  rethrow(err: unknown): never {
    if (err instanceof HoldfastError) throw this.error(err.code, err.message, err);
    throw err;
  }

  /** The one child called `name`, undefined when absent; a duplicate is malformed. */
  child(element: XMLElement | undefined, name: string): XMLElement | undefined {
    const found = children(element, name);
    if (found.length > 1) this.fail('PSKC_MALFORMED', `<${name}> appears more than once.`);
    return found[0];
  }

  /** Follows a path of single children. */
  path(element: XMLElement | undefined, names: string[]): XMLElement | undefined {
    let current = element;
    for (const name of names) current = this.child(current, name);
    return current;
  }

  /** Decodes strict base64 (whitespace allowed, as XML Schema base64Binary allows it). */
  base64(value: string | undefined, what: string): Buffer {
    const compact = (value ?? '').replace(/\s+/g, '');
    if (compact === '' || !BASE64.test(compact)) this.fail('PSKC_MALFORMED', `${what} is not valid base64.`);
    return Buffer.from(compact, 'base64');
  }

  private error(code: ErrorCode, message: string, cause?: unknown): HoldfastError {
    const index = this.keyPackageIndex;
    return new HoldfastError(
      code,
      `${index === null ? 'KeyContainer' : `KeyPackage[${index}]`}: ${message}`,
      {
        cause,
        details: index === null ? undefined : { keyPackageIndex: index },
      },
    );
  }
}

/** The scope of errors about the container as a whole (explicitly typed so `fail` narrows). */
const CONTAINER: Scope = new Scope(null);

function text(element: XMLElement | undefined): string | undefined {
  if (element === undefined) return undefined;
  if (typeof element === 'string') return element;
  const value = Object.hasOwn(element, '#text') ? element['#text'] : '';
  return typeof value === 'string' ? value : String(value);
}

function attribute(element: XMLElement | undefined, name: string): string | undefined {
  if (element === undefined || typeof element === 'string' || !Object.hasOwn(element, `@${name}`))
    return undefined;
  const value = element[`@${name}`];
  return typeof value === 'string' ? value : undefined;
}

function optionalText(element: XMLElement | undefined): string | null {
  const value = text(element)?.trim();
  return value === undefined || value === '' ? null : value;
}

/** Refuses DOCTYPE, ENTITY and every other `<!` declaration: only comments and CDATA may use `<!`. */
function assertNoMarkupDeclarations(xml: string): void {
  for (let i = xml.indexOf('<!'); i !== -1; i = xml.indexOf('<!', i + 2)) {
    if (!xml.startsWith('<!--', i) && !xml.startsWith('<![CDATA[', i)) {
      // Billion laughs (entity expansion) and XXE (external entities) both need a DTD.
      throw new HoldfastError(
        'PSKC_FORBIDDEN_DTD',
        'The file contains a markup declaration (DOCTYPE/ENTITY).',
      );
    }
  }
}

function assertWithinLimits(options: { xml: string; maxBytes: number; maxKeyPackages: number }): void {
  const { xml, maxBytes, maxKeyPackages } = options;
  // A string has at most as many UTF-16 units as UTF-8 bytes, so the cheap test comes first.
  if (xml.length > maxBytes || Buffer.byteLength(xml, 'utf8') > maxBytes) {
    throw new HoldfastError('PSKC_TOO_LARGE', `The file is larger than ${maxBytes} bytes.`, {
      details: { maxBytes },
    });
  }
  KEY_PACKAGE_TAG.lastIndex = 0;
  let count = 0;
  while (KEY_PACKAGE_TAG.exec(xml) !== null) {
    if (++count > maxKeyPackages) {
      throw new HoldfastError('PSKC_TOO_LARGE', `The file holds more than ${maxKeyPackages} key packages.`, {
        details: { maxKeyPackages },
      });
    }
  }
}

/** Decryption state shared by every value of one file: the key and the MAC key, decrypted once. */
class ValueDecryptor {
  private mac: { key: Buffer; hash: string } | undefined;

  constructor(
    private readonly container: XMLElement,
    private readonly preSharedKey: Uint8Array | undefined,
  ) {}

  /**
   * Decrypts one EncryptedValue after checking its ValueMAC: HMAC over IV || ciphertext with the
   * MAC key from MACMethod/MACKey (RFC 6030 §6.1.1), before any decryption of the value.
   */
  decrypt(options: { encrypted: XMLElement; valueMAC: XMLElement | undefined; scope: Scope }): Buffer {
    const { encrypted, valueMAC } = options;
    const scope: Scope = options.scope;
    const key = this.requireKey(scope);
    const cipherValue = readCipherValue(encrypted, scope);
    if (valueMAC === undefined) {
      scope.fail('PSKC_MAC_MISSING', 'An encrypted value has no <ValueMAC> (RFC 6030 §6.1.1).');
    }
    const mac = scope.base64(text(valueMAC), '<ValueMAC>');
    const macKey = this.loadMacKey(key);
    if (!verifyPSKCValueMAC({ hash: macKey.hash, key: macKey.key, data: cipherValue.ivAndCiphertext, mac })) {
      scope.fail('PSKC_DECRYPT_FAILED', 'The value MAC does not match (wrong key or tampered file).');
    }
    try {
      return decryptPSKCValue({ ...cipherValue, key });
    } catch (err) {
      return scope.rethrow(err);
    }
  }

  /** Zeroes the decrypted MAC key once the file is done. */
  dispose(): void {
    this.mac?.key.fill(0);
  }

  private requireKey(scope: Scope): Uint8Array {
    if (this.preSharedKey === undefined) {
      scope.fail('PSKC_KEY_REQUIRED', 'The file holds encrypted values and no pre-shared key was given.');
    }
    const encryptionKey = CONTAINER.child(this.container, 'EncryptionKey');
    // Only pre-shared keys (RFC 6030 §6.1); PBKDF2 (§6.2) and public keys (§6.3) are not supported.
    for (const other of ['DerivedKey', 'X509Data', 'KeyValue', 'RetrievalMethod']) {
      if (CONTAINER.child(encryptionKey, other) !== undefined) {
        CONTAINER.fail(
          'PSKC_UNSUPPORTED',
          `<EncryptionKey> uses <${other}>; only a pre-shared key is supported.`,
        );
      }
    }
    return this.preSharedKey;
  }

  private loadMacKey(key: Uint8Array): { key: Buffer; hash: string } {
    if (this.mac !== undefined) return this.mac;
    const method = CONTAINER.child(this.container, 'MACMethod');
    if (method === undefined) {
      CONTAINER.fail('PSKC_MAC_MISSING', 'Encrypted values need a <MACMethod> (RFC 6030 §6.1.1).');
    }
    const algorithm = attribute(method, 'Algorithm');
    const hash = algorithm === undefined ? undefined : PSKC_MAC_ALGORITHMS.get(algorithm);
    if (hash === undefined)
      CONTAINER.fail('PSKC_UNSUPPORTED', 'The MAC algorithm is missing or not HMAC-SHA.');
    const macKeyElement = CONTAINER.child(method, 'MACKey');
    if (macKeyElement === undefined) {
      CONTAINER.fail(
        'PSKC_MAC_MISSING',
        '<MACMethod> carries no <MACKey> (MACKeyReference is not supported).',
      );
    }
    // The MAC key travels encrypted under the same pre-shared key (RFC 6030 §6.1.1).
    let macKey: Buffer;
    try {
      macKey = decryptPSKCValue({ ...readCipherValue(macKeyElement, CONTAINER), key });
    } catch (err) {
      return CONTAINER.rethrow(err);
    }
    if (macKey.length === 0) CONTAINER.fail('PSKC_DECRYPT_FAILED', 'The MAC key is empty.');
    this.mac = { key: macKey, hash };
    return this.mac;
  }
}

/** Reads EncryptionMethod and CipherData/CipherValue of an EncryptedValue or MACKey. */
function readCipherValue(
  encrypted: XMLElement,
  scope: Scope,
): { cipher: PSKCCipher; ivAndCiphertext: Buffer } {
  const algorithm = attribute(scope.child(encrypted, 'EncryptionMethod'), 'Algorithm');
  const cipher = algorithm === undefined ? undefined : PSKC_CIPHERS.get(algorithm);
  if (cipher === undefined)
    scope.fail('PSKC_UNSUPPORTED', 'The encryption method is missing or not AES-CBC.');
  const value = scope.path(encrypted, ['CipherData', 'CipherValue']);
  return { cipher, ivAndCiphertext: scope.base64(text(value), '<CipherValue>') };
}

/** Reads a <PlainValue> or an <EncryptedValue> with its <ValueMAC>, the forms of a <Data> child (RFC 6030 §4). */
function readValue(options: {
  element: XMLElement;
  name: string;
  decryptor: ValueDecryptor;
  scope: Scope;
}): { plain: string } | { decrypted: Buffer } {
  const { element, name, decryptor } = options;
  const scope: Scope = options.scope;
  const plain = scope.child(element, 'PlainValue');
  const encrypted = scope.child(element, 'EncryptedValue');
  if (plain !== undefined && encrypted !== undefined) {
    scope.fail('PSKC_MALFORMED', `<${name}> has both a plain and an encrypted value.`);
  }
  if (plain !== undefined) return { plain: text(plain) ?? '' };
  if (encrypted === undefined)
    scope.fail('PSKC_UNSUPPORTED', `<${name}> has no PlainValue or EncryptedValue.`);
  return { decrypted: decryptor.decrypt({ encrypted, valueMAC: scope.child(element, 'ValueMAC'), scope }) };
}

/**
 * Reads an integer data element. Plain values are decimal (xs:int/xs:unsignedLong); encrypted
 * ones are the big-endian bytes of the number (python-pskc writes them so).
 */
function readInteger(options: {
  data: XMLElement;
  name: string;
  decryptor: ValueDecryptor;
  scope: Scope;
}): number | null {
  const name = options.name;
  const scope: Scope = options.scope;
  const element = scope.child(options.data, name);
  if (element === undefined) return null;
  const value = readValue({ ...options, element });
  let result: number;
  if ('plain' in value) {
    const digits = value.plain.trim();
    if (!/^[0-9]{1,16}$/.test(digits)) scope.fail('PSKC_MALFORMED', `<${name}> is not a number.`);
    result = Number(digits);
  } else {
    if (value.decrypted.length === 0 || value.decrypted.length > 8) {
      scope.fail('PSKC_MALFORMED', `<${name}> does not decrypt to a number.`);
    }
    result = Number(BigInt(`0x${value.decrypted.toString('hex')}`));
  }
  if (!Number.isSafeInteger(result)) scope.fail('PSKC_UNSUPPORTED', `<${name}> is too large.`);
  return result;
}

/** Maps AlgorithmParameters/Suite ("SHA256", "HMAC-SHA-256" ...) to a hash; SHA1 when absent. */
function readHashAlgorithm(key: XMLElement, scope: Scope): OTPHashAlgorithm {
  const suite = optionalText(scope.path(key, ['AlgorithmParameters', 'Suite']));
  if (suite === null) return 'SHA1';
  const name = suite
    .toUpperCase()
    .replace(/^HMAC-?/, '')
    .replace(/-/g, '');
  if (name === 'SHA1' || name === 'SHA256' || name === 'SHA512') return name;
  return scope.fail('PSKC_UNSUPPORTED', 'The algorithm suite is not SHA1, SHA256 or SHA512.');
}

/** Reads AlgorithmParameters/ResponseFormat (RFC 6030 §4): decimal, no check digit, 6 to 8 digits. */
function readDigits(key: XMLElement, scope: Scope): number {
  const format = scope.path(key, ['AlgorithmParameters', 'ResponseFormat']);
  if (format === undefined) return 6;
  const encoding = attribute(format, 'Encoding');
  if (encoding !== undefined && encoding.toUpperCase() !== 'DECIMAL') {
    scope.fail('PSKC_UNSUPPORTED', 'Only DECIMAL responses are supported.');
  }
  const checkDigits = attribute(format, 'CheckDigits');
  if (checkDigits === 'true' || checkDigits === '1') {
    scope.fail('PSKC_UNSUPPORTED', 'Responses with a Luhn check digit are not supported.');
  }
  const length = attribute(format, 'Length')?.trim();
  if (length === undefined || !/^[6-8]$/.test(length)) {
    scope.fail('PSKC_UNSUPPORTED', 'The response length must be 6, 7 or 8.');
  }
  return Number(length);
}

/** Reads one KeyPackage (RFC 6030 §4) into a token; the secret is copied and the buffer zeroed. */
function readKeyPackage(options: {
  keyPackage: XMLElement;
  decryptor: ValueDecryptor;
  scope: Scope;
}): PSKCToken {
  const { keyPackage, decryptor } = options;
  const scope: Scope = options.scope;
  const keys = children(keyPackage, 'Key');
  if (keys.length !== 1) {
    scope.fail('PSKC_UNSUPPORTED', keys.length === 0 ? 'The package has no <Key>.' : 'More than one <Key>.');
  }
  const key = keys[0]!;
  const algorithm = ALGORITHM_URNS.get((attribute(key, 'Algorithm') ?? '').trim().toLowerCase());
  if (algorithm === undefined) scope.fail('PSKC_UNSUPPORTED', 'The key algorithm is not HOTP or TOTP.');

  const data = scope.child(key, 'Data');
  const secretElement = scope.child(data, 'Secret');
  if (data === undefined || secretElement === undefined)
    scope.fail('PSKC_UNSUPPORTED', 'The key has no secret.');
  const secretValue = readValue({ element: secretElement, name: 'Secret', decryptor, scope });
  const secretBytes =
    'plain' in secretValue ? scope.base64(secretValue.plain, '<Secret>') : secretValue.decrypted;
  if (secretBytes.length === 0) scope.fail('PSKC_UNSUPPORTED', 'The secret is empty.');
  const secret = Uint8Array.from(secretBytes);
  secretBytes.fill(0);

  const counter = readInteger({ data, name: 'Counter', decryptor, scope });
  const period = readInteger({ data, name: 'TimeInterval', decryptor, scope });
  if (algorithm === 'TOTP' && period === 0) scope.fail('PSKC_UNSUPPORTED', 'The time interval is 0.');

  const deviceInfo = scope.child(keyPackage, 'DeviceInfo');
  const serial = optionalText(scope.child(deviceInfo, 'SerialNo')) ?? attribute(key, 'Id')?.trim() ?? '';
  if (serial === '') scope.fail('PSKC_UNSUPPORTED', 'The package has neither a SerialNo nor a Key Id.');

  return {
    serial,
    manufacturer: optionalText(scope.child(deviceInfo, 'Manufacturer')),
    model: optionalText(scope.child(deviceInfo, 'Model')),
    algorithm,
    hashAlgorithm: readHashAlgorithm(key, scope),
    digits: readDigits(key, scope),
    period: algorithm === 'TOTP' ? (period ?? 30) : null,
    counter: algorithm === 'HOTP' ? (counter ?? 0) : null,
    secret,
    issuer: optionalText(scope.child(key, 'Issuer')),
  };
}

/**
 * Parses a PSKC file (RFC 6030) into OTP tokens, decrypting pre-shared-key protected secrets
 * (§6.1) after checking their MACs. All-or-nothing: any bad package fails the whole file.
 */
export function parsePSKC(options: ParsePSKCOptions): ParsePSKCResult {
  if (typeof options.xml !== 'string') throw new HoldfastError('PSKC_MALFORMED', 'The file is not text.');
  const xml = options.xml.charCodeAt(0) === 0xfeff ? options.xml.slice(1) : options.xml;
  assertWithinLimits({
    xml,
    maxBytes: options.maxBytes ?? PSKC_MAX_BYTES,
    maxKeyPackages: options.maxKeyPackages ?? PSKC_MAX_KEY_PACKAGES,
  });
  assertNoMarkupDeclarations(xml);

  // The parser is lenient (it accepts mismatched and unclosed tags), so validate first.
  const validation = XMLValidator.validate(xml);
  if (validation !== true) {
    // The validator's own text may quote the document; only the position is passed on.
    throw new HoldfastError('PSKC_MALFORMED', 'The file is not well-formed XML.', {
      details: { line: validation.err.line, column: validation.err.col },
    });
  }
  let document: XMLElement;
  try {
    document = parser.parse(xml) as XMLElement;
  } catch (cause) {
    // Includes the parser's own nesting limit, so deep nesting never exhausts the stack.
    throw new HoldfastError('PSKC_MALFORMED', 'The file could not be parsed as XML.', { cause });
  }

  const roots = children(document, 'KeyContainer');
  if (roots.length !== 1 || typeof document !== 'object' || Object.keys(document).length !== 1) {
    throw new HoldfastError('PSKC_MALFORMED', 'The root element is not a PSKC <KeyContainer>.');
  }
  const container = roots[0]!;
  const version = attribute(container, 'Version');
  if (version !== undefined && version !== '1.0') {
    CONTAINER.fail('PSKC_UNSUPPORTED', 'Only PSKC version 1.0 is supported.');
  }

  const decryptor = new ValueDecryptor(container, options.preSharedKey);
  try {
    const tokens = children(container, 'KeyPackage').map((keyPackage, index) =>
      readKeyPackage({ keyPackage, decryptor, scope: new Scope(index) }),
    );
    return { tokens };
  } finally {
    decryptor.dispose();
  }
}
