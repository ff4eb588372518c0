/**
 * Running one person's account from the administration console: re-enable, change role, send an
 * enrolment grant, and the per-user views (sessions, events, contacts, resets, alerts). Each
 * command goes through the kernel: one catalogued action authorized once (account wall, the
 * guardrails, then policies), one transaction, one audit record.
 */

import { HoldfastError } from '../core/errors.js';
import type { AuditRecord } from '../core/audit/event.js';
import type { Alert, RecoveryRequest } from '../core/recovery/types.js';
import { ROLES, type Principal, type Role } from '../core/principals/types.js';
import { sha256Hex } from '../core/crypto/hashing.js';
import { sessionDeadReason, type Session } from '../core/sessions/session.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, type AppDeps } from './deps.js';
import { runCommand } from './kernel.js';
import { ENROLMENT_GRANT_TTL_MS } from './policies.js';
import { emailAddressOf, queueMessage } from './recovery-support.js';
import type { ContactView } from './contacts.js';
import { hasNoMailAddress, keepAnOwnerWhoCanSignIn, requireUser } from './users.js';

/** What every command about one user of the caller's account takes. */
interface AboutUser {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
  userRef: string;
}

/** Re-enables a disabled user (they sign in again with their own password and factors). */
export async function enableUser(deps: AppDeps, input: AboutUser): Promise<Principal> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.EnableUser, resource: { accountId: input.accountId, principal: user } },
    async (uow) => {
      const current = await uow.tx.principals.findById(user.accountId, user.id);
      if (current === null) throw new HoldfastError('USER_NOT_FOUND');
      if (current.status !== 'disabled') throw new HoldfastError('USER_NOT_DISABLED');
      const updated: Principal = { ...current, status: 'active', updatedAt: deps.clock.now() };
      await uow.tx.principals.update(updated);
      uow.record({ accountId: user.accountId, action: 'user.enable', target: user.id });
      return updated;
    },
  );
}

/**
 * Changes a user's role. Authorized on the user as they are and as they would be (G6: an admin
 * neither acts on an owner nor makes one), with a fresh second factor (G1: a role is power over
 * other people's ways in). Nobody changes their own role, and the account keeps an active owner
 * who can sign in (USER_LAST_OWNER).
 */
export async function changeUserRole(deps: AppDeps, input: AboutUser & { role: string }): Promise<Principal> {
  if (!ROLES.includes(input.role as Role)) {
    throw new HoldfastError('REQUEST_INVALID', `role must be one of ${ROLES.join(', ')}`);
  }
  const role = input.role as Role;
  const user = await requireUser(deps, input.accountId, input.userRef);
  if (input.actor.kind === 'principal' && input.actor.principal.id === user.id) {
    throw new HoldfastError('USER_OWN_ROLE');
  }
  const proposed: Principal = { ...user, role };
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    {
      action: ACTIONS.ChangeUserRole,
      resource: { accountId: input.accountId, principal: user, reaches: [proposed] },
    },
    async (uow) => {
      const current = await uow.tx.principals.findById(user.accountId, user.id);
      if (current === null) throw new HoldfastError('USER_NOT_FOUND');
      // The role checked by the guardrails is the role changed: a concurrent change is refused.
      if (current.role !== user.role) {
        throw new HoldfastError('REQUEST_INVALID', 'the role changed meanwhile: reload and try again');
      }
      if (current.role === role) throw new HoldfastError('USER_ROLE_UNCHANGED');
      if (current.role === 'owner') await keepAnOwnerWhoCanSignIn(uow.tx, current);
      const updated: Principal = { ...current, role, updatedAt: deps.clock.now() };
      await uow.tx.principals.update(updated);
      uow.record({
        accountId: user.accountId,
        action: 'user.role_change',
        target: user.id,
        details: { from: current.role, to: role, security: true },
      });
      return updated;
    },
  );
}

/**
 * An administrator sends a one-time enrolment grant (G3) to a user who has no enabled factor
 * (theirs were removed or never enrolled past the initial window). The grant goes only to the
 * user's own e-mail address through the outbox, sealed: the administrator never holds it, so
 * one administrator cannot both set a password (setup link) and enrol a factor for someone.
 * Needs a fresh second factor (G1); the help desk and admins acting on owners are refused (G6).
 */
export async function sendEnrolmentGrant(
  deps: AppDeps,
  input: AboutUser,
): Promise<{ expiresAt: number; sentTo: string }> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.IssueEnrolmentGrant, resource: { accountId: input.accountId, principal: user } },
    async (uow) => {
      const current = await uow.tx.principals.findById(user.accountId, user.id);
      if (current === null) throw new HoldfastError('USER_NOT_FOUND');
      if (current.status !== 'active') throw new HoldfastError('USER_DISABLED');
      const factors = await uow.tx.factors.listByPrincipal(current.accountId, current.id);
      if (factors.some((f) => f.status === 'enabled')) throw new HoldfastError('ENROLMENT_GRANT_NOT_NEEDED');
      const sentTo = await emailAddressOf(uow.tx, current);
      if (hasNoMailAddress(current) && sentTo === current.email)
        throw new HoldfastError('CONTACT_NOT_VERIFIED');
      const token = 'hfgrant_' + Buffer.from(deps.random.bytes(32)).toString('base64url');
      const now = deps.clock.now();
      const expiresAt = now + ENROLMENT_GRANT_TTL_MS;
      const issuedBy = input.actor.kind === 'principal' ? input.actor.principal.id : null;
      await uow.tx.enrolment.insertGrant({
        id: newId(deps, 'egr_'),
        accountId: current.accountId,
        principalId: current.id,
        tokenHash: sha256Hex(token),
        reason: 'admin',
        issuedBy,
        createdAt: now,
        expiresAt,
        usedAt: null,
      });
      await queueMessage(deps, uow.tx, {
        accountId: current.accountId,
        principalId: current.id,
        channel: 'email',
        template: 'enrolment_grant.issued',
        recipient: sentTo,
        secret: token,
        payload: { expiresAt },
      });
      uow.record({
        accountId: current.accountId,
        action: 'enrolment_grant.issue',
        target: current.id,
        details: { reason: 'admin', expiresAt, delivery: 'email', security: true },
      });
      return { expiresAt, sentTo };
    },
  );
}

