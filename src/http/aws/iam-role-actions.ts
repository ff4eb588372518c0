/**
 * The IAM role operations (2010-05-08): CreateRole, GetRole, ListRoles, UpdateRole,
 * UpdateAssumeRolePolicy, DeleteRole, the role's inline and attached permission policies. Each
 * maps to one catalog action and one use case (app/aws/roles.ts). Parameter rules and result
 * shapes from the IAM service model (shared/reference/aws-iam-sts.md §1.7).
 */

import type { AwsRole } from '../../core/access-keys/credentials.js';
import type { RoleView } from '../../app/aws/roles.js';
import { ACTIONS } from '../../app/actions.js';
import { roleArn } from '../../core/policy/arn.js';
import { MAX_POLICY_TEXT } from '../../core/policy/parse-policy.js';
import { base, paginate, readName, readPath, type AwsOperation, type OperationContext } from './operation.js';
import { readInteger, readString, readStringList, readTags } from './query.js';
import { encodePolicyDocument, pageMembers, type AwsResult } from './shapes.js';
import {
  xmlElement,
  xmlInteger,
  xmlList,
  xmlOptionalText,
  xmlStringList,
  xmlText,
  xmlTimestamp,
  type XmlChild,
} from './xml.js';

function readRoleName(c: OperationContext): string {
  return readName(c.params, 'RoleName', 64);
}

function readDocument(c: OperationContext, name: string): string {
  return readString(c.params, name, {
    required: true,
    minLength: 1,
    maxLength: MAX_POLICY_TEXT,
    pattern: /^[\t\n\r\u0020-\u00FF]+$/,
    patternText: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
  });
}

function readPolicyName(c: OperationContext): string {
  return readName(c.params, 'PolicyName', 128);
}

function readPolicyArn(c: OperationContext): string {
  return readString(c.params, 'PolicyArn', { required: true, minLength: 20, maxLength: 2048 });
}

function readDescription(c: OperationContext): string | undefined {
  return readString(c.params, 'Description', {
    maxLength: 1000,
    pattern: /^[\t\n\r\u0020-\u007E\u00A1-\u00FF]*$/,
    patternText: '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*',
  });
}

function readMaxSession(c: OperationContext): number | undefined {
  return readInteger(c.params, 'MaxSessionDuration', { min: 3600, max: 43_200 });
}

/** The members of a `Role` (model shape), the trust policy URL-encoded as IAM returns it. */
function roleMembers(role: AwsRole, options: { withTrustPolicy: boolean }): XmlChild[] {
  return [
    xmlText('Path', role.path),
    xmlText('RoleName', role.name),
    xmlText('RoleId', role.id),
    xmlText('Arn', roleArn(role)),
    xmlTimestamp('CreateDate', role.createdAt),
    options.withTrustPolicy
      ? xmlText('AssumeRolePolicyDocument', encodePolicyDocument(role.trustPolicy))
      : undefined,
    xmlOptionalText('Description', role.description === '' ? undefined : role.description),
    xmlInteger('MaxSessionDuration', role.maxSessionDuration),
  ];
}

/** GetRole and CreateRole also show the boundary and the tags. */
function roleViewMembers(role: RoleView): XmlChild[] {
  return [
    ...roleMembers(role, { withTrustPolicy: true }),
    role.boundaryArn === null
      ? undefined
      : xmlElement('PermissionsBoundary', [
          xmlText('PermissionsBoundaryType', 'PermissionsBoundaryPolicy'),
          xmlText('PermissionsBoundaryArn', role.boundaryArn),
        ]),
    role.tags.length === 0 ? undefined : tagList(role.tags),
  ];
}

function tagList(tags: readonly { key: string; value: string }[]) {
  return xmlList(
    'Tags',
    tags.map((t) => [xmlText('Key', t.key), xmlText('Value', t.value)]),
  );
}

function readBoundaryArn(c: OperationContext): string {
  return readString(c.params, 'PermissionsBoundary', { required: true, minLength: 20, maxLength: 2048 });
}

function roleResult(role: RoleView): AwsResult {
  return [xmlElement('Role', roleViewMembers(role))];
}

function audited(role: AwsRole): Record<string, unknown> {
  return { role: { roleName: role.name, roleId: role.id, arn: roleArn(role) } };
}

