// Bulk seeding for the population scenario: a large number of users written straight into an
// SQLite database file with prepared INSERT statements (better-sqlite3 in the bench process, big
// transactions), not through the API and not through the repositories, so that a million users
// take seconds, not hours. Each user is an active principal with one enabled TOTP factor whose
// secret is sealed under the installation's master key as the app seals it
// (`secretBox.seal(secret, 'factor:<id>')`), so the rows look like the ones the server writes.
// The database must already be migrated (open it once with openInstallationAt first).
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { ROOT } from './lib.mjs';

const require = createRequire(`${ROOT}/package.json`);
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ROWS_PER_TRANSACTION = 50_000;

// Random bytes drawn 64 KiB at a time: one call per user costs more than the bytes.
const pool = Buffer.alloc(65_536);
let poolAt = pool.length;
function randomBytes(n) {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += n;
  return Buffer.from(pool.subarray(poolAt - n, poolAt));
}

function principalId() {
  // The app's shape: AIDA + 16 characters (src/core/principals/identifiers.ts).
  const bytes = randomBytes(16);
  let id = 'AIDA';
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  return id;
}

/**
 * Adds `count` users to account `accountId` in the SQLite file `path`. `secretBox` seals the
 * factor secrets; `prefix` keeps user names unique across calls. Returns { count, seconds }.
 */
export function bulkSeedUsers({ path, accountId, count, secretBox, prefix = 'bulk', log }) {
  const Database = require('better-sqlite3');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 10000');
  const t0 = performance.now();
  const now = Date.now();
  const insertPrincipal = db.prepare(
    `insert into principals (id, account_id, username, email, role, status, password_hash,
       password_changed_at, created_at, updated_at)
     values (?, ?, ?, ?, 'user', 'active', null, null, ?, ?)`,
  );
  const insertFactor = db.prepare(
    `insert into factors (id, account_id, principal_id, kind, name, status, assurance,
       admin_provisioned, hardware_token_id, secret_sealed, params, last_counter, drift_steps,
       failed_attempts, created_at, enabled_at, last_used_at, pending_session_id,
       pending_expires_at, pending_attempts)
     values (?, ?, ?, 'totp', 'phone', 'enabled', 'software_otp', 0, null, ?, ?, null, 0, 0, ?, ?,
       null, null, null, 0)`,
  );
  const params = JSON.stringify({
    mode: 'totp',
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    initialCounter: 0,
  });
  const writeRange = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const pid = principalId();
      insertPrincipal.run(pid, accountId, `${prefix}${i}`, `${prefix}${i}@bulk.bench.test`, now, now);
      const factorId = 'mfa_' + randomBytes(16).toString('base64url');
      const sealed = secretBox.seal(randomBytes(20), `factor:${factorId}`);
      insertFactor.run(factorId, accountId, pid, sealed, params, now, now);
    }
  });
  let lastLog = performance.now();
  try {
    for (let from = 0; from < count; from += ROWS_PER_TRANSACTION) {
      writeRange(from, Math.min(count, from + ROWS_PER_TRANSACTION));
      if (log && performance.now() - lastLog > 5_000) {
        lastLog = performance.now();
        log(`bulk seeding: ${Math.min(count, from + ROWS_PER_TRANSACTION)}/${count} users`);
      }
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { count, seconds: (performance.now() - t0) / 1000 };
}
