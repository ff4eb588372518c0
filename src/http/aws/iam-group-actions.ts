/**
 * IAM group operations (AWS IAM API Reference): Create/Get/List/Update/DeleteGroup, membership,
 * ListGroupsForUser, inline group policies and attached managed policies. Lists paginate with
 * Marker/MaxItems/IsTruncated; inline documents come back URL-encoded.
 */

import { ACTIONS } from '../../app/actions.js';
import type { GroupView } from '../../app/aws/groups.js';
import { readDocument } from './iam-policy-actions.js';
import {
  base,
  paginate,
  readName,
  readPath,
  userShape,
  type AwsOperation,
  type OperationContext,
} from './operation.js';
import { readString } from './query.js';
import { encodePolicyDocument, pagedResult } from './shapes.js';
import { xmlElement, xmlList, xmlStringList, xmlText, xmlTimestamp, type XmlChild } from './xml.js';

const groupName = (c: OperationContext, name = 'GroupName') => readName(c.params, name, 128);

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

/** `NewPath`: IAM's path rule, `/` or `/…/`. */
function readNewPath(c: OperationContext): string | undefined {
  return readString(c.params, 'NewPath', {
    minLength: 1,
    maxLength: 512,
    pattern: /^\/([\u0021-\u007E]*\/)?$/,
    patternText: '(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
  });
}

function groupMembers(v: GroupView): XmlChild[] {
  return [
    xmlText('Path', v.path),
    xmlText('GroupName', v.group.name),
    xmlText('GroupId', v.groupId),
    xmlText('Arn', v.arn),
    xmlTimestamp('CreateDate', v.group.createdAt),
  ];
}

function readPolicyArn(c: OperationContext): string {
  return readString(c.params, 'PolicyArn', { required: true, minLength: 20, maxLength: 2048 });
}

function attachment(attach: boolean): AwsOperation {
  return {
    action: attach ? ACTIONS.AttachGroupPolicy : ACTIONS.DetachGroupPolicy,
    async handle(c) {
      await c.app.setIamGroupPolicyAttachment({
        ...base(c),
        groupName: groupName(c),
        policyArn: readPolicyArn(c),
        attach,
      });
      return { result: null };
    },
  };
}

function membership(member: boolean): AwsOperation {
  return {
    action: member ? ACTIONS.AddUserToGroup : ACTIONS.RemoveUserFromGroup,
    async handle(c) {
      await c.app.setIamGroupMembership({
        ...base(c),
        groupName: groupName(c),
        userName: readName(c.params, 'UserName', 128),
        member,
      });
      return { result: null };
    },
  };
}

/** The group operations by wire name. */
export const IAM_GROUP_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
  CreateGroup: {
    action: ACTIONS.CreateGroup,
    async handle(c) {
      const view = await c.app.createIamGroup({
        ...base(c),
        groupName: groupName(c),
        path: readPath(c.params),
      });
      return {
        result: [xmlElement('Group', groupMembers(view))],
        audit: { group: { groupName: view.group.name, groupId: view.groupId, arn: view.arn } },
      };
    },
  },
  GetGroup: {
    action: ACTIONS.GetGroup,
    async handle(c) {
      const { view, users } = await c.app.getIamGroup({ ...base(c), groupName: groupName(c) });
      const p = paginate(c.params, users);
      return {
        result: pagedResult(
          [
            xmlElement('Group', groupMembers(view)),
            xmlList(
              'Users',
              p.items.map((u) => {
                const shape = userShape(u);
                return [
                  xmlText('Path', shape.path),
                  xmlText('UserName', shape.userName),
                  xmlText('UserId', shape.userId),
                  xmlText('Arn', shape.arn),
                  xmlTimestamp('CreateDate', shape.createDate),
                ];
              }),
            ),
          ],
          p,
        ),
      };
    },
  },
  ListGroups: {
    action: ACTIONS.ListGroups,
    async handle(c) {
      const views = await c.app.listIamGroups({ ...base(c), pathPrefix: readPathPrefix(c) });
      const p = paginate(c.params, views);
      return { result: pagedResult([xmlList('Groups', p.items.map(groupMembers))], p) };
    },
  },
  UpdateGroup: {
    action: ACTIONS.UpdateGroup,
    async handle(c) {
      const newName = c.params.has('NewGroupName') ? groupName(c, 'NewGroupName') : undefined;
      const newPath = readNewPath(c);
      await c.app.updateIamGroup({
        ...base(c),
        groupName: groupName(c),
        ...(newName === undefined ? {} : { newName }),
        ...(newPath === undefined ? {} : { newPath }),
      });
      return { result: null };
    },
  },
  DeleteGroup: {
    action: ACTIONS.DeleteGroup,
    async handle(c) {
      await c.app.deleteIamGroup({ ...base(c), groupName: groupName(c) });
      return { result: null };
    },
  },
  AddUserToGroup: membership(true),
  RemoveUserFromGroup: membership(false),
  ListGroupsForUser: {
    action: ACTIONS.ListGroupsForUser,
    async handle(c) {
      const views = await c.app.listIamGroupsForUser({
        ...base(c),
        userName: readName(c.params, 'UserName', 128),
      });
      const p = paginate(c.params, views);
      return { result: pagedResult([xmlList('Groups', p.items.map(groupMembers))], p) };
    },
  },
  PutGroupPolicy: {
    action: ACTIONS.PutGroupPolicy,
    async handle(c) {
      await c.app.putIamGroupPolicy({
        ...base(c),
        groupName: groupName(c),
        policyName: readName(c.params, 'PolicyName', 128),
        document: readDocument(c),
      });
      return { result: null };
    },
  },
  GetGroupPolicy: {
    action: ACTIONS.GetGroupPolicy,
    async handle(c) {
      const { view, policy } = await c.app.getIamGroupPolicy({
        ...base(c),
        groupName: groupName(c),
        policyName: readName(c.params, 'PolicyName', 128),
      });
      return {
        result: [
          xmlText('GroupName', view.group.name),
          xmlText('PolicyName', policy.name),
          xmlText('PolicyDocument', encodePolicyDocument(policy.document)),
        ],
      };
    },
  },
  ListGroupPolicies: {
    action: ACTIONS.ListGroupPolicies,
    async handle(c) {
      const names = await c.app.listIamGroupPolicies({ ...base(c), groupName: groupName(c) });
      const p = paginate(c.params, names);
      return { result: pagedResult([xmlStringList('PolicyNames', p.items)], p) };
    },
  },
  DeleteGroupPolicy: {
    action: ACTIONS.DeleteGroupPolicy,
    async handle(c) {
      await c.app.deleteIamGroupPolicy({
        ...base(c),
        groupName: groupName(c),
        policyName: readName(c.params, 'PolicyName', 128),
      });
      return { result: null };
    },
  },
  AttachGroupPolicy: attachment(true),
  DetachGroupPolicy: attachment(false),
  ListAttachedGroupPolicies: {
    action: ACTIONS.ListAttachedGroupPolicies,
    async handle(c) {
      const policies = await c.app.listAttachedIamGroupPolicies({
        ...base(c),
        groupName: groupName(c),
        pathPrefix: readPathPrefix(c),
      });
      const p = paginate(c.params, policies);
      return {
        result: pagedResult(
          [
            xmlList(
              'AttachedPolicies',
              p.items.map((a) => [xmlText('PolicyName', a.name), xmlText('PolicyArn', a.arn)]),
            ),
          ],
          p,
        ),
      };
    },
  },
};
