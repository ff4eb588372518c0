import { describe, expect, it } from 'vitest';
import type { SessionAuth } from '../sessions/session.js';
import { ACR_PREFIX, acrFor, amrFor, assuranceShortfall, levelOfAcr, requiredLevel } from './claims.js';

const at = 1_000_000;
const auth = (methods: string[], assurance: string | null, factorAt = at): SessionAuth => ({
  methods,
  factor: assurance === null ? null : { factorId: 'f', kind: 'k', assurance, at: factorAt },
});

describe('amr and acr of a session (RFC 8176)', () => {
  it.each([
    [['pwd'], null, [], null],
    [['pwd', 'otp', 'mfa'], 'software_otp', ['pwd', 'otp', 'mfa'], 'software_otp'],
    [['pwd', 'rec', 'mfa'], 'recovery_code', ['pwd', 'mfa'], 'recovery_code'],
    [['pwd', 'hwk'], 'hardware_otp', ['pwd', 'hwk', 'mfa'], 'hardware_otp'],
    [['hwk', 'mfa'], 'attested_hardware_key', ['hwk', 'mfa', 'user'], 'attested_hardware_key'],
    [['setup'], null, [], null],
  ] as const)('%j at %s', (methods, level, amr, acr) => {
    const a = auth([...methods], level);
    expect(amrFor(a)).toEqual(amr.length === 0 ? methods.filter((m) => m === 'pwd') : amr);
    expect(acrFor(a)).toBe(acr === null ? null : ACR_PREFIX + acr);
  });

  it('reads acr values and aliases, and nothing else', () => {
    expect(levelOfAcr(`${ACR_PREFIX}phishing_resistant`)).toBe('synced_passkey');
    expect(levelOfAcr(`${ACR_PREFIX}mfa`)).toBe('recovery_code');
    expect(levelOfAcr(`${ACR_PREFIX}device_bound_key`)).toBe('device_bound_key');
    expect(levelOfAcr('urn:other:gold')).toBeNull();
    expect(levelOfAcr(`${ACR_PREFIX}__proto__`)).toBeNull();
  });
});

describe('what a client may ask for', () => {
  it.each([
    [[], null, 'recovery_code'],
    [[`${ACR_PREFIX}software_otp`], null, 'software_otp'],
    // acr_values lists acceptable classes: the weakest known one is enough.
    [[`${ACR_PREFIX}attested_hardware_key`, `${ACR_PREFIX}hardware_otp`], null, 'hardware_otp'],
    // The client minimum is never lowered by a request...
    [[`${ACR_PREFIX}mfa`], 'phishing_resistant', 'synced_passkey'],
    // ...but a request may raise it.
    [[`${ACR_PREFIX}attested_hardware_key`], 'software_otp', 'attested_hardware_key'],
    [['urn:unknown'], null, 'recovery_code'],
  ] as const)('acr_values %j with client minimum %s needs %s', (acrValues, clientMinimum, expected) => {
    expect(requiredLevel({ acrValues, clientMinimum })).toBe(expected);
  });

  it.each([
    [auth(['pwd'], null), 'recovery_code', null, null, 'no_mfa'],
    [auth(['pwd', 'otp'], 'software_otp'), 'synced_passkey', null, null, 'level_too_low'],
    [auth(['pwd', 'hwk'], 'device_bound_key'), 'synced_passkey', null, null, null],
    [auth(['pwd', 'otp'], 'software_otp', at - 61_000), 'software_otp', 60, null, 'mfa_too_old'],
    [auth(['pwd', 'otp'], 'software_otp', at - 59_000), 'software_otp', 60, null, null],
    // prompt=login: only a factor verified after the request started counts.
    [auth(['pwd', 'otp'], 'software_otp', at - 1), 'software_otp', null, at - 1, null],
    [auth(['pwd', 'otp'], 'software_otp', at - 2), 'software_otp', null, at - 1, 'mfa_too_old'],
  ] as const)('shortfall %#', (a, required, maxAgeSeconds, authenticatedAfter, expected) => {
    expect(assuranceShortfall({ auth: a, required, maxAgeSeconds, authenticatedAfter, now: at })).toBe(
      expected,
    );
  });
});
