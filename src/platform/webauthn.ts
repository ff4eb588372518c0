/**
 * WebAuthn ceremonies (W3C Web Authentication Level 2) over @simplewebauthn/server, with the
 * decisions Holdfast owns kept here rather than in the library's global settings:
 *
 * - every refusal is a typed reason (for the audit log; the user sees one answer, DESIGN.md
 *   convention 3), never the library's prose, which quotes challenges and origins;
 * - whether an attestation is trusted is decided per call against the trust anchors passed in
 *   (verifyCertificateChain, node:crypto X509Certificate), never through the library's global
 *   SettingsService, which would be shared between accounts;
 * - assertions are verified with a public key prepared once (node:crypto KeyObject) instead of
 *   re-decoding the stored COSE key on every sign-in, and the signature-counter rule of
 *   core/factors/webauthn/counter.ts is applied after the signature is known to be good;
 * - the library's MetadataService stays disabled (it would fetch over the network): FIDO metadata
 *   comes from a BLOB file an admin imports (core/factors/webauthn/mds.ts, verifyMDSBlobSignature).
 *
 * Holdfast offers EdDSA, ES256 and RS256 credentials (COSE -8, -7, -257; RFC 9053, RFC 8812),
 * the algorithms every current authenticator supports.
 */
import {
  createHash,
  createPublicKey,
  randomBytes,
  timingSafeEqual,
  verify as verifySignature,
  X509Certificate,
} from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import {
  decodeAttestationObject,
  decodeCredentialPublicKey,
  isoBase64URL,
  parseAuthenticatorData,
} from '@simplewebauthn/server/helpers';
import type {
  RegistrationOptionsResult,
  RegistrationFailureReason,
  AttestationResult,
  RegistrationOutcome,
  AuthenticationOptionsResult,
  PreparedPublicKey,
  AuthenticationFailureReason,
  AuthenticationOutcome,
  MDSSignatureFailureReason,
  RegistrationOptionsInput,
  VerifyRegistrationInput,
  AuthenticationOptionsInput,
  VerifyAuthenticationInput,
  VerifyMDSBlobSignatureInput,
} from '../core/factors/webauthn/ceremonies.js';
import { formatAAGUID } from '../core/factors/webauthn/aaguid-policy.js';
import { checkSignatureCounter } from '../core/factors/webauthn/counter.js';

export type {
  RelyingParty,
  WebAuthnAuthenticatorKind,
  CredentialDescriptor,
  UserVerification,
  RegistrationOptionsResult,
  RegistrationFailureReason,
  AttestationResult,
  RegisteredCredential,
  RegistrationOutcome,
  TrustAnchorSource,
  AuthenticationOptionsResult,
  PreparedPublicKey,
  StoredCredential,
  AuthenticationFailureReason,
  AuthenticationOutcome,
  MDSSignatureFailureReason,
} from '../core/factors/webauthn/ceremonies.js';

/** COSE algorithms Holdfast offers and accepts: EdDSA, ES256, RS256. */
export const WEBAUTHN_ALGORITHMS = [-8, -7, -257] as const;

/** Challenge length in bytes: WebAuthn §13.4.3 asks for at least 16. */
const CHALLENGE_BYTES = 32;
/** User handle length: random, no personal data (WebAuthn §14.6.1), at most 64 bytes. */
const USER_HANDLE_BYTES = 32;

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

/** Builds registration options for a passkey or a security key. */
export async function registrationOptions(
  input: RegistrationOptionsInput,
): Promise<RegistrationOptionsResult> {
  const userHandle = input.user.handle ?? new Uint8Array(randomBytes(USER_HANDLE_BYTES));
  const challenge = input.challenge ?? new Uint8Array(randomBytes(CHALLENGE_BYTES));
  const passkey = input.kind === 'passkey';
  const options = await generateRegistrationOptions({
    rpName: input.rp.name,
    rpID: input.rp.id,
    userName: input.user.name,
    userDisplayName: input.user.displayName ?? input.user.name,
    userID: new Uint8Array(userHandle),
    challenge: new Uint8Array(challenge),
    timeout: input.timeoutMs ?? 300_000,
    attestationType: input.attestation ?? 'none',
    excludeCredentials: (input.excludeCredentials ?? []).map((c) => ({
      id: c.id,
      ...(c.transports ? { transports: c.transports } : {}),
    })),
    authenticatorSelection: passkey
      ? { residentKey: 'required', userVerification: input.userVerification ?? 'required' }
      : {
          residentKey: 'discouraged',
          userVerification: input.userVerification ?? 'discouraged',
          authenticatorAttachment: 'cross-platform',
        },
    supportedAlgorithmIDs: [...WEBAUTHN_ALGORITHMS],
    ...(passkey ? {} : { preferredAuthenticatorType: 'securityKey' as const }),
  });
  return { options, challenge: options.challenge, userHandle };
}

