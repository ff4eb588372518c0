/**
 * What the OpenID Connect provider library keeps, kept in Holdfast's own store: its records
 * (codes, tokens, sessions, grants, interactions, device codes) through the `oidc` repository,
 * the clients' metadata (secret unsealed only here, in memory), the signing keys (private JWKs
 * sealed under the master key) and the keys its cookies are signed with (derived from the
 * installation's pepper). The HTTP face adapts these to the library's adapter interface.
 */

import { HoldfastError } from '../../core/errors.js';
import { hmacBase64url } from '../../core/crypto/hashing.js';
import type { OidcRecord, OidcSigningKey } from '../../core/oidc/oidc.js';
import { ACTIONS } from '../actions.js';
import type { Actor, RequestContext } from '../context.js';
import { writeAudit, type AppDeps } from '../deps.js';
import { runCommand } from '../kernel.js';
import { clientSecretContext } from './clients.js';

/** How long a superseded signing key stays published by default (tokens signed with it still verify). */
export const DEFAULT_KEY_OVERLAP_SECONDS = 24 * 60 * 60;

/** The sealing context of a signing key. */
export function signingKeyContext(kid: string): string {
  return `oidc-key:${kid}`;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Stores one record of the library (insert or replace). */
export async function saveOidcRecord(
  deps: AppDeps,
  input: { model: string; id: string; payload: Record<string, unknown>; expiresInSeconds: number | null },
): Promise<void> {
  const { model, id, payload } = input;
  const record: OidcRecord = {
    model,
    id,
    payload: JSON.stringify(payload),
    // A grant is its own grant: revoking it removes it with its codes and tokens.
    grantId: model === 'Grant' ? id : str(payload['grantId']),
    userCode: str(payload['userCode']),
    uid: str(payload['uid']),
    subject: str(payload['accountId']),
    clientId: str(payload['clientId']),
    expiresAt:
      input.expiresInSeconds === null || input.expiresInSeconds === undefined
        ? null
        : deps.clock.now() + input.expiresInSeconds * 1000,
    consumedAt: null,
  };
  await deps.store.oidc.upsertRecord(record);
}

function payloadOf(deps: AppDeps, record: OidcRecord | null): Record<string, unknown> | undefined {
  if (record === null) return undefined;
  if (record.expiresAt !== null && record.expiresAt <= deps.clock.now()) return undefined;
  const payload = JSON.parse(record.payload) as Record<string, unknown>;
  if (record.consumedAt !== null) payload['consumed'] = Math.floor(record.consumedAt / 1000);
  return payload;
}

/** A live record's payload (with `consumed` set once it was used), or undefined. */
export async function findOidcRecord(
  deps: AppDeps,
  input: { model: string; id?: string; userCode?: string; uid?: string },
): Promise<Record<string, unknown> | undefined> {
  const repo = deps.store.oidc;
  if (input.id !== undefined) return payloadOf(deps, await repo.findRecord(input.model, input.id));
  if (input.userCode !== undefined)
    return payloadOf(deps, await repo.findRecordByUserCode(input.model, input.userCode));
  if (input.uid !== undefined) return payloadOf(deps, await repo.findRecordByUid(input.model, input.uid));
  return undefined;
}

/**
 * Marks a record used (codes, refresh tokens); a second use then finds it consumed. False when it
 * already was: two uses raced, and the later one must fail (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
 */
export async function consumeOidcRecord(
  deps: AppDeps,
  input: { model: string; id: string },
): Promise<boolean> {
  return deps.store.oidc.consumeRecord(input.model, input.id, deps.clock.now());
}

/** Deletes one record. */
export async function destroyOidcRecord(deps: AppDeps, input: { model: string; id: string }): Promise<void> {
  await deps.store.oidc.destroyRecord(input.model, input.id);
}

/** Deletes a grant with every code and token issued under it. */
export async function revokeOidcGrant(deps: AppDeps, grantId: string): Promise<void> {
  await deps.store.oidc.revokeGrant(grantId);
}

/** Deletes the library's expired records; how many went. */
export async function pruneOidcRecords(deps: AppDeps): Promise<number> {
  return deps.store.oidc.pruneRecords(deps.clock.now());
}

/**
 * A client's metadata in the shape the library validates (OpenID Connect Dynamic Client
 * Registration 1.0 §2 names), or undefined. Public clients authenticate with `none` and must
 * use PKCE; confidential ones with `client_secret_basic` or `client_secret_post`.
 */
export async function oidcClientMetadata(
  deps: AppDeps,
  clientId: string,
): Promise<Record<string, unknown> | undefined> {
  const client = await deps.store.oidc.findClient(clientId);
  if (client === null) return undefined;
  const secret =
    client.secretSealed === null
      ? undefined
      : new TextDecoder().decode(deps.secretBox.open(client.secretSealed, clientSecretContext(client.id)));
  return {
    client_id: client.id,
    client_name: client.name,
    ...(secret === undefined ? {} : { client_secret: secret }),
    token_endpoint_auth_method: client.public ? 'none' : 'client_secret_basic',
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    holdfast_account_id: client.accountId,
    holdfast_minimum_assurance: client.minimumAssurance,
  };
}

/** The keys the library signs its cookies with (derived from the installation's pepper). */
export function oidcCookieKeys(deps: AppDeps): string[] {
  return [hmacBase64url(deps.pepper, 'oidc-cookie-key:1')];
}

function liveKeys(deps: AppDeps, keys: OidcSigningKey[]): OidcSigningKey[] {
  const now = deps.clock.now();
  return keys.filter((k) => k.retiresAt === null || k.retiresAt > now);
}

/**
 * A fingerprint of the live signing keys (ids and retirement times, nothing secret): a running
 * server compares it with the one its provider was built with and rebuilds the provider when it
 * changed, so `holdfast keys rotate-oidc` takes effect without a restart.
 */
export async function oidcSigningKeyVersion(deps: AppDeps): Promise<string> {
  return liveKeys(deps, await deps.store.oidc.listSigningKeys())
    .map((k) => `${k.id}:${k.retiresAt ?? ''}`)
    .sort()
    .join(',');
}

/**
 * The private signing keys as JWKs, the key that signs first (the newest current one), then the
 * superseded ones still published for verification until they retire.
 */
export async function oidcSigningKeys(deps: AppDeps): Promise<Array<Record<string, unknown>>> {
  const keys = liveKeys(deps, await deps.store.oidc.listSigningKeys());
  keys.sort(
    (a, b) => (a.retiresAt === null ? 0 : 1) - (b.retiresAt === null ? 0 : 1) || b.createdAt - a.createdAt,
  );
  return keys.map(
    (k) =>
      JSON.parse(
        new TextDecoder().decode(deps.secretBox.open(k.privateSealed, signingKeyContext(k.id))),
      ) as Record<string, unknown>,
  );
}

function sealKey(deps: AppDeps, jwk: Record<string, unknown>): OidcSigningKey {
  const kid = jwk['kid'];
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 64 || typeof jwk['d'] !== 'string') {
    throw new HoldfastError('REQUEST_INVALID', 'a signing key is a private JWK with a kid');
  }
  return {
    id: kid,
    privateSealed: deps.secretBox.seal(new TextEncoder().encode(JSON.stringify(jwk)), signingKeyContext(kid)),
    createdAt: deps.clock.now(),
    retiresAt: null,
  };
}

