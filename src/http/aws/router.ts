/**
 * The AWS-compatible Query API on the server's own port: `POST /` with a form-encoded body,
 * SigV4-signed, routed on the credential scope's service (`iam` or `sts`, any region), then on
 * `Action`. Each operation maps to one catalog action and calls the app layer; errors answer in
 * AWS's wire codes; every call, refused or not, leaves one `aws.call` audit record carrying what
 * a CloudTrail-shaped export needs (secrets redacted).
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkCredentialScope, type AwsCaller } from '../../app/aws/access-keys.js';
import { ACTIONS } from '../../app/actions.js';
import { virtualDeviceSerial } from '../../app/aws/mfa-devices.js';
import type { RequestContext } from '../../app/context.js';
import type { App } from '../../app/create-app.js';
import type { CallRecord } from '../../app/context.js';
import { writeAudit, type AuditFact } from '../../app/deps.js';
import type { Repositories } from '../../core/ports.js';
import { DenialExplanation } from '../../core/policy/denial.js';
import { ERROR_CODES, isHoldfastError, type HoldfastError } from '../../core/errors.js';
import { clientAddress } from '../plugins/session-auth.js';
import { IAM_OPERATIONS } from './iam-actions.js';
import { callerArn, type AwsOperation, type OperationOutcome } from './operation.js';
import { invalidAction, parseQueryRequest } from './query.js';
import { SigningKeyCache, SigV4Error, verifySigV4 } from './sigv4.js';
import { STS_OPERATIONS } from './sts-actions.js';
import { answerWebIdentityCall, isWebIdentityCall } from '../oidc/web-identity.js';
import {
  AWS_API_VERSION,
  AwsError,
  awsResponseHeaders,
  writeErrorResponse,
  writeSuccessResponse,
  type AwsErrorCode,
  type AwsService,
} from './xml.js';

/** Operations by service and wire name; each names exactly one catalog action. */
export const AWS_OPERATIONS: Readonly<Record<AwsService, Readonly<Record<string, AwsOperation>>>> = {
  iam: IAM_OPERATIONS,
  sts: STS_OPERATIONS,
};

/** CloudTrail's event source of each service. */
export const AWS_EVENT_SOURCES: Readonly<Record<AwsService, string>> = {
  iam: 'iam.amazonaws.com',
  sts: 'sts.amazonaws.com',
};

/** The largest Query request body (the server's limit, 64 KiB). */
const QUERY_BODY_LIMIT = 64 * 1024;

/** Request parameters never written to the audit log (CloudTrail hides them the same way). */
const SECRET_PARAMETERS = /^(Password|NewPassword|OldPassword|TokenCode|AuthenticationCode[12])$/;
const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS';

const MSG_INVALID_TOKEN = 'The security token included in the request is invalid.';
const MSG_MFA_INVALID_CODE = 'MultiFactorAuthentication failed with invalid MFA one time pass code.';
const MSG_MFA_UNKNOWN_SERIAL =
  'MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.';

