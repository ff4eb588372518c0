/**
 * Machine credentials: long-term access keys of users, the credential check behind every
 * SigV4-signed request, temporary credentials (STS GetSessionToken, AssumeRole), roles, and the
 * IAM user operations that only the AWS face has (DeleteUser, CreateLoginProfile). The rules
 * follow AWS IAM and STS (shared/reference/aws-iam-sts.md §1.4, §2, §2.5); where Holdfast is
 * stricter, the guardrails say why (docs/aws-api.md).
 */

import {
  MAX_ACCESS_KEYS_PER_USER,
  type AccessKey,
  type AccessKeyStatus,
  type AwsRole,
  type CredentialMfa,
  type TemporaryCredential,
} from '../core/access-keys/credentials.js';
import { newAccessKeyId, newSecretAccessKey } from '../core/access-keys/access-key.js';
import { HoldfastError } from '../core/errors.js';
import { buildRequestContext, type CredentialKind } from '../core/policy/context.js';
import { evaluate } from '../core/policy/evaluate.js';
import { parsePolicy, type CompiledPolicy } from '../core/policy/parse-policy.js';
import { ASSURANCE_LEVELS, type AssuranceLevel } from '../core/factors/factor.js';
import { accountArn, userArn } from '../core/policy/arn.js';
import type { Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import { randomString } from '../core/random.js';
import type { Session, SessionFactor } from '../core/sessions/session.js';
import { sha256Hex, timingSafeEqual } from '../core/crypto/hashing.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { writeAudit, type AppDeps } from './deps.js';
import { revokeDerived } from './derived-credentials.js';
import { codeFactorForSerial } from './aws-mfa-devices.js';
import { runCommand } from './kernel.js';
import { prepareSecondFactor, secondFactorStep } from './mfa.js';
import { checkNewPassword, createUser, keepAnOwnerWhoCanSignIn, requireUser } from './users.js';

/** Sealing context of a long-term secret access key. */
export function accessKeySecretContext(id: string): string {
  return `accesskey:${id}`;
}

/** Sealing context of a temporary secret access key. */
export function temporaryKeySecretContext(id: string): string {
  return `tempkey:${id}`;
}

/** GetSessionToken durations for IAM users (STS model and docs: 900–129600 s, default 12 h). */
export const SESSION_TOKEN_DURATION = { min: 900, max: 129_600, default: 43_200 } as const;
/** AssumeRole durations: 900 s up to the role's maximum; 1 h when chained from temporary credentials. */
export const ASSUME_ROLE_DURATION = { min: 900, default: 3600, chainedMax: 3600 } as const;
/** A role's MaxSessionDuration range (IAM CreateRole model: 3600–43200, default 3600). */
export const ROLE_MAX_SESSION = { min: 3600, max: 43_200, default: 3600 } as const;

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
export async function resolveAccessKey(
  deps: AppDeps,
  input: { accessKeyId: string; securityToken: string | undefined; service: string },
): Promise<CredentialLookup> {
  const now = deps.clock.now();
  if (input.accessKeyId.startsWith('AKIA')) {
    const key = await deps.store.accessKeys.findById(input.accessKeyId);
    if (key === null) return { status: 'invalid', accountId: null };
    if (key.status !== 'Active') return { status: 'invalid', accountId: key.accountId };
    const user = await deps.store.principals.findById(key.accountId, key.principalId);
    if (user === null || user.status !== 'active') return { status: 'invalid', accountId: key.accountId };
    const secret = deps.secretBox.open(key.secretSealed, accessKeySecretContext(key.id));
    if (key.lastUsedAt === null || now - key.lastUsedAt >= LAST_USED_GRANULARITY_MS) {
      await deps.store.accessKeys.recordUse({ id: key.id, now, service: input.service });
    }
    return {
      status: 'ok',
      secretAccessKey: Buffer.from(secret).toString('utf8'),
      caller: {
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
      },
    };
  }
  if (!input.accessKeyId.startsWith('ASIA')) return { status: 'invalid', accountId: null };
  const cred = await deps.store.temporaryCredentials.findById(input.accessKeyId);
  if (cred === null) return { status: 'invalid', accountId: null };
  if (input.securityToken === undefined || !sameHash(sha256Hex(input.securityToken), cred.tokenHash)) {
    return { status: 'invalid', accountId: cred.accountId };
  }
  if (cred.revokedAt !== null) return { status: 'invalid', accountId: cred.accountId };
  if (cred.expiresAt <= now) return { status: 'expired', accountId: cred.accountId };
  const user = await deps.store.principals.findById(cred.accountId, cred.principalId);
  if (user === null || user.status !== 'active') return { status: 'invalid', accountId: cred.accountId };
  let role: AwsRole | null = null;
  if (cred.roleId !== null) {
    role = await deps.store.awsIdentities.findRoleById(cred.accountId, cred.roleId);
    if (role === null) return { status: 'invalid', accountId: cred.accountId };
  }
  const principal = role === null ? user : rolePrincipal(role, user, cred.roleSessionName ?? '');
  const factor: SessionFactor | null =
    cred.mfa === null
      ? null
      : { factorId: cred.mfa.factorId, kind: cred.mfa.kind, assurance: cred.mfa.assurance, at: cred.mfa.at };
  const secret = deps.secretBox.open(cred.secretSealed, temporaryKeySecretContext(cred.id));
  return {
    status: 'ok',
    secretAccessKey: Buffer.from(secret).toString('utf8'),
    caller: {
      actor: {
        kind: 'principal',
        principal,
        session: credentialSession({
          id: cred.id,
          principal,
          createdAt: cred.createdAt,
          expiresAt: cred.expiresAt,
          factor,
          now,
        }),
        credential: 'session',
      },
      accessKeyId: cred.id,
      kind: 'temporary',
      user,
      temporary: cred,
      role,
    },
  };
}

/**
 * Which services a credential may call at all (AWS STS "Comparing the AWS STS API operations";
 * reference §2.5): temporary credentials from GetSessionToken WITHOUT MFA cannot call IAM, and no
 * temporary credential calls GetSessionToken. Everything else is up to the policies.
 */
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

// ---- Users: what only the IAM face does ----

/**
 * Deletes a user that holds nothing any more: like IAM, it fails while access keys, MFA devices
 * (enabled or pending), inline or attached policies, or group memberships remain. The last owner
 * is never deleted.
 */
export async function deleteUser(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; userRef: string },
): Promise<void> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.DeleteUser,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  await deps.store.transaction(async (tx) => {
    const conflict = async (): Promise<string | null> => {
      if ((await tx.accessKeys.listByPrincipal(user.accountId, user.id)).length > 0) return 'access keys';
      if ((await tx.factors.listByPrincipal(user.accountId, user.id)).length > 0) return 'MFA device';
      if ((await tx.policies.list({ accountId: user.accountId, scope: 'user', ownerId: user.id })).length > 0)
        return 'inline policies';
      if ((await tx.policies.attachedTo(user.id)).length > 0) return 'attached policies';
      const effective = await tx.policies.effectiveFor(user.accountId, user.id);
      if (effective.identity.length > 0) return 'group memberships';
      return null;
    };
    const what = await conflict();
    if (what !== null) {
      throw new HoldfastError(
        'AWS_USER_DELETE_CONFLICT',
        `Cannot delete entity, must delete ${what} first.`,
        {
          details: { remaining: what },
        },
      );
    }
    await keepAnOwnerWhoCanSignIn(tx, user);
    await tx.awsIdentities.deletePrincipal(user.accountId, user.id);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: user.accountId,
        action: 'user.delete',
        target: user.id,
        details: { username: user.username, security: true },
      },
    });
  });
}

