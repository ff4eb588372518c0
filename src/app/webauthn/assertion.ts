/**
 * WebAuthn assertions (W3C WebAuthn Level 2 §7.2): the factor step of sign-in, step-up, and
 * passwordless passkey sign-in. An assertion is checked before the command's transaction
 * (`presentAssertion`) and handed to the one second-factor step (mfa.ts, `secondFactorStep`),
 * which throttles, suspends, counts failures and audits whatever the factor, and settles the
 * assertion (uses up the challenge, stores the counter) inside the command's transaction.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { HoldfastError } from '../../core/errors.js';
import { webAuthnAssurance } from '../../core/factors/webauthn/assurance.js';
import type { Factor } from '../../core/factors/factor.js';
import type { AuthenticationOutcome } from '../../core/factors/webauthn/ceremonies.js';
import type {
  Repositories,
  WebAuthnChallenge,
  WebAuthnChallengePurpose,
  WebAuthnCredential,
} from '../../core/ports.js';
import type { Principal } from '../../core/principals/types.js';
import type { Session, SessionChannel } from '../../core/sessions/session.js';
import { SOURCE_THROTTLE } from '../../core/throttle.js';
import { ACTIONS } from '../actions.js';
import { createSession, type IssuedSession } from '../auth.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { notifyPrincipal, writeAudit, type AppDeps } from '../deps.js';
import { runCommand } from '../kernel.js';
import {
  completeSignInWithSecondFactor,
  prepareSecondFactor,
  secondFactorStep,
  stepUp,
  type PresentedProof,
  type SecondFactorSignInResult,
  waitingSignIn,
} from '../mfa.js';
import { findAccount } from '../users.js';
import {
  challengeUsable,
  enabledCredentials,
  MAX_CREDENTIAL_ID_LENGTH,
  relyingParty,
  requestOptions,
  type WebAuthnCeremony,
} from './ceremony.js';

/** Options to answer the factor step of a sign-in flow with any of the user's WebAuthn factors. */
export async function webAuthnSignInOptions(
  deps: AppDeps,
  input: { ctx: RequestContext; flowId: string },
): Promise<WebAuthnCeremony<PublicKeyCredentialRequestOptionsJSON>> {
  const { flow, principal } = await waitingSignIn(deps, input.flowId);
  const credentials = await enabledCredentials(deps, principal);
  if (credentials.length === 0) throw new HoldfastError('FACTOR_NOT_FOUND');
  return requestOptions(deps, {
    credentials,
    challenge: {
      purpose: 'sign_in',
      accountId: principal.accountId,
      principalId: principal.id,
      sessionId: null,
      flowId: flow.id,
    },
  });
}

/** What an assertion answers and names, looked up before the attempt's transaction. */
interface AssertionParts {
  /** The challenge, when it may answer this ceremony for this principal. */
  challenge: WebAuthnChallenge | null;
  /** The principal's credential the response names. */
  owned: WebAuthnCredential | null;
  /** Its factor, when enabled. */
  factor: Factor | null;
}

/** What an assertion is checked against: the ceremony, the principal, what it must be bound to. */
interface AssertionInput {
  principal: Principal;
  challengeId: string;
  response: AuthenticationResponseJSON;
  purpose: WebAuthnChallengePurpose;
  /** What the challenge must be bound to. */
  flowId?: string;
  sessionId?: string;
  ctx: RequestContext;
}

async function findAssertionParts(
  deps: AppDeps,
  input: AssertionInput,
  now: number,
): Promise<AssertionParts> {
  const { principal } = input;
  const stored = await deps.store.webauthn.findChallenge(input.challengeId);
  const challenge =
    challengeUsable(stored, { purpose: input.purpose, now }) &&
    (stored.accountId === null || stored.accountId === principal.accountId) &&
    (stored.principalId === null || stored.principalId === principal.id) &&
    stored.flowId === (input.flowId ?? null) &&
    stored.sessionId === (input.sessionId ?? null)
      ? stored
      : null;
  const responseId = typeof input.response?.id === 'string' ? input.response.id : '';
  const credential =
    responseId.length > 0 && responseId.length <= MAX_CREDENTIAL_ID_LENGTH
      ? await deps.store.webauthn.findCredential(principal.accountId, responseId)
      : null;
  const owned = credential !== null && credential.principalId === principal.id ? credential : null;
  const found =
    owned === null ? null : await deps.store.factors.findById(principal.accountId, owned.factorId);
  return { challenge, owned, factor: found !== null && found.status === 'enabled' ? found : null };
}

