/**
 * Backup, restore and the check of a restored database (composition root: it wires the storage
 * layer's copy and inspection, the master key and the app's audit verification). The CLI's
 * `backup`, `restore` and `backup-check` commands call these; docs/operations.md is the manual.
 */
import { copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, closeSync, readdirSync } from 'node:fs';
import { readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { AuditVerification } from './app/audit-log.js';
import type { Config } from './config/config.js';
import { HoldfastError, isHoldfastError } from './core/errors.js';
import { metaContext, META_KEY_CANARY, openInstallation } from './installation.js';
import { KEY_FILE_NAME, parseKeyRingText, ringKeys, writeKeyFile } from './platform/master-key.js';
import { createSecretBox, type KeyRing } from './platform/secret-box.js';
import {
  backupSQLite,
  inspectBackupFile,
  rowCounts,
  schemaState,
  type BackupFacts,
  type SchemaState,
} from './storage/backup.js';
import { connectDatabase } from './storage/connect.js';

/** Takes an online, consistent backup of the SQLite database `config.db` into `outPath`. */
export async function takeBackup(config: Config, outPath: string): Promise<BackupFacts> {
  const database = await connectDatabase(config.db);
  try {
    return await backupSQLite(database, resolve(outPath));
  } finally {
    await database.close();
  }
}

/** What the check of a database found. */
export interface DatabaseCheck {
  /** True when the audit log verifies and the schema is one this version can serve. */
  ok: boolean;
  schema: SchemaState;
  audit: AuditVerification;
  /** Rows per table, to compare with the source of the backup. */
  rows: Record<string, number>;
}

/**
 * Checks a database as restored (SQLite file or a PostgreSQL database filled by pg_restore):
 * the master key opens it (the canary), the schema is one this version knows, and the audit
 * chain and its checkpoints verify. Nothing is written (no migration, no checkpoint).
 */
export async function checkDatabase(config: Config): Promise<DatabaseCheck> {
  const inst = await openInstallation(config, { migrate: false });
  try {
    const schema = await schemaState(inst.database);
    const audit = await inst.app.verifyAudit({ actor: { kind: 'operator' } });
    const rows = await rowCounts(inst.database);
    return { ok: audit.ok && schema.unknown.length === 0, schema, audit, rows };
  } finally {
    await inst.close();
  }
}

function keyRingFromFile(path: string): KeyRing {
  let keys: unknown;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown; keys?: unknown };
    keys = parsed.version === 1 ? parsed.keys : undefined;
  } catch (cause) {
    throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', `${path} is not a readable key file`, { cause });
  }
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
    throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', `${path} is not a valid key file`);
  }
  return parseKeyRingText(keys.join(','));
}

/** A data folder that does not exist, or exists and holds nothing. */
function assertEmptyTarget(dataDir: string, dbPath: string): void {
  if (existsSync(dataDir)) {
    if (!statSync(dataDir).isDirectory()) {
      throw new HoldfastError('BACKUP_TARGET_NOT_EMPTY', `${dataDir} exists and is not a folder`);
    }
    const entries = readdirSync(dataDir);
    if (entries.length > 0) {
      throw new HoldfastError(
        'BACKUP_TARGET_NOT_EMPTY',
        `${dataDir} is not empty (${entries.slice(0, 3).join(', ')}): restore only into an empty data folder`,
      );
    }
  }
  if (existsSync(dbPath)) {
    throw new HoldfastError(
      'BACKUP_TARGET_NOT_EMPTY',
      `${dbPath} exists: restore never overwrites a database`,
    );
  }
}

/** What a restore did. */
export interface RestoreResult extends DatabaseCheck {
  dbPath: string;
  /** Migrations applied after the copy (a backup made by an older version). */
  migrated: string[];
  /** Where the key went: a key file written into the data folder, or the environment. */
  keySource: 'file' | 'env';
}

/**
 * Restores a backup file into an empty data folder: the file is inspected (SQLite header,
 * integrity check, schema, canary), the key (HOLDFAST_MASTER_KEY, or `keyFile` copied into the
 * folder) must open its canary before anything is written, the copy is flushed and renamed into
 * place, migrated when older, and checked (audit chain and checkpoints). Any failure removes
 * what the restore wrote, leaving the folder empty again.
 */
