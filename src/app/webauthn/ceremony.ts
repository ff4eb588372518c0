/**
 * What every WebAuthn ceremony shares: the Relying Party of the installation, the server-side
 * challenges (bound to the session or sign-in flow that asked, valid five minutes, usable once:
 * W3C WebAuthn §13.4.3) and the request options of an assertion.
 */
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { RelyingParty } from '../../core/factors/webauthn/ceremonies.js';
import type {
  Repositories,
  WebAuthnChallenge,
  WebAuthnChallengePurpose,
  WebAuthnCredential,
} from '../../core/ports.js';
import type { Principal } from '../../core/principals/types.js';
import { DEFAULT_WEBAUTHN_SETTINGS, newId, type AppDeps, type WebAuthnSettings } from '../deps.js';

/** How long a ceremony challenge lives (the options' timeout is the same). */
export const WEBAUTHN_CHALLENGE_TTL_MS = 5 * 60_000;
/** Challenge length in bytes (WebAuthn §13.4.3 asks for at least 16). */
export const CHALLENGE_BYTES = 32;
/** User handles are random, carry no personal data (§14.6.1), at most 64 bytes. */
export const USER_HANDLE_BYTES = 32;
/** Longest credential id accepted in a request, base64url of 1023 bytes (Level 3 §7.1 step 24). */
export const MAX_CREDENTIAL_ID_LENGTH = 1364;

/** Options for the browser plus the id of the server-side challenge to send back. */
export interface WebAuthnCeremony<T> {
  challengeId: string;
  expiresAt: number;
  options: T;
}

/** The Relying Party of this installation. */
export function relyingParty(deps: AppDeps): RelyingParty {
  const rp: WebAuthnSettings = deps.settings.webauthn ?? DEFAULT_WEBAUTHN_SETTINGS;
  return { id: rp.rpId, name: rp.rpName, origins: rp.origins };
}

/** Base64url of raw bytes (credential ids, user handles). */
export const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** Stores a new single-use challenge, valid five minutes, bound to what asked for it. */
export async function insertChallenge(
  deps: AppDeps,
  tx: Repositories,
  input: Omit<WebAuthnChallenge, 'id' | 'createdAt' | 'expiresAt' | 'usedAt'>,
): Promise<WebAuthnChallenge> {
  const now = deps.clock.now();
  const challenge: WebAuthnChallenge = {
    ...input,
    id: newId(deps, 'wac_'),
    createdAt: now,
    expiresAt: now + WEBAUTHN_CHALLENGE_TTL_MS,
    usedAt: null,
  };
  await tx.webauthn.insertChallenge(challenge);
  return challenge;
}

/** True when a stored challenge may still answer this ceremony (not whether it wins the race). */
export function challengeUsable(
  challenge: WebAuthnChallenge | null,
  expect: { purpose: WebAuthnChallengePurpose; now: number },
): challenge is WebAuthnChallenge {
  return (
    challenge !== null &&
    challenge.purpose === expect.purpose &&
    challenge.usedAt === null &&
    challenge.expiresAt > expect.now
  );
}

/** The principal's enabled WebAuthn factors with their credentials. */
export async function enabledCredentials(deps: AppDeps, principal: Principal): Promise<WebAuthnCredential[]> {
  const [factors, credentials] = await Promise.all([
    deps.store.factors.listByPrincipal(principal.accountId, principal.id),
    deps.store.webauthn.listCredentials(principal.accountId, principal.id),
  ]);
  const enabled = new Set(factors.filter((f) => f.status === 'enabled').map((f) => f.id));
  return credentials.filter((c) => enabled.has(c.factorId));
}

/** Options for navigator.credentials.get() and their stored challenge. */
export async function requestOptions(
  deps: AppDeps,
  input: {
    credentials: WebAuthnCredential[];
    challenge: Omit<WebAuthnChallenge, 'id' | 'createdAt' | 'expiresAt' | 'usedAt' | 'challenge' | 'data'>;
  },
): Promise<WebAuthnCeremony<PublicKeyCredentialRequestOptionsJSON>> {
  const { authenticationOptions } = await deps.webauthn();
  const built = await authenticationOptions({
    rpId: relyingParty(deps).id,
    allowCredentials: input.credentials.map((c) => ({ id: c.credentialId, transports: c.transports })),
    // UV when the authenticator can: it raises a key to attested_hardware_key (assurance.ts).
    userVerification: 'preferred',
    timeoutMs: WEBAUTHN_CHALLENGE_TTL_MS,
    challenge: deps.random.bytes(CHALLENGE_BYTES),
  });
  const challenge = await deps.store.transaction((tx) =>
    insertChallenge(deps, tx, { ...input.challenge, challenge: built.challenge, data: {} }),
  );
  return { challengeId: challenge.id, expiresAt: challenge.expiresAt, options: built.options };
}
