import { HoldfastError, isHoldfastError } from '../core/errors.js';
import {
  newAccountId,
  newPrincipalId,
  parseAccountName,
  parseEmail,
  parseUsername,
  usernameFromEmail,
  isAccountId,
} from '../core/principals/identifiers.js';
import { checkPasswordRules } from '../core/principals/password-rules.js';
import { ROLES, type Account, type Principal, type Role } from '../core/principals/types.js';
import { StorageConflict, type ListedPrincipal, type Repositories } from '../core/ports.js';
import { sha256Hex } from '../core/crypto/hashing.js';
import { ACTIONS } from './actions.js';
import { authorize, decide } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { revokeDerived } from './derived-credentials.js';
import { writeAudit, type AppDeps } from './deps.js';
import { parseUserCsv } from '../core/principals/user-csv.js';
import { queueMessage } from './recovery-support.js';

/** A freshly issued one-time setup token (shown once, stored as a hash). */
export interface IssuedSetupToken {
  token: string;
  expiresAt: number;
}

/** Finds an account by 12-digit id or by name. */
export async function findAccount(deps: AppDeps, ref: string): Promise<Account | null> {
  const trimmed = ref.trim();
  if (isAccountId(trimmed)) return deps.store.accounts.findById(trimmed);
  return deps.store.accounts.findByName(trimmed.toLowerCase());
}

/** Loads an account or fails with ACCOUNT_NOT_FOUND. */
export async function requireAccount(deps: AppDeps, ref: string): Promise<Account> {
  const account = await findAccount(deps, ref);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  return account;
}

async function issueSetupToken(
  deps: AppDeps,
  tx: Repositories,
  principal: Principal,
): Promise<IssuedSetupToken> {
  const token = 'hfsetup_' + Buffer.from(deps.random.bytes(32)).toString('base64url');
  const now = deps.clock.now();
  const expiresAt = now + deps.settings.setupTokenTtlMs;
  await tx.setupTokens.revokeForPrincipal(principal.accountId, principal.id, now);
  await tx.setupTokens.insert({
    tokenHash: sha256Hex(token),
    accountId: principal.accountId,
    principalId: principal.id,
    purpose: 'password_setup',
    createdAt: now,
    expiresAt,
    usedAt: null,
  });
  return { token, expiresAt };
}

/** Maps unique-constraint violations to the domain's codes. */
function mapConflict(err: unknown): never {
  if (isHoldfastError(err)) throw err;
  if (!(err instanceof StorageConflict)) throw err;
  if (err.table === 'accounts' && err.columns.includes('name')) throw new HoldfastError('ACCOUNT_NAME_TAKEN');
  if (err.table === 'principals' && err.columns.includes('email'))
    throw new HoldfastError('USER_EMAIL_TAKEN');
  if (err.table === 'principals' && err.columns.includes('username'))
    throw new HoldfastError('USER_NAME_TAKEN');
  throw err;
}

