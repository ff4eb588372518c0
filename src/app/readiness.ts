import { HoldfastError } from '../core/errors.js';
import type { OutboxBacklog } from '../core/ports.js';
import type { AppDeps } from './deps.js';

/**
 * Readiness: one read through the store (the installation's key canary), so a database that
 * cannot answer makes the probe fail, and the list of applied migrations, so a database whose
 * schema is older than this build (another instance about to migrate it, a restore of an older
 * backup) is not sent traffic this build would fail on. Throws whatever the store throws, or
 * STORAGE_UNAVAILABLE naming how many migrations are pending.
 */
export async function checkReadiness(deps: AppDeps): Promise<void> {
  await deps.store.meta.get('key_canary');
  const pending = await deps.store.meta.pendingMigrations();
  if (pending.length > 0) {
    throw new HoldfastError('STORAGE_UNAVAILABLE', `${pending.length} database migration(s) pending`, {
      details: { pendingMigrations: pending.length },
    });
  }
}

/** The outbox's undelivered messages per channel, with the oldest pending one's age (metrics). */
export async function outboxBacklog(
  deps: AppDeps,
): Promise<Array<OutboxBacklog & { oldestPendingAgeSeconds: number }>> {
  const now = deps.clock.now();
  return (await deps.store.outbox.backlog()).map((b) => ({
    ...b,
    oldestPendingAgeSeconds: b.oldestPendingAt === null ? 0 : Math.max(0, (now - b.oldestPendingAt) / 1000),
  }));
}
