/**
 * What is derived from a credential dies with it. A session remembers every factor verified in
 * it; a temporary AWS credential remembers the factor whose code minted it and the long-term key
 * at the start of its chain. When a factor or a key goes, or a password changes, or recovery
 * completes, {@link revokeDerived} ends what was derived from it, in the same transaction as the
 * change, and writes one audit record saying what it ended and why (NIST SP 800-63B §7.1: a
 * session is bound to the authenticators that established it; OWASP Session Management Cheat
 * Sheet: invalidate sessions on a change of credentials).
 */

import type { Repositories } from '../core/ports.js';
import type { Actor, RequestContext } from './context.js';
import { writeAudit, type AppDeps } from './deps.js';

/** Why derived sessions and credentials were ended (stored as the session's revoked reason). */
export type DerivedRevocationReason =
  | 'factor_removed'
  | 'access_key_deactivated'
  | 'access_key_deleted'
  | 'first_factor_enabled'
  | 'admin_revoked'
  | 'password_changed'
  | 'password_reset'
  | 'password_set'
  | 'recovery_completed'
  | 'last_factor_removed';

/** What to end: everything of the principal, or only what one credential produced. */
export interface DerivedScope {
  accountId: string;
  principalId: string;
  /** Sessions in which this factor was verified, temporary credentials minted with its code. */
  factorId?: string;
  /** Temporary credentials descending from this long-term access key (sessions are not). */
  accessKeyId?: string;
  /** Only sessions and temporary credentials without MFA facts. */
  withoutMfa?: boolean;
  /** Leave sessions alone (only temporary credentials end). */
  temporaryOnly?: boolean;
  /** The acting session or credential, which stays. */
  exceptId?: string;
  reason: DerivedRevocationReason;
}

/** How many sessions and temporary credentials ended. */
export interface DerivedRevocation {
  sessionsRevoked: number;
  temporaryCredentialsRevoked: number;
}

/**
 * Ends every live session and temporary credential of a principal derived from a credential
 * (see {@link DerivedScope}), inside `tx`; audits what it ended as `credentials.revoke_derived`.
 */
export async function revokeDerived(
  deps: Pick<AppDeps, 'clock' | 'random'>,
  tx: Repositories,
  input: DerivedScope & { actor: Actor | null; ctx: RequestContext },
): Promise<DerivedRevocation> {
  const now = deps.clock.now();
  const common = {
    accountId: input.accountId,
    principalId: input.principalId,
    now,
    ...(input.factorId !== undefined ? { factorId: input.factorId } : {}),
    ...(input.withoutMfa === true ? { withoutMfa: true } : {}),
    ...(input.exceptId !== undefined ? { exceptId: input.exceptId } : {}),
  };
  const sessionsRevoked =
    input.accessKeyId !== undefined || input.temporaryOnly === true
      ? 0
      : await tx.sessions.revokeDerived({ ...common, reason: input.reason });
  const temporaryCredentialsRevoked = await tx.temporaryCredentials.revokeDerived({
    ...common,
    ...(input.accessKeyId !== undefined ? { sourceKeyId: input.accessKeyId } : {}),
  });
  if (sessionsRevoked + temporaryCredentialsRevoked > 0) {
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.accountId,
        action: 'credentials.revoke_derived',
        target: input.principalId,
        details: {
          reason: input.reason,
          ...(input.factorId !== undefined ? { factorId: input.factorId } : {}),
          ...(input.accessKeyId !== undefined ? { accessKeyId: input.accessKeyId } : {}),
          ...(input.withoutMfa === true ? { withoutMfa: true } : {}),
          sessionsRevoked,
          temporaryCredentialsRevoked,
          security: true,
        },
      },
    });
  }
  return { sessionsRevoked, temporaryCredentialsRevoked };
}
