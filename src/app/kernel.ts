/**
 * The use-case kernel: one command of a face (an HTTP route, an AWS action, a CLI command) is
 * authorized once, runs in ONE transaction, and leaves exactly one audit record of its change.
 *
 * ```
 * kernel(deps).run(actor, ctx, action, resource, work)
 *   1. authorize once (account walls, guardrails, then policies); a denial is audited and thrown
 *   2. work(uow) in one transaction: the use case and the steps it composes (second-factor
 *      check, admission, session issue) share the unit of work
 *   3. the one audit record the work set, with the face's call facts (ctx.call: the AWS
 *      `aws.call` record, CloudTrail's fields) in the same transaction, then commit
 * ```
 *
 * A refusal that must count although the command fails (a wrong second factor, a throttled
 * attempt) is recorded by the step that refused, and the work ends with `uow.failAfterCommit`:
 * the transaction commits what was counted, then the kernel throws the refusal.
 */

import { HoldfastError } from '../core/errors.js';
import type { Repositories } from '../core/ports.js';
import type { Action } from './actions.js';
import { authorize, type Resource } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { writeAudit, type AppDeps, type AuditFact } from './deps.js';

/** What the steps of one command share: its transaction, who acts, the request, its record. */
export interface UnitOfWork {
  readonly tx: Repositories;
  readonly actor: Actor | null;
  readonly ctx: RequestContext;
  /** Sets the one audit record of the command (written when the work succeeds). */
  record(fact: AuditFact): void;
  /**
   * Ends the work with a refusal whose bookkeeping must stay (counted failures, their own audit
   * records): the transaction commits, then the kernel throws `error`. Return its result.
   */
  failAfterCommit(error: Error): Failed;
}

/** The result of a work that ended with `failAfterCommit`. */
export interface Failed {
  readonly failed: Error;
}

/** What the command is authorized as; null for commands no permission governs (sign-in, STS). */
export interface Authorization {
  action: Action;
  resource: Resource;
}

/** The kernel over one installation's dependencies. */
export interface Kernel {
  run<T>(
    actor: Actor | null,
    ctx: RequestContext,
    authorization: Authorization | null,
    work: (uow: UnitOfWork) => Promise<T | Failed>,
  ): Promise<T>;
}

const FAILED = Symbol('failed');

/** Runs a command: authorize once, one transaction, one audit record. */
export async function runCommand<T>(
  deps: AppDeps,
  actor: Actor | null,
  ctx: RequestContext,
  authorization: Authorization | null,
  work: (uow: UnitOfWork) => Promise<T | Failed>,
): Promise<T> {
  if (authorization !== null) {
    if (actor === null) throw new HoldfastError('AUTH_SESSION_REQUIRED');
    await authorize(deps, actor, authorization.action, authorization.resource, ctx);
  }
  const outcome = await deps.store.transaction(async (tx) => {
    let fact: AuditFact | null = null;
    const uow: UnitOfWork = {
      tx,
      actor,
      ctx,
      record(next) {
        if (fact !== null) throw new HoldfastError('INTERNAL_ERROR', 'a command has one audit record');
        fact = next;
      },
      failAfterCommit: (error) => ({ failed: error, [FAILED]: true }) as Failed,
    };
    const value = await work(uow);
    if (isFailed(value)) return value;
    if (fact === null) throw new HoldfastError('INTERNAL_ERROR', 'a command left no audit record');
    await writeAudit(deps, tx, { actor, ctx, fact });
    return { value };
  });
  if (isFailed(outcome)) throw outcome.failed;
  return outcome.value;
}

function isFailed(value: unknown): value is Failed {
  return typeof value === 'object' && value !== null && FAILED in value;
}

/** The kernel bound to `deps`. */
export function kernel(deps: AppDeps): Kernel {
  return { run: (actor, ctx, authorization, work) => runCommand(deps, actor, ctx, authorization, work) };
}