/** Verifies the assertion with the WebAuthn library (null: nothing to verify it against). */
async function verifyAssertion(
  deps: AppDeps,
  input: AssertionInput,
  parts: AssertionParts,
): Promise<AuthenticationOutcome | null> {
  const { challenge, owned, factor } = parts;
  if (challenge === null || owned === null || factor === null) return null;
  const { verifyAuthentication } = await deps.webauthn();
  return verifyAuthentication({
    response: input.response,
    expectedChallenge: challenge.challenge,
    rp: relyingParty(deps),
    credential: {
      id: owned.credentialId,
      publicKey: owned.publicKey,
      counter: owned.signCount,
      backupEligible: owned.backupEligible,
    },
    requireUserVerification: false,
    ...(input.purpose === 'passkey'
      ? { expectedUserHandle: new Uint8Array(Buffer.from(owned.userHandle, 'base64url')) }
      : {}),
  });
}

/** W3C WebAuthn §6.1.1: a counter that did not advance means two copies of the key may exist. */
async function reportCloneSuspected(
  deps: AppDeps,
  tx: Repositories,
  input: {
    ctx: RequestContext;
    principal: Principal;
    owned: WebAuthnCredential;
    factor: Factor | null;
    outcome: { storedCounter: number; receivedCounter: number };
  },
): Promise<void> {
  const { principal } = input;
  await writeAudit(deps, tx, {
    actor: null,
    ctx: input.ctx,
    fact: {
      accountId: principal.accountId,
      action: 'webauthn.clone_suspected',
      target: input.owned.factorId,
      outcome: 'failure',
      errorCode: 'MFA_FAILED',
      details: {
        security: true,
        principalId: principal.id,
        storedCounter: input.outcome.storedCounter,
        receivedCounter: input.outcome.receivedCounter,
      },
    },
  });
  await notifyPrincipal(deps, tx, {
    accountId: principal.accountId,
    principalId: principal.id,
    template: 'webauthn.clone_suspected',
    payload: { factorName: input.factor?.name ?? null },
  });
}

/**
 * Checks one assertion for `principal` against the challenge it answers, before the attempt's
 * transaction; the returned proof settles (uses up the challenge, stores the counter) inside it.
 */
async function presentAssertion(deps: AppDeps, input: AssertionInput): Promise<PresentedProof> {
  const { principal } = input;
  const parts = await findAssertionParts(deps, input, deps.clock.now());
  const { challenge, owned, factor } = parts;
  const outcome = await verifyAssertion(deps, input, parts);
  const reason =
    challenge === null
      ? 'challenge_invalid'
      : outcome === null
        ? 'unknown_credential'
        : outcome.ok
          ? 'ok'
          : outcome.reason;
  const verified = outcome !== null && outcome.ok ? outcome : null;
  const userVerified = verified?.userVerified ?? false;
  const assurance =
    verified !== null && owned !== null
      ? webAuthnAssurance({
          backupEligible: verified.backupEligible,
          backedUp: verified.backedUp,
          userVerified,
          attestationVerified: owned.attestationVerified,
          aaguidAllowed: owned.aaguidAllowed,
        })
      : 'device_bound_key';
  return {
    factor,
    reason,
    assurance,
    // RFC 8176 `hwk`: proof of possession of a key. Whether the assertion makes the session
    // multi-factor (and adds `mfa`) is decided in one place: proofIsMultiFactor (mfa.ts).
    methods: ['hwk'],
    userVerified,
    async settle(tx, { now: at, accepted }) {
      const fresh = challenge !== null && (await tx.webauthn.consumeChallenge({ id: challenge.id, now: at }));
      if (outcome !== null && !outcome.ok && outcome.reason === 'clone_suspected' && owned !== null) {
        await reportCloneSuspected(deps, tx, { ctx: input.ctx, principal, owned, factor, outcome });
      }
      if (!accepted || !fresh || verified === null || owned === null) return false;
      return tx.webauthn.recordUse({
        factorId: owned.factorId,
        expectedCount: owned.signCount,
        newCount: verified.newCounter,
        backedUp: verified.backedUp,
        now: at,
      });
    },
  };
}

