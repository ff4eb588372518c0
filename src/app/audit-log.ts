import { ChainVerifier, type ChainBreak } from '../core/audit/chain.js';
import type { AuditRecord } from '../core/audit/event.js';
import { HoldfastError } from '../core/errors.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import type { AppDeps } from './deps.js';

const BATCH = 1000;

/** Result of verifying the whole chain. */
export interface AuditVerification {
  ok: boolean;
  records: number;
  firstBroken: ChainBreak | null;
}

/** Reads the whole log in sequence order, in batches. */
export async function* scanAudit(deps: AppDeps): AsyncGenerator<AuditRecord> {
  let after = 0;
  for (;;) {
    const batch = await deps.store.audit.scan(after, BATCH);
    if (batch.length === 0) return;
    yield* batch;
    after = batch[batch.length - 1]!.seq;
  }
}

/** Verifies the hash chain from the first record; stops at the first changed, deleted or inserted row. */
export async function verifyAudit(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; onProgress?: (done: number, total: number) => void },
): Promise<AuditVerification> {
  await authorize(deps, input.actor, ACTIONS.VerifyAuditLog, { accountId: '' }, input.ctx);
  const total = await deps.store.audit.count();
  const verifier = new ChainVerifier();
  for await (const record of scanAudit(deps)) {
    const broken = verifier.check(record);
    if (broken !== null) return { ok: false, records: verifier.count, firstBroken: broken };
    if (verifier.count % BATCH === 0) input.onProgress?.(verifier.count, total);
  }
  input.onProgress?.(verifier.count, total);
  return { ok: true, records: verifier.count, firstBroken: null };
}

/** The CloudTrail-like JSON shape of one record, for export and the API. */
export function auditRecordJSON(record: AuditRecord): Record<string, unknown> {
  return {
    seq: record.seq,
    eventId: record.eventId,
    eventTime: new Date(record.time).toISOString(),
    eventName: record.action,
    accountId: record.accountId,
    userIdentity: { type: record.actorType, principalId: record.actorId },
    target: record.target,
    sourceIPAddress: record.sourceIp,
    userAgent: record.userAgent,
    outcome: record.outcome,
    errorCode: record.errorCode,
    details: record.details,
    prevHash: record.prevHash,
    hash: record.hash,
  };
}

/** Most records "my recent security events" returns. */
const OWN_EVENTS_LIMIT = 50;

/**
 * The caller's own recent security events, newest first: what they did and what was done to
 * them (sign-ins, factor changes, refusals, resets), from the audit log. Self-service.
 */
export async function listOwnSecurityEvents(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx?: RequestContext; limit?: number },
): Promise<AuditRecord[]> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListOwnSecurityEvents,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const limit = Math.min(input.limit ?? OWN_EVENTS_LIMIT, OWN_EVENTS_LIMIT);
  return deps.store.audit.query({
    accountId: principal.accountId,
    about: principal.id,
    newestFirst: true,
    limit,
  });
}

/** Reads an account's audit records for the API (admins of that account). */
export async function readAudit(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx?: RequestContext;
    accountId: string;
    afterSeq?: number;
    limit?: number;
    action?: string;
  },
): Promise<AuditRecord[]> {
  await authorize(deps, input.actor, ACTIONS.ReadAuditLog, { accountId: input.accountId }, input.ctx);
  const limit = input.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new HoldfastError('REQUEST_INVALID', 'limit must be 1-1000');
  return deps.store.audit.query({
    accountId: input.accountId,
    afterSeq: input.afterSeq ?? 0,
    limit,
    ...(input.action === undefined ? {} : { action: input.action }),
  });
}
