/**
 * Backups at the storage layer: an online, consistent copy of a running SQLite database, and
 * the inspection of a backup file before it is restored. PostgreSQL is backed up with its own
 * tools (`pg_dump`, docs/operations.md); what Holdfast adds there is the check of the restored
 * database, which works on either engine (`schemaState`).
 */
import { closeSync, existsSync, fsyncSync, openSync, readSync, statSync, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { HoldfastError } from '../core/errors.js';
import type { Database } from './connect.js';
import { MIGRATIONS } from './migrations/index.js';

/** What a finished backup holds. */
export interface BackupFacts {
  path: string;
  bytes: number;
  /** SHA-256 of the file, hex: keep it beside the file to detect a damaged copy. */
  sha256: string;
  /** The last migration applied to the database the backup was taken from. */
  schemaVersion: string | null;
  /** The audit chain's head in the backup (null when the log is empty). */
  auditHead: { seq: number; hash: string } | null;
  /** The sealed key canary: the key that opens it is the key the backup needs. */
  keyCanary: string | null;
}

/** Where a database's schema stands against the migrations this version carries. */
export interface SchemaState {
  applied: string[];
  /** Migrations this version has that the database lacks (an older database: `migrate` adds them). */
  pending: string[];
  /** Migrations the database has that this version does not know (made by a newer version). */
  unknown: string[];
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

/** Reads the schema state of an open database (no migration table: nothing applied). */
export async function schemaState(database: Database): Promise<SchemaState> {
  let applied: string[] = [];
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
      database.kysely,
    );
    applied = rows.rows.map((r) => r.name);
  } catch {
    applied = [];
  }
  const known = Object.keys(MIGRATIONS).sort();
  return {
    applied,
    pending: known.filter((name) => !applied.includes(name)),
    unknown: applied.filter((name) => !known.includes(name)),
  };
}

async function auditHead(database: Database): Promise<{ seq: number; hash: string } | null> {
  const row = await sql<{
    seq: number;
    hash: string;
  }>`select seq, hash from audit_log order by seq desc limit 1`.execute(database.kysely);
  const first = row.rows[0];
  return first === undefined ? null : { seq: Number(first.seq), hash: first.hash };
}

async function keyCanary(database: Database): Promise<string | null> {
  const row = await sql<{ value: string }>`select value from meta where key = 'key_canary'`.execute(
    database.kysely,
  );
  return row.rows[0]?.value ?? null;
}

