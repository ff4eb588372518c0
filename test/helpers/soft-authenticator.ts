/**
 * A software WebAuthn authenticator for fast server-side tests (W3C WebAuthn Level 2 §6), plus
 * a tiny X.509 issuer (RFC 5280) for attestation and MDS test chains, and a JWS signer
 * (RFC 7515) for test MDS BLOBs.
 *
 * It builds what a browser would send: clientDataJSON (§5.8.1), authenticator data with the
 * UP/UV/BE/BS/AT flags and signature counter (§6.1), attested credential data with a COSE_Key
 * (§6.5.1, RFC 9053), CBOR attestation objects in the `none` and `packed` formats (§8.2: self
 * attestation, or an x5c chain from a test CA), and assertions (§6.3.3). Keys are ES256
 * (ECDSA P-256 with SHA-256) from node:crypto. Real browsers are exercised elsewhere.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

// ---------------------------------------------------------------------------------------------
// DER (ITU-T X.690) and X.509 (RFC 5280) just enough for test certificates
// ---------------------------------------------------------------------------------------------

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const seq = (...items: Uint8Array[]) => tlv(0x30, ...items);
const set = (...items: Uint8Array[]) => tlv(0x31, ...items);
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
const bitString = (bytes: Uint8Array, unusedBits = 0) => tlv(0x03, Buffer.from([unusedBits]), bytes);
const derTrue = Buffer.from([0x01, 0x01, 0xff]);

function integer(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = Buffer.from(bytes.subarray(i));
  return tlv(0x02, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

/** A distinguished name as attribute pairs, e.g. `{ C: 'SE', O: 'Holdfast Tests', CN: 'Root' }`. */
export interface TestName {
  C?: string;
  O?: string;
  OU?: string;
  CN: string;
}

function name(n: TestName): Buffer {
  const rdn = (type: string, value: string, tag: number) =>
    set(seq(oid(type), tlv(tag, Buffer.from(value, 'utf8'))));
  const parts: Buffer[] = [];
  if (n.C !== undefined) parts.push(rdn('2.5.4.6', n.C, 0x13)); // PrintableString
  if (n.O !== undefined) parts.push(rdn('2.5.4.10', n.O, 0x0c)); // UTF8String
  if (n.OU !== undefined) parts.push(rdn('2.5.4.11', n.OU, 0x0c));
  parts.push(rdn('2.5.4.3', n.CN, 0x0c));
  return seq(...parts);
}

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return critical ? seq(oid(id), derTrue, octets(value)) : seq(oid(id), octets(value));
}

const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const ID_FIDO_GEN_CE_AAGUID = '1.3.6.1.4.1.45724.1.1.4';

