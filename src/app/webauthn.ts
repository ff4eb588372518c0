/**
 * WebAuthn factors (W3C Web Authentication Level 2): passkeys and security keys as second
 * factors, passwordless passkey sign-in, step-up, admin-provisioned keys, attestation against an
 * imported FIDO metadata catalog.
 *
 * A WebAuthn factor is a row in `factors` (kind `webauthn`), so the factor limit, names, listing,
 * removal with step-up (G1) and the lock-out insights apply unchanged; its credential sits beside
 * it. Every assertion goes through `secondFactorStep` (mfa.ts): one place throttles, suspends,
 * counts failures and audits, whatever the factor.
 *
 * Challenges are kept server-side, bound to the session or sign-in flow that asked, valid five
 * minutes and usable once (WebAuthn §13.4.3): the attempt's transaction uses one up whether the
 * assertion verified or not.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { HoldfastError } from '../core/errors.js';
import type { Factor, OTPParams } from '../core/factors/factor.js';
import { checkAAGUID, createAAGUIDPolicy } from '../core/factors/webauthn/aaguid-policy.js';
import { webAuthnAssurance, type WebAuthnAssuranceLevel } from '../core/factors/webauthn/assurance.js';
import {
  modelStatus,
  parseMDSBlob,
  trustAnchorsFor,
  type MDSCatalog,
  type MDSEntry,
} from '../core/factors/webauthn/mds.js';
import type {
  Repositories,
  WebAuthnChallenge,
  WebAuthnChallengePurpose,
  WebAuthnCredential,
} from '../core/ports.js';
import type { Account, Principal } from '../core/principals/types.js';
import type { Session, SessionChannel } from '../core/sessions/session.js';
import { SOURCE_THROTTLE } from '../core/throttle.js';
import type { RelyingParty, WebAuthnAuthenticatorKind } from '../core/factors/webauthn/ceremonies.js';
import { ACTIONS } from './actions.js';
import { createSession, type IssuedSession } from './auth.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import {
  DEFAULT_WEBAUTHN_SETTINGS,
  newId,
  notifyPrincipal,
  writeAudit,
  type AppDeps,
  type WebAuthnSettings,
} from './deps.js';
import { factorSecretContext } from './factor-secrets.js';
import {
  admitEnrolment,
  auditRefusal,
  countEnrolmentAttempt,
  ENROLMENT_REFUSALS,
  onFirstFactorEnabled,
  parseFactorName,
} from './factors.js';
import {
  completeSignInWithSecondFactor,
  prepareSecondFactor,
  secondFactorStep,
  stepUp,
  type PresentedProof,
  type SecondFactorSignInResult,
  waitingSignIn,
} from './mfa.js';
import { runCommand } from './kernel.js';
import { findAccount, requireUser } from './users.js';

/** How long a ceremony challenge lives (the options' timeout is the same). */
export const WEBAUTHN_CHALLENGE_TTL_MS = 5 * 60_000;
/** Challenge length in bytes (WebAuthn §13.4.3 asks for at least 16). */
const CHALLENGE_BYTES = 32;
/** User handles are random, carry no personal data (§14.6.1), at most 64 bytes. */
const USER_HANDLE_BYTES = 32;
/** Longest credential id accepted in a request, base64url of 1023 bytes (Level 3 §7.1 step 24). */
const MAX_CREDENTIAL_ID_LENGTH = 1364;

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

/** Options for the browser plus the id of the server-side challenge to send back. */
export interface WebAuthnCeremony<T> {
  challengeId: string;
  expiresAt: number;
  options: T;
}

