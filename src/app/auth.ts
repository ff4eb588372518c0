import { HoldfastError } from '../core/errors.js';
import { nextTransition } from '../core/flows/flow.js';
import { SIGN_IN_FLOW } from '../core/flows/sign-in.js';
import type { Account, Principal } from '../core/principals/types.js';
import type { Repositories } from '../core/ports.js';
import {
  sessionDeadReason,
  type Session,
  type SessionAuth,
  type SessionChannel,
} from '../core/sessions/session.js';
import { sourceKeyOf } from '../core/policy/ip-address.js';
import {
  KNOWN_CLIENT_TOKENS_KEPT,
  KNOWN_CLIENT_TTL_MS,
  KNOWN_SOURCES_KEPT,
  LOGIN_THROTTLE,
  passwordThrottleKeys,
  throttleWaitMs,
  type PasswordClient,
  type PasswordThrottleKey,
} from '../core/throttle.js';
import { hmacBase64url, sha256Hex } from '../core/crypto/hashing.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { revokeDerived } from './derived-credentials.js';
import { newId, writeAudit, writeRefusal, type AppDeps } from './deps.js';
import { runCommand, type UnitOfWork } from './kernel.js';
import { offeredFactors, type OfferedFactor, type SignInFlowData } from './mfa.js';
import { checkNewPassword, findAccount, requireUser } from './users.js';

/** Prefix of session tokens, so leaked tokens are recognisable by secret scanners. */
export const SESSION_TOKEN_PREFIX = 'hfs_';

/** A new session and its bearer token (shown once; only its hash is stored). */
export interface IssuedSession {
  session: Session;
  principal: Principal;
  token: string;
  csrfToken: string;
}

/** Outcome of the password step: signed in, or a flow waiting for any enabled second factor. */
export type SignInResult =
  | ({ status: 'signed_in'; knownClient: string } & IssuedSession)
  | {
      status: 'second_factor_required';
      /** The known-client token for this client (set as a cookie, or kept by API clients). */
      knownClient: string;
      flowId: string;
      expiresAt: number;
      principal: Principal;
      factors: OfferedFactor[];
      recoveryCodes: boolean;
    };

/** A live, authenticated caller. */
export interface Authenticated {
  session: Session;
  principal: Principal;
  account: Account;
}

/** Only refresh `last_seen_at` once a minute per session: idle timeouts need no finer grain. */
const TOUCH_INTERVAL_MS = 60_000;

const dummyHashes = new WeakMap<AppDeps, Promise<string>>();
/** A hash to verify against when the login is unknown, so that path costs the same time. */
function dummyHash(deps: AppDeps): Promise<string> {
  let hash = dummyHashes.get(deps);
  if (hash === undefined) {
    hash = deps.passwords.hash(Buffer.from(deps.random.bytes(16)).toString('hex'));
    dummyHashes.set(deps, hash);
  }
  return hash;
}

/** The CSRF token of a session: an HMAC of its id under the installation pepper (stateless). */
export function csrfTokenFor(deps: AppDeps, sessionId: string): string {
  return hmacBase64url(deps.pepper, `csrf:${sessionId}`);
}

/** Creates a session for a principal inside `tx` and returns its token. */
export async function createSession(
  deps: AppDeps,
  tx: Repositories,
  input: { principal: Principal; auth: SessionAuth; channel: SessionChannel; ctx: RequestContext },
): Promise<IssuedSession> {
  const now = deps.clock.now();
  const token = SESSION_TOKEN_PREFIX + Buffer.from(deps.random.bytes(32)).toString('base64url');
  const session: Session = {
    id: newId(deps, 'ses_'),
    accountId: input.principal.accountId,
    principalId: input.principal.id,
    channel: input.channel,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + deps.settings.sessionAbsoluteMs,
    revokedAt: null,
    revokedReason: null,
    auth: input.auth,
    sourceIp: input.ctx.sourceIp,
    userAgent: input.ctx.userAgent,
  };
  await tx.sessions.insert(session, sha256Hex(token));
  return { session, principal: input.principal, token, csrfToken: csrfTokenFor(deps, session.id) };
}

