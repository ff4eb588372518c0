/**
 * The checks IAM applies to an identity-policy document before it stores one, in the order IAM
 * applies them, each answered with the message IAM sends with `MalformedPolicyDocument` (AWS IAM
 * User Guide, "IAM JSON policy element reference" and "Grammar of the IAM JSON policy language";
 * the messages are the ones IAM returns on the wire). Holdfast's own parser and linter run after
 * these, so a document that passes here may still be refused for a Holdfast reason.
 */

/** Identity policies stored as managed policies (versioned) or inline on a user, group or role. */
export type IamDocumentKind = 'managed' | 'inline';

const SYNTAX = 'Syntax errors in policy.';
const TOP_KEYS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);
const SID = /^[0-9A-Za-z]*$/;
const PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov', 'aws-iso', 'aws-iso-b'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringOrList(v: unknown): boolean {
  if (typeof v === 'string') return true;
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
}

function list(v: unknown): string[] {
  return typeof v === 'string' ? [v] : (v as string[]);
}

function syntaxFault(doc: unknown): boolean {
  if (!isObject(doc)) return true;
  if (Object.keys(doc).some((k) => !TOP_KEYS.has(k))) return true;
  if (doc.Version !== undefined && typeof doc.Version !== 'string') return true;
  if (doc.Id !== undefined && typeof doc.Id !== 'string') return true;
  const statements: unknown[] = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (doc.Statement === undefined || statements.length === 0) return true;
  for (const s of statements) {
    if (!isObject(s) || Object.keys(s).some((k) => !STATEMENT_KEYS.has(k))) return true;
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') return true;
    if (s.Sid !== undefined && typeof s.Sid !== 'string') return true;
    for (const key of ['Action', 'NotAction', 'Resource', 'NotResource'])
      if (s[key] !== undefined && !isStringOrList(s[key])) return true;
    if (s.Condition !== undefined && !isObject(s.Condition)) return true;
  }
  return false;
}

function resourceFault(resource: string): string | null {
  if (resource === '*') return null;
  const parts = resource.split(':');
  if (parts[0] !== 'arn' || parts.length < 6) return `Resource ${resource} must be in ARN format or "*".`;
  const partition = parts[1]!;
  const wildcard = /[*?]/.test(partition);
  if (!wildcard && !PARTITIONS.includes(partition))
    return `Partition "${partition}" is not valid for resource "${resource}".`;
  return null;
}

function actionFault(action: string): string | null {
  if (action === '*') return null;
  const colon = action.indexOf(':');
  if (colon <= 0) return 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.';
  const vendor = action.slice(0, colon);
  if (!/^[A-Za-z0-9*?-]+$/.test(vendor)) return `Vendor ${vendor} is not valid`;
  return null;
}

/**
 * The first fault IAM finds in an identity-policy document, as IAM words it; null when the
 * document passes. Managed policies need `"Version": "2012-10-17"` (IAM refuses a missing
 * Version and the older 2008-10-17 grammar there).
 */
export function iamDocumentFault(text: string, kind: IamDocumentKind): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return SYNTAX;
  }
  if (syntaxFault(doc)) return SYNTAX;
  const top = doc as Record<string, unknown>;
  if (kind === 'managed' && top.Version !== '2012-10-17')
    return 'Policy document must be version 2012-10-17 or greater.';
  if (top.Version !== undefined && top.Version !== '2012-10-17' && top.Version !== '2008-10-17')
    return SYNTAX;
  const statements = (Array.isArray(top.Statement) ? top.Statement : [top.Statement]) as Record<
    string,
    unknown
  >[];
  const sids = new Set<string>();
  for (const s of statements) {
    if (s.Principal !== undefined || s.NotPrincipal !== undefined)
      return 'Policy document should not specify a principal.';
    const sid = s.Sid as string | undefined;
    if (sid !== undefined && !SID.test(sid))
      return 'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*';
    if (sid !== undefined && sid !== '') {
      if (sids.has(sid)) return 'Statement IDs (SID) in a single policy must be unique.';
      sids.add(sid);
    }
  }
  for (const s of statements) {
    if (s.Action === undefined && s.NotAction === undefined) return 'Policy statement must contain actions.';
    if (s.Resource === undefined && s.NotResource === undefined)
      return 'Policy statement must contain resources.';
  }
  for (const s of statements) {
    for (const r of list(s.Resource ?? s.NotResource)) {
      const fault = resourceFault(r);
      if (fault !== null) return fault;
    }
    for (const a of list(s.Action ?? s.NotAction)) {
      const fault = actionFault(a);
      if (fault !== null) return fault;
    }
  }
  return null;
}
