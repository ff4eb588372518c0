/**
 * The IAM (2010-05-08) operations Holdfast answers, each mapped to exactly one catalog action
 * and served by the app layer's use cases (the same rules as the JSON API and the CLI).
 * Parameter rules come from the IAM service model (shared/reference/aws-iam-sts.md §1).
 */

import { ACTIONS } from '../../app/actions.js';
import { iamDocumentFault } from '../../core/policy/iam-document-rules.js';
import { MAX_POLICY_TEXT } from '../../core/policy/parse-policy.js';
import { ASSIGNMENT_STATUSES, type AssignmentStatus } from './shapes.js';
import * as shapes from './shapes.js';
import {
  base,
  paginate,
  readName,
  readPath,
  userNameOrCaller,
  userShape,
  type AwsOperation,
  type OperationContext,
} from './operation.js';
import { readBoolean, readEnum, readString } from './query.js';
import { IAM_ROLE_OPERATIONS } from './iam-role-actions.js';
import { IAM_ACCOUNT_OPERATIONS } from './iam-account-actions.js';
import { IAM_OIDC_PROVIDER_OPERATIONS } from './iam-oidc-provider-actions.js';
import { IAM_GROUP_OPERATIONS } from './iam-group-actions.js';
import { IAM_POLICY_OPERATIONS } from './iam-policy-actions.js';
import { IAM_SIMULATION_OPERATIONS } from './iam-simulation-actions.js';
import { IAM_USER_OPERATIONS } from './iam-user-actions.js';
import { AwsError } from './xml.js';

const SIX_DIGITS = {
  required: true,
  minLength: 6,
  maxLength: 6,
  pattern: /^[0-9]+$/,
  patternText: '[\\d]+',
  sensitive: true,
} as const;
const SERIAL = {
  required: true,
  minLength: 9,
  maxLength: 256,
  pattern: /^[\w+=/:,.@-]+$/,
  patternText: '[\\w+=/:,.@-]+',
} as const;

function codes(c: OperationContext): [string, string] {
  return [
    readString(c.params, 'AuthenticationCode1', SIX_DIGITS),
    readString(c.params, 'AuthenticationCode2', SIX_DIGITS),
  ];
}

function readPolicyDocument(c: OperationContext, name: string): string {
  return readString(c.params, name, {
    required: true,
    minLength: 1,
    maxLength: MAX_POLICY_TEXT,
    pattern: /^[\t\n\r\u0020-\u00FF]+$/,
    patternText: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
  });
}

function readPolicyArn(c: OperationContext): string {
  return readString(c.params, 'PolicyArn', { required: true, minLength: 20, maxLength: 2048 });
}

