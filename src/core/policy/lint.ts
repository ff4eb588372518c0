/**
 * The policy linter: finds statements that do not mean what they seem to mean about MFA.
 *
 * Most checks are semantic: the policy is evaluated on its own for every MFA-sensitive and
 * identity-administration action, as a long-term access key and as a session without MFA would
 * present it (shared/reference/aws-iam-sts.md §5.2–5.3). An action allowed in either case is
 * flagged, with the reason the MFA deny (if any) failed to cover it: a NotAction list that exempts
 * it, or a `Bool` test on a key long-term keys never carry. Syntactic checks add the known
 * pitfalls (`Bool` vs `BoolIfExists`, `Null` instead of an MFA test, `NotAction` allows, `iam:*`).
 *
 * Errors block saving; warnings are returned with the saved policy. Holdfast's guardrails still
 * apply whatever a policy says, but a policy that reads as "MFA required" and is not would be a
 * hole on AWS and misleads the people who read it.
 */

import { HoldfastError } from '../errors.js';
import { ADMINISTRATION_WRITE_ACTIONS, ENROLMENT_ACTIONS, FACTOR_SENSITIVE_ACTIONS } from './catalog.js';
import { buildRequestContext, type CredentialKind, type RequestContext } from './context.js';
import { evaluate } from './evaluate.js';
import { parsePolicy, type CompiledPolicy, type CompiledStatement } from './parse-policy.js';

/** One finding of the linter. */
export interface LintFinding {
  severity: 'error' | 'warning';
  code: string;
  /** Index of the statement the finding is about, or null for the document as a whole. */
  statement: number | null;
  sid: string | null;
  message: string;
}

/** The linter's answer. */
export interface LintResult {
  findings: LintFinding[];
  errors: number;
  warnings: number;
}

const MFA_PRESENT = 'aws:multifactorauthpresent';
const MFA_KEYS = new Set([
  MFA_PRESENT,
  'aws:multifactorauthage',
  'holdfast:mfaassurance',
  'holdfast:mfaassurancelevel',
]);

const PROBE_ACCOUNT = '123456789012';
const PROBE_USER = 'probe-user';
const PROBE_OTHER = 'probe-other-user';
const PROBE_NOW = Date.UTC(2026, 0, 1);

/** Resources an action is probed on: the caller's own user and MFA device, another user's, the account. */
const PROBE_RESOURCES = [
  `arn:aws:iam::${PROBE_ACCOUNT}:user/${PROBE_USER}`,
  `arn:aws:iam::${PROBE_ACCOUNT}:mfa/${PROBE_USER}`,
  `arn:aws:iam::${PROBE_ACCOUNT}:user/${PROBE_OTHER}`,
  `arn:aws:iam::${PROBE_ACCOUNT}:policy/probe-policy`,
  `arn:aws:iam::${PROBE_ACCOUNT}:root`,
];

function probeContext(action: string, resource: string, credential: CredentialKind): RequestContext {
  return buildRequestContext({
    principal: {
      accountId: PROBE_ACCOUNT,
      username: PROBE_USER,
      userid: 'AIDAPROBEPROBEPROBE1',
      arn: `arn:aws:iam::${PROBE_ACCOUNT}:user/${PROBE_USER}`,
    },
    action,
    resource,
    nowMs: PROBE_NOW,
    credential,
    mfa: null,
  });
}

const CREDENTIALS: ReadonlyArray<{ kind: CredentialKind; words: string }> = [
  { kind: 'long-term-key', words: 'long-term access keys' },
  { kind: 'session', words: 'a session without MFA' },
];

function finding(
  severity: LintFinding['severity'],
  code: string,
  statement: CompiledStatement | null,
  message: string,
): LintFinding {
  return {
    severity,
    code,
    statement: statement?.index ?? null,
    sid: statement?.sid ?? null,
    message: statement === null ? message : `${label(statement)}: ${message}`,
  };
}

function label(s: CompiledStatement): string {
  return s.sid === undefined || s.sid === '' ? `Statement[${s.index}]` : `Statement[${s.index}] (${s.sid})`;
}