/** The factor step of sign-in answered with a WebAuthn assertion. */
export async function completeSignInWithWebAuthn(
  deps: AppDeps,
  input: { ctx: RequestContext; flowId: string; challengeId: string; response: AuthenticationResponseJSON },
): Promise<SecondFactorSignInResult> {
  return completeSignInWithSecondFactor(deps, {
    ctx: input.ctx,
    flowId: input.flowId,
    proof: {
      present: (principal) =>
        presentAssertion(deps, {
          principal,
          challengeId: input.challengeId,
          response: input.response,
          purpose: 'sign_in',
          flowId: input.flowId,
          ctx: input.ctx,
        }),
    },
  });
}

/** Options for a step-up with one of the caller's WebAuthn factors. */
export async function webAuthnStepUpOptions(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext },
): Promise<WebAuthnCeremony<PublicKeyCredentialRequestOptionsJSON>> {
  const { principal, session } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.StepUp,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const credentials = await enabledCredentials(deps, principal);
  if (credentials.length === 0) throw new HoldfastError('FACTOR_NOT_FOUND');
  return requestOptions(deps, {
    credentials,
    challenge: {
      purpose: 'step_up',
      accountId: principal.accountId,
      principalId: principal.id,
      sessionId: session.id,
      flowId: null,
    },
  });
}

/** Step-up with a WebAuthn assertion: the session's second factor becomes this one, now. */
export async function stepUpWithWebAuthn(
  deps: AppDeps,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    challengeId: string;
    response: AuthenticationResponseJSON;
  },
): Promise<Session> {
  return stepUp(deps, {
    actor: input.actor,
    ctx: input.ctx,
    proof: {
      present: (principal) =>
        presentAssertion(deps, {
          principal,
          challengeId: input.challengeId,
          response: input.response,
          purpose: 'step_up',
          sessionId: input.actor.session.id,
          // Whether this makes the session multi-factor is stepUp's call (proofIsMultiFactor): a
          // session that began with a passkey alone needs user verification now.
          ctx: input.ctx,
        }),
    },
  });
}

/**
 * Options for passwordless sign-in: no credentials are listed, so the authenticator offers the
 * discoverable passkeys it holds for this RP. The account is named (as at password sign-in) so a
 * credential is only ever looked up inside one account; an unknown account gets options too.
 */
export async function passkeySignInOptions(
  deps: AppDeps,
  input: { ctx: RequestContext; account: string },
): Promise<WebAuthnCeremony<PublicKeyCredentialRequestOptionsJSON>> {
  const account = await findAccount(deps, input.account);
  // Unauthenticated callers create challenge rows: expired ones are swept on the way.
  await deps.store.webauthn.deleteExpiredChallenges(deps.clock.now());
  return requestOptions(deps, {
    credentials: [],
    challenge: {
      purpose: 'passkey',
      accountId: account?.id ?? null,
      principalId: null,
      sessionId: null,
      flowId: null,
    },
  });
}

/** The challenge, credential and principal a passwordless assertion names (nulls: unknown). */
async function findPasskeyHolder(
  deps: AppDeps,
  input: { challengeId: string; response: AuthenticationResponseJSON },
): Promise<{
  challenge: WebAuthnChallenge | null;
  credential: WebAuthnCredential | null;
  principal: Principal | null;
}> {
  const challenge = await deps.store.webauthn.findChallenge(input.challengeId);
  const responseId = typeof input.response?.id === 'string' ? input.response.id : '';
  const credential =
    challengeUsable(challenge, { purpose: 'passkey', now: deps.clock.now() }) &&
    challenge.accountId !== null &&
    responseId.length > 0 &&
    responseId.length <= MAX_CREDENTIAL_ID_LENGTH
      ? await deps.store.webauthn.findCredential(challenge.accountId, responseId)
      : null;
  const principal =
    credential === null
      ? null
      : await deps.store.principals.findById(credential.accountId, credential.principalId);
  return { challenge, credential, principal };
}

