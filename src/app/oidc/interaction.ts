/**
 * The Holdfast side of an OpenID Connect authorization request: who is signed in (the console's
 * own session, with its second factor and assurance level), whether that meets what the client
 * asks for (`acr_values`, its registered minimum, `max_age`: never silently lowered: a shortfall
 * is a step-up), whether the user already consented to the client, and what the ID token then
 * says (`amr`, `acr`, `auth_time`). Also the claims a client may read, each user's remembered
 * consents, and the audit records of the provider's events.
 */

import type { AuditDetails, AuditOutcome } from '../../core/audit/event.js';
import { HoldfastError } from '../../core/errors.js';
import { acrFor, amrFor, assuranceShortfall, requiredLevel, sessionLevel } from '../../core/oidc/claims.js';
import type { OidcClient } from '../../core/oidc/oidc.js';
import type { FullAssuranceLevel } from '../../core/factors/webauthn/assurance.js';
import { authenticate, type Authenticated } from '../auth.js';
import type { Actor, RequestContext } from '../context.js';
import { writeAudit, type AppDeps } from '../deps.js';
import { runCommand } from '../kernel.js';

/** What the provider asks for, from the authorization request. */
export interface OidcAuthorizationRequest {
  clientId: string;
  scopes: string[];
  acrValues: string[];
  /** `max_age` in seconds, or null. */
  maxAge: number | null;
  /** The user must be asked for consent again (`prompt=consent`). */
  consentPrompted: boolean;
  /**
   * `prompt=login` (or `max_age=0`, which the provider turns into it): the user must prove a
   * second factor again after the request started (this time, ms); null otherwise.
   */
  reauthenticateAfter: number | null;
}

/** What the sign-in page must do next. */
export type InteractionNeed = 'sign_in' | 'account_mismatch' | 'step_up' | 'consent' | 'ready';

/** The state of an interaction, for the sign-in page. */
export interface InteractionState {
  need: InteractionNeed;
  client: { id: string; name: string };
  account: { id: string; name: string };
  user: { principalId: string; email: string } | null;
  requiredAssurance: FullAssuranceLevel;
  currentAssurance: FullAssuranceLevel | null;
  maxAgeSeconds: number | null;
  scopes: string[];
}

/** What the ID token says about the sign-in. */
export interface OidcLogin {
  /** The library's account id: the principal id, which is also `sub`. */
  accountId: string;
  acr: string;
  amr: string[];
  /** `auth_time` (seconds): when the second factor was last verified. */
  ts: number;
  scopes: string[];
}

async function requireClient(deps: AppDeps, clientId: string): Promise<OidcClient> {
  const client = await deps.store.oidc.findClient(clientId);
  if (client === null) throw new HoldfastError('OIDC_CLIENT_NOT_FOUND');
  return client;
}

async function sessionOf(deps: AppDeps, token: string | null): Promise<Authenticated | null> {
  if (token === null) return null;
  try {
    return await authenticate(deps, token);
  } catch (err) {
    if (err instanceof HoldfastError) return null;
    throw err;
  }
}

function decideNeed(
  deps: AppDeps,
  client: OidcClient,
  auth: Authenticated | null,
  request: OidcAuthorizationRequest,
  consented: readonly string[] | null,
): { need: InteractionNeed; required: FullAssuranceLevel; shortfall: string | null } {
  const required = requiredLevel({ acrValues: request.acrValues, clientMinimum: client.minimumAssurance });
  if (auth === null) return { need: 'sign_in', required, shortfall: null };
  if (auth.principal.accountId !== client.accountId)
    return { need: 'account_mismatch', required, shortfall: null };
  const shortfall = assuranceShortfall({
    auth: auth.session.auth,
    required,
    maxAgeSeconds: request.maxAge,
    authenticatedAfter: request.reauthenticateAfter,
    now: deps.clock.now(),
  });
  if (shortfall !== null) return { need: 'step_up', required, shortfall };
  const covered = consented !== null && request.scopes.every((s) => consented.includes(s));
  if (!covered || request.consentPrompted) return { need: 'consent', required, shortfall: null };
  return { need: 'ready', required, shortfall: null };
}