/** The IAM operations by wire name. */
export const IAM_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
  DeleteUser: {
    action: ACTIONS.DeleteUser,
    async handle(c) {
      await c.app.deleteUser({ ...base(c), userRef: readName(c.params, 'UserName', 128) });
      return { result: shapes.deleteUserResult() };
    },
  },
  CreateLoginProfile: {
    action: ACTIONS.CreateLoginProfile,
    async handle(c) {
      const password = readString(c.params, 'Password', {
        required: true,
        minLength: 1,
        maxLength: 128,
        sensitive: true,
      });
      const passwordResetRequired = readBoolean(c.params, 'PasswordResetRequired');
      const { user, createdAt } = await c.app.createLoginProfile({
        ...base(c),
        userRef: userNameOrCaller(c),
        password,
      });
      return {
        result: shapes.createLoginProfileResult({
          userName: user.username,
          createDate: createdAt,
          passwordResetRequired: passwordResetRequired ?? false,
        }),
        audit: { loginProfile: { userName: user.username } },
      };
    },
  },
  CreateAccessKey: {
    action: ACTIONS.CreateAccessKey,
    async handle(c) {
      const created = await c.app.createAccessKey({ ...base(c), userRef: userNameOrCaller(c) });
      const metadata = {
        userName: created.user.username,
        accessKeyId: created.key.id,
        status: created.key.status,
        createDate: created.key.createdAt,
      };
      return {
        result: shapes.createAccessKeyResult({ ...metadata, secretAccessKey: created.secretAccessKey }),
        audit: { accessKey: { ...metadata, createDate: new Date(metadata.createDate).toISOString() } },
      };
    },
  },
  ListAccessKeys: {
    action: ACTIONS.ListAccessKeys,
    async handle(c) {
      const keys = await c.app.listAccessKeys({ ...base(c), userRef: userNameOrCaller(c) });
      const page = paginate(c.params, keys);
      return {
        result: shapes.listAccessKeysResult({
          ...page,
          accessKeys: page.items.map(({ key, user }) => ({
            userName: user.username,
            accessKeyId: key.id,
            status: key.status,
            createDate: key.createdAt,
          })),
        }),
      };
    },
  },
  UpdateAccessKey: {
    action: ACTIONS.UpdateAccessKey,
    async handle(c) {
      const accessKeyId = readString(c.params, 'AccessKeyId', {
        required: true,
        minLength: 16,
        maxLength: 128,
        pattern: /^\w+$/,
      });
      const status = readEnum(c.params, 'Status', {
        values: ['Active', 'Inactive'] as const,
        required: true,
      })!;
      await c.app.updateAccessKey({ ...base(c), userRef: userNameOrCaller(c), accessKeyId, status });
      return { result: shapes.updateAccessKeyResult() };
    },
  },
  DeleteAccessKey: {
    action: ACTIONS.DeleteAccessKey,
    async handle(c) {
      const accessKeyId = readString(c.params, 'AccessKeyId', {
        required: true,
        minLength: 16,
        maxLength: 128,
        pattern: /^\w+$/,
      });
      await c.app.deleteAccessKey({ ...base(c), userRef: userNameOrCaller(c), accessKeyId });
      return { result: shapes.deleteAccessKeyResult() };
    },
  },
  CreateVirtualMFADevice: {
    action: ACTIONS.CreateVirtualMFADevice,
    async handle(c) {
      // Factor names are at most 64 characters; IAM allows longer device names.
      const name = readName(c.params, 'VirtualMFADeviceName', 64);
      const path = readPath(c.params);
      if (c.caller.role !== null)
        throw new AwsError('AccessDenied', 'A role session has no IAM user to own an MFA device.');
      const device = await c.app.createVirtualMFADevice({ actor: c.caller.actor, ctx: c.ctx, name, path });
      return {
        result: shapes.createVirtualMFADeviceResult({
          serialNumber: device.serialNumber,
          base32StringSeed: device.secretBase32,
          qrCodePNG: device.qrCodePng,
        }),
        audit: { virtualMFADevice: { serialNumber: device.serialNumber } },
      };
    },
  },
  EnableMFADevice: {
    action: ACTIONS.EnableMFADevice,
    async handle(c) {
      const userRef = readName(c.params, 'UserName', 128);
      const serialNumber = readString(c.params, 'SerialNumber', SERIAL);
      await c.app.enableMFADevice({ ...base(c), userRef, serialNumber, codes: codes(c) });
      return { result: shapes.enableMFADeviceResult() };
    },
  },
  ResyncMFADevice: {
    action: ACTIONS.ResyncMFADevice,
    async handle(c) {
      const userRef = readName(c.params, 'UserName', 128);
      const serialNumber = readString(c.params, 'SerialNumber', SERIAL);
      await c.app.resyncMFADevice({
        actor: c.caller.actor,
        ctx: c.ctx,
        userRef,
        serialNumber,
        codes: codes(c),
      });
      return { result: shapes.resyncMFADeviceResult() };
    },
  },
  DeactivateMFADevice: {
    action: ACTIONS.DeactivateMFADevice,
    async handle(c) {
      const serialNumber = readString(c.params, 'SerialNumber', SERIAL);
      await c.app.deactivateMFADevice({ ...base(c), userRef: userNameOrCaller(c), serialNumber });
      return { result: shapes.deactivateMFADeviceResult() };
    },
  },
  DeleteVirtualMFADevice: {
    action: ACTIONS.DeleteVirtualMFADevice,
    async handle(c) {
      const serialNumber = readString(c.params, 'SerialNumber', SERIAL);
      await c.app.deleteVirtualMFADevice({ actor: c.caller.actor, ctx: c.ctx, serialNumber });
      return { result: shapes.deleteVirtualMFADeviceResult() };
    },
  },
  ListMFADevices: {
    action: ACTIONS.ListMFADevices,
    async handle(c) {
      const devices = await c.app.listMFADevices({ ...base(c), userRef: userNameOrCaller(c) });
      const page = paginate(c.params, devices);
      return {
        result: shapes.listMFADevicesResult({
          ...page,
          devices: page.items.map((d) => ({
            userName: d.user!.username,
            serialNumber: d.serialNumber,
            enableDate: d.enableDate ?? 0,
          })),
        }),
      };
    },
  },
  ListVirtualMFADevices: {
    action: ACTIONS.ListVirtualMFADevices,
    async handle(c) {
      const status = readEnum<AssignmentStatus>(c.params, 'AssignmentStatus', {
        values: ASSIGNMENT_STATUSES,
      });
      const devices = await c.app.listVirtualMFADevices(base(c));
      const shaped = devices.map((d) => ({
        serialNumber: d.serialNumber,
        user: d.user === null ? undefined : userShape(d.user),
        enableDate: d.enableDate ?? undefined,
      }));
      const page = paginate(c.params, shapes.filterByAssignmentStatus(shaped, status ?? 'Any'));
      return { result: shapes.listVirtualMFADevicesResult({ ...page, devices: page.items }) };
    },
  },
  GetMFADevice: {
    action: ACTIONS.GetMFADevice,
    async handle(c) {
      const serialNumber = readString(c.params, 'SerialNumber', SERIAL);
      const device = await c.app.getMFADevice({ ...base(c), userRef: userNameOrCaller(c), serialNumber });
      return {
        result: shapes.getMFADeviceResult({
          userName: device.user?.username,
          serialNumber,
          enableDate: device.enableDate ?? undefined,
        }),
      };
    },
  },
  PutUserPolicy: {
    action: ACTIONS.PutUserPolicy,
    async handle(c) {
      const userRef = readName(c.params, 'UserName', 128);
      const name = readName(c.params, 'PolicyName', 128);
      const document = readPolicyDocument(c, 'PolicyDocument');
      // IAM's own document rules first, with IAM's message; Holdfast's linter runs in the use case.
      const fault = iamDocumentFault(document, 'inline');
      if (fault !== null) throw new AwsError('MalformedPolicyDocument', fault);
      await c.app.putUserPolicy({ ...base(c), userRef, name, document });
      return { result: shapes.putUserPolicyResult() };
    },
  },
  GetUserPolicy: {
    action: ACTIONS.GetUserPolicy,
    async handle(c) {
      const userRef = readName(c.params, 'UserName', 128);
      const name = readName(c.params, 'PolicyName', 128);
      const { user, policy } = await c.app.getUserPolicy({ ...base(c), userRef, name });
      return {
        result: shapes.getUserPolicyResult({
          userName: user.username,
          policyName: policy.name,
          policyDocument: policy.document,
        }),
      };
    },
  },
  ListUserPolicies: {
    action: ACTIONS.ListUserPolicies,
    async handle(c) {
      const userRef = readName(c.params, 'UserName', 128);
      const { policies } = await c.app.listUserPolicies({ ...base(c), userRef });
      const page = paginate(
        c.params,
        policies.map((p) => p.name),
      );
      return { result: shapes.listUserPoliciesResult({ ...page, policyNames: page.items }) };
    },
  },
  DeleteUserPolicy: {
    action: ACTIONS.DeleteUserPolicy,
    async handle(c) {
      const userRef = readName(c.params, 'UserName', 128);
      const name = readName(c.params, 'PolicyName', 128);
      await c.app.deleteUserPolicy({ ...base(c), userRef, name });
      return { result: shapes.deleteUserPolicyResult() };
    },
  },
  AttachUserPolicy: {
    action: ACTIONS.AttachUserPolicy,
    async handle(c) {
      const userRef = readName(c.params, 'UserName', 128);
      await c.app.attachUserPolicy({ ...base(c), userRef, policyArn: readPolicyArn(c) });
      return { result: shapes.attachUserPolicyResult() };
    },
  },
  DetachUserPolicy: {
    action: ACTIONS.DetachUserPolicy,
    async handle(c) {
      const userRef = readName(c.params, 'UserName', 128);
      await c.app.detachUserPolicy({ ...base(c), userRef, policyArn: readPolicyArn(c) });
      return { result: shapes.detachUserPolicyResult() };
    },
  },
  ListAttachedUserPolicies: {
    action: ACTIONS.ListAttachedUserPolicies,
    async handle(c) {
      const userName = readName(c.params, 'UserName', 128);
      const pathPrefix = readString(c.params, 'PathPrefix', { minLength: 1, maxLength: 512 }) ?? '/';
      const policies = await c.app.listAttachedIamUserPolicies({ ...base(c), userName, pathPrefix });
      const page = paginate(c.params, policies);
      return {
        result: shapes.listAttachedUserPoliciesResult({
          ...page,
          policies: page.items.map((p) => ({ policyName: p.name, policyArn: p.arn })),
        }),
      };
    },
  },
  GetAccountSummary: {
    action: ACTIONS.GetAccountSummary,
    async handle(c) {
      const summary = await c.app.iamAccountSummary(base(c));
      return { result: shapes.getAccountSummaryResult({ summary }) };
    },
  },
  ...IAM_ROLE_OPERATIONS,
  ...IAM_POLICY_OPERATIONS,
  ...IAM_GROUP_OPERATIONS,
  ...IAM_USER_OPERATIONS,
  ...IAM_SIMULATION_OPERATIONS,
  ...IAM_ACCOUNT_OPERATIONS,
  ...IAM_OIDC_PROVIDER_OPERATIONS,
};