/** Gives a user without a password its first one (IAM CreateLoginProfile). */
export async function createLoginProfile(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    userRef: string;
    password: string;
  },
): Promise<{ user: Principal; createdAt: number }> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.CreateLoginProfile,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  if (user.passwordHash !== null) {
    throw new HoldfastError(
      'AWS_LOGIN_PROFILE_EXISTS',
      `Login Profile for user ${user.username} already exists.`,
    );
  }
  const account = await deps.store.accounts.findById(user.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  checkNewPassword(deps, { password: input.password, principal: user, account });
  const passwordHash = await deps.passwords.hash(input.password);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    const current = await tx.principals.findById(user.accountId, user.id);
    if (current === null) throw new HoldfastError('USER_NOT_FOUND');
    if (current.passwordHash !== null) {
      throw new HoldfastError(
        'AWS_LOGIN_PROFILE_EXISTS',
        `Login Profile for user ${user.username} already exists.`,
      );
    }
    await tx.principals.update({ ...current, passwordHash, passwordChangedAt: now, updatedAt: now });
    await tx.setupTokens.revokeForPrincipal(user.accountId, user.id, now);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: { accountId: user.accountId, action: 'user.login_profile_create', target: user.id },
    });
  });
  return { user, createdAt: now };
}

// ---- Roles ----

