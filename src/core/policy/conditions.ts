/**
 * Condition operators of the IAM policy grammar, compiled once per policy
 * (AWS IAM User Guide, "IAM JSON policy elements: Condition operators").
 *
 * Semantics (all from that page unless noted):
 * - Several operators in one Condition block AND; several keys in one operator AND; several
 *   values for one key OR. For a negated operator (StringNotEquals, NotIpAddress, ...) the key's
 *   value must match NONE of the values.
 * - A key absent from the request context: "If the key that you specify in a policy condition is
 *   not present in the request context, the values do not match and the condition is false. If the
 *   policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and
 *   the right key is not present, the condition is true. This logic applies to all condition
 *   operators except ...IfExists and Null check." So: absent -> false for positive operators, true
 *   for every Not-operator, true for any ...IfExists form, and Null tests presence itself.
 * - Set qualifiers ("Set operators for multivalued context keys"): ForAllValues is true when the
 *   key is absent or empty and otherwise needs every context value to satisfy the operator;
 *   ForAnyValue is false when the key is absent or empty and otherwise needs one value to.
 * - Without a qualifier, a multi-valued key behaves as ForAnyValue for positive operators and
 *   as "no context value matches" for negated ones (a Holdfast choice; AWS advises qualifiers).
 * - Policy variables are substituted in String and Arn operators only (the other operator
 *   families list "Policy variables: Not supported").
 */

import { HoldfastError } from '../errors.js';
import type { ContextValue, RequestContext } from './context.js';
import { parseCIDR, parseIP, cidrContains } from './ip-address.js';
import { compilePattern, parseTemplate, resolveTemplate } from './patterns.js';

type Scalar = string | number | boolean;
type Family = 'string' | 'stringIgnoreCase' | 'like' | 'numeric' | 'date' | 'bool' | 'ip' | 'null';
type Comparison = 'eq' | 'lt' | 'lte' | 'gt' | 'gte';

interface OperatorSpec {
  family: Family;
  comparison: Comparison;
  negated: boolean;
}

const spec = (family: Family, negated = false, comparison: Comparison = 'eq'): OperatorSpec => ({
  family,
  comparison,
  negated,
});

/** Every base operator Holdfast supports (each also takes `IfExists` and a set qualifier). */
export const CONDITION_OPERATORS: Readonly<Record<string, OperatorSpec>> = {
  StringEquals: spec('string'),
  StringNotEquals: spec('string', true),
  StringEqualsIgnoreCase: spec('stringIgnoreCase'),
  StringNotEqualsIgnoreCase: spec('stringIgnoreCase', true),
  StringLike: spec('like'),
  StringNotLike: spec('like', true),
  // ArnEquals and ArnLike behave alike in AWS (both take wildcards); kept for copied policies.
  ArnEquals: spec('like'),
  ArnLike: spec('like'),
  ArnNotEquals: spec('like', true),
  ArnNotLike: spec('like', true),
  NumericEquals: spec('numeric'),
  NumericNotEquals: spec('numeric', true),
  NumericLessThan: spec('numeric', false, 'lt'),
  NumericLessThanEquals: spec('numeric', false, 'lte'),
  NumericGreaterThan: spec('numeric', false, 'gt'),
  NumericGreaterThanEquals: spec('numeric', false, 'gte'),
  DateEquals: spec('date'),
  DateNotEquals: spec('date', true),
  DateLessThan: spec('date', false, 'lt'),
  DateLessThanEquals: spec('date', false, 'lte'),
  DateGreaterThan: spec('date', false, 'gt'),
  DateGreaterThanEquals: spec('date', false, 'gte'),
  Bool: spec('bool'),
  IpAddress: spec('ip'),
  NotIpAddress: spec('ip', true),
  Null: spec('null'),
};

/** A set qualifier for multi-valued keys, or none. */
export type SetQualifier = 'none' | 'ForAnyValue' | 'ForAllValues';

/** One compiled (operator, key) pair of a Condition block. */
export interface CompiledCondition {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  /** The condition key, lower-cased. */
  readonly key: string;
  readonly qualifier: SetQualifier;
  readonly ifExists: boolean;
  readonly negated: boolean;
  /** Null only: the expected absence values (`true` = key must be absent). */
  readonly nullExpect: readonly boolean[] | undefined;
  /** True when a single context value matches at least one policy value (before negation). */
  readonly matchesAny: (value: Scalar, context: RequestContext) => boolean;
}

function compare(a: number, b: number, comparison: Comparison): boolean {
  switch (comparison) {
    case 'eq':
      return a === b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
  }
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
/** Reads a policy or context number; undefined when it is not one. */
export function readNumber(value: Scalar): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && NUMBER.test(value.trim())) return Number(value.trim());
  return undefined;
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;
/**
 * Reads a date as ms since the epoch: ISO 8601 (a time without offset is UTC) or epoch seconds
 * (AWS: "Date condition operators ... W3C implementations of the ISO 8601 date formats ... or
 * epoch (UNIX) time").
 */
