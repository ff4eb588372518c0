/**
 * The STS (2011-06-15) operations Holdfast answers: GetSessionToken (with or without MFA),
 * AssumeRole (trust policy, MFA carried over or given now, an optional session policy),
 * GetCallerIdentity, GetAccessKeyInfo and DecodeAuthorizationMessage. Parameter rules
 * from the STS service model (shared/reference/aws-iam-sts.md §2).
 */

import { ACTIONS } from '../../app/actions.js';
import { callerArn, type AwsOperation, type OperationContext } from './operation.js';
import { missingParameter, readInteger, readString, readStructList } from './query.js';
import * as shapes from './shapes.js';
import { AwsError, xmlText } from './xml.js';

function readMfa(c: OperationContext): { serialNumber?: string; tokenCode?: string } {
  const serialNumber = readString(c.params, 'SerialNumber', {
    minLength: 9,
    maxLength: 256,
    pattern: /^[\w+=/:,.@-]*$/,
    patternText: '[\\w+=/:,.@-]*',
  });
  const tokenCode = readString(c.params, 'TokenCode', {
    minLength: 6,
    maxLength: 6,
    pattern: /^[0-9]*$/,
    patternText: '[\\d]*',
    sensitive: true,
  });
  return {
    ...(serialNumber === undefined ? {} : { serialNumber }),
    ...(tokenCode === undefined ? {} : { tokenCode }),
  };
}

/** The STS operations by wire name. */
export const STS_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
  GetSessionToken: {
    action: ACTIONS.GetSessionToken,
    async handle(c) {
      const durationSeconds = readInteger(c.params, 'DurationSeconds', { min: 900, max: 129_600 });
      const credentials = await c.app.getSessionToken({
        caller: c.caller,
        ctx: c.ctx,
        ...(durationSeconds === undefined ? {} : { durationSeconds }),
        ...readMfa(c),
      });
      return {
        result: shapes.getSessionTokenResult({ credentials }),
        audit: {
          credentials: {
            accessKeyId: credentials.accessKeyId,
            expiration: new Date(credentials.expiration).toISOString(),
          },
        },
      };
    },
  },
  AssumeRole: {
    action: ACTIONS.AssumeRole,
    async handle(c) {
      const roleArn = readString(c.params, 'RoleArn', { required: true, minLength: 20, maxLength: 2048 });
      const roleSessionName = readString(c.params, 'RoleSessionName', {
        required: true,
        minLength: 2,
        maxLength: 64,
        pattern: /^[\w+=,.@-]*$/,
        patternText: '[\\w+=,.@-]*',
      });
      const durationSeconds = readInteger(c.params, 'DurationSeconds', { min: 900, max: 43_200 });
      // A session policy (STS model: 1–2048 characters) narrows the role session; the rest is not kept yet.
      const policy = readString(c.params, 'Policy', {
        minLength: 1,
        maxLength: 2048,
        pattern: /^[\t\n\r\u0020-\u00FF]+$/,
        patternText: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
      });
      const policyArns = readStructList(c.params, 'PolicyArns', { fields: ['arn'], maxItems: 10 }).map(
        (m, i) => {
          if (m.arn === undefined) throw missingParameter(`PolicyArns.member.${i + 1}.arn`);
          return m.arn;
        },
      );
      const externalId = readString(c.params, 'ExternalId', {
        minLength: 2,
        maxLength: 1224,
        pattern: /^[\w+=,.@:/-]*$/,
        patternText: '[\\w+=,.@:\\/-]*',
      });
      for (const unsupported of ['Tags.member.1.Key', 'SourceIdentity']) {
        if (c.params.has(unsupported)) {
          // Refused rather than ignored: a caller asking for narrower credentials must not get broader ones.
          throw new AwsError(
            'ValidationError',
            `${unsupported.split('.')[0]} is not supported by this endpoint.`,
          );
        }
      }
      const assumed = await c.app.assumeRole({
        caller: c.caller,
        ctx: c.ctx,
        roleArn,
        roleSessionName,
        ...(durationSeconds === undefined ? {} : { durationSeconds }),
        ...(policy === undefined ? {} : { policy }),
        ...(policyArns.length === 0 ? {} : { policyArns }),
        ...(externalId === undefined ? {} : { externalId }),
        ...readMfa(c),
      });
      return {
        result: shapes.assumeRoleResult({
          credentials: assumed.credentials,
          assumedRoleId: assumed.assumedRoleId,
          assumedRoleArn: assumed.assumedRoleArn,
        }),
        audit: {
          credentials: {
            accessKeyId: assumed.credentials.accessKeyId,
            expiration: new Date(assumed.credentials.expiration).toISOString(),
          },
          assumedRoleUser: { assumedRoleId: assumed.assumedRoleId, arn: assumed.assumedRoleArn },
        },
      };
    },
  },
  GetAccessKeyInfo: {
    action: ACTIONS.GetAccessKeyInfo,
    async handle(c) {
      const accessKeyId = readString(c.params, 'AccessKeyId', {
        required: true,
        minLength: 16,
        maxLength: 128,
        pattern: /^[\w]*$/,
        patternText: '[\\w]*',
      });
      const { account } = await c.app.getAccessKeyInfo({
        actor: c.caller.actor,
        ctx: c.ctx,
        accountId: c.accountId,
        accessKeyId,
      });
      return { result: [xmlText('Account', account)] };
    },
  },
  DecodeAuthorizationMessage: {
    action: ACTIONS.DecodeAuthorizationMessage,
    async handle(c) {
      const encodedMessage = readString(c.params, 'EncodedMessage', {
        required: true,
        minLength: 1,
        maxLength: 10_240,
      });
      const decoded = await c.app.decodeAuthorizationMessage({
        actor: c.caller.actor,
        ctx: c.ctx,
        accountId: c.accountId,
        encodedMessage,
      });
      return { result: [xmlText('DecodedMessage', decoded)] };
    },
  },
  GetCallerIdentity: {
    action: ACTIONS.GetCallerIdentity,
    // No permission is needed and a Deny does not block it (STS model documentation).
    async handle(c) {
      const { caller } = c;
      const userId =
        caller.role !== null
          ? `${caller.role.id}:${caller.temporary?.roleSessionName ?? ''}`
          : caller.user.id;
      return {
        result: shapes.getCallerIdentityResult({
          userId,
          account: caller.user.accountId,
          arn: callerArn(caller),
        }),
      };
    },
  },
};
