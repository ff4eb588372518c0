/**
 * Wildcard patterns and policy variables, compiled once per policy.
 *
 * IAM patterns use `*` (any run of characters, possibly empty) and `?` (exactly one character).
 * Policy variables (`${aws:username}`) are resolved from the request context at evaluation time;
 * `${*}`, `${?}` and `${$}` stand for the literal characters (AWS IAM User Guide, "IAM policy
 * elements: Variables and tags", special characters). A variable without a value makes the element
 * that holds it not match, unless it carries a default (`${aws:username, 'nobody'}`).
 */

import { HoldfastError } from '../errors.js';
import type { RequestContext } from './context.js';

const STAR = -1;
const QMARK = -2;

/** One piece of a pattern or value template. */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'literal'; text: string }
  | { kind: 'variable'; key: string; fallback: string | undefined };

/** A compiled wildcard pattern: either static codes or a template resolved per request. */
export interface CompiledPattern {
  /** The pattern as written in the policy (for diagnostics). */
  readonly source: string;
  /** True when the pattern contains no variable (its codes are fixed). */
  readonly static: boolean;
  /** Returns whether `text` matches; false when a variable has no value in the context. */
  matches(text: string, context: RequestContext | undefined): boolean;
}

/** Options of {@link parseTemplate}. */
export interface TemplateOptions {
  /** When false (policy Version 2008-10-17), `${...}` is plain text as AWS treats it. */
  variables: boolean;
  /** Where the template sits, for error messages. */
  where: string;
}

const VARIABLE = /^\s*([A-Za-z0-9:_./-]+)\s*(?:,\s*'([^']*)'\s*)?$/;

/** Splits a policy string into text, escaped literals and variables. */
export function parseTemplate(source: string, options: TemplateOptions): TemplatePart[] {
  if (!options.variables || !source.includes('${')) return [{ kind: 'text', text: source }];
  const parts: TemplatePart[] = [];
  let rest = source;
  for (;;) {
    const start = rest.indexOf('${');
    if (start < 0) break;
    if (start > 0) parts.push({ kind: 'text', text: rest.slice(0, start) });
    const end = rest.indexOf('}', start + 2);
    if (end < 0)
      throw new HoldfastError('POLICY_MALFORMED', `${options.where}: unterminated policy variable`);
    const inner = rest.slice(start + 2, end);
    if (inner === '*' || inner === '?' || inner === '$') parts.push({ kind: 'literal', text: inner });
    else {
      const m = VARIABLE.exec(inner);
      if (!m) throw new HoldfastError('POLICY_MALFORMED', `${options.where}: malformed policy variable`);
      parts.push({ kind: 'variable', key: m[1]!.toLowerCase(), fallback: m[2] });
    }
    rest = rest.slice(end + 1);
  }
  if (rest.length > 0) parts.push({ kind: 'text', text: rest });
  return parts;
}

/** True when a template has a variable to resolve per request. */
export function hasVariable(parts: readonly TemplatePart[]): boolean {
  return parts.some((p) => p.kind === 'variable');
}

/** The value of a variable in the context as a string, or undefined when absent or multi-valued. */
export function resolveVariable(key: string, context: RequestContext | undefined): string | undefined {
  const value = context?.keys.get(key);
  if (value === undefined || Array.isArray(value)) return undefined;
  return String(value);
}

/** Resolves a template to plain text (wildcards not interpreted); undefined when unresolved. */
export function resolveTemplate(
  parts: readonly TemplatePart[],
  context: RequestContext | undefined,
): string | undefined {
  if (parts.length === 1 && parts[0]!.kind !== 'variable') return parts[0]!.text;
  let out = '';
  for (const part of parts) {
    if (part.kind === 'variable') {
      const value = resolveVariable(part.key, context) ?? part.fallback;
      if (value === undefined) return undefined;
      out += value;
    } else out += part.text;
  }
  return out;
}

