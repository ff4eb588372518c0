import type { Kysely } from 'kysely';
import type { MetaRepository } from '../../core/ports.js';
import type { Schema } from '../schema.js';

/** Installation facts on Kysely. */
export function metaRepository(db: Kysely<Schema>): MetaRepository {
  return {
    async get(key) {
      const row = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
      return row ? row.value : null;
    },
    async put(key, value) {
      await db
        .insertInto('meta')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
    },
  };
}