/** The Relying Party of this installation. */
function relyingParty(deps: AppDeps): RelyingParty {
  const rp: WebAuthnSettings = deps.settings.webauthn ?? DEFAULT_WEBAUTHN_SETTINGS;
  return { id: rp.rpId, name: rp.rpName, origins: rp.origins };
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

async function insertChallenge(
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
function challengeUsable(
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

// ---------------------------------------------------------------------------------------------
// FIDO metadata (MDS3) of an account
// ---------------------------------------------------------------------------------------------

interface StoredEntry {
  aaguid: string;
  description: string;
  roots: string[];
  attestationTypes: string[];
  statusReports: MDSEntry['statusReports'];
}

const catalogCache = new Map<string, { key: string; catalog: MDSCatalog }>();

/** The account's imported metadata catalog, or null when none was imported. */
async function accountCatalog(deps: AppDeps, accountId: string): Promise<MDSCatalog | null> {
  const record = await deps.store.webauthn.getMetadata(accountId);
  if (record === null) return null;
  const key = `${record.serialNumber}:${record.importedAt}`;
  const hit = catalogCache.get(accountId);
  if (hit !== undefined && hit.key === key) return hit.catalog;
  const entries = new Map<string, MDSEntry>();
  for (const e of JSON.parse(record.entries) as StoredEntry[]) {
    entries.set(e.aaguid, {
      aaguid: e.aaguid,
      description: e.description,
      attestationRootCertificates: e.roots.map((r) => new Uint8Array(Buffer.from(r, 'base64'))),
      attestationTypes: e.attestationTypes,
      statusReports: e.statusReports,
    });
  }
  const catalog: MDSCatalog = {
    serialNumber: record.serialNumber,
    nextUpdate: record.nextUpdate,
    entries,
    skippedEntries: 0,
  };
  catalogCache.set(accountId, { key, catalog });
  return catalog;
}

/** Result of a metadata import. */
export interface MetadataImport {
  serialNumber: number;
  nextUpdate: string;
  entries: number;
}

/**
 * Imports a FIDO MDS3 BLOB for an account (no network: the admin downloads it). The signature
 * must chain to one of `roots` (for the public service, the root its documentation names) and
 * the serial number must be greater than the imported one's, so an old BLOB cannot undo a
 * newer status report.
 */
export async function importWebAuthnMetadata(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; blob: string; roots: string[] },
): Promise<MetadataImport> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.ImportWebAuthnMetadata,
    { accountId: input.accountId },
    input.ctx,
  );
  const refuse = async (reason: string) => {
    await deps.store.transaction((tx) =>
      writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: input.accountId,
          action: 'webauthn.metadata_import',
          target: input.accountId,
          outcome: 'failure',
          errorCode: 'WEBAUTHN_METADATA_INVALID',
          details: { reason, security: true },
        },
      }),
    );
    return new HoldfastError('WEBAUTHN_METADATA_INVALID', undefined, { details: { reason } });
  };
  const parsed = parseMDSBlob(input.blob);
  if (!parsed.ok) throw await refuse(parsed.reason);
  const { verifyMDSBlobSignature } = await deps.webauthn();
  const signature = verifyMDSBlobSignature({
    jws: parsed.jws,
    roots: input.roots,
    now: new Date(deps.clock.now()),
  });
  if (!signature.ok) throw await refuse(signature.reason);
  const previous = await deps.store.webauthn.getMetadata(input.accountId);
  if (previous !== null && previous.serialNumber >= parsed.catalog.serialNumber) {
    throw await refuse('not_newer');
  }
  const entries: StoredEntry[] = [...parsed.catalog.entries.values()].map((e) => ({
    aaguid: e.aaguid,
    description: e.description,
    roots: e.attestationRootCertificates.map((r) => Buffer.from(r).toString('base64')),
    attestationTypes: e.attestationTypes,
    statusReports: e.statusReports,
  }));
  await deps.store.transaction(async (tx) => {
    await tx.webauthn.putMetadata({
      accountId: input.accountId,
      serialNumber: parsed.catalog.serialNumber,
      nextUpdate: parsed.catalog.nextUpdate,
      entries: JSON.stringify(entries),
      importedAt: deps.clock.now(),
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.accountId,
        action: 'webauthn.metadata_import',
        target: input.accountId,
        details: { serialNumber: parsed.catalog.serialNumber, entries: entries.length },
      },
    });
  });
  return {
    serialNumber: parsed.catalog.serialNumber,
    nextUpdate: parsed.catalog.nextUpdate,
    entries: entries.length,
  };
}

