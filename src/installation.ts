/**
 * Wires configuration to storage, secrets and the app layer. The server and every CLI command
 * that touches the database open the installation the same way, so they share the database
 * and the master key (file in the data folder or HOLDFAST_MASTER_KEY).
 */
import { createApp, type App } from './app/create-app.js';
import type { Config } from './config/config.js';
import { HoldfastError, isHoldfastError } from './core/errors.js';
import type { SecretBox, Store } from './core/ports.js';
import { commonPasswords } from './platform/common-passwords.js';
import {
  createKeyFile,
  keyRingFrom,
  loadKeyRing,
  ringKeys,
  writeKeyFile,
  type LoadedKeyRing,
} from './platform/master-key.js';
import { createPasswordHasher } from './platform/password-hasher.js';
import { parsePSKCInWorker } from './platform/pskc-parser.js';
import { createQrCodeRenderer } from './platform/qr-codes.js';
import { createSecretBox, keyIdOf } from './platform/secret-box.js';
import { systemClock, systemRandom } from './platform/system.js';
import type { Clock } from './core/clock.js';
import { connectDatabase, migrateDatabase, type Database } from './storage/connect.js';
import { withStorageFaults } from './storage/faults.js';
import { createStore } from './storage/store.js';

/** The pool size and timeouts of the configuration, as the storage layer takes them. */
function databaseOptions(config: Config) {
  return {
    poolSize: config.dbPool.size,
    connectTimeoutMs: config.dbPool.connectTimeoutMs,
    statementTimeoutMs: config.dbPool.statementTimeoutMs,
  };
}

/** The common-password list is loaded on first use (password changes), not at start-up. */
const lazyCommonPasswords: ReadonlySet<string> = {
  has: (value: string) => commonPasswords().has(value),
  get size() {
    return commonPasswords().size;
  },
} as ReadonlySet<string>;

/** Meta keys holding sealed installation secrets. */
export const META_KEY_CANARY = 'key_canary';
export const META_PEPPER = 'hmac_pepper';
const CANARY_PLAINTEXT = 'holdfast-master-key-check';

/** An open installation. */
export interface Installation {
  config: Config;
  database: Database;
  store: Store;
  app: App;
  keyRing: LoadedKeyRing;
  secretBox: SecretBox;
  close(): Promise<void>;
}

/** Options for opening. */
export interface OpenOptions {
  /** Run migrations first (the server and `migrate` do; default true). */
  migrate?: boolean;
  clock?: Clock;
}

/** The context string (AAD) for a sealed meta value. */
export function metaContext(key: string): string {
  return `meta:${key}`;
}

/**
 * Loads the key ring and checks it against the database's canary. A fresh SQLite database
 * gets a new key file (mode 0600); an existing database without its key is refused.
 */
async function resolveKeys(config: Config, store: Store, preloaded: LoadedKeyRing | null) {
  const canary = await store.meta.get(META_KEY_CANARY);
  let loaded = preloaded;
  if (loaded === null) {
    if (canary !== null) {
      throw new HoldfastError(
        'CRYPTO_MASTER_KEY_MISSING',
        `no master key: set HOLDFAST_MASTER_KEY or put the key file in ${config.dataDir}`,
      );
    }
    loaded = createKeyFile(config.dataDir);
  }
  const box = createSecretBox(loaded.ring);
  if (canary === null) {
    await store.transaction(async (tx) => {
      await tx.meta.put(
        META_KEY_CANARY,
        box.seal(Buffer.from(CANARY_PLAINTEXT), metaContext(META_KEY_CANARY)),
      );
      await tx.meta.put(META_PEPPER, box.seal(systemRandom.bytes(32), metaContext(META_PEPPER)));
    });
  } else {
    try {
      box.open(canary, metaContext(META_KEY_CANARY));
    } catch (cause) {
      throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', 'the master key does not match this database', {
        cause,
      });
    }
  }
  const pepperSealed = await store.meta.get(META_PEPPER);
  if (pepperSealed === null)
    throw new HoldfastError('CRYPTO_MASTER_KEY_INVALID', 'installation pepper missing');
  return { loaded, box, pepper: box.open(pepperSealed, metaContext(META_PEPPER)) };
}