/** The ARN of a role. */
export function roleArn(role: Pick<AwsRole, 'accountId' | 'path' | 'name'>): string {
  return `arn:aws:iam::${role.accountId}:role${role.path}${role.name}`;
}

/** A trust policy statement, reduced to who it names and the identity-policy part. */
interface TrustStatement {
  principals: string[] | '*';
  compiled: CompiledPolicy;
}

/**
 * Parses a role trust policy (a resource-based policy: each statement names a `Principal`).
 * Accepts `"Principal": "*"` and `{"AWS": ARN | account id | [...]}`; the rest of each statement
 * (Effect, Action, Condition) is compiled by the identity-policy parser with `Resource: "*"`, so
 * conditions such as `aws:MultiFactorAuthPresent` evaluate exactly as in identity policies.
 */
export function parseTrustPolicy(text: string): TrustStatement[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new HoldfastError('POLICY_MALFORMED', 'The trust policy is not valid JSON.');
  }
  const d = doc as { Version?: unknown; Statement?: unknown };
  if (d === null || typeof d !== 'object' || d.Statement === undefined) {
    throw new HoldfastError('POLICY_MALFORMED', 'The trust policy has no Statement.');
  }
  const statements = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  return statements.map((raw: unknown) => {
    if (raw === null || typeof raw !== 'object')
      throw new HoldfastError('POLICY_MALFORMED', 'A statement is not an object.');
    const { Principal: principal, NotPrincipal: notPrincipal, ...rest } = raw as Record<string, unknown>;
    if (notPrincipal !== undefined) {
      throw new HoldfastError('POLICY_MALFORMED', 'NotPrincipal is not supported in trust policies.');
    }
    let principals: string[] | '*';
    if (principal === '*') principals = '*';
    else if (principal !== null && typeof principal === 'object' && 'AWS' in principal) {
      const aws = (principal as { AWS: unknown }).AWS;
      const list = Array.isArray(aws) ? aws : [aws];
      if (!list.every((p): p is string => typeof p === 'string')) {
        throw new HoldfastError('POLICY_MALFORMED', 'Principal AWS entries must be strings.');
      }
      principals = list.includes('*') ? '*' : list;
    } else {
      throw new HoldfastError(
        'POLICY_MALFORMED',
        'Each trust statement needs "Principal": "*" or {"AWS": ...}.',
      );
    }
    const compiled = parsePolicy(
      JSON.stringify({ Version: d.Version ?? '2012-10-17', Statement: [{ ...rest, Resource: '*' }] }),
    );
    return { principals, compiled };
  });
}

function principalMatches(statement: TrustStatement, caller: { accountId: string; arns: string[] }): boolean {
  if (statement.principals === '*') return true;
  return statement.principals.some(
    (p) => p === caller.accountId || p === accountArn(caller.accountId) || caller.arns.includes(p),
  );
}