/** A test certificate with its private key. */
export interface TestCertificate {
  /** DER bytes. */
  der: Uint8Array;
  /** PEM text. */
  pem: string;
  name: TestName;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Issues an X.509 v3 certificate signed with ECDSA P-256/SHA-256 (self-signed when no issuer). */
export function issueTestCertificate(input: {
  subject: TestName;
  issuer?: TestCertificate;
  /** The subject's key pair; a fresh P-256 pair when absent. */
  keys?: { privateKey: KeyObject; publicKey: KeyObject };
  ca?: boolean;
  /** Embeds the id-fido-gen-ce-aaguid extension (WebAuthn §8.2.1). */
  aaguid?: string;
  notBefore?: Date;
  notAfter?: Date;
}): TestCertificate {
  const keys = input.keys ?? generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = input.issuer?.privateKey ?? keys.privateKey;
  const issuerName = input.issuer?.name ?? input.subject;
  const notBefore = input.notBefore ?? new Date(Date.now() - 24 * 3600_000);
  const notAfter = input.notAfter ?? new Date(Date.now() + 365 * 24 * 3600_000);
  const extensions: Buffer[] = [];
  if (input.ca) {
    extensions.push(extension('2.5.29.19', true, seq(derTrue))); // basicConstraints cA
    extensions.push(extension('2.5.29.15', true, bitString(Buffer.from([0x06]), 1))); // keyCertSign, cRLSign
  } else {
    extensions.push(extension('2.5.29.19', true, seq())); // basicConstraints, not a CA
    extensions.push(extension('2.5.29.15', true, bitString(Buffer.from([0x80]), 7))); // digitalSignature
  }
  if (input.aaguid !== undefined) {
    const raw = Buffer.from(input.aaguid.replace(/-/g, ''), 'hex');
    extensions.push(extension(ID_FIDO_GEN_CE_AAGUID, false, octets(raw)));
  }
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // version v3
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    ECDSA_WITH_SHA256,
    name(issuerName),
    seq(time(notBefore), time(notAfter)),
    name(input.subject),
    keys.publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, signer);
  const der = seq(tbs, ECDSA_WITH_SHA256, bitString(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()}\n-----END CERTIFICATE-----\n`;
  return {
    der: new Uint8Array(der),
    pem,
    name: input.subject,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
  };
}

/** A root CA, an intermediate CA under it, and a helper to issue attestation leaves for a model. */
export interface TestAttestationCA {
  root: TestCertificate;
  intermediate: TestCertificate;
  /** A leaf that satisfies the packed-attestation certificate rules (WebAuthn §8.2.1). */
  issueAttestationLeaf(input: { aaguid?: string; notAfter?: Date }): TestCertificate;
}

/** Creates a two-level test CA for attestation (root -> intermediate -> leaf). */
export function createTestAttestationCA(label = 'Test Vendor'): TestAttestationCA {
  const root = issueTestCertificate({ subject: { C: 'SE', O: label, CN: `${label} Root CA` }, ca: true });
  const intermediate = issueTestCertificate({
    subject: { C: 'SE', O: label, CN: `${label} Attestation CA` },
    issuer: root,
    ca: true,
  });
  return {
    root,
    intermediate,
    issueAttestationLeaf: ({ aaguid, notAfter }) =>
      issueTestCertificate({
        subject: { C: 'SE', O: label, OU: 'Authenticator Attestation', CN: `${label} Batch 1` },
        issuer: intermediate,
        ...(aaguid !== undefined ? { aaguid } : {}),
        ...(notAfter !== undefined ? { notAfter } : {}),
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// JWS (RFC 7515) for test MDS BLOBs
// ---------------------------------------------------------------------------------------------

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

/** Signs `payload` as an ES256 JWS with an x5c header (leaf first), by default with the leaf's key. */
export function signTestJWS(input: {
  payload: unknown;
  chain: readonly TestCertificate[];
  /** Defaults to the private key of the first certificate of the chain. */
  privateKey?: KeyObject;
}): string {
  const header = {
    alg: 'ES256',
    typ: 'JWT',
    x5c: input.chain.map((c) => Buffer.from(c.der).toString('base64')),
  };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(input.payload))}`;
  const key = input.privateKey ?? input.chain[0]!.privateKey;
  // JWS ES256 signatures are the raw r || s (RFC 7518 §3.4), not DER.
  const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${b64url(signature)}`;
}

// ---------------------------------------------------------------------------------------------
// The authenticator
// ---------------------------------------------------------------------------------------------

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

/** Attestation this authenticator produces. */
export type SoftAttestation =
  | { format: 'none' }
  | { format: 'packed-self' }
  | { format: 'packed-x5c'; ca: TestAttestationCA; leaf?: TestCertificate };

/** How the authenticator behaves; every field may also be overridden per ceremony. */
export interface SoftAuthenticatorOptions {
  /** Model identifier (UUID form); all zeros by default. */
  aaguid?: string;
  /** Sets UV: the authenticator verified a PIN or biometric. */
  userVerified?: boolean;
  /** Sets UP (true unless a test needs it cleared). */
  userPresent?: boolean;
  /** BE: credentials may be synced. */
  backupEligible?: boolean;
  /** BS: credentials are backed up. */
  backedUp?: boolean;
  /** Signature counter policy: `increment` (default, +1 per assertion) or `none` (always 0). */
  counter?: 'increment' | 'none';
  attestation?: SoftAttestation;
  /** Transports reported at registration. */
  transports?: string[];
}

/** A credential held by the authenticator. */
export interface SoftCredential {
  id: Uint8Array;
  idB64: string;
  rpId: string;
  userHandle: Uint8Array;
  privateKey: KeyObject;
  publicKey: KeyObject;
  counter: number;
  discoverable: boolean;
}

/** Per-ceremony overrides for tests of refusals (wrong origin, missing UV, tampering...). */
export interface CeremonyOverrides {
  origin?: string;
  /** RP ID hashed into authenticator data (default: the RP ID of the options). */
  rpId?: string;
  /** Challenge put in clientDataJSON (default: the options' challenge). */
  challenge?: string;
  /** clientDataJSON `type` (default: webauthn.create / webauthn.get). */
  type?: string;
  userVerified?: boolean;
  userPresent?: boolean;
  backupEligible?: boolean;
  backedUp?: boolean;
  /** Uses this signature counter instead of the authenticator's own. */
  counter?: number;
}

function uuidBytes(aaguid: string): Buffer {
  return Buffer.from(aaguid.replace(/-/g, ''), 'hex');
}

/** The COSE_Key (RFC 9053 §7.1.1, EC2 / P-256 / ES256) of an EC public key. */
export function coseKeyOf(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  return isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]),
  );
}

/** A software FIDO2 authenticator (ES256). */
export class SoftAuthenticator {
  readonly credentials = new Map<string, SoftCredential>();
  readonly options: Required<Omit<SoftAuthenticatorOptions, 'attestation'>> & {
    attestation: SoftAttestation;
  };

  constructor(options: SoftAuthenticatorOptions = {}) {
    this.options = {
      aaguid: options.aaguid ?? '00000000-0000-0000-0000-000000000000',
      userVerified: options.userVerified ?? false,
      userPresent: options.userPresent ?? true,
      backupEligible: options.backupEligible ?? false,
      backedUp: options.backedUp ?? false,
      counter: options.counter ?? 'increment',
      attestation: options.attestation ?? { format: 'none' },
      transports: options.transports ?? ['usb'],
    };
  }

  private flags(o: CeremonyOverrides, extra: number): number {
    let f = extra;
    if (o.userPresent ?? this.options.userPresent) f |= FLAG_UP;
    if (o.userVerified ?? this.options.userVerified) f |= FLAG_UV;
    if (o.backupEligible ?? this.options.backupEligible) f |= FLAG_BE;
    if (o.backedUp ?? this.options.backedUp) f |= FLAG_BS;
    return f;
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** navigator.credentials.create(): makes a credential and its attestation. */
  createCredential(input: {
    options: PublicKeyCredentialCreationOptionsJSON;
    origin: string;
    overrides?: CeremonyOverrides;
  }): RegistrationResponseJSON {
    const { options, origin: defaultOrigin } = input;
    const o = input.overrides ?? {};
    const rpId = o.rpId ?? options.rp.id!;
    const excluded = (options.excludeCredentials ?? []).some((c) => this.credentials.has(c.id));
    if (excluded) throw new Error('InvalidStateError: a credential of this authenticator is excluded');
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = randomBytes(32);
    const discoverable = options.authenticatorSelection?.residentKey === 'required';
    const credential: SoftCredential = {
      id,
      idB64: b64url(id),
      rpId,
      userHandle: isoBase64URL.toBuffer(options.user.id),
      privateKey: keys.privateKey,
      publicKey: keys.publicKey,
      counter: 0,
      discoverable,
    };
    this.credentials.set(credential.idB64, credential);

    const counter = o.counter ?? 0;
    const counterBytes = Buffer.alloc(4);
    counterBytes.writeUInt32BE(counter);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([
      createHash('sha256').update(rpId).digest(),
      Buffer.from([this.flags(o, FLAG_AT)]),
      counterBytes,
      uuidBytes(this.options.aaguid),
      idLength,
      id,
      coseKeyOf(keys.publicKey),
    ]);
    const clientDataJSON = this.clientData(
      o.type ?? 'webauthn.create',
      o.challenge ?? options.challenge,
      o.origin ?? defaultOrigin,
    );
    const clientDataHash = createHash('sha256').update(clientDataJSON).digest();
    const toSign = Buffer.concat([authData, clientDataHash]);

    const attestation = this.options.attestation;
    let fmt: string;
    const attStmt = new Map<string, number | Uint8Array | Uint8Array[]>();
    if (attestation.format === 'none') {
      fmt = 'none';
    } else if (attestation.format === 'packed-self') {
      // §8.2: self attestation signs with the credential private key itself.
      fmt = 'packed';
      attStmt.set('alg', -7);
      attStmt.set('sig', sign('sha256', toSign, keys.privateKey));
    } else {
      fmt = 'packed';
      const leaf = attestation.leaf ?? attestation.ca.issueAttestationLeaf({ aaguid: this.options.aaguid });
      attStmt.set('alg', -7);
      attStmt.set('sig', sign('sha256', toSign, leaf.privateKey));
      attStmt.set('x5c', [leaf.der, attestation.ca.intermediate.der]);
    }
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, number | Uint8Array | Uint8Array[]>>([
        ['fmt', fmt],
        ['attStmt', attStmt],
        ['authData', authData],
      ]),
    );
    return {
      id: credential.idB64,
      rawId: credential.idB64,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: this.options.transports,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  /** navigator.credentials.get(): signs an assertion with an allowed (or discoverable) credential. */
  getAssertion(input: {
    options: PublicKeyCredentialRequestOptionsJSON;
    origin: string;
    /** Which credential to use (default: the first allowed one, or the first discoverable one). */
    credentialId?: string;
    overrides?: CeremonyOverrides;
  }): AuthenticationResponseJSON {
    const { options } = input;
    const o = input.overrides ?? {};
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const candidates = [...this.credentials.values()].filter((c) =>
      allowed.length > 0 ? allowed.includes(c.idB64) : c.discoverable && c.rpId === options.rpId,
    );
    const credential =
      input.credentialId !== undefined
        ? this.credentials.get(input.credentialId)
        : candidates.find((c) => c.rpId === (options.rpId ?? c.rpId));
    if (!credential) throw new Error('NotAllowedError: no matching credential');

    if (this.options.counter === 'increment') credential.counter++;
    const counter = o.counter ?? credential.counter;
    const counterBytes = Buffer.alloc(4);
    counterBytes.writeUInt32BE(counter);
    const authData = Buffer.concat([
      createHash('sha256')
        .update(o.rpId ?? options.rpId ?? credential.rpId)
        .digest(),
      Buffer.from([this.flags(o, 0)]),
      counterBytes,
    ]);
    const clientDataJSON = this.clientData(
      o.type ?? 'webauthn.get',
      o.challenge ?? options.challenge,
      o.origin ?? input.origin,
    );
    const signature = sign(
      'sha256',
      Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]),
      credential.privateKey,
    );
    return {
      id: credential.idB64,
      rawId: credential.idB64,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(credential.discoverable ? { userHandle: b64url(credential.userHandle) } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }
}
