/**
 * `holdfast webauthn ...` through the real, built CLI (SQLite, and PostgreSQL when configured):
 * importing a FIDO MDS3 BLOB file offline, refusing one that does not chain to the given root or
 * is not newer, and setting an account's attestation and model allow-list.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  assertCliBuilt,
  createCliTarget,
  errorCodeOf,
  killAllChildren,
  type CliTarget,
} from '../helpers/processes.js';
import { createTestAttestationCA, issueTestCertificate, signTestJWS } from '../helpers/soft-authenticator.js';

const MODEL = '2fc0579f-8113-47ea-b116-bb5a8db9202a';

describe.each(DATABASE_KINDS)('holdfast webauthn CLI [$name]', ({ name }) => {
  let t: CliTarget;
  let dir: string;
  const root = issueTestCertificate({ subject: { O: 'Test MDS', CN: 'MDS Root' }, ca: true });
  const signer = issueTestCertificate({ subject: { O: 'Test MDS', CN: 'MDS Signer' }, issuer: root });
  const vendor = createTestAttestationCA('Vendor A');
  const blob = (no: number, chain = [signer, root]) =>
    signTestJWS({
      payload: {
        no,
        nextUpdate: '2030-01-01',
        entries: [
          {
            aaguid: MODEL,
            metadataStatement: {
              description: 'Vendor A Key',
              attestationRootCertificates: [Buffer.from(vendor.root.der).toString('base64')],
            },
            statusReports: [{ status: 'FIDO_CERTIFIED', effectiveDate: '2025-01-01' }],
          },
        ],
      },
      chain,
    });

  beforeAll(async () => {
    assertCliBuilt();
    t = await createCliTarget(name);
    dir = mkdtempSync(join(tmpdir(), 'holdfast-mds-'));
    writeFileSync(join(dir, 'root.pem'), root.pem);
    writeFileSync(join(dir, 'blob-5.jwt'), blob(5));
    writeFileSync(join(dir, 'blob-4.jwt'), blob(4));
    const stranger = issueTestCertificate({ subject: { CN: 'Stranger' }, ca: true });
    writeFileSync(join(dir, 'stranger.jwt'), blob(9, [stranger]));
    const boot = await t.cli([
      'bootstrap',
      '--account',
      'acme',
      '--owner-email',
      'owner@acme.test',
      '--json',
    ]);
    expect(boot.code).toBe(0);
  });
  afterAll(async () => {
    await killAllChildren();
    await t?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports a BLOB that chains to the root, then refuses an older one and a foreign one', async () => {
    const ok = await t.cli([
      'webauthn',
      'mds',
      'import',
      join(dir, 'blob-5.jwt'),
      '--account',
      'acme',
      '--root',
      join(dir, 'root.pem'),
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.json()).toEqual({ serialNumber: 5, nextUpdate: '2030-01-01', entries: 1 });

    const older = await t.cli([
      'webauthn',
      'mds',
      'import',
      join(dir, 'blob-4.jwt'),
      '--account',
      'acme',
      '--root',
      join(dir, 'root.pem'),
    ]);
    expect(older.code).not.toBe(0);
    expect(errorCodeOf(older.stderr)).toBe('WEBAUTHN_METADATA_INVALID');
    const foreign = await t.cli([
      'webauthn',
      'mds',
      'import',
      join(dir, 'stranger.jwt'),
      '--account',
      'acme',
      '--root',
      join(dir, 'root.pem'),
    ]);
    expect(errorCodeOf(foreign.stderr)).toBe('WEBAUTHN_METADATA_INVALID');

    const inst = await t.open();
    try {
      const account = (await inst.store.accounts.findByName('acme'))!;
      expect(await inst.store.webauthn.getMetadata(account.id)).toMatchObject({ serialNumber: 5 });
      const actions = (await inst.store.audit.scan(0, 1000)).filter(
        (r) => r.action === 'webauthn.metadata_import',
      );
      expect(actions.map((r) => r.outcome)).toEqual(['success', 'failure', 'failure']);
    } finally {
      await inst.close();
    }
  });

  it('sets the allow-list (which asks for direct attestation) and removes it', async () => {
    const set = await t.cli([
      'webauthn',
      'settings',
      '--account',
      'acme',
      '--allow',
      MODEL.toUpperCase(),
      '--json',
    ]);
    expect(set.code).toBe(0);
    expect(set.json()).toEqual({ attestation: 'direct', allowedAAGUIDs: [MODEL] });
    const bad = await t.cli(['webauthn', 'settings', '--account', 'acme', '--allow', 'not-an-aaguid']);
    expect(errorCodeOf(bad.stderr)).toBe('WEBAUTHN_SETTINGS_INVALID');
    const cleared = await t.cli(['webauthn', 'settings', '--account', 'acme', '--allow-any', '--json']);
    expect(cleared.json()).toEqual({ attestation: 'direct', allowedAAGUIDs: null });
  });
});