/** Creates a role with a trust policy (who may assume it, under which conditions). */
export async function createRole(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    name: string;
    path?: string;
    description?: string;
    trustPolicy: string;
    maxSessionDuration?: number;
  },
): Promise<AwsRole> {
  const path = input.path ?? '/';
  const arn = roleArn({ accountId: input.accountId, path, name: input.name });
  await authorize(deps, input.actor, ACTIONS.CreateRole, { accountId: input.accountId, arn }, input.ctx);
  parseTrustPolicy(input.trustPolicy);
  const role: AwsRole = {
    id: 'AROA' + randomString(deps.random, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16),
    accountId: input.accountId,
    name: input.name,
    path,
    description: input.description ?? '',
    trustPolicy: input.trustPolicy,
    maxSessionDuration: input.maxSessionDuration ?? ROLE_MAX_SESSION.default,
    createdAt: deps.clock.now(),
  };
  await deps.store.transaction(async (tx) => {
    if ((await tx.awsIdentities.findRole(input.accountId, input.name)) !== null) {
      throw new HoldfastError('AWS_ROLE_ALREADY_EXISTS', `Role with name ${input.name} already exists.`);
    }
    await tx.awsIdentities.insertRole(role);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.accountId,
        action: 'role.create',
        target: arn,
        details: { roleId: role.id, mfaCondition: /multifactorauth/i.test(input.trustPolicy) },
      },
    });
  });
  return role;
}

// ---- STS ----

/** Temporary credentials as issued (the secret and token are shown once and never stored in clear). */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: number;
}

/** The long-term key at the start of a caller's chain of credentials (null: unknown, older credentials). */
function sourceKeyOf(caller: AwsCaller): string | null {
  return caller.kind === 'long-term' ? caller.accessKeyId : (caller.temporary?.sourceKeyId ?? null);
}

async function issueTemporary(
  deps: AppDeps,
  tx: Parameters<Parameters<AppDeps['store']['transaction']>[0]>[0],
  input: Omit<TemporaryCredential, 'id' | 'secretSealed' | 'tokenHash' | 'createdAt' | 'revokedAt'>,
): Promise<IssuedCredentials> {
  const id = newAccessKeyId(deps.random, 'temporary');
  const secretAccessKey = newSecretAccessKey(deps.random);
  // The token carries 256 random bits; only its SHA-256 is stored.
  const sessionToken = 'HFST' + Buffer.from(deps.random.bytes(32)).toString('base64');
  await tx.temporaryCredentials.insert({
    ...input,
    id,
    secretSealed: deps.secretBox.seal(Buffer.from(secretAccessKey, 'utf8'), temporaryKeySecretContext(id)),
    tokenHash: sha256Hex(sessionToken),
    createdAt: deps.clock.now(),
    revokedAt: null,
  });
  return { accessKeyId: id, secretAccessKey, sessionToken, expiration: input.expiresAt };
}

/**
 * Verifies an STS TokenCode inside the command's transaction `tx`: the serial is resolved there
 * (the factor row read once), then the one second-factor step (throttling, suspension, the
 * replay-protected conditional update: a code is accepted once). An unknown serial or a serial
 * that is not the caller's fails the same way, audited, with `details.serialUnknown` so the
 * answer can use AWS's wording. A refusal is returned, not thrown: it must commit.
 */
async function tokenCodeStep(
  deps: AppDeps,
  tx: Repositories,
  input: { caller: AwsCaller; ctx: RequestContext; serialNumber: string; tokenCode: string },
): Promise<{ ok: true; mfa: CredentialMfa } | { ok: false; error: HoldfastError }> {
  const principal = input.caller.user;
  const factor = await codeFactorForSerial(deps, tx, principal, input.serialNumber);
  const step = {
    principal,
    proof: { factorId: factor?.id ?? 'unknown-serial', code: input.tokenCode },
    ctx: input.ctx,
    actor: input.caller.actor,
    purpose: 'step_up' as const,
  };
  const checked = await secondFactorStep(
    deps,
    tx,
    step,
    await prepareSecondFactor(deps, tx, { ...step, factor }),
  );
  if (!checked.ok) {
    const error =
      checked.error.code === 'MFA_FAILED' && factor === null
        ? new HoldfastError('MFA_FAILED', undefined, { details: { serialUnknown: true } })
        : checked.error;
    return { ok: false, error };
  }
  const used = checked.sessionFactor ?? checked.proof;
  return {
    ok: true,
    mfa: {
      factorId: used.factorId,
      kind: used.kind,
      assurance: used.assurance,
      at: used.at,
      serialNumber: input.serialNumber,
    },
  };
}

