import type { AppDeps } from './deps.js';

/**
 * Readiness: one read through the store (the installation's key canary), so a database that
 * cannot answer makes the probe fail. Throws whatever the store throws.
 */
export async function checkReadiness(deps: AppDeps): Promise<void> {
  await deps.store.meta.get('key_canary');
}
