/**
 * Parses, validates and compiles JSON policy documents in the IAM grammar
 * (AWS IAM User Guide, "IAM JSON policy element reference" and "Grammar of the IAM JSON policy
 * language"). Identity policies only: Principal/NotPrincipal are refused.
 *
 * Compiling builds every matcher once (Action patterns case-insensitive as IAM does, Resource
 * patterns case-sensitive), so evaluation does no parsing. Compiled policies are cached by text.
 */

import { HoldfastError } from '../errors.js';
import { compileConditionBlock, type CompiledCondition } from './conditions.js';
import { compilePattern, type CompiledPattern } from './patterns.js';

/**
 * Maximum size in characters, white space not counted: AWS IAM quotas, "Managed policy size:
 * 6,144 characters" ("IAM doesn't count white space when calculating the size of a policy").
 * (shared/reference/aws-iam-sts.md §1.6 gives only the API's 131,072-character field limit.)
 */
export const MAX_POLICY_CHARACTERS = 6_144;
/** Raw text longer than this is refused before any parsing, white space or not. */
export const MAX_POLICY_TEXT = 131_072;

/** Policy language versions AWS defines; variables are substituted only in 2012-10-17. */
export type PolicyVersion = '2012-10-17' | '2008-10-17';

/** A statement element list compiled into matchers. */
export interface CompiledElement {
  /** True for NotAction / NotResource: the statement applies to what does NOT match. */
  readonly negated: boolean;
  readonly patterns: readonly CompiledPattern[];
}

/** One compiled statement. */
export interface CompiledStatement {
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  readonly action: CompiledElement;
  readonly resource: CompiledElement;
  readonly conditions: readonly CompiledCondition[];
}

/** A parsed, validated and compiled policy document. */
export interface CompiledPolicy {
  readonly version: PolicyVersion;
  readonly id: string | undefined;
  readonly statements: readonly CompiledStatement[];
  /** The document text it was compiled from. */
  readonly source: string;
}

const TOP_KEYS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);
const ACTION = /^(?:\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$/;
// `arn:partition:service:region:account:resource`, wildcards allowed in every part.
const RESOURCE = /^(?:\*|arn:[^:]*:[^:]*:[^:]*:[^:]*:.+)$/;
const SID = /^[A-Za-z0-9]*$/;

function malformed(message: string): never {
  throw new HoldfastError('POLICY_MALFORMED', message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function countNonWhitespace(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) n++;
  }
  return n;
}

function readStringList(value: unknown, where: string): string[] {
  const list: unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0) malformed(`${where}: must not be an empty list`);
  for (const item of list)
    if (typeof item !== 'string') malformed(`${where}: must be a string or a list of strings`);
  return list as string[];
}

interface ElementOptions {
  names: readonly [string, string];
  where: string;
  variables: boolean;
  ignoreCase: boolean;
  shape: RegExp;
}

function compileElement(statement: Record<string, unknown>, options: ElementOptions): CompiledElement {
  const { names, where } = options;
  const [plain, not] = names;
  const hasPlain = Object.hasOwn(statement, plain);
  const hasNot = Object.hasOwn(statement, not);
  if (hasPlain === hasNot) malformed(`${where}: needs exactly one of ${plain} or ${not}`);
  const name = hasPlain ? plain : not;
  const values = readStringList(statement[name], `${where}.${name}`);
  const patterns = values.map((value, i) => {
    if (!options.shape.test(value)) malformed(`${where}.${name}[${i}]: not a valid ${plain.toLowerCase()}`);
    return compilePattern(value, {
      variables: options.variables,
      ignoreCase: options.ignoreCase,
      where: `${where}.${name}[${i}]`,
    });
  });
  return { negated: hasNot, patterns };
}

