import type { Kysely, Migration } from 'kysely';

/** Column widths that callers can reach, outbox claims. */
export const migration0012: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
};
