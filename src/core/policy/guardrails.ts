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
 *   their own request or a request about themselves. It covers indirect edits too: a policy change
 *   on a group reaches every member of the group.
 * - G7 owners keep the account: only owners put or delete account-wide policies, and an owner keeps
 *   a break-glass path (see {@link breakGlassFor}) that no customer policy can close.
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
  /** The action asked for (G7: owner-only actions). */
  action?: string | undefined;
  /**
   * Every principal an indirect edit reaches besides the target (G6): the members of a group whose
   * policies change, or who would receive a managed policy through a group.
   */
  reached?: readonly GuardrailTarget[] | undefined;
}

/** Guardrail ids. */
export type GuardrailId = 'G1' | 'G2' | 'G3' | 'G4' | 'G5' | 'G6' | 'G7';

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

/**
 * Actions only an owner may take, whatever any policy says (G7). Account-wide policies cap every
 * principal of the account, owners included, so whoever writes them decides what owners can do.
 */
export const OWNER_ONLY_GUARDRAIL_ACTIONS: readonly string[] = [
  'holdfast:PutAccountPolicy',
  'holdfast:DeleteAccountPolicy',
];

/**
 * Policy management an owner always keeps (G7 break-glass): enough to find and undo any customer
 * policy (account-wide, inline, managed, group, and group membership).
 */
export const BREAK_GLASS_POLICY_ACTIONS: readonly string[] = [
  'holdfast:ListAccountPolicies',
  'holdfast:DeleteAccountPolicy',
  'iam:ListPolicies',
  'iam:GetPolicy',
  'iam:DeletePolicy',
  'iam:ListUserPolicies',
  'iam:GetUserPolicy',
  'iam:DeleteUserPolicy',
  'iam:DetachUserPolicy',
  'iam:ListAttachedUserPolicies',
  'iam:ListGroups',
  'iam:RemoveUserFromGroup',
  'iam:ListGroupPolicies',
  'iam:GetGroupPolicy',
  'iam:DeleteGroupPolicy',
  'iam:DetachGroupPolicy',
  'iam:ListAttachedGroupPolicies',
];

/** The owner's own security, kept on themselves only (G7 break-glass). */
export const BREAK_GLASS_SELF_ACTIONS: readonly string[] = [
  'holdfast:GetSession',
  'holdfast:ListSessions',
  'holdfast:RevokeSession',
  'holdfast:SignOut',
  'holdfast:StepUp',
  'iam:ChangePassword',
  'holdfast:GetRecoveryCodeStatus',
  'holdfast:RegenerateRecoveryCodes',
  'iam:ListMFADevices',
  'iam:GetMFADevice',
  'iam:CreateVirtualMFADevice',
  'iam:EnableMFADevice',
  'iam:ResyncMFADevice',
  'iam:DeactivateMFADevice',
  'iam:DeleteVirtualMFADevice',
  'holdfast:RenameMFADevice',
];

/** What a session needs to reach an MFA session at all: never closed to an owner by a policy. */
const BREAK_GLASS_WITHOUT_MFA: ReadonlySet<string> = new Set([
  'holdfast:GetSession',
  'holdfast:SignOut',
  'holdfast:StepUp',
]);
const breakGlassPolicy = new Set(BREAK_GLASS_POLICY_ACTIONS);
const breakGlassSelf = new Set(BREAK_GLASS_SELF_ACTIONS);
const ownerOnly = new Set(OWNER_ONLY_GUARDRAIL_ACTIONS);

/** Inputs of {@link breakGlassFor}. */
export interface BreakGlassInput {
  action: string;
  actor: { principalId: string; role: Role };
  /** The principal acted on (null: the account or a policy). */
  targetId: string | null;
  /** Only interactive sessions (password and factor) use the break-glass; long-term keys never do. */
  interactiveSession: boolean;
  /** The acting session passed a second factor. */
  hasMfa: boolean;
}

/**
 * G7 break-glass: whether customer policies are set aside for this request. `policies-ignored`:
 * only the built-in owner policy and the other guardrails decide (G1 and G2 still ask for MFA);
 * `needs-mfa`: the owner gets the break-glass after a step-up, so a refusal answers step-up;
 * null: policies decide as usual. A customer policy can deny owners anything else, but never the
 * way to undo that policy or the owner's own factors, sessions and password.
 */
export function breakGlassFor(input: BreakGlassInput): 'policies-ignored' | 'needs-mfa' | null {
  if (input.actor.role !== 'owner' || !input.interactiveSession) return null;
  const self = input.targetId === input.actor.principalId;
  const covered = breakGlassPolicy.has(input.action) || (self && breakGlassSelf.has(input.action));
  if (!covered) return null;
  if (self && BREAK_GLASS_WITHOUT_MFA.has(input.action)) return 'policies-ignored';
  return input.hasMfa ? 'policies-ignored' : 'needs-mfa';
}

const article = (role: Role) => (role === 'admin' ? 'an' : 'a');

/** Applies G6, G7, G2 and G1, in that order (hard denies first, then what step-up can cure). */
export function checkGuardrails(input: GuardrailInput): GuardrailVerdict | null {
  const { actor, target, traits } = input;
  const onOther = target !== null && target.principalId !== actor.principalId;
  if (onOther && !MAY_TARGET[actor.role].has(target.role)) {
    return {
      guardrail: 'G6',
      outcome: 'deny',
      reason: `the ${actor.role} role can never act on ${article(target.role)} ${target.role}`,
    };
  }
  const shielded = (input.reached ?? []).find(
    (p) => p.principalId !== actor.principalId && !MAY_TARGET[actor.role].has(p.role),
  );
  if (shielded !== undefined) {
    return {
      guardrail: 'G6',
      outcome: 'deny',
      reason: `the ${actor.role} role can never change what applies to ${article(shielded.role)} ${shielded.role}`,
    };
  }
  if (input.action !== undefined && ownerOnly.has(input.action) && actor.role !== 'owner') {
    return { guardrail: 'G7', outcome: 'deny', reason: 'only an owner manages account-wide policies' };
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
        reason: `this change (a factor, a role, an enrolment grant) needs MFA verified in the last ${maxAgeSeconds} seconds`,
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