function checkDuration(value: number, range: { min: number; max: number }, what: string): void {
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new HoldfastError(
      'AWS_DURATION_INVALID',
      `The requested DurationSeconds ${what}: it must be between ${range.min} and ${range.max}.`,
    );
  }
}

/**
 * STS GetSessionToken: temporary credentials for the user of a long-term key, with MFA facts
 * when SerialNumber and TokenCode are given (aws:MultiFactorAuthAge counts from now). No
 * permission is needed (AWS: authentication operations are not controlled by policies).
 */
export async function getSessionToken(
  deps: AppDeps,
  input: {
    caller: AwsCaller;
    ctx: RequestContext;
    durationSeconds?: number;
    serialNumber?: string;
    tokenCode?: string;
  },
): Promise<IssuedCredentials> {
  const { caller } = input;
  checkCredentialScope(caller, { service: 'sts', operation: 'GetSessionToken' });
  const duration = input.durationSeconds ?? SESSION_TOKEN_DURATION.default;
  checkDuration(duration, SESSION_TOKEN_DURATION, 'is out of range');
  const expiresAt = deps.clock.now() + duration * 1000;
  const { serialNumber, tokenCode } = input;
  if ((serialNumber === undefined) !== (tokenCode === undefined)) {
    throw new HoldfastError('REQUEST_INVALID', 'SerialNumber and TokenCode go together');
  }
  // No permission is needed: the command is not authorized, only recorded.
  return runCommand(deps, caller.actor, input.ctx, null, async (uow) => {
    let mfa: CredentialMfa | null = null;
    if (serialNumber !== undefined && tokenCode !== undefined) {
      const checked = await tokenCodeStep(deps, uow.tx, { caller, ctx: input.ctx, serialNumber, tokenCode });
      if (!checked.ok) return uow.failAfterCommit(checked.error);
      mfa = checked.mfa;
    }
    const issued = await issueTemporary(deps, uow.tx, {
      accountId: caller.user.accountId,
      principalId: caller.user.id,
      source: 'session-token',
      roleId: null,
      roleSessionName: null,
      mfa,
      parentKeyId: caller.accessKeyId,
      sourceKeyId: sourceKeyOf(caller),
      expiresAt,
    });
    uow.record({
      accountId: caller.user.accountId,
      action: 'sts.session_token_issue',
      target: caller.user.id,
      details: {
        accessKeyId: issued.accessKeyId,
        mfaAuthenticated: mfa !== null,
        durationSeconds: duration,
      },
    });
    return issued;
  });
}

/** The ARNs a caller is known by in trust policies. */
function callerArns(caller: AwsCaller): string[] {
  if (caller.role !== null) {
    return [
      roleArn(caller.role),
      `arn:aws:sts::${caller.role.accountId}:assumed-role/${caller.role.name}/${caller.temporary?.roleSessionName ?? ''}`,
    ];
  }
  return [userArn(caller.user.accountId, caller.user.username)];
}

/** Parses `arn:aws:iam::ACCOUNT:role/[path/]NAME`. */
function parseRoleArn(arn: string): { accountId: string; name: string } | null {
  const m = /^arn:aws:iam::([0-9]{12}):role\/(?:[^\s]*\/)?([\w+=,.@-]{1,64})$/.exec(arn);
  return m ? { accountId: m[1]!, name: m[2]! } : null;
}

