import { HoldfastError, type ErrorDetails } from '../core/errors.js';
import { ASSURANCE_LEVELS, type AssuranceLevel } from '../core/factors/factor.js';
import { ASSURANCE_PROFILES } from '../core/factors/webauthn/assurance.js';
import { accountArn, assumedRoleArn, userArn } from '../core/policy/arn.js';
import { builtinPoliciesFor } from '../core/policy/builtin-roles.js';
import { buildRequestContext, type CredentialKind, type MfaFacts } from '../core/policy/context.js';
import { evaluate, type EvaluationResult } from '../core/policy/evaluate.js';
import {
  breakGlassFor,
  checkGuardrails,
  MAX_STEP_UP_AGE_MS,
  type GuardrailVerdict,
} from '../core/policy/guardrails.js';
import { compilePolicyCached, type CompiledPolicy } from '../core/policy/parse-policy.js';
import { DenialExplanation } from '../core/policy/denial.js';
import { intersectWithSessionPolicy } from '../core/policy/session-policy.js';
import type { Repositories } from '../core/ports.js';
import type { Account, Principal } from '../core/principals/types.js';
import { actionTraits, type Action } from './actions.js';
import type { Actor, RequestContext } from './context.js';
import { writeAudit, type AppDeps } from './deps.js';

/** What an action is applied to. */
export interface Resource {
  accountId: string;
  /** The target principal, when the action is about one. */
  principal?: Principal;
  /** The resource ARN; default: the target's user ARN, or the account's ARN. */
  arn?: string;
  /** For approvals: who opened the request (G6: nobody approves their own). */
  requesterId?: string;
  /**
   * Everyone else an indirect edit reaches (G6): the members of a group whose policies change.
   * Each must be a principal the actor may act on.
   */
  reaches?: readonly Principal[];
}

/** The outcome of a decision, with the reason, for denials, audit and simulation. */
export interface AuthorizationDecision {
  allowed: boolean;
  /** The error a denial answers with. */
  error?: HoldfastError;
  guardrail?: GuardrailVerdict;
  evaluation?: EvaluationResult;
  resourceArn: string;
}

/** Step-up age of an account: the installation's, tightened (never loosened) by the account setting. */
export function stepUpMaxAgeMs(deps: Pick<AppDeps, 'settings'>, account: Account | null): number {
  const own = account?.settings.stepUpMaxAgeSeconds;
  const candidates = [deps.settings.mfa.stepUpMaxAgeMs, MAX_STEP_UP_AGE_MS];
  if (typeof own === 'number') candidates.push(own * 1000);
  return Math.min(...candidates);
}

/** The MFA facts of an acting principal's session (null without MFA or with long-term keys). */
export function mfaFactsOf(actor: Actor & { kind: 'principal' }): MfaFacts | null {
  const factor = actor.session.auth.factor;
  if (factor === null || (actor.credential ?? 'session') !== 'session') return null;
  const assurance = (ASSURANCE_LEVELS as readonly string[]).includes(factor.assurance)
    ? (factor.assurance as AssuranceLevel)
    : ASSURANCE_LEVELS[0];
  return {
    authenticatedAtMs: factor.at,
    assurance,
    factorKind: factor.kind,
    // Only WebAuthn proofs are bound to our origin (NIST SP 800-63B §5.2.5).
    phishingResistant: factor.kind === 'webauthn' && ASSURANCE_PROFILES[assurance].phishingResistant,
  };
}

/** The compiled identity and account-wide policies that apply to a principal, and its boundary. */
async function policiesOf(
  reader: Pick<Repositories, 'policies' | 'iam'>,
  principal: Principal,
  options: { builtins: boolean } = { builtins: true },
): Promise<{ identity: CompiledPolicy[]; account: CompiledPolicy[]; boundary: CompiledPolicy | null }> {
  const stored = await reader.policies.effectiveFor(principal.accountId, principal.id);
  const boundary = await reader.iam.boundaryDocumentOf(principal.id);
  // Stored documents were validated when saved; compiled ones are cached by text.
  return {
    // A role session has only its role's policies: no built-in role policy applies to it.
    identity: [
      ...(options.builtins ? builtinPoliciesFor(principal.role) : []),
      ...stored.identity.map(compilePolicyCached),
    ],
    account: stored.account.map(compilePolicyCached),
    boundary: boundary === null ? null : compilePolicyCached(boundary),
  };
}

function stepUpError(details: ErrorDetails, message: string): HoldfastError {
  return new HoldfastError('MFA_STEP_UP_REQUIRED', message, { details });
}

function guardrailError(verdict: GuardrailVerdict): HoldfastError {
  if (verdict.outcome === 'step-up') {
    return stepUpError(
      {
        guardrail: verdict.guardrail,
        ...(verdict.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: verdict.maxAgeSeconds }),
      },
      `${verdict.guardrail}: ${verdict.reason}`,
    );
  }
  return new HoldfastError('GUARDRAIL_DENIED', `${verdict.guardrail}: ${verdict.reason}`, {
    details: { guardrail: verdict.guardrail },
  });
}

