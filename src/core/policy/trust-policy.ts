/**
 * Role trust policies: resource-based policies in which each statement names who it is about in
 * `Principal` (AWS IAM User Guide, "IAM JSON policy elements: Principal"). Only `"*"` and AWS
 * account/user/role principals are ever matched here; `Service` (and `Federated`) principals are
 * kept as written and never match a caller: no AWS service calls this server, so a role that only
 * trusts a service is stored and returned, but no request can assume it.
 */

import { HoldfastError } from '../errors.js';
import { accountArn } from './arn.js';
import { parsePolicy, type CompiledPolicy } from './parse-policy.js';

/** Principal kinds a trust statement may name (AWS's keys in the `Principal` object). */
const PRINCIPAL_KINDS = ['AWS', 'Service', 'Federated', 'CanonicalUser'] as const;

/** One trust statement: the callers it names and the rest of it compiled as an identity policy. */
export interface TrustStatement {
  /** AWS principals (account ids, account root ARNs, user and role ARNs), or `*` for anyone. */
  aws: readonly string[] | '*';
  /** Service, federated and canonical-user principals: stored, never matched. */
  others: readonly string[];
  /** Effect, Action and Condition with `Resource: "*"`, evaluated like an identity policy. */
  compiled: CompiledPolicy;
}

/** The caller as a trust policy sees it: its account and the ARNs it is known by. */
export interface TrustCaller {
  accountId: string;
  arns: readonly string[];
}

function malformed(message: string): HoldfastError {
  return new HoldfastError('POLICY_MALFORMED', message);
}

function stringList(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((p): p is string => typeof p === 'string' && p !== '')) {
    throw malformed(`${where} must be a string or a list of strings.`);
  }
  return list;
}

function readPrincipal(principal: unknown): Pick<TrustStatement, 'aws' | 'others'> {
  if (principal === '*') return { aws: '*', others: [] };
  if (principal === null || typeof principal !== 'object' || Array.isArray(principal)) {
    throw malformed('Each trust statement needs "Principal": "*" or an object such as {"AWS": ...}.');
  }
  const entries = Object.entries(principal as Record<string, unknown>);
  if (entries.length === 0) throw malformed('Principal names no one.');
  let aws: string[] | '*' = [];
  const others: string[] = [];
  for (const [kind, value] of entries) {
    if (!(PRINCIPAL_KINDS as readonly string[]).includes(kind)) {
      throw malformed(`Invalid principal in policy: "${kind}".`);
    }
    const list = stringList(value, `Principal.${kind}`);
    if (kind !== 'AWS') others.push(...list.map((p) => `${kind}:${p}`));
    else aws = list.includes('*') ? '*' : list;
  }
  return { aws, others };
}

/**
 * Parses a trust policy. Refuses what cannot be decided safely: `NotPrincipal` (it names who is
 * NOT meant, so an unknown caller would match), a statement without `Principal`, and non-string
 * principals. The remainder of each statement is compiled by the identity-policy parser with
 * `Resource: "*"`, so conditions such as `aws:MultiFactorAuthPresent` evaluate exactly as they
 * do in identity policies.
 */
export function parseTrustPolicy(text: string): TrustStatement[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed('The trust policy is not valid JSON.');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw malformed('The trust policy is not an object.');
  const d = doc as { Version?: unknown; Statement?: unknown };
  if (d.Statement === undefined) throw malformed('The trust policy has no Statement.');
  const statements = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  if (statements.length === 0) throw malformed('The trust policy has no Statement.');
  return statements.map((raw: unknown) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw malformed('A statement is not an object.');
    const { Principal: principal, NotPrincipal: notPrincipal, ...rest } = raw as Record<string, unknown>;
    if (notPrincipal !== undefined) throw malformed('NotPrincipal is not supported in trust policies.');
    if (principal === undefined) throw malformed('Each trust statement needs a Principal.');
    if ('Resource' in rest || 'NotResource' in rest) throw malformed('Has prohibited field Resource.');
    const compiled = parsePolicy(
      JSON.stringify({ Version: d.Version ?? '2012-10-17', Statement: [{ ...rest, Resource: '*' }] }),
    );
    return { ...readPrincipal(principal), compiled };
  });
}

/** True when a statement's AWS principals include the caller (its account or one of its ARNs). */
export function trustStatementMatches(statement: TrustStatement, caller: TrustCaller): boolean {
  if (statement.aws === '*') return true;
  return statement.aws.some(
    (p) => p === caller.accountId || p === accountArn(caller.accountId) || caller.arns.includes(p),
  );
}

/**
 * True when a statement names the caller itself (not `*`, not its account): AWS's same-account
 * rule then needs no identity-policy allow for sts:AssumeRole.
 */
export function trustNamesCaller(statements: readonly TrustStatement[], caller: TrustCaller): boolean {
  return statements.some((s) => s.aws !== '*' && s.aws.some((p) => caller.arns.includes(p)));
}

/** True when the trust policy names only non-AWS principals (a service role: never assumable here). */
export function trustsOnlyServices(statements: readonly TrustStatement[]): boolean {
  return statements.every((s) => s.aws !== '*' && s.aws.length === 0);
}
