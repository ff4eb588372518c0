/**
 * Registering a passkey or a security key (W3C WebAuthn Level 2 §7.1): options bound to the
 * session that asked, then the authenticator's response verified, its attestation and model
 * judged against the account's rules, and an enabled factor stored with its credential. For
 * oneself the G3 enrolment rules apply as for an authenticator app; with `userRef` an admin
 * (MFA session, G2) registers a key the user cannot remove or swap.
 */
import type {
  PublicKeyCredentialCreationOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { HoldfastError } from '../../core/errors.js';
import type { Factor, OTPParams } from '../../core/factors/factor.js';
import { checkAAGUID, createAAGUIDPolicy } from '../../core/factors/webauthn/aaguid-policy.js';
import { webAuthnAssurance, type WebAuthnAssuranceLevel } from '../../core/factors/webauthn/assurance.js';
import type {
  RegisteredCredential,
  WebAuthnAuthenticatorKind,
} from '../../core/factors/webauthn/ceremonies.js';
import { modelStatus, trustAnchorsFor } from '../../core/factors/webauthn/mds.js';
import type { Repositories, WebAuthnChallenge, WebAuthnCredential } from '../../core/ports.js';
import type { Account, Principal } from '../../core/principals/types.js';
import { ACTIONS } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { newId, notifyPrincipal, writeAudit, type AppDeps } from '../deps.js';
import { factorSecretContext } from '../factor-secrets.js';
import {
  admitEnrolment,
  auditRefusal,
  countEnrolmentAttempt,
  ENROLMENT_REFUSALS,
  onFirstFactorEnabled,
  parseFactorName,
} from '../factors.js';
import { requireUser } from '../users.js';
import {
  b64url,
  CHALLENGE_BYTES,
  challengeUsable,
  insertChallenge,
  relyingParty,
  USER_HANDLE_BYTES,
  WEBAUTHN_CHALLENGE_TTL_MS,
  type WebAuthnCeremony,
} from './ceremony.js';
import { accountCatalog } from './metadata.js';

/**
 * The OTP parameters column of a WebAuthn factor row. The factor has no OTP secret: its sealed
 * "secret" is empty and its parameters are never read, since its driver accepts no codes.
 */
const NO_OTP_PARAMS: OTPParams = {
  mode: 'totp',
  algorithm: 'SHA1',
  digits: 6,
  period: 30,
  initialCounter: 0,
};

type SelfAction = typeof ACTIONS.CreateVirtualMFADevice | typeof ACTIONS.EnableMFADevice;

/** Who registers: the caller for themselves, or an admin for a named user (admin-provisioned). */
async function registrant(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; userRef?: string; self: SelfAction },
): Promise<{ target: Principal; adminProvisioned: boolean }> {
  const { principal } = input.actor;
  if (input.userRef === undefined) {
    await authorize(deps, input.actor, input.self, { accountId: principal.accountId, principal }, input.ctx);
    return { target: principal, adminProvisioned: false };
  }
  // Checked without a target first, so callers without the action learn nothing about users.
  await authorize(
    deps,
    input.actor,
    ACTIONS.ProvisionWebAuthnKey,
    { accountId: principal.accountId },
    input.ctx,
  );
  const target = await requireUser(deps, principal.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.ProvisionWebAuthnKey,
    { accountId: principal.accountId, principal: target },
    input.ctx,
  );
  return { target, adminProvisioned: true };
}