/**
 * Unknown challenge, account or credential: slowed per source like wrong passwords. One command:
 * the count, the used-up challenge and the refusal record commit, then it fails.
 */
function refusePasskey(
  deps: AppDeps,
  input: { ctx: RequestContext; challenge: WebAuthnChallenge | null; target: string | null; reason: string },
): Promise<never> {
  const { challenge } = input;
  return runCommand<never>(deps, null, input.ctx, null, async (uow) => {
    const now = deps.clock.now();
    await uow.tx.throttle.hit({
      key: `passkey:ip:${input.ctx.sourceIp ?? 'local'}`,
      policy: SOURCE_THROTTLE,
      now,
    });
    if (challenge !== null) await uow.tx.webauthn.consumeChallenge({ id: challenge.id, now });
    await writeAudit(deps, uow.tx, {
      actor: null,
      ctx: input.ctx,
      fact: {
        accountId: challenge?.accountId ?? null,
        action: 'auth.passkey_sign_in',
        target: input.target,
        outcome: 'failure',
        errorCode: 'AUTH_INVALID_CREDENTIALS',
        details: { reason: input.reason },
      },
    });
    return uow.failAfterCommit(new HoldfastError('AUTH_INVALID_CREDENTIALS'));
  });
}

/**
 * Passwordless sign-in with a discoverable passkey: the credential (looked up in the account the
 * challenge was issued for) names the principal, its user handle must match, and the assertion
 * goes through the same second-factor check as any other. With user verification the session is
 * multi-factor (NIST SP 800-63B §5.1.9); without, it is signed in with no second factor.
 */
export async function signInWithPasskey(
  deps: AppDeps,
  input: {
    ctx: RequestContext;
    challengeId: string;
    response: AuthenticationResponseJSON;
    channel: SessionChannel;
  },
): Promise<IssuedSession & { status: 'signed_in'; multiFactor: boolean }> {
  const { challenge, credential, principal } = await findPasskeyHolder(deps, input);
  if (principal === null || principal.status !== 'active') {
    return refusePasskey(deps, {
      ctx: input.ctx,
      challenge,
      target: principal?.id ?? null,
      reason: credential === null ? 'unknown_credential' : 'principal_inactive',
    });
  }
  const step = {
    principal,
    proof: {
      present: () =>
        presentAssertion(deps, {
          principal,
          challengeId: input.challengeId,
          response: input.response,
          purpose: 'passkey',
          ctx: input.ctx,
        }),
    },
    ctx: input.ctx,
    actor: null,
    purpose: 'passkey_sign_in' as const,
    // No password: only user verification makes this sign-in multi-factor.
    firstFactorVerified: false,
  };
  const prepared = await prepareSecondFactor(deps, deps.store, step);
  return runCommand(deps, null, input.ctx, null, async (uow) => {
    const checked = await secondFactorStep(deps, uow.tx, step, prepared);
    // One answer for every failed passwordless attempt, like a wrong password.
    if (!checked.ok) {
      return uow.failAfterCommit(
        checked.error.code === 'MFA_FAILED' ? new HoldfastError('AUTH_INVALID_CREDENTIALS') : checked.error,
      );
    }
    const { sessionFactor, methods, proof } = checked;
    const issued = await createSession(deps, uow.tx, {
      principal,
      auth: { methods, factor: sessionFactor },
      channel: input.channel,
      ctx: input.ctx,
    });
    uow.record({
      accountId: principal.accountId,
      action: 'auth.sign_in',
      target: principal.id,
      details: {
        sessionId: issued.session.id,
        methods,
        passwordless: true,
        multiFactor: sessionFactor !== null,
        factorId: proof.factorId,
        assurance: proof.assurance,
      },
    });
    return { status: 'signed_in' as const, ...issued, multiFactor: sessionFactor !== null };
  });
}

/** The stored credential details of a user's WebAuthn factors (never anything secret: keys are public). */
export async function listWebAuthnCredentials(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx?: RequestContext },
): Promise<WebAuthnCredential[]> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListMFADevices,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  return deps.store.webauthn.listCredentials(principal.accountId, principal.id);
}
