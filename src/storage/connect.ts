/**
 * The only module that imports database drivers. It turns a `--db` URL into a Kysely instance:
 * `sqlite:PATH` (embedded default, WAL, durable commits) or `postgres://...` (multi-instance).
 */
import { chmodSync, closeSync, existsSync, fdatasync, fsyncSync, mkdirSync, openSync } from 'node:fs';
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
  type QueryResult,
} from 'kysely';
import { HoldfastError } from '../core/errors.js';
import { storageFault } from './faults.js';
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
  /**
   * Runs `work` in one transaction and returns once it has COMMITTED, with a promise that
   * settles once that commit is durable. Only SQLite files in asynchronous-sync mode have it
   * (see `connectSQLite`): their COMMIT does not wait for the disk, so the caller must not
   * acknowledge anything before `durable` resolves. Elsewhere a commit is durable when it returns.
   */
  deferredDurabilityTransaction?<T>(
    work: (trx: Kysely<Schema>) => Promise<T>,
  ): Promise<{ value: T; durable: Promise<void> }>;
}

/** Connection options. */
export interface ConnectOptions {
  /** Pool size for PostgreSQL. */
  poolSize?: number;
  /**
   * PostgreSQL: how long a query waits for a pooled connection (every one busy) or for a new
   * one to open before it fails as STORAGE_UNAVAILABLE (503) instead of hanging. Default 5 s.
   */
  connectTimeoutMs?: number;
  /** PostgreSQL `statement_timeout`: a statement running longer is cancelled (503). Default 15 s. */
  statementTimeoutMs?: number;
  /**
   * How an SQLite file makes a commit durable. `async` (default for files): `synchronous=NORMAL`
   * (COMMIT writes the WAL without waiting for the disk) and the WAL is then synced with
   * fdatasync on libuv's thread pool, off the event loop, before the commit is reported; syncs
   * are shared by every commit written before they start. `FULL`: `synchronous=FULL`, COMMIT
   * itself syncs the WAL on the event loop. Either way no commit is reported before it is on disk.
   */
  sqliteSynchronous?: 'async' | 'FULL';
}

/**
 * Durability in asynchronous-sync mode. SQLite (WAL, synchronous=NORMAL) writes a commit's
 * frames to the -wal file without syncing it; `sync()` then runs fdatasync on that file on
 * libuv's thread pool. A sync covers every frame written before it started, whichever process
 * or connection wrote it (the kernel flushes the file, not the descriptor), so commits that
 * arrive while one sync is in flight share the next one. The WAL file lives as long as any
 * connection is open (SQLite removes it only when the last one closes), and ours stays open.
 */