/** Prefix of known-client tokens (OWASP device cookie), recognisable by secret scanners. */
export const KNOWN_CLIENT_PREFIX = 'hfc_';

/** The stored form of a known client's secret: a keyed hash (the pepper), never the secret. */
function knownClientHash(deps: AppDeps, material: string): string {
  return sha256Hex(hmacBase64url(deps.pepper, `known-client:${material}`));
}

/**
 * Which budgets this attempt meets: a valid known-client token of the resolved principal, a
 * network it signed in from before, or neither. Made-up logins share one budget per source.
 */
async function classifyClient(
  deps: AppDeps,
  input: { principal: Principal | null; sourceKey: string; knownClient: string | null },
): Promise<PasswordClient> {
  const { principal } = input;
  if (principal === null) return { kind: 'unknown_login' };
  const now = deps.clock.now();
  const token = input.knownClient;
  if (token !== null && token.startsWith(KNOWN_CLIENT_PREFIX) && token.length <= 100) {
    const found = await deps.store.throttle.findKnownClient({
      secretHash: knownClientHash(deps, token),
      now,
    });
    if (found !== null && found.kind === 'token' && found.principalId === principal.id) {
      return { kind: 'known_client', clientId: found.id };
    }
  }
  const source = await deps.store.throttle.findKnownClient({
    secretHash: knownClientHash(deps, `source:${principal.id}:${input.sourceKey}`),
    now,
  });
  return source !== null && source.principalId === principal.id
    ? { kind: 'known_source' }
    : { kind: 'untrusted' };
}

/**
 * After a correct password: remembers this network for the principal and issues (or refreshes)
 * the client's known-client token. Returns the token to hand to the client.
 */
async function rememberClient(
  deps: AppDeps,
  tx: Repositories,
  input: { principal: Principal; sourceKey: string; client: PasswordClient; knownClient: string | null },
): Promise<string> {
  const now = deps.clock.now();
  const base = {
    accountId: input.principal.accountId,
    principalId: input.principal.id,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + KNOWN_CLIENT_TTL_MS,
  };
  await tx.throttle.rememberKnownClient({
    client: {
      ...base,
      id: newId(deps, 'kcl_'),
      kind: 'source',
      secretHash: knownClientHash(deps, `source:${input.principal.id}:${input.sourceKey}`),
    },
    keep: KNOWN_SOURCES_KEPT,
  });
  const token =
    input.client.kind === 'known_client' && input.knownClient !== null
      ? input.knownClient
      : KNOWN_CLIENT_PREFIX + Buffer.from(deps.random.bytes(32)).toString('base64url');
  await tx.throttle.rememberKnownClient({
    client: { ...base, id: newId(deps, 'kcl_'), kind: 'token', secretHash: knownClientHash(deps, token) },
    keep: KNOWN_CLIENT_TOKENS_KEPT,
  });
  return token;
}

/**
 * Counts one attempt on every key before the password is checked, atomically, so concurrent
 * guesses cannot all slip through on a stale count. Returns the wait when any key is in its
 * delay (and then counts nothing). `peek` keys are only looked at: their wait is returned apart.
 */
async function countAttempt(
  deps: AppDeps,
  keys: PasswordThrottleKey[],
  peek: string[],
): Promise<{ waitMs: number; peekWaitMs: number }> {
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const peekWaitMs = Math.max(
      0,
      ...(await tx.throttle.get(peek)).map((state) => throttleWaitMs(state, now)),
    );
    const counted: string[] = [];
    for (const { key, policy } of keys) {
      const hit = await tx.throttle.hit({ key, policy, now });
      if (!hit.allowed) {
        for (const done of counted) await tx.throttle.release(done);
        return { waitMs: hit.waitMs, peekWaitMs };
      }
      counted.push(key);
    }
    return { waitMs: 0, peekWaitMs };
  });
}