export async function restoreBackup(input: {
  config: Config;
  file: string;
  keyFile?: string;
}): Promise<RestoreResult> {
  const { config } = input;
  if (!config.db.startsWith('sqlite:') || config.db === 'sqlite::memory:') {
    throw new HoldfastError(
      'BACKUP_ENGINE_UNSUPPORTED',
      'holdfast restore writes an SQLite data folder; restore PostgreSQL with pg_restore (docs/operations.md)',
    );
  }
  const dbPath = resolve(config.db.slice('sqlite:'.length));
  const dataDir = resolve(config.dataDir);
  assertEmptyTarget(dataDir, dbPath);
  const inspection = await inspectBackupFile(resolve(input.file));

  const envKey = config.masterKey !== undefined && config.masterKey.trim() !== '';
  if (input.keyFile === undefined && !envKey) {
    throw new HoldfastError(
      'CRYPTO_MASTER_KEY_MISSING',
      'a backup is useless without its master key: give --key-file (the master.key kept with the backup) or HOLDFAST_MASTER_KEY',
    );
  }
  const ring =
    input.keyFile !== undefined ? keyRingFromFile(input.keyFile) : parseKeyRingText(config.masterKey!);
  try {
    createSecretBox(ring).open(inspection.keyCanary, metaContext(META_KEY_CANARY));
  } catch (cause) {
    throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', 'the master key given does not open this backup', {
      cause,
    });
  }

  const dataDirExisted = existsSync(dataDir);
  const written: string[] = [];
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    mkdirSync(dirname(dbPath), { recursive: true, mode: 0o700 });
    const partial = `${dbPath}.restoring`;
    written.push(partial);
    closeSync(openSync(partial, 'wx', 0o600));
    copyFileSync(resolve(input.file), partial);
    const fd = openSync(partial, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    written.push(dbPath, `${dbPath}-wal`, `${dbPath}-shm`);
    renameSync(partial, dbPath);
    // The key goes with the database only when it came as a file: one from the environment stays there.
    const useEnv = input.keyFile === undefined;
    if (!useEnv) {
      const keyPath = join(dataDir, KEY_FILE_NAME);
      written.push(keyPath);
      writeKeyFile(keyPath, ringKeys(ring));
    }
    const restoredConfig: Config = useEnv ? config : { ...config, masterKey: undefined };
    const migrated = inspection.pending.length > 0 ? inspection.pending : [];
    // Opening migrates a backup made by an older version; then the same check as backup-check.
    const opened = await openInstallation(restoredConfig);
    await opened.close();
    const check = await checkDatabase(restoredConfig);
    if (!check.ok) {
      throw new HoldfastError(
        'AUDIT_CHAIN_BROKEN',
        `the restored audit log does not verify (${check.audit.firstBroken?.reason ?? check.audit.problems[0]?.kind ?? 'unknown'})`,
      );
    }
    return { ...check, dbPath, migrated, keySource: useEnv ? 'env' : 'file' };
  } catch (err) {
    for (const path of written) rmSync(path, { force: true });
    if (!dataDirExisted) rmSync(dataDir, { recursive: true, force: true });
    if (isHoldfastError(err)) throw err;
    throw new HoldfastError('STORAGE_UNAVAILABLE', 'the restore failed', { cause: err });
  }
}

/**
 * Checks a backup file without touching any installation: restores it into a temporary folder
 * (the whole restore path: inspection, key, migration, audit verification) and removes it.
 */
export async function checkBackupFile(input: {
  config: Config;
  file: string;
  keyFile?: string;
}): Promise<RestoreResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'holdfast-backup-check-'));
  try {
    const dataDir = join(scratch, 'data');
    return await restoreBackup({
      config: { ...input.config, dataDir, db: `sqlite:${join(dataDir, 'holdfast.db')}` },
      file: input.file,
      ...(input.keyFile === undefined ? {} : { keyFile: input.keyFile }),
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
