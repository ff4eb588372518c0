/**
 * The built-in guardrails (docs/guardrails.md). They run before any customer policy, and no
 * policy can loosen them: a policy can only deny more. Each check is a pure function of facts the
 * app layer gathers (who acts, how the session was authenticated, on whom, when).
 *
 * - G1 factor removal, deactivation, resync and recovery-code regeneration need an MFA session
 *   no older than the step-up age (15 minutes, a setting that can only be tightened).
 * - G2 identity administration (users, groups, policies, access keys, other people's factors,
 *   account settings, hardware tokens, the audit log) needs an MFA session.
 * - G3 enrolling a factor: see {@link checkEnrolment}.
 * - G6 the help desk never acts on owners or admins, admins never on owners, and nobody approves
 *   their own request or a request about themselves.
 * (G4 rate limits and G5 "losing the last factor" are enforced where factors change state.)
 */

import type { AssuranceLevel } from '../factors/factor.js';
import type { Role } from '../principals/types.js';

/** The step-up age no setting may exceed (G1). */
export const MAX_STEP_UP_AGE_MS = 15 * 60_000;
/** The initial enrolment window no setting may exceed (G3). */
export const MAX_INITIAL_ENROLMENT_WINDOW_MS = 7 * 24 * 60 * 60_000;

/** What the action catalog says about an action, for the guardrails. */
export interface ActionTraits {
  /** Identity administration (G2): needs MFA whoever the target is. */
  administration: boolean;
  /** Removes or weakens a factor (G1): needs a recent MFA. */
  factorSensitive: boolean;
}

/** The MFA facts of the acting session (null: not MFA-authenticated, or long-term keys). */
export interface ActingMfa {
  /** When the second factor was verified (ms since the epoch). */
  at: number;
  assurance: AssuranceLevel | string;
}

/** Who acts. */
export interface GuardrailActor {
  principalId: string;
  role: Role;
  mfa: ActingMfa | null;
}

/** The principal acted on, when there is one. */
export interface GuardrailTarget {
  principalId: string;
  role: Role;
}

/** Inputs of {@link checkGuardrails}. */
export interface GuardrailInput {
  traits: ActionTraits;
  actor: GuardrailActor;
  target: GuardrailTarget | null;
  nowMs: number;
  /** The account's step-up age (already capped at {@link MAX_STEP_UP_AGE_MS}). */
  stepUpMaxAgeMs: number;
  /** For approvals: who opened the request being approved. */
  requesterId?: string | undefined;
}

/** Guardrail ids. */
export type GuardrailId = 'G1' | 'G2' | 'G3' | 'G4' | 'G5' | 'G6';

/** Why a guardrail stopped a request. `step-up` can be cured by verifying a factor; `deny` cannot. */
export interface GuardrailVerdict {
  guardrail: GuardrailId;
  outcome: 'step-up' | 'deny';
  reason: string;
  /** For step-up: the most the MFA may be aged. */
  maxAgeSeconds?: number;
}

/** Which target roles each role may act on (besides itself). */
const MAY_TARGET: Readonly<Record<Role, ReadonlySet<Role>>> = {
  owner: new Set(['owner', 'admin', 'helpdesk', 'user']),
  admin: new Set(['admin', 'helpdesk', 'user']),
  helpdesk: new Set(['user']),
  user: new Set(),
};

/** Applies G6, G2 and G1, in that order (a hard deny first, then what step-up can cure). */
export function checkGuardrails(input: GuardrailInput): GuardrailVerdict | null {
  const { actor, target, traits } = input;
  const onOther = target !== null && target.principalId !== actor.principalId;
  if (onOther && !MAY_TARGET[actor.role].has(target.role)) {
    return {
      guardrail: 'G6',
      outcome: 'deny',
      reason: `the ${actor.role} role can never act on ${target.role === 'admin' ? 'an' : 'a'} ${target.role}`,
    };
  }
  if (input.requesterId !== undefined && input.requesterId === actor.principalId) {
    return { guardrail: 'G6', outcome: 'deny', reason: 'nobody approves their own request' };
  }
  if (input.requesterId !== undefined && target !== null && target.principalId === actor.principalId) {
    return { guardrail: 'G6', outcome: 'deny', reason: 'nobody approves a request about themselves' };
  }
  if ((traits.administration || onOther) && actor.mfa === null) {
    return {
      guardrail: 'G2',
      outcome: 'step-up',
      reason: 'identity administration needs an MFA-authenticated session',
    };
  }
  if (traits.factorSensitive) {
    const maxAgeSeconds = Math.floor(input.stepUpMaxAgeMs / 1000);
    if (actor.mfa === null || input.nowMs - actor.mfa.at > input.stepUpMaxAgeMs) {
      return {
        guardrail: 'G1',
        outcome: 'step-up',
        reason: `removing or changing a factor needs MFA verified in the last ${maxAgeSeconds} seconds`,
        maxAgeSeconds,
      };
    }
  }
  return null;
}

/** Facts G3 decides a factor enrolment on. */
export interface EnrolmentFacts {
  /** The principal has an enabled factor now. */
  hasEnabledFactor: boolean;
  /** The principal has ever had an enabled factor. */
  everEnrolled: boolean;
  /** The acting session passed a second factor. */
  sessionHasMfa: boolean;
  /** A valid one-time enrolment grant was presented. */
  grant: boolean;
  principalCreatedAt: number;
  nowMs: number;
  /** The account's initial enrolment window (capped at {@link MAX_INITIAL_ENROLMENT_WINDOW_MS}; 0: grants only). */
  initialWindowMs: number;
}

/**
 * G3: a principal with (or that ever had) an enabled factor adds one only from an MFA session or
 * with a one-time enrolment grant; a brand-new principal may enrol its first factor from its own
 * password or access-key session during the initial window; after it, only a grant works.
 */
export function checkEnrolment(facts: EnrolmentFacts): GuardrailVerdict | null {
  if (facts.sessionHasMfa || facts.grant) return null;
  if (facts.hasEnabledFactor) {
    return {
      guardrail: 'G3',
      outcome: 'step-up',
      reason: 'adding a factor next to an enabled one needs an MFA-authenticated session',
    };
  }
  if (facts.everEnrolled) {
    return {
      guardrail: 'G3',
      outcome: 'deny',
      reason: 'a principal that had factors before enrols again only with an enrolment grant',
    };
  }
  if (facts.nowMs - facts.principalCreatedAt >= facts.initialWindowMs) {
    return {
      guardrail: 'G3',
      outcome: 'deny',
      reason: 'the initial enrolment window is over; an enrolment grant is needed',
    };
  }
  return null;
}