/** A password attempt refused by a budget in its wait: counted per source and window (writeRefusal). */
function refuseThrottled(
  deps: AppDeps,
  input: { ctx: RequestContext; account: Account | null; login: string; waitMs: number },
): Promise<never> {
  return runCommand<never>(deps, null, input.ctx, null, async (uow) => {
    await writeRefusal(deps, uow.tx, {
      actor: null,
      ctx: input.ctx,
      fact: {
        accountId: input.account?.id ?? null,
        action: 'auth.sign_in',
        target: null,
        outcome: 'failure',
        errorCode: 'AUTH_THROTTLED',
        details: { login: input.login.slice(0, 254) },
      },
    });
    return uow.failAfterCommit(
      new HoldfastError('AUTH_THROTTLED', undefined, {
        details: { retryAfterSeconds: Math.max(1, Math.ceil(input.waitMs / 1000)) },
      }),
    );
  });
}

/** A wrong password, unknown login or unusable principal: one answer, the precise reason audited. */
function refuseCredentials(
  deps: AppDeps,
  input: {
    ctx: RequestContext;
    account: Account | null;
    principal: Principal | null;
    login: string;
    reason: string;
  },
): Promise<never> {
  return runCommand<never>(deps, null, input.ctx, null, async (uow) => {
    await writeAudit(deps, uow.tx, {
      actor: null,
      ctx: input.ctx,
      fact: {
        accountId: input.account?.id ?? null,
        action: 'auth.sign_in',
        target: input.principal?.id ?? null,
        outcome: 'failure',
        errorCode: 'AUTH_INVALID_CREDENTIALS',
        details: { reason: input.reason, login: input.login.slice(0, 254) },
      },
    });
    return uow.failAfterCommit(new HoldfastError('AUTH_INVALID_CREDENTIALS'));
  });
}

/**
 * The password step's success, as the command's work: the throttle counts settled, the client
 * remembered, a rehash stored, then either a sign-in flow waiting for the second factor or a
 * password-only session, with the transition's one record.
 */
async function passwordStepSucceeded(
  deps: AppDeps,
  uow: UnitOfWork,
  input: {
    ctx: RequestContext;
    channel: SessionChannel;
    principal: Principal;
    keys: ReturnType<typeof passwordThrottleKeys>;
    client: Awaited<ReturnType<typeof classifyClient>>;
    sourceKey: string;
    knownClient: string | null;
    offered: Awaited<ReturnType<typeof offeredFactors>>;
    upgradedHash: string | null;
  },
): Promise<SignInResult> {
  const { tx } = uow;
  const { principal, offered, upgradedHash } = input;
  const needsSecondFactor = offered.factors.length > 0 || offered.recoveryCodes;
  const at = deps.clock.now();
  const flow = {
    id: newId(deps, 'flw_'),
    kind: SIGN_IN_FLOW.kind,
    accountId: principal.accountId,
    principalId: principal.id,
    state: SIGN_IN_FLOW.initial,
    attempts: 0,
    createdAt: at,
    updatedAt: at,
    expiresAt: at + SIGN_IN_FLOW.lifetimeMs,
    data: { channel: input.channel } satisfies SignInFlowData,
  };
  const transition = nextTransition(SIGN_IN_FLOW, flow, {
    event: needsSecondFactor ? 'password_ok_mfa_needed' : 'password_ok',
    now: at,
  });
  // Success: the per-login and per-client counts start again; the source and the principal's
  // untrusted-client budget keep their history minus this attempt (a success does not wipe
  // what an attacker elsewhere has spent).
  for (const { key } of input.keys) {
    if (key.startsWith('pwd:login:') || key.startsWith('pwd:client:')) await tx.throttle.clear(key);
    else await tx.throttle.release(key);
  }
  const clientToken = await rememberClient(deps, tx, {
    principal,
    sourceKey: input.sourceKey,
    client: input.client,
    knownClient: input.knownClient,
  });
  if (upgradedHash !== null) {
    await tx.principals.update({ ...principal, passwordHash: upgradedHash, updatedAt: at });
  }
  const fact = { accountId: principal.accountId, action: transition.audit, target: principal.id };
  if (needsSecondFactor) {
    await tx.flows.insert({ ...flow, state: transition.to });
    uow.record({ ...fact, details: { flowId: flow.id, passwordRehashed: upgradedHash !== null } });
    return {
      status: 'second_factor_required',
      flowId: flow.id,
      expiresAt: flow.expiresAt,
      principal,
      factors: offered.factors,
      recoveryCodes: offered.recoveryCodes,
      knownClient: clientToken,
    };
  }
  const issued = await createSession(deps, tx, {
    principal,
    auth: { methods: ['pwd'], factor: null },
    channel: input.channel,
    ctx: input.ctx,
  });
  uow.record({
    ...fact,
    details: { sessionId: issued.session.id, methods: ['pwd'], passwordRehashed: upgradedHash !== null },
  });
  return { status: 'signed_in', ...issued, knownClient: clientToken };
}

