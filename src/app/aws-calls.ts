import type { Actor, RequestContext } from './context.js';
import { writeAudit, writeRefusal, type AppDeps, type AuditFact } from './deps.js';

/**
 * Records a call of the AWS-compatible API that changed nothing (a read, or a refusal) in a
 * transaction of its own. A refusal of a request nobody authenticated (`unverified`) is counted
 * per source and reason rather than written one row each.
 */
export async function recordAwsCall(
  deps: AppDeps,
  input: { actor: Actor | null; ctx: RequestContext; fact: AuditFact; unverified: boolean },
): Promise<void> {
  const { unverified, ...record } = input;
  await deps.store.transaction((tx) =>
    unverified ? writeRefusal(deps, tx, record) : writeAudit(deps, tx, record),
  );
}
