/**
 * Why an authorization was refused, kept with the refusal (as the error's cause, never in its
 * details: a denied caller must not read which statements refused it). The AWS face seals it
 * into the "encoded authorization failure message" of an AccessDenied answer; STS
 * DecodeAuthorizationMessage gives it back, in AWS's DecodedMessage shape, to a caller the
 * policies allow to read it.
 */

/** One statement that decided a refusal (an explicit Deny, or none for an implicit one). */
export interface DenialStatement {
  /** The statement's Sid, or `#<index>` when it has none. */
  statementId: string;
  effect: 'Allow' | 'Deny';
  /** Which set of policies it came from (identity, account-wide). */
  policySet: string;
}

/** The facts of one refusal. */
export interface DenialFacts {
  action: string;
  resource: string;
  /** The policy decision, when the policies decided. */
  decision: 'ExplicitDeny' | 'ImplicitDeny' | 'Allow' | null;
  /** The guardrail that refused, when one did (G1–G7). */
  guardrail: string | null;
  /** A use case's reason (e.g. AssumeRole: `trust-policy`, `identity-policy`, `unknown-role`). */
  reason: string | null;
  matchedStatements: DenialStatement[];
}

/** The explanation carried as the refusal's `cause`. */
export class DenialExplanation {
  constructor(readonly facts: DenialFacts) {}
}

/**
 * The decoded message as STS DecodeAuthorizationMessage returns it (AWS's JSON: `allowed`,
 * `explicitDeny`, `matchedStatements.items`, `failures.items`, `context`), plus `guardrail` and
 * `reason` when Holdfast's guardrails or a use case refused.
 */
export function decodedMessage(facts: DenialFacts, principal: { id: string; arn: string }): string {
  return JSON.stringify({
    allowed: false,
    explicitDeny: facts.decision === 'ExplicitDeny',
    matchedStatements: { items: facts.matchedStatements },
    failures: { items: [] },
    context: {
      principal: { id: principal.id, arn: principal.arn },
      action: facts.action,
      resource: facts.resource,
    },
    ...(facts.guardrail === null ? {} : { guardrail: facts.guardrail }),
    ...(facts.reason === null ? {} : { reason: facts.reason }),
  });
}