/** The AWS wire code of each Holdfast error code the AWS face can meet (the rest: ServiceFailure). */
const AWS_CODE_OF: Readonly<Partial<Record<HoldfastError['code'], AwsErrorCode>>> = {
  REQUEST_INVALID: 'ValidationError',
  REQUEST_MALFORMED: 'InvalidParameterValue',
  STORAGE_UNAVAILABLE: 'ServiceUnavailable',
  STORAGE_FULL: 'ServiceUnavailable',
  STORAGE_READ_ONLY: 'ServiceUnavailable',
  AUTH_FORBIDDEN: 'AccessDenied',
  GUARDRAIL_DENIED: 'AccessDenied',
  MFA_STEP_UP_REQUIRED: 'AccessDenied',
  ENROLMENT_GRANT_REQUIRED: 'AccessDenied',
  ENROLMENT_GRANT_INVALID: 'AccessDenied',
  FACTOR_WRONG_SESSION: 'AccessDenied',
  FACTOR_ADMIN_PROVISIONED: 'AccessDenied',
  MFA_FAILED: 'AccessDenied',
  MFA_SUSPENDED: 'AccessDenied',
  AUTH_THROTTLED: 'Throttling',
  USER_NOT_FOUND: 'NoSuchEntity',
  USER_NAME_TAKEN: 'EntityAlreadyExists',
  USER_EMAIL_TAKEN: 'EntityAlreadyExists',
  USER_LAST_OWNER: 'DeleteConflict',
  ACCOUNT_NOT_FOUND: 'NoSuchEntity',
  FACTOR_NOT_FOUND: 'NoSuchEntity',
  FACTOR_PENDING_EXPIRED: 'NoSuchEntity',
  FACTOR_NAME_TAKEN: 'EntityAlreadyExists',
  FACTOR_NOT_PENDING: 'EntityAlreadyExists',
  FACTOR_LIMIT_REACHED: 'LimitExceeded',
  FACTOR_CODE_INVALID: 'InvalidAuthenticationCode',
  HARDWARE_TOKEN_NOT_FOUND: 'NoSuchEntity',
  HARDWARE_TOKEN_UNAVAILABLE: 'EntityAlreadyExists',
  PASSWORD_TOO_SHORT: 'PasswordPolicyViolation',
  PASSWORD_TOO_LONG: 'PasswordPolicyViolation',
  PASSWORD_TOO_COMMON: 'PasswordPolicyViolation',
  POLICY_NOT_FOUND: 'NoSuchEntity',
  POLICY_ALREADY_EXISTS: 'EntityAlreadyExists',
  POLICY_LIMIT_REACHED: 'LimitExceeded',
  POLICY_IN_USE: 'DeleteConflict',
  POLICY_LINT_FAILED: 'MalformedPolicyDocument',
  POLICY_MALFORMED: 'MalformedPolicyDocument',
  POLICY_TOO_LARGE: 'MalformedPolicyDocument',
  POLICY_UNSUPPORTED_OPERATOR: 'MalformedPolicyDocument',
  POLICY_CONDITION_VALUE_INVALID: 'MalformedPolicyDocument',
  AWS_ACCESS_KEY_NOT_FOUND: 'NoSuchEntity',
  AWS_ACCESS_KEY_LIMIT_REACHED: 'LimitExceeded',
  AWS_DURATION_INVALID: 'ValidationError',
  AWS_USER_DELETE_CONFLICT: 'DeleteConflict',
  AWS_LOGIN_PROFILE_EXISTS: 'EntityAlreadyExists',
  AWS_ROLE_NOT_FOUND: 'NoSuchEntity',
  AWS_ROLE_ALREADY_EXISTS: 'EntityAlreadyExists',
  AWS_MFA_DEVICE_ALREADY_EXISTS: 'EntityAlreadyExists',
  AWS_MFA_DEVICE_IN_USE: 'DeleteConflict',
  AWS_ROLE_DELETE_CONFLICT: 'DeleteConflict',
  AWS_AUTHORIZATION_MESSAGE_INVALID: 'InvalidAuthorizationMessageException',
  GROUP_NOT_FOUND: 'NoSuchEntity',
  GROUP_ALREADY_EXISTS: 'EntityAlreadyExists',
  IAM_POLICY_DOCUMENT_INVALID: 'MalformedPolicyDocument',
  IAM_POLICY_VERSION_NOT_FOUND: 'NoSuchEntity',
  IAM_POLICY_VERSION_LIMIT: 'LimitExceeded',
  IAM_POLICY_VERSION_IS_DEFAULT: 'DeleteConflict',
  IAM_POLICY_HAS_VERSIONS: 'DeleteConflict',
  IAM_TAG_INVALID: 'ValidationError',
  IAM_TAG_DUPLICATE: 'InvalidInput',
  IAM_TAG_LIMIT: 'LimitExceeded',
  IAM_GROUP_NOT_EMPTY: 'DeleteConflict',
  IAM_PASSWORD_POLICY_NOT_FOUND: 'NoSuchEntity',
  IAM_LOGIN_PROFILE_NOT_FOUND: 'NoSuchEntity',
  IAM_ACCOUNT_ALIAS_NOT_FOUND: 'NoSuchEntity',
  IAM_ACCOUNT_ALIAS_REQUIRED: 'DeleteConflict',
  IAM_OIDC_PROVIDER_NOT_FOUND: 'NoSuchEntity',
  IAM_OIDC_PROVIDER_EXISTS: 'EntityAlreadyExists',
  IAM_OIDC_PROVIDER_LIMIT: 'LimitExceeded',
  IAM_OIDC_PROVIDER_INVALID: 'InvalidInput',
  ACCOUNT_NAME_TAKEN: 'EntityAlreadyExists',
  PASSWORD_MISMATCH: 'AccessDenied',
};

