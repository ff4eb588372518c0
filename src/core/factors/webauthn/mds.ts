/**
 * The FIDO Metadata Service (MDS3) BLOB, imported by an admin from a file (no network).
 *
 * The BLOB is a JWT (RFC 7519) in JWS compact serialisation (RFC 7515 §7.1) whose payload is the
 * "Metadata BLOB payload" of the FIDO Metadata Service v3.0 specification: `no` (serial
 * number), `nextUpdate`, and `entries[]`, each with an `aaguid` (FIDO2 authenticators), a
 * `metadataStatement` (`description`, `attestationRootCertificates` as base64 DER, ...) and
 * `statusReports[]`.
 *
 * This module only parses. The JWS signature and its x5c certificate chain need X.509 and are
 * checked in platform/webauthn.ts (verifyMDSBlobSignature) before an import is trusted.
 */

import { normalizeAAGUID, ZERO_AAGUID } from './aaguid-policy.js';

/** Largest BLOB accepted (the published BLOB is a few MiB). */
export const MDS_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Status codes (MDS3 "AuthenticatorStatus") that mean the model can no longer be trusted: its
 * user verification can be bypassed, its attestation or user keys were extracted, or FIDO
 * revoked its certification.
 */
export const MDS_COMPROMISE_STATUSES = [
  'USER_VERIFICATION_BYPASS',
  'ATTESTATION_KEY_COMPROMISE',
  'USER_KEY_REMOTE_COMPROMISE',
  'USER_KEY_PHYSICAL_COMPROMISE',
  'REVOKED',
] as const;

/** One status report of an authenticator model. */
export interface MDSStatusReport {
  status: string;
  /** ISO 8601 date (YYYY-MM-DD) from which the status applies, when given. */
  effectiveDate: string | null;
}

/** One FIDO2 authenticator model of the BLOB. */
export interface MDSEntry {
  /** Canonical AAGUID. */
  aaguid: string;
  /** Human description of the model (metadataStatement.description). */
  description: string;
  /** Root certificates its attestation chains to, DER bytes (from base64). */
  attestationRootCertificates: Uint8Array[];
  /** Attestation types the model uses (e.g. `basic_full`, `attca`). */
  attestationTypes: string[];
  statusReports: MDSStatusReport[];
}

/** The parsed BLOB, indexed by AAGUID. */
export interface MDSCatalog {
  /** The BLOB's serial number (`no`); a newer BLOB has a greater one. */
  serialNumber: number;
  /** ISO 8601 date by which a newer BLOB is published. */
  nextUpdate: string;
  /** FIDO2 entries by canonical AAGUID. */
  entries: ReadonlyMap<string, MDSEntry>;
  /** Entries without an AAGUID (UAF and U2F authenticators), not indexed. */
  skippedEntries: number;
}

/** The JWS header fields platform needs to verify the BLOB's signature. */
export interface MDSBlobHeader {
  alg: string;
  /** Certificate chain, leaf first, DER bytes (RFC 7515 §4.1.6). */
  x5c: Uint8Array[];
}

/** The three parts of the JWS, for signature verification. */
export interface MDSBlobJWS {
  header: MDSBlobHeader;
  /** ASCII bytes of `base64url(header) "." base64url(payload)` (RFC 7515 §5.2 step 8). */
  signingInput: Uint8Array;
  signature: Uint8Array;
  payload: unknown;
}

/** Why a BLOB was refused; `detail` names the offending field or entry (never secret). */
export type MDSParseFailure = { ok: false; reason: 'too_large' | 'malformed'; detail: string };

