import { generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { verifyAuthenticationResponse, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { describe, expect, it } from 'vitest';
import { checkAAGUID, createAAGUIDPolicy } from '../core/factors/webauthn/aaguid-policy.js';
import { webAuthnAssurance } from '../core/factors/webauthn/assurance.js';
import { modelStatus, parseMDSBlob, trustAnchorsFor } from '../core/factors/webauthn/mds.js';
import {
  createTestAttestationCA,
  issueTestCertificate,
  signTestJWS,
  SoftAuthenticator,
  type CeremonyOverrides,
  type SoftAuthenticatorOptions,
} from '../../test/helpers/soft-authenticator.js';
import {
  authenticationOptions,
  preparePublicKey,
  registrationOptions,
  verifyAuthentication,
  verifyCertificateChain,
  verifyMDSBlobSignature,
  verifyRegistration,
  type RegisteredCredential,
  type RelyingParty,
  type TrustAnchorSource,
  type WebAuthnAuthenticatorKind,
} from './webauthn.js';

// Chromium accepts WebAuthn on http://localhost only with RP ID `localhost`.
const RP: RelyingParty = { name: 'Holdfast', id: 'localhost', origins: ['http://localhost:8080'] };
const ORIGIN = 'http://localhost:8080';
const MODEL = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';

async function register(input: {
  authenticator: SoftAuthenticator;
  kind: WebAuthnAuthenticatorKind;
  requireUserVerification: boolean;
  attestation?: 'none' | 'direct';
  trustAnchors?: TrustAnchorSource;
  requireTrustedAttestation?: boolean;
  overrides?: CeremonyOverrides;
}) {
  const { options, challenge, userHandle } = await registrationOptions({
    rp: RP,
    user: { name: 'ann@example.com', displayName: 'Ann' },
    kind: input.kind,
    ...(input.attestation ? { attestation: input.attestation } : {}),
  });
  const response = input.authenticator.createCredential({
    options,
    origin: ORIGIN,
    ...(input.overrides ? { overrides: input.overrides } : {}),
  });
  const outcome = await verifyRegistration({
    response,
    expectedChallenge: challenge,
    rp: RP,
    requireUserVerification: input.requireUserVerification,
    ...(input.trustAnchors ? { trustAnchors: input.trustAnchors } : {}),
    ...(input.requireTrustedAttestation ? { requireTrustedAttestation: true } : {}),
  });
  return { outcome, options, userHandle, response };
}

async function registered(
  authenticator: SoftAuthenticator,
  kind: WebAuthnAuthenticatorKind,
): Promise<{ credential: RegisteredCredential; userHandle: Uint8Array }> {
  const { outcome, userHandle } = await register({
    authenticator,
    kind,
    requireUserVerification: kind === 'passkey',
  });
  if (!outcome.ok) throw new Error(`registration refused: ${outcome.reason}`);
  return { credential: outcome.credential, userHandle };
}

async function assertion(input: {
  authenticator: SoftAuthenticator;
  credential: RegisteredCredential;
  discoverable?: boolean;
  overrides?: CeremonyOverrides;
}): Promise<{ response: AuthenticationResponseJSON; challenge: string }> {
  const { options, challenge } = await authenticationOptions({
    rpId: RP.id,
    ...(input.discoverable ? {} : { allowCredentials: [{ id: input.credential.id }] }),
    userVerification: input.discoverable ? 'required' : 'discouraged',
  });
  const response = input.authenticator.getAssertion({
    options,
    origin: ORIGIN,
    ...(input.overrides ? { overrides: input.overrides } : {}),
  });
  return { response, challenge };
}

const stored = (c: RegisteredCredential, counter = c.counter) => ({
  id: c.id,
  publicKey: c.publicKey,
  counter,
  backupEligible: c.backupEligible,
});

function flip(b64: string, index: number): string {
  const bytes = Buffer.from(b64, 'base64url');
  bytes[index < 0 ? bytes.length + index : index]! ^= 0x01;
  return bytes.toString('base64url');
}

describe('registration options', () => {
  it('asks a passkey to be discoverable and user-verifying, with a random user handle', async () => {
    const a = await registrationOptions({ rp: RP, user: { name: 'ann' }, kind: 'passkey' });
    const b = await registrationOptions({ rp: RP, user: { name: 'ann' }, kind: 'passkey' });
    expect(a.options.authenticatorSelection).toMatchObject({
      residentKey: 'required',
      userVerification: 'required',
    });
    expect(a.options.attestation).toBe('none');
    expect(a.options.rp).toEqual({ name: 'Holdfast', id: 'localhost' });
    expect(a.userHandle).toHaveLength(32);
    expect(Buffer.from(a.userHandle).equals(Buffer.from(b.userHandle))).toBe(false);
    expect(a.options.user.id).toBe(Buffer.from(a.userHandle).toString('base64url'));
    expect(a.challenge).toBe(a.options.challenge);
    expect(Buffer.from(a.challenge, 'base64url')).toHaveLength(32);
    expect(a.challenge).not.toBe(b.challenge);
    expect(a.options.pubKeyCredParams.map((p) => p.alg)).toEqual([-8, -7, -257]);
  });

  it('asks a security key for no PIN and no resident key; keeps a given user handle; excludes existing ids', async () => {
    const handle = new Uint8Array(32).fill(9);
    const { options, userHandle } = await registrationOptions({
      rp: RP,
      user: { name: 'ann', handle },
      kind: 'security_key',
      attestation: 'direct',
      excludeCredentials: [{ id: 'AAAA', transports: ['usb'] }],
    });
    expect(options.authenticatorSelection).toMatchObject({
      residentKey: 'discouraged',
      userVerification: 'discouraged',
      authenticatorAttachment: 'cross-platform',
    });
    expect(options.attestation).toBe('direct');
    expect(options.hints).toEqual(['security-key']);
    expect(userHandle).toBe(handle);
    expect(options.excludeCredentials).toEqual([{ id: 'AAAA', type: 'public-key', transports: ['usb'] }]);
  });

  it('a registered authenticator refuses to register again when excluded', async () => {
    const authenticator = new SoftAuthenticator();
    const { credential } = await registered(authenticator, 'security_key');
    const { options } = await registrationOptions({
      rp: RP,
      user: { name: 'ann' },
      kind: 'security_key',
      excludeCredentials: [{ id: credential.id }],
    });
    expect(() => authenticator.createCredential({ options, origin: ORIGIN })).toThrow(/InvalidStateError/);
  });
});

describe('round trips', () => {
  it('passkey with UV: discoverable sign-in, user handle returned, counter advances', async () => {
    const authenticator = new SoftAuthenticator({ userVerified: true, backupEligible: true, backedUp: true });
    const { credential, userHandle } = await registered(authenticator, 'passkey');
    expect(credential).toMatchObject({
      algorithm: -7,
      counter: 0,
      userVerified: true,
      backupEligible: true,
      backedUp: true,
      aaguid: '00000000-0000-0000-0000-000000000000',
      attestation: { format: 'none', trustPath: 'none', verified: false },
    });
    expect(webAuthnAssurance({ ...credential, attestationVerified: false, aaguidAllowed: false })).toBe(
      'synced_passkey',
    );

    const { response, challenge } = await assertion({ authenticator, credential, discoverable: true });
    expect(response.id).toBe(credential.id);
    const outcome = verifyAuthentication({
      response,
      expectedChallenge: challenge,
      rp: RP,
      credential: stored(credential),
      requireUserVerification: true,
      expectedUserHandle: userHandle,
    });
    expect(outcome).toEqual({
      ok: true,
      credentialId: credential.id,
      newCounter: 1,
      counterStatus: 'advanced',
      userVerified: true,
      backupEligible: true,
      backedUp: true,
      userHandle: Buffer.from(userHandle).toString('base64url'),
    });
  });

  it('security key without UV as a second factor', async () => {
    const authenticator = new SoftAuthenticator({ aaguid: MODEL });
    const { credential } = await registered(authenticator, 'security_key');
    expect(credential).toMatchObject({ userVerified: false, backupEligible: false, transports: ['usb'] });
    expect(credential.aaguid).toBe(MODEL);
    let counter = credential.counter;
    for (let i = 1; i <= 3; i++) {
      const { response, challenge } = await assertion({ authenticator, credential });
      const outcome = verifyAuthentication({
        response,
        expectedChallenge: challenge,
        rp: RP,
        credential: stored(credential, counter),
        requireUserVerification: false,
      });
      expect(outcome).toMatchObject({ ok: true, newCounter: i, userVerified: false, userHandle: null });
      if (outcome.ok) counter = outcome.newCounter;
    }
  });

  it('agrees with the library verifier on the same assertion', async () => {
    const authenticator = new SoftAuthenticator({ userVerified: true });
    const { credential } = await registered(authenticator, 'passkey');
    const { response, challenge } = await assertion({ authenticator, credential });
    const ours = verifyAuthentication({
      response,
      expectedChallenge: challenge,
      rp: RP,
      credential: stored(credential),
      requireUserVerification: true,
    });
    const library = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP.id,
      credential: { id: credential.id, publicKey: new Uint8Array(credential.publicKey), counter: 0 },
    });
    expect(library.verified).toBe(true);
    expect(ours).toMatchObject({ ok: true, newCounter: library.authenticationInfo.newCounter });
  });

  it('verifies repeatedly with a key prepared once', async () => {
    const authenticator = new SoftAuthenticator({ counter: 'none' });
    const { credential } = await registered(authenticator, 'security_key');
    const prepared = preparePublicKey(credential.publicKey);
    expect(prepared).toMatchObject({ algorithm: -7, hash: 'sha256' });
    for (let i = 0; i < 5; i++) {
      const { response, challenge } = await assertion({ authenticator, credential });
      const outcome = verifyAuthentication({
        response,
        expectedChallenge: challenge,
        rp: RP,
        credential: { ...stored(credential), publicKey: prepared! },
        requireUserVerification: false,
      });
      expect(outcome).toMatchObject({ ok: true, newCounter: 0, counterStatus: 'no_counter' });
    }
  });
});

