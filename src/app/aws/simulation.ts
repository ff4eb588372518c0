/**
 * Policy simulation on the real decision path (AWS IAM API Reference: SimulatePrincipalPolicy,
 * SimulateCustomPolicy). SimulatePrincipalPolicy asks `decide` (app/authorize.ts: account walls,
 * guardrails, then the user's policies, account-wide policies and permissions boundary) as the
 * named user would be asked, with the MFA facts the context entries describe; a guardrail that
 * would refuse shows as an explicit deny naming it. SimulateCustomPolicy evaluates the given
 * documents with the policy engine and reports the guardrail the action would meet.
 */

import { HoldfastError } from '../../core/errors.js';
import { ASSURANCE_LEVEL_NUMBERS, ASSURANCE_PROFILES } from '../../core/factors/assurance-levels.js';
import { ASSURANCE_LEVELS, type AssuranceLevel } from '../../core/factors/factor.js';
import { buildRequestContext, type MfaFacts } from '../../core/policy/context.js';
import { evaluate, type EvaluationResult } from '../../core/policy/evaluate.js';
import { checkGuardrails, MAX_STEP_UP_AGE_MS } from '../../core/policy/guardrails.js';
import { parsePolicy, type CompiledPolicy } from '../../core/policy/parse-policy.js';
import type { Principal } from '../../core/principals/types.js';
import type { Session } from '../../core/sessions/session.js';
import { actionTraits, ACTIONS, type Action } from '../actions.js';
import { authorize, decide, stepUpMaxAgeMs } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import type { AppDeps } from '../deps.js';

interface Common {
  actor: Actor;
  ctx: RequestContext;
  accountId: string;
}

/** A context entry of a simulation request. */
export interface ContextEntry {
  key: string;
  values: string[];
}

/** One simulated action on one resource. */
export interface SimulationResult {
  action: string;
  resource: string;
  decision: 'allowed' | 'explicitDeny' | 'implicitDeny';
  matched: Array<{ sourcePolicyId: string; sourcePolicyType: string }>;
  /** The guardrail that refuses (or asks for step-up), e.g. `G1`, with its reason. */
  guardrail: { id: string; reason: string } | null;
  /** Whether the permissions boundary allows it; null when the user has none. */
  allowedByBoundary: boolean | null;
}

const KNOWN_KEYS = new Set([
  'aws:multifactorauthpresent',
  'aws:multifactorauthage',
  'holdfast:mfaassurancelevel',
]);

function invalid(message: string): HoldfastError {
  return new HoldfastError('REQUEST_INVALID', message);
}

/**
 * The MFA facts the context entries describe: `aws:MultiFactorAuthPresent` true/false, else
 * absent (as for long-term keys); `aws:MultiFactorAuthAge` in seconds; the assurance by its
 * `holdfast:MfaAssuranceLevel` number (default: an authenticator app, software_otp).
 */
function mfaFromContext(
  entries: readonly ContextEntry[],
  now: number,
): { credential: 'session' | 'long-term-key'; mfa: MfaFacts | null } {
  const get = (key: string) => entries.find((e) => e.key.toLowerCase() === key)?.values[0];
  for (const e of entries) {
    if (!KNOWN_KEYS.has(e.key.toLowerCase()) && !/^[A-Za-z0-9]+:[A-Za-z0-9/._-]+$/.test(e.key))
      throw invalid(`ContextKeyName ${e.key} is not a condition key`);
  }
  const present = get('aws:multifactorauthpresent');
  const age = get('aws:multifactorauthage');
  const level = get('holdfast:mfaassurancelevel');
  if (present !== undefined && !/^(true|false)$/i.test(present))
    throw invalid('aws:MultiFactorAuthPresent takes true or false');
  if (age !== undefined && !/^[0-9]{1,9}$/.test(age)) throw invalid('aws:MultiFactorAuthAge takes seconds');
  let assurance: AssuranceLevel = 'software_otp';
  if (level !== undefined) {
    const found = ASSURANCE_LEVELS.find((l) => String(ASSURANCE_LEVEL_NUMBERS[l]) === level);
    if (found === undefined)
      throw invalid(`holdfast:MfaAssuranceLevel ${level} is not an assurance level number`);
    assurance = found;
  }
  const withMfa =
    present?.toLowerCase() === 'true' ||
    (present === undefined && (age !== undefined || level !== undefined));
  if (!withMfa) return { credential: present === undefined ? 'long-term-key' : 'session', mfa: null };
  return {
    credential: 'session',
    mfa: {
      authenticatedAtMs: now - Number(age ?? 0) * 1000,
      assurance,
      factorKind: assurance.endsWith('_key') || assurance === 'synced_passkey' ? 'webauthn' : 'totp',
      phishingResistant: ASSURANCE_PROFILES[assurance].phishingResistant,
    },
  };
}

function simulatedSession(principal: Principal, now: number, mfa: MfaFacts | null): Session {
  return {
    id: 'simulation',
    accountId: principal.accountId,
    principalId: principal.id,
    channel: 'bearer',
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + 60_000,
    revokedAt: null,
    revokedReason: null,
    auth: {
      methods: mfa === null ? ['pwd'] : ['pwd', 'otp'],
      factor:
        mfa === null
          ? null
          : {
              factorId: 'simulation',
              kind: mfa.factorKind,
              assurance: mfa.assurance,
              at: mfa.authenticatedAtMs,
            },
    },
    sourceIp: null,
    userAgent: 'simulation',
  };
}

function matchedOf(evaluation: EvaluationResult | undefined): SimulationResult['matched'] {
  return (evaluation?.matchedStatements ?? []).map((m) => ({
    sourcePolicyId: `${m.set}-policy-${m.policyIndex + 1}${m.sid ? `/${m.sid}` : `/statement-${m.statementIndex + 1}`}`,
    sourcePolicyType: m.set === 'identity' ? 'user' : 'none',
  }));
}

