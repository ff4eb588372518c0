/**
 * What IAM keeps beside a role: its tags and its permissions boundary (AWS IAM User Guide,
 * "Tagging IAM resources", "Permissions boundaries for IAM entities"). The boundary is enforced
 * by the policy engine for the role's sessions (a role session acts as the role: its principal
 * id is the role id), exactly as for users.
 */

import type { IamTag } from '../../core/aws/iam-records.js';
import { HoldfastError } from '../../core/errors.js';
import { roleArn } from '../../core/policy/arn.js';
import { ACTIONS } from '../actions.js';
import type { AppDeps } from '../deps.js';
import { checkTags, mergeTags, removeTags } from './iam-tags.js';
import {
  changeRole,
  readRole,
  replaceRoleTags,
  roleView,
  setRoleBoundary,
  type Common,
  type RoleView,
} from './roles.js';

/** IAM GetRole: the role with its tags and boundary. */
export async function getRole(deps: AppDeps, input: Common & { roleName: string }): Promise<RoleView> {
  return roleView(deps.store, await readRole(deps, input, ACTIONS.GetRole));
}

/** IAM TagRole: adds or overwrites tags (50 at most on the role). */
export function tagRole(deps: AppDeps, input: Common & { roleName: string; tags: IamTag[] }): Promise<void> {
  const given = checkTags(input.tags);
  return changeRole(deps, input, ACTIONS.TagRole, async (uow, role) => {
    await replaceRoleTags(uow, role, mergeTags(await uow.tx.iam.listTags(role.id), given));
    uow.record({
      accountId: role.accountId,
      action: 'role.tag',
      target: roleArn(role),
      details: { keys: given.map((t) => t.key) },
    });
  });
}

/** IAM UntagRole: removes the tags with these keys (compared without regard to case). */
export function untagRole(
  deps: AppDeps,
  input: Common & { roleName: string; keys: string[] },
): Promise<void> {
  return changeRole(deps, input, ACTIONS.UntagRole, async (uow, role) => {
    await replaceRoleTags(uow, role, removeTags(await uow.tx.iam.listTags(role.id), input.keys));
    uow.record({
      accountId: role.accountId,
      action: 'role.untag',
      target: roleArn(role),
      details: { keys: input.keys },
    });
  });
}

/** IAM ListRoleTags. */
export async function listRoleTags(deps: AppDeps, input: Common & { roleName: string }): Promise<IamTag[]> {
  const role = await readRole(deps, input, ACTIONS.ListRoleTags);
  return deps.store.iam.listTags(role.id);
}

/** IAM PutRolePermissionsBoundary: caps the role's sessions at once. */
export function putRolePermissionsBoundary(
  deps: AppDeps,
  input: Common & { roleName: string; boundaryArn: string },
): Promise<void> {
  return changeRole(deps, input, ACTIONS.PutRolePermissionsBoundary, async (uow, role) => {
    await setRoleBoundary(uow, role, input.boundaryArn);
    uow.record({
      accountId: role.accountId,
      action: 'role.boundary.put',
      target: roleArn(role),
      details: { permissionsBoundary: input.boundaryArn },
    });
  });
}

/** IAM DeleteRolePermissionsBoundary: widens what the role's sessions may do (identity administration). */
export function deleteRolePermissionsBoundary(
  deps: AppDeps,
  input: Common & { roleName: string },
): Promise<void> {
  return changeRole(deps, input, ACTIONS.DeleteRolePermissionsBoundary, async (uow, role) => {
    if (!(await uow.tx.iam.deleteBoundary(role.id))) {
      throw new HoldfastError(
        'POLICY_NOT_FOUND',
        `The role with name ${role.name} has no permissions boundary.`,
      );
    }
    uow.record({
      accountId: role.accountId,
      action: 'role.boundary.delete',
      target: roleArn(role),
      details: { security: true },
    });
  });
}

/** The use cases of this file, registered in createApp with the role ones. */
export const ROLE_RECORD_USE_CASES = {
  getRole,
  tagRole,
  untagRole,
  listRoleTags,
  putRolePermissionsBoundary,
  deleteRolePermissionsBoundary,
};