/**
 * Translates an app-layer error into an AWS error. Authorization refusals become `AccessDenied`
 * with AWS's "User: ARN is not authorized to perform: ACTION" prefix (aws-vault parses it) and
 * the guardrail that refused, when one did.
 */
export function toAwsError(
  err: unknown,
  input: {
    caller: AwsCaller | null;
    action: string;
    service: AwsService | undefined;
    params?: ReadonlyMap<string, string> | null;
  },
): AwsError {
  if (err instanceof AwsError) return err;
  if (!isHoldfastError(err))
    return new AwsError('ServiceFailure', 'The request processing has failed because of an unknown error.');
  const code = err.code;
  const who = input.caller === null ? 'The caller' : `User: ${callerArn(input.caller)}`;
  switch (code) {
    case 'AWS_SESSION_CREDENTIALS_REFUSED':
      return err.details?.reason === 'iam-without-mfa'
        ? new AwsError('InvalidClientTokenId', MSG_INVALID_TOKEN)
        : new AwsError('AccessDenied', 'Cannot call GetSessionToken with session credentials');
    case 'MFA_FAILED':
      return new AwsError(
        'AccessDenied',
        err.details?.serialUnknown === true ? MSG_MFA_UNKNOWN_SERIAL : MSG_MFA_INVALID_CODE,
      );
    case 'MFA_SUSPENDED':
      return new AwsError(
        'AccessDenied',
        `${MSG_MFA_INVALID_CODE} Second-factor checks are suspended for this user.`,
      );
    case 'AUTH_FORBIDDEN':
    case 'GUARDRAIL_DENIED':
    case 'MFA_STEP_UP_REQUIRED':
    case 'ENROLMENT_GRANT_REQUIRED':
    case 'ENROLMENT_GRANT_INVALID':
    case 'FACTOR_WRONG_SESSION':
    case 'FACTOR_ADMIN_PROVISIONED': {
      const guardrail = typeof err.details?.guardrail === 'string' ? err.details.guardrail : null;
      const reason = guardrail !== null ? err.message.replace(/^G[0-9]: /, '') : null;
      const because =
        guardrail !== null
          ? ` because it was denied by guardrail ${guardrail}: ${reason}`
          : code === 'AUTH_FORBIDDEN'
            ? err.details?.decision === 'ExplicitDeny'
              ? ' with an explicit deny in an identity-based policy'
              : ` because no identity-based policy allows the ${input.action} action`
            : `: ${err.message}`;
      return new AwsError('AccessDenied', `${who} is not authorized to perform: ${input.action}${because}`);
    }
  }
  const aws = AWS_CODE_OF[code];
  if (aws === undefined) {
    return new AwsError('ServiceFailure', 'The request processing has failed because of an unknown error.');
  }
  // Holdfast's policy messages start with the finding's code (`POLICY_MALFORMED: …`); AWS
  // clients get the reason alone.
  return new AwsError(
    aws,
    awsWording(err, input.params ?? null) ?? err.message.replace(/^[A-Z][A-Z0-9_]+: /, ''),
  );
}

/**
 * IAM's own wording for "not found" and "already exists", naming the entity the request named,
 * where the use case answered with the code's generic text.
 */
function awsWording(err: HoldfastError, params: ReadonlyMap<string, string> | null): string | null {
  if (params === null || err.message !== ERROR_CODES[err.code]) return null;
  const user = params.get('UserName');
  const group = params.get('GroupName');
  const policyArn = params.get('PolicyArn');
  switch (err.code) {
    case 'USER_NOT_FOUND':
      return user === undefined ? null : `The user with name ${user} cannot be found.`;
    case 'USER_NAME_TAKEN':
      return user === undefined ? null : `User with name ${user} already exists.`;
    case 'GROUP_NOT_FOUND':
      return group === undefined ? null : `The group with name ${group} cannot be found.`;
    case 'GROUP_ALREADY_EXISTS':
      return group === undefined ? null : `Group with name ${group} already exists.`;
    case 'POLICY_NOT_FOUND':
      return policyArn === undefined ? null : `Policy ${policyArn} does not exist or is not attachable.`;
    default:
      return null;
  }
}

