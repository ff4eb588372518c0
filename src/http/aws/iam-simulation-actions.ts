/**
 * SimulatePrincipalPolicy and SimulateCustomPolicy (AWS IAM API Reference) on Holdfast's real
 * decision path. A guardrail that would refuse appears as `explicitDeny`, with a matched statement
 * `holdfast-guardrail-G1` (type `none`) and an `EvalDecisionDetails` entry `holdfast:G1`, so the
 * question "can DeactivateMFADevice be called without MFA?" gets AWS's answer shape and the reason.
 */

import { ACTIONS } from '../../app/actions.js';
import type { ContextEntry, SimulationResult } from '../../app/aws/simulation.js';
import { base, paginate, type AwsOperation, type OperationContext } from './operation.js';
import { invalidParameterValue, readString, readStringList, validationError } from './query.js';
import { pageMembers, type AwsResult } from './shapes.js';
import { xmlBoolean, xmlElement, xmlList, xmlMap, xmlStringList, xmlText } from './xml.js';

const CONTEXT_ENTRY =
  /^ContextEntries\.member\.([1-9][0-9]{0,3})\.(ContextKeyName|ContextKeyType|ContextKeyValues\.member\.([1-9][0-9]{0,3}))$/;
const KEY_TYPES = new Set([
  'string',
  'stringList',
  'numeric',
  'numericList',
  'boolean',
  'booleanList',
  'ip',
  'ipList',
  'binary',
  'binaryList',
  'date',
  'dateList',
]);

/** `ContextEntries.member.N.{ContextKeyName, ContextKeyType, ContextKeyValues.member.M}`. */
export function readContextEntries(params: ReadonlyMap<string, string>): ContextEntry[] {
  const entries = new Map<number, { key?: string; type?: string; values: Map<number, string> }>();
  for (const [name, value] of params) {
    if (!name.startsWith('ContextEntries.')) continue;
    const m = CONTEXT_ENTRY.exec(name);
    if (m === null) throw invalidParameterValue({ name, value });
    const index = Number(m[1]);
    const entry = entries.get(index) ?? { values: new Map<number, string>() };
    entries.set(index, entry);
    if (m[2] === 'ContextKeyName') entry.key = value;
    else if (m[2] === 'ContextKeyType') entry.type = value;
    else entry.values.set(Number(m[3]), value);
  }
  return [...entries.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, e]) => {
      if (e.key === undefined || e.key.length < 5 || e.key.length > 256)
        throw validationError({
          name: `contextEntries.${index}.member.contextKeyName`,
          value: e.key ?? '',
          constraint: 'Member must have length between 5 and 256',
        });
      if (e.type !== undefined && !KEY_TYPES.has(e.type))
        throw invalidParameterValue({ name: `ContextEntries.member.${index}.ContextKeyType`, value: e.type });
      return { key: e.key, values: [...e.values.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v) };
    });
}

/** Parameters IAM takes that Holdfast does not model: refused rather than silently ignored. */
function refuseUnsupported(c: OperationContext, names: readonly string[]): void {
  for (const name of names) {
    if ([...c.params.keys()].some((k) => k === name || k.startsWith(`${name}.`))) {
      throw validationError({ name, value: '', constraint: 'Holdfast does not simulate this parameter' });
    }
  }
}

function results(c: OperationContext, found: SimulationResult[]): AwsResult {
  const page = paginate(c.params, found);
  return [
    xmlList(
      'EvaluationResults',
      page.items.map((r) => [
        xmlText('EvalActionName', r.action),
        xmlText('EvalResourceName', r.resource),
        xmlText('EvalDecision', r.decision),
        xmlList(
          'MatchedStatements',
          (r.guardrail === null
            ? r.matched
            : [{ sourcePolicyId: `holdfast-guardrail-${r.guardrail.id}`, sourcePolicyType: 'none' }]
          ).map((m) => [
            xmlText('SourcePolicyId', m.sourcePolicyId),
            xmlText('SourcePolicyType', m.sourcePolicyType),
          ]),
        ),
        xmlStringList('MissingContextValues', []),
        r.guardrail === null
          ? null
          : xmlMap('EvalDecisionDetails', [[`holdfast:${r.guardrail.id}`, r.decision]]),
        r.allowedByBoundary === null
          ? null
          : xmlElement('PermissionsBoundaryDecisionDetail', [
              xmlBoolean('AllowedByPermissionsBoundary', r.allowedByBoundary),
            ]),
      ]),
    ),
    ...pageMembers(page),
  ];
}

function actionsAndResources(c: OperationContext) {
  const actions = readStringList(c.params, 'ActionNames', { required: true, maxItems: 1000 });
  if (actions.length === 0)
    throw validationError({ name: 'actionNames', value: '', constraint: 'Member must not be empty' });
  const resources = readStringList(c.params, 'ResourceArns', { maxItems: 1000 });
  return {
    actions,
    resources: resources.length === 0 ? ['*'] : resources,
    context: readContextEntries(c.params),
  };
}

/** The simulation operations by wire name. */
export const IAM_SIMULATION_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
  SimulatePrincipalPolicy: {
    action: ACTIONS.SimulatePrincipalPolicy,
    async handle(c) {
      refuseUnsupported(c, [
        'PolicyInputList',
        'PermissionsBoundaryPolicyInputList',
        'ResourcePolicy',
        'ResourceOwner',
        'CallerArn',
        'ResourceHandlingOption',
      ]);
      const policySourceArn = readString(c.params, 'PolicySourceArn', {
        required: true,
        minLength: 20,
        maxLength: 2048,
      });
      const found = await c.app.simulatePrincipalPolicy({
        ...base(c),
        policySourceArn,
        ...actionsAndResources(c),
      });
      return { result: results(c, found) };
    },
  },
  SimulateCustomPolicy: {
    action: ACTIONS.SimulateCustomPolicy,
    async handle(c) {
      refuseUnsupported(c, ['ResourcePolicy', 'ResourceOwner', 'CallerArn', 'ResourceHandlingOption']);
      const policies = readStringList(c.params, 'PolicyInputList', { required: true, maxItems: 10 });
      const boundaries = readStringList(c.params, 'PermissionsBoundaryPolicyInputList', { maxItems: 1 });
      const found = await c.app.simulateCustomPolicy({
        ...base(c),
        policies,
        boundaries,
        ...actionsAndResources(c),
      });
      return { result: results(c, found) };
    },
  },
};
