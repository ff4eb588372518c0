/**
 * External OpenID Connect identity providers of an account (IAM CreateOpenIDConnectProvider and
 * its companions): the issuer URL, the client ids (token audiences) accepted from it, the
 * certificate thumbprints as given, and tags. STS AssumeRoleWithWebIdentity accepts ID tokens of
 * a provider registered here for the account's roles whose trust policy names it
 * (src/app/oidc/web-identity.ts). Limits as AWS's IAM quotas: 100 providers per account, 100
 * client ids per provider, 5 thumbprints.
 */

import type { IamTag } from '../../core/aws/iam-records.js';
import { HoldfastError } from '../../core/errors.js';
import { parseIssuerUrl } from '../../core/oidc/issuer-url.js';
import type { OidcIdentityProvider } from '../../core/oidc/oidc.js';
import { oidcProviderArn, parseOidcProviderArn } from '../../core/policy/arn.js';
import { ACTIONS, type Action } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import type { AppDeps } from '../deps.js';
import { runCommand, type UnitOfWork } from '../kernel.js';
import { checkTags } from './iam-tags.js';

/** IAM quotas: providers per account, client ids per provider, thumbprints per provider. */
export const OIDC_PROVIDER_LIMITS = { providers: 100, clientIds: 100, thumbprints: 5 } as const;

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

/** A provider as the IAM API shows it. */
export interface OidcProviderView {
  arn: string;
  provider: OidcIdentityProvider;
}

const THUMBPRINT = /^[0-9a-fA-F]{40}$/;

function invalid(message: string): HoldfastError {
  return new HoldfastError('IAM_OIDC_PROVIDER_INVALID', message);
}

function checkClientId(id: string): string {
  if (id.length < 1 || id.length > 255) {
    throw invalid('The client ID must be between 1 and 255 characters long.');
  }
  return id;
}

function checkClientIds(ids: readonly string[]): string[] {
  const out = [...new Set(ids.map(checkClientId))];
  if (out.length > OIDC_PROVIDER_LIMITS.clientIds) {
    throw new HoldfastError(
      'IAM_OIDC_PROVIDER_LIMIT',
      `Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: ${OIDC_PROVIDER_LIMITS.clientIds}`,
    );
  }
  return out;
}

function checkThumbprints(thumbprints: readonly string[]): string[] {
  for (const t of thumbprints) {
    if (!THUMBPRINT.test(t)) throw invalid(`Thumbprint ${t} is not a 40-character hex string.`);
  }
  if (thumbprints.length > OIDC_PROVIDER_LIMITS.thumbprints) {
    throw new HoldfastError(
      'IAM_OIDC_PROVIDER_LIMIT',
      `Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: ${OIDC_PROVIDER_LIMITS.thumbprints}`,
    );
  }
  return thumbprints.map((t) => t.toLowerCase());
}

function notFound(arn: string): HoldfastError {
  return new HoldfastError('IAM_OIDC_PROVIDER_NOT_FOUND', `OpenIDConnect provider not found for arn ${arn}`);
}

/** The account and provider key an ARN names; a malformed ARN is InvalidInput, as IAM answers. */
function readArn(accountId: string, arn: string): { hostPath: string } {
  const parsed = parseOidcProviderArn(arn);
  if (parsed === null) throw invalid(`ARN ${arn} is not valid.`);
  // A provider of another account is never visible: the same answer as an absent one.
  if (parsed.accountId !== accountId) throw notFound(arn);
  return { hostPath: parsed.hostPath };
}

function view(provider: OidcIdentityProvider): OidcProviderView {
  return { arn: oidcProviderArn(provider.accountId, provider.hostPath), provider };
}

/** CreateOpenIDConnectProvider. */
export async function createOpenIDConnectProvider(
  deps: AppDeps,
  input: Common & { url: string; clientIds: string[]; thumbprints: string[]; tags?: IamTag[] },
): Promise<OidcProviderView> {
  const issuer = parseIssuerUrl(input.url);
  if (issuer === null) {
    throw invalid(
      'The URL must begin with https:// (http:// only for a loopback host) and hold no query, fragment or user information.',
    );
  }
  const clientIds = checkClientIds(input.clientIds);
  const thumbprints = checkThumbprints(input.thumbprints);
  const tags = checkTags(input.tags ?? []);
  const arn = oidcProviderArn(input.accountId, issuer.hostPath);
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.CreateOpenIDConnectProvider, resource: { accountId: input.accountId, arn } },
    async (uow) => {
      if ((await uow.tx.oidc.findIdentityProvider(input.accountId, issuer.hostPath)) !== null) {
        throw new HoldfastError(
          'IAM_OIDC_PROVIDER_EXISTS',
          `Provider with url ${issuer.url} already exists.`,
        );
      }
      const existing = await uow.tx.oidc.listIdentityProviders(input.accountId);
      if (existing.length >= OIDC_PROVIDER_LIMITS.providers) {
        throw new HoldfastError(
          'IAM_OIDC_PROVIDER_LIMIT',
          `Cannot exceed quota for OpenIdConnectProvidersPerAccount: ${OIDC_PROVIDER_LIMITS.providers}`,
        );
      }
      const provider: OidcIdentityProvider = {
        accountId: input.accountId,
        hostPath: issuer.hostPath,
        url: issuer.url,
        clientIds,
        thumbprints,
        tags,
        createdAt: deps.clock.now(),
      };
      await uow.tx.oidc.insertIdentityProvider(provider);
      uow.record({
        accountId: input.accountId,
        action: 'oidc.identity_provider.create',
        target: arn,
        details: { url: issuer.url, clientIds, thumbprints, tagKeys: tags.map((t) => t.key) },
      });
      return view(provider);
    },
  );
}