/**
 * Decides without side effects: the account wall, the guardrails, then the policies. A policy
 * denial that a fresh (or stronger) second factor would turn into an allow answers step-up, with
 * the weakest assurance level that suffices.
 */
export async function decide(
  deps: AppDeps,
  actor: Actor & { kind: 'principal' },
  action: Action,
  resource: Resource,
  sourceIp?: string | null,
  /** Where policies and account settings are read: a command's transaction, or the store. */
  reader: Pick<Repositories, 'policies' | 'accounts' | 'iam'> = deps.store,
): Promise<AuthorizationDecision> {
  const self = actor.principal;
  const target = resource.principal;
  const resourceArn =
    resource.arn ??
    (target !== undefined ? userArn(target.accountId, target.username) : accountArn(resource.accountId));
  if (
    self.accountId !== resource.accountId ||
    (target !== undefined && target.accountId !== self.accountId) ||
    (resource.reaches ?? []).some((p) => p.accountId !== self.accountId)
  ) {
    return { allowed: false, error: new HoldfastError('AUTH_FORBIDDEN'), resourceArn };
  }
  const mfa = mfaFactsOf(actor);
  const traits = actionTraits(action);
  const account = traits.factorSensitive ? await reader.accounts.findById(self.accountId) : null;
  const verdict = checkGuardrails({
    traits,
    actor: {
      principalId: self.id,
      role: self.role,
      mfa: mfa === null ? null : { at: mfa.authenticatedAtMs, assurance: mfa.assurance },
    },
    target: target === undefined ? null : { principalId: target.id, role: target.role },
    nowMs: deps.clock.now(),
    stepUpMaxAgeMs: stepUpMaxAgeMs(deps, account),
    requesterId: resource.requesterId,
    action,
    reached: (resource.reaches ?? []).map((p) => ({ principalId: p.id, role: p.role })),
  });
  if (verdict?.outcome === 'deny') {
    return { allowed: false, error: guardrailError(verdict), guardrail: verdict, resourceArn };
  }

  const credential: CredentialKind = actor.credential ?? 'session';
  // G7: an owner's way back (policy management, own security) is decided by the built-in owner
  // policy and the guardrails alone; no customer policy can close it.
  const breakGlass = breakGlassFor({
    action,
    actor: { principalId: self.id, role: self.role },
    targetId: target?.id ?? null,
    interactiveSession: credential === 'session',
    hasMfa: mfa !== null,
  });
  const policies =
    breakGlass === 'policies-ignored'
      ? { identity: [...builtinPoliciesFor(self.role)], account: [], boundary: null }
      : await policiesOf(reader, self, { builtins: actor.roleSession === undefined });
  // An AWS role session's session policy caps what the role's own policies allow.
  const sessionPolicy = actor.sessionPolicy === undefined ? null : compilePolicyCached(actor.sessionPolicy);
  const evaluateWith = (facts: MfaFacts | null, asCredential: CredentialKind = credential) => {
    const context = buildRequestContext({
      principal:
        actor.roleSession === undefined
          ? {
              accountId: self.accountId,
              username: self.username,
              userid: self.id,
              arn: userArn(self.accountId, self.username),
            }
          : {
              accountId: self.accountId,
              userid: self.id,
              arn: assumedRoleArn(self.accountId, actor.roleSession.roleName, actor.roleSession.sessionName),
            },
      action,
      resource: resourceArn,
      nowMs: deps.clock.now(),
      credential: asCredential,
      mfa: facts,
      sourceIp: sourceIp ?? undefined,
      // aws:TokenIssueTime: when the session or temporary credentials were issued.
      tokenIssuedAtMs: actor.session.createdAt,
    });
    const own = evaluate({
      identityPolicies: policies.identity,
      accountPolicies: policies.account,
      boundary: policies.boundary,
      context,
    });
    if (sessionPolicy === null) return own;
    return intersectWithSessionPolicy(
      own,
      evaluate({ identityPolicies: [sessionPolicy], accountPolicies: [], context }),
    );
  };
  /**
   * The weakest assurance level whose fresh MFA the policies would allow, or null. Asked as an
   * MFA session would ask: long-term keys cannot step up, but whether MFA would help decides
   * which refusal they get.
   */
  const weakestSufficientLevel = (): AssuranceLevel | null => {
    for (const level of ASSURANCE_LEVELS) {
      const fresh: MfaFacts = {
        authenticatedAtMs: deps.clock.now(),
        assurance: level,
        factorKind: mfa?.factorKind ?? 'totp',
        phishingResistant: ASSURANCE_PROFILES[level].phishingResistant,
      };
      if (evaluateWith(fresh, 'session').decision === 'Allow') return level;
    }
    return null;
  };
  const evaluation = evaluateWith(mfa);
  if (breakGlass === 'needs-mfa' && evaluation.decision !== 'Allow') {
    // The break-glass opens after a step-up (it never skips MFA): ask for one, naming G2 when it
    // applies, else G7.
    const because: GuardrailVerdict = verdict ?? {
      guardrail: 'G7',
      outcome: 'step-up',
      reason: 'an owner manages policies and their own security through a policy denial from an MFA session',
    };
    return { allowed: false, error: guardrailError(because), guardrail: because, evaluation, resourceArn };
  }
  const forbidden = (): AuthorizationDecision => ({
    allowed: false,
    evaluation,
    resourceArn,
    error: new HoldfastError(
      'AUTH_FORBIDDEN',
      evaluation.decision === 'ExplicitDeny'
        ? `an explicit deny in a policy forbids ${action}`
        : `no policy allows ${action} on this resource`,
      { details: { decision: evaluation.decision } },
    ),
  });
  // A guardrail asking for step-up is only worth answering when a step-up would then be allowed.
  if (verdict !== null) {
    if (weakestSufficientLevel() === null) return forbidden();
    if (credential !== 'session') {
      // Long-term keys never carry MFA, so they cannot step up: forbidden, naming the guardrail.
      const refused = forbidden();
      const error = new HoldfastError('AUTH_FORBIDDEN', `${verdict.guardrail}: ${verdict.reason}`, {
        details: { ...refused.error!.details, guardrail: verdict.guardrail },
      });
      return { ...refused, error, guardrail: verdict };
    }
    return { allowed: false, error: guardrailError(verdict), guardrail: verdict, evaluation, resourceArn };
  }
  if (evaluation.decision === 'Allow') return { allowed: true, evaluation, resourceArn };
  const level = credential === 'session' ? weakestSufficientLevel() : null;
  if (level === null) return forbidden();
  return {
    allowed: false,
    evaluation,
    resourceArn,
    error: stepUpError(
      { source: 'policy', minimumAssurance: level },
      'a policy allows this action only with a fresher or stronger second factor',
    ),
  };
}

