/**
 * IAM roles: a trust policy saying who may assume the role (STS AssumeRole, sts.ts) and the
 * permission policies its sessions act with (shared/reference/aws-iam-sts.md §1.7).
 */

import type { AwsRole } from '../../core/access-keys/credentials.js';
import { HoldfastError } from '../../core/errors.js';
import { roleArn } from '../../core/policy/arn.js';
import { parseTrustPolicy } from '../../core/policy/trust-policy.js';
import { randomString } from '../../core/random.js';
import { ACTIONS } from '../actions.js';
import type { Actor, RequestContext } from '../context.js';
import type { AppDeps } from '../deps.js';
import { runCommand } from '../kernel.js';

/** A role's MaxSessionDuration range (IAM CreateRole model: 3600–43200, default 3600). */
export const ROLE_MAX_SESSION = { min: 3600, max: 43_200, default: 3600 } as const;

/** Creates a role with a trust policy (who may assume it, under which conditions). */
export async function createRole(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    name: string;
    path?: string;
    description?: string;
    trustPolicy: string;
    maxSessionDuration?: number;
  },
): Promise<AwsRole> {
  const path = input.path ?? '/';
  const arn = roleArn({ accountId: input.accountId, path, name: input.name });
  parseTrustPolicy(input.trustPolicy);
  const role: AwsRole = {
    id: 'AROA' + randomString(deps.random, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16),
    accountId: input.accountId,
    name: input.name,
    path,
    description: input.description ?? '',
    trustPolicy: input.trustPolicy,
    maxSessionDuration: input.maxSessionDuration ?? ROLE_MAX_SESSION.default,
    createdAt: deps.clock.now(),
  };
  const resource = { accountId: input.accountId, arn };
  return runCommand(deps, input.actor, input.ctx, { action: ACTIONS.CreateRole, resource }, async (uow) => {
    if ((await uow.tx.awsIdentities.findRole(input.accountId, input.name)) !== null) {
      throw new HoldfastError('AWS_ROLE_ALREADY_EXISTS', `Role with name ${input.name} already exists.`);
    }
    await uow.tx.awsIdentities.insertRole(role);
    uow.record({
      accountId: input.accountId,
      action: 'role.create',
      target: arn,
      details: { roleId: role.id, mfaCondition: /multifactorauth/i.test(input.trustPolicy) },
    });
    return role;
  });
}