/**
 * The password step of the sign-in flow. Unknown accounts, unknown logins, disabled users and
 * wrong passwords all answer AUTH_INVALID_CREDENTIALS after one argon2id verification; the
 * reason goes to the audit log only.
 *
 * Repeated failures are slowed (NIST SP 800-63B §5.2.2, OWASP Authentication Cheat Sheet) per
 * resolved principal and source network (IPv6 /64), per principal across sources for clients it
 * does not know, and per source for failures against existing logins. A client holding a
 * known-client token of the principal (issued after a correct password), or coming from a network
 * the principal signed in from before, skips the budgets an attacker elsewhere can fill: the real
 * user is not kept out by someone sending one wrong password each time the wait ends. Made-up
 * logins share one budget per source (no row per login string, and a real user behind the same
 * address is never slowed by them); while that budget is in its wait, every failure from the
 * source answers AUTH_THROTTLED after the same verification, so the answer never tells whether a
 * login exists.
 */
export async function signIn(
  deps: AppDeps,
  input: {
    ctx: RequestContext;
    account: string;
    login: string;
    password: string;
    channel: SessionChannel;
    /** A known-client token the client holds (cookie or JSON), if any. */
    knownClient?: string | null;
  },
): Promise<SignInResult> {
  const account = await findAccount(deps, input.account);
  const login = input.login.trim();
  const sourceKey = sourceKeyOf(input.ctx.sourceIp);
  const principal =
    account === null || login === '' ? null : await deps.store.principals.findByLogin(account.id, login);
  const knownClient = input.knownClient ?? null;
  const client = await classifyClient(deps, { principal, sourceKey, knownClient });
  const keys = passwordThrottleKeys({ principalId: principal?.id ?? null, sourceKey, client });
  // Looked at, never counted: made-up logins see the existing-login source budget, existing
  // logins (except from a known client) the made-up-login budget of the same source.
  const peek =
    client.kind === 'unknown_login'
      ? [`pwd:source:${sourceKey}`]
      : client.kind === 'known_client'
        ? []
        : [`pwd:unknown:${sourceKey}`];
  const counted = await countAttempt(deps, keys, peek);
  const throttled = (waitMs: number) =>
    refuseThrottled(deps, { ctx: input.ctx, account, login: input.login, waitMs });
  // A budget of an existing login in its wait: refused before any verification.
  if (counted.waitMs > 0 && client.kind !== 'unknown_login') return throttled(counted.waitMs);
  // The existing-login source budget in its wait: made-up logins are refused the same way.
  if (client.kind === 'unknown_login' && counted.peekWaitMs > 0) return throttled(counted.peekWaitMs);

  const usable = principal !== null && principal.status === 'active' && principal.passwordHash !== null;
  const hash = usable ? principal.passwordHash! : await dummyHash(deps);
  const passwordOk = (await deps.passwords.verify(hash, input.password)) && usable;

  if (!passwordOk) {
    // Made-up logins in their source's wait, and failures of existing logins while that budget
    // is in its wait, answer alike (after the same verification).
    const sourceWait = client.kind === 'unknown_login' ? counted.waitMs : counted.peekWaitMs;
    if (sourceWait > 0) return throttled(sourceWait);
    const reason =
      account === null
        ? 'unknown_account'
        : principal === null
          ? 'unknown_login'
          : principal.status !== 'active'
            ? 'disabled'
            : principal.passwordHash === null
              ? 'no_password'
              : 'wrong_password';
    // The attempt was already counted as a failure by countAttempt.
    return refuseCredentials(deps, { ctx: input.ctx, account, principal, login: input.login, reason });
  }

  // Parameters rose since this hash was made: upgrade it now that we hold the plaintext.
  const upgradedHash = deps.passwords.needsRehash(principal.passwordHash!)
    ? await deps.passwords.hash(input.password)
    : null;

  const offered = await offeredFactors(deps, principal);

  return runCommand(deps, null, input.ctx, null, (uow) =>
    passwordStepSucceeded(deps, uow, {
      ...input,
      principal,
      keys,
      client,
      sourceKey,
      knownClient,
      offered,
      upgradedHash,
    }),
  );
}

