import { describe, expect, it } from 'vitest';
import { ASSURANCE_LEVELS } from '../factor.js';
import {
  ALL_ASSURANCE_LEVELS,
  ASSURANCE_PROFILES,
  assuranceAtLeast,
  isMultiFactorSignIn,
  WEBAUTHN_ASSURANCE_LEVELS,
  webAuthnAssurance,
  type WebAuthnAssuranceLevel,
  type WebAuthnCredentialFacts,
} from './assurance.js';

describe('the full assurance order', () => {
  it('is the factor assurance order: the OTP levels first, in their order, then the WebAuthn ones', () => {
    expect([...ALL_ASSURANCE_LEVELS]).toEqual([...ASSURANCE_LEVELS]);
    expect(ALL_ASSURANCE_LEVELS.slice(0, 4)).toEqual([
      'recovery_code',
      'restricted_otp',
      'software_otp',
      'hardware_otp',
    ]);
    expect(ALL_ASSURANCE_LEVELS.slice(4)).toEqual([...WEBAUTHN_ASSURANCE_LEVELS]);
    expect(new Set(ALL_ASSURANCE_LEVELS).size).toBe(ALL_ASSURANCE_LEVELS.length);
  });

  it('compares levels', () => {
    expect(assuranceAtLeast('synced_passkey', 'hardware_otp')).toBe(true);
    expect(assuranceAtLeast('hardware_otp', 'synced_passkey')).toBe(false);
    expect(assuranceAtLeast('attested_hardware_key', 'attested_hardware_key')).toBe(true);
    expect(assuranceAtLeast('device_bound_key', 'attested_hardware_key')).toBe(false);
    expect(assuranceAtLeast('recovery_code', 'software_otp')).toBe(false);
  });

  it('is phishing resistant exactly for WebAuthn, and AAL3 only for attested hardware', () => {
    for (const level of ALL_ASSURANCE_LEVELS) {
      const webAuthn = (WEBAUTHN_ASSURANCE_LEVELS as readonly string[]).includes(level);
      expect(ASSURANCE_PROFILES[level].phishingResistant, level).toBe(webAuthn);
      expect(ASSURANCE_PROFILES[level].maxAAL, level).toBe(level === 'attested_hardware_key' ? 3 : 2);
    }
    expect(ASSURANCE_PROFILES.attested_hardware_key.hardwareBinding).toBe('proven');
    expect(ASSURANCE_PROFILES.synced_passkey.hardwareBinding).toBe('none');
  });
});

describe('WebAuthn credential facts -> level', () => {
  const f = (be: 0 | 1, bs: 0 | 1, uv: 0 | 1, att: 0 | 1, listed: 0 | 1): WebAuthnCredentialFacts => ({
    backupEligible: be === 1,
    backedUp: bs === 1,
    userVerified: uv === 1,
    attestationVerified: att === 1,
    aaguidAllowed: listed === 1,
  });

  it.each<[string, WebAuthnCredentialFacts, WebAuthnAssuranceLevel]>([
    ['synced passkey, backed up, verified', f(1, 1, 1, 1, 1), 'synced_passkey'],
    ['synced passkey, not yet backed up', f(1, 0, 1, 0, 0), 'synced_passkey'],
    ['backup eligible even with attestation and listing', f(1, 0, 1, 1, 1), 'synced_passkey'],
    ['invalid BS without BE counts as copyable', f(0, 1, 1, 1, 1), 'synced_passkey'],
    ['security key, no UV, no attestation', f(0, 0, 0, 0, 0), 'device_bound_key'],
    ['security key with UV, attestation none', f(0, 0, 1, 0, 0), 'device_bound_key'],
    ['attested and listed but no UV', f(0, 0, 0, 1, 1), 'device_bound_key'],
    ['UV and listed but attestation not verified', f(0, 0, 1, 0, 1), 'device_bound_key'],
    ['UV and attested but model not on the list', f(0, 0, 1, 1, 0), 'device_bound_key'],
    ['device bound, UV, attested, listed', f(0, 0, 1, 1, 1), 'attested_hardware_key'],
  ])('%s', (_label, facts, expected) => {
    expect(webAuthnAssurance(facts)).toBe(expected);
  });

  it('of all 32 combinations, exactly one is attested hardware and 24 are synced passkeys', () => {
    const counts = new Map<WebAuthnAssuranceLevel, number>();
    for (let bits = 0; bits < 32; bits++) {
      const bit = (i: number) => ((bits >> i) & 1) as 0 | 1;
      const level = webAuthnAssurance(f(bit(0), bit(1), bit(2), bit(3), bit(4)));
      counts.set(level, (counts.get(level) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({
      synced_passkey: 24,
      device_bound_key: 7,
      attested_hardware_key: 1,
    });
  });

  it('a model the FIDO metadata marks compromised is no longer attested hardware', () => {
    const facts = {
      backupEligible: false,
      backedUp: false,
      userVerified: true,
      attestationVerified: true,
      aaguidAllowed: true,
    };
    expect(webAuthnAssurance(facts)).toBe('attested_hardware_key');
    expect(webAuthnAssurance({ ...facts, modelCompromised: true })).toBe('device_bound_key');
    expect(webAuthnAssurance({ ...facts, modelCompromised: false })).toBe('attested_hardware_key');
  });
});

describe('when a WebAuthn sign-in is multi-factor', () => {
  it.each([
    { passwordVerified: true, userVerified: false, expected: true },
    { passwordVerified: true, userVerified: true, expected: true },
    { passwordVerified: false, userVerified: true, expected: true },
    { passwordVerified: false, userVerified: false, expected: false },
  ])('password=$passwordVerified UV=$userVerified -> $expected', ({ expected, ...input }) => {
    expect(isMultiFactorSignIn(input)).toBe(expected);
  });
});
