/**
 * STS: temporary credentials from GetSessionToken and AssumeRole, each one command of the kernel
 * (one transaction, one audit record), with the TokenCode checked as a step of that transaction
 * (shared/reference/aws-iam-sts.md §2.2, §2.3), and the caller-facing reads GetAccessKeyInfo and
 * DecodeAuthorizationMessage.
 */

import type { AwsRole, CredentialMfa, TemporaryCredential } from '../../core/access-keys/credentials.js';
import { newAccessKeyId, newSecretAccessKey } from '../../core/access-keys/access-key.js';
import { sha256Hex } from '../../core/crypto/hashing.js';
import { HoldfastError } from '../../core/errors.js';
import { ASSURANCE_LEVELS, type AssuranceLevel } from '../../core/factors/factor.js';
import { assumedRoleArn, parseRoleArn, roleArn, userArn } from '../../core/policy/arn.js';
import { buildRequestContext, type CredentialKind } from '../../core/policy/context.js';
import { decodedMessage, DenialExplanation } from '../../core/policy/denial.js';
import { evaluate } from '../../core/policy/evaluate.js';
import { parsePolicy } from '../../core/policy/parse-policy.js';
import { combineSessionPolicies } from '../../core/policy/session-policy.js';
import {
  parseTrustPolicy,
  trustNamesCaller,
  trustStatementMatches,
  type TrustCaller,
} from '../../core/policy/trust-policy.js';
import type { Repositories } from '../../core/ports.js';
import { ACTIONS } from '../actions.js';
import { authorize, decide } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { writeAudit, type AppDeps } from '../deps.js';
import { runCommand, type Failed, type UnitOfWork } from '../kernel.js';
import { prepareSecondFactor, secondFactorStep } from '../mfa.js';
import { checkCredentialScope, temporaryKeySecretContext, type AwsCaller } from './access-keys.js';
import { findManagedPolicyByArn } from './managed-policies.js';
import { codeFactorForSerial } from './mfa-devices.js';

/** GetSessionToken durations for IAM users (STS model and docs: 900–129600 s, default 12 h). */
export const SESSION_TOKEN_DURATION = { min: 900, max: 129_600, default: 43_200 } as const;
/** AssumeRole durations: 900 s up to the role's maximum; 1 h when chained from temporary credentials. */
export const ASSUME_ROLE_DURATION = { min: 900, default: 3600, chainedMax: 3600 } as const;

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