/**
 * Deletes throttle rows whose wait is over and whose failures are forgotten, and known clients
 * not seen for their lifetime (run periodically by the server; `holdfast` jobs may call it too).
 */
export async function pruneThrottles(deps: AppDeps): Promise<{ pruned: number }> {
  return { pruned: await deps.store.throttle.prune(deps.clock.now()) };
}

/** Resolves a session token to a live session, or AUTH_SESSION_INVALID (unknown, forged, revoked, expired). */
export async function authenticate(deps: AppDeps, token: string): Promise<Authenticated> {
  if (!token.startsWith(SESSION_TOKEN_PREFIX) || token.length > 100)
    throw new HoldfastError('AUTH_SESSION_INVALID');
  const session = await deps.store.sessions.findByTokenHash(sha256Hex(token));
  const now = deps.clock.now();
  if (session === null) throw new HoldfastError('AUTH_SESSION_INVALID');
  const dead = sessionDeadReason(session, now, {
    idleMs: deps.settings.sessionIdleMs,
    absoluteMs: deps.settings.sessionAbsoluteMs,
  });
  if (dead !== null)
    throw new HoldfastError('AUTH_SESSION_INVALID', undefined, { details: { reason: dead } });
  const [principal, account] = await Promise.all([
    deps.store.principals.findById(session.accountId, session.principalId),
    deps.store.accounts.findById(session.accountId),
  ]);
  if (principal === null || account === null || principal.status !== 'active') {
    throw new HoldfastError('AUTH_SESSION_INVALID');
  }
  if (now - session.lastSeenAt >= TOUCH_INTERVAL_MS) {
    await deps.store.sessions.touch(session.id, now);
    session.lastSeenAt = now;
  }
  return { session, principal, account };
}

/** Lists the caller's own live sessions. */
export async function listOwnSessions(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx?: RequestContext },
): Promise<Session[]> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListSessions,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const now = deps.clock.now();
  const sessions = await deps.store.sessions.listLive(principal.accountId, principal.id, now);
  const timeouts = { idleMs: deps.settings.sessionIdleMs, absoluteMs: deps.settings.sessionAbsoluteMs };
  return sessions.filter((s) => sessionDeadReason(s, now, timeouts) === null);
}