/** Where an interaction stands for the browser holding `sessionToken` (null: not signed in). */
export async function describeOidcInteraction(
  deps: AppDeps,
  input: { sessionToken: string | null; request: OidcAuthorizationRequest },
): Promise<InteractionState> {
  const client = await requireClient(deps, input.request.clientId);
  const account = await deps.store.accounts.findById(client.accountId);
  if (account === null) throw new HoldfastError('OIDC_CLIENT_NOT_FOUND');
  const auth = await sessionOf(deps, input.sessionToken);
  const consent = auth === null ? null : await deps.store.oidc.findConsent(auth.principal.id, client.id);
  const { need, required } = decideNeed(deps, client, auth, input.request, consent?.scopes ?? null);
  return {
    need,
    client: { id: client.id, name: client.name },
    account: { id: account.id, name: account.name },
    user: auth === null ? null : { principalId: auth.principal.id, email: auth.principal.email },
    requiredAssurance: required,
    currentAssurance: auth === null ? null : sessionLevel(auth.session.auth),
    maxAgeSeconds: input.request.maxAge,
    scopes: input.request.scopes,
  };
}

/**
 * Finishes the Holdfast side of an interaction: the session must be of the client's account and
 * meet the required assurance and MFA age, and the user must have consented (now, `allow`, or
 * before, remembered). A refusal is audited and thrown; success records the consent and one
 * `oidc.sign_in` record, and answers what the ID token will say.
 */
export async function completeOidcInteraction(
  deps: AppDeps,
  input: {
    ctx: RequestContext;
    sessionToken: string | null;
    request: OidcAuthorizationRequest;
    allow: boolean;
  },
): Promise<OidcLogin> {
  const client = await requireClient(deps, input.request.clientId);
  const auth = await sessionOf(deps, input.sessionToken);
  if (auth === null) throw new HoldfastError('AUTH_SESSION_REQUIRED');
  const actor: Actor = { kind: 'principal', principal: auth.principal, session: auth.session };
  return runCommand(deps, actor, input.ctx, null, async (uow) => {
    const consent = await uow.tx.oidc.findConsent(auth.principal.id, client.id);
    const { need, required, shortfall } = decideNeed(
      deps,
      client,
      auth,
      input.request,
      consent?.scopes ?? null,
    );
    const refuse = async (error: HoldfastError, details: AuditDetails) => {
      await writeAudit(deps, uow.tx, {
        actor,
        ctx: input.ctx,
        fact: {
          accountId: client.accountId,
          action: 'oidc.sign_in',
          target: client.id,
          outcome: 'failure',
          errorCode: error.code,
          details: { clientId: client.id, ...details },
        },
      });
      return uow.failAfterCommit(error);
    };
    if (need === 'account_mismatch') {
      return refuse(new HoldfastError('OIDC_ACCOUNT_MISMATCH'), {
        sessionAccountId: auth.principal.accountId,
      });
    }
    if (need === 'step_up') {
      return refuse(new HoldfastError('OIDC_STEP_UP_REQUIRED'), {
        requiredAssurance: required,
        currentAssurance: sessionLevel(auth.session.auth),
        reason: shortfall ?? null,
      });
    }
    if (need === 'consent' && !input.allow) {
      return refuse(new HoldfastError('AUTH_FORBIDDEN', 'the user did not consent'), {
        reason: 'consent_denied',
      });
    }
    const scopes = [...new Set([...(consent?.scopes ?? []), ...input.request.scopes])];
    if (need === 'consent') {
      await uow.tx.oidc.putConsent({
        accountId: client.accountId,
        principalId: auth.principal.id,
        clientId: client.id,
        scopes,
        grantedAt: deps.clock.now(),
      });
    }
    const login: OidcLogin = {
      accountId: auth.principal.id,
      acr: acrFor(auth.session.auth)!,
      amr: amrFor(auth.session.auth),
      ts: Math.floor(auth.session.auth.factor!.at / 1000),
      scopes: input.request.scopes,
    };
    uow.record({
      accountId: client.accountId,
      action: 'oidc.sign_in',
      target: client.id,
      details: {
        clientId: client.id,
        sessionId: auth.session.id,
        acr: login.acr,
        amr: login.amr,
        scopes: login.scopes,
        consentGiven: need === 'consent',
      },
    });
    return login;
  });
}

