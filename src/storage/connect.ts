/**
 * The only module that imports database drivers. It turns a `--db` URL into a Kysely instance:
 * `sqlite:PATH` (embedded default, WAL, durable commits) or `postgres://...` (multi-instance).
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type SQLite from 'better-sqlite3';
import type pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
} from 'kysely';
import { HoldfastError } from '../core/errors.js';
import { migrationProvider } from './migrations/index.js';
import type { Schema } from './schema.js';

/** Which engine a database runs on. */
export type Dialect = 'sqlite' | 'postgres';

/** An open database. */
export interface Database {
  kysely: Kysely<Schema>;
  dialect: Dialect;
  /** The URL with any password removed, for logs. */
  displayUrl: string;
  close(): Promise<void>;
}

/** Connection options. */
export interface ConnectOptions {
  /** Pool size for PostgreSQL. */
  poolSize?: number;
  /** SQLite `synchronous` pragma; FULL (default) makes every commit durable across power loss. */
  sqliteSynchronous?: 'FULL' | 'NORMAL';
}

/**
 * SQLite transactions start with BEGIN IMMEDIATE so that two processes (a server and the CLI)
 * never deadlock upgrading a read lock to a write lock; busy_timeout then makes them queue.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly sqliteConfig: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(sqliteConfig);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.sqliteConfig);
  }
}

/** Parses a `--db` URL and opens the database (without migrating). */
export async function connectDatabase(url: string, options: ConnectOptions = {}): Promise<Database> {
  if (url.startsWith('sqlite:')) return connectSQLite(url.slice('sqlite:'.length), options);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return connectPostgres(url, options);
  throw new HoldfastError('CONFIG_INVALID', 'database URL must start with sqlite: or postgres://');
}

/**
 * The database holds password hashes, sealed secrets and the audit trail: it is readable by its
 * owner only (0600), like the master key file. A new file is created that way (SQLite gives its
 * -wal and -shm files the mode of the database file); an existing one, and its -wal and -shm,
 * are tightened.
 */
function restrictDatabaseFiles(path: string): void {
  try {
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      if (existsSync(file)) chmodSync(file, 0o600);
    }
  } catch (cause) {
    throw new HoldfastError('STORAGE_UNAVAILABLE', `cannot open SQLite database at ${path}`, { cause });
  }
}

// Drivers load on demand: an installation on SQLite never pays for pg's code, and vice versa.
async function connectSQLite(path: string, options: ConnectOptions): Promise<Database> {
  if (path === '') throw new HoldfastError('CONFIG_INVALID', 'sqlite: URL needs a path (or :memory:)');
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    restrictDatabaseFiles(path);
  }
  const { default: SQLiteDatabase } = await import('better-sqlite3');
  let raw: SQLite.Database;
  try {
    raw = new SQLiteDatabase(path);
    raw.pragma('journal_mode = WAL');
    raw.pragma(`synchronous = ${options.sqliteSynchronous ?? 'FULL'}`);
    raw.pragma('busy_timeout = 10000');
    raw.pragma('foreign_keys = ON');
  } catch (cause) {
    throw new HoldfastError('STORAGE_UNAVAILABLE', `cannot open SQLite database at ${path}`, { cause });
  }
  // Kysely prepares every query anew; the SQL texts are few and fixed, so cache the statements.
  const statements = new Map<string, SQLite.Statement>();
  const cached = {
    prepare(sqlText: string) {
      let statement = statements.get(sqlText);
      if (statement === undefined) {
        statement = raw.prepare(sqlText);
        if (statements.size < 2000) statements.set(sqlText, statement);
      }
      return statement;
    },
    close: () => raw.close(),
  };
  const kysely = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: cached }) });
  return { kysely, dialect: 'sqlite', displayUrl: `sqlite:${path}`, close: () => kysely.destroy() };
}

async function connectPostgres(url: string, options: ConnectOptions): Promise<Database> {
  const { default: pgModule } = await import('pg');
  // int8 (bigint) columns hold millisecond times and sequence numbers, all well inside
  // Number.MAX_SAFE_INTEGER; parse them as numbers rather than strings.
  pgModule.types.setTypeParser(20, (value: string) => Number(value));
  const pool: pg.Pool = new pgModule.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  const displayUrl = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  // An idle client whose server connection drops (restart, failover) emits 'error' on the pool;
  // unhandled, that would crash the process. The pool discards the client and opens a new one.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new HoldfastError('STORAGE_UNAVAILABLE', `cannot connect to ${displayUrl}`, { cause });
  }
  const kysely = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return { kysely, dialect: 'postgres', displayUrl, close: () => kysely.destroy() };
}

/** Brings the schema up to date; safe to run from several processes at once. */
export async function migrateDatabase(db: Database): Promise<string[]> {
  const migrator = new Migrator({ db: db.kysely, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    throw new HoldfastError('STORAGE_UNAVAILABLE', 'database migration failed', { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