function headerText(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return (Array.isArray(value) ? value.join(',') : value).slice(0, 512);
}

/** Request parameters as the audit record keeps them (secrets hidden, long values cut). */
function auditableParameters(params: ReadonlyMap<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of params) {
    out[key] = SECRET_PARAMETERS.test(key)
      ? HIDDEN
      : value.length > 2048
        ? `${value.slice(0, 2048)}...`
        : value;
  }
  return out;
}

/** Facts of one call for its audit record. */
interface CallFacts {
  service: AwsService | undefined;
  operation: string | null;
  caller: AwsCaller | null;
  accountId: string | null;
  accessKeyId: string | null;
  region: string | null;
  params: ReadonlyMap<string, string> | null;
}

/** The `aws.call` record of a call, in the caller's words. */
function callFact(
  facts: CallFacts,
  outcome: { error: AwsError | null; detail?: string; response?: Record<string, unknown> | undefined },
): AuditFact {
  const { caller } = facts;
  const temporary = caller?.temporary ?? null;
  return {
    accountId: facts.accountId,
    action: 'aws.call',
    target: facts.operation,
    outcome: outcome.error === null ? 'success' : 'failure',
    errorCode: outcome.error?.code ?? null,
    details: {
      eventSource: facts.service === undefined ? null : AWS_EVENT_SOURCES[facts.service],
      eventName: facts.operation,
      awsRegion: facts.region,
      accessKeyId: facts.accessKeyId,
      identityType: caller === null ? null : caller.role !== null ? 'AssumedRole' : 'IAMUser',
      identityArn: caller === null ? null : callerArn(caller),
      credentialKind: caller?.kind ?? null,
      mfaAuthenticated: temporary?.mfa !== null && temporary !== null,
      sessionCreatedAt: temporary === null ? null : new Date(temporary.createdAt).toISOString(),
      requestParameters: facts.params === null ? null : JSON.stringify(auditableParameters(facts.params)),
      responseElements: outcome.response === undefined ? null : JSON.stringify(outcome.response),
      errorMessage: outcome.error?.message ?? null,
      ...(outcome.detail === undefined ? {} : { reason: outcome.detail }),
      ...(outcome.error !== null && outcome.error.code === 'AccessDenied' ? { security: true } : {}),
    },
  };
}

/** Writes a call's record in a transaction of its own (read-only calls and refusals). */
async function auditCall(
  app: App,
  ctx: RequestContext,
  facts: CallFacts,
  outcome: {
    error: AwsError | null;
    detail?: string;
    response?: Record<string, unknown> | undefined;
    /** The signature was not verified: anyone can send such a request again and again. */
    unverified?: boolean;
  },
): Promise<void> {
  const { call: _call, ...own } = ctx;
  const input = { actor: facts.caller?.actor ?? null, ctx: own, fact: callFact(facts, outcome) };
  // Refusals of requests nobody authenticated are counted per source and reason rather than
  // written one row each.
  await app.recordAwsCall({ ...input, unverified: outcome.unverified === true && outcome.error !== null });
}

const iso = (ms: number) => new Date(ms).toISOString();
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * The response elements of a mutating call, from the record of the change it made (the call's
 * record is written in the change's transaction, before the handler has the use case's answer).
 * Secrets never appear: only identifiers, as CloudTrail shows them.
 */
const RESPONSE_FROM_CHANGE: Readonly<
  Record<
    string,
    (input: {
      params: ReadonlyMap<string, string>;
      caller: AwsCaller;
      accountId: string;
      fact: { target: string | null; details?: Record<string, unknown> };
      now: number;
    }) => Record<string, unknown>
  >
