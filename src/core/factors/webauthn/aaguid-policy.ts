/**
 * An account-level allow-list of authenticator models, named by AAGUID (the 128-bit
 * Authenticator Attestation GUID of W3C WebAuthn Level 2 §6.5.1, written in the UUID string form
 * of RFC 4122 §3).
 *
 * An AAGUID is only as trustworthy as the attestation that carries it: with attestation `none` or
 * self attestation, any software can claim any AAGUID. An allow-list therefore requires, by
 * default, that the attestation was verified against a trust anchor; an account may relax that
 * (for example to steer users to a passkey provider that never attests) knowing the list then
 * only guides honest clients and stops no attacker.
 */

/** The all-zero AAGUID: authenticators that do not say what they are, or clients that hid it (§6.5.1). */
export const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The canonical form of an AAGUID (lowercase, hyphenated 8-4-4-4-12), or null when the text is
 * not one. Accepts either case, with or without hyphens, optionally in braces.
 */
export function normalizeAAGUID(text: string): string | null {
  let t = text.trim().toLowerCase();
  if (t.startsWith('{') && t.endsWith('}')) t = t.slice(1, -1);
  if (CANONICAL.test(t)) return t;
  if (/^[0-9a-f]{32}$/.test(t)) {
    return `${t.slice(0, 8)}-${t.slice(8, 12)}-${t.slice(12, 16)}-${t.slice(16, 20)}-${t.slice(20)}`;
  }
  return null;
}

/** The AAGUID of 16 raw bytes (as in attested credential data, §6.5.1) in canonical form. */
export function formatAAGUID(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError('an AAGUID is 16 bytes');
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return normalizeAAGUID(hex)!;
}

/** Which authenticator models an account accepts. */
export interface AAGUIDPolicy {
  /** Canonical AAGUIDs allowed; null when every model is accepted. */
  readonly allowList: ReadonlySet<string> | null;
  /** With an allow-list: the AAGUID counts only when the attestation was verified (default true). */
  readonly requireVerifiedAttestation: boolean;
}

/** The policy of an account without an allow-list: every model is accepted. */
export const OPEN_AAGUID_POLICY: AAGUIDPolicy = { allowList: null, requireVerifiedAttestation: false };

/** Result of building a policy from what an admin entered. */
export type AAGUIDPolicyParse =
  | { ok: true; policy: AAGUIDPolicy }
  /** Entries that are not AAGUIDs, or the all-zero AAGUID (which names no model). Not secret. */
  | { ok: false; invalid: string[] };

/**
 * Builds an allow-list policy. Duplicates in any spelling collapse; an empty list is valid and
 * admits nothing (an admin who wants no restriction uses OPEN_AAGUID_POLICY).
 */
export function createAAGUIDPolicy(input: {
  aaguids: readonly string[];
  requireVerifiedAttestation?: boolean;
}): AAGUIDPolicyParse {
  const allowed = new Set<string>();
  const invalid: string[] = [];
  for (const entry of input.aaguids) {
    const aaguid = normalizeAAGUID(entry);
    if (aaguid === null || aaguid === ZERO_AAGUID) invalid.push(entry);
    else allowed.add(aaguid);
  }
  if (invalid.length > 0) return { ok: false, invalid };
  return {
    ok: true,
    policy: { allowList: allowed, requireVerifiedAttestation: input.requireVerifiedAttestation ?? true },
  };
}

/** Whether a model is admitted, and whether it was explicitly listed (which assurance relies on). */
export type AAGUIDCheck =
  | { allowed: true; listed: boolean }
  | { allowed: false; reason: 'malformed' | 'not_listed' | 'attestation_unverified' };

/** Checks a credential's AAGUID against an account's policy at registration. */
export function checkAAGUID(
  policy: AAGUIDPolicy,
  input: { aaguid: string; attestationVerified: boolean },
): AAGUIDCheck {
  const aaguid = normalizeAAGUID(input.aaguid);
  if (aaguid === null) return { allowed: false, reason: 'malformed' };
  if (policy.allowList === null) return { allowed: true, listed: false };
  if (!policy.allowList.has(aaguid)) return { allowed: false, reason: 'not_listed' };
  if (policy.requireVerifiedAttestation && !input.attestationVerified) {
    return { allowed: false, reason: 'attestation_unverified' };
  }
  // A listed AAGUID without verified attestation is only the authenticator's claim.
  return { allowed: true, listed: input.attestationVerified };
}