async function requireAccount(deps: AppDeps, accountId: string): Promise<Account> {
  const account = await deps.store.accounts.findById(accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  return account;
}

/** The limit and unique name of a principal's factors, checked inside the registering transaction. */
async function checkRoom(
  deps: AppDeps,
  tx: Repositories,
  input: { target: Principal; name: string },
): Promise<Factor[]> {
  const existing = await tx.factors.listByPrincipal(input.target.accountId, input.target.id);
  if (existing.length >= deps.settings.mfa.maxFactors) throw new HoldfastError('FACTOR_LIMIT_REACHED');
  if (existing.some((f) => f.name === input.name)) throw new HoldfastError('FACTOR_NAME_TAKEN');
  return existing;
}

/** Audits an admission refusal (G3/G4) of `action` and rethrows; any other error is rethrown as is. */
async function auditEnrolmentRefusal(
  deps: AppDeps,
  err: unknown,
  input: { actor: Actor; ctx: RequestContext; action: 'factor.create' | 'factor.enable'; target: string },
): Promise<never> {
  if (err instanceof HoldfastError && ENROLMENT_REFUSALS.has(err.code)) {
    await auditRefusal(deps, { ...input, error: err });
  }
  throw err;
}

/**
 * Starts registering a passkey or a security key: options for navigator.credentials.create() and
 * a challenge bound to this session. For oneself, the G3 enrolment rules apply exactly as for an
 * authenticator app (an MFA session, or a grant, once a factor exists); with `userRef`, an admin
 * (in an MFA session, G2) registers a key for that user, which the user cannot remove or swap.
 */
export async function webAuthnRegistrationOptions(
  deps: AppDeps,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    kind: WebAuthnAuthenticatorKind;
    name: string;
    userRef?: string;
    enrolmentGrant?: string;
  },
): Promise<WebAuthnCeremony<PublicKeyCredentialCreationOptionsJSON>> {
  const { target, adminProvisioned } = await registrant(deps, {
    ...input,
    self: ACTIONS.CreateVirtualMFADevice,
  });
  const name = parseFactorName(input.name);
  const account = await requireAccount(deps, target.accountId);
  await countEnrolmentAttempt(deps, input.actor, input.ctx, 'factor.create');
  const credentials = await deps.store.webauthn.listCredentials(target.accountId, target.id);
  const handle =
    credentials[0] !== undefined
      ? new Uint8Array(Buffer.from(credentials[0].userHandle, 'base64url'))
      : deps.random.bytes(USER_HANDLE_BYTES);
  const attestation = account.settings.webauthnAttestation ?? 'none';
  const { registrationOptions } = await deps.webauthn();
  const built = await registrationOptions({
    rp: relyingParty(deps),
    user: { name: target.email, displayName: target.username, handle },
    kind: input.kind,
    excludeCredentials: credentials.map((c) => ({ id: c.credentialId, transports: c.transports })),
    attestation,
    timeoutMs: WEBAUTHN_CHALLENGE_TTL_MS,
    challenge: deps.random.bytes(CHALLENGE_BYTES),
  });
  const now = deps.clock.now();
  const challenge = await deps.store
    .transaction(async (tx) => {
      await tx.factors.deleteExpiredPending({ accountId: target.accountId, principalId: target.id, now });
      const { grantId } = adminProvisioned
        ? { grantId: null }
        : await admitEnrolment(deps, tx, {
            actor: input.actor,
            ctx: input.ctx,
            grantToken: input.enrolmentGrant,
          });
      await checkRoom(deps, tx, { target, name });
      return insertChallenge(deps, tx, {
        purpose: 'register',
        challenge: built.challenge,
        accountId: target.accountId,
        principalId: target.id,
        sessionId: input.actor.session.id,
        flowId: null,
        data: {
          kind: input.kind,
          name,
          userHandle: b64url(built.userHandle),
          adminProvisioned,
          attestation,
          // G3 is decided again at registration; a grant used here admits that registration.
          enrolmentGrantId: grantId,
        },
      });
    })
    .catch((err: unknown) =>
      auditEnrolmentRefusal(deps, err, { ...input, action: 'factor.create', target: target.id }),
    );
  return { challengeId: challenge.id, expiresAt: challenge.expiresAt, options: built.options };
}

/** What a registration attempt is about, once its registrant and challenge are known. */
interface Attempt {
  actor: Actor & { kind: 'principal' };
  ctx: RequestContext;
  target: Principal;
  adminProvisioned: boolean;
  now: number;
}

/** Why a registration is refused: one answer code, the precise reason audited. */
interface Refusal {
  code: 'WEBAUTHN_REGISTRATION_FAILED' | 'WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED';
  reason: string;
  extra?: Record<string, string | boolean>;
}

