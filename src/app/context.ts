import type { Principal } from '../core/principals/types.js';
import type { Session } from '../core/sessions/session.js';

/** Facts about the request that caused a use case, for audit records and throttling. */
export interface RequestContext {
  requestId: string;
  sourceIp: string | null;
  userAgent: string | null;
}

/** Who is acting: a signed-in principal, or the host operator running the CLI against the database. */
export type Actor =
  | {
      kind: 'principal';
      principal: Principal;
      session: Session;
      /** How the request was signed: a session (console, JSON API, temporary keys) or long-term access keys. */
      credential?: 'session' | 'long-term-key';
    }
  | { kind: 'operator' };

/** A context for CLI operations (no network peer). */
export function operatorContext(requestId: string): RequestContext {
  return { requestId, sourceIp: null, userAgent: 'holdfast-cli' };
}