/**
 * Makes sure a signing key exists (first start): when none is live, `generate` makes one and it
 * is stored sealed. Audited as the installation's own act.
 */
export async function ensureOidcSigningKey(
  deps: AppDeps,
  input: { ctx: RequestContext; generate: () => Promise<Record<string, unknown>> },
): Promise<void> {
  if (liveKeys(deps, await deps.store.oidc.listSigningKeys()).some((k) => k.retiresAt === null)) return;
  const key = sealKey(deps, await input.generate());
  await deps.store.transaction(async (tx) => {
    // Several servers (or workers) may start serving at once: the sealed tables' lock makes the
    // second wait for the first's key instead of adding its own (each would publish only its own).
    await tx.sealedValues.lockForRotation();
    if ((await tx.oidc.listSigningKeys()).some((k) => k.retiresAt === null)) return;
    await tx.oidc.insertSigningKey(key);
    await writeAudit(deps, tx, {
      actor: null,
      ctx: input.ctx,
      fact: { accountId: null, action: 'oidc.signing_key_created', target: key.id },
    });
  });
}

/**
 * Rotates the signing key with overlap: the new key signs from the next start of each server,
 * and every superseded key stays published in the JWKS for `overlapSeconds` so tokens it signed
 * still verify; keys past their overlap are deleted.
 */
export async function rotateOidcSigningKey(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; privateJwk: Record<string, unknown>; overlapSeconds?: number },
): Promise<{ kid: string; retiringUntil: string }> {
  const overlap = input.overlapSeconds ?? DEFAULT_KEY_OVERLAP_SECONDS;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > 90 * 24 * 3600) {
    throw new HoldfastError('REQUEST_INVALID', 'the overlap is 0 to 90 days, in seconds');
  }
  const key = sealKey(deps, input.privateJwk);
  const now = deps.clock.now();
  const retiresAt = now + overlap * 1000;
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.RotateOidcKeys, resource: { accountId: '*' } },
    async (uow) => {
      await uow.tx.sealedValues.lockForRotation();
      await uow.tx.oidc.insertSigningKey(key);
      await uow.tx.oidc.supersedeSigningKeys({ exceptId: key.id, retiresAt, now });
      uow.record({
        accountId: null,
        action: 'oidc.signing_key_rotated',
        target: key.id,
        details: { overlapSeconds: overlap },
      });
      return { kid: key.id, retiringUntil: new Date(retiresAt).toISOString() };
    },
  );
}
