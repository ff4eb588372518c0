/**
 * AWS Query protocol requests: the form-encoded body of `POST /` (`Action`, `Version` and the
 * operation parameters), and typed readers for its parameters that fail with AWS's codes.
 *
 * The parser takes the RAW body (string or bytes), not a body already decoded by a framework:
 * the same bytes are hashed by the SigV4 verifier, and clients differ in how they encode a
 * space (botocore writes `+`, the JS SDK `%20`), so the decoding is done here, once, the
 * same way for both (application/x-www-form-urlencoded, WHATWG URL §5).
 *
 * Code choices (the AWS Query convention; messages are AWS-like, clients read only codes):
 * - `MissingAction`: no `Action`. `MissingParameter`: no `Version`, or a required parameter
 *   left out ("The request must contain the parameter UserName.").
 * - `InvalidParameterValue`: a value that is not of its type at all (an integer that is not a
 *   number, a boolean that is not `true`/`false`, a malformed list index).
 * - `ValidationError`: a well-typed value that breaks a model constraint (length, range,
 *   pattern, enum), worded like AWS: "1 validation error detected: Value 'x' at 'userName'
 *   failed to satisfy constraint: Member must have length less than or equal to 64".
 * - `InvalidAction` (unknown `Action` for the `Version`) is decided by the dispatcher;
 *   {@link invalidAction} builds it.
 */

import { AwsError } from './xml.js';

/** A parsed Query request. `params` holds every pair except `Action` and `Version`. */
export interface AwsQueryRequest {
  action: string;
  version: string;
  params: ReadonlyMap<string, string>;
}

/** Most parameters one request may carry; IAM/STS operations need far fewer. */
const MAX_PARAMETERS = 1000;

function decodeFormComponent(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new AwsError('InvalidParameterValue', 'The request body is not valid form-encoded data.');
  }
}

/**
 * Parses an `application/x-www-form-urlencoded` body into `{ action, version, params }`.
 * Fails with `MissingAction`/`MissingParameter` when `Action`/`Version` are absent and with
 * `InvalidParameterValue` on malformed encoding or a parameter given twice. Empty values are
 * kept (botocore sends an empty list as the bare key, e.g. `Tags=`).
 */
export function parseQueryRequest(body: string | Uint8Array): AwsQueryRequest {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const params = new Map<string, string>();
  let count = 0;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    if (++count > MAX_PARAMETERS) {
      throw new AwsError('ValidationError', `The request has more than ${MAX_PARAMETERS} parameters.`);
    }
    const eq = pair.indexOf('=');
    const name = decodeFormComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeFormComponent(pair.slice(eq + 1));
    if (params.has(name)) {
      throw new AwsError(
        'InvalidParameterValue',
        `The parameter ${printable(name)} is given more than once.`,
      );
    }
    params.set(name, value);
  }
  const action = params.get('Action');
  if (action === undefined || action === '') {
    throw new AwsError('MissingAction', 'The request must contain the parameter Action.');
  }
  const version = params.get('Version');
  if (version === undefined || version === '') throw missingParameter('Version');
  params.delete('Action');
  params.delete('Version');
  return { action, version, params };
}

