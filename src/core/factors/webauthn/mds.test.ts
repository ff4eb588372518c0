import { describe, expect, it } from 'vitest';
import {
  describeAuthenticator,
  isMDSCatalogStale,
  latestStatusReport,
  MDS_MAX_BYTES,
  modelStatus,
  parseMDSBlob,
  trustAnchorsFor,
  type MDSCatalog,
} from './mds.js';

const KEY_A = '2fc0579f-8113-47ea-b116-bb5a8db9202a';
const KEY_B = 'ee882879-721c-4913-9775-3dfcce97072a';
const KEY_C = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';
const ROOT_A = Buffer.from('root certificate of vendor A (DER stand-in)');

const b64url = (v: unknown) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A BLOB in the MDS3 shape; the signature is not checked by core (see platform tests). */
function blobOf(payload: unknown, header: unknown = { alg: 'ES256', typ: 'JWT', x5c: ['AAEC'] }): string {
  return `${b64url(header)}.${b64url(payload)}.${b64url('signature')}`;
}

function payload(entries: unknown[]): Record<string, unknown> {
  return { legalHeader: 'test', no: 42, nextUpdate: '2026-12-01', entries };
}

const entries = [
  {
    aaguid: KEY_A.toUpperCase(),
    metadataStatement: {
      description: 'Vendor A Security Key',
      attestationRootCertificates: [ROOT_A.toString('base64')],
      attestationTypes: ['basic_full'],
    },
    statusReports: [
      { status: 'FIDO_CERTIFIED_L1', effectiveDate: '2024-01-10' },
      { status: 'FIDO_CERTIFIED_L2', effectiveDate: '2025-03-01' },
    ],
  },
  {
    aaguid: KEY_B,
    metadataStatement: { description: 'Vendor B Key', attestationRootCertificates: [] },
    statusReports: [
      // Out of order on purpose: the latest by date wins, not the last listed.
      { status: 'ATTESTATION_KEY_COMPROMISE', effectiveDate: '2025-06-01' },
      { status: 'FIDO_CERTIFIED', effectiveDate: '2023-01-01' },
    ],
  },
  {
    aaguid: KEY_C,
    metadataStatement: { description: 'Vendor C Key' },
    statusReports: [
      { status: 'USER_VERIFICATION_BYPASS', effectiveDate: '2022-01-01' },
      { status: 'UPDATE_AVAILABLE', effectiveDate: '2022-02-01' },
    ],
  },
  // A UAF authenticator (aaid, no aaguid): not indexed.
  { aaid: '4e4e#4005', metadataStatement: { description: 'UAF thing' }, statusReports: [] },
];

function parsed(): MDSCatalog {
  const result = parseMDSBlob(blobOf(payload(entries)));
  if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
  return result.catalog;
}

