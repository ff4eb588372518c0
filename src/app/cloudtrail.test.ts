import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../core/audit/event.js';
import { cloudTrailRecordJSON } from './cloudtrail.js';

const base: AuditRecord = {
  seq: 7,
  eventId: 'evt_1',
  time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  prevHash: 'p',
  hash: 'h',
  accountId: '123456789012',
  actorType: 'principal',
  actorId: 'AIDAEXAMPLE',
  action: 'aws.call',
  target: 'GetSessionToken',
  sourceIp: '192.0.2.1',
  userAgent: 'aws-cli/2.9',
  outcome: 'success',
  errorCode: null,
  details: {
    requestId: 'req-1',
    eventSource: 'sts.amazonaws.com',
    eventName: 'GetSessionToken',
    awsRegion: 'eu-west-1',
    accessKeyId: 'ASIAEXAMPLE',
    identityType: 'IAMUser',
    identityArn: 'arn:aws:iam::123456789012:user/alice',
    credentialKind: 'temporary',
    mfaAuthenticated: true,
    sessionCreatedAt: '2026-01-02T03:00:00.000Z',
    requestParameters: JSON.stringify({
      SerialNumber: 'arn:aws:iam::123456789012:mfa/alice',
      TokenCode: '123456',
    }),
    responseElements: JSON.stringify({ credentials: { accessKeyId: 'ASIANEW', secretAccessKey: 'leak' } }),
    errorMessage: null,
  },
};

describe('cloudTrailRecordJSON', () => {
  it('shapes an AWS call as a CloudTrail AwsApiCall event', () => {
    const r = cloudTrailRecordJSON(base);
    expect(r).toMatchObject({
      eventVersion: '1.08',
      eventTime: '2026-01-02T03:04:05Z',
      eventSource: 'sts.amazonaws.com',
      eventName: 'GetSessionToken',
      awsRegion: 'eu-west-1',
      eventType: 'AwsApiCall',
      requestID: 'req-1',
      eventID: 'evt_1',
      sourceIPAddress: '192.0.2.1',
      userIdentity: {
        type: 'IAMUser',
        arn: 'arn:aws:iam::123456789012:user/alice',
        accountId: '123456789012',
        accessKeyId: 'ASIAEXAMPLE',
        sessionContext: {
          attributes: { mfaAuthenticated: 'true', creationDate: '2026-01-02T03:00:00.000Z' },
        },
      },
      additionalEventData: { seq: 7, hash: 'h' },
    });
  });

  it('hides secret-looking fields even if a record carried one', () => {
    const r = cloudTrailRecordJSON(base) as {
      requestParameters: Record<string, unknown>;
      responseElements: { credentials: Record<string, unknown> };
    };
    expect(r.requestParameters.TokenCode).toBe('HIDDEN_DUE_TO_SECURITY_REASONS');
    expect(r.responseElements.credentials.secretAccessKey).toBe('HIDDEN_DUE_TO_SECURITY_REASONS');
    expect(JSON.stringify(r)).not.toContain('leak');
  });

  it('gives Holdfast events their own source and no MFA session context for long-term keys', () => {
    const r = cloudTrailRecordJSON({
      ...base,
      action: 'factor.enable',
      outcome: 'failure',
      errorCode: 'FACTOR_CODE_INVALID',
      details: { requestId: 'req-2', reason: 'mismatch' },
    });
    expect(r).toMatchObject({
      eventSource: 'holdfast',
      eventName: 'factor.enable',
      eventType: 'HoldfastEvent',
      errorCode: 'FACTOR_CODE_INVALID',
      requestParameters: null,
    });
    expect((r.userIdentity as Record<string, unknown>).sessionContext).toBeUndefined();
  });
});