/** Keeps an echoed name short and printable. */
function printable(value: string): string {
  const clean = value.replace(/[^\x20-\x7E]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
}

/** `MissingParameter`: a required parameter is absent. */
export function missingParameter(name: string): AwsError {
  return new AwsError('MissingParameter', `The request must contain the parameter ${printable(name)}.`);
}

/**
 * `ValidationError` for one broken constraint, in AWS's wording. The member name is the
 * parameter name with a lower-case first letter, as AWS writes it. `sensitive` values
 * (passwords, codes) are not echoed.
 */
export function validationError(input: {
  name: string;
  value: string;
  constraint: string;
  sensitive?: boolean;
}): AwsError {
  const member = input.name.charAt(0).toLowerCase() + input.name.slice(1);
  const value = input.sensitive ? '' : ` '${printable(input.value)}'`;
  return new AwsError(
    'ValidationError',
    `1 validation error detected: Value${value} at '${printable(member)}' failed to satisfy constraint: ${input.constraint}`,
  );
}

/** `InvalidParameterValue`: a value that is not of the parameter's type. */
export function invalidParameterValue(input: { name: string; value: string; sensitive?: boolean }): AwsError {
  const value = input.sensitive ? '' : ` '${printable(input.value)}'`;
  return new AwsError(
    'InvalidParameterValue',
    `Value${value} for parameter ${printable(input.name)} is invalid.`,
  );
}

/** `InvalidAction`: no such operation for this API version. */
export function invalidAction(input: { action: string; version: string }): AwsError {
  return new AwsError(
    'InvalidAction',
    `Could not find operation ${printable(input.action)} for version ${printable(input.version)}`,
  );
}

/** Constraints of a string parameter, as the service model states them. */
export interface StringRules {
  required?: boolean;
  minLength?: number;
  maxLength?: number;
  /** Whole-value pattern, e.g. `/^[\w+=,.@-]+$/`. */
  pattern?: RegExp;
  /** Shown in the message when the pattern fails, e.g. the model's pattern source. */
  patternText?: string;
  /** Do not echo the value in error messages (passwords, codes). */
  sensitive?: boolean;
}

/** Reads a string parameter; `undefined` when absent and not required. */
export function readString(
  params: ReadonlyMap<string, string>,
  name: string,
  rules: StringRules & { required: true },
): string;
export function readString(
  params: ReadonlyMap<string, string>,
  name: string,
  rules?: StringRules,
): string | undefined;
export function readString(
  params: ReadonlyMap<string, string>,
  name: string,
  rules: StringRules = {},
): string | undefined {
  const value = params.get(name);
  if (value === undefined) {
    if (rules.required) throw missingParameter(name);
    return undefined;
  }
  return checkString(name, value, rules);
}

function checkString(name: string, value: string, rules: StringRules): string {
  const sensitive = rules.sensitive ?? false;
  // Length in code points, as the models count characters.
  const length = [...value].length;
  if (rules.minLength !== undefined && length < rules.minLength) {
    throw validationError({
      name,
      value,
      sensitive,
      constraint: `Member must have length greater than or equal to ${rules.minLength}`,
    });
  }
  if (rules.maxLength !== undefined && length > rules.maxLength) {
    throw validationError({
      name,
      value,
      sensitive,
      constraint: `Member must have length less than or equal to ${rules.maxLength}`,
    });
  }
  if (rules.pattern && !rules.pattern.test(value)) {
    throw validationError({
      name,
      value,
      sensitive,
      constraint: `Member must satisfy regular expression pattern: ${rules.patternText ?? rules.pattern.source}`,
    });
  }
  return value;
}

/** Reads an enum parameter (e.g. `Status`: `Active`|`Inactive`), case-sensitive as AWS is. */
export function readEnum<T extends string>(
  params: ReadonlyMap<string, string>,
  name: string,
  rules: { values: readonly T[]; required?: boolean },
): T | undefined {
  const value = params.get(name);
  if (value === undefined) {
    if (rules.required) throw missingParameter(name);
    return undefined;
  }
  if (!(rules.values as readonly string[]).includes(value)) {
    throw validationError({
      name,
      value,
      constraint: `Member must satisfy enum value set: [${rules.values.join(', ')}]`,
    });
  }
  return value as T;
}

/** Reads an integer parameter within `[min, max]`; `undefined` when absent and not required. */
export function readInteger(
  params: ReadonlyMap<string, string>,
  name: string,
  rules: { required?: boolean; min?: number; max?: number } = {},
): number | undefined {
  const raw = params.get(name);
  if (raw === undefined) {
    if (rules.required) throw missingParameter(name);
    return undefined;
  }
  if (!/^[+-]?[0-9]{1,15}$/.test(raw)) throw invalidParameterValue({ name, value: raw });
  const value = Number(raw);
  if (rules.min !== undefined && value < rules.min) {
    throw validationError({
      name,
      value: raw,
      constraint: `Member must have value greater than or equal to ${rules.min}`,
    });
  }
  if (rules.max !== undefined && value > rules.max) {
    throw validationError({
      name,
      value: raw,
      constraint: `Member must have value less than or equal to ${rules.max}`,
    });
  }
  return value;
}

/** Reads a boolean parameter (`true`/`false`, any case); `undefined` when absent. */
export function readBoolean(
  params: ReadonlyMap<string, string>,
  name: string,
  rules: { required?: boolean } = {},
): boolean | undefined {
  const raw = params.get(name);
  if (raw === undefined) {
    if (rules.required) throw missingParameter(name);
    return undefined;
  }
  const lower = raw.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw invalidParameterValue({ name, value: raw });
}

/**
 * Collects `{name}.member.{N}[.{rest}]` parameters as a map from N to (rest → value), with
 * `rest` = '' for scalar members. Indexes start at 1 and may arrive in any order.
 */
function collectMembers(
  params: ReadonlyMap<string, string>,
  name: string,
  maxItems: number | undefined,
): Map<number, Map<string, string>> {
  const prefix = `${name}.member.`;
  const members = new Map<number, Map<string, string>>();
  for (const [key, value] of params) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const dot = rest.indexOf('.');
    const indexText = dot < 0 ? rest : rest.slice(0, dot);
    if (!/^[1-9][0-9]{0,5}$/.test(indexText)) throw invalidParameterValue({ name: key, value });
    const index = Number(indexText);
    let member = members.get(index);
    if (!member) {
      member = new Map();
      members.set(index, member);
    }
    member.set(dot < 0 ? '' : rest.slice(dot + 1), value);
  }
  if (maxItems !== undefined && members.size > maxItems) {
    throw validationError({
      name,
      value: `${members.size} items`,
      constraint: `Member must have length less than or equal to ${maxItems}`,
    });
  }
  return members;
}

