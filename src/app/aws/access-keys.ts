/**
 * Long-term access keys of users and the credential check behind every SigV4-signed request
 * (long-term keys and STS temporary credentials). The rules follow AWS IAM and STS
 * (shared/reference/aws-iam-sts.md §1.4, §2.5); where Holdfast is stricter, the guardrails say
 * why (docs/aws-api.md).
 */

import {
  MAX_ACCESS_KEYS_PER_USER,
  type AccessKey,
  type AccessKeyStatus,
  type AwsRole,
  type TemporaryCredential,
} from '../../core/access-keys/credentials.js';
import { newAccessKeyId, newSecretAccessKey } from '../../core/access-keys/access-key.js';
import { sha256Hex, timingSafeEqual } from '../../core/crypto/hashing.js';
import { HoldfastError } from '../../core/errors.js';
import type { Principal } from '../../core/principals/types.js';
import type { Session, SessionFactor } from '../../core/sessions/session.js';
import { ACTIONS } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { writeAudit, type AppDeps } from '../deps.js';
import { revokeDerived } from '../derived-credentials.js';
import { createUser, requireUser } from '../users.js';

/** Sealing context of a long-term secret access key. */
export function accessKeySecretContext(id: string): string {
  return `accesskey:${id}`;
}

/** Sealing context of a temporary secret access key. */
export function temporaryKeySecretContext(id: string): string {
  return `tempkey:${id}`;
}

/** A request's signer, as the AWS face authorizes it. */
export interface AwsCaller {
  /** The actor use cases see: long-term keys act without MFA facts (AWS semantics). */
  actor: Actor & { kind: 'principal' };
  accessKeyId: string;
  kind: 'long-term' | 'temporary';
  /** The IAM user behind the credential (for a role session, the user who assumed it). */
  user: Principal;
  /** For temporary credentials: the stored credential. */
  temporary: TemporaryCredential | null;
  /** For role sessions: the role. */
  role: AwsRole | null;
}

/** The outcome of looking up an access key for SigV4. */
export type CredentialLookup =
  | { status: 'ok'; secretAccessKey: string; caller: AwsCaller }
  | { status: 'invalid'; accountId: string | null }
  | { status: 'expired'; accountId: string };

/** A session object standing for a credential (it is never stored in the sessions table). */
function credentialSession(input: {
  id: string;
  principal: Principal;
  createdAt: number;
  expiresAt: number;
  factor: SessionFactor | null;
  now: number;
}): Session {
  return {
    id: input.id,
    accountId: input.principal.accountId,
    principalId: input.principal.id,
    channel: 'bearer',
    createdAt: input.createdAt,
    lastSeenAt: input.now,
    expiresAt: input.expiresAt,
    revokedAt: null,
    revokedReason: null,
    auth: {
      methods: input.factor === null ? ['key'] : ['key', 'otp'],
      factor: input.factor,
    },
    sourceIp: null,
    userAgent: null,
  };
}

/**
 * Who stands behind a role session of an external OpenID Connect provider (source
 * `web-identity`): nobody of Holdfast's, so the role itself, with the least of the built-in
 * roles and no password; `rolePrincipal` then names the session.
 */
function federatedPrincipal(role: AwsRole): Principal {
  return {
    id: role.id,
    accountId: role.accountId,
    username: role.name,
    email: '',
    role: 'user',
    status: 'active',
    passwordHash: null,
    passwordChangedAt: null,
    createdAt: role.createdAt,
    updatedAt: role.createdAt,
  };
}