/** GetOpenIDConnectProvider. */
export async function getOpenIDConnectProvider(
  deps: AppDeps,
  input: Common & { arn: string },
): Promise<OidcProviderView> {
  const { hostPath } = readArn(input.accountId, input.arn);
  await authorize(
    deps,
    input.actor,
    ACTIONS.GetOpenIDConnectProvider,
    { accountId: input.accountId, arn: input.arn },
    input.ctx,
  );
  const provider = await deps.store.oidc.findIdentityProvider(input.accountId, hostPath);
  if (provider === null) throw notFound(input.arn);
  return view(provider);
}

/** ListOpenIDConnectProviders (IAM does not page this list). */
export async function listOpenIDConnectProviders(deps: AppDeps, input: Common): Promise<OidcProviderView[]> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListOpenIDConnectProviders,
    { accountId: input.accountId },
    input.ctx,
  );
  return (await deps.store.oidc.listIdentityProviders(input.accountId)).map(view);
}

/** DeleteOpenIDConnectProvider: roles that trust it stop accepting its tokens at once. */
export async function deleteOpenIDConnectProvider(
  deps: AppDeps,
  input: Common & { arn: string },
): Promise<void> {
  const { hostPath } = readArn(input.accountId, input.arn);
  await runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.DeleteOpenIDConnectProvider, resource: { accountId: input.accountId, arn: input.arn } },
    async (uow) => {
      if (!(await uow.tx.oidc.deleteIdentityProvider(input.accountId, hostPath))) throw notFound(input.arn);
      uow.record({
        accountId: input.accountId,
        action: 'oidc.identity_provider.delete',
        target: input.arn,
        details: {},
      });
    },
  );
}

/** One change of a provider's lists in one command. */
async function changeProvider(
  deps: AppDeps,
  input: Common & { arn: string },
  action: Action,
  change: (
    provider: OidcIdentityProvider,
    uow: UnitOfWork,
  ) => Partial<OidcIdentityProvider> & {
    details: Record<string, unknown>;
  },
): Promise<void> {
  const { hostPath } = readArn(input.accountId, input.arn);
  await runCommand(
    deps,
    input.actor,
    input.ctx,
    { action, resource: { accountId: input.accountId, arn: input.arn } },
    async (uow) => {
      const provider = await uow.tx.oidc.findIdentityProvider(input.accountId, hostPath);
      if (provider === null) throw notFound(input.arn);
      const { details, ...next } = change(provider, uow);
      await uow.tx.oidc.updateIdentityProvider({ ...provider, ...next });
      uow.record({
        accountId: input.accountId,
        action: 'oidc.identity_provider.update',
        target: input.arn,
        details: { operation: action, ...details },
      });
    },
  );
}

/** AddClientIDToOpenIDConnectProvider (adding a client id already there changes nothing). */
export async function addClientIDToOpenIDConnectProvider(
  deps: AppDeps,
  input: Common & { arn: string; clientId: string },
): Promise<void> {
  const clientId = checkClientId(input.clientId);
  await changeProvider(deps, input, ACTIONS.AddClientIDToOpenIDConnectProvider, (p) => ({
    clientIds: checkClientIds([...p.clientIds, clientId]),
    details: { clientId },
  }));
}

/** RemoveClientIDFromOpenIDConnectProvider (removing one that is not there changes nothing). */
export async function removeClientIDFromOpenIDConnectProvider(
  deps: AppDeps,
  input: Common & { arn: string; clientId: string },
): Promise<void> {
  const clientId = checkClientId(input.clientId);
  await changeProvider(deps, input, ACTIONS.RemoveClientIDFromOpenIDConnectProvider, (p) => ({
    clientIds: p.clientIds.filter((c) => c !== clientId),
    details: { clientId },
  }));
}

/** UpdateOpenIDConnectProviderThumbprint: replaces the thumbprint list. */
export async function updateOpenIDConnectProviderThumbprint(
  deps: AppDeps,
  input: Common & { arn: string; thumbprints: string[] },
): Promise<void> {
  const thumbprints = checkThumbprints(input.thumbprints);
  await changeProvider(deps, input, ACTIONS.UpdateOpenIDConnectProviderThumbprint, () => ({
    thumbprints,
    details: { thumbprints },
  }));
}

/** The use cases of this file, for createApp. */
export const OIDC_PROVIDER_USE_CASES = {
  createOpenIDConnectProvider,
  getOpenIDConnectProvider,
  listOpenIDConnectProviders,
  deleteOpenIDConnectProvider,
  addClientIDToOpenIDConnectProvider,
  removeClientIDFromOpenIDConnectProvider,
  updateOpenIDConnectProviderThumbprint,
};
