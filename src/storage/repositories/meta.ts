import { sql, type Kysely } from 'kysely';
import type { MetaRepository } from '../../core/ports.js';
import { MIGRATIONS } from '../migrations/index.js';
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
    async pendingMigrations() {
      // Kysely's Migrator keeps one row per applied migration (a few dozen short rows).
      const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
      const applied = new Set(rows.map((row) => row.name));
      return Object.keys(MIGRATIONS).filter((name) => !applied.has(name));
    },
  };
}