/** The acting principal of a role session: the role's id and no IAM user name of its own. */
function rolePrincipal(role: AwsRole, user: Principal, sessionName: string): Principal {
  return {
    ...user,
    id: role.id,
    // Never a user name (user names cannot hold '/'), so `${aws:username}` policies never match.
    username: `${role.name}/${sessionName}`,
    role: 'user',
  };
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** How often a key's last use is written (at most once a minute per key). */
const LAST_USED_GRANULARITY_MS = 60_000;

/**
 * Looks up the secret of an access key for SigV4 verification, in the database on every request
 * (a key created a moment ago by another process works at once). Temporary credentials need their
 * session token, compared as SHA-256 in constant time; revoked, disabled or unknown all answer
 * `invalid`; a temporary credential past its expiry answers `expired`.
 */
/** The caller of a long-term key: its user, acting without MFA facts (AWS semantics). */
function longTermCaller(key: AccessKey, user: Principal, now: number): AwsCaller {
  return {
    actor: {
      kind: 'principal',
      principal: user,
      session: credentialSession({
        id: key.id,
        principal: user,
        createdAt: key.createdAt,
        expiresAt: Number.MAX_SAFE_INTEGER,
        factor: null,
        now,
      }),
      credential: 'long-term-key',
    },
    accessKeyId: key.id,
    kind: 'long-term',
    user,
    temporary: null,
    role: null,
  };
}

/** The caller of temporary credentials: its user, or its role session, with the MFA facts carried. */
function temporaryCaller(input: {
  cred: TemporaryCredential;
  user: Principal;
  role: AwsRole | null;
  now: number;
}): AwsCaller {
  const { cred, user, role } = input;
  const principal = role === null ? user : rolePrincipal(role, user, cred.roleSessionName ?? '');
  const factor: SessionFactor | null =
    cred.mfa === null
      ? null
      : { factorId: cred.mfa.factorId, kind: cred.mfa.kind, assurance: cred.mfa.assurance, at: cred.mfa.at };
  return {
    actor: {
      kind: 'principal',
      principal,
      session: credentialSession({
        id: cred.id,
        principal,
        createdAt: cred.createdAt,
        expiresAt: cred.expiresAt,
        factor,
        now: input.now,
      }),
      credential: 'session',
      ...(cred.sessionPolicy === undefined || cred.sessionPolicy === null
        ? {}
        : { sessionPolicy: cred.sessionPolicy }),
      ...(role === null
        ? {}
        : { roleSession: { roleName: role.name, sessionName: cred.roleSessionName ?? '' } }),
    },
    accessKeyId: cred.id,
    kind: 'temporary',
    user,
    temporary: cred,
    role,
  };
}

async function resolveLongTermKey(
  deps: AppDeps,
  accessKeyId: string,
  service: string,
): Promise<CredentialLookup> {
  const now = deps.clock.now();
  const key = await deps.store.accessKeys.findById(accessKeyId);
  if (key === null) return { status: 'invalid', accountId: null };
  if (key.status !== 'Active') return { status: 'invalid', accountId: key.accountId };
  const user = await deps.store.principals.findById(key.accountId, key.principalId);
  if (user === null || user.status !== 'active') return { status: 'invalid', accountId: key.accountId };
  const secret = deps.secretBox.open(key.secretSealed, accessKeySecretContext(key.id));
  if (key.lastUsedAt === null || now - key.lastUsedAt >= LAST_USED_GRANULARITY_MS) {
    await deps.store.accessKeys.recordUse({ id: key.id, now, service });
  }
  return {
    status: 'ok',
    secretAccessKey: Buffer.from(secret).toString('utf8'),
    caller: longTermCaller(key, user, now),
  };
}

async function resolveTemporaryKey(
  deps: AppDeps,
  accessKeyId: string,
  securityToken: string | undefined,
): Promise<CredentialLookup> {
  const now = deps.clock.now();
  const cred = await deps.store.temporaryCredentials.findById(accessKeyId);
  if (cred === null) return { status: 'invalid', accountId: null };
  if (securityToken === undefined || !sameHash(sha256Hex(securityToken), cred.tokenHash)) {
    return { status: 'invalid', accountId: cred.accountId };
  }
  if (cred.revokedAt !== null) return { status: 'invalid', accountId: cred.accountId };
  if (cred.expiresAt <= now) return { status: 'expired', accountId: cred.accountId };
  let role: AwsRole | null = null;
  if (cred.roleId !== null) {
    // A deleted role ends its sessions at once.
    role = await deps.store.awsIdentities.findRoleById(cred.accountId, cred.roleId);
    if (role === null) return { status: 'invalid', accountId: cred.accountId };
  }
  const user =
    cred.source === 'web-identity'
      ? role === null
        ? null
        : federatedPrincipal(role)
      : await deps.store.principals.findById(cred.accountId, cred.principalId);
  if (user === null || user.status !== 'active') return { status: 'invalid', accountId: cred.accountId };
  const secret = deps.secretBox.open(cred.secretSealed, temporaryKeySecretContext(cred.id));
  return {
    status: 'ok',
    secretAccessKey: Buffer.from(secret).toString('utf8'),
    caller: temporaryCaller({ cred, user, role, now }),
  };
}

/**
 * Looks up the secret of an access key for SigV4 verification, in the database on every request
 * (a key created a moment ago by another process works at once). Temporary credentials need their
 * session token, compared as SHA-256 in constant time; revoked, disabled or unknown all answer
 * `invalid`; a temporary credential past its expiry answers `expired`.
 */
export async function resolveAccessKey(
  deps: AppDeps,
  input: { accessKeyId: string; securityToken: string | undefined; service: string },
): Promise<CredentialLookup> {
  if (input.accessKeyId.startsWith('AKIA')) return resolveLongTermKey(deps, input.accessKeyId, input.service);
  if (input.accessKeyId.startsWith('ASIA')) {
    return resolveTemporaryKey(deps, input.accessKeyId, input.securityToken);
  }
  return { status: 'invalid', accountId: null };
}

export function checkCredentialScope(
  caller: AwsCaller,
  input: { service: 'iam' | 'sts'; operation: string },
): void {
  if (caller.kind !== 'temporary') return;
  if (
    input.service === 'iam' &&
    caller.temporary?.source === 'session-token' &&
    caller.temporary.mfa === null
  ) {
    throw new HoldfastError(
      'AWS_SESSION_CREDENTIALS_REFUSED',
      'temporary credentials obtained without MFA cannot call IAM',
      { details: { reason: 'iam-without-mfa' } },
    );
  }
  if (input.service === 'sts' && input.operation === 'GetSessionToken') {
    throw new HoldfastError(
      'AWS_SESSION_CREDENTIALS_REFUSED',
      'Cannot call GetSessionToken with session credentials',
      {
        details: { reason: 'session-token-from-session' },
      },
    );
  }
}

// ---- Long-term access keys ----

/** An access key with the user it belongs to (never with its secret). */
export interface AccessKeyView {
  key: AccessKey;
  user: Principal;
}

async function keyTarget(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string },
  action: (typeof ACTIONS)[keyof typeof ACTIONS],
): Promise<Principal> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(deps, input.actor, action, { accountId: input.accountId, principal: user }, input.ctx);
  return user;
}

