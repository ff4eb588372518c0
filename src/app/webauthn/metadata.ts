/**
 * An account's WebAuthn registration rules: the FIDO metadata (MDS3) catalog it imported (no
 * network: the admin downloads the BLOB), the attestation it asks for and its allow-list of
 * authenticator models.
 */
import { HoldfastError } from '../../core/errors.js';
import { createAAGUIDPolicy } from '../../core/factors/webauthn/aaguid-policy.js';
import { parseMDSBlob, type MDSCatalog, type MDSEntry } from '../../core/factors/webauthn/mds.js';
import type { Account } from '../../core/principals/types.js';
import { ACTIONS } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { writeAudit, type AppDeps } from '../deps.js';

interface StoredEntry {
  aaguid: string;
  description: string;
  roots: string[];
  attestationTypes: string[];
  statusReports: MDSEntry['statusReports'];
}

const catalogCache = new Map<string, { key: string; catalog: MDSCatalog }>();

/** The account's imported metadata catalog, or null when none was imported. */
export async function accountCatalog(deps: AppDeps, accountId: string): Promise<MDSCatalog | null> {
  const record = await deps.store.webauthn.getMetadata(accountId);
  if (record === null) return null;
  const key = `${record.serialNumber}:${record.importedAt}`;
  const hit = catalogCache.get(accountId);
  if (hit !== undefined && hit.key === key) return hit.catalog;
  const entries = new Map<string, MDSEntry>();
  for (const e of JSON.parse(record.entries) as StoredEntry[]) {
    entries.set(e.aaguid, {
      aaguid: e.aaguid,
      description: e.description,
      attestationRootCertificates: e.roots.map((r) => new Uint8Array(Buffer.from(r, 'base64'))),
      attestationTypes: e.attestationTypes,
      statusReports: e.statusReports,
    });
  }
  const catalog: MDSCatalog = {
    serialNumber: record.serialNumber,
    nextUpdate: record.nextUpdate,
    entries,
    skippedEntries: 0,
  };
  catalogCache.set(accountId, { key, catalog });
  return catalog;
}

/** Result of a metadata import. */
export interface MetadataImport {
  serialNumber: number;
  nextUpdate: string;
  entries: number;
}

/**
 * Imports a FIDO MDS3 BLOB for an account (no network: the admin downloads it). The signature
 * must chain to one of `roots` (for the public service, the root its documentation names) and
 * the serial number must be greater than the imported one's, so an old BLOB cannot undo a
 * newer status report.
 */
export async function importWebAuthnMetadata(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; blob: string; roots: string[] },
): Promise<MetadataImport> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.ImportWebAuthnMetadata,
    { accountId: input.accountId },
    input.ctx,
  );
  const refuse = async (reason: string) => {
    await deps.store.transaction((tx) =>
      writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId: input.accountId,
          action: 'webauthn.metadata_import',
          target: input.accountId,
          outcome: 'failure',
          errorCode: 'WEBAUTHN_METADATA_INVALID',
          details: { reason, security: true },
        },
      }),
    );
    return new HoldfastError('WEBAUTHN_METADATA_INVALID', undefined, { details: { reason } });
  };
  const parsed = parseMDSBlob(input.blob);
  if (!parsed.ok) throw await refuse(parsed.reason);
  const { verifyMDSBlobSignature } = await deps.webauthn();
  const signature = verifyMDSBlobSignature({
    jws: parsed.jws,
    roots: input.roots,
    now: new Date(deps.clock.now()),
  });
  if (!signature.ok) throw await refuse(signature.reason);
  const previous = await deps.store.webauthn.getMetadata(input.accountId);
  if (previous !== null && previous.serialNumber >= parsed.catalog.serialNumber) {
    throw await refuse('not_newer');
  }
  const entries: StoredEntry[] = [...parsed.catalog.entries.values()].map((e) => ({
    aaguid: e.aaguid,
    description: e.description,
    roots: e.attestationRootCertificates.map((r) => Buffer.from(r).toString('base64')),
    attestationTypes: e.attestationTypes,
    statusReports: e.statusReports,
  }));
  await deps.store.transaction(async (tx) => {
    await tx.webauthn.putMetadata({
      accountId: input.accountId,
      serialNumber: parsed.catalog.serialNumber,
      nextUpdate: parsed.catalog.nextUpdate,
      entries: JSON.stringify(entries),
      importedAt: deps.clock.now(),
    });
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.accountId,
        action: 'webauthn.metadata_import',
        target: input.accountId,
        details: { serialNumber: parsed.catalog.serialNumber, entries: entries.length },
      },
    });
  });
  return {
    serialNumber: parsed.catalog.serialNumber,
    nextUpdate: parsed.catalog.nextUpdate,
    entries: entries.length,
  };
}

/**
 * Sets an account's WebAuthn registration rules: the attestation asked for and the allow-list of
 * authenticator models (null removes it). Allow-listed models must present verified attestation.
 */
export async function setWebAuthnSettings(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    attestation?: 'none' | 'direct';
    allowedAAGUIDs?: string[] | null;
  },
): Promise<Account['settings']> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.UpdateAccountSettings,
    { accountId: input.accountId },
    input.ctx,
  );
  const account = await deps.store.accounts.findById(input.accountId);
  if (account === null) throw new HoldfastError('ACCOUNT_NOT_FOUND');
  if (input.attestation !== undefined && input.attestation !== 'none' && input.attestation !== 'direct') {
    throw new HoldfastError('WEBAUTHN_SETTINGS_INVALID');
  }
  const settings = { ...account.settings };
  if (input.attestation !== undefined) settings.webauthnAttestation = input.attestation;
  if (input.allowedAAGUIDs === null) delete settings.webauthnAllowedAAGUIDs;
  else if (input.allowedAAGUIDs !== undefined) {
    const policy = createAAGUIDPolicy({ aaguids: input.allowedAAGUIDs });
    if (!policy.ok) throw new HoldfastError('WEBAUTHN_SETTINGS_INVALID');
    settings.webauthnAllowedAAGUIDs = [...policy.policy.allowList!];
    // An allow-list is only worth something with attestation to prove the model.
    settings.webauthnAttestation = 'direct';
  }
  await deps.store.transaction(async (tx) => {
    await tx.accounts.updateSettings(account.id, settings);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: account.id,
        action: 'account.webauthn_settings',
        target: account.id,
        details: {
          attestation: settings.webauthnAttestation ?? 'none',
          allowedAAGUIDs: settings.webauthnAllowedAAGUIDs?.join(',') ?? null,
        },
      },
    });
  });
  return settings;
}