/** Brings the database up to date and closes it, without the master key (`holdfast migrate`). */
export async function migrateInstallationDatabase(config: Config): Promise<string[]> {
  const database = await connectDatabase(config.db);
  try {
    return await migrateDatabase(database);
  } finally {
    await database.close();
  }
}

/** Opens the database (migrating it), loads the master key and builds the app. */
export async function openInstallation(config: Config, options: OpenOptions = {}): Promise<Installation> {
  // The key is checked before anything is written: a malformed key, or no key for PostgreSQL
  // (where no key file is created), fails before migrations touch the database.
  const preloaded = loadKeyRing({ envValue: config.masterKey, dataDir: config.dataDir });
  const database = await connectDatabase(config.db, databaseOptions(config));
  try {
    if (preloaded === null && database.dialect !== 'sqlite') {
      throw new HoldfastError(
        'CRYPTO_MASTER_KEY_MISSING',
        `no master key: set HOLDFAST_MASTER_KEY or put the key file in ${config.dataDir}`,
      );
    }
    if (options.migrate ?? true) await migrateDatabase(database);
    // Database faults (gone, busy, full, read-only) leave as typed errors: 503, never 500.
    const store = withStorageFaults(createStore(database));
    const { loaded, box, pepper } = await resolveKeys(config, store, preloaded);
    const app = createApp({
      store,
      clock: options.clock ?? systemClock,
      random: systemRandom,
      secretBox: box,
      passwords: createPasswordHasher(config.argon2),
      pepper,
      commonPasswords: lazyCommonPasswords,
      parsePSKC: parsePSKCInWorker,
      qrCodes: createQrCodeRenderer(),
      webauthn: () => import('./platform/webauthn.js'),
      settings: {
        sessionIdleMs: config.sessionIdleMinutes * 60_000,
        sessionAbsoluteMs: config.sessionAbsoluteHours * 3_600_000,
        passwordMinLength: config.passwordMinLength,
        setupTokenTtlMs: 72 * 3_600_000,
        mfa: config.mfa,
        webauthn: config.webauthn,
      },
    });
    const close = async () => {
      // What committed is linked into the audit chain before the process leaves (PostgreSQL).
      await store.sealAudit().catch(() => undefined);
      await database.close();
    };
    return { config, database, store, app, keyRing: loaded, secretBox: box, close };
  } catch (err) {
    await database.close().catch(() => undefined);
    if (isHoldfastError(err)) throw err;
    throw new HoldfastError('STORAGE_UNAVAILABLE', 'cannot open the database', { cause: err });
  }
}

/** What a rotation did. */
export interface RotationResult {
  oldKeyId: string;
  newKeyId: string;
  resealed: number;
  /** Base64 of the new key when the key came from HOLDFAST_MASTER_KEY (the operator must store it). */
  newKeyForEnv: string | null;
}

/**
 * Rotates the master key: a new key becomes current, every sealed value is re-encrypted under
 * it in one transaction (the app's resealSecrets), and the old key is dropped. With a key file,
 * the file first holds both keys (so a crash at any point leaves every value readable), then
 * only the new one. Running servers keep the old key in memory: stop them first and start them after.
 */
export async function rotateMasterKey(
  installation: Installation,
  onProgress?: (done: number, total: number) => void,
): Promise<RotationResult> {
  const { keyRing } = installation;
  const newKey = Buffer.from(systemRandom.bytes(32));
  const oldKeys = ringKeys(keyRing.ring);
  if (keyRing.origin.kind === 'file') writeKeyFile(keyRing.origin.path, [newKey, ...oldKeys]);
  const oldKeyId = keyRing.ring.currentId;
  const newKeyId = keyIdOf(newKey);
  const resealed = await installation.app.resealSecrets({
    box: createSecretBox(keyRingFrom([newKey, ...oldKeys])),
    oldKeyId,
    newKeyId,
    onProgress,
  });
  if (keyRing.origin.kind === 'file') writeKeyFile(keyRing.origin.path, [newKey]);
  return {
    oldKeyId,
    newKeyId,
    resealed,
    newKeyForEnv: keyRing.origin.kind === 'env' ? newKey.toString('base64') : null,
  };
}
