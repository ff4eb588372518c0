import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { clientPath, withoutClients } from '../../../../test/helpers/external-clients.js';
import { isHoldfastError, type ErrorCode, type HoldfastError } from '../../errors.js';
import { generateHOTP } from '../otp/hotp.js';
import { parsePSKC } from './parse-pskc.js';

/**
 * Real PSKC files come from Debian's python3-pskc through test/fixtures/pskc/generate.py.
 * It is a test dependency CI installs, where these tests fail without it; elsewhere they are
 * skipped and `npm test` names the missing package in its closing banner. The interpreter is
 * the python3 that imports pskc (Debian's: a pyenv `python3` first on PATH lacks the module).
 */
const NO_PSKC = withoutClients('python3-pskc');
const pskcSuite = describe.skipIf(NO_PSKC);
const PYTHON = clientPath('python3-pskc');
const GENERATOR = fileURLToPath(new URL('../../../../test/fixtures/pskc/generate.py', import.meta.url));

interface KeySpec {
  id?: string;
  serial?: string;
  manufacturer?: string;
  model?: string;
  issuer?: string;
  algorithm?: string;
  suite?: string;
  digits?: number;
  encoding?: string;
  period?: number;
  counter?: number;
  secretHex?: string;
}

interface GenerateRequest {
  keys?: KeySpec[];
  bulk?: { count: number; algorithm: 'totp' | 'hotp' };
  encryption?: {
    keyHex: string;
    macKeyHex?: string;
    algorithm?: string;
    macAlgorithm?: string;
    fields?: string[];
    keyName?: string;
  };
  pbkdf2?: { password: string };
}

