/**
 * The WebAuthn ceremonies as a port (W3C Web Authentication Level 2): registration and
 * authentication options, verification of their responses, and the FIDO Metadata Service BLOB
 * signature. The use cases (app/webauthn.ts) call it through AppDeps; platform/webauthn.ts
 * implements it over @simplewebauthn/server and node:crypto.
 */

import type { KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { MDSBlobJWS } from './mds.js';

/** The Relying Party: the service as WebAuthn sees it. */
export interface RelyingParty {
  /** Shown by the authenticator. */
  name: string;
  /** RP ID: a registrable domain suffix of the origins (`localhost` in development). */
  id: string;
  /** Exact origins the browser may report, e.g. `https://id.example.com` or `http://localhost:8080`. */
  origins: readonly string[];
}

/**
 * What is being enrolled. A passkey is discoverable and verifies the user, so it can sign in on
 * its own; a security key is a second factor after the password: no PIN prompt, not discoverable.
 */
export type WebAuthnAuthenticatorKind = 'passkey' | 'security_key';

/** A credential identifier with the transports the browser reported, for allow/exclude lists. */
export interface CredentialDescriptor {
  /** Credential ID, base64url. */
  id: string;
  transports?: string[];
}

/** Whether the authenticator must verify the user (PIN, biometrics). */
export type UserVerification = 'required' | 'preferred' | 'discouraged';

/** Options for navigator.credentials.create(), and what the caller must keep for verification. */
export interface RegistrationOptionsResult {
  options: PublicKeyCredentialCreationOptionsJSON;
  /** base64url challenge: store it with the pending enrolment, use it once. */
  challenge: string;
  /** The user handle sent; store it on first enrolment and pass it back for later ones. */
  userHandle: Uint8Array;
}

/** Why a registration was refused (audit only; the user sees one answer). */
export type RegistrationFailureReason =
  | 'malformed'
  | 'wrong_type'
  | 'challenge_mismatch'
  | 'origin_mismatch'
  | 'cross_origin'
  | 'rp_id_mismatch'
  | 'user_not_present'
  | 'user_verification_missing'
  | 'backup_flags_invalid'
  | 'algorithm_unsupported'
  /** The attestation statement does not verify (bad signature, malformed certificate...). */
  | 'attestation_invalid'
  /** The attestation verifies but does not chain to a trust anchor, and one was required. */
  | 'attestation_untrusted';

/** How the attestation was judged. */
export interface AttestationResult {
  /** Attestation statement format (`none`, `packed`, `fido-u2f`, `tpm`, `apple`, ...). */
  format: string;
  /** `none`: no statement; `self`: signed by the credential key itself; `x5c`: a certificate chain. */
  trustPath: 'none' | 'self' | 'x5c';
  /** The x5c chain leads to one of the trust anchors passed in. Never true for none or self. */
  verified: boolean;
}

/** A newly registered credential: everything the caller stores. */
export interface RegisteredCredential {
  /** Credential ID, base64url. */
  id: string;
  /** COSE_Key bytes (RFC 9052 §7). */
  publicKey: Uint8Array;
  /** COSE algorithm of the key. */
  algorithm: number;
  counter: number;
  transports: string[];
  /** Canonical AAGUID (all zeros when the authenticator or client hid it). */
  aaguid: string;
  backupEligible: boolean;
  backedUp: boolean;
  userVerified: boolean;
  attestation: AttestationResult;
}

/** Outcome of verifyRegistration. */
export type RegistrationOutcome =
  { ok: true; credential: RegisteredCredential } | { ok: false; reason: RegistrationFailureReason };

/** Trust anchors (DER bytes or PEM), or a function choosing them by AAGUID (e.g. from MDS). */
export type TrustAnchorSource =
  readonly (Uint8Array | string)[] | ((aaguid: string) => readonly (Uint8Array | string)[]);

/** Options for navigator.credentials.get(). */
export interface AuthenticationOptionsResult {
  options: PublicKeyCredentialRequestOptionsJSON;
  /** base64url challenge: store it with the sign-in flow, use it once. */
  challenge: string;
}

/** A stored public key made ready for repeated signature checks. */
export interface PreparedPublicKey {
  /** COSE algorithm. */
  readonly algorithm: number;
  readonly key: KeyObject;
  /** Digest for node:crypto verify (null for EdDSA). */
  readonly hash: 'sha256' | null;
}

/** The stored credential an assertion is checked against. */
export interface StoredCredential {
  /** Credential ID, base64url. */
  id: string;
  /** COSE_Key bytes, or a key prepared once with preparePublicKey. */
  publicKey: Uint8Array | PreparedPublicKey;
  /** Last stored signature counter. */
  counter: number;
  /** BE flag recorded at registration. */
  backupEligible: boolean;
}

/** Why an assertion was refused (audit only). */
export type AuthenticationFailureReason =
  | 'malformed'
  | 'credential_mismatch'
  | 'wrong_type'
  | 'challenge_mismatch'
  | 'origin_mismatch'
  | 'cross_origin'
  | 'rp_id_mismatch'
  | 'user_not_present'
  | 'user_verification_missing'
  | 'user_handle_mismatch'
  | 'backup_flags_invalid'
  | 'backup_eligibility_changed'
  | 'algorithm_unsupported'
  | 'signature_invalid';

/** Outcome of verifyAuthentication. */
export type AuthenticationOutcome =
  | {
      ok: true;
      credentialId: string;
      /** Counter to store (0 when the authenticator keeps none). */
      newCounter: number;
      counterStatus: 'advanced' | 'no_counter';
      userVerified: boolean;
      backupEligible: boolean;
      backedUp: boolean;
      /** The user handle the authenticator returned (discoverable credentials), base64url. */
      userHandle: string | null;
    }
  /** Valid signature but the counter did not advance: possible cloned authenticator (§6.1.1). */
  | { ok: false; reason: 'clone_suspected'; storedCounter: number; receivedCounter: number }
  | { ok: false; reason: AuthenticationFailureReason };

/** Why an MDS BLOB's signature was refused. */
export type MDSSignatureFailureReason = 'algorithm_unsupported' | 'chain_untrusted' | 'signature_invalid';

/** Input of registrationOptions. */
export interface RegistrationOptionsInput {
  rp: RelyingParty;
  user: {
    name: string;
    displayName?: string;
    /** The user's existing handle; a new random one is made when absent. */
    handle?: Uint8Array;
  };
  kind: WebAuthnAuthenticatorKind;
  /** The user's existing credentials, so one authenticator is not registered twice. */
  excludeCredentials?: readonly CredentialDescriptor[];
  /** `none` (default) or `direct` when the account verifies authenticator models. */
  attestation?: 'none' | 'direct';
  /** Overrides the kind's default (passkey: required; security key: discouraged). */
  userVerification?: UserVerification;
  timeoutMs?: number;
  /** For tests; a fresh random challenge otherwise. */
  challenge?: Uint8Array;
}

/** Input of verifyRegistration. */
export interface VerifyRegistrationInput {
  response: RegistrationResponseJSON;
  expectedChallenge: string;
  rp: Pick<RelyingParty, 'id' | 'origins'>;
  /** Refuse without the UV flag (passkeys for passwordless sign-in). */
  requireUserVerification: boolean;
  trustAnchors?: TrustAnchorSource;
  /** Refuse unless the attestation chains to a trust anchor. */
  requireTrustedAttestation?: boolean;
  /** Time at which certificates must be valid (default: now). */
  now?: Date;
}

/** Input of authenticationOptions. */
export interface AuthenticationOptionsInput {
  rpId: string;
  allowCredentials?: readonly CredentialDescriptor[];
  userVerification: UserVerification;
  timeoutMs?: number;
  challenge?: Uint8Array;
}

/** Input of verifyAuthentication. */
export interface VerifyAuthenticationInput {
  response: AuthenticationResponseJSON;
  expectedChallenge: string;
  rp: Pick<RelyingParty, 'id' | 'origins'>;
  credential: StoredCredential;
  requireUserVerification: boolean;
  /** When the user was identified by the credential (discoverable sign-in): their handle. */
  expectedUserHandle?: Uint8Array;
}

/** Input of verifyMDSBlobSignature. */
export interface VerifyMDSBlobSignatureInput {
  jws: MDSBlobJWS;
  roots: readonly (Uint8Array | string)[];
  now?: Date;
}

/** An MDS BLOB signature check's answer. */
export type MDSSignatureOutcome = { ok: true } | { ok: false; reason: MDSSignatureFailureReason };

/** The ceremonies the use cases need. */
export interface WebAuthnCeremonies {
  /** Builds registration options for a passkey or a security key. */
  registrationOptions(input: RegistrationOptionsInput): Promise<RegistrationOptionsResult>;
  /** Verifies a registration response and judges its attestation against the trust anchors given. */
  verifyRegistration(input: VerifyRegistrationInput): Promise<RegistrationOutcome>;
  /** Builds authentication options (allowCredentials for a known user, none for passkeys). */
  authenticationOptions(input: AuthenticationOptionsInput): Promise<AuthenticationOptionsResult>;
  /** Verifies an assertion (WebAuthn §7.2) against one stored credential. */
  verifyAuthentication(input: VerifyAuthenticationInput): AuthenticationOutcome;
  /** Verifies an MDS3 BLOB's JWS against the configured roots. */
  verifyMDSBlobSignature(input: VerifyMDSBlobSignatureInput): MDSSignatureOutcome;
}
