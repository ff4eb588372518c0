import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import type { AppDeps } from './deps.js';

/** A user at risk of being locked out (MISSION.md failure 1). */
export interface AtRiskUser {
  id: string;
  email: string;
  role: string;
  enabledFactors: number;
  recoveryCodes: boolean;
}

/** Lock-out risk in one account. */
export interface LockoutRisk {
  usersWithoutFactors: AtRiskUser[];
  usersWithSingleFactor: AtRiskUser[];
  usersWithoutRecoveryCodes: AtRiskUser[];
  /** Active owners and admins; one means a single point of failure for the whole account. */
  administrators: number;
  singleAdministrator: boolean;
}

/** Lists users with no factor, a single factor or no recovery codes, and whether the account has one admin. */
export async function lockoutRisk(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string },
): Promise<LockoutRisk> {
  await authorize(
    deps,
    input.actor,
    ACTIONS.GetLockoutRiskInsights,
    { accountId: input.accountId },
    input.ctx,
  );
  const [principals, factors, withCodes] = await Promise.all([
    deps.store.principals.list(input.accountId),
    deps.store.factors.listEnabledByAccount(input.accountId),
    deps.store.recoveryCodes.principalsWithCodes(input.accountId),
  ]);
  const codes = new Set(withCodes);
  const counts = new Map<string, number>();
  for (const f of factors) counts.set(f.principalId, (counts.get(f.principalId) ?? 0) + 1);
  const active = principals.filter((p) => p.status === 'active');
  const users: AtRiskUser[] = active.map((p) => ({
    id: p.id,
    email: p.email,
    role: p.role,
    enabledFactors: counts.get(p.id) ?? 0,
    recoveryCodes: codes.has(p.id),
  }));
  const administrators = active.filter((p) => p.role === 'owner' || p.role === 'admin').length;
  return {
    usersWithoutFactors: users.filter((u) => u.enabledFactors === 0),
    usersWithSingleFactor: users.filter((u) => u.enabledFactors === 1),
    usersWithoutRecoveryCodes: users.filter((u) => !u.recoveryCodes),
    administrators,
    singleAdministrator: administrators <= 1,
  };
}