/** Refuses a registration: uses up the challenge, audits the precise reason, throws one code. */
async function refuseRegistration(
  deps: AppDeps,
  attempt: Attempt,
  challenge: WebAuthnChallenge | null,
  refusal: Refusal,
): Promise<never> {
  await deps.store.transaction(async (tx) => {
    if (challenge !== null) await tx.webauthn.consumeChallenge({ id: challenge.id, now: attempt.now });
    await writeAudit(deps, tx, {
      actor: attempt.actor,
      ctx: attempt.ctx,
      fact: {
        accountId: attempt.target.accountId,
        action: 'factor.enable',
        target: attempt.target.id,
        outcome: 'failure',
        errorCode: refusal.code,
        details: { kind: 'webauthn', reason: refusal.reason, security: true, ...refusal.extra },
      },
    });
  });
  throw new HoldfastError(refusal.code);
}

/** An admission refusal (G3/G4) uses up the challenge and is audited; any error is rethrown. */
async function refuseEnrolment(
  deps: AppDeps,
  attempt: Attempt,
  challenge: WebAuthnChallenge,
  err: unknown,
): Promise<never> {
  if (err instanceof HoldfastError && ENROLMENT_REFUSALS.has(err.code)) {
    await deps.store.transaction((tx) =>
      tx.webauthn.consumeChallenge({ id: challenge.id, now: attempt.now }),
    );
  }
  return auditEnrolmentRefusal(deps, err, { ...attempt, action: 'factor.enable', target: attempt.target.id });
}

/** The grant a registration's options were admitted with, if any. */
function admittedByGrant(challenge: WebAuthnChallenge): string | null {
  return typeof challenge.data.enrolmentGrantId === 'string' ? challenge.data.enrolmentGrantId : null;
}

/**
 * Judges the registered model against the account's allow-list and the FIDO metadata: a refusal,
 * or whether the AAGUID is listed and whether the metadata marks the model compromised.
 */
function judgeModel(
  allowList: readonly string[] | undefined,
  registered: RegisteredCredential,
  compromised: boolean,
): Refusal | { aaguidAllowed: boolean } {
  if (allowList === undefined) return { aaguidAllowed: false };
  const policy = createAAGUIDPolicy({ aaguids: [...allowList] });
  const check = policy.ok
    ? checkAAGUID(policy.policy, {
        aaguid: registered.aaguid,
        attestationVerified: registered.attestation.verified,
      })
    : ({ allowed: false, reason: 'malformed' } as const);
  const extra = { aaguid: registered.aaguid };
  if (!check.allowed) return { code: 'WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED', reason: check.reason, extra };
  if (compromised) return { code: 'WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED', reason: 'model_compromised', extra };
  return { aaguidAllowed: check.listed };
}

/** The enabled factor row and credential of a verified registration. */
function newWebAuthnFactor(
  deps: AppDeps,
  input: {
    attempt: Attempt;
    challenge: WebAuthnChallenge;
    registered: RegisteredCredential;
    assurance: WebAuthnAssuranceLevel;
    aaguidAllowed: boolean;
  },
): { factor: Factor; credential: WebAuthnCredential } {
  const { attempt, challenge, registered } = input;
  const { target, now } = attempt;
  const factorId = newId(deps, 'mfa_');
  const factor: Factor = {
    id: factorId,
    accountId: target.accountId,
    principalId: target.id,
    kind: 'webauthn',
    name: String(challenge.data.name),
    status: 'enabled',
    assurance: input.assurance,
    adminProvisioned: attempt.adminProvisioned,
    hardwareTokenId: null,
    secretSealed: deps.secretBox.seal(new Uint8Array(0), factorSecretContext(factorId)),
    params: NO_OTP_PARAMS,
    lastCounter: null,
    driftSteps: 0,
    failedAttempts: 0,
    createdAt: now,
    enabledAt: now,
    lastUsedAt: null,
    pendingSessionId: null,
    pendingExpiresAt: null,
    pendingAttempts: 0,
  };
  const credential: WebAuthnCredential = {
    factorId,
    accountId: target.accountId,
    principalId: target.id,
    credentialId: registered.id,
    publicKey: registered.publicKey,
    algorithm: registered.algorithm,
    signCount: registered.counter,
    transports: registered.transports,
    aaguid: registered.aaguid,
    backupEligible: registered.backupEligible,
    backedUp: registered.backedUp,
    userVerified: registered.userVerified,
    attestationFormat: registered.attestation.format,
    attestationVerified: registered.attestation.verified,
    aaguidAllowed: input.aaguidAllowed,
    discoverable: challenge.data.kind === 'passkey',
    userHandle: String(challenge.data.userHandle),
    createdAt: now,
    lastUsedAt: null,
  };
  return { factor, credential };
}