const B64URL = /^[A-Za-z0-9_-]*$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64URL(text: string): Uint8Array | null {
  if (!B64URL.test(text) || text.length % 4 === 1) return null;
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

function decodeBase64(text: string): Uint8Array | null {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !B64.test(compact)) return null;
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

function parseJSON(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const fail = (reason: MDSParseFailure['reason'], detail: string): MDSParseFailure => ({
  ok: false,
  reason,
  detail,
});

/** Splits the compact JWS and decodes its header; the payload is decoded JSON, not yet checked. */
export function splitMDSBlob(blob: string): { ok: true; jws: MDSBlobJWS } | MDSParseFailure {
  if (blob.length > MDS_MAX_BYTES) return fail('too_large', `larger than ${MDS_MAX_BYTES} bytes`);
  const parts = blob.trim().split('.');
  if (parts.length !== 3) return fail('malformed', 'not a JWS in compact serialisation');
  const [h, p, s] = parts as [string, string, string];
  const headerBytes = decodeBase64URL(h);
  const payloadBytes = decodeBase64URL(p);
  const signature = decodeBase64URL(s);
  if (!headerBytes || !payloadBytes || !signature || signature.length === 0) {
    return fail('malformed', 'a JWS part is not base64url');
  }
  const header = parseJSON(headerBytes);
  if (!isRecord(header) || typeof header.alg !== 'string') return fail('malformed', 'header.alg');
  if (!Array.isArray(header.x5c) || header.x5c.length === 0) return fail('malformed', 'header.x5c');
  const x5c: Uint8Array[] = [];
  for (const cert of header.x5c) {
    // x5c holds base64 (not base64url) DER (RFC 7515 §4.1.6).
    const der = typeof cert === 'string' ? decodeBase64(cert) : null;
    if (!der) return fail('malformed', 'header.x5c');
    x5c.push(der);
  }
  const payload = parseJSON(payloadBytes);
  if (payload === undefined) return fail('malformed', 'payload is not JSON');
  return {
    ok: true,
    jws: {
      header: { alg: header.alg, x5c },
      signingInput: new TextEncoder().encode(`${h}.${p}`),
      signature,
      payload,
    },
  };
}

function parseStatusReports(value: unknown, where: string): MDSStatusReport[] | string {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return `${where}.statusReports`;
  const reports: MDSStatusReport[] = [];
  for (const [i, r] of value.entries()) {
    if (!isRecord(r) || typeof r.status !== 'string') return `${where}.statusReports[${i}].status`;
    if (r.effectiveDate !== undefined && typeof r.effectiveDate !== 'string') {
      return `${where}.statusReports[${i}].effectiveDate`;
    }
    reports.push({ status: r.status, effectiveDate: r.effectiveDate ?? null });
  }
  return reports;
}

function parseEntry(value: unknown, index: number): MDSEntry | null | string {
  const where = `entries[${index}]`;
  if (!isRecord(value)) return where;
  if (value.aaguid === undefined) return null; // UAF (aaid) or U2F (key identifiers)
  const aaguid = typeof value.aaguid === 'string' ? normalizeAAGUID(value.aaguid) : null;
  if (aaguid === null || aaguid === ZERO_AAGUID) return `${where}.aaguid`;
  const statement = value.metadataStatement;
  if (!isRecord(statement)) return `${where}.metadataStatement`;
  if (typeof statement.description !== 'string') return `${where}.metadataStatement.description`;
  const roots: Uint8Array[] = [];
  const rawRoots = statement.attestationRootCertificates ?? [];
  if (!Array.isArray(rawRoots)) return `${where}.metadataStatement.attestationRootCertificates`;
  for (const [i, cert] of rawRoots.entries()) {
    const der = typeof cert === 'string' ? decodeBase64(cert) : null;
    if (!der) return `${where}.metadataStatement.attestationRootCertificates[${i}]`;
    roots.push(der);
  }
  const rawTypes = statement.attestationTypes ?? [];
  if (!Array.isArray(rawTypes) || !rawTypes.every((t) => typeof t === 'string')) {
    return `${where}.metadataStatement.attestationTypes`;
  }
  const statusReports = parseStatusReports(value.statusReports, where);
  if (typeof statusReports === 'string') return statusReports;
  return {
    aaguid,
    description: statement.description,
    attestationRootCertificates: roots,
    attestationTypes: rawTypes as string[],
    statusReports,
  };
}

/** Reads the BLOB payload into a catalog of FIDO2 models. Refuses the whole file on any error. */
export function parseMDSPayload(payload: unknown): { ok: true; catalog: MDSCatalog } | MDSParseFailure {
  if (!isRecord(payload)) return fail('malformed', 'payload');
  if (!Number.isSafeInteger(payload.no) || (payload.no as number) < 0) return fail('malformed', 'no');
  if (typeof payload.nextUpdate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(payload.nextUpdate)) {
    return fail('malformed', 'nextUpdate');
  }
  if (!Array.isArray(payload.entries)) return fail('malformed', 'entries');
  const entries = new Map<string, MDSEntry>();
  let skippedEntries = 0;
  for (const [i, raw] of payload.entries.entries()) {
    const entry = parseEntry(raw, i);
    if (entry === null) skippedEntries++;
    else if (typeof entry === 'string') return fail('malformed', entry);
    else if (entries.has(entry.aaguid))
      return fail('malformed', `entries[${i}].aaguid duplicates ${entry.aaguid}`);
    else entries.set(entry.aaguid, entry);
  }
  return {
    ok: true,
    catalog: { serialNumber: payload.no as number, nextUpdate: payload.nextUpdate, entries, skippedEntries },
  };
}

/**
 * Parses an MDS3 BLOB file. The result is not trusted until platform's verifyMDSBlobSignature
 * has checked the signature against the configured root; `jws` is returned for that.
 */
export function parseMDSBlob(
  blob: string,
): { ok: true; catalog: MDSCatalog; jws: MDSBlobJWS } | MDSParseFailure {
  const split = splitMDSBlob(blob);
  if (!split.ok) return split;
  const parsed = parseMDSPayload(split.jws.payload);
  if (!parsed.ok) return parsed;
  return { ok: true, catalog: parsed.catalog, jws: split.jws };
}

function entryOf(catalog: MDSCatalog, aaguid: string): MDSEntry | undefined {
  const key = normalizeAAGUID(aaguid);
  return key === null ? undefined : catalog.entries.get(key);
}

/** The model's description, or null when the BLOB does not know the AAGUID. */
export function describeAuthenticator(catalog: MDSCatalog, aaguid: string): string | null {
  return entryOf(catalog, aaguid)?.description ?? null;
}

/** The attestation trust anchors (DER) of a model; empty when unknown. */
export function trustAnchorsFor(catalog: MDSCatalog, aaguid: string): Uint8Array[] {
  return entryOf(catalog, aaguid)?.attestationRootCertificates ?? [];
}

/** The latest status report of a list: latest effectiveDate; among equal dates, the last listed. */
export function latestStatusReport(reports: readonly MDSStatusReport[]): MDSStatusReport | null {
  let latest: MDSStatusReport | null = null;
  for (const report of reports) {
    // ISO dates compare as strings; an undated report counts as the oldest.
    if (latest === null || (report.effectiveDate ?? '') >= (latest.effectiveDate ?? '')) latest = report;
  }
  return latest;
}

/** What the BLOB says about a model's current standing. */
export type MDSModelStatus =
  { known: false } | { known: true; latestStatus: string | null; compromised: boolean };

/** Whether the latest status report of a model marks it compromised. */
export function modelStatus(catalog: MDSCatalog, aaguid: string): MDSModelStatus {
  const entry = entryOf(catalog, aaguid);
  if (!entry) return { known: false };
  const latest = latestStatusReport(entry.statusReports);
  const compromised =
    latest !== null && (MDS_COMPROMISE_STATUSES as readonly string[]).includes(latest.status);
  return { known: true, latestStatus: latest?.status ?? null, compromised };
}

/** True when `nowMs` is past the end (UTC) of the BLOB's nextUpdate day: a newer BLOB is due. */
export function isMDSCatalogStale(catalog: MDSCatalog, nowMs: number): boolean {
  return nowMs >= Date.parse(`${catalog.nextUpdate}T00:00:00Z`) + 86_400_000;
}