/** Reads about one user: the user, after authorizing `action` on them (no record: reads are not audited). */
async function readAbout(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string },
  action: (typeof ACTIONS)[keyof typeof ACTIONS],
): Promise<Principal> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(deps, input.actor, action, { accountId: input.accountId, principal: user }, input.ctx);
  return user;
}

/** A user's live sessions (an administrator's view; never their tokens). */
export async function listUserSessions(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string },
): Promise<Session[]> {
  const user = await readAbout(deps, input, ACTIONS.ListSessions);
  const now = deps.clock.now();
  const timeouts = { idleMs: deps.settings.sessionIdleMs, absoluteMs: deps.settings.sessionAbsoluteMs };
  const sessions = await deps.store.sessions.listLive(user.accountId, user.id, now);
  return sessions.filter((s) => sessionDeadReason(s, now, timeouts) === null);
}

/** Ends one session of a user (SESSION_NOT_FOUND unless it is a live session of theirs). */
export async function revokeUserSession(
  deps: AppDeps,
  input: AboutUser & { sessionId: string },
): Promise<void> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.RevokeSession, resource: { accountId: input.accountId, principal: user } },
    async (uow) => {
      const session = await uow.tx.sessions.findById(user.accountId, input.sessionId);
      if (session === null || session.principalId !== user.id || session.revokedAt !== null) {
        throw new HoldfastError('SESSION_NOT_FOUND');
      }
      await uow.tx.sessions.revoke({ id: session.id, now: deps.clock.now(), reason: 'admin_revoked' });
      uow.record({
        accountId: user.accountId,
        action: 'session.revoke',
        // The person is the target (their page lists it); the session is in the details.
        target: user.id,
        details: { sessionId: session.id, byAdmin: true },
      });
    },
  );
}

/** Most records one page of a user's events holds. */
export const MAX_USER_EVENTS_PAGE = 100;

/**
 * One page of the audit records about a user (they acted, or they are the target), newest first;
 * `beforeSeq` continues from the last record of the previous page. `names` gives the e-mail
 * address of every principal of the account who acted in the page, so people read names.
 */
export async function listUserEvents(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx?: RequestContext;
    accountId: string;
    userRef: string;
    beforeSeq?: number;
    limit?: number;
  },
): Promise<{ records: AuditRecord[]; names: Record<string, string> }> {
  const user = await readAbout(deps, input, ACTIONS.ReadAuditLog);
  const limit = input.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_USER_EVENTS_PAGE) {
    throw new HoldfastError('REQUEST_INVALID', `limit must be 1-${MAX_USER_EVENTS_PAGE}`);
  }
  const records = await deps.store.audit.query({
    accountId: user.accountId,
    about: user.id,
    newestFirst: true,
    limit,
    ...(input.beforeSeq === undefined ? {} : { beforeSeq: input.beforeSeq }),
  });
  const names: Record<string, string> = {};
  for (const id of new Set(records.map((r) => r.actorId))) {
    if (id === null) continue;
    const actor = await deps.store.principals.findById(user.accountId, id);
    if (actor !== null) names[id] = actor.email;
  }
  return { records, names };
}

/** A user's contact channels, as an administrator sees them (addresses, status; no tokens). */
export async function listUserContacts(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string },
): Promise<ContactView[]> {
  const user = await readAbout(deps, input, ACTIONS.ListContacts);
  const contacts = await deps.store.recovery.listContacts(user.accountId, user.id);
  return contacts.map((c) => ({
    id: c.id,
    kind: c.kind,
    address: c.address,
    status: c.status,
    strength: c.kind === 'phone' ? 'weak' : 'ordinary',
    verifiedAt: c.verifiedAt,
  }));
}

/** The recovery and help-desk reset requests about a user, newest first. */
export async function listUserResets(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string },
): Promise<RecoveryRequest[]> {
  const user = await readAbout(deps, input, ACTIONS.ListResetRequests);
  const requests = await deps.store.recovery.listRequests({
    accountId: user.accountId,
    principalId: user.id,
  });
  return [...requests].sort((a, b) => b.createdAt - a.createdAt);
}

/** How many of the account's newest alerts are searched for those about one user. */
const ALERTS_SEARCHED = 500;

/** The alerts about a user among the account's newest, newest first. */
export async function listUserAlerts(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string },
): Promise<Alert[]> {
  const user = await readAbout(deps, input, ACTIONS.ListAlerts);
  const alerts = await deps.store.recovery.listAlerts({ accountId: user.accountId, limit: ALERTS_SEARCHED });
  return alerts.filter((a) => a.principalId === user.id);
}