function sortedMembers(members: Map<number, Map<string, string>>): Map<string, string>[] {
  return [...members.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m);
}

/**
 * Reads a list of strings sent as `Name.member.1=a&Name.member.2=b`
 * (e.g. `TransitiveTagKeys`). Absent or sent bare (`Name=`) is an empty list.
 */
export function readStringList(
  params: ReadonlyMap<string, string>,
  name: string,
  rules: { maxItems?: number; required?: boolean } = {},
): string[] {
  const members = collectMembers(params, name, rules.maxItems);
  if (members.size === 0 && rules.required && !params.has(name)) throw missingParameter(name);
  return sortedMembers(members).map((m) => {
    const value = m.get('');
    if (value === undefined || m.size !== 1) {
      throw invalidParameterValue({ name, value: [...m.keys()].join(',') });
    }
    return value;
  });
}

/**
 * Reads a list of structures sent as `Name.member.N.Field=value`
 * (e.g. `Tags.member.1.Key`, `PolicyArns.member.1.arn`). Each item maps field name to value;
 * fields outside `fields` fail with `InvalidParameterValue`.
 */
export function readStructList<F extends string>(
  params: ReadonlyMap<string, string>,
  name: string,
  rules: { fields: readonly F[]; maxItems?: number; required?: boolean },
): Partial<Record<F, string>>[] {
  const members = collectMembers(params, name, rules.maxItems);
  if (members.size === 0 && rules.required && !params.has(name)) throw missingParameter(name);
  const allowed = new Set<string>(rules.fields);
  return sortedMembers(members).map((m) => {
    const item: Partial<Record<F, string>> = {};
    for (const [field, value] of m) {
      if (!allowed.has(field)) throw invalidParameterValue({ name: `${name}.member.N.${field}`, value });
      item[field as F] = value;
    }
    return item;
  });
}

/** A tag as IAM and STS take it. */
export interface AwsTag {
  key: string;
  value: string;
}

/**
 * Reads `Tags.member.N.Key`/`.Value` (at most 50 tags; key 1–128, value 0–256 characters, as
 * the IAM model states). A tag without `Key` fails with `MissingParameter`.
 */
export function readTags(params: ReadonlyMap<string, string>, name = 'Tags'): AwsTag[] {
  const items = readStructList(params, name, { fields: ['Key', 'Value'], maxItems: 50 });
  return items.map((item, i) => {
    const key = item.Key;
    if (key === undefined) throw missingParameter(`${name}.member.${i + 1}.Key`);
    checkString(`${name}.member.${i + 1}.key`, key, { minLength: 1, maxLength: 128 });
    const value = item.Value ?? '';
    checkString(`${name}.member.${i + 1}.value`, value, { maxLength: 256 });
    return { key, value };
  });
}
