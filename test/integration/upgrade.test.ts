/**
 * Upgrades (docs/operations.md, "Upgrades"): a database made by every earlier schema version
 * migrates to the current one with its data intact, on SQLite and PostgreSQL.
 *
 * The fixtures are generated from the migrations themselves, so a new migration is covered the
 * day it is added: for each version N, a fresh database is migrated up to N, every table the
 * schema has at N gets two rows (values made from the column types, unique per row, JSON where
 * a later migration parses a column), then the database is migrated to the latest version and
 * every row written at N must still be there with the same values in every column that still
 * exists (or, for a table a migration folded into another, in that table). And the other way
 * round: the previous release refuses a database the newest release migrated (fail closed).
 */
import { sql, Migrator, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/storage/connect.js';
import { MIGRATIONS, migrationProvider } from '../../src/storage/migrations/index.js';
import { DATABASE_KINDS, freshDatabase } from '../helpers/databases.js';

const NAMES = Object.keys(MIGRATIONS).sort();

/** Tables a migration folded into another (0013: setup links became single-use tokens). */
const MOVED: Record<string, string> = { setup_tokens: 'verification_tokens' };

interface Column {
  name: string;
  type: string;
  maxLength: number | null;
  nullable: boolean;
}

async function tables(database: Database): Promise<Map<string, Column[]>> {
  const db = database.kysely as unknown as Kysely<unknown>;
  const result = new Map<string, Column[]>();
  if (database.dialect === 'sqlite') {
    const names = await sql<{ name: string }>`select name from sqlite_master where type = 'table'
      and name not like 'sqlite_%' and name not like 'kysely_%'`.execute(db);
    for (const { name } of names.rows) {
      const cols = await sql<{
        name: string;
        type: string;
        notnull: number;
      }>`select name, type, "notnull" from pragma_table_info(${name})`.execute(db);
      result.set(
        name,
        cols.rows.map((c) => ({
          name: c.name,
          type: c.type.toLowerCase(),
          maxLength: null,
          nullable: c.notnull === 0,
        })),
      );
    }
  } else {
    const cols = await sql<{
      table_name: string;
      column_name: string;
      data_type: string;
      character_maximum_length: number | null;
      is_nullable: string;
    }>`select table_name, column_name, data_type, character_maximum_length, is_nullable
        from information_schema.columns where table_schema = current_schema()
        and table_name not like 'kysely_%' order by table_name, ordinal_position`.execute(db);
    for (const c of cols.rows) {
      const list = result.get(c.table_name) ?? [];
      list.push({
        name: c.column_name,
        type: c.data_type.toLowerCase(),
        maxLength: c.character_maximum_length,
        nullable: c.is_nullable === 'YES',
      });
      result.set(c.table_name, list);
    }
  }
  return result;
}

let counter = 0;
/** A value for a column: unique, within its length, JSON text where text is long enough. */
function valueFor(column: Column): unknown {
  counter++;
  const type = column.type;
  if (type === 'integer' || type === 'smallint') return counter % 30_000;
  if (/int|numeric|real|double/.test(type)) return 1_700_000_000_000 + counter;
  if (type === 'boolean') return counter % 2 === 0;
  if (type === 'bytea' || type === 'blob') return Buffer.from(`bytes-${counter}`);
  const text = `{"v":"u${counter.toString(36)}"}`;
  if (column.maxLength !== null && column.maxLength < text.length) {
    return `u${counter.toString(36)}`.slice(0, column.maxLength);
  }
  return text;
}

/** Rows as comparable strings: bigint and numeric text read back as numbers, buffers as hex. */
function normalise(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return `hex:${value.toString('hex')}`;
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value) && value.length < 16) return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

async function rows(db: Kysely<unknown>, table: string): Promise<Array<Record<string, unknown>>> {
  const result = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db);
  return result.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, normalise(v)])));
}

/** Foreign keys are not checked while the fixture rows go in (they point at made-up ids). */
async function foreignKeys(database: Database, on: boolean): Promise<void> {
  const db = database.kysely as unknown as Kysely<unknown>;
  if (database.dialect === 'sqlite') await sql.raw(`pragma foreign_keys = ${on ? 'ON' : 'OFF'}`).execute(db);
  else await sql.raw(`set session_replication_role = ${on ? 'origin' : 'replica'}`).execute(db);
}