/** The conditions of a statement on the MFA-present key whose test value is `value`. */
function mfaPresentTests(s: CompiledStatement, value: boolean, dummy: RequestContext) {
  return s.conditions.filter(
    (c) =>
      c.key === MFA_PRESENT &&
      c.operator.replace(/IfExists$/, '') === 'Bool' &&
      c.matchesAny(value, dummy) &&
      !c.matchesAny(!value, dummy),
  );
}

function actionMatches(s: CompiledStatement, action: string): boolean {
  const lower = action.toLowerCase();
  return s.action.patterns.some((p) => p.matches(lower, undefined)) !== s.action.negated;
}

function syntacticFindings(policy: CompiledPolicy, dummy: RequestContext): LintFinding[] {
  const out: LintFinding[] = [];
  for (const s of policy.statements) {
    if (s.effect === 'Deny') {
      for (const c of mfaPresentTests(s, false, dummy)) {
        if (!c.ifExists) {
          out.push(
            finding(
              'error',
              'BOOL_ON_ABSENT_KEY',
              s,
              'denies with "Bool": {"aws:MultiFactorAuthPresent": "false"}, which never applies to long-term access keys: ' +
                'the key is absent for them, not false, so the condition is false and the deny is skipped. Use BoolIfExists.',
            ),
          );
        }
      }
    } else {
      for (const c of mfaPresentTests(s, true, dummy)) {
        if (c.ifExists) {
          out.push(
            finding(
              'warning',
              'IF_EXISTS_ADMITS_LONG_TERM_KEYS',
              s,
              'allows with "BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}, which also matches long-term access keys ' +
                '(the key is absent, so the test is skipped): keys get in without MFA. Use Bool to require MFA.',
            ),
          );
        }
      }
      if (s.conditions.some((c) => c.key === MFA_PRESENT && c.operator.startsWith('Null'))) {
        out.push(
          finding(
            'warning',
            'NULL_IS_NOT_MFA',
            s,
            'tests aws:MultiFactorAuthPresent with Null, which only asks whether temporary credentials were used, not whether MFA was.',
          ),
        );
      }
      if (s.action.negated) {
        out.push(
          finding(
            'warning',
            'NOT_ACTION_ALLOW',
            s,
            'allows with NotAction: it grants every action not listed, including identity administration and any action added later. List the actions to allow instead.',
          ),
        );
      }
      const wide = s.action.patterns.filter((p) => ['*', 'iam:*', '*:*'].includes(p.source.toLowerCase()));
      if (!s.action.negated && wide.length > 0) {
        out.push(
          finding(
            'warning',
            'IAM_WILDCARD',
            s,
            `allows ${wide.map((p) => `"${p.source}"`).join(', ')}: every IAM action, MFA devices, access keys and policies included. Grant the actions needed.`,
          ),
        );
      }
    }
  }
  return out;
}

/** Why the policy's MFA denies (if any) let `action` through for `credential`. */
function whyNotDenied(
  policy: CompiledPolicy,
  action: string,
  credential: CredentialKind,
  dummy: RequestContext,
): string {
  const reasons: string[] = [];
  for (const s of policy.statements) {
    if (s.effect !== 'Deny' || !s.conditions.some((c) => MFA_KEYS.has(c.key))) continue;
    if (!actionMatches(s, action)) {
      reasons.push(
        s.action.negated
          ? `the MFA deny in ${label(s)} exempts it through NotAction`
          : `the MFA deny in ${label(s)} does not list it`,
      );
    } else if (credential === 'long-term-key' && mfaPresentTests(s, false, dummy).some((c) => !c.ifExists)) {
      reasons.push(`the MFA deny in ${label(s)} uses Bool, which never applies to long-term access keys`);
    }
  }
  return reasons.length === 0 ? 'no statement requires MFA for it' : reasons.join('; ');
}

interface Exposure {
  statement: CompiledStatement;
  actions: Set<string>;
  credentials: Set<string>;
  reasons: Set<string>;
}

