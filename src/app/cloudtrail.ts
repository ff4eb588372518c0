/**
 * The audit log in the shape of AWS CloudTrail records (CloudTrail User Guide, "CloudTrail
 * record contents"), for tools that already read CloudTrail. Calls of the AWS-compatible API
 * (`aws.call` records) become `AwsApiCall` events of `iam.amazonaws.com` / `sts.amazonaws.com`
 * with the signer's identity, access key id and whether the session was MFA-authenticated;
 * every other record becomes a `HoldfastEvent` of the source `holdfast`. Records of one request
 * share its `requestID`. Secret values are never in the log; the export hides any field named
 * like one all the same.
 */

import type { AuditRecord } from '../core/audit/event.js';

/** CloudTrail's record format version this export follows. */
export const CLOUDTRAIL_EVENT_VERSION = '1.08';
/** The event source of Holdfast's own (non-AWS) events. */
export const HOLDFAST_EVENT_SOURCE = 'holdfast';

const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS';
const SECRET_FIELD = /secret|password|sessiontoken|tokencode|authenticationcode|seed|qrcode/i;

/** Hides secret-looking fields at any depth. */
function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        SECRET_FIELD.test(k) ? HIDDEN : redact(v),
      ]),
    );
  }
  return value;
}

function parsed(text: unknown): unknown {
  if (typeof text !== 'string') return null;
  try {
    return redact(JSON.parse(text));
  } catch {
    return null;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** CloudTrail's time format: ISO 8601 in UTC without milliseconds. */
function eventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.[0-9]{3}Z$/, 'Z');
}

/** One audit record as a CloudTrail event. */
export function cloudTrailRecordJSON(record: AuditRecord): Record<string, unknown> {
  const d = record.details;
  const isAwsCall = record.action === 'aws.call';
  const credentialKind = text(d.credentialKind);
  const identityType =
    text(d.identityType) ??
    (record.actorType === 'principal'
      ? 'IAMUser'
      : record.actorType === 'operator'
        ? 'HoldfastOperator'
        : 'Unknown');
  const userIdentity: Record<string, unknown> = {
    type: identityType,
    ...(record.actorId === null ? {} : { principalId: record.actorId }),
    ...(text(d.identityArn) === undefined ? {} : { arn: d.identityArn }),
    ...(record.accountId === null ? {} : { accountId: record.accountId }),
    ...(text(d.accessKeyId) === undefined ? {} : { accessKeyId: d.accessKeyId }),
  };
  if (credentialKind === 'temporary') {
    userIdentity.sessionContext = {
      attributes: {
        mfaAuthenticated: d.mfaAuthenticated === true ? 'true' : 'false',
        ...(text(d.sessionCreatedAt) === undefined ? {} : { creationDate: d.sessionCreatedAt }),
      },
    };
  }
  const additional: Record<string, unknown> = {
    holdfastAction: record.action,
    outcome: record.outcome,
    seq: record.seq,
    hash: record.hash,
    ...(record.target === null ? {} : { target: record.target }),
  };
  if (!isAwsCall) additional.details = redact(d);
  return {
    eventVersion: CLOUDTRAIL_EVENT_VERSION,
    eventTime: eventTime(record.time),
    eventSource: text(d.eventSource) ?? HOLDFAST_EVENT_SOURCE,
    eventName: (isAwsCall ? text(d.eventName) : undefined) ?? record.action,
    awsRegion: text(d.awsRegion) ?? 'us-east-1',
    userIdentity,
    sourceIPAddress: record.sourceIp,
    userAgent: record.userAgent,
    requestParameters: isAwsCall ? parsed(d.requestParameters) : null,
    responseElements: isAwsCall ? parsed(d.responseElements) : null,
    ...(record.errorCode === null ? {} : { errorCode: record.errorCode }),
    ...(text(d.errorMessage) === undefined ? {} : { errorMessage: d.errorMessage }),
    requestID: text(d.requestId) ?? null,
    eventID: record.eventId,
    readOnly: isAwsCall ? /^(Get|List)/.test(text(d.eventName) ?? '') : undefined,
    eventType: isAwsCall ? 'AwsApiCall' : 'HoldfastEvent',
    managementEvent: true,
    recipientAccountId: record.accountId,
    additionalEventData: additional,
  };
}
