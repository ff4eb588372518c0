#!/usr/bin/env node
// Runs the whole test suite: finds the test PostgreSQL and the independent clients the suites
// drive (oathtool, pass otp, python3-pskc, the AWS CLI, Chromium), builds when dist/ is out of
// date (some tests start the real CLI and server), then runs vitest.
//
// Outside CI a missing PostgreSQL or client skips the suites that need it, and one loud banner at
// the end names each one and how to get it. In CI (CI=1 or CI=true; HOLDFAST_REQUIRE_PG=1 for
// PostgreSQL alone) anything missing fails the run before a test starts.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { build, staleReason } from './build.mjs';
import {
  FOUND_VARIABLE,
  clientsRequired,
  detectExternalClients,
  missingClients,
  missingClientsBanner,
} from './external-clients.mjs';

const inCI = clientsRequired();
const requirePg = inCI || process.env.HOLDFAST_REQUIRE_PG === '1';
const pgUrl = process.env.HOLDFAST_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const shownUrl = pgUrl.replace(/:[^:@/]*@/, ':***@');

async function postgresReachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (err) {
    console.error(`PostgreSQL at ${shownUrl} is not usable: ${err.message}`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const env = { ...process.env };
const pgReachable = await postgresReachable(pgUrl);
const found = detectExternalClients();
const missing = missingClients(found);

if (requirePg && !pgReachable) {
  console.error('CI requires PostgreSQL for the storage suites; none is reachable. Failing.');
  process.exit(1);
}
if (inCI && missing.length > 0) {
  console.error(`\n${missingClientsBanner(missing, { required: true })}\n`);
  process.exit(1);
}

const reason = staleReason();
if (reason !== null) {
  console.error(`Building Holdfast (${reason})...`);
  const status = build();
  if (status !== 0) process.exit(status);
}

if (pgReachable) {
  env.HOLDFAST_TEST_PG = pgUrl;
  console.error(`Storage suites run on SQLite and PostgreSQL (${shownUrl}).`);
} else {
  delete env.HOLDFAST_TEST_PG;
}
env[FOUND_VARIABLE] = JSON.stringify(found);

const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const result = spawnSync(process.execPath, [vitest, 'run', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
});

const pgNote = pgReachable
  ? []
  : [
      'PostgreSQL is not reachable: every "[postgres]" suite was SKIPPED (repository contract, audit',
      'chain, sign-in/session and concurrency suites on PostgreSQL).',
      'Set HOLDFAST_TEST_PG=postgres://user@host:5432/db to run them.',
    ];
const banner = missingClientsBanner(missing, { required: false, before: pgNote });
if (banner !== '') console.error(`\n${banner}\n`);

process.exit(result.status ?? 1);
