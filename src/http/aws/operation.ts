/**
 * What an IAM or STS operation handler is given and returns, plus the helpers they share
 * (the caller's own user name, the IAM user shape, pagination with Marker/MaxItems).
 */

import type { AwsCaller } from '../../app/aws/access-keys.js';
import type { Action } from '../../app/actions.js';
import type { RequestContext } from '../../app/context.js';
import type { App } from '../../app/create-app.js';
import { assumedRoleArn, userArn } from '../../core/policy/arn.js';
import type { Principal } from '../../core/principals/types.js';
import { invalidParameterValue, readInteger, readString, validationError } from './query.js';
import type { AwsResult, IamUserShape, PageShape } from './shapes.js';

/** Everything a handler needs for one verified request. */
export interface OperationContext {
  app: App;
  caller: AwsCaller;
  ctx: RequestContext;
  params: ReadonlyMap<string, string>;
  /** The caller's account. */
  accountId: string;
}

/** A handler's answer: the result members, and what the audit record may show of the response. */
export interface OperationOutcome {
  result: AwsResult;
  /** Response elements for the audit record, secrets left out. */
  audit?: Record<string, unknown>;
}

/** One IAM or STS operation: the one catalog action it maps to, and its handler. */
export interface AwsOperation {
  action: Action;
  /**
   * Further catalog actions the operation's use case authorizes (as AWS asks for `iam:TagUser`
   * when CreateUser carries tags). The router hands `action` and these to the use case, and
   * `authorize` refuses any other action: the operation's declaration is the one source of truth.
   */
  alsoAuthorizes?: readonly Action[];
  handle(c: OperationContext): Promise<OperationOutcome>;
}

/** What every use case of an operation is given: who calls, the request, and their account. */
export function base(c: OperationContext) {
  return { actor: c.caller.actor, ctx: c.ctx, accountId: c.accountId };
}

/** IAM's name rule for users, roles, policies and MFA devices. */
export const NAME_PATTERN = /^[\w+=,.@-]+$/;
const NAME_PATTERN_TEXT = '[\\w+=,.@-]+';
/** IAM's path rule: `/` or `/…/`. */
export const PATH_PATTERN = /^(\u002F)|(\u002F[\u0021-\u007E]+\u002F)$/;

/** Reads a required IAM name parameter (pattern and length as the model states). */
export function readName(params: ReadonlyMap<string, string>, name: string, maxLength: number): string {
  return readString(params, name, {
    required: true,
    minLength: 1,
    maxLength,
    pattern: NAME_PATTERN,
    patternText: NAME_PATTERN_TEXT,
  });
}

/** Reads an optional IAM path (default `/`). */
export function readPath(params: ReadonlyMap<string, string>): string {
  const path = readString(params, 'Path', { minLength: 1, maxLength: 512 });
  if (path === undefined) return '/';
  if (!/^\/([\u0021-\u007E]*\/)?$/.test(path)) {
    throw validationError({
      name: 'Path',
      value: path,
      constraint:
        'Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
    });
  }
  return path;
}

/**
 * The user an operation is about: `UserName` when given, else the caller's own user. Role
 * sessions have no user of their own, so they must name one (as AWS answers them).
 */
export function userNameOrCaller(c: OperationContext): string {
  const given = readString(c.params, 'UserName', {
    minLength: 1,
    maxLength: 128,
    pattern: NAME_PATTERN,
    patternText: NAME_PATTERN_TEXT,
  });
  if (given !== undefined) return given;
  if (c.caller.role !== null) {
    throw validationError({
      name: 'UserName',
      value: '',
      constraint: 'Must specify userName when calling with non-User credentials',
    });
  }
  return c.caller.user.username;
}

/** The IAM `User` shape of a principal. */
export function userShape(principal: Principal): IamUserShape {
  return {
    path: '/',
    userName: principal.username,
    userId: principal.id,
    arn: userArn(principal.accountId, principal.username),
    createDate: principal.createdAt,
  };
}

/** The ARN a caller is known by: its user, or its assumed-role session. */
export function callerArn(caller: AwsCaller): string {
  if (caller.role !== null) {
    return assumedRoleArn(caller.role.accountId, caller.role.name, caller.temporary?.roleSessionName ?? '');
  }
  return userArn(caller.user.accountId, caller.user.username);
}

/**
 * One page of a list (IAM pagination: `Marker` in, `MaxItems` 1–1000 default 100,
 * `IsTruncated` and `Marker` out). The marker is an opaque base64url cursor.
 */
export function paginate<T>(
  params: ReadonlyMap<string, string>,
  items: readonly T[],
): { items: T[] } & PageShape {
  const maxItems = readInteger(params, 'MaxItems', { min: 1, max: 1000 }) ?? 100;
  const marker = readString(params, 'Marker', { minLength: 1, maxLength: 320 });
  let offset = 0;
  if (marker !== undefined) {
    const decoded = /^o([0-9]{1,9})$/.exec(Buffer.from(marker, 'base64url').toString('latin1'));
    if (decoded === null) throw invalidParameterValue({ name: 'Marker', value: marker });
    offset = Number(decoded[1]);
  }
  const page = items.slice(offset, offset + maxItems);
  const next = offset + page.length;
  const isTruncated = next < items.length;
  return {
    items: page,
    isTruncated,
    marker: isTruncated ? Buffer.from(`o${next}`, 'latin1').toString('base64url') : undefined,
  };
}