/** Creates an account and its owner; returns a one-time setup token the owner uses to set a password. */
export async function bootstrapAccount(
  deps: AppDeps,
  input: { accountName: string; ownerEmail: string; ctx: RequestContext },
): Promise<{ account: Account; owner: Principal; setup: IssuedSetupToken }> {
  const name = parseAccountName(input.accountName);
  const email = parseEmail(input.ownerEmail);
  const actor: Actor = { kind: 'operator' };
  await authorize(deps, actor, ACTIONS.CreateAccount, { accountId: '' });
  const now = deps.clock.now();
  const account: Account = { id: newAccountId(deps.random), name, createdAt: now, settings: {} };
  const owner: Principal = {
    id: newPrincipalId(deps.random),
    accountId: account.id,
    username: usernameFromEmail(email),
    email,
    role: 'owner',
    status: 'active',
    passwordHash: null,
    passwordChangedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  return deps.store
    .transaction(async (tx) => {
      if ((await tx.accounts.findByName(name)) !== null) throw new HoldfastError('ACCOUNT_NAME_TAKEN');
      await tx.accounts.insert(account);
      await tx.principals.insert(owner);
      const setup = await issueSetupToken(deps, tx, owner);
      await writeAudit(deps, tx, {
        actor,
        ctx: input.ctx,
        fact: { accountId: account.id, action: 'account.create', target: account.id, details: { name } },
      });
      await writeAudit(deps, tx, {
        actor,
        ctx: input.ctx,
        fact: { accountId: account.id, action: 'user.create', target: owner.id, details: { role: 'owner' } },
      });
      return { account, owner, setup };
    })
    .catch(mapConflict);
}

/**
 * The placeholder address of a user created without one (IAM users are named, not mailed). It is
 * unique (it holds the principal id) and in the `.invalid` top-level domain, which never
 * resolves (RFC 2606 §2), so no notification to it is ever delivered anywhere.
 */
export function noMailAddressFor(principalId: string): string {
  return `${principalId.toLowerCase()}@no-mail.invalid`;
}

/** True when the principal was created without an e-mail address of its own. */
export function hasNoMailAddress(principal: Principal): boolean {
  return principal.email === noMailAddressFor(principal.id);
}

/** Creates a user in an account with a role; returns a one-time setup token. */
export async function createUser(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    /** Optional for users created by name only (IAM CreateUser): see {@link noMailAddressFor}. */
    email?: string;
    username?: string;
    role?: string;
    /**
     * Also e-mail the person an invitation carrying the setup link (through the outbox, in the
     * same transaction). Needs a real e-mail address.
     */
    invite?: boolean;
  },
): Promise<{ user: Principal; setup: IssuedSetupToken; invitationId: string | null }> {
  if (input.invite === true && input.email === undefined) {
    throw new HoldfastError('REQUEST_INVALID', 'an invitation needs an e-mail address');
  }
  if (input.email === undefined && input.username === undefined) {
    throw new HoldfastError('REQUEST_INVALID', 'a user needs an e-mail address or a user name');
  }
  const id = newPrincipalId(deps.random);
  const email = input.email === undefined ? noMailAddressFor(id) : parseEmail(input.email);
  const username = parseUsername(input.username ?? usernameFromEmail(email));
  const role = (input.role ?? 'user') as Role;
  if (!ROLES.includes(role))
    throw new HoldfastError('REQUEST_INVALID', `role must be one of ${ROLES.join(', ')}`);
  const now = deps.clock.now();
  const user: Principal = {
    id,
    accountId: input.accountId,
    username,
    email,
    role,
    status: 'active',
    passwordHash: null,
    passwordChangedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  // Creating a principal of a role is authorised like acting on one.
  await authorize(
    deps,
    input.actor,
    ACTIONS.CreateUser,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  return deps.store
    .transaction(async (tx) => {
      if ((await tx.accounts.findById(input.accountId)) === null)
        throw new HoldfastError('ACCOUNT_NOT_FOUND');
      if ((await tx.principals.findByLogin(input.accountId, email)) !== null)
        throw new HoldfastError('USER_EMAIL_TAKEN');
      if ((await tx.principals.findByLogin(input.accountId, username)) !== null)
        throw new HoldfastError('USER_NAME_TAKEN');
      const { setup, invitationId } = await insertNewUser(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        user,
        invite: input.invite === true,
      });
      return { user, setup, invitationId };
    })
    .catch(mapConflict);
}

/**
 * Stores a new principal with its one-time setup token, queues the invitation e-mail when asked
 * (the link sealed in the outbox, rendered only when sent) and writes its `user.create` record,
 * inside the caller's transaction.
 */
async function insertNewUser(
  deps: AppDeps,
  tx: Repositories,
  input: { actor: Actor; ctx: RequestContext; user: Principal; invite: boolean; imported?: boolean },
): Promise<{ setup: IssuedSetupToken; invitationId: string | null }> {
  const { user } = input;
  const { email, username, role } = user;
  await tx.principals.insert(user);
  const setup = await issueSetupToken(deps, tx, user);
  const account = (await tx.accounts.findById(user.accountId))!;
  const invitationId = input.invite
    ? await queueMessage(deps, tx, {
        accountId: user.accountId,
        principalId: user.id,
        channel: 'email',
        template: 'user.invitation',
        recipient: email,
        secret: setup.token,
        payload: {
          accountName: account.name,
          username,
          role,
          expiresAt: setup.expiresAt,
          invitedBy:
            input.actor.kind === 'principal'
              ? `${input.actor.principal.username} <${input.actor.principal.email}>`
              : null,
        },
      })
    : null;
  await writeAudit(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    fact: {
      accountId: user.accountId,
      action: 'user.create',
      target: user.id,
      details: {
        role,
        ...(invitationId === null ? {} : { invited: true }),
        ...(input.imported === true ? { imported: true } : {}),
      },
    },
  });
  return { setup, invitationId };
}