/**
 * Inside the registering transaction: uses up the challenge, decides G3 again, checks the
 * credential is new and the limit and name hold, stores the factor and credential, and writes
 * the `factor.enable` record, the user's notice and the first-factor bookkeeping.
 */
async function storeRegistration(
  deps: AppDeps,
  tx: Repositories,
  input: {
    attempt: Attempt;
    challenge: WebAuthnChallenge;
    factor: Factor;
    credential: WebAuthnCredential;
    counted: string[];
  },
): Promise<'ok' | 'challenge_used' | 'credential_exists'> {
  const { attempt, challenge, factor, credential } = input;
  const { target, now, adminProvisioned } = attempt;
  // One enabling decision per principal at a time (a row lock on PostgreSQL).
  await tx.mfaState.lock({ principalId: target.id, accountId: target.accountId, now });
  if (!(await tx.webauthn.consumeChallenge({ id: challenge.id, now }))) return 'challenge_used';
  if (!adminProvisioned) {
    // G3 again, in the transaction that registers: the options may predate the user's own
    // first factor. A refusal rolls back (the challenge stays unused) and is audited after.
    const { grantId } = await admitEnrolment(deps, tx, {
      actor: attempt.actor,
      ctx: attempt.ctx,
      admittedByGrant: admittedByGrant(challenge),
    });
    // Remembered on the factor, as for an authenticator app enrolled with a grant.
    factor.enrolmentGrantId = grantId;
  }
  if ((await tx.webauthn.findCredential(target.accountId, credential.credentialId)) !== null) {
    return 'credential_exists';
  }
  const existing = await checkRoom(deps, tx, { target, name: factor.name });
  await tx.factors.insert(factor);
  await tx.webauthn.insertCredential(credential);
  await tx.enrolment.markEnrolled({ principalId: target.id, accountId: target.accountId, now });
  for (const key of input.counted) await tx.throttle.release(key);
  await writeAudit(deps, tx, {
    actor: attempt.actor,
    ctx: attempt.ctx,
    fact: {
      accountId: target.accountId,
      action: 'factor.enable',
      target: factor.id,
      details: {
        kind: 'webauthn',
        name: factor.name,
        authenticator: String(challenge.data.kind),
        aaguid: credential.aaguid,
        attestationFormat: credential.attestationFormat,
        attestationVerified: credential.attestationVerified,
        backupEligible: credential.backupEligible,
        assurance: factor.assurance,
        adminProvisioned,
      },
    },
  });
  await notifyPrincipal(deps, tx, {
    accountId: target.accountId,
    principalId: target.id,
    template: 'factor.added',
    payload: { factorName: factor.name, kind: 'webauthn', byAdmin: adminProvisioned },
  });
  await onFirstFactorEnabled(deps, tx, {
    actor: attempt.actor,
    ctx: attempt.ctx,
    target,
    factorId: factor.id,
    hadEnabledFactor: existing.some((f) => f.status === 'enabled'),
  });
  return 'ok';
}

/** The registration challenge of this session and registrant, when it may still be answered. */
async function liveChallenge(
  deps: AppDeps,
  attempt: Attempt,
  challengeId: string,
): Promise<WebAuthnChallenge | null> {
  const stored = await deps.store.webauthn.findChallenge(challengeId);
  return challengeUsable(stored, { purpose: 'register', now: attempt.now }) &&
    stored.sessionId === attempt.actor.session.id &&
    stored.principalId === attempt.target.id &&
    stored.data.adminProvisioned === attempt.adminProvisioned
    ? stored
    : null;
}

/**
 * Verifies the authenticator's response and judges its model: the factor and credential to
 * store, or the refusal.
 */
