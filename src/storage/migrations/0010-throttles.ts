import type { Kysely, Migration } from 'kysely';

/** Password and recovery throttles keyed on the resolved principal, known-client tokens. */
export const migration0010: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
};
