/**
 * What an ID token says about how the user signed in: `amr` (RFC 8176 Authentication Method
 * Reference values) and `acr` (OpenID Connect Core 1.0 §2: the Authentication Context Class
 * Reference) from the session's assurance level (docs/assurance.md), and whether a session meets
 * what a client asked for (`acr_values`, the client's own minimum, `max_age`). Pure.
 */

import {
  ALL_ASSURANCE_LEVELS,
  assuranceAtLeast,
  type FullAssuranceLevel,
} from '../factors/webauthn/assurance.js';
import type { SessionAuth } from '../sessions/session.js';

/** Prefix of every `acr` value Holdfast issues or understands. */
export const ACR_PREFIX = 'urn:holdfast:acr:';

/** Requestable aliases: `mfa` (any second factor) and `phishing_resistant` (any WebAuthn level). */
export const ACR_ALIASES: Readonly<Record<string, FullAssuranceLevel>> = {
  mfa: 'recovery_code',
  phishing_resistant: 'synced_passkey',
};

/** Every `acr` value the provider supports (discovery's `acr_values_supported`), weakest first. */
export const ACR_VALUES: readonly string[] = [
  ...Object.keys(ACR_ALIASES).map((alias) => ACR_PREFIX + alias),
  ...ALL_ASSURANCE_LEVELS.map((level) => ACR_PREFIX + level),
];

/** RFC 8176 §2 registered values; Holdfast-internal method names (`rec`, `setup`, `key`) are left out. */
const REGISTERED_AMR = new Set([
  'face',
  'fpt',
  'geo',
  'hwk',
  'iris',
  'kba',
  'mca',
  'mfa',
  'otp',
  'pin',
  'pop',
  'pwd',
  'rba',
  'retina',
  'sc',
  'sms',
  'swk',
  'tel',
  'user',
  'vbm',
  'wia',
]);

/** The session's assurance level, or null when it carries no second factor. */
export function sessionLevel(auth: SessionAuth): FullAssuranceLevel | null {
  const level = auth.factor?.assurance;
  return level !== undefined && (ALL_ASSURANCE_LEVELS as readonly string[]).includes(level)
    ? (level as FullAssuranceLevel)
    : null;
}

/** The `acr` of a session: its exact assurance level, or null without a second factor. */
export function acrFor(auth: SessionAuth): string | null {
  const level = sessionLevel(auth);
  return level === null ? null : ACR_PREFIX + level;
}

/**
 * The `amr` of a session: its RFC 8176 methods in order, without duplicates, `mfa` when a
 * second factor was verified, and `user` when a WebAuthn assertion verified the user (UV) —
 * which the session records as the `device_bound_key`/`attested_hardware_key` distinction only
 * for attested keys, so `user` is added only where the level proves it.
 */
export function amrFor(auth: SessionAuth): string[] {
  const out = auth.methods.filter((m) => REGISTERED_AMR.has(m));
  if (sessionLevel(auth) !== null && !out.includes('mfa')) out.push('mfa');
  if (sessionLevel(auth) === 'attested_hardware_key' && !out.includes('user')) out.push('user');
  return [...new Set(out)];
}

/** The level an `acr` value asks for, or null when it is not one of ours. */
export function levelOfAcr(value: string): FullAssuranceLevel | null {
  if (!value.startsWith(ACR_PREFIX)) return null;
  const name = value.slice(ACR_PREFIX.length);
  if (Object.hasOwn(ACR_ALIASES, name)) return ACR_ALIASES[name]!;
  return (ALL_ASSURANCE_LEVELS as readonly string[]).includes(name) ? (name as FullAssuranceLevel) : null;
}

/**
 * The least level a sign-in for this request must reach. `acr_values` lists acceptable classes
 * (OpenID Connect Core 1.0 §3.1.2.1), so the weakest one we know is enough; the client's own
 * minimum is then applied on top: a request can raise the bar, never lower it. Values we do not
 * know are ignored (voluntary claim); with none known and no client minimum, any second factor.
 */
export function requiredLevel(input: {
  acrValues: readonly string[];
  clientMinimum: string | null;
}): FullAssuranceLevel {
  const requested = input.acrValues.map(levelOfAcr).filter((l): l is FullAssuranceLevel => l !== null);
  let required: FullAssuranceLevel = 'recovery_code';
  if (requested.length > 0) {
    required = requested.reduce((a, b) => (assuranceAtLeast(a, b) ? b : a));
  }
  const clientMinimum = input.clientMinimum === null ? null : levelOfAcr(ACR_PREFIX + input.clientMinimum);
  if (clientMinimum !== null && !assuranceAtLeast(required, clientMinimum)) required = clientMinimum;
  return required;
}

/** Why a session cannot be used for this request as it is (a step-up is needed), or null when it can. */
export function assuranceShortfall(input: {
  auth: SessionAuth;
  required: FullAssuranceLevel;
  /** `max_age` in seconds (OpenID Connect Core 1.0 §3.1.2.1), applied to the last MFA. */
  maxAgeSeconds: number | null;
  /** `prompt=login` (or `max_age=0`): the second factor must be verified at or after this time (ms). */
  authenticatedAfter?: number | null;
  now: number;
}): 'no_mfa' | 'level_too_low' | 'mfa_too_old' | null {
  const level = sessionLevel(input.auth);
  if (level === null || input.auth.factor === null) return 'no_mfa';
  if (!assuranceAtLeast(level, input.required)) return 'level_too_low';
  if (input.maxAgeSeconds !== null && input.now - input.auth.factor.at > input.maxAgeSeconds * 1000) {
    return 'mfa_too_old';
  }
  if (input.authenticatedAfter !== undefined && input.authenticatedAfter !== null) {
    if (input.auth.factor.at < input.authenticatedAfter) return 'mfa_too_old';
  }
  return null;
}

/** True when `value` names a level (or alias) a client may set as its minimum. */
export function isKnownMinimum(value: string): boolean {
  return levelOfAcr(ACR_PREFIX + value) !== null;
}
