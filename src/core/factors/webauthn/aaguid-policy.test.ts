import { describe, expect, it } from 'vitest';
import {
  checkAAGUID,
  createAAGUIDPolicy,
  formatAAGUID,
  normalizeAAGUID,
  OPEN_AAGUID_POLICY,
  ZERO_AAGUID,
  type AAGUIDPolicy,
} from './aaguid-policy.js';

const MODEL_A = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';
const MODEL_B = 'ee882879-721c-4913-9775-3dfcce97072a';

function policyOf(aaguids: string[], requireVerifiedAttestation?: boolean): AAGUIDPolicy {
  const parsed = createAAGUIDPolicy({
    aaguids,
    ...(requireVerifiedAttestation === undefined ? {} : { requireVerifiedAttestation }),
  });
  if (!parsed.ok) throw new Error(`invalid: ${parsed.invalid.join(',')}`);
  return parsed.policy;
}

describe('AAGUID normalisation (RFC 4122 string form)', () => {
  it.each([
    [MODEL_A, MODEL_A],
    [MODEL_A.toUpperCase(), MODEL_A],
    [`{${MODEL_A}}`, MODEL_A],
    [`  ${MODEL_A.replace(/-/g, '')} `, MODEL_A],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeAAGUID(input)).toBe(expected);
  });

  it.each(['', 'not-a-uuid', MODEL_A.slice(0, -1), `${MODEL_A}0`, MODEL_A.replace('c', 'g')])(
    'refuses %j',
    (input) => {
      expect(normalizeAAGUID(input)).toBeNull();
    },
  );

  it('formats 16 raw bytes', () => {
    const bytes = Uint8Array.from(Buffer.from(MODEL_A.replace(/-/g, ''), 'hex'));
    expect(formatAAGUID(bytes)).toBe(MODEL_A);
    expect(() => formatAAGUID(new Uint8Array(15))).toThrow(RangeError);
  });
});

describe('account allow-list of authenticator models', () => {
  it('collapses duplicates in any spelling', () => {
    const policy = policyOf([MODEL_A, MODEL_A.toUpperCase(), MODEL_B]);
    expect([...policy.allowList!].sort()).toEqual([MODEL_A, MODEL_B].sort());
    expect(policy.requireVerifiedAttestation).toBe(true);
  });

  it('names every invalid entry, and refuses the all-zero AAGUID', () => {
    expect(createAAGUIDPolicy({ aaguids: [MODEL_A, 'bogus', ZERO_AAGUID] })).toEqual({
      ok: false,
      invalid: ['bogus', ZERO_AAGUID],
    });
  });

  it('admits a listed model with verified attestation, and says it is listed', () => {
    const policy = policyOf([MODEL_A]);
    expect(checkAAGUID(policy, { aaguid: MODEL_A.toUpperCase(), attestationVerified: true })).toEqual({
      allowed: true,
      listed: true,
    });
  });

  it('refuses an unlisted model, and the zero AAGUID', () => {
    const policy = policyOf([MODEL_A]);
    expect(checkAAGUID(policy, { aaguid: MODEL_B, attestationVerified: true })).toEqual({
      allowed: false,
      reason: 'not_listed',
    });
    expect(checkAAGUID(policy, { aaguid: ZERO_AAGUID, attestationVerified: false })).toEqual({
      allowed: false,
      reason: 'not_listed',
    });
  });

  it('refuses a listed AAGUID that only the authenticator itself vouches for', () => {
    const policy = policyOf([MODEL_A]);
    expect(checkAAGUID(policy, { aaguid: MODEL_A, attestationVerified: false })).toEqual({
      allowed: false,
      reason: 'attestation_unverified',
    });
  });

  it('a relaxed list admits unattested claims but does not count them as listed', () => {
    const policy = policyOf([MODEL_A], false);
    expect(checkAAGUID(policy, { aaguid: MODEL_A, attestationVerified: false })).toEqual({
      allowed: true,
      listed: false,
    });
  });

  it('an empty list admits nothing; the open policy admits everything but lists nothing', () => {
    expect(checkAAGUID(policyOf([]), { aaguid: MODEL_A, attestationVerified: true }).allowed).toBe(false);
    expect(checkAAGUID(OPEN_AAGUID_POLICY, { aaguid: MODEL_A, attestationVerified: true })).toEqual({
      allowed: true,
      listed: false,
    });
    expect(checkAAGUID(OPEN_AAGUID_POLICY, { aaguid: 'x', attestationVerified: true })).toEqual({
      allowed: false,
      reason: 'malformed',
    });
  });
});
