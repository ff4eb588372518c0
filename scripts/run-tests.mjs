#!/usr/bin/env node
// Runs the whole test suite: builds (some tests start the real CLI and server), finds the test
// PostgreSQL, then runs vitest. In CI (CI=1 or HOLDFAST_REQUIRE_PG=1) a missing PostgreSQL fails
// the run; elsewhere the PostgreSQL suites are skipped and this script says so loudly.
import { spawnSync } from 'node:child_process';
import pg from 'pg';

const requirePg =
  process.env.CI === '1' || process.env.CI === 'true' || process.env.HOLDFAST_REQUIRE_PG === '1';
const pgUrl = process.env.HOLDFAST_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function postgresReachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (err) {
    console.error(`PostgreSQL at ${url.replace(/:[^:@/]*@/, ':***@')} is not usable: ${err.message}`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const env = { ...process.env };
if (await postgresReachable(pgUrl)) {
  env.HOLDFAST_TEST_PG = pgUrl;
  console.error(`Storage suites run on SQLite and PostgreSQL (${pgUrl.replace(/:[^:@/]*@/, ':***@')}).`);
} else if (requirePg) {
  console.error('CI requires PostgreSQL for the storage suites; none is reachable. Failing.');
  process.exit(1);
} else {
  delete env.HOLDFAST_TEST_PG;
  const banner = '!'.repeat(78);
  console.error(
    `\n${banner}\n!! PostgreSQL is not reachable: every "[postgres]" suite is SKIPPED.\n` +
      `!! Skipped: repository contract, audit chain, sign-in/session and concurrency suites on PostgreSQL.\n` +
      `!! Set HOLDFAST_TEST_PG=postgres://user@host:5432/db to run them.\n${banner}\n`,
  );
}

const result = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