/** One row the import refused, with the line of the file it came from. */
export interface ImportProblem {
  line: number;
  code: string;
  message: string;
}

/**
 * Creates many users from a CSV file (header `email`, `role`, optional `username`), all or
 * nothing: every row is checked first (syntax, role, duplicates in the file and in the account,
 * and whether this actor may create that role); with any problem nothing is created and every
 * problem is reported with its line. Otherwise one transaction creates them all, each with its
 * setup link and, when asked, its invitation e-mail.
 */
export async function importUsers(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; csv: string; invite?: boolean },
): Promise<
  | { ok: true; users: Array<{ user: Principal; setup: IssuedSetupToken; invitationId: string | null }> }
  | { ok: false; problems: ImportProblem[] }
> {
  await authorize(deps, input.actor, ACTIONS.CreateUser, { accountId: input.accountId }, input.ctx);
  const parsed = parseUserCsv(input.csv);
  const problems: ImportProblem[] = [...parsed.problems];
  const existing = await deps.store.principals.list(input.accountId);
  const taken = new Set(existing.flatMap((p) => [p.email.toLowerCase(), p.username.toLowerCase()]));
  const seen = new Map<string, number>();
  const now = deps.clock.now();
  const planned: Principal[] = [];
  for (const row of parsed.rows) {
    const problem = (code: string, message: string) => problems.push({ line: row.line, code, message });
    let email: string;
    let username: string;
    try {
      email = parseEmail(row.email);
      username = parseUsername(row.username ?? usernameFromEmail(email));
    } catch (err) {
      problem('REQUEST_INVALID', err instanceof Error ? err.message : 'invalid row');
      continue;
    }
    if (!ROLES.includes(row.role as Role)) {
      problem('REQUEST_INVALID', `role must be one of ${ROLES.join(', ')}`);
      continue;
    }
    if (taken.has(email)) problem('USER_EMAIL_TAKEN', `${email} is already a user of this account`);
    else if (taken.has(username.toLowerCase()))
      problem('USER_NAME_TAKEN', `the user name ${username} is taken in this account`);
    else if (seen.has(email)) problem('REQUEST_INVALID', `${email} is also on line ${seen.get(email)}`);
    else if (seen.has(username.toLowerCase()))
      problem(
        'REQUEST_INVALID',
        `the user name ${username} is also on line ${seen.get(username.toLowerCase())}`,
      );
    seen.set(email, seen.get(email) ?? row.line);
    seen.set(username.toLowerCase(), seen.get(username.toLowerCase()) ?? row.line);
    const id = newPrincipalId(deps.random);
    const user: Principal = {
      id,
      accountId: input.accountId,
      username,
      email,
      role: row.role as Role,
      status: 'active',
      passwordHash: null,
      passwordChangedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    // Creating a principal of a role is authorised like acting on one (an admin creates no owner).
    const decision =
      input.actor.kind === 'operator'
        ? { allowed: true as const, error: undefined }
        : await decide(deps, input.actor, ACTIONS.CreateUser, {
            accountId: input.accountId,
            principal: user,
          });
    if (!decision.allowed) {
      problem(
        decision.error?.code ?? 'AUTH_FORBIDDEN',
        `you may not create a user with the role ${row.role}`,
      );
      continue;
    }
    planned.push(user);
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line);
    await deps.store.transaction((tx) =>
      writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: input.accountId,
          action: 'user.import',
          target: null,
          outcome: 'failure',
          errorCode: 'USER_IMPORT_INVALID',
          details: { rows: parsed.rows.length, problems: problems.length },
        },
      }),
    );
    return { ok: false, problems };
  }
  const users = await deps.store
    .transaction(async (tx) => {
      const created = [];
      for (const user of planned) {
        const { setup, invitationId } = await insertNewUser(deps, tx, {
          actor: input.actor,
          ctx: input.ctx,
          user,
          invite: input.invite === true,
          imported: true,
        });
        created.push({ user, setup, invitationId });
      }
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: input.accountId,
          action: 'user.import',
          target: null,
          details: { created: created.length, invited: input.invite === true },
        },
      });
      return created;
    })
    .catch(mapConflict);
  return { ok: true, users };
}

/** Loads a principal of the account, or USER_NOT_FOUND. */
export async function requireUser(deps: AppDeps, accountId: string, ref: string): Promise<Principal> {
  const user =
    (await deps.store.principals.findById(accountId, ref)) ??
    (await deps.store.principals.findByLogin(accountId, ref));
  if (user === null) throw new HoldfastError('USER_NOT_FOUND');
  return user;
}

