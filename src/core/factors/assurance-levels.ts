/**
 * The assurance levels of second factors, in one table (MISSION.md failure 5: a session records
 * what kind of proof it was given, so policies can ask for a minimum or a property). Each row
 * carries everything the rest of the code knows about a level: its place in the order, its fixed
 * number for `holdfast:MfaAssuranceLevel`, and its profile. The rationale per row is in
 * docs/assurance.md.
 */

/**
 * Assurance levels, weakest first. `restricted_otp` is a code texted to a phone (NIST SP 800-63B
 * §5.1.3.3 "restricted"): the weakest factor kind. Recovery codes stay the floor of the order:
 * they are the way back in, and "any second factor" still answers `recovery_code`. The last three
 * are WebAuthn's (webauthn/assurance.ts).
 */
export const ASSURANCE_LEVELS = [
  'recovery_code',
  'restricted_otp',
  'software_otp',
  'hardware_otp',
  'synced_passkey',
  'device_bound_key',
  'attested_hardware_key',
] as const;
/** One assurance level. */
export type AssuranceLevel = (typeof ASSURANCE_LEVELS)[number];

/** How strongly the secret is tied to one piece of hardware. */
export type HardwareBinding = 'none' | 'claimed' | 'proven';

/** The properties of a level that policies may ask for directly. */
export interface AssuranceProfile {
  /** Verifier-impersonation resistant (NIST SP 800-63B §5.2.5): the proof is bound to our origin. */
  phishingResistant: boolean;
  /** Whether the secret is held in one device that does not export it, and how we know. */
  hardwareBinding: HardwareBinding;
  /** The highest NIST SP 800-63B authenticator assurance level the factor can support. */
  maxAAL: 1 | 2 | 3;
}

/** What is known about one level. */
export interface AssuranceLevelFacts {
  /**
   * Its number on the `holdfast:MfaAssuranceLevel` scale. Numbers are spaced and fixed: a new
   * level gets its own number between existing ones instead of shifting them, so saved policies
   * keep their meaning.
   */
  number: number;
  profile: AssuranceProfile;
}

/**
 * The one table of levels. Typed as a full record: adding a level to {@link ASSURANCE_LEVELS}
 * without its row fails to compile; a unit test keeps the numbers rising with the order.
 */
export const ASSURANCE_LEVEL_TABLE: Readonly<Record<AssuranceLevel, AssuranceLevelFacts>> = {
  recovery_code: { number: 10, profile: { phishingResistant: false, hardwareBinding: 'none', maxAAL: 2 } },
  // A texted code (SIM swap, number porting): restricted under NIST SP 800-63B §5.1.3.3.
  restricted_otp: { number: 15, profile: { phishingResistant: false, hardwareBinding: 'none', maxAAL: 2 } },
  software_otp: { number: 20, profile: { phishingResistant: false, hardwareBinding: 'none', maxAAL: 2 } },
  hardware_otp: { number: 30, profile: { phishingResistant: false, hardwareBinding: 'claimed', maxAAL: 2 } },
  synced_passkey: { number: 40, profile: { phishingResistant: true, hardwareBinding: 'none', maxAAL: 2 } },
  device_bound_key: {
    number: 50,
    profile: { phishingResistant: true, hardwareBinding: 'claimed', maxAAL: 2 },
  },
  attested_hardware_key: {
    number: 60,
    profile: { phishingResistant: true, hardwareBinding: 'proven', maxAAL: 3 },
  },
};

function column<T>(pick: (facts: AssuranceLevelFacts) => T): Readonly<Record<AssuranceLevel, T>> {
  return Object.fromEntries(
    ASSURANCE_LEVELS.map((level) => [level, pick(ASSURANCE_LEVEL_TABLE[level])]),
  ) as Record<AssuranceLevel, T>;
}

/** The `holdfast:MfaAssuranceLevel` number of every level. */
export const ASSURANCE_LEVEL_NUMBERS: Readonly<Record<AssuranceLevel, number>> = column((f) => f.number);

/** The profile of every level. */
export const ASSURANCE_PROFILES: Readonly<Record<AssuranceLevel, AssuranceProfile>> = column(
  (f) => f.profile,
);

/** Whether `level` names a level (stored rows and tokens are read back as strings). */
export function isAssuranceLevel(level: string): level is AssuranceLevel {
  return (ASSURANCE_LEVELS as readonly string[]).includes(level);
}

/** True when `level` is at least `minimum` in the order. */
export function assuranceAtLeast(level: AssuranceLevel, minimum: AssuranceLevel): boolean {
  return ASSURANCE_LEVELS.indexOf(level) >= ASSURANCE_LEVELS.indexOf(minimum);
}