/**
 * Creates a long-term access key for a user (at most 2 per user, as AWS). The secret is returned
 * once, here, and stored sealed under the master key: SigV4 needs it back to check signatures.
 */
export async function createAccessKey(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; userRef: string },
): Promise<AccessKeyView & { secretAccessKey: string }> {
  const user = await keyTarget(deps, input, ACTIONS.CreateAccessKey);
  const id = newAccessKeyId(deps.random, 'long-term');
  const secretAccessKey = newSecretAccessKey(deps.random);
  const now = deps.clock.now();
  const key: AccessKey = {
    id,
    accountId: user.accountId,
    principalId: user.id,
    status: 'Active',
    secretSealed: deps.secretBox.seal(Buffer.from(secretAccessKey, 'utf8'), accessKeySecretContext(id)),
    createdAt: now,
    lastUsedAt: null,
    lastUsedService: null,
    deactivatedByGuardrail: false,
  };
  await deps.store.transaction(async (tx) => {
    const held = await tx.accessKeys.listByPrincipal(user.accountId, user.id);
    if (held.length >= MAX_ACCESS_KEYS_PER_USER) {
      throw new HoldfastError(
        'AWS_ACCESS_KEY_LIMIT_REACHED',
        `Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS_PER_USER}`,
      );
    }
    await tx.accessKeys.insert(key);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: user.accountId,
        action: 'access_key.create',
        target: user.id,
        details: { accessKeyId: id },
      },
    });
  });
  return { key, user, secretAccessKey };
}

