import type { Kysely, Migration } from 'kysely';

/** What a session or temporary credential was derived from, so that it ends with that credential. */
export const migration0008: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
};