function compileStatement(raw: unknown, index: number, version: PolicyVersion): CompiledStatement {
  const where = `Statement[${index}]`;
  if (!isPlainObject(raw)) malformed(`${where}: must be an object`);
  for (const key of Object.keys(raw)) {
    if (key === 'Principal' || key === 'NotPrincipal')
      malformed(`${where}.${key}: identity policies name no principal`);
    if (!STATEMENT_KEYS.has(key)) malformed(`${where}.${key}: unknown element`);
  }
  const sid = raw.Sid;
  if (sid !== undefined && (typeof sid !== 'string' || !SID.test(sid)))
    malformed(`${where}.Sid: must be a string of letters and digits`);
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') malformed(`${where}.Effect: must be Allow or Deny`);
  const variables = version === '2012-10-17';
  const action = compileElement(raw, {
    names: ['Action', 'NotAction'],
    where,
    variables: false, // AWS substitutes policy variables in Resource and Condition only
    ignoreCase: true,
    shape: ACTION,
  });
  const resource = compileElement(raw, {
    names: ['Resource', 'NotResource'],
    where,
    variables,
    ignoreCase: false,
    shape: RESOURCE,
  });
  const conditions =
    raw.Condition === undefined ? [] : compileConditionBlock(raw.Condition, where, { variables });
  return { index, sid: sid as string | undefined, effect: raw.Effect, action, resource, conditions };
}

/** Parses and compiles a policy document; throws a POLICY_* HoldfastError naming the fault. */
export function parsePolicy(text: string): CompiledPolicy {
  if (typeof text !== 'string') malformed('the policy document must be JSON text');
  if (text.length > MAX_POLICY_TEXT || countNonWhitespace(text) > MAX_POLICY_CHARACTERS)
    throw new HoldfastError(
      'POLICY_TOO_LARGE',
      `the policy document has more than ${MAX_POLICY_CHARACTERS} non-white-space characters`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new HoldfastError('POLICY_MALFORMED', 'the policy document is not valid JSON', { cause });
  }
  if (!isPlainObject(doc)) malformed('the policy document must be a JSON object');
  for (const key of Object.keys(doc)) if (!TOP_KEYS.has(key)) malformed(`${key}: unknown top-level element`);
  // AWS: without Version the 2008-10-17 grammar applies, where `${...}` is plain text.
  const version = doc.Version ?? '2008-10-17';
  if (version !== '2012-10-17' && version !== '2008-10-17')
    malformed('Version: must be "2012-10-17" or "2008-10-17"');
  if (doc.Id !== undefined && typeof doc.Id !== 'string') malformed('Id: must be a string');
  if (doc.Statement === undefined) malformed('Statement: is required');
  const rawStatements: unknown[] = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (rawStatements.length === 0) malformed('Statement: must not be an empty list');
  const statements = rawStatements.map((s, i) => compileStatement(s, i, version));
  const sids = new Set<string>();
  for (const s of statements) {
    if (s.sid === undefined || s.sid === '') continue;
    // AWS: "The Sid value must be unique within a JSON policy."
    if (sids.has(s.sid)) malformed(`Statement[${s.index}].Sid: duplicate Sid ${s.sid}`);
    sids.add(s.sid);
  }
  return { version, id: doc.Id as string | undefined, statements, source: text };
}

/** A bounded least-recently-used cache of compiled policies, keyed by document text. */
export class PolicyCache {
  private readonly entries = new Map<string, CompiledPolicy>();

  constructor(private readonly capacity = 1_000) {}

  /** Returns the compiled policy for `text`, compiling it on a miss (errors are not cached). */
  get(text: string): CompiledPolicy {
    const hit = this.entries.get(text);
    if (hit !== undefined) {
      this.entries.delete(text);
      this.entries.set(text, hit);
      return hit;
    }
    const compiled = parsePolicy(text);
    this.entries.set(text, compiled);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return compiled;
  }

  /** Number of cached policies. */
  get size(): number {
    return this.entries.size;
  }
}

const shared = new PolicyCache();
/** Compiles through a process-wide cache (policies are immutable values, so sharing is safe). */
export function compilePolicyCached(text: string): CompiledPolicy {
  return shared.get(text);
}