/** Lists a user's access keys (metadata only). */
export async function listAccessKeys(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string },
): Promise<AccessKeyView[]> {
  const user = await keyTarget(deps, input, ACTIONS.ListAccessKeys);
  const keys = await deps.store.accessKeys.listByPrincipal(user.accountId, user.id);
  return keys.map((key) => ({ key, user }));
}

async function ownedKey(deps: AppDeps, user: Principal, accessKeyId: string): Promise<AccessKey> {
  const key = await deps.store.accessKeys.findById(accessKeyId);
  if (key === null || key.accountId !== user.accountId || key.principalId !== user.id) {
    throw new HoldfastError(
      'AWS_ACCESS_KEY_NOT_FOUND',
      `The Access Key with id ${accessKeyId} cannot be found.`,
    );
  }
  return key;
}

/** Activates or deactivates a user's access key. */
export async function updateAccessKey(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    userRef: string;
    accessKeyId: string;
    status: AccessKeyStatus;
  },
): Promise<void> {
  const user = await keyTarget(deps, input, ACTIONS.UpdateAccessKey);
  const key = await ownedKey(deps, user, input.accessKeyId);
  await deps.store.transaction(async (tx) => {
    await tx.accessKeys.setStatus({ id: key.id, status: input.status, byGuardrail: false });
    if (input.status === 'Inactive') {
      // The temporary credentials minted from the key (directly or by chaining) end with it.
      await revokeDerived(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        accountId: user.accountId,
        principalId: user.id,
        accessKeyId: key.id,
        reason: 'access_key_deactivated',
      });
    }
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: user.accountId,
        action: 'access_key.update',
        target: user.id,
        details: {
          accessKeyId: key.id,
          status: input.status,
          wasDeactivatedByGuardrail: key.deactivatedByGuardrail,
        },
      },
    });
  });
}

/** Deletes a user's access key. */
export async function deleteAccessKey(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; userRef: string; accessKeyId: string },
): Promise<void> {
  const user = await keyTarget(deps, input, ACTIONS.DeleteAccessKey);
  const key = await ownedKey(deps, user, input.accessKeyId);
  await deps.store.transaction(async (tx) => {
    await tx.accessKeys.delete(key.id);
    await revokeDerived(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      accountId: user.accountId,
      principalId: user.id,
      accessKeyId: key.id,
      reason: 'access_key_deleted',
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: user.accountId,
        action: 'access_key.delete',
        target: user.id,
        details: { accessKeyId: key.id },
      },
    });
  });
}

/**
 * For `holdfast bootstrap --admin NAME --access-key`: an administrator created by the host
 * operator with a long-term access key and no factor yet. It is inside its initial enrolment
 * window (G3), so its keys can enrol its first MFA device; everything that is identity
 * administration waits for an MFA session (G2).
 */
export async function createAdminWithAccessKey(
  deps: AppDeps,
  input: { ctx: RequestContext; accountId: string; username: string },
): Promise<AccessKeyView & { secretAccessKey: string }> {
  const actor: Actor = { kind: 'operator' };
  const { user } = await createUser(deps, {
    actor,
    ctx: input.ctx,
    accountId: input.accountId,
    username: input.username,
    role: 'admin',
  });
  return createAccessKey(deps, { actor, ctx: input.ctx, accountId: input.accountId, userRef: user.id });
}