/** Constant-time equality of two byte strings (lengths are not secret). */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Constant-time equality of two strings' UTF-8 bytes. */
function textEqual(a: string, b: string): boolean {
  return bytesEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

type ClientDataCheck =
  | { ok: true; bytes: Buffer }
  | {
      ok: false;
      reason: 'malformed' | 'wrong_type' | 'challenge_mismatch' | 'origin_mismatch' | 'cross_origin';
    };

/** WebAuthn §7.1 steps 5-10 / §7.2 steps 10-14: the collected client data. */
function checkClientData(input: {
  clientDataJSON: unknown;
  type: 'webauthn.create' | 'webauthn.get';
  expectedChallenge: string;
  origins: readonly string[];
}): ClientDataCheck {
  if (typeof input.clientDataJSON !== 'string' || !isoBase64URL.isBase64URL(input.clientDataJSON)) {
    return { ok: false, reason: 'malformed' };
  }
  const bytes = Buffer.from(input.clientDataJSON, 'base64url');
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof data !== 'object' || data === null) return { ok: false, reason: 'malformed' };
  const c = data as Record<string, unknown>;
  if (typeof c.type !== 'string' || typeof c.challenge !== 'string' || typeof c.origin !== 'string') {
    return { ok: false, reason: 'malformed' };
  }
  if (c.type !== input.type) return { ok: false, reason: 'wrong_type' };
  if (!textEqual(c.challenge, input.expectedChallenge)) return { ok: false, reason: 'challenge_mismatch' };
  if (!input.origins.includes(c.origin)) return { ok: false, reason: 'origin_mismatch' };
  // Holdfast is never embedded in another site's frame (Level 3 §5.8.1 crossOrigin, topOrigin).
  if (c.crossOrigin === true || c.topOrigin !== undefined) return { ok: false, reason: 'cross_origin' };
  return { ok: true, bytes };
}

const rpIdHashOf = (rpId: string) => createHash('sha256').update(rpId, 'utf8').digest();