class WalSyncer {
  private fd: number | null = null;
  private inFlight: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly path: string) {}

  /** Resolves once everything written to the WAL before this call is on disk. */
  sync(): Promise<void> {
    if (this.inFlight === null) return this.start();
    // A sync already running may have started before the caller's write: wait for the next one.
    this.next ??= this.inFlight
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.next = null;
        return this.start();
      });
    return this.next;
  }

  private start(): Promise<void> {
    const run = new Promise<void>((resolve, reject) => {
      let fd: number;
      try {
        fd = this.open();
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      fdatasync(fd, (error) => (error ? reject(error) : resolve()));
    }).finally(() => {
      if (this.inFlight === run) this.inFlight = null;
    });
    this.inFlight = run;
    return run;
  }

  private open(): number {
    if (this.fd !== null) return this.fd;
    const fd = openSync(`${this.path}-wal`, 'r');
    // The WAL file's directory entry is made durable once, like SQLite does for a new journal.
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    this.fd = fd;
    return fd;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** What the driver knows about the single SQLite connection between statements. */
interface SyncState {
  syncer: WalSyncer | null;
  /** A statement that may have changed data ran since the last commit's sync was arranged. */
  dirty: boolean;
  /** Set by a deferred-durability transaction: its COMMIT hands the sync here instead of awaiting it. */
  deferred: { durable: Promise<void> | null } | null;
}

const CONTROL = /^\s*(begin|commit|end|rollback|savepoint|release)\b/i;
const READ = /^\s*(select|pragma\s+\w+\s*$)/i;

/**
 * SQLite transactions start with BEGIN IMMEDIATE so that two processes (a server and the CLI)
 * never deadlock upgrading a read lock to a write lock; busy_timeout then makes them queue.
 * In asynchronous-sync mode the driver also makes sure no write is reported before it is
 * durable: a statement that leaves the connection outside a transaction after a write (a
 * COMMIT, or an autocommitted write) waits for the WAL sync, unless the transaction is a
 * deferred-durability one, which takes the sync's promise instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  private wrapped: DatabaseConnection | null = null;

  constructor(
    config: ConstructorParameters<typeof SqliteDialect>[0],
    private readonly raw: () => SQLite.Database,
    private readonly state: SyncState,
  ) {
    super(config);
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.commitTransaction(connection);
    } finally {
      // A transaction that wrote nothing leaves no sync to hand over; the slot must not outlive it.
      this.state.deferred = null;
    }
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    this.state.deferred = null;
    // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR,
    // SQLITE_BUSY: https://sqlite.org/lang_transaction.html, "Response To Errors Within A
    // Transaction"); a second ROLLBACK would fail and hide that error from the caller.
    if (!this.raw().inTransaction) return;
    await super.rollbackTransaction(connection);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection();
    const syncer = this.state.syncer;
    if (syncer === null) return inner;
    if (this.wrapped === null) {
      const state = this.state;
      const raw = this.raw;
      this.wrapped = {
        async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
          const control = CONTROL.exec(query.sql)?.[1]?.toLowerCase();
          if (control === undefined && !READ.test(query.sql)) state.dirty = true;
          const result = await inner.executeQuery<R>(query);
          if (control === 'rollback' && !raw().inTransaction) state.dirty = false;
          if (state.dirty && !raw().inTransaction) {
            state.dirty = false;
            const durable = syncer.sync();
            if (state.deferred !== null) {
              state.deferred.durable = durable;
              state.deferred = null;
            } else {
              await durable;
            }
          }
          return result;
        },
        streamQuery: (query, chunkSize) => inner.streamQuery(query, chunkSize),
      };
    }
    return this.wrapped;
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    private readonly sqliteConfig: ConstructorParameters<typeof SqliteDialect>[0],
    private readonly raw: () => SQLite.Database,
    private readonly state: SyncState,
  ) {
    super(sqliteConfig);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.sqliteConfig, this.raw, this.state);
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
    const fault = storageFault(cause);
    throw new HoldfastError(
      fault?.code ?? 'STORAGE_UNAVAILABLE',
      `cannot open SQLite database at ${path}${fault === null ? '' : `: ${fault.message}`}`,
      { cause },
    );
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
  const asyncSync = path !== ':memory:' && (options.sqliteSynchronous ?? 'async') === 'async';
  let raw: SQLite.Database;
  try {
    raw = new SQLiteDatabase(path);
    raw.pragma('journal_mode = WAL');
    raw.pragma(`synchronous = ${asyncSync ? 'NORMAL' : 'FULL'}`);
    raw.pragma('busy_timeout = 10000');
    raw.pragma('foreign_keys = ON');
  } catch (cause) {
    // A read-only file or folder, or a lock held by another process, says so (storage/faults.ts).
    const fault = storageFault(cause);
    throw new HoldfastError(
      fault?.code ?? 'STORAGE_UNAVAILABLE',
      `cannot open SQLite database at ${path}${fault === null ? '' : `: ${fault.message}`}`,
      { cause },
    );
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
  const state: SyncState = { syncer: asyncSync ? new WalSyncer(path) : null, dirty: false, deferred: null };
  const kysely = new Kysely<Schema>({
    dialect: new ImmediateSqliteDialect({ database: cached }, () => raw, state),
  });
  const database: Database = {
    kysely,
    dialect: 'sqlite',
    displayUrl: `sqlite:${path}`,
    close: async () => {
      await kysely.destroy();
      state.syncer?.close();
    },
  };
  if (state.syncer !== null) {
    database.deferredDurabilityTransaction = async <T>(work: (trx: Kysely<Schema>) => Promise<T>) => {
      const slot: { durable: Promise<void> | null } = { durable: null };
      const value = await kysely.transaction().execute((trx) => {
        // The connection is ours from BEGIN to COMMIT: the COMMIT that clears this is our own.
        state.deferred = slot;
        return work(trx);
      });
      return { value, durable: slot.durable ?? Promise.resolve() };
    };
  }
  return database;
}

async function connectPostgres(url: string, options: ConnectOptions): Promise<Database> {
  const { default: pgModule } = await import('pg');
  // int8 (bigint) columns hold millisecond times and sequence numbers, all well inside
  // Number.MAX_SAFE_INTEGER; parse them as numbers rather than strings.
  pgModule.types.setTypeParser(20, (value: string) => Number(value));
  const pool: pg.Pool = new pgModule.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
  });
  const displayUrl = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  // An idle client whose server connection drops (restart, failover) emits 'error' on the pool;
  // unhandled, that would crash the process. The pool discards the client and opens a new one.
  pool.on('error', () => undefined);
  // A client checked out when its connection drops emits 'error' on itself, which the pool does
  // not listen to then: the query in flight fails (storage/faults.ts makes it a 503) and the
  // broken client is discarded on release; the event itself must not crash the process.
  pool.on('connect', (client) => client.on('error', () => undefined));
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
  // Unordered: a migration whose number was reserved may land after later ones were applied
  // (0013 after 0014); each migration stands alone, so applying it late is safe.
  const migrator = new Migrator({
    db: db.kysely,
    provider: migrationProvider,
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    throw new HoldfastError('STORAGE_UNAVAILABLE', 'database migration failed', { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