export function readDate(value: Scalar): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const m = ISO_DATE.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, zone] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31) return undefined;
  if (h === undefined) return Date.UTC(Number(y), Number(mo) - 1, Number(d));
  if (Number(h) > 23 || Number(mi) > 59 || Number(se ?? 0) > 60) return undefined;
  let normal = s.replace(/[t ]/, 'T').replace(/z$/, 'Z');
  if (zone === undefined) normal += 'Z';
  else if (/^[+-]\d{2}$/.test(zone)) normal += ':00';
  else if (/^[+-]\d{4}$/.test(zone)) normal = normal.slice(0, -2) + ':' + normal.slice(-2);
  const ms = Date.parse(normal);
  return Number.isNaN(ms) ? undefined : ms;
}

function readBool(value: Scalar): 'true' | 'false' | undefined {
  const s = String(value).trim().toLowerCase();
  return s === 'true' || s === 'false' ? s : undefined;
}

function invalid(where: string, why: string): never {
  throw new HoldfastError('POLICY_CONDITION_VALUE_INVALID', `${where}: ${why}`);
}

type ValueMatcher = (value: Scalar, context: RequestContext) => boolean;

interface ValueInput {
  family: Family;
  comparison: Comparison;
  raw: Scalar;
  where: string;
  variables: boolean;
}

function compileValue({ family, comparison, raw, where, variables }: ValueInput): ValueMatcher {
  const text = String(raw);
  switch (family) {
    case 'string':
    case 'stringIgnoreCase': {
      const parts = parseTemplate(text, { variables, where });
      const fold = family === 'stringIgnoreCase';
      const fixed = resolveTemplate(parts, undefined);
      if (parts.length === 1 && fixed !== undefined) {
        const want = fold ? fixed.toLowerCase() : fixed;
        return fold ? (v) => String(v).toLowerCase() === want : (v) => String(v) === want;
      }
      return (v, context) => {
        const want = resolveTemplate(parts, context);
        if (want === undefined) return false;
        return fold ? String(v).toLowerCase() === want.toLowerCase() : String(v) === want;
      };
    }
    case 'like': {
      const pattern = compilePattern(text, { variables, where, ignoreCase: false });
      return (v, context) => pattern.matches(String(v), context);
    }
    case 'numeric': {
      const want = readNumber(raw);
      if (want === undefined) invalid(where, 'not a number');
      return (v) => {
        const got = readNumber(v);
        return got !== undefined && compare(got, want, comparison);
      };
    }
    case 'date': {
      const want = readDate(raw);
      if (want === undefined) invalid(where, 'not an ISO 8601 date or epoch seconds');
      return (v) => {
        const got = readDate(v);
        return got !== undefined && compare(got, want, comparison);
      };
    }
    case 'bool': {
      const want = readBool(raw);
      if (want === undefined) invalid(where, 'not true or false');
      return (v) => readBool(v) === want;
    }
    case 'ip': {
      const block = parseCIDR(text.trim());
      if (!block) invalid(where, 'not an IPv4 or IPv6 address or CIDR block');
      return (v) => {
        const ip = parseContextIP(String(v));
        return ip !== undefined && cidrContains(block, ip);
      };
    }
    case 'null':
      return () => false;
  }
}

/** Splits `ForAnyValue:StringLikeIfExists` into its parts; throws for an unknown operator. */
export function parseOperatorName(name: string, where: string) {
  let rest = name;
  let qualifier: SetQualifier = 'none';
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const q = rest.slice(0, colon);
    if (q !== 'ForAnyValue' && q !== 'ForAllValues')
      throw new HoldfastError('POLICY_UNSUPPORTED_OPERATOR', `${where}: unknown set qualifier ${q}`);
    qualifier = q;
    rest = rest.slice(colon + 1);
  }
  let ifExists = false;
  let base = CONDITION_OPERATORS[rest];
  if (base === undefined && rest.endsWith('IfExists')) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
    base = CONDITION_OPERATORS[rest];
  }
  if (base === undefined || !Object.hasOwn(CONDITION_OPERATORS, rest))
    throw new HoldfastError('POLICY_UNSUPPORTED_OPERATOR', `${where}: unsupported operator`);
  // Null tests presence itself; IfExists or a set qualifier on it has no meaning (AWS rejects them).
  if (base.family === 'null' && (ifExists || qualifier !== 'none'))
    throw new HoldfastError('POLICY_UNSUPPORTED_OPERATOR', `${where}: Null takes no IfExists or qualifier`);
  return { base, qualifier, ifExists };
}