describe.each(DATABASE_KINDS)('upgrades from every earlier schema version [$name]', ({ name }) => {
  let latest: Promise<Map<string, Column[]>> | null = null;
  /** The schema a fresh installation gets: an upgraded one must end exactly the same. */
  const latestSchema = () =>
    (latest ??= (async () => {
      const fresh = await freshDatabase(name);
      const database = await connectDatabase(fresh.url, { poolSize: 1 });
      try {
        await new Migrator({ db: database.kysely, provider: migrationProvider }).migrateToLatest();
        return await tables(database);
      } finally {
        await database.close();
        await fresh.cleanup();
      }
    })());

  it.each(NAMES.slice(0, -1).map((version, i) => ({ version, i })))(
    'a database made at $version migrates to the latest with its rows intact',
    async ({ version }) => {
      const fresh = await freshDatabase(name);
      // One connection: the session setting that lifts foreign-key checks must hold for the inserts.
      const database = await connectDatabase(fresh.url, { poolSize: 1 });
      const db = database.kysely as unknown as Kysely<unknown>;
      try {
        const migrator = new Migrator({ db: database.kysely, provider: migrationProvider });
        const to = await migrator.migrateTo(version);
        expect(to.error).toBeUndefined();

        const before = await tables(database);
        await foreignKeys(database, false);
        for (const [table, columns] of before) {
          for (let r = 0; r < 2; r++) {
            const row = Object.fromEntries(columns.map((c) => [c.name, valueFor(c)]));
            await db
              .insertInto(table as never)
              .values(row as never)
              .execute();
          }
        }
        await foreignKeys(database, true);
        const written = new Map<string, Array<Record<string, unknown>>>();
        for (const table of before.keys()) written.set(table, await rows(db, table));

        const latest = await migrator.migrateToLatest();
        expect(latest.error).toBeUndefined();
        const after = await tables(database);
        expect(JSON.stringify([...after].sort())).toBe(JSON.stringify([...(await latestSchema())].sort()));

        for (const [table, old] of written) {
          const target = after.has(table) ? table : MOVED[table];
          expect(target, `table ${table} disappeared`).toBeDefined();
          expect(after.has(target!), `table ${target} missing`).toBe(true);
          const now = await rows(db, target!);
          const kept = after.get(target!)!.map((c) => c.name);
          for (const row of old) {
            const expected = Object.fromEntries(Object.entries(row).filter(([k]) => kept.includes(k)));
            const found = now.some((candidate) =>
              Object.entries(expected).every(([k, v]) => candidate[k] === v),
            );
            expect(found, `${table} row ${JSON.stringify(expected)} after upgrade`).toBe(true);
          }
        }
        // The schema ends exactly where a fresh installation's does.
        expect((await migrator.getMigrations()).every((m) => m.executedAt !== undefined)).toBe(true);
      } finally {
        await database.close();
        await fresh.cleanup();
      }
    },
    60_000,
  );
});

describe.each(DATABASE_KINDS)('an older version meeting a newer schema [$name]', ({ name }) => {
  it('refuses to migrate (so it does not start) rather than run on a schema it does not know', async () => {
    const fresh = await freshDatabase(name);
    const database = await connectDatabase(fresh.url, { poolSize: 1 });
    try {
      await new Migrator({ db: database.kysely, provider: migrationProvider }).migrateToLatest();
      // The previous release: every migration but the newest.
      const previous = Object.fromEntries(NAMES.slice(0, -1).map((n) => [n, MIGRATIONS[n]!]));
      const old = new Migrator({
        db: database.kysely,
        provider: { getMigrations: () => Promise.resolve(previous) },
      });
      const result = await old.migrateToLatest();
      expect(result.error).toBeDefined();
      expect(String(result.error)).toMatch(/missing/);
    } finally {
      await database.close();
      await fresh.cleanup();
    }
  }, 60_000);
});
