/**
 * Session policies (STS AssumeRole `Policy`): "the resulting session's permissions are the
 * intersection of the role's identity-based policies and the session policies" (AWS IAM User
 * Guide, "Session policies"). A session policy can only narrow: an allow needs both, an explicit
 * deny in either wins.
 */

import type { EvaluationResult } from './evaluate.js';

/** Combines the decision of the principal's own policies with that of its session policy. */
export function intersectWithSessionPolicy(
  own: EvaluationResult,
  session: EvaluationResult,
): EvaluationResult {
  if (own.decision === 'ExplicitDeny') return own;
  if (session.decision === 'ExplicitDeny') return session;
  if (own.decision !== 'Allow') return own;
  if (session.decision === 'Allow') return own;
  return {
    decision: 'ImplicitDeny',
    matchedStatements: [],
    implicitDenyReason: 'not-allowed-by-session-policy',
  };
}