/** The IAM role operations by wire name (spread into IAM_OPERATIONS). */
export const IAM_ROLE_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
  CreateRole: {
    action: ACTIONS.CreateRole,
    async handle(c) {
      const description = readDescription(c);
      const maxSessionDuration = readMaxSession(c);
      const boundaryArn = c.params.has('PermissionsBoundary') ? readBoundaryArn(c) : undefined;
      const role = await c.app.createRole({
        tags: readTags(c.params),
        ...(boundaryArn === undefined ? {} : { boundaryArn }),
        ...base(c),
        name: readRoleName(c),
        path: readPath(c.params),
        trustPolicy: readDocument(c, 'AssumeRolePolicyDocument'),
        ...(description === undefined ? {} : { description }),
        ...(maxSessionDuration === undefined ? {} : { maxSessionDuration }),
      });
      return { result: roleResult(role), audit: audited(role) };
    },
  },
  GetRole: {
    action: ACTIONS.GetRole,
    async handle(c) {
      return { result: roleResult(await c.app.getRole({ ...base(c), roleName: readRoleName(c) })) };
    },
  },
  ListRoles: {
    action: ACTIONS.ListRoles,
    async handle(c) {
      const pathPrefix = readString(c.params, 'PathPrefix', {
        minLength: 1,
        maxLength: 512,
        pattern: /^\u002F[\u0021-\u007F]*$/,
        patternText: '\\u002F[\\u0021-\\u007F]*',
      });
      const roles = await c.app.listRoles({
        ...base(c),
        ...(pathPrefix === undefined ? {} : { pathPrefix }),
      });
      const page = paginate(c.params, roles);
      // ListRoles leaves out each role's trust policy (IAM documents this), unlike GetRole.
      return {
        result: [
          xmlList(
            'Roles',
            page.items.map((r) => roleMembers(r, { withTrustPolicy: false })),
          ),
          ...pageMembers(page),
        ],
      };
    },
  },
  UpdateRole: {
    action: ACTIONS.UpdateRole,
    async handle(c) {
      const description = readDescription(c);
      const maxSessionDuration = readMaxSession(c);
      await c.app.updateRole({
        ...base(c),
        roleName: readRoleName(c),
        ...(description === undefined ? {} : { description }),
        ...(maxSessionDuration === undefined ? {} : { maxSessionDuration }),
      });
      return { result: [] };
    },
  },
  UpdateAssumeRolePolicy: {
    action: ACTIONS.UpdateAssumeRolePolicy,
    async handle(c) {
      await c.app.updateAssumeRolePolicy({
        ...base(c),
        roleName: readRoleName(c),
        trustPolicy: readDocument(c, 'PolicyDocument'),
      });
      return { result: null };
    },
  },
  DeleteRole: {
    action: ACTIONS.DeleteRole,
    async handle(c) {
      await c.app.deleteRole({ ...base(c), roleName: readRoleName(c) });
      return { result: null };
    },
  },
  PutRolePolicy: {
    action: ACTIONS.PutRolePolicy,
    async handle(c) {
      await c.app.putRolePolicy({
        ...base(c),
        roleName: readRoleName(c),
        policyName: readPolicyName(c),
        document: readDocument(c, 'PolicyDocument'),
      });
      return { result: null };
    },
  },
  GetRolePolicy: {
    action: ACTIONS.GetRolePolicy,
    async handle(c) {
      const { role, policy } = await c.app.getRolePolicy({
        ...base(c),
        roleName: readRoleName(c),
        policyName: readPolicyName(c),
      });
      return {
        result: [
          xmlText('RoleName', role.name),
          xmlText('PolicyName', policy.name),
          xmlText('PolicyDocument', encodePolicyDocument(policy.document)),
        ],
      };
    },
  },
  ListRolePolicies: {
    action: ACTIONS.ListRolePolicies,
    async handle(c) {
      const policies = await c.app.listRolePolicies({ ...base(c), roleName: readRoleName(c) });
      const page = paginate(
        c.params,
        policies.map((p) => p.name),
      );
      return { result: [xmlStringList('PolicyNames', page.items), ...pageMembers(page)] };
    },
  },
  DeleteRolePolicy: {
    action: ACTIONS.DeleteRolePolicy,
    async handle(c) {
      await c.app.deleteRolePolicy({ ...base(c), roleName: readRoleName(c), policyName: readPolicyName(c) });
      return { result: null };
    },
  },
  AttachRolePolicy: {
    action: ACTIONS.AttachRolePolicy,
    async handle(c) {
      await c.app.attachRolePolicy({ ...base(c), roleName: readRoleName(c), policyArn: readPolicyArn(c) });
      return { result: null };
    },
  },
  DetachRolePolicy: {
    action: ACTIONS.DetachRolePolicy,
    async handle(c) {
      await c.app.detachRolePolicy({ ...base(c), roleName: readRoleName(c), policyArn: readPolicyArn(c) });
      return { result: null };
    },
  },
  TagRole: {
    action: ACTIONS.TagRole,
    async handle(c) {
      await c.app.tagRole({ ...base(c), roleName: readRoleName(c), tags: readTags(c.params) });
      return { result: null };
    },
  },
  UntagRole: {
    action: ACTIONS.UntagRole,
    async handle(c) {
      const keys = readStringList(c.params, 'TagKeys', { maxItems: 50, required: true });
      await c.app.untagRole({ ...base(c), roleName: readRoleName(c), keys });
      return { result: null };
    },
  },
  ListRoleTags: {
    action: ACTIONS.ListRoleTags,
    async handle(c) {
      const tags = await c.app.listRoleTags({ ...base(c), roleName: readRoleName(c) });
      const page = paginate(c.params, tags);
      return { result: [tagList(page.items), ...pageMembers(page)] };
    },
  },
  PutRolePermissionsBoundary: {
    action: ACTIONS.PutRolePermissionsBoundary,
    async handle(c) {
      await c.app.putRolePermissionsBoundary({
        ...base(c),
        roleName: readRoleName(c),
        boundaryArn: readBoundaryArn(c),
      });
      return { result: null };
    },
  },
  DeleteRolePermissionsBoundary: {
    action: ACTIONS.DeleteRolePermissionsBoundary,
    async handle(c) {
      await c.app.deleteRolePermissionsBoundary({ ...base(c), roleName: readRoleName(c) });
      return { result: null };
    },
  },
  ListAttachedRolePolicies: {
    action: ACTIONS.ListAttachedRolePolicies,
    async handle(c) {
      const pathPrefix = readString(c.params, 'PathPrefix', { minLength: 1, maxLength: 512 });
      const policies = await c.app.listAttachedRolePolicies({ ...base(c), roleName: readRoleName(c) });
      const listed = pathPrefix === undefined || pathPrefix === '/' ? policies : [];
      const page = paginate(c.params, listed);
      return {
        result: [
          xmlList(
            'AttachedPolicies',
            page.items.map((p) => [xmlText('PolicyName', p.name), xmlText('PolicyArn', p.arn)]),
          ),
          ...pageMembers(page),
        ],
      };
    },
  },
};
