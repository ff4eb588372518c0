/**
 * IAM managed-policy operations (AWS IAM API Reference): CreatePolicy, GetPolicy, ListPolicies,
 * DeletePolicy, the version operations, ListEntitiesForPolicy and policy tags. Documents are
 * written URL-encoded, as IAM returns them; CreatePolicy does not echo a Description (IAM does
 * not), GetPolicy does.
 */

import { ACTIONS } from '../../app/actions.js';
import type { ManagedPolicyView } from '../../app/aws/managed-policies.js';
import { awsUniqueId } from '../../core/aws/iam-records.js';
import { MAX_POLICY_TEXT } from '../../core/policy/parse-policy.js';
import { base, paginate, readName, readPath, type AwsOperation, type OperationContext } from './operation.js';
import { readBoolean, readEnum, readString, readStringList, readTags } from './query.js';
import { encodePolicyDocument, pagedResult } from './shapes.js';
import {
  xmlBoolean,
  xmlElement,
  xmlInteger,
  xmlList,
  xmlOptionalText,
  xmlText,
  xmlTimestamp,
  type XmlChild,
  type XmlElement,
} from './xml.js';

/** Reads a policy document parameter (the model's length and character rules). */
export function readDocument(c: OperationContext, name = 'PolicyDocument'): string {
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

function readVersionId(c: OperationContext): string {
  return readString(c.params, 'VersionId', {
    required: true,
    minLength: 1,
    maxLength: 128,
    pattern: /^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/,
    patternText: 'v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?',
  });
}

function readPathPrefix(c: OperationContext): string {
  return (
    readString(c.params, 'PathPrefix', {
      minLength: 1,
      maxLength: 512,
      pattern: /^\u002F[\u0021-\u007F]*$/,
      patternText: '\\u002F[\\u0021-\\u007F]*',
    }) ?? '/'
  );
}

/** `Tags` as a list of `member`s with `Key` and `Value`, or nothing when empty. */
export function tagList(tags: ReadonlyArray<{ key: string; value: string }>): XmlElement | undefined {
  if (tags.length === 0) return undefined;
  return xmlList(
    'Tags',
    tags.map((t) => [xmlText('Key', t.key), xmlText('Value', t.value)]),
  );
}

function policyMembers(v: ManagedPolicyView, options: { description: boolean; tags: boolean }): XmlChild[] {
  const p = v.policy;
  return [
    xmlText('PolicyName', p.name),
    xmlText('PolicyId', v.policyId),
    xmlText('Arn', v.arn),
    xmlText('Path', v.path),
    xmlText('DefaultVersionId', v.defaultVersionId),
    xmlInteger('AttachmentCount', v.attachmentCount),
    xmlInteger('PermissionsBoundaryUsageCount', v.boundaryUsageCount),
    xmlBoolean('IsAttachable', true),
    options.description
      ? xmlOptionalText('Description', p.description === '' ? undefined : p.description)
      : null,
    xmlTimestamp('CreateDate', p.createdAt),
    xmlTimestamp('UpdateDate', p.updatedAt),
    options.tags ? tagList(v.tags) : null,
  ];
}

/** A `PolicyVersion`'s members; the document only where IAM returns it (GetPolicyVersion). */
function versionMembers(v: {
  versionId: string;
  isDefault: boolean;
  createdAt: number;
  document?: string | undefined;
}): XmlChild[] {
  return [
    v.document === undefined ? null : xmlText('Document', encodePolicyDocument(v.document)),
    xmlText('VersionId', v.versionId),
    xmlBoolean('IsDefaultVersion', v.isDefault),
    xmlTimestamp('CreateDate', v.createdAt),
  ];
}

/** The managed-policy operations by wire name. */
export const IAM_POLICY_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
  CreatePolicy: {
    action: ACTIONS.CreatePolicy,
    async handle(c) {
      const name = readName(c.params, 'PolicyName', 128);
      const path = readPath(c.params);
      const document = readDocument(c);
      const description = readString(c.params, 'Description', { maxLength: 1000 });
      const tags = readTags(c.params);
      const view = await c.app.createPolicy({
        ...base(c),
        name,
        path,
        document,
        tags,
        ...(description === undefined ? {} : { description }),
      });
      return {
        result: [xmlElement('Policy', policyMembers(view, { description: false, tags: true }))],
        audit: { policy: { policyName: name, policyId: view.policyId, arn: view.arn } },
      };
    },
  },
  GetPolicy: {
    action: ACTIONS.GetPolicy,
    async handle(c) {
      const view = await c.app.getPolicy({ ...base(c), policyArn: readPolicyArn(c) });
      return { result: [xmlElement('Policy', policyMembers(view, { description: true, tags: true }))] };
    },
  },
  ListPolicies: {
    action: ACTIONS.ListPolicies,
    async handle(c) {
      const scope = readEnum(c.params, 'Scope', { values: ['All', 'AWS', 'Local'] as const }) ?? 'All';
      const onlyAttached = readBoolean(c.params, 'OnlyAttached') ?? false;
      const usage = readEnum(c.params, 'PolicyUsageFilter', {
        values: ['PermissionsPolicy', 'PermissionsBoundary'] as const,
      });
      const views = await c.app.listPolicies({
        ...base(c),
        scope,
        onlyAttached,
        pathPrefix: readPathPrefix(c),
        ...(usage === undefined ? {} : { usage }),
      });
      const p = paginate(c.params, views);
      return {
        result: pagedResult(
          [
            xmlList(
              'Policies',
              p.items.map((v) => policyMembers(v, { description: false, tags: false })),
            ),
          ],
          p,
        ),
      };
    },
  },
  DeletePolicy: {
    action: ACTIONS.DeletePolicy,
    async handle(c) {
      await c.app.deletePolicy({ ...base(c), policyArn: readPolicyArn(c) });
      return { result: null };
    },
  },
  CreatePolicyVersion: {
    action: ACTIONS.CreatePolicyVersion,
    async handle(c) {
      const policyArn = readPolicyArn(c);
      const document = readDocument(c);
      const setAsDefault = readBoolean(c.params, 'SetAsDefault') ?? false;
      const v = await c.app.createPolicyVersion({ ...base(c), policyArn, document, setAsDefault });
      return {
        result: [xmlElement('PolicyVersion', versionMembers({ ...v, document: undefined }))],
        audit: { policyVersion: { versionId: v.versionId, isDefaultVersion: v.isDefault } },
      };
    },
  },
  GetPolicyVersion: {
    action: ACTIONS.GetPolicyVersion,
    async handle(c) {
      const v = await c.app.getPolicyVersion({
        ...base(c),
        policyArn: readPolicyArn(c),
        versionId: readVersionId(c),
      });
      return { result: [xmlElement('PolicyVersion', versionMembers(v))] };
    },
  },
  ListPolicyVersions: {
    action: ACTIONS.ListPolicyVersions,
    async handle(c) {
      const versions = await c.app.listPolicyVersions({ ...base(c), policyArn: readPolicyArn(c) });
      const p = paginate(c.params, versions);
      return {
        result: pagedResult(
          [
            xmlList(
              'Versions',
              p.items.map((v) => versionMembers({ ...v, document: undefined })),
            ),
          ],
          p,
        ),
      };
    },
  },
  DeletePolicyVersion: {
    action: ACTIONS.DeletePolicyVersion,
    async handle(c) {
      await c.app.deletePolicyVersion({
        ...base(c),
        policyArn: readPolicyArn(c),
        versionId: readVersionId(c),
      });
      return { result: null };
    },
  },
  SetDefaultPolicyVersion: {
    action: ACTIONS.SetDefaultPolicyVersion,
    async handle(c) {
      await c.app.setDefaultPolicyVersion({
        ...base(c),
        policyArn: readPolicyArn(c),
        versionId: readVersionId(c),
      });
      return { result: null };
    },
  },
  ListEntitiesForPolicy: {
    action: ACTIONS.ListEntitiesForPolicy,
    async handle(c) {
      const filter = readEnum(c.params, 'EntityFilter', {
        values: ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'] as const,
      });
      readPathPrefix(c);
      const found = await c.app.listEntitiesForPolicy({ ...base(c), policyArn: readPolicyArn(c) });
      const entities = [
        ...(filter === undefined || filter === 'Group'
          ? found.groups.map((g) => ({ kind: 'group' as const, name: g.name, id: awsUniqueId('AGPA', g.id) }))
          : []),
        ...(filter === undefined || filter === 'User'
          ? found.users.map((u) => ({ kind: 'user' as const, name: u.name, id: u.id }))
          : []),
        ...(filter === undefined || filter === 'Role'
          ? found.roles.map((r) => ({ kind: 'role' as const, name: r.name, id: r.id }))
          : []),
      ];
      const p = paginate(c.params, entities);
      const of = (kind: 'group' | 'user' | 'role', n: string, i: string) =>
        p.items.filter((e) => e.kind === kind).map((e) => [xmlText(n, e.name), xmlText(i, e.id)]);
      return {
        result: pagedResult(
          [
            xmlList('PolicyGroups', of('group', 'GroupName', 'GroupId')),
            xmlList('PolicyUsers', of('user', 'UserName', 'UserId')),
            xmlList('PolicyRoles', of('role', 'RoleName', 'RoleId')),
          ],
          p,
        ),
      };
    },
  },
  TagPolicy: {
    action: ACTIONS.TagPolicy,
    async handle(c) {
      const tags = readTags(c.params);
      await c.app.tagPolicy({ ...base(c), policyArn: readPolicyArn(c), tags });
      return { result: null };
    },
  },
  UntagPolicy: {
    action: ACTIONS.UntagPolicy,
    async handle(c) {
      const keys = readStringList(c.params, 'TagKeys', { maxItems: 50, required: true });
      await c.app.untagPolicy({ ...base(c), policyArn: readPolicyArn(c), keys });
      return { result: null };
    },
  },
  ListPolicyTags: {
    action: ACTIONS.ListPolicyTags,
    async handle(c) {
      const tags = await c.app.listPolicyTags({ ...base(c), policyArn: readPolicyArn(c) });
      const p = paginate(c.params, tags);
      return {
        result: pagedResult(
          [
            xmlList(
              'Tags',
              p.items.map((t) => [xmlText('Key', t.key), xmlText('Value', t.value)]),
            ),
          ],
          p,
        ),
      };
    },
  },
};