/**
 * Sets an account's WebAuthn registration rules: the attestation asked for and the allow-list of
 * authenticator models (null removes it). Allow-listed models must present verified attestation.
 */
export async function setWebAuthnSettings(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    attestation?: 'none' | 'direct';
    allowedAAGUIDs?: string[] | null;
  },
): Promise<Account['settings']> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.UpdateAccountSettings,
    { accountId: input.accountId },
    input.ctx,
  );
  const account = await deps.store.accounts.findById(input.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  if (input.attestation !== undefined && input.attestation !== 'none' && input.attestation !== 'direct') {
    throw new HoldfastError('WEBAUTHN_SETTINGS_INVALID');
  }
  const settings = { ...account.settings };
  if (input.attestation !== undefined) settings.webauthnAttestation = input.attestation;
  if (input.allowedAAGUIDs === null) delete settings.webauthnAllowedAAGUIDs;
  else if (input.allowedAAGUIDs !== undefined) {
    const policy = createAAGUIDPolicy({ aaguids: input.allowedAAGUIDs });
    if (!policy.ok) throw new HoldfastError('WEBAUTHN_SETTINGS_INVALID');
    settings.webauthnAllowedAAGUIDs = [...policy.policy.allowList!];
    // An allow-list is only worth something with attestation to prove the model.
    settings.webauthnAttestation = 'direct';
  }
  await deps.store.transaction(async (tx) => {
    await tx.accounts.updateSettings(account.id, settings);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: account.id,
        action: 'account.webauthn_settings',
        target: account.id,
        details: {
          attestation: settings.webauthnAttestation ?? 'none',
          allowedAAGUIDs: settings.webauthnAllowedAAGUIDs?.join(',') ?? null,
        },
      },
    });
  });
  return settings;
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

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
type SelfAction = typeof ACTIONS.CreateVirtualMFADevice | typeof ACTIONS.EnableMFADevice;

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
  const account = await deps.store.accounts.findById(target.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  await countEnrolmentAttempt(deps, input.actor, input.ctx, 'factor.create');
  const credentials = await deps.store.webauthn.listCredentials(target.accountId, target.id);
  const handle =
    credentials[0] !== undefined
      ? new Uint8Array(Buffer.from(credentials[0].userHandle, 'base64url'))
      : deps.random.bytes(USER_HANDLE_BYTES);
  const attestation = account.settings.webauthnAttestation ?? 'none';
  const rp = relyingParty(deps);
  const { registrationOptions } = await deps.webauthn();
  const built = await registrationOptions({
    rp,
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
      const existing = await tx.factors.listByPrincipal(target.accountId, target.id);
      const { grantId } = adminProvisioned
        ? { grantId: null }
        : await admitEnrolment(deps, tx, {
            actor: input.actor,
            ctx: input.ctx,
            grantToken: input.enrolmentGrant,
          });
      if (existing.length >= deps.settings.mfa.maxFactors) throw new HoldfastError('FACTOR_LIMIT_REACHED');
      if (existing.some((f) => f.name === name)) throw new HoldfastError('FACTOR_NAME_TAKEN');
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
    .catch(async (err: unknown) => {
      if (err instanceof HoldfastError && ENROLMENT_REFUSALS.has(err.code)) {
        await auditRefusal(deps, {
          actor: input.actor,
          ctx: input.ctx,
          action: 'factor.create',
          target: target.id,
          error: err,
        });
      }
      throw err;
    });
  return { challengeId: challenge.id, expiresAt: challenge.expiresAt, options: built.options };
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
  const account = await deps.store.accounts.findById(target.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  const now = deps.clock.now();
  const stored = await deps.store.webauthn.findChallenge(input.challengeId);
  const challenge =
    challengeUsable(stored, { purpose: 'register', now }) &&
    stored.sessionId === input.actor.session.id &&
    stored.principalId === target.id &&
    stored.data.adminProvisioned === adminProvisioned
      ? stored
      : null;
  /** An admission refusal (G3/G4) uses up the challenge and is audited; any error is rethrown. */
  const refuseEnrolment = async (err: unknown, challengeId: string): Promise<never> => {
    if (err instanceof HoldfastError && ENROLMENT_REFUSALS.has(err.code)) {
      await deps.store.transaction((tx) => tx.webauthn.consumeChallenge({ id: challengeId, now }));
      await auditRefusal(deps, {
        actor: input.actor,
        ctx: input.ctx,
        action: 'factor.enable',
        target: target.id,
        error: err,
      });
    }
    throw err;
  };
  // G3 first (decided for good in the registering transaction below), so that a refused
  // admission costs the principal's G4 allowance nothing.
  if (challenge !== null && !adminProvisioned) {
    const admittedByGrant =
      typeof challenge.data.enrolmentGrantId === 'string' ? challenge.data.enrolmentGrantId : null;
    try {
      await deps.store.transaction((tx) =>
        admitEnrolment(deps, tx, { actor: input.actor, ctx: input.ctx, admittedByGrant }),
      );
    } catch (err) {
      return refuseEnrolment(err, challenge.id);
    }
  }
  // G4: only an attempt on a live challenge of this session counts against the principal (an
  // unknown or cancelled challenge costs the source only), so holding the password is not
  // enough to use up the real user's allowance.
  const counted = await countEnrolmentAttempt(deps, input.actor, input.ctx, 'factor.enable', {
    againstPrincipal: challenge !== null,
  });

  /** Refuses: uses up the challenge, audits the precise reason, answers one code. */
  const refuse = async (
    code: 'WEBAUTHN_REGISTRATION_FAILED' | 'WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED',
    reason: string,
    extra: Record<string, string | boolean> = {},
  ): Promise<never> => {
    await deps.store.transaction(async (tx) => {
      if (challenge !== null) await tx.webauthn.consumeChallenge({ id: challenge.id, now });
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: target.accountId,
          action: 'factor.enable',
          target: target.id,
          outcome: 'failure',
          errorCode: code,
          details: { kind: 'webauthn', reason, security: true, ...extra },
        },
      });
    });
    throw new HoldfastError(code);
  };
  if (challenge === null) return refuse('WEBAUTHN_REGISTRATION_FAILED', 'challenge_invalid');

  const kind = challenge.data.kind as WebAuthnAuthenticatorKind;
  const allowList = account.settings.webauthnAllowedAAGUIDs;
  const catalog = await accountCatalog(deps, target.accountId);
  const { verifyRegistration } = await deps.webauthn();
  const outcome = await verifyRegistration({
    response: input.response,
    expectedChallenge: challenge.challenge,
    rp: relyingParty(deps),
    // A passkey signs in on its own, so its authenticator must verify the user (NIST SP 800-63B §5.1.9).
    requireUserVerification: kind === 'passkey',
    trustAnchors: (aaguid) => (catalog === null ? [] : trustAnchorsFor(catalog, aaguid)),
    now: new Date(now),
  });
  if (!outcome.ok) return refuse('WEBAUTHN_REGISTRATION_FAILED', outcome.reason);
  const registered = outcome.credential;

  const status = catalog === null ? null : modelStatus(catalog, registered.aaguid);
  const compromised = status !== null && status.known && status.compromised;
  let aaguidAllowed = false;
  if (allowList !== undefined) {
    const policy = createAAGUIDPolicy({ aaguids: allowList });
    const check = policy.ok
      ? checkAAGUID(policy.policy, {
          aaguid: registered.aaguid,
          attestationVerified: registered.attestation.verified,
        })
      : ({ allowed: false, reason: 'malformed' } as const);
    if (!check.allowed) {
      return refuse('WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED', check.reason, { aaguid: registered.aaguid });
    }
    if (compromised) {
      return refuse('WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED', 'model_compromised', { aaguid: registered.aaguid });
    }
    aaguidAllowed = check.listed;
  }
  const assurance: WebAuthnAssuranceLevel = webAuthnAssurance({
    backupEligible: registered.backupEligible,
    backedUp: registered.backedUp,
    userVerified: registered.userVerified,
    attestationVerified: registered.attestation.verified,
    aaguidAllowed,
    modelCompromised: compromised,
  });

  const factorId = newId(deps, 'mfa_');
  const name = String(challenge.data.name);
  const factor: Factor = {
    id: factorId,
    accountId: target.accountId,
    principalId: target.id,
    kind: 'webauthn',
    name,
    status: 'enabled',
    assurance,
    adminProvisioned,
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
    aaguidAllowed,
    discoverable: kind === 'passkey',
    userHandle: String(challenge.data.userHandle),
    createdAt: now,
    lastUsedAt: null,
  };
  const result = await deps.store
    .transaction(async (tx) => {
      // One enabling decision per principal at a time (a row lock on PostgreSQL).
      await tx.mfaState.lock({ principalId: target.id, accountId: target.accountId, now });
      if (!(await tx.webauthn.consumeChallenge({ id: challenge.id, now }))) return 'challenge_used' as const;
      if (!adminProvisioned) {
        // G3 again, in the transaction that registers: the options may predate the user's own
        // first factor. A refusal rolls back (the challenge stays unused) and is audited below.
        const { grantId } = await admitEnrolment(deps, tx, {
          actor: input.actor,
          ctx: input.ctx,
          admittedByGrant:
            typeof challenge.data.enrolmentGrantId === 'string' ? challenge.data.enrolmentGrantId : null,
        });
        // Remembered on the factor, as for an authenticator app enrolled with a grant.
        factor.enrolmentGrantId = grantId;
      }
      if ((await tx.webauthn.findCredential(target.accountId, credential.credentialId)) !== null) {
        return 'credential_exists' as const;
      }
      const existing = await tx.factors.listByPrincipal(target.accountId, target.id);
      if (existing.length >= deps.settings.mfa.maxFactors) throw new HoldfastError('FACTOR_LIMIT_REACHED');
      if (existing.some((f) => f.name === name)) throw new HoldfastError('FACTOR_NAME_TAKEN');
      await tx.factors.insert(factor);
      await tx.webauthn.insertCredential(credential);
      await tx.enrolment.markEnrolled({ principalId: target.id, accountId: target.accountId, now });
      for (const key of counted) await tx.throttle.release(key);
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: target.accountId,
          action: 'factor.enable',
          target: factorId,
          details: {
            kind: 'webauthn',
            name,
            authenticator: kind,
            aaguid: credential.aaguid,
            attestationFormat: credential.attestationFormat,
            attestationVerified: credential.attestationVerified,
            backupEligible: credential.backupEligible,
            assurance,
            adminProvisioned,
          },
        },
      });
      await notifyPrincipal(deps, tx, {
        accountId: target.accountId,
        principalId: target.id,
        template: 'factor.added',
        payload: { factorName: name, kind: 'webauthn', byAdmin: adminProvisioned },
      });
      await onFirstFactorEnabled(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        target,
        factorId,
        hadEnabledFactor: existing.some((f) => f.status === 'enabled'),
      });
      return 'ok' as const;
    })
    .catch((err: unknown) => refuseEnrolment(err, challenge.id));
  if (result === 'challenge_used') return refuse('WEBAUTHN_REGISTRATION_FAILED', 'challenge_used');
  if (result === 'credential_exists') {
    await refuse('WEBAUTHN_REGISTRATION_FAILED', 'credential_exists').catch(() => undefined);
    throw new HoldfastError('WEBAUTHN_CREDENTIAL_EXISTS');
  }
  return { factor, credential };
}

