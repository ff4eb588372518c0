/**
 * Browser ceremonies for passkeys and security keys (W3C WebAuthn) through
 * @simplewebauthn/browser. Loaded on demand (dynamic import) so the first page stays small; the
 * server keeps every challenge and verifies every answer.
 */
import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { post } from './api.js';
import type { Factor, Session, SignInAnswer } from './types.js';

/** What the server answers for a ceremony: the options and the id of the challenge it kept. */
interface Ceremony<T> {
  challengeId: string;
  expiresAt: string;
  options: T;
}

type CreationOptions = Parameters<typeof startRegistration>[0]['optionsJSON'];
type RequestOptions = Parameters<typeof startAuthentication>[0]['optionsJSON'];

/** Whether this browser can run WebAuthn ceremonies at all. */
export function webAuthnAvailable(): boolean {
  return typeof window.PublicKeyCredential === 'function';
}

/** Registers a passkey (discoverable, user verified) or a security key as a new factor. */
export async function registerKey(input: {
  kind: 'passkey' | 'security_key';
  name: string;
  enrolmentGrant?: string;
}): Promise<Factor> {
  const ceremony = await post<Ceremony<CreationOptions>>('/v1/factors/webauthn/options', input);
  const credential = await startRegistration({ optionsJSON: ceremony.options });
  const { factor } = await post<{ factor: Factor }>('/v1/factors/webauthn', {
    challengeId: ceremony.challengeId,
    credential,
  });
  return factor;
}

/** Answers the factor step of sign-in with any of the user's passkeys or security keys. */
export async function signInSecondFactor(flowId: string): Promise<SignInAnswer> {
  const ceremony = await post<Ceremony<RequestOptions>>('/v1/sign-in/second-factor/webauthn/options', {
    flowId,
  });
  const credential = await startAuthentication({ optionsJSON: ceremony.options });
  return post<SignInAnswer>('/v1/sign-in/second-factor/webauthn', {
    flowId,
    challengeId: ceremony.challengeId,
    credential,
  });
}

/** Passwordless sign-in: the browser offers the passkeys it holds for this site. */
export async function signInWithPasskey(account: string): Promise<SignInAnswer> {
  const ceremony = await post<Ceremony<RequestOptions>>('/v1/sign-in/passkey/options', { account });
  const credential = await startAuthentication({ optionsJSON: ceremony.options });
  return post<SignInAnswer>('/v1/sign-in/passkey', {
    challengeId: ceremony.challengeId,
    credential,
    session: 'cookie',
  });
}

/** Steps up the current session with one of the user's passkeys or security keys. */
export async function stepUpWithKey(): Promise<Session> {
  const ceremony = await post<Ceremony<RequestOptions>>('/v1/session/step-up/webauthn/options', undefined, {
    noStepUp: true,
  });
  const credential = await startAuthentication({ optionsJSON: ceremony.options });
  const { session } = await post<{ session: Session }>(
    '/v1/session/step-up/webauthn',
    { challengeId: ceremony.challengeId, credential },
    { noStepUp: true },
  );
  return session;
}
