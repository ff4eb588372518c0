import { describe, expect, it } from 'vitest';
import {
  ASSURANCE_LEVEL_NUMBERS,
  ASSURANCE_LEVEL_TABLE,
  ASSURANCE_LEVELS,
  ASSURANCE_PROFILES,
  assuranceAtLeast,
  isAssuranceLevel,
} from './assurance-levels.js';

describe('the assurance level table', () => {
  it('has one row per level and numbers that rise with the order', () => {
    expect(Object.keys(ASSURANCE_LEVEL_TABLE).sort()).toEqual([...ASSURANCE_LEVELS].sort());
    const numbers = ASSURANCE_LEVELS.map((level) => ASSURANCE_LEVEL_NUMBERS[level]);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('keeps the numbers saved policies rely on', () => {
    expect(ASSURANCE_LEVEL_NUMBERS).toEqual({
      recovery_code: 10,
      restricted_otp: 15,
      software_otp: 20,
      hardware_otp: 30,
      synced_passkey: 40,
      device_bound_key: 50,
      attested_hardware_key: 60,
    });
  });

  it('derives profiles from the rows: only WebAuthn levels resist phishing', () => {
    const resistant = ASSURANCE_LEVELS.filter((level) => ASSURANCE_PROFILES[level].phishingResistant);
    expect(resistant).toEqual(['synced_passkey', 'device_bound_key', 'attested_hardware_key']);
  });

  it('orders and recognises levels', () => {
    expect(assuranceAtLeast('hardware_otp', 'software_otp')).toBe(true);
    expect(assuranceAtLeast('restricted_otp', 'software_otp')).toBe(false);
    expect(isAssuranceLevel('software_otp')).toBe(true);
    expect(isAssuranceLevel('totp_software')).toBe(false);
  });
});
