/**
 * The request context a policy is evaluated against (AWS IAM User Guide, "Policy evaluation
 * logic": the request context holds the principal, action, resource and condition keys).
 *
 * The context carries the time: core reads no clock (DESIGN.md convention 5).
 */

import { ASSURANCE_LEVEL_NUMBERS } from '../factors/assurance-levels.js';
import type { AssuranceLevel, FactorKind } from '../factors/factor.js';

/** One condition-key value: a single value, or a list for a multi-valued key. */
export type ContextValue = string | number | boolean | readonly string[];

/** The principal making the request. */
export interface PolicyPrincipal {
  accountId: string;
  /** IAM user name; absent for assumed-role sessions, so `${aws:username}` never resolves for them. */
  username?: string | undefined;
  userid: string;
  arn: string;
}

/** The request context: who asks to do what to which resource, plus the condition keys. */
export interface RequestContext {
  principal: PolicyPrincipal;
  action: string;
  resource: string;
  /** Condition keys by lower-cased name (IAM condition key names are case-insensitive). */
  keys: ReadonlyMap<string, ContextValue>;
}

/**
 * Numeric scale for `holdfast:MfaAssuranceLevel`, so a policy can ask for a minimum with
 * `NumericGreaterThanEquals`: a column of the one level table (core/factors/assurance-levels.ts).
 */
export { ASSURANCE_LEVEL_NUMBERS };

/** Condition keys (lower-cased) that {@link buildRequestContext} alone sets. */
export const RESERVED_KEYS: readonly string[] = [
  'aws:currenttime',
  'aws:epochtime',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:userid',
  'aws:username',
  'aws:sourceip',
  'aws:multifactorauthpresent',
  'aws:multifactorauthage',
  'aws:tokenissuetime',
  'holdfast:mfaassurance',
  'holdfast:mfaassurancelevel',
  'holdfast:mfafactorkind',
  'holdfast:phishingresistant',
];

/** How the request was authenticated; decides which MFA keys are present (AWS semantics). */
export type CredentialKind = 'long-term-key' | 'session';

/** The MFA facts of a session that passed a second factor. */
export interface MfaFacts {
  /** When the second factor was verified, in ms since the epoch. */
  authenticatedAtMs: number;
  assurance: AssuranceLevel;
  factorKind: FactorKind | string;
  phishingResistant: boolean;
}

/** Inputs of {@link buildRequestContext}. */
export interface BuildContextInput {
  principal: PolicyPrincipal;
  action: string;
  resource: string;
  /** The request time (from the injected Clock), ms since the epoch. */
  nowMs: number;
  credential: CredentialKind;
  /** MFA facts of the session, or null when the session was not MFA-authenticated. */
  mfa: MfaFacts | null;
  sourceIp?: string | undefined;
  /**
   * When the temporary credentials or the session signing the request were issued (ms since
   * the epoch): `aws:TokenIssueTime`. Ignored for long-term keys, for which the key is absent.
   */
  tokenIssuedAtMs?: number | undefined;
  /** Further keys (lower-cased on the way in); they never override the keys set here. */
  extraKeys?: Readonly<Record<string, ContextValue>> | undefined;
}

/**
 * Builds a request context with AWS's presence rules for the MFA keys (AWS global condition
 * context keys; shared/reference/aws-iam-sts.md §5.2):
 * - `aws:MultiFactorAuthPresent` is present only for session (temporary) credentials: true when
 *   MFA validated the session, false otherwise; ABSENT for long-term access keys.
 * - `aws:MultiFactorAuthAge` is present only when MFA was used.
 * - `aws:TokenIssueTime` (Date) is the issue time of the temporary credentials (or the session)
 *   signing the request; ABSENT for long-term access keys.
 * - Holdfast's `holdfast:MfaAssurance`, `holdfast:MfaAssuranceLevel` and `holdfast:MfaFactorKind`
 *   follow `aws:MultiFactorAuthAge` (present only with MFA); `holdfast:PhishingResistant` follows
 *   `aws:MultiFactorAuthPresent` (false for a session without MFA, absent for long-term keys).
 */
export function buildRequestContext(input: BuildContextInput): RequestContext {
  const keys = new Map<string, ContextValue>();
  for (const [k, v] of Object.entries(input.extraKeys ?? {})) keys.set(k.toLowerCase(), v);
  // The keys this function owns are never taken from extraKeys, present here or not.
  for (const k of RESERVED_KEYS) keys.delete(k);
  const { principal } = input;
  keys.set('aws:currenttime', new Date(input.nowMs).toISOString());
  keys.set('aws:epochtime', Math.floor(input.nowMs / 1000));
  keys.set('aws:principalaccount', principal.accountId);
  keys.set('aws:principalarn', principal.arn);
  keys.set('aws:userid', principal.userid);
  if (principal.username !== undefined) keys.set('aws:username', principal.username);
  if (input.sourceIp !== undefined) keys.set('aws:sourceip', input.sourceIp);
  // Long-term keys never carry MFA facts, whatever the caller passes.
  const mfa = input.credential === 'session' ? input.mfa : null;
  if (input.credential === 'session') {
    keys.set('aws:multifactorauthpresent', mfa !== null);
    keys.set('holdfast:phishingresistant', mfa?.phishingResistant ?? false);
    if (input.tokenIssuedAtMs !== undefined) {
      keys.set('aws:tokenissuetime', new Date(input.tokenIssuedAtMs).toISOString());
    }
  }
  if (mfa !== null) {
    const age = Math.max(0, Math.floor((input.nowMs - mfa.authenticatedAtMs) / 1000));
    keys.set('aws:multifactorauthage', age);
    keys.set('holdfast:mfaassurance', mfa.assurance);
    keys.set('holdfast:mfaassurancelevel', ASSURANCE_LEVEL_NUMBERS[mfa.assurance]);
    keys.set('holdfast:mfafactorkind', mfa.factorKind);
  }
  return { principal, action: input.action, resource: input.resource, keys };
}