async function verifyRegistrationResponse(
  deps: AppDeps,
  input: {
    attempt: Attempt;
    account: Account;
    challenge: WebAuthnChallenge;
    response: RegistrationResponseJSON;
  },
): Promise<Refusal | { factor: Factor; credential: WebAuthnCredential }> {
  const { attempt, challenge } = input;
  const catalog = await accountCatalog(deps, attempt.target.accountId);
  const { verifyRegistration } = await deps.webauthn();
  const outcome = await verifyRegistration({
    response: input.response,
    expectedChallenge: challenge.challenge,
    rp: relyingParty(deps),
    // A passkey signs in on its own, so its authenticator must verify the user (NIST SP 800-63B §5.1.9).
    requireUserVerification: challenge.data.kind === 'passkey',
    trustAnchors: (aaguid) => (catalog === null ? [] : trustAnchorsFor(catalog, aaguid)),
    now: new Date(attempt.now),
  });
  if (!outcome.ok) return { code: 'WEBAUTHN_REGISTRATION_FAILED', reason: outcome.reason };
  const registered = outcome.credential;
  const status = catalog === null ? null : modelStatus(catalog, registered.aaguid);
  const compromised = status !== null && status.known && status.compromised;
  const judged = judgeModel(input.account.settings.webauthnAllowedAAGUIDs, registered, compromised);
  if ('code' in judged) return judged;
  const assurance = webAuthnAssurance({
    backupEligible: registered.backupEligible,
    backedUp: registered.backedUp,
    userVerified: registered.userVerified,
    attestationVerified: registered.attestation.verified,
    aaguidAllowed: judged.aaguidAllowed,
    modelCompromised: compromised,
  });
  return newWebAuthnFactor(deps, {
    attempt,
    challenge,
    registered,
    assurance,
    aaguidAllowed: judged.aaguidAllowed,
  });
}

/**
 * Finishes a registration: verifies the authenticator's response against the challenge this
 * session was given, judges its attestation and model against the account's rules, and stores
 * an enabled factor with its credential. Any failure uses up the challenge.
 */
export async function registerWebAuthnFactor(
  deps: AppDeps,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    challengeId: string;
    response: RegistrationResponseJSON;
    userRef?: string;
  },
): Promise<{ factor: Factor; credential: WebAuthnCredential }> {
  const { target, adminProvisioned } = await registrant(deps, { ...input, self: ACTIONS.EnableMFADevice });
  const account = await requireAccount(deps, target.accountId);
  const attempt: Attempt = {
    actor: input.actor,
    ctx: input.ctx,
    target,
    adminProvisioned,
    now: deps.clock.now(),
  };
  const challenge = await liveChallenge(deps, attempt, input.challengeId);
  // G3 first (decided for good in the registering transaction), so that a refused admission
  // costs the principal's G4 allowance nothing.
  if (challenge !== null && !adminProvisioned) {
    try {
      await deps.store.transaction((tx) =>
        admitEnrolment(deps, tx, {
          actor: input.actor,
          ctx: input.ctx,
          admittedByGrant: admittedByGrant(challenge),
        }),
      );
    } catch (err) {
      return refuseEnrolment(deps, attempt, challenge, err);
    }
  }
  // G4: only an attempt on a live challenge of this session counts against the principal (an
  // unknown or cancelled challenge costs the source only), so holding the password is not
  // enough to use up the real user's allowance.
  const counted = await countEnrolmentAttempt(deps, input.actor, input.ctx, 'factor.enable', {
    againstPrincipal: challenge !== null,
  });
  if (challenge === null) {
    return refuseRegistration(deps, attempt, null, {
      code: 'WEBAUTHN_REGISTRATION_FAILED',
      reason: 'challenge_invalid',
    });
  }
  const verified = await verifyRegistrationResponse(deps, {
    attempt,
    account,
    challenge,
    response: input.response,
  });
  if ('code' in verified) return refuseRegistration(deps, attempt, challenge, verified);
  const result = await deps.store
    .transaction((tx) => storeRegistration(deps, tx, { attempt, challenge, ...verified, counted }))
    .catch((err: unknown) => refuseEnrolment(deps, attempt, challenge, err));
  const failed = (reason: string) =>
    refuseRegistration(deps, attempt, challenge, { code: 'WEBAUTHN_REGISTRATION_FAILED', reason });
  if (result === 'challenge_used') return failed('challenge_used');
  if (result === 'credential_exists') {
    await failed('credential_exists').catch(() => undefined);
    throw new HoldfastError('WEBAUTHN_CREDENTIAL_EXISTS');
  }
  return verified;
}