function generatePSKC(request: GenerateRequest): string {
  if (NO_PSKC) return ''; // the suites using it are skipped
  return execFileSync(PYTHON, [GENERATOR], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
}

function expectPSKCError(fn: () => unknown, code: ErrorCode): HoldfastError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isHoldfastError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
  return caught as HoldfastError;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

const PRE_SHARED_KEY_HEX = '12345678901234567890123456789012';
const PRE_SHARED_KEY = fromHex(PRE_SHARED_KEY_HEX);
const MAC_KEY_HEX = '1122334455667788990011223344556677889900';
/** RFC 4226 Appendix D secret, so a decoded token can be checked against the RFC's codes. */
const RFC4226_SECRET_HEX = Buffer.from('12345678901234567890').toString('hex');
const TOTP_SECRET_HEX = createHash('sha256').update('holdfast totp token').digest('hex');

const TOTP_KEY: KeySpec = {
  id: 'k-totp',
  serial: 'TOTP-0001',
  manufacturer: 'ACME Tokens',
  model: 'Time Token 8',
  issuer: 'Holdfast Test',
  algorithm: 'totp',
  suite: 'SHA256',
  digits: 8,
  encoding: 'DECIMAL',
  period: 60,
  secretHex: TOTP_SECRET_HEX,
};

const HOTP_KEY: KeySpec = {
  id: 'k-hotp',
  serial: 'HOTP-0002',
  algorithm: 'hotp',
  digits: 6,
  counter: 12345,
  secretHex: RFC4226_SECRET_HEX,
};

const EXPECTED_TOKENS = [
  {
    serial: 'TOTP-0001',
    manufacturer: 'ACME Tokens',
    model: 'Time Token 8',
    algorithm: 'TOTP',
    hashAlgorithm: 'SHA256',
    digits: 8,
    period: 60,
    counter: null,
    secret: fromHex(TOTP_SECRET_HEX),
    issuer: 'Holdfast Test',
  },
  {
    serial: 'HOTP-0002',
    manufacturer: null,
    model: null,
    algorithm: 'HOTP',
    hashAlgorithm: 'SHA1',
    digits: 6,
    period: null,
    counter: 12345,
    secret: fromHex(RFC4226_SECRET_HEX),
    issuer: null,
  },
];

const ENCRYPTION = { keyHex: PRE_SHARED_KEY_HEX, macKeyHex: MAC_KEY_HEX, algorithm: 'aes128-cbc' };

// Generated once: python3-pskc takes ~100 ms to start.
const plainFile = generatePSKC({ keys: [TOTP_KEY, HOTP_KEY] });
const encryptedFile = generatePSKC({ keys: [TOTP_KEY, HOTP_KEY], encryption: ENCRYPTION });

pskcSuite('python3-pskc, the generator of these fixtures', () => {
  it('is installed for Debian python3 (apt-get install python3-pskc)', () => {
    expect(execFileSync(PYTHON, ['-c', 'import pskc; print("ok")'], { encoding: 'utf8' }).trim()).toBe('ok');
  });
});

pskcSuite('parsePSKC: plain secrets', () => {
  it('reads every field of TOTP and HOTP key packages', () => {
    expect(plainFile).toContain('<pskc:PlainValue>');
    expect(parsePSKC({ xml: plainFile }).tokens).toEqual(EXPECTED_TOKENS);
  });

  it('yields secrets that produce the RFC 4226 codes', () => {
    const hotp = parsePSKC({ xml: plainFile }).tokens[1]!;
    expect(generateHOTP({ secret: hotp.secret, counter: 0, digits: 6, algorithm: 'SHA1' })).toBe('755224');
  });

  it('ignores a pre-shared key when nothing is encrypted', () => {
    expect(parsePSKC({ xml: plainFile, preSharedKey: PRE_SHARED_KEY }).tokens).toEqual(EXPECTED_TOKENS);
  });

  it('applies the defaults: SHA1, 6 digits, 30 s, counter 0, Key Id when there is no serial', () => {
    const xml = generatePSKC({
      keys: [
        { id: 'only-an-id', algorithm: 'totp', secretHex: '00112233' },
        { serial: 'H', algorithm: 'hotp', secretHex: '44556677' },
      ],
    });
    expect(parsePSKC({ xml }).tokens).toEqual([
      {
        serial: 'only-an-id',
        manufacturer: null,
        model: null,
        algorithm: 'TOTP',
        hashAlgorithm: 'SHA1',
        digits: 6,
        period: 30,
        counter: null,
        secret: fromHex('00112233'),
        issuer: null,
      },
      expect.objectContaining({ serial: 'H', algorithm: 'HOTP', counter: 0, period: null, digits: 6 }),
    ]);
  });

  it('reads SHA512 and HMAC-SHA-256 style suites', () => {
    const xml = generatePSKC({
      keys: [
        { serial: 'a', algorithm: 'totp', suite: 'SHA512', secretHex: '01' },
        { serial: 'b', algorithm: 'hotp', suite: 'HMAC-SHA-256', secretHex: '02' },
      ],
    });
    expect(parsePSKC({ xml }).tokens.map((t) => t.hashAlgorithm)).toEqual(['SHA512', 'SHA256']);
  });

  it('returns no tokens for an empty container', () => {
    expect(parsePSKC({ xml: generatePSKC({ keys: [] }) })).toEqual({ tokens: [] });
  });
});

pskcSuite('parsePSKC: encrypted secrets (RFC 6030 §6.1, AES-128-CBC with an HMAC-SHA1 MAC key)', () => {
  it('decrypts TOTP and HOTP secrets with the pre-shared key after checking their MACs', () => {
    expect(encryptedFile).toContain('xmlenc#aes128-cbc');
    expect(encryptedFile).toContain('<pskc:MACKey>');
    expect(encryptedFile).toContain('<pskc:ValueMAC>');
    expect(encryptedFile).not.toContain(Buffer.from(fromHex(TOTP_SECRET_HEX)).toString('base64'));
    expect(parsePSKC({ xml: encryptedFile, preSharedKey: PRE_SHARED_KEY }).tokens).toEqual(EXPECTED_TOKENS);
  });

  it('works with the random MAC key python-pskc draws by default', () => {
    const xml = generatePSKC({ keys: [TOTP_KEY], encryption: { keyHex: PRE_SHARED_KEY_HEX } });
    expect(parsePSKC({ xml, preSharedKey: PRE_SHARED_KEY }).tokens).toEqual([EXPECTED_TOKENS[0]]);
  });

  it('decrypts AES-256-CBC with an HMAC-SHA256 MAC, and encrypted counters and intervals', () => {
    const key256 = createHash('sha256').update('psk').digest('hex');
    const xml = generatePSKC({
      keys: [TOTP_KEY, { ...HOTP_KEY, counter: 48 }],
      encryption: {
        keyHex: key256,
        algorithm: 'aes256-cbc',
        macAlgorithm: 'hmac-sha256',
        fields: ['secret', 'counter', 'time_interval'],
      },
    });
    expect(xml).not.toMatch(/<pskc:Counter>\s*<pskc:PlainValue>/);
    const tokens = parsePSKC({ xml, preSharedKey: fromHex(key256) }).tokens;
    // 48 is 0x30, the byte of ASCII "0": python-pskc itself reads it back as 0; we do not.
    expect(tokens).toEqual([EXPECTED_TOKENS[0], { ...EXPECTED_TOKENS[1], counter: 48 }]);
  });

  it('asks for the key when none is given (PSKC_KEY_REQUIRED)', () => {
    expectPSKCError(() => parsePSKC({ xml: encryptedFile }), 'PSKC_KEY_REQUIRED');
  });

  it('refuses a wrong key or a key of the wrong length (PSKC_DECRYPT_FAILED)', () => {
    for (const candidate of ['00000000000000000000000000000000', '12345678901234567890123456789013']) {
      expectPSKCError(
        () => parsePSKC({ xml: encryptedFile, preSharedKey: fromHex(candidate) }),
        'PSKC_DECRYPT_FAILED',
      );
    }
    expectPSKCError(
      () => parsePSKC({ xml: encryptedFile, preSharedKey: fromHex(`${PRE_SHARED_KEY_HEX}00`) }),
      'PSKC_DECRYPT_FAILED',
    );
  });

  it('refuses a tampered ValueMAC (PSKC_DECRYPT_FAILED) naming the package', () => {
    const tampered = encryptedFile.replace(
      /<pskc:ValueMAC>(.)/,
      (_m, c: string) => `<pskc:ValueMAC>${c === 'A' ? 'B' : 'A'}`,
    );
    expect(tampered).not.toBe(encryptedFile);
    const err = expectPSKCError(
      () => parsePSKC({ xml: tampered, preSharedKey: PRE_SHARED_KEY }),
      'PSKC_DECRYPT_FAILED',
    );
    expect(err.details).toEqual({ keyPackageIndex: 0 });
  });

  it('refuses a tampered ciphertext before decrypting it (PSKC_DECRYPT_FAILED)', () => {
    // Flip the first character of the second package's Secret CipherValue (its IV).
    const secrets = [
      ...encryptedFile.matchAll(/<pskc:Secret>\s*<pskc:EncryptedValue>[\s\S]*?<xenc:CipherValue>/g),
    ];
    const at = secrets[1]!.index + secrets[1]![0].length;
    const tampered =
      encryptedFile.slice(0, at) + (encryptedFile[at] === 'A' ? 'B' : 'A') + encryptedFile.slice(at + 1);
    const err = expectPSKCError(
      () => parsePSKC({ xml: tampered, preSharedKey: PRE_SHARED_KEY }),
      'PSKC_DECRYPT_FAILED',
    );
    expect(err.details).toEqual({ keyPackageIndex: 1 });
  });

  it('refuses a tampered MAC key (PSKC_DECRYPT_FAILED)', () => {
    const tampered = encryptedFile.replace(
      /(<pskc:MACKey>[\s\S]*?<xenc:CipherValue>)(.)/,
      (_m, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`,
    );
    expectPSKCError(() => parsePSKC({ xml: tampered, preSharedKey: PRE_SHARED_KEY }), 'PSKC_DECRYPT_FAILED');
  });

  it('refuses encrypted values without a ValueMAC or without a MACMethod (PSKC_MAC_MISSING)', () => {
    const noValueMAC = encryptedFile.replace(/<pskc:ValueMAC>[^<]*<\/pskc:ValueMAC>/g, '');
    expectPSKCError(() => parsePSKC({ xml: noValueMAC, preSharedKey: PRE_SHARED_KEY }), 'PSKC_MAC_MISSING');
    const noMACMethod = encryptedFile.replace(/<pskc:MACMethod[\s\S]*<\/pskc:MACMethod>/, '');
    expectPSKCError(() => parsePSKC({ xml: noMACMethod, preSharedKey: PRE_SHARED_KEY }), 'PSKC_MAC_MISSING');
  });

  it('refuses password-based (PBKDF2, RFC 6030 §6.2) protection as unsupported', () => {
    const xml = generatePSKC({ keys: [TOTP_KEY], pbkdf2: { password: 'correct horse' } });
    expect(xml).toContain('DerivedKey');
    expectPSKCError(() => parsePSKC({ xml, preSharedKey: PRE_SHARED_KEY }), 'PSKC_UNSUPPORTED');
  });
});

pskcSuite('parsePSKC: 10,000 tokens', () => {
  const count = 10_000;
  const bulkFile = generatePSKC({
    bulk: { count, algorithm: 'totp' },
    encryption: { keyHex: PRE_SHARED_KEY_HEX },
  });

  // How fast is measured by `npm run bench` (pskc-import), never asserted here.
  it('decrypts every secret of an encrypted file of 10,000 tokens', () => {
    const { tokens } = parsePSKC({ xml: bulkFile, preSharedKey: PRE_SHARED_KEY });
    expect(tokens).toHaveLength(count);
    tokens.forEach((token, i) => {
      expect(token.serial).toBe(`BULK-${String(i).padStart(6, '0')}`);
      expect(hex(token.secret)).toBe(createHash('sha1').update(`holdfast-bulk-${i}`).digest('hex'));
      expect(token.period).toBe(30);
    });
  });

  it('is all-or-nothing: one bad package among 10,000 fails the file and is named', () => {
    const marker = '<pskc:SerialNo>BULK-007777</pskc:SerialNo>';
    const start = bulkFile.indexOf(marker);
    const keyStart = bulkFile.indexOf('Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp"', start);
    const broken =
      bulkFile.slice(0, keyStart) +
      'Algorithm="urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1:HOTP-SHA1-6:QN08"' +
      bulkFile.slice(keyStart + 'Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp"'.length);
    const err = expectPSKCError(
      () => parsePSKC({ xml: broken, preSharedKey: PRE_SHARED_KEY }),
      'PSKC_UNSUPPORTED',
    );
    expect(err.details).toEqual({ keyPackageIndex: 7777 });
  });
});

pskcSuite('parsePSKC: hostile and broken input', () => {
  const parseWithKey = (xml: string) => () => parsePSKC({ xml, preSharedKey: PRE_SHARED_KEY });

  it('refuses billion-laughs entity expansion before parsing (PSKC_FORBIDDEN_DTD)', () => {
    const lol = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [',
      ' <!ENTITY lol "lol">',
      ...Array.from(
        { length: 9 },
        (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
      ),
      ']>',
      '<KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc" Version="1.0"><KeyPackage><Key',
      ' Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Issuer>&lol9;</Issuer></Key></KeyPackage></KeyContainer>',
    ].join('\n');
    expectPSKCError(parseWithKey(lol), 'PSKC_FORBIDDEN_DTD');
  });

  it('refuses an external entity (XXE) before parsing (PSKC_FORBIDDEN_DTD)', () => {
    const xxe = plainFile.replace(
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE pskc:KeyContainer [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    );
    expect(xxe).toContain('<!ENTITY x SYSTEM');
    expectPSKCError(
      parseWithKey(xxe.replace('<pskc:Issuer>Holdfast Test', '<pskc:Issuer>&x;')),
      'PSKC_FORBIDDEN_DTD',
    );
    expectPSKCError(
      parseWithKey('<!doctype KeyContainer SYSTEM "http://127.0.0.1/x.dtd"><KeyContainer/>'),
      'PSKC_FORBIDDEN_DTD',
    );
    expectPSKCError(parseWithKey(`${plainFile}<!ENTITY y "z">`), 'PSKC_FORBIDDEN_DTD');
  });

  it.each([
    ['plain text', 'hello, this is not XML'],
    ['an empty string', ''],
    ['mismatched tags', '<KeyContainer><KeyPackage></Key></KeyContainer>'],
    ['another root element', '<Foo Version="1.0"/>'],
    ['two root elements', '<KeyContainer/><KeyContainer/>'],
  ])('refuses %s (PSKC_MALFORMED)', (_name, xml) => {
    expectPSKCError(parseWithKey(xml), 'PSKC_MALFORMED');
  });

  it('refuses truncated files, cut anywhere (PSKC_MALFORMED)', () => {
    for (const fraction of [0.1, 0.5, 0.9, 0.99]) {
      const cut = encryptedFile.slice(0, Math.floor(encryptedFile.length * fraction));
      expectPSKCError(parseWithKey(cut), 'PSKC_MALFORMED');
    }
  });

  it('refuses deep nesting without exhausting the stack (PSKC_MALFORMED)', () => {
    const depth = 200_000;
    const xml = `<KeyContainer>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</KeyContainer>`;
    expectPSKCError(parseWithKey(xml), 'PSKC_MALFORMED');
  });

  it('refuses a secret that is not base64 or a duplicated element (PSKC_MALFORMED)', () => {
    const badBase64 = plainFile.replace(/(<pskc:Secret>\s*<pskc:PlainValue>)[^<]*/, '$1not*base64!');
    expectPSKCError(parseWithKey(badBase64), 'PSKC_MALFORMED');
    const twoSerials = plainFile.replace(
      '<pskc:SerialNo>TOTP-0001</pskc:SerialNo>',
      '<pskc:SerialNo>A</pskc:SerialNo><pskc:SerialNo>B</pskc:SerialNo>',
    );
    expectPSKCError(parseWithKey(twoSerials), 'PSKC_MALFORMED');
  });

  it('refuses unsupported packages and names them without leaking secrets (PSKC_UNSUPPORTED)', () => {
    const cases: Array<[string, KeySpec]> = [
      [
        'OCRA',
        {
          serial: 'a',
          algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1:HOTP-SHA1-6:QN08',
          secretHex: '01',
        },
      ],
      ['PIN', { serial: 'b', algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc:pin', secretHex: '01' }],
      ['no secret', { serial: 'c', algorithm: 'totp' }],
      ['no algorithm', { serial: 'd', secretHex: '01' }],
      ['MD5 suite', { serial: 'e', algorithm: 'hotp', suite: 'MD5', secretHex: '01' }],
      ['10 digits', { serial: 'f', algorithm: 'hotp', digits: 10, secretHex: '01' }],
      [
        'alphanumeric',
        { serial: 'g', algorithm: 'hotp', digits: 6, encoding: 'ALPHANUMERIC', secretHex: '01' },
      ],
      ['neither serial nor Key Id', { algorithm: 'hotp', secretHex: '01' }],
    ];
    for (const [label, bad] of cases) {
      const xml = generatePSKC({ keys: [TOTP_KEY, HOTP_KEY, bad] });
      const err = expectPSKCError(parseWithKey(xml), 'PSKC_UNSUPPORTED');
      expect(err.details, label).toEqual({ keyPackageIndex: 2 });
      for (const secretHex of [TOTP_SECRET_HEX, RFC4226_SECRET_HEX]) {
        const shown = `${err.message} ${JSON.stringify(err.details)}`;
        expect(shown).not.toContain(secretHex);
        expect(shown).not.toContain(Buffer.from(secretHex, 'hex').toString('base64'));
      }
    }
  });

  it('refuses a file over the size limit (PSKC_TOO_LARGE)', () => {
    expectPSKCError(() => parsePSKC({ xml: plainFile, maxBytes: 1_000 }), 'PSKC_TOO_LARGE');
    // Multi-byte characters count as UTF-8 bytes, not as string length.
    const accented = plainFile.replace('Holdfast Test', 'é'.repeat(600));
    expect(accented.length).toBeLessThan(plainFile.length + 600);
    expectPSKCError(() => parsePSKC({ xml: accented, maxBytes: plainFile.length + 600 }), 'PSKC_TOO_LARGE');
    expectPSKCError(() => parsePSKC({ xml: ' '.repeat(50 * 1024 * 1024 + 1) }), 'PSKC_TOO_LARGE');
  });

  it('refuses more than 100,000 key packages before parsing them (PSKC_TOO_LARGE)', () => {
    const packages = '<KeyPackage/>'.repeat(100_001);
    const xml = `<KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc" Version="1.0">${packages}</KeyContainer>`;
    expectPSKCError(() => parsePSKC({ xml }), 'PSKC_TOO_LARGE');
    expectPSKCError(() => parsePSKC({ xml: plainFile, maxKeyPackages: 1 }), 'PSKC_TOO_LARGE');
  });
});