function sha256File(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Copies a live SQLite database to `outPath` with `VACUUM INTO`: the copy is made inside one
 * read transaction, so it is the database as of one commit however many writers (server
 * workers, other commands) keep committing meanwhile; WAL mode lets them go on while it runs.
 * The file is created beforehand with mode 0600 (it holds password hashes and sealed secrets)
 * and never overwrites an existing one; it is flushed to disk before the facts are returned.
 */
export async function backupSQLite(database: Database, outPath: string): Promise<BackupFacts> {
  if (database.dialect !== 'sqlite') {
    throw new HoldfastError(
      'BACKUP_ENGINE_UNSUPPORTED',
      'holdfast backup copies SQLite databases; back PostgreSQL up with pg_dump (docs/operations.md)',
    );
  }
  let fd: number;
  try {
    fd = openSync(outPath, 'wx', 0o600);
  } catch (cause) {
    const exists = (cause as NodeJS.ErrnoException).code === 'EEXIST';
    throw new HoldfastError(
      exists ? 'BACKUP_TARGET_NOT_EMPTY' : 'REQUEST_INVALID',
      exists ? `${outPath} already exists: a backup never overwrites a file` : `cannot create ${outPath}`,
      { cause },
    );
  }
  closeSync(fd);
  try {
    // One statement, one read transaction: the snapshot is consistent by construction.
    await sql`vacuum into ${outPath}`.execute(database.kysely);
    const sync = openSync(outPath, 'r+');
    try {
      fsyncSync(sync);
    } finally {
      closeSync(sync);
    }
  } catch (cause) {
    if (existsSync(outPath)) unlinkSync(outPath);
    throw new HoldfastError('STORAGE_UNAVAILABLE', 'the backup copy failed', { cause });
  }
  const state = await schemaState(database);
  return {
    path: outPath,
    bytes: statSync(outPath).size,
    sha256: sha256File(outPath),
    schemaVersion: state.applied[state.applied.length - 1] ?? null,
    ...(await inspectFacts(outPath)),
  };
}

async function inspectFacts(path: string): Promise<Pick<BackupFacts, 'auditHead' | 'keyCanary'>> {
  const copy = await openBackupReadOnly(path);
  try {
    return { auditHead: await auditHead(copy), keyCanary: await keyCanary(copy) };
  } finally {
    await copy.close();
  }
}

/** Opens a backup file read-only (nothing is written to it, no WAL is created). */
async function openBackupReadOnly(path: string): Promise<Database> {
  const { default: SQLiteDatabase } = await import('better-sqlite3');
  const { Kysely, SqliteDialect } = await import('kysely');
  const raw = new SQLiteDatabase(path, { readonly: true, fileMustExist: true });
  const kysely = new Kysely<never>({ dialect: new SqliteDialect({ database: raw }) });
  return {
    kysely: kysely as unknown as Database['kysely'],
    dialect: 'sqlite',
    displayUrl: `sqlite:${path}`,
    close: () => kysely.destroy(),
  };
}

/** What `inspectBackupFile` found in a file about to be restored. */
export interface BackupInspection extends SchemaState {
  bytes: number;
  sha256: string;
  auditHead: { seq: number; hash: string } | null;
  keyCanary: string;
}

/**
 * Checks that a file is a whole Holdfast SQLite backup before anything is restored from it: the
 * SQLite header, `PRAGMA integrity_check` (every page, index and constraint), a migration table
 * this version can read (no migration it does not know) and the key canary.
 */
export async function inspectBackupFile(path: string): Promise<BackupInspection> {
  const invalid = (message: string, cause?: unknown) =>
    new HoldfastError('BACKUP_INVALID', message, cause === undefined ? undefined : { cause });
  if (!existsSync(path) || !statSync(path).isFile()) throw invalid(`${path} is not a file`);
  const header = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== SQLITE_MAGIC) throw invalid(`${path} is not an SQLite database`);
  let copy: Database;
  try {
    copy = await openBackupReadOnly(path);
  } catch (cause) {
    throw invalid(`${path} cannot be opened as an SQLite database`, cause);
  }
  try {
    const check = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(copy.kysely);
    const verdict = check.rows.map((r) => r.integrity_check);
    if (verdict.length !== 1 || verdict[0] !== 'ok') {
      throw invalid(`${path} is damaged: ${verdict.slice(0, 3).join('; ')}`);
    }
    const state = await schemaState(copy);
    if (state.applied.length === 0) throw invalid(`${path} is not a Holdfast database (no migrations)`);
    if (state.unknown.length > 0) {
      throw new HoldfastError(
        'BACKUP_SCHEMA_NEWER',
        `${path} was made by a newer Holdfast (migrations ${state.unknown.join(', ')}): restore it with that version`,
      );
    }
    const canary = await keyCanary(copy);
    if (canary === null) throw invalid(`${path} has no master-key canary: not a Holdfast database`);
    return {
      ...state,
      bytes: statSync(path).size,
      sha256: sha256File(path),
      auditHead: await auditHead(copy),
      keyCanary: canary,
    };
  } catch (err) {
    if (err instanceof HoldfastError) throw err;
    throw invalid(`${path} cannot be read as a Holdfast database`, err);
  } finally {
    await copy.close();
  }
}

/** The tables of a database (not the migration bookkeeping), sorted. */
export async function tableNames(database: Database): Promise<string[]> {
  const rows =
    database.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'
          and name not like 'sqlite_%' and name not like 'kysely_%'`.execute(database.kysely)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE'
          and table_name not like 'kysely_%'`.execute(database.kysely);
  return rows.rows.map((r) => r.name).sort();
}

/** Rows per table: what a restore is compared with. */
export async function rowCounts(database: Database): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of await tableNames(database)) {
    const row = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
      database.kysely,
    );
    counts[table] = Number(row.rows[0]?.n ?? 0);
  }
  return counts;
}