/**
 * STS AssumeRole: the role's trust policy must allow the caller (Principal and conditions,
 * with the MFA facts of this request: a TokenCode given now, or those of the calling session,
 * which carry over as AWS does for chained MFA), and, unless the trust policy names the caller
 * itself, the caller's own policies must allow sts:AssumeRole on the role. Chained from temporary
 * credentials, the session lasts at most one hour.
 */
export async function assumeRole(
  deps: AppDeps,
  input: {
    caller: AwsCaller;
    ctx: RequestContext;
    roleArn: string;
    roleSessionName: string;
    durationSeconds?: number;
    serialNumber?: string;
    tokenCode?: string;
  },
): Promise<{ credentials: IssuedCredentials; role: AwsRole; assumedRoleId: string; assumedRoleArn: string }> {
  const { caller } = input;
  const accountId = caller.user.accountId;
  const parsed = parseRoleArn(input.roleArn);
  const role =
    parsed !== null && parsed.accountId === accountId
      ? await deps.store.awsIdentities.findRole(accountId, parsed.name)
      : null;
  const denied = async (reason: string): Promise<never> => {
    const error = new HoldfastError(
      'AUTH_FORBIDDEN',
      `not authorized to perform: sts:AssumeRole on resource: ${input.roleArn}`,
      { details: { reason } },
    );
    await deps.store.transaction((tx) =>
      writeAudit(deps, tx, {
        actor: caller.actor,
        ctx: input.ctx,
        fact: {
          accountId,
          action: 'sts.assume_role',
          target: input.roleArn,
          outcome: 'failure',
          errorCode: error.code,
          details: { reason, security: true },
        },
      }),
    );
    throw error;
  };
  if (role === null) return denied('unknown-role');
  const maxDuration = caller.kind === 'temporary' ? ASSUME_ROLE_DURATION.chainedMax : role.maxSessionDuration;
  const duration = input.durationSeconds ?? ASSUME_ROLE_DURATION.default;
  if (duration > maxDuration) {
    throw new HoldfastError(
      'AWS_DURATION_INVALID',
      caller.kind === 'temporary'
        ? 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'
        : 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  }
  checkDuration(duration, { min: ASSUME_ROLE_DURATION.min, max: maxDuration }, 'is out of range');

  const decide = async (mfa: CredentialMfa | null): Promise<string | null> => {
    const credential: CredentialKind =
      caller.kind === 'temporary' || mfa !== null ? 'session' : 'long-term-key';
    const assurance = (ASSURANCE_LEVELS as readonly string[]).includes(mfa?.assurance ?? '')
      ? (mfa!.assurance as AssuranceLevel)
      : ASSURANCE_LEVELS[0];
    const context = buildRequestContext({
      principal: {
        accountId,
        ...(caller.role === null ? { username: caller.user.username } : {}),
        userid: caller.actor.principal.id,
        arn: callerArns(caller)[0]!,
      },
      action: ACTIONS.AssumeRole,
      resource: roleArn(role),
      nowMs: deps.clock.now(),
      credential,
      mfa:
        mfa === null
          ? null
          : { authenticatedAtMs: mfa.at, assurance, factorKind: mfa.kind, phishingResistant: false },
      sourceIp: input.ctx.sourceIp ?? undefined,
      ...(caller.temporary !== null ? { tokenIssuedAtMs: caller.temporary.createdAt } : {}),
    });
    const statements = parseTrustPolicy(role.trustPolicy);
    const arns = callerArns(caller);
    const applicable = statements.filter((s) => principalMatches(s, { accountId, arns }));
    const result = evaluate({
      identityPolicies: applicable.map((s) => s.compiled),
      accountPolicies: [],
      context,
    });
    if (result.decision !== 'Allow') return 'trust-policy';
    const namesCaller = statements.some(
      (s) => s.principals !== '*' && s.principals.some((p) => arns.includes(p)),
    );
    if (!namesCaller) {
      // The caller's identity policies must allow sts:AssumeRole too (same-account rule).
      const actor: Actor & { kind: 'principal' } =
        mfa === null
          ? caller.actor
          : {
              ...caller.actor,
              credential: 'session',
              session: {
                ...caller.actor.session,
                auth: {
                  methods: ['key', 'otp'],
                  factor: { factorId: mfa.factorId, kind: mfa.kind, assurance: mfa.assurance, at: mfa.at },
                },
              },
            };
      try {
        await authorize(deps, actor, ACTIONS.AssumeRole, { accountId, arn: roleArn(role) }, input.ctx);
      } catch {
        return 'identity-policy';
      }
    }
    return null;
  };

  const sessionName = input.roleSessionName;
  const assumedRoleId = `${role.id}:${sessionName}`;
  const assumedRoleArn = `arn:aws:sts::${accountId}:assumed-role/${role.name}/${sessionName}`;
  const issue = async (
    tx: Parameters<Parameters<AppDeps['store']['transaction']>[0]>[0],
    mfa: CredentialMfa | null,
  ) => {
    const credentials = await issueTemporary(deps, tx, {
      accountId,
      principalId: caller.user.id,
      source: 'assumed-role',
      roleId: role.id,
      roleSessionName: sessionName,
      mfa,
      parentKeyId: caller.accessKeyId,
      sourceKeyId: sourceKeyOf(caller),
      expiresAt: deps.clock.now() + duration * 1000,
    });
    await writeAudit(deps, tx, {
      actor: caller.actor,
      ctx: input.ctx,
      fact: {
        accountId,
        action: 'sts.assume_role',
        target: roleArn(role),
        details: { accessKeyId: credentials.accessKeyId, mfaAuthenticated: mfa !== null, sessionName },
      },
    });
    return { credentials, role, assumedRoleId, assumedRoleArn };
  };

  if (input.serialNumber !== undefined || input.tokenCode !== undefined) {
    if (input.serialNumber === undefined || input.tokenCode === undefined) {
      throw new HoldfastError('REQUEST_INVALID', 'SerialNumber and TokenCode go together');
    }
    // The code is checked (and used up) first; the trust policy then sees the MFA facts of the
    // factor that verified it (a hardware token's hardware assurance, not a guess). A wrong code
    // answers as any wrong code does.
    const serialNumber = input.serialNumber;
    const tokenCode = input.tokenCode;
    const checked = await deps.store.transaction((tx) =>
      tokenCodeStep(deps, tx, { caller, ctx: input.ctx, serialNumber, tokenCode }),
    );
    if (!checked.ok) throw checked.error;
    const verified = checked.mfa;
    const refusal = await decide(verified);
    if (refusal !== null) return denied(refusal);
    return deps.store.transaction((tx) => issue(tx, verified));
  }
  const carried = caller.temporary?.mfa ?? null;
  const refusal = await decide(carried);
  if (refusal !== null) return denied(refusal);
  return deps.store.transaction((tx) => issue(tx, carried));
}

/** The account summary counts IAM's GetAccountSummary reports. */
export async function accountSummary(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string },
): Promise<Record<string, number>> {
  await authorize(deps, input.actor, ACTIONS.GetAccountSummary, { accountId: input.accountId }, input.ctx);
  const principals = await deps.store.principals.list(input.accountId);
  const enabled = await deps.store.factors.listEnabledByAccount(input.accountId);
  const devices = await deps.store.awsIdentities.listDevices(input.accountId);
  const policies = await deps.store.policies.list({ accountId: input.accountId, scope: 'managed' });
  return {
    Users: principals.length,
    UsersQuota: 5000,
    MFADevices: devices.length,
    MFADevicesInUse: enabled.length,
    AccountMFAEnabled: 0,
    AccountAccessKeysPresent: 0,
    AccessKeysPerUserQuota: MAX_ACCESS_KEYS_PER_USER,
    Policies: policies.length,
    PoliciesQuota: 1500,
    AttachedPoliciesPerUserQuota: 10,
    Roles: await deps.store.awsIdentities.countRoles(input.accountId),
    RolesQuota: 1000,
    Groups: (await deps.store.policies.listGroups(input.accountId)).length,
  };
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
