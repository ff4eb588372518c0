import type { Kysely, Migration } from 'kysely';

/** Signed checkpoints of the audit chain head. */
export const migration0011: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
};