function pushCodes(out: number[], text: string, wildcards: boolean, lowerCase: boolean): void {
  const s = lowerCase ? text.toLowerCase() : text;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (wildcards && c === 42) out.push(STAR);
    else if (wildcards && c === 63) out.push(QMARK);
    else out.push(c);
  }
}

/** Classic greedy wildcard match with single-star backtracking: O(n·m) worst case, no regex. */
function globMatch(p: readonly number[], s: string): boolean {
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const pc = pi < p.length ? p[pi]! : 0;
    if (pi < p.length && (pc === QMARK || pc === s.charCodeAt(si))) {
      pi++;
      si++;
    } else if (pi < p.length && pc === STAR) {
      starP = pi++;
      starS = si;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else return false;
  }
  while (pi < p.length && p[pi] === STAR) pi++;
  return pi === p.length;
}

/** Options of {@link compilePattern}. */
export interface PatternOptions extends TemplateOptions {
  /** Actions match case-insensitively (the caller lower-cases the text once per request). */
  ignoreCase: boolean;
}

/** Compiles an Action, Resource or StringLike pattern into a matcher. */
export function compilePattern(source: string, options: PatternOptions): CompiledPattern {
  const parts = parseTemplate(source, options);
  const lower = options.ignoreCase;
  if (!hasVariable(parts)) {
    const codes: number[] = [];
    for (const part of parts)
      if (part.kind !== 'variable') pushCodes(codes, part.text, part.kind === 'text', lower);
    if (codes.length === 1 && codes[0] === STAR) return { source, static: true, matches: () => true };
    if (!codes.includes(STAR) && !codes.includes(QMARK)) {
      const exact = String.fromCharCode(...codes);
      return { source, static: true, matches: (text) => text === exact };
    }
    const firstWildcard = codes.findIndex((c) => c === STAR || c === QMARK);
    if (firstWildcard === codes.length - 1 && codes[firstWildcard] === STAR) {
      const prefix = String.fromCharCode(...codes.slice(0, -1));
      return { source, static: true, matches: (text) => text.startsWith(prefix) };
    }
    return { source, static: true, matches: (text) => globMatch(codes, text) };
  }
  const wildcards = parts.some((p) => p.kind === 'text' && /[*?]/.test(p.text));
  const last = parts[parts.length - 1]!;
  const onlyTrailingStar =
    last.kind === 'text' &&
    /^[^*?]*\*$/.test(last.text) &&
    parts.slice(0, -1).every((p) => p.kind !== 'text' || !/[*?]/.test(p.text));
  if (onlyTrailingStar) {
    // `arn:...:${aws:PrincipalAccount}:*` and the like: a resolved prefix and startsWith, no glob.
    const head = [...parts.slice(0, -1), { kind: 'literal' as const, text: last.text.slice(0, -1) }];
    return {
      source,
      static: false,
      matches(text, context) {
        const prefix = resolveTemplate(head, context);
        return prefix !== undefined && text.startsWith(lower ? prefix.toLowerCase() : prefix);
      },
    };
  }
  if (!wildcards) {
    // Literal text plus variables (`.../user/${aws:username}`): resolve and compare, no glob.
    return {
      source,
      static: false,
      matches(text, context) {
        const want = resolveTemplate(parts, context);
        return want !== undefined && text === (lower ? want.toLowerCase() : want);
      },
    };
  }
  return {
    source,
    static: false,
    matches(text, context) {
      const codes: number[] = [];
      for (const part of parts) {
        if (part.kind === 'variable') {
          const value = resolveVariable(part.key, context) ?? part.fallback;
          if (value === undefined) return false;
          // A variable's value is literal text: a `*` in a user name is not a wildcard.
          pushCodes(codes, value, false, lower);
        } else pushCodes(codes, part.text, part.kind === 'text', lower);
      }
      return globMatch(codes, text);
    },
  };
}
