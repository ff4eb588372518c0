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

/**
 * The one session policy of an AssumeRole call made of its inline `Policy` and the documents of
 * its `PolicyArns` (AWS: "the session policies", evaluated together: any of them may allow).
 * Their statements are joined in one document; a Sid used twice gets a number so Sids stay unique.
 */
export function combineSessionPolicies(documents: readonly string[]): string | null {
  if (documents.length === 0) return null;
  if (documents.length === 1) return documents[0]!;
  const statements: Record<string, unknown>[] = [];
  const sids = new Set<string>();
  for (const text of documents) {
    const doc = JSON.parse(text) as { Statement?: unknown };
    const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
    for (const raw of list as Record<string, unknown>[]) {
      const statement = { ...raw };
      if (typeof statement.Sid === 'string') {
        let sid = statement.Sid;
        for (let n = 2; sids.has(sid); n++) sid = `${statement.Sid}${n}`;
        statement.Sid = sid;
        sids.add(sid);
      }
      statements.push(statement);
    }
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}