/** Lists the principals of an account. */
export async function listUsers(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string },
): Promise<Principal[]> {
  await authorize(deps, input.actor, ACTIONS.ListUsers, { accountId: input.accountId }, input.ctx);
  return deps.store.principals.list(input.accountId);
}

/** Columns the users list sorts on. */
export const USER_SORT_KEYS = ['email', 'username', 'role', 'status', 'createdAt', 'factors'] as const;
/** A sort column of the users list. */
export type UserSortKey = (typeof USER_SORT_KEYS)[number];

/** One page of the users list: search, filters, sort and paging, decided on the server. */
export interface UserQuery {
  /** Case-insensitive text found in the e-mail address or user name. */
  search?: string;
  role?: Role;
  status?: Principal['status'];
  /** Enabled second factors: none (no MFA), exactly one, or two and more. */
  factors?: '0' | '1' | '2+';
  sort?: UserSortKey;
  order?: 'asc' | 'desc';
  offset?: number;
  /** At most {@link MAX_USER_PAGE}. */
  limit?: number;
}

/** Most users one page holds. */
export const MAX_USER_PAGE = 200;

/** A listed user with the number of their enabled second factors. */
export type ListedUser = ListedPrincipal;

/**
 * One page of an account's users with their enabled-factor counts. The database searches, filters,
 * sorts and cuts the page (two queries: the page and the number of matches), so a page costs the
 * same however many users the account has, and a console page is one request.
 */
export async function queryUsers(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; query: UserQuery },
): Promise<{ users: ListedUser[]; total: number; offset: number; limit: number }> {
  await authorize(deps, input.actor, ACTIONS.ListUsers, { accountId: input.accountId }, input.ctx);
  const q = input.query;
  const limit = Math.max(1, Math.min(MAX_USER_PAGE, q.limit ?? MAX_USER_PAGE));
  const offset = Math.max(0, q.offset ?? 0);
  const { rows, total } = await deps.store.principals.query(input.accountId, {
    ...(q.search !== undefined ? { search: q.search } : {}),
    ...(q.role !== undefined ? { role: q.role } : {}),
    ...(q.status !== undefined ? { status: q.status } : {}),
    ...(q.factors !== undefined ? { factors: q.factors } : {}),
    sort: q.sort ?? 'email',
    order: q.order ?? 'asc',
    offset,
    limit,
  });
  return { users: rows, total, offset, limit };
}

/** Reads one principal. */
export async function getUser(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string },
): Promise<Principal> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.GetUser,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  return user;
}

/**
 * Refuses a change that would take `leaving` away from the owners (disable, delete) when no other
 * owner is active with a password: the account always keeps an owner who can sign in and undo
 * whatever an admin did (USER_LAST_OWNER). Checked inside the transaction that makes the change.
 */
export async function keepAnOwnerWhoCanSignIn(
  tx: Pick<Repositories, 'principals'>,
  leaving: Principal,
): Promise<void> {
  if (leaving.role !== 'owner' || leaving.status !== 'active') return;
  const principals = await tx.principals.list(leaving.accountId);
  const another = principals.some(
    (p) => p.id !== leaving.id && p.role === 'owner' && p.status === 'active' && p.passwordHash !== null,
  );
  if (!another) {
    throw new HoldfastError(
      'USER_LAST_OWNER',
      'the account would be left without an active owner who can sign in',
    );
  }
}

/** Disables a principal and revokes its sessions; the last owner who can sign in cannot be disabled. */
export async function disableUser(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; userRef: string },
): Promise<Principal> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.DisableUser,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    await keepAnOwnerWhoCanSignIn(tx, user);
    const updated: Principal = { ...user, status: 'disabled', updatedAt: now };
    await tx.principals.update(updated);
    const revoked = await tx.sessions.revokeAllForPrincipal({
      accountId: user.accountId,
      principalId: user.id,
      now,
      reason: 'user_disabled',
    });
    await tx.setupTokens.revokeForPrincipal(user.accountId, user.id, now);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: user.accountId,
        action: 'user.disable',
        target: user.id,
        details: { sessionsRevoked: revoked },
      },
    });
    return updated;
  });
}

/** Issues a new one-time setup link for a principal (e.g. the first link expired). */
export async function createSetupLink(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; userRef: string },
): Promise<IssuedSetupToken> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.CreateSetupLink,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  if (user.status !== 'active') throw new HoldfastError('REQUEST_INVALID', 'user is disabled');
  return deps.store.transaction(async (tx) => {
    const setup = await issueSetupToken(deps, tx, user);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: { accountId: user.accountId, action: 'user.setup_link_issue', target: user.id },
    });
    return setup;
  });
}