describe('registration refusals', () => {
  const fresh = (o: SoftAuthenticatorOptions = {}) => new SoftAuthenticator(o);
  it.each<[string, CeremonyOverrides, string]>([
    ['wrong origin', { origin: 'http://localhost:9999' }, 'origin_mismatch'],
    ['look-alike origin', { origin: 'https://evil.example' }, 'origin_mismatch'],
    ['wrong RP ID', { rpId: 'example.com' }, 'rp_id_mismatch'],
    ['wrong challenge', { challenge: Buffer.alloc(32, 1).toString('base64url') }, 'challenge_mismatch'],
    ['an assertion type', { type: 'webauthn.get' }, 'wrong_type'],
    ['no user presence', { userPresent: false }, 'user_not_present'],
    ['BS without BE', { backedUp: true, backupEligible: false }, 'backup_flags_invalid'],
  ])('%s', async (_label, overrides, reason) => {
    const { outcome } = await register({
      authenticator: fresh(),
      kind: 'security_key',
      requireUserVerification: false,
      overrides,
    });
    expect(outcome).toEqual({ ok: false, reason });
  });

  it('UV required but absent', async () => {
    const { outcome } = await register({
      authenticator: fresh({ userVerified: false }),
      kind: 'passkey',
      requireUserVerification: true,
    });
    expect(outcome).toEqual({ ok: false, reason: 'user_verification_missing' });
  });

  it('a tampered self-attestation signature', async () => {
    const authenticator = fresh({ attestation: { format: 'packed-self' } });
    const { options, challenge } = await registrationOptions({
      rp: RP,
      user: { name: 'a' },
      kind: 'security_key',
    });
    const response = authenticator.createCredential({ options, origin: ORIGIN });
    const decoded = isoCBOR.decodeFirst<Map<string, unknown>>(
      new Uint8Array(Buffer.from(response.response.attestationObject, 'base64url')),
    );
    const attStmt = decoded.get('attStmt') as Map<string, Uint8Array>;
    const sig = Buffer.from(attStmt.get('sig')!);
    sig[sig.length - 1]! ^= 0x01;
    attStmt.set('sig', sig);
    response.response.attestationObject = Buffer.from(isoCBOR.encode(decoded as never)).toString('base64url');
    const outcome = await verifyRegistration({
      response,
      expectedChallenge: challenge,
      rp: RP,
      requireUserVerification: false,
    });
    expect(outcome).toEqual({ ok: false, reason: 'attestation_invalid' });
  });

  it('malformed responses', async () => {
    const { response, options } = await register({
      authenticator: fresh(),
      kind: 'security_key',
      requireUserVerification: false,
    });
    const check = (r: unknown) =>
      verifyRegistration({
        response: r as typeof response,
        expectedChallenge: options.challenge,
        rp: RP,
        requireUserVerification: false,
      });
    expect(await check({ ...response, rawId: 'other' })).toEqual({ ok: false, reason: 'malformed' });
    expect(
      await check({ ...response, response: { ...response.response, attestationObject: 'AAAA' } }),
    ).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(await check({ ...response, response: { ...response.response, clientDataJSON: 'e30' } })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(await check(null)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('authentication refusals', () => {
  async function setup(o: SoftAuthenticatorOptions = {}) {
    const authenticator = new SoftAuthenticator(o);
    const { credential } = await registered(authenticator, o.userVerified ? 'passkey' : 'security_key');
    return { authenticator, credential };
  }

  it.each<[string, CeremonyOverrides, string]>([
    ['wrong origin', { origin: 'http://localhost:9999' }, 'origin_mismatch'],
    ['wrong RP ID', { rpId: 'localhost.example' }, 'rp_id_mismatch'],
    ['wrong challenge', { challenge: Buffer.alloc(32, 2).toString('base64url') }, 'challenge_mismatch'],
    ['a registration type', { type: 'webauthn.create' }, 'wrong_type'],
    ['no user presence', { userPresent: false }, 'user_not_present'],
    ['BE appears on a device-bound credential', { backupEligible: true }, 'backup_eligibility_changed'],
    ['BS without BE', { backedUp: true }, 'backup_flags_invalid'],
  ])('%s', async (_label, overrides, reason) => {
    const { authenticator, credential } = await setup();
    const { response, challenge } = await assertion({ authenticator, credential, overrides });
    expect(
      verifyAuthentication({
        response,
        expectedChallenge: challenge,
        rp: RP,
        credential: stored(credential),
        requireUserVerification: false,
      }),
    ).toEqual({ ok: false, reason });
  });

  it('UV required but absent', async () => {
    const { authenticator, credential } = await setup();
    const { response, challenge } = await assertion({ authenticator, credential });
    expect(
      verifyAuthentication({
        response,
        expectedChallenge: challenge,
        rp: RP,
        credential: stored(credential),
        requireUserVerification: true,
      }),
    ).toEqual({ ok: false, reason: 'user_verification_missing' });
  });

  it('a tampered signature, tampered authenticator data, or another key', async () => {
    const { authenticator, credential } = await setup();
    const other = await setup();
    const { response, challenge } = await assertion({ authenticator, credential });
    const check = (r: AuthenticationResponseJSON, publicKey = credential.publicKey) =>
      verifyAuthentication({
        response: r,
        expectedChallenge: challenge,
        rp: RP,
        credential: { ...stored(credential), publicKey },
        requireUserVerification: false,
      });
    expect(check(response)).toMatchObject({ ok: true });
    expect(
      check({
        ...response,
        response: { ...response.response, signature: flip(response.response.signature, -1) },
      }),
    ).toEqual({ ok: false, reason: 'signature_invalid' });
    // Set UV after signing: the flags are covered by the signature.
    const authData = Buffer.from(response.response.authenticatorData, 'base64url');
    authData[32]! |= 0x04;
    expect(
      check({
        ...response,
        response: { ...response.response, authenticatorData: authData.toString('base64url') },
      }),
    ).toEqual({ ok: false, reason: 'signature_invalid' });
    // A higher counter after signing is caught by the signature, not mistaken for progress.
    const bumped = Buffer.from(response.response.authenticatorData, 'base64url');
    bumped.writeUInt32BE(1000, 33);
    expect(
      check({
        ...response,
        response: { ...response.response, authenticatorData: bumped.toString('base64url') },
      }),
    ).toEqual({ ok: false, reason: 'signature_invalid' });
    expect(check(response, other.credential.publicKey)).toEqual({ ok: false, reason: 'signature_invalid' });
    expect(check({ ...response, response: { ...response.response, signature: '' } })).toEqual({
      ok: false,
      reason: 'signature_invalid',
    });
  });

  it('an assertion for another credential than the one looked up', async () => {
    const { authenticator, credential } = await setup();
    const other = await setup();
    const { response, challenge } = await assertion({ authenticator, credential });
    expect(
      verifyAuthentication({
        response,
        expectedChallenge: challenge,
        rp: RP,
        credential: stored(other.credential),
        requireUserVerification: false,
      }),
    ).toEqual({ ok: false, reason: 'credential_mismatch' });
  });

  it("a discoverable sign-in whose user handle is not the credential owner's", async () => {
    const authenticator = new SoftAuthenticator({ userVerified: true });
    const { credential } = await registered(authenticator, 'passkey');
    const { response, challenge } = await assertion({ authenticator, credential, discoverable: true });
    const input = {
      response,
      expectedChallenge: challenge,
      rp: RP,
      credential: stored(credential),
      requireUserVerification: true,
    };
    expect(verifyAuthentication({ ...input, expectedUserHandle: new Uint8Array(32) })).toEqual({
      ok: false,
      reason: 'user_handle_mismatch',
    });
    const { userHandle: _dropped, ...withoutHandle } = response.response;
    expect(
      verifyAuthentication({
        ...input,
        response: { ...response, response: withoutHandle },
        expectedUserHandle: new Uint8Array(32),
      }),
    ).toEqual({ ok: false, reason: 'user_handle_mismatch' });
  });

  it('malformed assertions', async () => {
    const { authenticator, credential } = await setup();
    const { response, challenge } = await assertion({ authenticator, credential });
    const check = (r: unknown) =>
      verifyAuthentication({
        response: r as AuthenticationResponseJSON,
        expectedChallenge: challenge,
        rp: RP,
        credential: stored(credential),
        requireUserVerification: false,
      });
    expect(check({ ...response, response: { ...response.response, authenticatorData: 'AAAA' } })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(check({ ...response, type: 'password' })).toEqual({ ok: false, reason: 'malformed' });
    expect(check({ ...response, response: { ...response.response, clientDataJSON: '!!' } })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(check(undefined)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('signature counter (WebAuthn §6.1.1)', () => {
  async function counted(storedCounter: number, receivedCounter: number) {
    const authenticator = new SoftAuthenticator();
    const { credential } = await registered(authenticator, 'security_key');
    const { response, challenge } = await assertion({
      authenticator,
      credential,
      overrides: { counter: receivedCounter },
    });
    return verifyAuthentication({
      response,
      expectedChallenge: challenge,
      rp: RP,
      credential: stored(credential, storedCounter),
      requireUserVerification: false,
    });
  }

  it('a counter going backwards is reported as a suspected clone, distinctly', async () => {
    expect(await counted(10, 9)).toEqual({
      ok: false,
      reason: 'clone_suspected',
      storedCounter: 10,
      receivedCounter: 9,
    });
  });

  it('a counter that did not move is a suspected clone too', async () => {
    expect(await counted(10, 10)).toMatchObject({ ok: false, reason: 'clone_suspected' });
  });

  it('zero stored and zero received is an authenticator without counter: fine', async () => {
    expect(await counted(0, 0)).toMatchObject({ ok: true, newCounter: 0, counterStatus: 'no_counter' });
  });

  it('a counter that moved forward by any amount is fine', async () => {
    expect(await counted(10, 500)).toMatchObject({ ok: true, newCounter: 500, counterStatus: 'advanced' });
  });
});

describe('attestation', () => {
  const vendor = createTestAttestationCA('Vendor A');
  const stranger = createTestAttestationCA('Vendor B');

  it('direct attestation chaining to a trusted CA is verified; with the CA in the MDS BLOB too', async () => {
    const authenticator = new SoftAuthenticator({
      aaguid: MODEL,
      userVerified: true,
      attestation: { format: 'packed-x5c', ca: vendor },
    });
    const { outcome } = await register({
      authenticator,
      kind: 'security_key',
      requireUserVerification: true,
      attestation: 'direct',
      trustAnchors: [vendor.root.der],
      requireTrustedAttestation: true,
    });
    expect(outcome).toMatchObject({
      ok: true,
      credential: { aaguid: MODEL, attestation: { format: 'packed', trustPath: 'x5c', verified: true } },
    });
    if (!outcome.ok) return;
    const policy = createAAGUIDPolicy({ aaguids: [MODEL] });
    if (!policy.ok) throw new Error('policy');
    const check = checkAAGUID(policy.policy, {
      aaguid: outcome.credential.aaguid,
      attestationVerified: outcome.credential.attestation.verified,
    });
    expect(check).toEqual({ allowed: true, listed: true });
    expect(
      webAuthnAssurance({
        ...outcome.credential,
        attestationVerified: outcome.credential.attestation.verified,
        aaguidAllowed: check.allowed && check.listed,
      }),
    ).toBe('attested_hardware_key');

    // The same CA found through the FIDO metadata of the model.
    const blob = parseMDSBlob(
      signTestJWS({
        payload: {
          no: 1,
          nextUpdate: '2030-01-01',
          entries: [
            {
              aaguid: MODEL,
              metadataStatement: {
                description: 'Vendor A Key',
                attestationRootCertificates: [Buffer.from(vendor.root.der).toString('base64')],
              },
              statusReports: [{ status: 'FIDO_CERTIFIED', effectiveDate: '2025-01-01' }],
            },
          ],
        },
        chain: [vendor.root],
      }),
    );
    if (!blob.ok) throw new Error(blob.detail);
    const viaMDS = await register({
      authenticator: new SoftAuthenticator({
        aaguid: MODEL,
        attestation: { format: 'packed-x5c', ca: vendor },
      }),
      kind: 'security_key',
      requireUserVerification: false,
      attestation: 'direct',
      trustAnchors: (aaguid) => trustAnchorsFor(blob.catalog, aaguid),
    });
    expect(viaMDS.outcome).toMatchObject({ ok: true, credential: { attestation: { verified: true } } });
    expect(modelStatus(blob.catalog, MODEL)).toMatchObject({ compromised: false });
  });

  it('direct attestation from an untrusted CA verifies its signature but is not trusted', async () => {
    const authenticator = () =>
      new SoftAuthenticator({ aaguid: MODEL, attestation: { format: 'packed-x5c', ca: stranger } });
    const { outcome } = await register({
      authenticator: authenticator(),
      kind: 'security_key',
      requireUserVerification: false,
      attestation: 'direct',
      trustAnchors: [vendor.root.der],
    });
    expect(outcome).toMatchObject({
      ok: true,
      credential: { attestation: { format: 'packed', trustPath: 'x5c', verified: false } },
    });
    if (outcome.ok) {
      const policy = createAAGUIDPolicy({ aaguids: [MODEL] });
      expect(policy.ok && checkAAGUID(policy.policy, { aaguid: MODEL, attestationVerified: false })).toEqual({
        allowed: false,
        reason: 'attestation_unverified',
      });
    }
    const strict = await register({
      authenticator: authenticator(),
      kind: 'security_key',
      requireUserVerification: false,
      attestation: 'direct',
      trustAnchors: [vendor.root.der],
      requireTrustedAttestation: true,
    });
    expect(strict.outcome).toEqual({ ok: false, reason: 'attestation_untrusted' });
    // No anchors at all: nothing can be trusted.
    const none = await register({
      authenticator: authenticator(),
      kind: 'security_key',
      requireUserVerification: false,
      attestation: 'direct',
    });
    expect(none.outcome).toMatchObject({ ok: true, credential: { attestation: { verified: false } } });
  });

  it('the MDS lookup gives no anchors for a model it does not list', async () => {
    const { outcome } = await register({
      authenticator: new SoftAuthenticator({
        aaguid: '2fc0579f-8113-47ea-b116-bb5a8db9202a',
        attestation: { format: 'packed-x5c', ca: vendor },
      }),
      kind: 'security_key',
      requireUserVerification: false,
      trustAnchors: (aaguid) => (aaguid === MODEL ? [vendor.root.der] : []),
    });
    expect(outcome).toMatchObject({ ok: true, credential: { attestation: { verified: false } } });
  });

  it('an attestation leaf naming another model is refused', async () => {
    const leaf = vendor.issueAttestationLeaf({ aaguid: '2fc0579f-8113-47ea-b116-bb5a8db9202a' });
    const { outcome } = await register({
      authenticator: new SoftAuthenticator({
        aaguid: MODEL,
        attestation: { format: 'packed-x5c', ca: vendor, leaf },
      }),
      kind: 'security_key',
      requireUserVerification: false,
      trustAnchors: [vendor.root.der],
    });
    expect(outcome).toEqual({ ok: false, reason: 'attestation_invalid' });
  });

  it('self attestation and attestation none are never "verified"', async () => {
    for (const format of ['packed-self', 'none'] as const) {
      const { outcome } = await register({
        authenticator: new SoftAuthenticator({ aaguid: MODEL, attestation: { format } }),
        kind: 'security_key',
        requireUserVerification: false,
        trustAnchors: [vendor.root.der],
      });
      expect(outcome).toMatchObject({
        ok: true,
        credential: {
          attestation: {
            format: format === 'none' ? 'none' : 'packed',
            trustPath: format === 'none' ? 'none' : 'self',
            verified: false,
          },
        },
      });
    }
  });
});

describe('certificate chains (node:crypto X509Certificate)', () => {
  const ca = createTestAttestationCA('Chain Test');
  const leaf = ca.issueAttestationLeaf({});
  const now = new Date();

  it('accepts leaf -> intermediate -> root, with or without the root in the chain', () => {
    expect(
      verifyCertificateChain({ chain: [leaf.der, ca.intermediate.der], anchors: [ca.root.der], at: now }),
    ).toBe(true);
    expect(
      verifyCertificateChain({
        chain: [leaf.der, ca.intermediate.der, ca.root.der],
        anchors: [ca.root.pem],
        at: now,
      }),
    ).toBe(true);
  });

  it('refuses a missing link, another root, a non-CA issuer, an expired certificate, garbage', () => {
    const other = createTestAttestationCA('Other');
    expect(verifyCertificateChain({ chain: [leaf.der], anchors: [ca.root.der], at: now })).toBe(false);
    expect(
      verifyCertificateChain({ chain: [leaf.der, ca.intermediate.der], anchors: [other.root.der], at: now }),
    ).toBe(false);
    const notCA = issueTestCertificate({ subject: { CN: 'not a CA' }, issuer: ca.root });
    const underNotCA = issueTestCertificate({ subject: { CN: 'leaf' }, issuer: notCA });
    expect(
      verifyCertificateChain({ chain: [underNotCA.der, notCA.der], anchors: [ca.root.der], at: now }),
    ).toBe(false);
    const expired = issueTestCertificate({
      subject: { CN: 'old' },
      issuer: ca.intermediate,
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    expect(
      verifyCertificateChain({ chain: [expired.der, ca.intermediate.der], anchors: [ca.root.der], at: now }),
    ).toBe(false);
    expect(
      verifyCertificateChain({ chain: [new Uint8Array([1, 2, 3])], anchors: [ca.root.der], at: now }),
    ).toBe(false);
    expect(verifyCertificateChain({ chain: [leaf.der, ca.intermediate.der], anchors: [], at: now })).toBe(
      false,
    );
  });
});

describe('MDS BLOB signature', () => {
  const fido = createTestAttestationCA('Metadata Service');
  const signer = issueTestCertificate({
    subject: { C: 'US', O: 'Metadata Service', CN: 'MDS Signer' },
    issuer: fido.intermediate,
  });
  const payload = { legalHeader: 'test', no: 7, nextUpdate: '2030-01-01', entries: [] };

  function jwsOf(blob: string) {
    const parsed = parseMDSBlob(blob);
    if (!parsed.ok) throw new Error(parsed.detail);
    return parsed.jws;
  }

  it('verifies a BLOB signed by a leaf chaining to the configured root', () => {
    const jws = jwsOf(signTestJWS({ payload, chain: [signer, fido.intermediate] }));
    expect(verifyMDSBlobSignature({ jws, roots: [fido.root.pem] })).toEqual({ ok: true });
  });

  it('refuses another root, a tampered payload, a signature by another key, an unknown algorithm', () => {
    const blob = signTestJWS({ payload, chain: [signer, fido.intermediate] });
    const other = createTestAttestationCA('Impostor');
    expect(verifyMDSBlobSignature({ jws: jwsOf(blob), roots: [other.root.der] })).toEqual({
      ok: false,
      reason: 'chain_untrusted',
    });
    const [h, , s] = blob.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, no: 8 })).toString('base64url')}.${s}`;
    expect(verifyMDSBlobSignature({ jws: jwsOf(forged), roots: [fido.root.der] })).toEqual({
      ok: false,
      reason: 'signature_invalid',
    });
    const wrongKey: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const byOther = signTestJWS({ payload, chain: [signer, fido.intermediate], privateKey: wrongKey });
    expect(verifyMDSBlobSignature({ jws: jwsOf(byOther), roots: [fido.root.der] })).toEqual({
      ok: false,
      reason: 'signature_invalid',
    });
    const jws = jwsOf(blob);
    expect(
      verifyMDSBlobSignature({
        jws: { ...jws, header: { ...jws.header, alg: 'none' } },
        roots: [fido.root.der],
      }),
    ).toEqual({
      ok: false,
      reason: 'algorithm_unsupported',
    });
  });

  it('refuses a BLOB whose chain is no longer valid', () => {
    const jws = jwsOf(signTestJWS({ payload, chain: [signer, fido.intermediate] }));
    expect(
      verifyMDSBlobSignature({
        jws,
        roots: [fido.root.der],
        now: new Date(Date.now() + 2 * 365 * 86_400_000),
      }),
    ).toEqual({ ok: false, reason: 'chain_untrusted' });
  });
});

describe('stored public keys (COSE, RFC 9053)', () => {
  const cose = (entries: Array<[number, number | Uint8Array]>) =>
    new Uint8Array(isoCBOR.encode(new Map(entries)));
  const jwkBytes = (v: string | undefined) => new Uint8Array(Buffer.from(v!, 'base64url'));

  it('prepares EdDSA (Ed25519) and RS256 keys that verify their signatures', () => {
    const data = Buffer.from('authenticator data || client data hash');
    const ed = generateKeyPairSync('ed25519');
    const edJWK = ed.publicKey.export({ format: 'jwk' });
    const edKey = preparePublicKey(
      cose([
        [1, 1],
        [3, -8],
        [-1, 6],
        [-2, jwkBytes(edJWK.x)],
      ]),
    );
    expect(edKey).toMatchObject({ algorithm: -8, hash: null });
    expect(verify(null, data, edKey!.key, sign(null, data, ed.privateKey))).toBe(true);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaJWK = rsa.publicKey.export({ format: 'jwk' });
    const rsaKey = preparePublicKey(
      cose([
        [1, 3],
        [3, -257],
        [-1, jwkBytes(rsaJWK.n)],
        [-2, jwkBytes(rsaJWK.e)],
      ]),
    );
    expect(rsaKey).toMatchObject({ algorithm: -257, hash: 'sha256' });
    expect(verify('sha256', data, rsaKey!.key, sign('sha256', data, rsa.privateKey))).toBe(true);
  });

  it('refuses algorithms Holdfast does not offer, mismatched key types and garbage', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const x = jwkBytes(ec.x);
    const y = jwkBytes(ec.y);
    expect(
      preparePublicKey(
        cose([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, x],
          [-3, y],
        ]),
      ),
    ).toMatchObject({ algorithm: -7 });
    expect(
      preparePublicKey(
        cose([
          [1, 2],
          [3, -35],
          [-1, 2],
          [-2, x],
          [-3, y],
        ]),
      ),
    ).toBeNull(); // ES384
    expect(
      preparePublicKey(
        cose([
          [1, 2],
          [3, -7],
          [-1, 2],
          [-2, x],
          [-3, y],
        ]),
      ),
    ).toBeNull(); // wrong curve
    expect(
      preparePublicKey(
        cose([
          [1, 1],
          [3, -7],
          [-1, 1],
          [-2, x],
          [-3, y],
        ]),
      ),
    ).toBeNull(); // wrong kty
    expect(
      preparePublicKey(
        cose([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, x],
        ]),
      ),
    ).toBeNull(); // no y
    expect(
      preparePublicKey(
        cose([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, x],
          [-3, new Uint8Array(32)],
        ]),
      ),
    ).toBeNull(); // off curve
    expect(preparePublicKey(new Uint8Array([0xff, 0x00]))).toBeNull();
  });
});
