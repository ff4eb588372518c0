import type { Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import type { Session } from '../core/sessions/session.js';

/** Facts about the request that caused a use case, for audit records and throttling. */
export interface RequestContext {
  requestId: string;
  sourceIp: string | null;
  userAgent: string | null;
  /**
   * The record of the call that carried this request (an AWS API call), when the face keeps one:
   * the use case's transaction appends it next to the record of its change, so that the change
   * and the record of the call that made it commit together.
   */
  call?: CallRecord;
  /**
   * The actions the face declared for this request (an HTTP route's `config.action` and
   * `config.alsoAuthorizes`). The declaration is the source of truth: `authorize` refuses to
   * authorize any other action for the request (INTERNAL_ERROR), so a route and its use case
   * cannot disagree on what is being authorized. Absent when the face declares nothing here.
   */
  declaredActions?: readonly string[];
}

/** What a face gives a use case to record the call in the transaction of its change. */
export interface CallRecord {
  /** Appends the call's record inside `tx`, right after the record of the change `fact` (once per transaction). */
  appendWithChange(
    tx: Repositories,
    fact: {
      accountId: string | null;
      action: string;
      target: string | null;
      details?: Record<string, unknown>;
    },
  ): Promise<void>;
}

/** Who is acting: a signed-in principal, or the host operator running the CLI against the database. */
export type Actor =
  | {
      kind: 'principal';
      principal: Principal;
      session: Session;
      /** How the request was signed: a session (console, JSON API, temporary keys) or long-term access keys. */
      credential?: 'session' | 'long-term-key';
      /**
       * A session policy (an AWS role session's AssumeRole `Policy`): the actor may do only what
       * both its own policies and this one allow.
       */
      sessionPolicy?: string;
      /**
       * An AWS role session: the actor is the role (its policies alone, no built-in role policy)
       * and is known by its assumed-role ARN.
       */
      roleSession?: { roleName: string; sessionName: string };
    }
  | { kind: 'operator' };

/** A context for CLI operations (no network peer). */
export function operatorContext(requestId: string): RequestContext {
  return { requestId, sourceIp: null, userAgent: 'holdfast-cli' };
}