/**
 * A condition key: `service:name`, or for a web identity provider its host and path before the
 * name (`token.actions.githubusercontent.com:sub`, `oidc.example.com/id/ABC:aud`: AWS IAM User
 * Guide, "Available keys for AWS OIDC federation").
 */
const CONDITION_KEY = /^[A-Za-z0-9][A-Za-z0-9./-]*:[^\s]+$/;

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Compiles a statement's Condition block; `where` names the statement for messages. */
export function compileConditionBlock(
  block: unknown,
  where: string,
  options: { variables: boolean },
): CompiledCondition[] {
  if (!isPlainObject(block))
    throw new HoldfastError('POLICY_MALFORMED', `${where}.Condition: must be an object`);
  const out: CompiledCondition[] = [];
  const entries = Object.entries(block);
  if (entries.length === 0)
    throw new HoldfastError('POLICY_MALFORMED', `${where}.Condition: must not be empty`);
  for (const [operator, keys] of entries) {
    const at = `${where}.Condition.${operator}`;
    const { base, qualifier, ifExists } = parseOperatorName(operator, at);
    if (!isPlainObject(keys)) throw new HoldfastError('POLICY_MALFORMED', `${at}: must be an object of keys`);
    const keyEntries = Object.entries(keys);
    if (keyEntries.length === 0) throw new HoldfastError('POLICY_MALFORMED', `${at}: must name a key`);
    for (const [key, rawValues] of keyEntries) {
      const kat = `${at}.${key}`;
      if (!CONDITION_KEY.test(key))
        throw new HoldfastError('POLICY_MALFORMED', `${kat}: not a condition key`);
      const values: unknown[] = Array.isArray(rawValues) ? rawValues : [rawValues];
      if (values.length === 0) throw new HoldfastError('POLICY_MALFORMED', `${kat}: empty list of values`);
      if (!values.every(isScalar))
        throw new HoldfastError('POLICY_MALFORMED', `${kat}: values must be strings, numbers or booleans`);
      const scalars = values as Scalar[];
      if (base.family === 'null') {
        const nullExpect = scalars.map((v) => {
          const b = readBool(v);
          if (b === undefined) invalid(kat, 'Null takes true or false');
          return b === 'true';
        });
        out.push({
          operator,
          key: key.toLowerCase(),
          qualifier,
          ifExists,
          negated: false,
          nullExpect,
          matchesAny: () => false,
        });
        continue;
      }
      const variables =
        options.variables &&
        (base.family === 'string' || base.family === 'stringIgnoreCase' || base.family === 'like');
      const matchers = scalars.map((raw) =>
        compileValue({ family: base.family, comparison: base.comparison, raw, where: kat, variables }),
      );
      const matchesAny: ValueMatcher =
        matchers.length === 1
          ? matchers[0]!
          : (v, context) => {
              for (const m of matchers) if (m(v, context)) return true;
              return false;
            };
      out.push({
        operator,
        key: key.toLowerCase(),
        qualifier,
        ifExists,
        negated: base.negated,
        nullExpect: undefined,
        matchesAny,
      });
    }
  }
  return out;
}

let lastIPText: string | undefined;
let lastIP: ReturnType<typeof parseIP>;
/**
 * Parses the request's address for IP conditions. One request is tested against many IpAddress
 * conditions with the same `aws:SourceIp`, so the last parse is remembered (values are immutable).
 */
function parseContextIP(text: string): ReturnType<typeof parseIP> {
  if (text !== lastIPText) {
    lastIP = parseIP(text.trim());
    lastIPText = text;
  }
  return lastIP;
}

function isAbsent(value: ContextValue | undefined): value is undefined | readonly string[] {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}

/** Evaluates one compiled condition against the request context. */
export function evaluateCondition(condition: CompiledCondition, context: RequestContext): boolean {
  const value = context.keys.get(condition.key);
  if (condition.nullExpect !== undefined) {
    const absent = isAbsent(value);
    return condition.nullExpect.some((expectAbsent) => expectAbsent === absent);
  }
  if (isAbsent(value)) {
    if (condition.ifExists) return true;
    if (condition.qualifier === 'ForAllValues') return true;
    if (condition.qualifier === 'ForAnyValue') return false;
    return condition.negated;
  }
  const one = (v: Scalar) => condition.matchesAny(v, context) !== condition.negated;
  if (!Array.isArray(value)) return one(value as Scalar);
  const list = value as readonly string[];
  switch (condition.qualifier) {
    case 'ForAllValues':
      return list.every(one);
    case 'ForAnyValue':
      return list.some(one);
    case 'none':
      return condition.negated ? list.every(one) : list.some(one);
  }
}

/** True when every condition holds (an empty list holds). */
export function evaluateConditions(
  conditions: readonly CompiledCondition[],
  context: RequestContext,
): boolean {
  for (const c of conditions) if (!evaluateCondition(c, context)) return false;
  return true;
}