/** Verifies a registration response and judges its attestation against the trust anchors given. */
export async function verifyRegistration(input: VerifyRegistrationInput): Promise<RegistrationOutcome> {
  const fail = (reason: RegistrationFailureReason): RegistrationOutcome => ({ ok: false, reason });
  const { response } = input;
  if (
    typeof response !== 'object' ||
    response === null ||
    response.type !== 'public-key' ||
    typeof response.id !== 'string' ||
    response.id !== response.rawId ||
    typeof response.response?.attestationObject !== 'string' ||
    !isoBase64URL.isBase64URL(response.response.attestationObject)
  ) {
    return fail('malformed');
  }
  const client = checkClientData({
    clientDataJSON: response.response.clientDataJSON,
    type: 'webauthn.create',
    expectedChallenge: input.expectedChallenge,
    origins: input.rp.origins,
  });
  if (!client.ok) return fail(client.reason);

  let fmt: string;
  let x5c: Uint8Array[] | undefined;
  let parsed: ReturnType<typeof parseAuthenticatorData>;
  try {
    const attestationObject = decodeAttestationObject(
      isoBase64URL.toBuffer(response.response.attestationObject),
    );
    fmt = attestationObject.get('fmt');
    x5c = attestationObject.get('attStmt').get('x5c');
    parsed = parseAuthenticatorData(attestationObject.get('authData'));
  } catch {
    return fail('malformed');
  }
  const { flags, aaguid, credentialID, credentialPublicKey } = parsed;
  if (!bytesEqual(parsed.rpIdHash, rpIdHashOf(input.rp.id))) return fail('rp_id_mismatch');
  if (!flags.up) return fail('user_not_present');
  if (input.requireUserVerification && !flags.uv) return fail('user_verification_missing');
  // Level 3 §6.1.3: a credential that is not backup eligible cannot be backed up.
  if (flags.bs && !flags.be) return fail('backup_flags_invalid');
  if (!flags.at || !aaguid || !credentialID || !credentialPublicKey) return fail('malformed');
  // Level 3 §7.1 step 24: credential IDs are at most 1023 bytes.
  if (credentialID.length > 1023 || b64url(credentialID) !== response.id) return fail('malformed');
  const prepared = preparePublicKey(credentialPublicKey);
  if (!prepared) return fail('algorithm_unsupported');

  try {
    const verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: input.expectedChallenge,
      expectedOrigin: [...input.rp.origins],
      expectedRPID: input.rp.id,
      requireUserVerification: input.requireUserVerification,
      supportedAlgorithmIDs: [...WEBAUTHN_ALGORITHMS],
    });
    if (!verified.verified) return fail('attestation_invalid');
  } catch {
    // Every cheaper check passed above: what is left is the attestation statement itself.
    return fail('attestation_invalid');
  }

  const aaguidText = formatAAGUID(aaguid);
  let attestation: AttestationResult;
  if (fmt === 'none') attestation = { format: fmt, trustPath: 'none', verified: false };
  else if (!x5c || x5c.length === 0) attestation = { format: fmt, trustPath: 'self', verified: false };
  else {
    const anchors =
      typeof input.trustAnchors === 'function' ? input.trustAnchors(aaguidText) : (input.trustAnchors ?? []);
    const trusted = verifyCertificateChain({ chain: x5c, anchors, at: input.now ?? new Date() });
    attestation = { format: fmt, trustPath: 'x5c', verified: trusted };
  }
  if (input.requireTrustedAttestation && !attestation.verified) return fail('attestation_untrusted');

  return {
    ok: true,
    credential: {
      id: response.id,
      publicKey: new Uint8Array(credentialPublicKey),
      algorithm: prepared.algorithm,
      counter: parsed.counter,
      transports: Array.isArray(response.response.transports)
        ? response.response.transports.filter((t): t is string => typeof t === 'string')
        : [],
      aaguid: aaguidText,
      backupEligible: flags.be,
      backedUp: flags.bs,
      userVerified: flags.uv,
      attestation,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Certificate chains (RFC 5280 §6, the subset attestation and MDS need)
// ---------------------------------------------------------------------------------------------

function parseCertificate(cert: Uint8Array | string): X509Certificate | null {
  try {
    return new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  } catch {
    return null;
  }
}

function validAt(cert: X509Certificate, at: Date): boolean {
  const t = at.getTime();
  return Date.parse(cert.validFrom) <= t && t <= Date.parse(cert.validTo);
}

/**
 * True when `chain` (leaf first) links certificate by certificate, each issuer a CA, every
 * certificate valid at `at`, and the last one either is a trust anchor or was issued and signed
 * by one. Not checked: revocation (no network; CRLs are out of reach offline), name and policy
 * constraints, path-length limits.
 */
export function verifyCertificateChain(input: {
  chain: readonly (Uint8Array | string)[];
  anchors: readonly (Uint8Array | string)[];
  at: Date;
}): boolean {
  if (input.chain.length === 0 || input.anchors.length === 0) return false;
  const chain = input.chain.map(parseCertificate);
  const anchors = input.anchors.map(parseCertificate);
  if (chain.some((c) => c === null)) return false;
  const certs = chain as X509Certificate[];
  const roots = anchors.filter((a): a is X509Certificate => a !== null && validAt(a, input.at));
  if (!certs.every((c) => validAt(c, input.at))) return false;
  for (let i = 0; i + 1 < certs.length; i++) {
    const child = certs[i]!;
    const issuer = certs[i + 1]!;
    if (!issuer.ca || !child.checkIssued(issuer) || !child.verify(issuer.publicKey)) return false;
  }
  const last = certs[certs.length - 1]!;
  return roots.some(
    (root) => last.raw.equals(root.raw) || (root.ca && last.checkIssued(root) && last.verify(root.publicKey)),
  );
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

/**
 * Builds authentication options. With `allowCredentials` the user is known (second factor);
 * without, any discoverable credential for the RP may answer (passwordless sign-in).
 */
export async function authenticationOptions(
  input: AuthenticationOptionsInput,
): Promise<AuthenticationOptionsResult> {
  const options = await generateAuthenticationOptions({
    rpID: input.rpId,
    allowCredentials: (input.allowCredentials ?? []).map((c) => ({
      id: c.id,
      ...(c.transports ? { transports: c.transports } : {}),
    })),
    challenge: new Uint8Array(input.challenge ?? randomBytes(CHALLENGE_BYTES)),
    timeout: input.timeoutMs ?? 300_000,
    userVerification: input.userVerification,
  });
  return { options, challenge: options.challenge };
}

/** COSE_Key labels and values (RFC 9052 §7, RFC 9053 §7). */
const COSE = { kty: 1, alg: 3, crv: -1, x: -2, y: -3, n: -1, e: -2 } as const;

function jwkOf(map: Map<number, unknown>): { alg: number; jwk: Record<string, string> } | null {
  const bytes = (label: number) => {
    const v = map.get(label);
    return v instanceof Uint8Array && v.length > 0 ? Buffer.from(v).toString('base64url') : null;
  };
  const kty = map.get(COSE.kty);
  const alg = map.get(COSE.alg);
  if (alg === -7 && kty === 2 && map.get(COSE.crv) === 1) {
    const x = bytes(COSE.x);
    const y = bytes(COSE.y);
    return x && y ? { alg, jwk: { kty: 'EC', crv: 'P-256', x, y } } : null;
  }
  if (alg === -8 && kty === 1 && map.get(COSE.crv) === 6) {
    const x = bytes(COSE.x);
    return x ? { alg, jwk: { kty: 'OKP', crv: 'Ed25519', x } } : null;
  }
  if (alg === -257 && kty === 3) {
    const n = bytes(COSE.n);
    const e = bytes(COSE.e);
    return n && e ? { alg, jwk: { kty: 'RSA', n, e } } : null;
  }
  return null;
}

/** Decodes a COSE_Key once into a node:crypto key; null when malformed or not an accepted algorithm. */
export function preparePublicKey(cose: Uint8Array): PreparedPublicKey | null {
  try {
    const decoded = jwkOf(decodeCredentialPublicKey(new Uint8Array(cose)) as unknown as Map<number, unknown>);
    if (!decoded) return null;
    const key = createPublicKey({ key: decoded.jwk, format: 'jwk' });
    return { algorithm: decoded.alg, key, hash: decoded.alg === -8 ? null : 'sha256' };
  } catch {
    return null;
  }
}

/** Prepared keys by COSE bytes, bounded: a server verifies the same few thousand keys repeatedly. */
const PREPARED_CACHE = new Map<string, PreparedPublicKey>();
const PREPARED_CACHE_MAX = 10_000;

function cachedPublicKey(cose: Uint8Array): PreparedPublicKey | null {
  const cacheKey = Buffer.from(cose).toString('base64');
  const hit = PREPARED_CACHE.get(cacheKey);
  if (hit) return hit;
  const prepared = preparePublicKey(cose);
  if (prepared) {
    if (PREPARED_CACHE.size >= PREPARED_CACHE_MAX) {
      PREPARED_CACHE.delete(PREPARED_CACHE.keys().next().value!);
    }
    PREPARED_CACHE.set(cacheKey, prepared);
  }
  return prepared;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;

/** Verifies an assertion (WebAuthn §7.2) against one stored credential. */
export function verifyAuthentication(input: VerifyAuthenticationInput): AuthenticationOutcome {
  const fail = (reason: AuthenticationFailureReason): AuthenticationOutcome => ({ ok: false, reason });
  const { response, credential } = input;
  const r = response?.response;
  if (
    typeof response !== 'object' ||
    response === null ||
    response.type !== 'public-key' ||
    typeof response.id !== 'string' ||
    response.id !== response.rawId ||
    typeof r?.authenticatorData !== 'string' ||
    typeof r.signature !== 'string' ||
    !isoBase64URL.isBase64URL(r.authenticatorData) ||
    !isoBase64URL.isBase64URL(r.signature) ||
    (r.userHandle !== undefined &&
      (typeof r.userHandle !== 'string' || !isoBase64URL.isBase64URL(r.userHandle)))
  ) {
    return fail('malformed');
  }
  // §7.2 step 5: the credential must be the one the caller looked up.
  if (!textEqual(response.id, credential.id)) return fail('credential_mismatch');
  const client = checkClientData({
    clientDataJSON: r.clientDataJSON,
    type: 'webauthn.get',
    expectedChallenge: input.expectedChallenge,
    origins: input.rp.origins,
  });
  if (!client.ok) return fail(client.reason);
  // §7.2 step 6: a returned user handle must be the owner's; a discoverable sign-in needs one.
  const userHandle = r.userHandle ? Buffer.from(r.userHandle, 'base64url') : null;
  if (input.expectedUserHandle && (!userHandle || !bytesEqual(userHandle, input.expectedUserHandle))) {
    return fail('user_handle_mismatch');
  }

  // §6.1: rpIdHash (32) | flags (1) | signCount (4, big-endian) | extensions...
  const authData = Buffer.from(r.authenticatorData, 'base64url');
  if (authData.length < 37) return fail('malformed');
  const flags = authData[32]!;
  const receivedCounter = authData.readUInt32BE(33);
  if (!bytesEqual(authData.subarray(0, 32), rpIdHashOf(input.rp.id))) return fail('rp_id_mismatch');
  if (!(flags & FLAG_UP)) return fail('user_not_present');
  const userVerified = (flags & FLAG_UV) !== 0;
  if (input.requireUserVerification && !userVerified) return fail('user_verification_missing');
  const backupEligible = (flags & FLAG_BE) !== 0;
  const backedUp = (flags & FLAG_BS) !== 0;
  if (backedUp && !backupEligible) return fail('backup_flags_invalid');
  // Level 3 §6.1.3: BE is fixed when the credential is created; a change means another key.
  if (backupEligible !== credential.backupEligible) return fail('backup_eligibility_changed');

  const key =
    credential.publicKey instanceof Uint8Array ? cachedPublicKey(credential.publicKey) : credential.publicKey;
  if (!key) return fail('algorithm_unsupported');
  const signed = Buffer.concat([authData, createHash('sha256').update(client.bytes).digest()]);
  let valid: boolean;
  try {
    valid = verifySignature(key.hash, signed, key.key, Buffer.from(r.signature, 'base64url'));
  } catch {
    valid = false;
  }
  if (!valid) return fail('signature_invalid');

  // Only a genuine signature can say anything about clones: the counter comes last.
  const counter = checkSignatureCounter({ stored: credential.counter, received: receivedCounter });
  if (counter.status === 'clone_suspected') {
    return {
      ok: false,
      reason: 'clone_suspected',
      storedCounter: counter.storedCounter,
      receivedCounter: counter.receivedCounter,
    };
  }
  if (counter.status === 'malformed') return fail('malformed');
  return {
    ok: true,
    credentialId: credential.id,
    newCounter: counter.newCounter,
    counterStatus: counter.status,
    userVerified,
    backupEligible,
    backedUp,
    userHandle: userHandle ? userHandle.toString('base64url') : null,
  };
}

// ---------------------------------------------------------------------------------------------
// FIDO Metadata Service BLOB signature
// ---------------------------------------------------------------------------------------------

/**
 * Verifies an MDS3 BLOB's JWS (RFC 7515): the x5c chain must lead to one of the roots the admin
 * configured (for the public FIDO service, the root its documentation names) and the leaf must
 * have signed the BLOB. ES256 (raw r || s, RFC 7518 §3.4) and RS256 are accepted. Revocation
 * lists are not fetched (offline import): an admin replaces a BLOB with a newer one instead.
 */
export function verifyMDSBlobSignature(
  input: VerifyMDSBlobSignatureInput,
): { ok: true } | { ok: false; reason: MDSSignatureFailureReason } {
  const { jws } = input;
  const alg = jws.header.alg;
  if (alg !== 'ES256' && alg !== 'RS256') return { ok: false, reason: 'algorithm_unsupported' };
  if (!verifyCertificateChain({ chain: jws.header.x5c, anchors: input.roots, at: input.now ?? new Date() })) {
    return { ok: false, reason: 'chain_untrusted' };
  }
  const leaf = new X509Certificate(Buffer.from(jws.header.x5c[0]!));
  const key = leaf.publicKey;
  const keyMatches =
    alg === 'ES256'
      ? key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      : key.asymmetricKeyType === 'rsa';
  if (!keyMatches) return { ok: false, reason: 'algorithm_unsupported' };
  let valid: boolean;
  try {
    valid = verifySignature(
      'sha256',
      jws.signingInput,
      alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
      jws.signature,
    );
  } catch {
    valid = false;
  }
  return valid ? { ok: true } : { ok: false, reason: 'signature_invalid' };
}