/** Checks a candidate password against the rules and the principal's own context words. */
export function checkNewPassword(
  deps: AppDeps,
  input: { password: string; principal: Principal; account: Account },
): void {
  checkPasswordRules(input.password, {
    minLength: Math.max(deps.settings.passwordMinLength, input.account.settings.passwordMinLength ?? 0),
    commonPasswords: deps.commonPasswords,
    contextWords: [
      input.principal.email,
      input.principal.username,
      input.account.name,
      input.principal.email.split('@')[0]!,
    ],
  });
}

/**
 * Whom a one-time setup token sets up: the account's name and the person's e-mail address and user
 * name, so the page the link opens can say whose password is being set. Reads only; the token
 * stays usable. An unknown, used or expired token, or one of a disabled person, is
 * AUTH_SETUP_TOKEN_INVALID, as completing setup with it would be.
 */
export async function inspectSetupToken(
  deps: AppDeps,
  input: { token: string },
): Promise<{ account: Account; principal: Principal; expiresAt: number }> {
  const row = await deps.store.setupTokens.findByHash(sha256Hex(input.token));
  if (row === null || row.usedAt !== null || row.expiresAt <= deps.clock.now()) {
    throw new HoldfastError('AUTH_SETUP_TOKEN_INVALID');
  }
  const [principal, account] = await Promise.all([
    deps.store.principals.findById(row.accountId, row.principalId),
    deps.store.accounts.findById(row.accountId),
  ]);
  if (principal === null || account === null || principal.status !== 'active') {
    throw new HoldfastError('AUTH_SETUP_TOKEN_INVALID');
  }
  return { account, principal, expiresAt: row.expiresAt };
}

/** Uses a one-time setup token to set the principal's password. Nothing changes on any failure. */
export async function completeSetup(
  deps: AppDeps,
  input: { ctx: RequestContext; token: string; password: string },
): Promise<{ principal: Principal }> {
  const tokenHash = sha256Hex(input.token);
  // Validate password rules before consuming the token, so a rejected password leaves it usable.
  const preview = await deps.store.transaction(async (tx) => {
    const row = await tx.setupTokens.findByHash(tokenHash);
    if (row === null || row.usedAt !== null || row.expiresAt <= deps.clock.now()) return null;
    const principal = await tx.principals.findById(row.accountId, row.principalId);
    const account = await tx.accounts.findById(row.accountId);
    return principal && account ? { principal, account } : null;
  });
  if (preview === null || preview.principal.status !== 'active') {
    await deps.store.transaction((tx) =>
      writeAudit(deps, tx, {
        actor: null,
        ctx: input.ctx,
        fact: {
          accountId: preview?.account.id ?? null,
          action: 'user.setup_complete',
          target: preview?.principal.id ?? null,
          outcome: 'failure',
          errorCode: 'AUTH_SETUP_TOKEN_INVALID',
        },
      }),
    );
    throw new HoldfastError('AUTH_SETUP_TOKEN_INVALID');
  }
  checkNewPassword(deps, {
    password: input.password,
    principal: preview.principal,
    account: preview.account,
  });
  const passwordHash = await deps.passwords.hash(input.password);
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const used = await tx.setupTokens.consume(tokenHash, now);
    if (used === null) throw new HoldfastError('AUTH_SETUP_TOKEN_INVALID');
    const current = await tx.principals.findById(used.accountId, used.principalId);
    if (current === null) throw new HoldfastError('AUTH_SETUP_TOKEN_INVALID');
    const updated: Principal = { ...current, passwordHash, passwordChangedAt: now, updatedAt: now };
    await tx.principals.update(updated);
    await tx.sessions.revokeAllForPrincipal({
      accountId: current.accountId,
      principalId: current.id,
      now,
      reason: 'password_set',
    });
    await revokeDerived(deps, tx, {
      actor: null,
      ctx: input.ctx,
      accountId: current.accountId,
      principalId: current.id,
      temporaryOnly: true,
      reason: 'password_set',
    });
    await writeAudit(deps, tx, {
      actor: null,
      ctx: input.ctx,
      fact: { accountId: current.accountId, action: 'user.setup_complete', target: current.id },
    });
    return { principal: updated };
  });
}