describe('FIDO MDS3 BLOB parsing', () => {
  it('reads the serial number, next update and FIDO2 entries by AAGUID', () => {
    const catalog = parsed();
    expect(catalog.serialNumber).toBe(42);
    expect(catalog.nextUpdate).toBe('2026-12-01');
    expect([...catalog.entries.keys()].sort()).toEqual([KEY_A, KEY_B, KEY_C].sort());
    expect(catalog.skippedEntries).toBe(1);
  });

  it('returns the JWS parts for the signature check', () => {
    const blob = blobOf(payload(entries));
    const result = parseMDSBlob(blob);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.jws.header.alg).toBe('ES256');
    expect([...result.jws.header.x5c[0]!]).toEqual([0, 1, 2]);
    expect(Buffer.from(result.jws.signingInput).toString()).toBe(blob.split('.').slice(0, 2).join('.'));
    expect(Buffer.from(result.jws.signature).toString()).toBe('signature');
  });

  it('describes a model by AAGUID in any spelling', () => {
    const catalog = parsed();
    expect(describeAuthenticator(catalog, KEY_A)).toBe('Vendor A Security Key');
    expect(describeAuthenticator(catalog, KEY_A.replace(/-/g, '').toUpperCase())).toBe(
      'Vendor A Security Key',
    );
    expect(describeAuthenticator(catalog, '00000000-0000-0000-0000-000000000001')).toBeNull();
    expect(describeAuthenticator(catalog, 'garbage')).toBeNull();
  });

  it('gives the trust anchors of a model as DER bytes', () => {
    const catalog = parsed();
    const anchors = trustAnchorsFor(catalog, KEY_A);
    expect(anchors).toHaveLength(1);
    expect(Buffer.from(anchors[0]!).equals(ROOT_A)).toBe(true);
    expect(trustAnchorsFor(catalog, KEY_B)).toEqual([]);
    expect(trustAnchorsFor(catalog, '00000000-0000-0000-0000-000000000001')).toEqual([]);
  });

  it('judges compromise by the latest status report', () => {
    const catalog = parsed();
    expect(modelStatus(catalog, KEY_A)).toEqual({
      known: true,
      latestStatus: 'FIDO_CERTIFIED_L2',
      compromised: false,
    });
    expect(modelStatus(catalog, KEY_B)).toEqual({
      known: true,
      latestStatus: 'ATTESTATION_KEY_COMPROMISE',
      compromised: true,
    });
    expect(modelStatus(catalog, KEY_C)).toMatchObject({
      latestStatus: 'UPDATE_AVAILABLE',
      compromised: false,
    });
    expect(modelStatus(catalog, '00000000-0000-0000-0000-000000000001')).toEqual({ known: false });
  });

  it.each([
    'USER_VERIFICATION_BYPASS',
    'ATTESTATION_KEY_COMPROMISE',
    'USER_KEY_REMOTE_COMPROMISE',
    'REVOKED',
  ])('marks %s compromised', (status) => {
    const result = parseMDSBlob(
      blobOf(
        payload([
          {
            aaguid: KEY_A,
            metadataStatement: { description: 'x' },
            statusReports: [{ status, effectiveDate: '2025-01-01' }],
          },
        ]),
      ),
    );
    expect(result.ok && modelStatus(result.catalog, KEY_A)).toMatchObject({ compromised: true });
  });

  it('takes the last listed report among equal dates, and undated reports as oldest', () => {
    expect(
      latestStatusReport([
        { status: 'A', effectiveDate: '2025-01-01' },
        { status: 'B', effectiveDate: '2025-01-01' },
        { status: 'C', effectiveDate: null },
      ]),
    ).toEqual({ status: 'B', effectiveDate: '2025-01-01' });
    expect(latestStatusReport([])).toBeNull();
  });

  it('knows when a newer BLOB is due', () => {
    const catalog = parsed();
    expect(isMDSCatalogStale(catalog, Date.parse('2026-12-01T23:59:59Z'))).toBe(false);
    expect(isMDSCatalogStale(catalog, Date.parse('2026-12-02T00:00:00Z'))).toBe(true);
  });
});

describe('FIDO MDS3 BLOB refusals (the whole file is refused)', () => {
  const good = entries[0]!;
  it.each<[string, string, string]>([
    ['not three parts', 'a.b', 'not a JWS in compact serialisation'],
    ['bad base64url', 'a.b!.c', 'a JWS part is not base64url'],
    ['header without x5c', blobOf(payload([good]), { alg: 'ES256' }), 'header.x5c'],
    ['header without alg', blobOf(payload([good]), { x5c: ['AAEC'] }), 'header.alg'],
    ['x5c not base64', blobOf(payload([good]), { alg: 'ES256', x5c: ['***'] }), 'header.x5c'],
    [
      'payload not JSON',
      `${b64url({ alg: 'ES256', x5c: ['AAEC'] })}.${b64url('nope{')}.${b64url('s')}`,
      'payload is not JSON',
    ],
    ['no serial', blobOf({ nextUpdate: '2026-01-01', entries: [] }), 'no'],
    ['bad nextUpdate', blobOf({ no: 1, nextUpdate: 'soon', entries: [] }), 'nextUpdate'],
    ['entries missing', blobOf({ no: 1, nextUpdate: '2026-01-01' }), 'entries'],
    ['bad aaguid', blobOf(payload([{ ...good, aaguid: 'xyz' }])), 'entries[0].aaguid'],
    [
      'zero aaguid',
      blobOf(payload([{ ...good, aaguid: '00000000-0000-0000-0000-000000000000' }])),
      'entries[0].aaguid',
    ],
    [
      'no description',
      blobOf(payload([{ aaguid: KEY_A, metadataStatement: {} }])),
      'entries[0].metadataStatement.description',
    ],
    [
      'root not base64',
      blobOf(
        payload([
          { aaguid: KEY_A, metadataStatement: { description: 'x', attestationRootCertificates: ['%%'] } },
        ]),
      ),
      'entries[0].metadataStatement.attestationRootCertificates[0]',
    ],
    [
      'status report without status',
      blobOf(payload([{ ...good, statusReports: [{ effectiveDate: '2025-01-01' }] }])),
      'entries[0].statusReports[0].status',
    ],
    [
      'duplicate AAGUID',
      blobOf(payload([good, { ...good, aaguid: KEY_A }])),
      `entries[1].aaguid duplicates ${KEY_A}`,
    ],
  ])('%s', (_label, blob, detail) => {
    expect(parseMDSBlob(blob)).toEqual({ ok: false, reason: 'malformed', detail });
  });

  it('refuses a file over the size limit before decoding it', () => {
    expect(parseMDSBlob('a'.repeat(MDS_MAX_BYTES + 1))).toMatchObject({ ok: false, reason: 'too_large' });
  });
});