function semanticFindings(policy: CompiledPolicy, dummy: RequestContext): LintFinding[] {
  const groups: Array<{ code: string; what: string; actions: readonly string[] }> = [
    {
      code: 'MFA_SENSITIVE_WITHOUT_MFA',
      what: 'removes or weakens a second factor',
      actions: FACTOR_SENSITIVE_ACTIONS,
    },
    { code: 'ADMIN_WITHOUT_MFA', what: 'is identity administration', actions: ADMINISTRATION_WRITE_ACTIONS },
  ];
  const out: LintFinding[] = [];
  for (const group of groups) {
    const byStatement = new Map<number, Exposure>();
    for (const action of group.actions) {
      for (const credential of CREDENTIALS) {
        for (const resource of PROBE_RESOURCES) {
          const result = evaluate({
            identityPolicies: [policy],
            accountPolicies: [],
            context: probeContext(action, resource, credential.kind),
          });
          if (result.decision !== 'Allow') continue;
          for (const m of result.matchedStatements) {
            const statement = policy.statements[m.statementIndex]!;
            const e = byStatement.get(m.statementIndex) ?? {
              statement,
              actions: new Set<string>(),
              credentials: new Set<string>(),
              reasons: new Set<string>(),
            };
            e.actions.add(action);
            e.credentials.add(credential.words);
            e.reasons.add(whyNotDenied(policy, action, credential.kind, dummy));
            byStatement.set(m.statementIndex, e);
          }
          break;
        }
      }
    }
    for (const e of byStatement.values()) {
      const actions = [...e.actions];
      const shown =
        actions.length > 6
          ? `${actions.slice(0, 6).join(', ')} and ${actions.length - 6} more`
          : actions.join(', ');
      out.push(
        finding(
          'warning',
          group.code,
          e.statement,
          `allows ${shown} with ${[...e.credentials].join(' or ')}; ${actions.length === 1 ? 'it' : 'each'} ${group.what}, ` +
            `so it should need MFA (a Bool {"aws:MultiFactorAuthPresent": "true"} condition, or a BoolIfExists "false" deny that covers it). ` +
            `Why it is not covered: ${[...e.reasons].join('; ')}.`,
        ),
      );
    }
  }
  return out;
}

function enrolmentNotes(policy: CompiledPolicy): LintFinding[] {
  // Which statement allows each enrolment action to a caller without MFA (if any does).
  const allowing = ENROLMENT_ACTIONS.map((action) => {
    for (const credential of CREDENTIALS) {
      for (const resource of PROBE_RESOURCES) {
        const result = evaluate({
          identityPolicies: [policy],
          accountPolicies: [],
          context: probeContext(action, resource, credential.kind),
        });
        if (result.decision === 'Allow')
          return policy.statements[result.matchedStatements[0]!.statementIndex]!;
      }
    }
    return null;
  });
  if (allowing.some((s) => s === null)) return [];
  return [
    finding(
      'warning',
      'ENROLMENT_WITHOUT_MFA',
      allowing[allowing.length - 1]!,
      'allows creating and enabling MFA devices without MFA: with only a password or access keys someone could add a device of their own ' +
        "next to the user's. Holdfast's guardrail G3 refuses that unless the user has never enrolled (docs/guardrails.md).",
    ),
  ];
}

/** Lints a policy document. A document that does not parse is one error finding. */
export function lintPolicy(text: string): LintResult {
  let policy: CompiledPolicy;
  try {
    policy = parsePolicy(text);
  } catch (err) {
    if (!(err instanceof HoldfastError)) throw err;
    return { findings: [finding('error', err.code, null, err.message)], errors: 1, warnings: 0 };
  }
  const dummy = probeContext('iam:GetUser', PROBE_RESOURCES[0]!, 'session');
  const findings = [
    ...syntacticFindings(policy, dummy),
    ...semanticFindings(policy, dummy),
    ...enrolmentNotes(policy),
  ];
  findings.sort((a, b) => (a.statement ?? -1) - (b.statement ?? -1));
  const errors = findings.filter((f) => f.severity === 'error').length;
  return { findings, errors, warnings: findings.length - errors };
}
