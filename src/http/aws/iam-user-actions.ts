/**
 * IAM user operations beyond keys and devices (AWS IAM API Reference): CreateUser with Path, Tags
 * and PermissionsBoundary, GetUser and ListUsers showing them, UpdateUser (rename, move), user
 * tags and permissions boundaries.
 */

import { ACTIONS } from '../../app/actions.js';
import type { IamUserView } from '../../app/aws/iam-users.js';
import {
  base,
  paginate,
  readName,
  readPath,
  userNameOrCaller,
  type AwsOperation,
  type OperationContext,
} from './operation.js';
import { readBoolean, readString, readStringList, readTags } from './query.js';
import * as shapes from './shapes.js';
import { AwsError, xmlBoolean, xmlElement, xmlList, xmlText, xmlTimestamp } from './xml.js';

function shape(v: IamUserView, options: { details: boolean }): shapes.IamUserShape {
  return {
    path: v.path,
    userName: v.user.username,
    userId: v.user.id,
    arn: v.arn,
    createDate: v.user.createdAt,
    ...(options.details && v.boundaryArn !== null ? { permissionsBoundary: { arn: v.boundaryArn } } : {}),
    ...(options.details ? { tags: v.tags } : {}),
  };
}

function readBoundaryArn(c: OperationContext, name: string, required: boolean): string | undefined {
  return readString(c.params, name, { required, minLength: 20, maxLength: 2048 } as { required: true });
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

const PASSWORD = { required: true, minLength: 1, maxLength: 128, sensitive: true } as const;

/** The user operations by wire name. */
export const IAM_USER_OPERATIONS: Readonly<Record<string, AwsOperation>> = {
  GetLoginProfile: {
    action: ACTIONS.GetLoginProfile,
    async handle(c) {
      const profile = await c.app.getLoginProfile({ ...base(c), userName: userNameOrCaller(c) });
      return {
        result: [
          xmlElement('LoginProfile', [
            xmlText('UserName', profile.userName),
            xmlTimestamp('CreateDate', profile.createDate),
            xmlBoolean('PasswordResetRequired', false),
          ]),
        ],
      };
    },
  },
  UpdateLoginProfile: {
    action: ACTIONS.UpdateLoginProfile,
    async handle(c) {
      const password = c.params.has('Password') ? readString(c.params, 'Password', PASSWORD) : undefined;
      readBoolean(c.params, 'PasswordResetRequired');
      await c.app.updateLoginProfile({
        ...base(c),
        userName: readName(c.params, 'UserName', 128),
        ...(password === undefined ? {} : { password }),
      });
      return { result: null };
    },
  },
  DeleteLoginProfile: {
    action: ACTIONS.DeleteLoginProfile,
    async handle(c) {
      await c.app.deleteLoginProfile({ ...base(c), userName: readName(c.params, 'UserName', 128) });
      return { result: null };
    },
  },
  ChangePassword: {
    action: ACTIONS.ChangePassword,
    async handle(c) {
      const currentPassword = readString(c.params, 'OldPassword', PASSWORD);
      const newPassword = readString(c.params, 'NewPassword', PASSWORD);
      const actor = c.caller.actor;
      if (c.caller.role !== null || actor.kind !== 'principal')
        throw new AwsError('InvalidUserType', 'Only IAM users can change their own password.');
      await c.app.changePassword({ actor, ctx: c.ctx, currentPassword, newPassword });
      return { result: null };
    },
  },
  CreateUser: {
    action: ACTIONS.CreateUser,
    async handle(c) {
      const userName = readName(c.params, 'UserName', 64);
      const boundaryArn = c.params.has('PermissionsBoundary')
        ? readBoundaryArn(c, 'PermissionsBoundary', true)
        : undefined;
      const view = await c.app.createIamUser({
        ...base(c),
        userName,
        path: readPath(c.params),
        tags: readTags(c.params),
        ...(boundaryArn === undefined ? {} : { boundaryArn }),
      });
      return {
        result: shapes.createUserResult({ user: shape(view, { details: true }) }),
        audit: { user: { userName, userId: view.user.id } },
      };
    },
  },
  GetUser: {
    action: ACTIONS.GetUser,
    async handle(c) {
      const view = await c.app.getIamUser({ ...base(c), userName: userNameOrCaller(c) });
      return { result: shapes.getUserResult({ user: shape(view, { details: true }) }) };
    },
  },
  ListUsers: {
    action: ACTIONS.ListUsers,
    async handle(c) {
      const views = await c.app.listIamUsers({ ...base(c), pathPrefix: readPathPrefix(c) });
      const page = paginate(c.params, views);
      return {
        result: shapes.listUsersResult({
          ...page,
          users: page.items.map((v) => shape(v, { details: false })),
        }),
      };
    },
  },
  UpdateUser: {
    action: ACTIONS.UpdateUser,
    async handle(c) {
      const newUserName = c.params.has('NewUserName') ? readName(c.params, 'NewUserName', 64) : undefined;
      const newPath = readString(c.params, 'NewPath', {
        minLength: 1,
        maxLength: 512,
        pattern: /^\/([\u0021-\u007E]*\/)?$/,
        patternText: '(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
      });
      await c.app.updateIamUser({
        ...base(c),
        userName: readName(c.params, 'UserName', 128),
        ...(newUserName === undefined ? {} : { newUserName }),
        ...(newPath === undefined ? {} : { newPath }),
      });
      return { result: null };
    },
  },
  TagUser: {
    action: ACTIONS.TagUser,
    async handle(c) {
      const tags = readTags(c.params);
      await c.app.tagIamUser({ ...base(c), userName: readName(c.params, 'UserName', 128), tags });
      return { result: null };
    },
  },
  UntagUser: {
    action: ACTIONS.UntagUser,
    async handle(c) {
      const keys = readStringList(c.params, 'TagKeys', { maxItems: 50, required: true });
      await c.app.untagIamUser({ ...base(c), userName: readName(c.params, 'UserName', 128), keys });
      return { result: null };
    },
  },
  ListUserTags: {
    action: ACTIONS.ListUserTags,
    async handle(c) {
      const tags = await c.app.listIamUserTags({ ...base(c), userName: readName(c.params, 'UserName', 128) });
      const page = paginate(c.params, tags);
      return {
        result: [
          xmlList(
            'Tags',
            page.items.map((t) => [xmlText('Key', t.key), xmlText('Value', t.value)]),
          ),
          ...shapes.pageMembers(page),
        ],
      };
    },
  },
  PutUserPermissionsBoundary: {
    action: ACTIONS.PutUserPermissionsBoundary,
    async handle(c) {
      await c.app.putIamUserBoundary({
        ...base(c),
        userName: readName(c.params, 'UserName', 128),
        boundaryArn: readBoundaryArn(c, 'PermissionsBoundary', true)!,
      });
      return { result: null };
    },
  },
  DeleteUserPermissionsBoundary: {
    action: ACTIONS.DeleteUserPermissionsBoundary,
    async handle(c) {
      await c.app.deleteIamUserBoundary({ ...base(c), userName: readName(c.params, 'UserName', 128) });
      return { result: null };
    },
  },
};
