import type { Kysely, Migration } from 'kysely';

/** Owner break-glass and account-wide policy ownership. */
export const migration0009: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
};