// ---------------------------------------------------------------------------------------------
// Assertions: sign-in second factor, step-up, passwordless
// ---------------------------------------------------------------------------------------------

/** The principal's enabled WebAuthn factors with their credentials. */
async function enabledCredentials(deps: AppDeps, principal: Principal): Promise<WebAuthnCredential[]> {
  const [factors, credentials] = await Promise.all([
    deps.store.factors.listByPrincipal(principal.accountId, principal.id),
    deps.store.webauthn.listCredentials(principal.accountId, principal.id),
  ]);
  const enabled = new Set(factors.filter((f) => f.status === 'enabled').map((f) => f.id));
  return credentials.filter((c) => enabled.has(c.factorId));
}

async function requestOptions(
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

/**
 * Checks one assertion for `principal` against the challenge it answers, before the attempt's
 * transaction; the returned proof settles (uses up the challenge, stores the counter) inside it.
 */
async function presentAssertion(
  deps: AppDeps,
  input: {
    principal: Principal;
    challengeId: string;
    response: AuthenticationResponseJSON;
    purpose: WebAuthnChallengePurpose;
    /** What the challenge must be bound to. */
    flowId?: string;
    sessionId?: string;
    ctx: RequestContext;
  },
): Promise<PresentedProof> {
  const { principal } = input;
  const now = deps.clock.now();
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
  const factor = found !== null && found.status === 'enabled' ? found : null;

  let reason = 'ok';
  const { verifyAuthentication } = await deps.webauthn();
  let outcome: ReturnType<typeof verifyAuthentication> | null = null;
  if (challenge === null) reason = 'challenge_invalid';
  else if (owned === null || factor === null) reason = 'unknown_credential';
  else {
    outcome = verifyAuthentication({
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
    if (!outcome.ok) reason = outcome.reason;
  }
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
        // W3C WebAuthn §6.1.1: a counter that did not advance means two copies of the key may exist.
        await writeAudit(deps, tx, {
          actor: null,
          ctx: input.ctx,
          fact: {
            accountId: principal.accountId,
            action: 'webauthn.clone_suspected',
            target: owned.factorId,
            outcome: 'failure',
            errorCode: 'MFA_FAILED',
            details: {
              security: true,
              principalId: principal.id,
              storedCounter: outcome.storedCounter,
              receivedCounter: outcome.receivedCounter,
            },
          },
        });
        await notifyPrincipal(deps, tx, {
          accountId: principal.accountId,
          principalId: principal.id,
          template: 'webauthn.clone_suspected',
          payload: { factorName: factor?.name ?? null },
        });
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
  const now = deps.clock.now();
  const challenge = await deps.store.webauthn.findChallenge(input.challengeId);
  const responseId = typeof input.response?.id === 'string' ? input.response.id : '';
  const credential =
    challengeUsable(challenge, { purpose: 'passkey', now }) &&
    challenge.accountId !== null &&
    responseId.length > 0 &&
    responseId.length <= MAX_CREDENTIAL_ID_LENGTH
      ? await deps.store.webauthn.findCredential(challenge.accountId, responseId)
      : null;
  const principal =
    credential === null
      ? null
      : await deps.store.principals.findById(credential.accountId, credential.principalId);
  if (principal === null || principal.status !== 'active') {
    // Unknown challenge, account or credential: slowed per source like wrong passwords; the
    // refusal and its count commit, then the command fails.
    return runCommand<never>(deps, null, input.ctx, null, async (uow) => {
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
          target: principal?.id ?? null,
          outcome: 'failure',
          errorCode: 'AUTH_INVALID_CREDENTIALS',
          details: { reason: credential === null ? 'unknown_credential' : 'principal_inactive' },
        },
      });
      return uow.failAfterCommit(new HoldfastError('AUTH_INVALID_CREDENTIALS'));
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