> = {
  CreateUser: ({ params, fact }) => ({ user: { userName: params.get('UserName'), userId: fact.target } }),
  CreateLoginProfile: ({ params, caller }) => ({
    loginProfile: { userName: params.get('UserName') ?? caller.user.username },
  }),
  CreateAccessKey: ({ params, caller, fact, now }) => ({
    accessKey: {
      userName: params.get('UserName') ?? caller.user.username,
      accessKeyId: text(fact.details?.accessKeyId),
      status: 'Active',
      createDate: iso(now),
    },
  }),
  CreateVirtualMFADevice: ({ params, accountId }) => ({
    virtualMFADevice: {
      serialNumber: virtualDeviceSerial(
        accountId,
        params.get('Path') ?? '/',
        params.get('VirtualMFADeviceName') ?? '',
      ),
    },
  }),
  CreatePolicy: ({ params, fact }) => ({
    policy: { policyName: params.get('PolicyName'), arn: fact.target },
  }),
  CreateRole: ({ params, fact }) => ({
    role: { roleName: params.get('RoleName'), roleId: text(fact.details?.roleId), arn: fact.target },
  }),
  GetSessionToken: ({ fact, now }) => ({
    credentials: {
      accessKeyId: text(fact.details?.accessKeyId),
      expiration: iso(now + Number(fact.details?.durationSeconds ?? 43_200) * 1000),
    },
  }),
  AssumeRole: ({ params, fact, accountId }) => {
    const roleName = (fact.target ?? '').split('/').at(-1) ?? '';
    const sessionName = text(fact.details?.sessionName) ?? params.get('RoleSessionName') ?? '';
    return {
      credentials: { accessKeyId: text(fact.details?.accessKeyId) },
      assumedRoleUser: { arn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}` },
    };
  },
};

/**
 * The call's record, for the use case to append in the transaction of the change it makes
 * (docs/aws-api.md: a change and the record of the call that made it commit together). Once
 * per transaction; `appended` says whether any transaction took it.
 */
function callRecorder(
  app: App,
  ctx: RequestContext,
  facts: CallFacts,
  caller: AwsCaller,
): CallRecord & { appended: boolean } {
  const taken = new WeakSet<Repositories>();
  const recorder = {
    appended: false,
    async appendWithChange(
      tx: Repositories,
      change: { target: string | null; details?: Record<string, unknown> },
    ): Promise<void> {
      if (taken.has(tx)) return;
      taken.add(tx);
      recorder.appended = true;
      const respond = facts.operation === null ? undefined : RESPONSE_FROM_CHANGE[facts.operation];
      const response =
        respond === undefined || facts.params === null
          ? undefined
          : respond({
              params: facts.params,
              caller,
              accountId: caller.user.accountId,
              fact: change,
              now: app.deps.clock.now(),
            });
      const { call: _call, ...own } = ctx;
      await writeAudit(app.deps, tx, {
        actor: caller.actor,
        ctx: own,
        fact: callFact(facts, { error: null, response }),
      });
    },
  };
  return recorder;
}

/** Registers `POST /` (the IAM and STS Query API) in its own scope, with a raw-body parser. */
export async function registerAwsQueryApi(server: FastifyInstance, app: App): Promise<void> {
  const cache = new SigningKeyCache();
  await server.register(async (scope) => {
    // SigV4 covers the raw bytes: keep them unparsed (only in this scope; 64 KiB as everywhere).
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer', bodyLimit: QUERY_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      '/',
      { config: { action: ACTIONS.AwsQuery, auth: 'sigv4' }, schema: { hide: true } },
      (request, reply) => handleQuery(app, cache, request, reply),
    );
  });
}

/**
 * An authorization refusal's AccessDenied carries AWS's "Encoded authorization failure message":
 * the refusal's reasons sealed for the caller's account, readable through STS
 * DecodeAuthorizationMessage by a caller allowed to.
 */
function withEncodedMessage(app: App, err: unknown, error: AwsError, caller: AwsCaller | null): AwsError {
  if (error.code !== 'AccessDenied' || caller === null || !isHoldfastError(err)) return error;
  if (!(err.cause instanceof DenialExplanation)) return error;
  const encoded = app.encodeAuthorizationMessage({ caller, explanation: err.cause });
  return new AwsError('AccessDenied', `${error.message}. Encoded authorization failure message: ${encoded}`);
}

async function handleQuery(app: App, cache: SigningKeyCache, request: FastifyRequest, reply: FastifyReply) {
  const now = app.deps.clock.now();
  const requestId = request.id;
  const ctx: RequestContext = {
    requestId,
    sourceIp: clientAddress(request),
    userAgent: headerText(request.headers['user-agent']),
  };
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const rawUrl = request.raw.url ?? '/';
  const q = rawUrl.indexOf('?');
  const facts: CallFacts = {
    service: undefined,
    operation: null,
    caller: null,
    accountId: null,
    accessKeyId: null,
    region: null,
    params: null,
  };
  let catalogAction: string = ACTIONS.AwsQuery;
  let verifiedSignature = false;
  const send = (status: number, xml: string) =>
    reply
      .status(status)
      .headers(awsResponseHeaders({ requestId, now: app.deps.clock.now() }))
      .send(xml);
  // STS AssumeRoleWithWebIdentity is unsigned, as at AWS: the ID token is the credential.
  if (isWebIdentityCall(request, body)) {
    const answer = await answerWebIdentityCall({ app, ctx, body });
    return send(answer.status, answer.xml);
  }
  try {
    const verified = await verifySigV4({
      request: {
        method: request.method,
        path: q < 0 ? rawUrl : rawUrl.slice(0, q),
        query: q < 0 ? undefined : rawUrl.slice(q + 1),
        headers: request.headers,
        body,
      },
      now,
      cache,
      lookup: async (accessKeyId, lookupContext) => {
        facts.accessKeyId = accessKeyId;
        const found = await app.resolveAccessKey({
          accessKeyId,
          securityToken: lookupContext.securityToken,
          service: lookupContext.service,
        });
        if (found.status !== 'ok') {
          facts.accountId = found.accountId;
          if (found.status === 'expired') {
            throw new AwsError('ExpiredToken', 'The security token included in the request is expired');
          }
          return null;
        }
        facts.caller = found.caller;
        facts.accountId = found.caller.user.accountId;
        return { secretAccessKey: found.secretAccessKey, caller: found.caller };
      },
    });
    verifiedSignature = true;
    const service = verified.service as AwsService;
    facts.service = service;
    facts.region = verified.region;
    const caller = verified.credential.caller;
    const parsed = parseQueryRequest(body);
    facts.operation = parsed.action;
    facts.params = parsed.params;
    const operation = Object.hasOwn(AWS_OPERATIONS[service], parsed.action)
      ? AWS_OPERATIONS[service][parsed.action]
      : undefined;
    if (operation === undefined || parsed.version !== AWS_API_VERSION[service]) {
      throw invalidAction({ action: parsed.action, version: parsed.version });
    }
    catalogAction = operation.action;
    checkCredentialScope(caller, { service, operation: parsed.action });
    const recorder = callRecorder(app, ctx, facts, caller);
    const outcome: OperationOutcome = await operation.handle({
      app,
      caller,
      ctx: {
        ...ctx,
        call: recorder,
        declaredActions: [operation.action, ...(operation.alsoAuthorizes ?? [])],
      },
      params: parsed.params,
      accountId: caller.user.accountId,
    });
    // A change already committed its call's record with it; a read-only call writes its own now.
    if (!recorder.appended) await auditCall(app, ctx, facts, { error: null, response: outcome.audit });
    return send(
      200,
      writeSuccessResponse({ service, action: parsed.action, requestId, result: outcome.result }),
    );
  } catch (err) {
    const plain = toAwsError(err, {
      caller: facts.caller,
      action: catalogAction,
      service: facts.service,
      params: facts.params,
    });
    const error = withEncodedMessage(app, err, plain, facts.caller);
    if (error.code === 'ServiceFailure') request.log.error({ err }, 'AWS query failed');
    // The refusal's record survives on its own (its own transaction); a failed audit write
    // must not hide the answer.
    await auditCall(app, ctx, facts, {
      error,
      unverified: !verifiedSignature,
      ...(err instanceof SigV4Error ? { detail: err.reason } : {}),
      ...(isHoldfastError(err) ? { detail: err.code } : {}),
    }).catch((auditErr: unknown) => request.log.error({ err: auditErr }, 'audit write failed'));
    return send(
      error.status,
      writeErrorResponse({ service: facts.service, code: error.code, message: error.message, requestId }),
    );
  }
}