/** The facts of a refusal, for the AWS face's encoded authorization message. */
function explainDenial(action: Action, decision: AuthorizationDecision): DenialExplanation {
  return new DenialExplanation({
    action,
    resource: decision.resourceArn,
    decision: decision.evaluation?.decision ?? null,
    guardrail: decision.guardrail?.guardrail ?? null,
    reason: null,
    matchedStatements: (decision.evaluation?.matchedStatements ?? []).map((m) => ({
      statementId: m.sid ?? `#${m.statementIndex}`,
      effect: m.effect,
      policySet: m.set,
    })),
  });
}

/**
 * The one authorization point of the app layer. Accounts are walls: nothing crosses them. The
 * CLI operator (shell access to the host and its database) is trusted and audited by the use
 * cases. Every denial is written to the audit log as a failed security event before it is thrown.
 */
export async function authorize(
  deps: AppDeps,
  actor: Actor,
  action: Action,
  resource: Resource,
  ctx?: RequestContext,
): Promise<void> {
  // The face's declaration and the use case must agree (DESIGN.md convention 7): a use case that
  // authorizes an action its route does not declare is a programming error, refused for everyone.
  if (ctx?.declaredActions !== undefined && !ctx.declaredActions.includes(action)) {
    throw new HoldfastError('INTERNAL_ERROR', `the route does not declare ${action}`);
  }
  if (actor.kind === 'operator') return;
  const decision = await decide(deps, actor, action, resource, ctx?.sourceIp);
  if (decision.allowed) return;
  const refused = decision.error ?? new HoldfastError('AUTH_FORBIDDEN');
  // The reasons travel as the cause (never the details, which a denied caller sees).
  const error = new HoldfastError(refused.code, refused.message, {
    ...(refused.details === undefined ? {} : { details: refused.details }),
    cause: explainDenial(action, decision),
  });
  if (ctx !== undefined) {
    await deps.store.transaction((tx) =>
      writeAudit(deps, tx, {
        actor,
        ctx,
        fact: {
          accountId: actor.principal.accountId,
          action: 'authz.denied',
          target: decision.resourceArn,
          outcome: 'failure',
          errorCode: error.code,
          details: {
            action,
            security: true,
            // Long-term keys are named: their step-up refusals are no routine prompt (core/alerts).
            ...(actor.credential === 'long-term-key' ? { credential: 'long-term-key' } : {}),
            ...(decision.guardrail === undefined ? {} : { guardrail: decision.guardrail.guardrail }),
            ...(decision.evaluation === undefined ? {} : { decision: decision.evaluation.decision }),
          },
        },
      }),
    );
  }
  throw error;
}
