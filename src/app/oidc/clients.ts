/**
 * OpenID Connect clients (relying parties) of an account: registered, listed and deleted by the
 * account's administrators (API, console, CLI). Each command runs on the kernel: authorized once,
 * one transaction, one audit record. The client secret is shown once and kept sealed under the
 * master key: the provider compares it in constant time (RFC 6749 §2.3.1 client_secret_basic).
 */

import { HoldfastError } from '../../core/errors.js';
import { isKnownMinimum } from '../../core/oidc/claims.js';
import type { OidcClient } from '../../core/oidc/oidc.js';
import { accountArn } from '../../core/policy/arn.js';
import { ACTIONS } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { newId, type AppDeps } from '../deps.js';
import { runCommand } from '../kernel.js';

/** Most redirect URIs one client may register. */
export const MAX_REDIRECT_URIS = 10;
/** Client names: printable, 1-128 characters. */
const NAME = /^[\p{L}\p{N} _.,:()'@+-]{1,128}$/u;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What callers see of a client (never its secret). */
export interface OidcClientView {
  clientId: string;
  accountId: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  public: boolean;
  minimumAssurance: string | null;
  createdAt: string;
}

/** The sealing context of a client's secret (also the sealed-values list for key rotation). */
export function clientSecretContext(clientId: string): string {
  return `oidc-client:${clientId}`;
}

/** The ARN a client is authorized as. */
export function oidcClientArn(accountId: string, clientId: string): string {
  return `${accountArn(accountId)}:oidc-client/${clientId}`;
}

function view(client: OidcClient): OidcClientView {
  return {
    clientId: client.id,
    accountId: client.accountId,
    name: client.name,
    redirectUris: client.redirectUris,
    postLogoutRedirectUris: client.postLogoutRedirectUris,
    public: client.public,
    minimumAssurance: client.minimumAssurance,
    createdAt: new Date(client.createdAt).toISOString(),
  };
}

/**
 * Checks one redirect URI: absolute, https (http only on a loopback host, RFC 8252 §7.3 and
 * RFC 9700 §2.1), no fragment (RFC 6749 §3.1.2), no user information. It is kept exactly as
 * given: the provider compares redirect URIs by exact string match.
 */
export function checkRedirectUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new HoldfastError('OIDC_REDIRECT_URI_INVALID');
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
  // A host name or an address, never a pattern: `*` or any other character is not a wildcard here.
  const host = /^([a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/i.test(url.hostname);
  if (
    !secure ||
    !host ||
    uri.includes('#') ||
    url.username !== '' ||
    url.password !== '' ||
    uri.length > 2000
  ) {
    throw new HoldfastError('OIDC_REDIRECT_URI_INVALID');
  }
  return uri;
}

function checkUris(uris: readonly string[], atLeastOne: boolean): string[] {
  if (atLeastOne && uris.length === 0) {
    throw new HoldfastError('OIDC_REDIRECT_URI_INVALID', 'at least one redirect URI is needed');
  }
  if (uris.length > MAX_REDIRECT_URIS) {
    throw new HoldfastError('REQUEST_INVALID', `at most ${MAX_REDIRECT_URIS} redirect URIs`);
  }
  return [...new Set(uris.map(checkRedirectUri))];
}

/** Registers a client; a confidential client's secret is returned once. */
export async function createOidcClient(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    name?: string;
    redirectUris: readonly string[];
    postLogoutRedirectUris?: readonly string[];
    public: boolean;
    minimumAssurance?: string | null;
  },
): Promise<{ client: OidcClientView; clientSecret: string | null }> {
  const name = input.name ?? 'OpenID Connect client';
  if (!NAME.test(name))
    throw new HoldfastError('REQUEST_INVALID', 'a client name has 1-128 printable characters');
  const redirectUris = checkUris(input.redirectUris, true);
  const postLogoutRedirectUris = checkUris(input.postLogoutRedirectUris ?? [], false);
  const minimum = input.minimumAssurance ?? null;
  if (minimum !== null && !isKnownMinimum(minimum)) {
    throw new HoldfastError(
      'REQUEST_INVALID',
      'unknown assurance level for the client minimum (docs/oidc.md)',
    );
  }
  const account = await deps.store.accounts.findById(input.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  const id = newId(deps, 'hfc_');
  const secret = input.public ? null : Buffer.from(deps.random.bytes(32)).toString('base64url');
  const client: OidcClient = {
    id,
    accountId: input.accountId,
    name,
    redirectUris,
    postLogoutRedirectUris,
    public: input.public,
    secretSealed:
      secret === null ? null : deps.secretBox.seal(new TextEncoder().encode(secret), clientSecretContext(id)),
    minimumAssurance: minimum,
    createdAt: deps.clock.now(),
  };
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    {
      action: ACTIONS.CreateOidcClient,
      resource: { accountId: input.accountId, arn: oidcClientArn(input.accountId, id) },
    },
    async (uow) => {
      await uow.tx.oidc.insertClient(client);
      uow.record({
        accountId: input.accountId,
        action: 'oidc.client_created',
        target: id,
        details: { public: client.public, redirectUris, minimumAssurance: minimum },
      });
      return { client: view(client), clientSecret: secret };
    },
  );
}

/** Lists an account's clients. */
export async function listOidcClients(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string },
): Promise<OidcClientView[]> {
  await authorize(deps, input.actor, ACTIONS.ListOidcClients, { accountId: input.accountId }, input.ctx);
  return (await deps.store.oidc.listClients(input.accountId)).map(view);
}

/** Deletes a client and every code, token and consent issued to it. */
export async function deleteOidcClient(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; clientId: string },
): Promise<void> {
  await runCommand(
    deps,
    input.actor,
    input.ctx,
    {
      action: ACTIONS.DeleteOidcClient,
      resource: { accountId: input.accountId, arn: oidcClientArn(input.accountId, input.clientId) },
    },
    async (uow) => {
      const deleted = await uow.tx.oidc.deleteClient(input.accountId, input.clientId);
      if (!deleted) throw new HoldfastError('OIDC_CLIENT_NOT_FOUND');
      uow.record({ accountId: input.accountId, action: 'oidc.client_deleted', target: input.clientId });
    },
  );
}
