/**
 * Policy evaluation (AWS IAM User Guide, "Policy evaluation logic"; shared/reference/aws-iam-sts.md
 * §5.1): an explicit Deny in any applicable policy wins; otherwise an Allow is needed in the
 * identity policies AND, when the account has account-wide policies, in those too (they cap what
 * identity policies grant, like service control policies) AND, when the principal has a
 * permissions boundary, in the boundary ("the entity can perform only the actions that are allowed
 * by both its identity-based policies and its permissions boundaries", AWS IAM User Guide,
 * "Permissions boundaries for IAM entities"); otherwise the implicit deny stands.
 */

import type { RequestContext } from './context.js';
import { evaluateConditions } from './conditions.js';
import type { CompiledElement, CompiledPolicy, CompiledStatement } from './parse-policy.js';

/** The outcome of an authorization decision. */
export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** Which set of policies a statement came from. */
export type PolicySet = 'identity' | 'account' | 'boundary';

/** A statement that matched the request. */
export interface MatchedStatement {
  set: PolicySet;
  /** Index of the policy in the list passed to {@link evaluate}. */
  policyIndex: number;
  statementIndex: number;
  sid: string | undefined;
  effect: 'Allow' | 'Deny';
}

/** Why an implicit deny happened, for the audit log and the linter. */
export type ImplicitDenyReason =
  | 'no-identity-allow'
  | 'not-allowed-by-account-policy'
  | 'not-allowed-by-session-policy'
  | 'not-allowed-by-permissions-boundary';

/** Inputs of {@link evaluate}. */
export interface EvaluateInput {
  identityPolicies: readonly CompiledPolicy[];
  /** Account-wide policies capping identity policies; an empty list caps nothing. */
  accountPolicies: readonly CompiledPolicy[];
  /** The principal's permissions boundary: it caps identity policies; null or absent caps nothing. */
  boundary?: CompiledPolicy | null;
  context: RequestContext;
}

/** The result of {@link evaluate}. */
export interface EvaluationResult {
  decision: Decision;
  /** The Deny statements behind an ExplicitDeny, or the Allow statements behind an Allow. */
  matchedStatements: MatchedStatement[];
  /** Set for an ImplicitDeny only. */
  implicitDenyReason?: ImplicitDenyReason;
}

function elementMatches(element: CompiledElement, text: string, context: RequestContext): boolean {
  let any = false;
  for (const p of element.patterns) {
    if (p.matches(text, context)) {
      any = true;
      break;
    }
  }
  return any !== element.negated;
}

/** Most distinct actions remembered per policy (the action catalog is far smaller). */
const MAX_ACTIONS_PER_POLICY = 1_024;
const byPolicy = new WeakMap<CompiledPolicy, Map<string, readonly CompiledStatement[]>>();

/**
 * The statements of a policy whose Action/NotAction matches an action. Action patterns hold no
 * variables in practice, so the answer depends on the action alone and is remembered per compiled
 * policy (compiled policies are immutable); a policy with a variable in an action is never cached.
 */
function statementsForAction(
  policy: CompiledPolicy,
  lowerCaseAction: string,
  context: RequestContext,
): readonly CompiledStatement[] {
  let memo = byPolicy.get(policy);
  const hit = memo?.get(lowerCaseAction);
  if (hit !== undefined) return hit;
  const list = policy.statements.filter((s) => elementMatches(s.action, lowerCaseAction, context));
  const cacheable = policy.statements.every((s) => s.action.patterns.every((p) => p.static));
  if (cacheable) {
    if (memo === undefined) {
      memo = new Map();
      byPolicy.set(policy, memo);
    }
    if (memo.size < MAX_ACTIONS_PER_POLICY) memo.set(lowerCaseAction, list);
  }
  return list;
}

/** True when a statement whose action matched applies to the request (resource and every condition). */
function statementApplies(statement: CompiledStatement, context: RequestContext): boolean {
  return (
    elementMatches(statement.resource, context.resource, context) &&
    evaluateConditions(statement.conditions, context)
  );
}

interface CollectInput {
  set: PolicySet;
  policies: readonly CompiledPolicy[];
  context: RequestContext;
  lowerCaseAction: string;
  into: { allows: MatchedStatement[]; denies: MatchedStatement[] };
}

function collect({ set, policies, context, lowerCaseAction, into }: CollectInput): void {
  for (let policyIndex = 0; policyIndex < policies.length; policyIndex++) {
    for (const s of statementsForAction(policies[policyIndex]!, lowerCaseAction, context)) {
      if (!statementApplies(s, context)) continue;
      const match = { set, policyIndex, statementIndex: s.index, sid: s.sid, effect: s.effect };
      (s.effect === 'Deny' ? into.denies : into.allows).push(match);
    }
  }
}

/** Decides a request: explicit deny > allow (in identity AND account policies) > implicit deny. */
export function evaluate(input: EvaluateInput): EvaluationResult {
  const { context } = input;
  const lowerCaseAction = context.action.toLowerCase();
  const found = { allows: [] as MatchedStatement[], denies: [] as MatchedStatement[] };
  collect({ set: 'identity', policies: input.identityPolicies, context, lowerCaseAction, into: found });
  collect({ set: 'account', policies: input.accountPolicies, context, lowerCaseAction, into: found });
  const boundary = input.boundary ?? null;
  if (boundary !== null)
    collect({ set: 'boundary', policies: [boundary], context, lowerCaseAction, into: found });
  if (found.denies.length > 0) return { decision: 'ExplicitDeny', matchedStatements: found.denies };
  const identityAllows = found.allows.some((m) => m.set === 'identity');
  if (!identityAllows)
    return { decision: 'ImplicitDeny', matchedStatements: [], implicitDenyReason: 'no-identity-allow' };
  const capped = input.accountPolicies.length > 0 && !found.allows.some((m) => m.set === 'account');
  if (capped)
    return {
      decision: 'ImplicitDeny',
      matchedStatements: [],
      implicitDenyReason: 'not-allowed-by-account-policy',
    };
  if (boundary !== null && !found.allows.some((m) => m.set === 'boundary'))
    return {
      decision: 'ImplicitDeny',
      matchedStatements: [],
      implicitDenyReason: 'not-allowed-by-permissions-boundary',
    };
  return { decision: 'Allow', matchedStatements: found.allows };
}