export async function issueTemporary(
  deps: AppDeps,
  tx: Repositories,
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

/** SerialNumber and TokenCode, both or neither. */
function tokenCodeOf(input: { serialNumber?: string; tokenCode?: string }): {
  serialNumber: string;
  tokenCode: string;
} | null {
  const { serialNumber, tokenCode } = input;
  if (serialNumber === undefined && tokenCode === undefined) return null;
  if (serialNumber === undefined || tokenCode === undefined) {
    throw new HoldfastError('REQUEST_INVALID', 'SerialNumber and TokenCode go together');
  }
  return { serialNumber, tokenCode };
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

function checkDuration(value: number, range: { min: number; max: number }): void {
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new HoldfastError(
      'AWS_DURATION_INVALID',
      `The requested DurationSeconds is out of range: it must be between ${range.min} and ${range.max}.`,
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
  checkDuration(duration, SESSION_TOKEN_DURATION);
  const expiresAt = deps.clock.now() + duration * 1000;
  const code = tokenCodeOf(input);
  // No permission is needed: the command is not authorized, only recorded.
  return runCommand(deps, caller.actor, input.ctx, null, async (uow) => {
    let mfa: CredentialMfa | null = null;
    if (code !== null) {
      const checked = await tokenCodeStep(deps, uow.tx, { caller, ctx: input.ctx, ...code });
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
      details: { accessKeyId: issued.accessKeyId, mfaAuthenticated: mfa !== null, durationSeconds: duration },
    });
    return issued;
  });
}

// ---- AssumeRole ----

/** The ARNs a caller is known by in trust policies (its user, or its role and role session). */
export function callerArns(caller: AwsCaller): string[] {
  if (caller.role !== null) {
    return [
      roleArn(caller.role),
      assumedRoleArn(caller.role.accountId, caller.role.name, caller.temporary?.roleSessionName ?? ''),
    ];
  }
  return [userArn(caller.user.accountId, caller.user.username)];
}

/** The caller as it acts with the MFA facts of this request (a code given now, or those carried). */
function actingWith(caller: AwsCaller, mfa: CredentialMfa | null): Actor & { kind: 'principal' } {
  if (mfa === null) return caller.actor;
  return {
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
}

/** True when the role's trust policy allows the caller with these MFA facts. */
function trustAllows(
  deps: AppDeps,
  input: {
    caller: AwsCaller;
    role: AwsRole;
    mfa: CredentialMfa | null;
    ctx: RequestContext;
    externalId?: string;
  },
): boolean {
  const { caller, role, mfa } = input;
  const trustCaller: TrustCaller = { accountId: role.accountId, arns: callerArns(caller) };
  const statements = parseTrustPolicy(role.trustPolicy).filter((s) => trustStatementMatches(s, trustCaller));
  const credential: CredentialKind =
    caller.kind === 'temporary' || mfa !== null ? 'session' : 'long-term-key';
  const assurance = (ASSURANCE_LEVELS as readonly string[]).includes(mfa?.assurance ?? '')
    ? (mfa!.assurance as AssuranceLevel)
    : ASSURANCE_LEVELS[0];
  const context = buildRequestContext({
    principal: {
      accountId: role.accountId,
      ...(caller.role === null ? { username: caller.user.username } : {}),
      userid: caller.actor.principal.id,
      arn: trustCaller.arns[0]!,
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
    // sts:ExternalId, for trust policies that ask a third party for it (AWS IAM User Guide).
    ...(input.externalId === undefined ? {} : { extraKeys: { 'sts:ExternalId': input.externalId } }),
  });
  const result = evaluate({
    identityPolicies: statements.map((s) => s.compiled),
    accountPolicies: [],
    context,
  });
  return result.decision === 'Allow';
}

/**
 * Why AssumeRole is refused, or null: the trust policy must allow the caller (Principal and
 * conditions, with the MFA facts of this request), and, unless it names the caller itself (AWS's
 * same-account rule), the caller's own policies must allow sts:AssumeRole on the role too. The
 * caller's policies are read through `tx`, the command's transaction.
 */
async function assumeRefusal(
  deps: AppDeps,
  tx: Repositories,
  input: {
    caller: AwsCaller;
    role: AwsRole;
    mfa: CredentialMfa | null;
    ctx: RequestContext;
    externalId?: string;
  },
): Promise<string | null> {
  if (!trustAllows(deps, input)) return 'trust-policy';
  const arns = callerArns(input.caller);
  if (trustNamesCaller(parseTrustPolicy(input.role.trustPolicy), { accountId: input.role.accountId, arns }))
    return null;
  const decision = await decide(
    deps,
    actingWith(input.caller, input.mfa),
    ACTIONS.AssumeRole,
    { accountId: input.role.accountId, arn: roleArn(input.role) },
    input.ctx.sourceIp,
    tx,
  );
  return decision.allowed ? null : 'identity-policy';
}

/** The session's duration: 900 s up to the role's maximum, 1 h when chained (ValidationError past it). */
function assumeDuration(caller: AwsCaller, role: AwsRole, requested: number | undefined): number {
  const chained = caller.kind === 'temporary';
  const max = chained ? ASSUME_ROLE_DURATION.chainedMax : role.maxSessionDuration;
  const duration = requested ?? ASSUME_ROLE_DURATION.default;
  if (duration > max) {
    throw new HoldfastError(
      'AWS_DURATION_INVALID',
      chained
        ? 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'
        : 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  }
  checkDuration(duration, { min: ASSUME_ROLE_DURATION.min, max });
  return duration;
}

/** A session policy (AssumeRole `Policy`): an identity policy that can only narrow the role's. */
export function checkSessionPolicy(text: string): string {
  parsePolicy(text);
  return text;
}

/** The documents of the managed policies named as session policies (POLICY_NOT_FOUND for one that is not there). */
async function sessionPolicyDocuments(
  tx: Repositories,
  accountId: string,
  arns: readonly string[],
): Promise<string[]> {
  const documents: string[] = [];
  for (const arn of arns) {
    const policy = await findManagedPolicyByArn(tx, accountId, arn);
    if (policy === null) {
      throw new HoldfastError('POLICY_NOT_FOUND', `Policy ${arn} does not exist or is not attachable.`);
    }
    documents.push(policy.document);
  }
  return documents;
}

/** What AssumeRole answers. */
export interface AssumedRole {
  credentials: IssuedCredentials;
  role: AwsRole;
  assumedRoleId: string;
  assumedRoleArn: string;
}

/** Records an AssumeRole refusal in the command's transaction, then ends the work with it. */
async function refuseAssume(
  deps: AppDeps,
  uow: UnitOfWork,
  input: { caller: AwsCaller; roleArn: string; reason: string; tokenCodeUsed: boolean },
): Promise<Failed> {
  const error = new HoldfastError(
    'AUTH_FORBIDDEN',
    `not authorized to perform: sts:AssumeRole on resource: ${input.roleArn}`,
    {
      details: { reason: input.reason },
      cause: new DenialExplanation({
        action: ACTIONS.AssumeRole,
        resource: input.roleArn,
        decision: null,
        guardrail: null,
        reason: input.reason,
        matchedStatements: [],
      }),
    },
  );
  await writeAudit(deps, uow.tx, {
    actor: input.caller.actor,
    ctx: uow.ctx,
    fact: {
      accountId: input.caller.user.accountId,
      action: 'sts.assume_role',
      target: input.roleArn,
      outcome: 'failure',
      errorCode: error.code,
      details: { reason: input.reason, tokenCodeUsed: input.tokenCodeUsed, security: true },
    },
  });
  return uow.failAfterCommit(error);
}

/** The role a RoleArn names in the caller's account (path included), read in `tx`; null if none. */
async function roleOf(tx: Repositories, accountId: string, arn: string): Promise<AwsRole | null> {
  const parsed = parseRoleArn(arn);
  if (parsed === null || parsed.accountId !== accountId) return null;
  const role = await tx.awsIdentities.findRole(accountId, parsed.name);
  return role !== null && role.path === parsed.path ? role : null;
}

/**
 * STS AssumeRole, one command: one transaction, one audit record. In that transaction: the role
 * is read (a duration past its maximum is refused before any code is looked at), then the
 * TokenCode, when given, is checked and used up (a wrong code counts as a failure, committed),
 * then the trust policy and the caller's own policies decide with the MFA facts of this request
 * (the code's factor, or those the calling session carries, as AWS does for chained MFA).
 *
 * A refusal after a valid code (unknown role, trust policy, identity policy) commits the code as
 * used together with the refusal's record: the code is spent, so whoever saw it cannot replay it
 * on another call within its time step (RFC 6238 §5.2). The code is checked before the role is
 * known to exist, so a wrong code answers the same for every RoleArn and roles cannot be probed
 * with codes.
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
    /** A session policy (JSON): the session may do only what both it and the role's policies allow. */
    policy?: string;
    /** Managed policies used as session policies too (AssumeRole `PolicyArns`). */
    policyArns?: readonly string[];
    /** `sts:ExternalId` for the trust policy's conditions. */
    externalId?: string;
  },
): Promise<AssumedRole> {
  const { caller } = input;
  const accountId = caller.user.accountId;
  const code = tokenCodeOf(input);
  const inline = input.policy === undefined ? [] : [checkSessionPolicy(input.policy)];
  return runCommand(deps, caller.actor, input.ctx, null, async (uow) => {
    const role = await roleOf(uow.tx, accountId, input.roleArn);
    const duration = role === null ? 0 : assumeDuration(caller, role, input.durationSeconds);
    // Read before any code is looked at: a policy that is not there refuses the call, code unspent.
    const sessionPolicy = combineSessionPolicies([
      ...inline,
      ...(await sessionPolicyDocuments(uow.tx, accountId, input.policyArns ?? [])),
    ]);
    let mfa = caller.temporary?.mfa ?? null;
    if (code !== null) {
      const checked = await tokenCodeStep(deps, uow.tx, { caller, ctx: input.ctx, ...code });
      if (!checked.ok) return uow.failAfterCommit(checked.error);
      mfa = checked.mfa;
    }
    const refusal =
      role === null
        ? 'unknown-role'
        : await assumeRefusal(deps, uow.tx, {
            caller,
            role,
            mfa,
            ctx: input.ctx,
            ...(input.externalId === undefined ? {} : { externalId: input.externalId }),
          });
    if (role === null || refusal !== null) {
      return refuseAssume(deps, uow, {
        caller,
        roleArn: input.roleArn,
        reason: refusal ?? 'unknown-role',
        tokenCodeUsed: code !== null,
      });
    }
    return issueRoleSession(deps, uow, {
      caller,
      role,
      mfa,
      duration,
      sessionName: input.roleSessionName,
      sessionPolicy,
    });
  });
}

/** Issues the role session's credentials and sets the command's record. */
async function issueRoleSession(
  deps: AppDeps,
  uow: UnitOfWork,
  input: {
    caller: AwsCaller;
    role: AwsRole;
    mfa: CredentialMfa | null;
    duration: number;
    sessionName: string;
    sessionPolicy: string | null;
  },
): Promise<AssumedRole> {
  const { caller, role, mfa, sessionName } = input;
  const credentials = await issueTemporary(deps, uow.tx, {
    accountId: role.accountId,
    principalId: caller.user.id,
    // Role chaining from an external provider's session stays without a Holdfast user.
    source: caller.temporary?.source === 'web-identity' ? 'web-identity' : 'assumed-role',
    roleId: role.id,
    roleSessionName: sessionName,
    mfa,
    parentKeyId: caller.accessKeyId,
    sourceKeyId: sourceKeyOf(caller),
    expiresAt: deps.clock.now() + input.duration * 1000,
    sessionPolicy: input.sessionPolicy,
  });
  uow.record({
    accountId: role.accountId,
    action: 'sts.assume_role',
    target: roleArn(role),
    details: {
      accessKeyId: credentials.accessKeyId,
      mfaAuthenticated: mfa !== null,
      sessionName,
      sessionPolicy: input.sessionPolicy !== null,
    },
  });
  return {
    credentials,
    role,
    assumedRoleId: `${role.id}:${sessionName}`,
    assumedRoleArn: assumedRoleArn(role.accountId, role.name, sessionName),
  };
}

// ---- Authorization messages ----

/** Sealing context of an encoded authorization message: it opens only for its own account. */
function authorizationMessageContext(accountId: string): string {
  return `authz-message:${accountId}`;
}

/**
 * The "encoded authorization failure message" of an AccessDenied answer: the refusal's facts
 * (statements, guardrail, reason), sealed under the master key with AES-256-GCM and bound to the
 * caller's account, so the denied caller cannot read or forge it; a caller allowed
 * sts:DecodeAuthorizationMessage can.
 */
export function encodeAuthorizationMessage(
  deps: AppDeps,
  input: { caller: AwsCaller; explanation: DenialExplanation },
): string {
  const { caller } = input;
  const text = decodedMessage(input.explanation.facts, {
    id:
      caller.role === null ? caller.user.id : `${caller.role.id}:${caller.temporary?.roleSessionName ?? ''}`,
    arn: callerArns(caller).at(-1)!,
  });
  const sealed = deps.secretBox.seal(
    Buffer.from(text, 'utf8'),
    authorizationMessageContext(caller.user.accountId),
  );
  return Buffer.from(sealed, 'utf8').toString('base64url');
}

/** STS DecodeAuthorizationMessage: the JSON of a message encoded for this account. */
export async function decodeAuthorizationMessage(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; encodedMessage: string },
): Promise<string> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.DecodeAuthorizationMessage,
    { accountId: input.accountId },
    input.ctx,
  );
  try {
    const sealed = Buffer.from(input.encodedMessage, 'base64url').toString('utf8');
    const opened = deps.secretBox.open(sealed, authorizationMessageContext(input.accountId));
    return Buffer.from(opened).toString('utf8');
  } catch {
    throw new HoldfastError('AWS_AUTHORIZATION_MESSAGE_INVALID', 'The encoded message is not valid.');
  }
}

/**
 * STS GetAccessKeyInfo: the account an access key id belongs to. Accounts are walls (MISSION
 * failure 6): only keys of the caller's own account are answered; any other id (another
 * account's, or none at all) is refused alike, so ids cannot be used to probe other tenants.
 */
export async function getAccessKeyInfo(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; accessKeyId: string },
): Promise<{ account: string }> {
  await authorize(deps, input.actor, ACTIONS.GetAccessKeyInfo, { accountId: input.accountId }, input.ctx);
  const owner = input.accessKeyId.startsWith('ASIA')
    ? (await deps.store.temporaryCredentials.findById(input.accessKeyId))?.accountId
    : (await deps.store.accessKeys.findById(input.accessKeyId))?.accountId;
  if (owner !== input.accountId) {
    throw new HoldfastError('AUTH_FORBIDDEN', 'not authorized to read the account of this access key', {
      details: { reason: 'other-account' },
    });
  }
  return { account: owner };
}

/** The STS use cases besides GetSessionToken and AssumeRole, registered in createApp with one spread. */
export const STS_USE_CASES = {
  getSessionToken,
  assumeRole,
  encodeAuthorizationMessage,
  decodeAuthorizationMessage,
  getAccessKeyInfo,
};