function decisionOf(evaluation: EvaluationResult | undefined): SimulationResult['decision'] {
  if (evaluation?.decision === 'Allow') return 'allowed';
  return evaluation?.decision === 'ExplicitDeny' ? 'explicitDeny' : 'implicitDeny';
}

/** The user a `PolicySourceArn` names (`arn:aws:iam::ACCOUNT:user[/path/]NAME`). */
async function sourceUser(deps: AppDeps, accountId: string, arn: string): Promise<Principal | null> {
  const m = /^arn:aws:iam::([0-9]{12}):user\/(?:.*\/)?([\w+=,.@-]{1,64})$/.exec(arn);
  if (m === null || m[1] !== accountId) return null;
  return deps.store.principals.findByLogin(accountId, m[2]!);
}

/** SimulatePrincipalPolicy for a user of the account. */
export async function simulatePrincipalPolicy(
  deps: AppDeps,
  input: Common & {
    policySourceArn: string;
    actions: string[];
    resources: string[];
    context: ContextEntry[];
  },
): Promise<SimulationResult[]> {
  const user = await sourceUser(deps, input.accountId, input.policySourceArn);
  await authorize(
    deps,
    input.actor,
    ACTIONS.SimulatePrincipalPolicy,
    user === null
      ? { accountId: input.accountId, arn: input.policySourceArn }
      : { accountId: input.accountId, principal: user },
    input.ctx,
  );
  if (user === null) {
    throw new HoldfastError('USER_NOT_FOUND', `The user with name ${input.policySourceArn} cannot be found.`);
  }
  const now = deps.clock.now();
  const { credential, mfa } = mfaFromContext(input.context, now);
  const simulated: Actor & { kind: 'principal' } = {
    kind: 'principal',
    principal: user,
    session: simulatedSession(user, now, mfa),
    credential,
  };
  const boundary = await deps.store.iam.boundaryDocumentOf(user.id);
  const out: SimulationResult[] = [];
  for (const action of input.actions) {
    for (const resource of input.resources) {
      // "*" (no ResourceArns) asks about the account itself, as Holdfast's own commands name it.
      const target =
        resource === '*' ? { accountId: input.accountId } : { accountId: input.accountId, arn: resource };
      const decision = await decide(deps, simulated, action as Action, target);
      const guardrail = decision.guardrail ?? null;
      out.push({
        action,
        resource,
        decision: decision.allowed
          ? 'allowed'
          : guardrail !== null
            ? 'explicitDeny'
            : decisionOf(decision.evaluation),
        matched: guardrail !== null ? [] : matchedOf(decision.evaluation),
        guardrail: guardrail === null ? null : { id: guardrail.guardrail, reason: guardrail.reason },
        allowedByBoundary:
          boundary === null
            ? null
            : decision.evaluation?.implicitDenyReason !== 'not-allowed-by-permissions-boundary' &&
              !(decision.evaluation?.matchedStatements ?? []).some(
                (m) => m.set === 'boundary' && m.effect === 'Deny',
              ),
      });
    }
  }
  return out;
}

/**
 * SimulateCustomPolicy: the given identity policies (and boundary, if any) decide; the guardrail
 * is the one a user of the built-in `user` role would meet acting on itself with these MFA facts.
 */
export async function simulateCustomPolicy(
  deps: AppDeps,
  input: Common & {
    policies: string[];
    boundaries: string[];
    actions: string[];
    resources: string[];
    context: ContextEntry[];
  },
): Promise<SimulationResult[]> {
  await authorize(deps, input.actor, ACTIONS.SimulateCustomPolicy, { accountId: input.accountId }, input.ctx);
  const compile = (text: string): CompiledPolicy => parsePolicy(text);
  const identity = input.policies.map(compile);
  const boundary = input.boundaries.length === 0 ? null : compile(input.boundaries[0]!);
  const now = deps.clock.now();
  const { credential, mfa } = mfaFromContext(input.context, now);
  const account = await deps.store.accounts.findById(input.accountId);
  const out: SimulationResult[] = [];
  for (const action of input.actions) {
    for (const resource of input.resources) {
      const context = buildRequestContext({
        principal: {
          accountId: input.accountId,
          username: 'simulated',
          userid: 'simulated',
          arn: `arn:aws:iam::${input.accountId}:user/simulated`,
        },
        action,
        resource,
        nowMs: now,
        credential,
        mfa,
      });
      const evaluation = evaluate({ identityPolicies: identity, accountPolicies: [], boundary, context });
      const verdict = checkGuardrails({
        traits: actionTraits(action as Action),
        actor: {
          principalId: 'simulated',
          role: 'user',
          mfa: mfa === null ? null : { at: mfa.authenticatedAtMs, assurance: mfa.assurance },
        },
        target: null,
        nowMs: now,
        stepUpMaxAgeMs: Math.min(stepUpMaxAgeMs(deps, account), MAX_STEP_UP_AGE_MS),
        action,
      });
      out.push({
        action,
        resource,
        decision: verdict !== null ? 'explicitDeny' : decisionOf(evaluation),
        matched: verdict !== null ? [] : matchedOf(evaluation),
        guardrail: verdict === null ? null : { id: verdict.guardrail, reason: verdict.reason },
        allowedByBoundary:
          boundary === null ? null : evaluation.implicitDenyReason !== 'not-allowed-by-permissions-boundary',
      });
    }
  }
  return out;
}

/** The use cases of this file, for createApp. */
export const SIMULATION_USE_CASES = { simulatePrincipalPolicy, simulateCustomPolicy };
