import { HoldfastError } from '../core/errors.js';
import type { Principal, Role } from '../core/principals/types.js';
import { ACTIONS, type Action } from './actions.js';
import type { Actor } from './context.js';

/** What an action is applied to. */
export interface Resource {
  accountId: string;
  /** The target principal, when the action is about one. */
  principal?: Principal;
}

/** Actions any signed-in principal may take on itself. */
const SELF_SERVICE: ReadonlySet<Action> = new Set([
  ACTIONS.GetSession,
  ACTIONS.ListSessions,
  ACTIONS.RevokeSession,
  ACTIONS.SignOut,
  ACTIONS.ChangePassword,
  ACTIONS.GetUser,
  ACTIONS.GetAccount,
  ACTIONS.StepUp,
  ACTIONS.ListMFADevices,
  ACTIONS.CreateVirtualMFADevice,
  ACTIONS.EnableMFADevice,
  ACTIONS.ResyncMFADevice,
  ACTIONS.DeactivateMFADevice,
  ACTIONS.RenameMFADevice,
  ACTIONS.GetRecoveryCodeStatus,
  ACTIONS.RegenerateRecoveryCodes,
]);

/** Actions each role may take on other principals of its own account (the built-in role policies). */
const ROLE_ACTIONS: Record<Role, ReadonlySet<Action>> = {
  owner: new Set(Object.values(ACTIONS)),
  admin: new Set([
    ACTIONS.GetAccount,
    ACTIONS.ListUsers,
    ACTIONS.GetUser,
    ACTIONS.CreateUser,
    ACTIONS.DisableUser,
    ACTIONS.CreateSetupLink,
    ACTIONS.RevokeUserSessions,
    ACTIONS.ReadAuditLog,
    ACTIONS.ListMFADevices,
    ACTIONS.EnableMFADevice,
    ACTIONS.DeactivateMFADevice,
    ACTIONS.GetLockoutRiskInsights,
    ACTIONS.ImportHardwareTokens,
    ACTIONS.ListHardwareTokens,
    ACTIONS.AssignHardwareToken,
    ACTIONS.UpdateHardwareTokenState,
  ]),
  helpdesk: new Set([
    ACTIONS.GetAccount,
    ACTIONS.ListUsers,
    ACTIONS.GetUser,
    ACTIONS.RevokeUserSessions,
    ACTIONS.ListMFADevices,
    ACTIONS.GetLockoutRiskInsights,
  ]),
  user: new Set(),
};

/** Which target roles each role may act on (help desk never acts on owners or admins). */
const MAY_TARGET: Record<Role, ReadonlySet<Role>> = {
  owner: new Set(['owner', 'admin', 'helpdesk', 'user']),
  admin: new Set(['admin', 'helpdesk', 'user']),
  helpdesk: new Set(['user']),
  user: new Set(),
};

/**
 * The one authorization point of the app layer. Accounts are walls: nothing crosses them.
 * The CLI operator (shell access to the host and its database) is trusted and audited.
 */
export function authorize(actor: Actor, action: Action, resource: Resource): void {
  if (actor.kind === 'operator') return;
  const self = actor.principal;
  if (self.accountId !== resource.accountId) throw new HoldfastError('AUTH_FORBIDDEN');
  const target = resource.principal;
  if ((target === undefined || target.id === self.id) && SELF_SERVICE.has(action)) return;
  if (!ROLE_ACTIONS[self.role].has(action)) throw new HoldfastError('AUTH_FORBIDDEN');
  if (target !== undefined && target.id !== self.id && !MAY_TARGET[self.role].has(target.role)) {
    throw new HoldfastError('AUTH_FORBIDDEN');
  }
}