/** Revokes one of the caller's own sessions (including the current one: sign-out). */
export async function revokeOwnSession(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; sessionId: string; reason?: string },
): Promise<void> {
  const { principal } = input.actor;
  const action = input.sessionId === input.actor.session.id ? ACTIONS.SignOut : ACTIONS.RevokeSession;
  await authorize(deps, input.actor, action, { accountId: principal.accountId, principal }, input.ctx);
  const session = await deps.store.sessions.findById(principal.accountId, input.sessionId);
  if (session === null || session.principalId !== principal.id || session.revokedAt !== null) {
    throw new HoldfastError('SESSION_NOT_FOUND');
  }
  await deps.store.transaction(async (tx) => {
    await tx.sessions.revoke({
      id: session.id,
      now: deps.clock.now(),
      reason: input.reason ?? 'user_revoked',
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: principal.accountId,
        action: action === ACTIONS.SignOut ? 'auth.sign_out' : 'session.revoke',
        target: session.id,
      },
    });
  });
}

/** An admin (or help desk, for users) revokes every session of a principal. */
export async function revokeUserSessions(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; userRef: string },
): Promise<number> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.RevokeUserSessions,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  return deps.store.transaction(async (tx) => {
    const count = await tx.sessions.revokeAllForPrincipal({
      accountId: user.accountId,
      principalId: user.id,
      now: deps.clock.now(),
      reason: 'admin_revoked',
    });
    // Temporary AWS credentials are sessions too: they end here as well (the acting one stays).
    const { temporaryCredentialsRevoked } = await revokeDerived(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      accountId: user.accountId,
      principalId: user.id,
      temporaryOnly: true,
      reason: 'admin_revoked',
      ...(input.actor.kind === 'principal' ? { exceptId: input.actor.session.id } : {}),
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: user.accountId,
        action: 'session.revoke_all',
        target: user.id,
        details: { count, temporaryCredentialsRevoked },
      },
    });
    return count;
  });
}

/** Changes the caller's password; every other session of theirs is revoked. */
export async function changePassword(
  deps: AppDeps,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    currentPassword: string;
    newPassword: string;
  },
): Promise<void> {
  const { principal, session } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ChangePassword,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const account = await deps.store.accounts.findById(principal.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  // Guesses of the current password (a stolen session guessing it to take the account over) are
  // slowed per principal like sign-in guesses (NIST SP 800-63B §5.2.2), counted before checking.
  const throttleKey = `pwd:change:${principal.id}`;
  const counted = await countAttempt(deps, [{ key: throttleKey, policy: LOGIN_THROTTLE }], []);
  const refuse = async (errorCode: 'PASSWORD_MISMATCH' | 'AUTH_THROTTLED'): Promise<never> => {
    await deps.store.transaction((tx) =>
      writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: principal.accountId,
          action: 'user.password_change',
          target: principal.id,
          outcome: 'failure',
          errorCode,
          details: { security: true },
        },
      }),
    );
    throw errorCode === 'AUTH_THROTTLED'
      ? new HoldfastError('AUTH_THROTTLED', undefined, {
          details: { retryAfterSeconds: Math.max(1, Math.ceil(counted.waitMs / 1000)) },
        })
      : new HoldfastError('PASSWORD_MISMATCH');
  };
  if (counted.waitMs > 0) return refuse('AUTH_THROTTLED');
  const ok =
    principal.passwordHash !== null &&
    (await deps.passwords.verify(principal.passwordHash, input.currentPassword));
  if (!ok) return refuse('PASSWORD_MISMATCH');
  await deps.store.throttle.clear(throttleKey);
  checkNewPassword(deps, { password: input.newPassword, principal, account });
  const passwordHash = await deps.passwords.hash(input.newPassword);
  await deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    await tx.principals.update({ ...principal, passwordHash, passwordChangedAt: now, updatedAt: now });
    const revoked = await tx.sessions.revokeAllForPrincipal({
      accountId: principal.accountId,
      principalId: principal.id,
      now,
      reason: 'password_changed',
      exceptId: session.id,
    });
    await revokeDerived(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      accountId: principal.accountId,
      principalId: principal.id,
      temporaryOnly: true,
      reason: 'password_changed',
      exceptId: session.id,
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: principal.accountId,
        action: 'user.password_change',
        target: principal.id,
        details: { sessionsRevoked: revoked },
      },
    });
  });
}