/** The claims a client may read about a subject: only a live principal of the client's own account. */
export async function oidcAccountClaims(
  deps: AppDeps,
  input: { clientId: string | null; subject: string },
): Promise<Record<string, unknown> | null> {
  if (input.clientId === null) return null;
  const client = await deps.store.oidc.findClient(input.clientId);
  if (client === null) return null;
  const principal = await deps.store.principals.findById(client.accountId, input.subject);
  if (principal === null || principal.status !== 'active') return null;
  return {
    sub: principal.id,
    email: principal.email,
    // Holdfast does not record that the user proved control of the address (an administrator
    // sets it): an application must not link accounts on it (OpenID Connect Core §5.7).
    email_verified: false,
    preferred_username: principal.username,
    name: principal.username,
  };
}

/** The signed-in user's remembered consents. */
export async function listOwnOidcConsents(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' } },
): Promise<Array<{ clientId: string; clientName: string; scopes: string[]; grantedAt: string }>> {
  const consents = await deps.store.oidc.listConsents(input.actor.principal.id);
  const out = [];
  for (const c of consents) {
    const client = await deps.store.oidc.findClient(c.clientId);
    if (client === null || client.accountId !== input.actor.principal.accountId) continue;
    out.push({
      clientId: c.clientId,
      clientName: client.name,
      scopes: c.scopes,
      grantedAt: new Date(c.grantedAt).toISOString(),
    });
  }
  return out;
}

/** Revokes the user's consent to a client and every code and token the client holds for them. */
export async function revokeOwnOidcConsent(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; clientId: string },
): Promise<void> {
  const principal = input.actor.principal;
  await runCommand(deps, input.actor, input.ctx, null, async (uow) => {
    const removed = await uow.tx.oidc.deleteConsent(principal.id, input.clientId);
    if (!removed) throw new HoldfastError('OIDC_CONSENT_NOT_FOUND');
    const tokens = await uow.tx.oidc.revokeSubjectClient(principal.id, input.clientId);
    uow.record({
      accountId: principal.accountId,
      action: 'oidc.consent_revoked',
      target: input.clientId,
      details: { recordsRevoked: tokens },
    });
  });
}

/**
 * One audit record of a provider event (a code or token issued, a grant refused or revoked, a
 * logout), in the account of the client it concerns. Never a token value: only ids and codes.
 */
export async function recordOidcEvent(
  deps: AppDeps,
  input: {
    ctx: RequestContext;
    clientId: string | null;
    subject: string | null;
    action: string;
    outcome: AuditOutcome;
    errorCode?: string | null;
    details?: AuditDetails;
  },
): Promise<void> {
  const client = input.clientId === null ? null : await deps.store.oidc.findClient(input.clientId);
  await deps.store.transaction((tx) =>
    writeAudit(deps, tx, {
      actor: null,
      ctx: input.ctx,
      fact: {
        accountId: client?.accountId ?? null,
        action: input.action,
        target: input.clientId,
        outcome: input.outcome,
        errorCode: input.errorCode ?? null,
        details: { ...(input.subject === null ? {} : { subject: input.subject }), ...(input.details ?? {}) },
      },
    }),
  );
}
