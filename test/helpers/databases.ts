/**
 * Test databases: every contract and integration suite runs on SQLite and, when
 * HOLDFAST_TEST_PG names a reachable server (scripts/run-tests.mjs sets it; CI requires it),
 * on PostgreSQL too, each suite in a database of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** One engine to run a suite on. */
export interface TestDatabaseKind {
  name: 'sqlite' | 'postgres';
}

/** The admin URL of the test PostgreSQL, or null when none is configured. */
export const PG_ADMIN_URL = process.env.HOLDFAST_TEST_PG ?? null;

/** Engines available for this run. PostgreSQL appears only when configured. */
export const DATABASE_KINDS: TestDatabaseKind[] = [
  { name: 'sqlite' },
  ...(PG_ADMIN_URL ? [{ name: 'postgres' as const }] : []),
];

/** A fresh, empty database and a temp data folder, with a cleanup. */
export interface FreshDatabase {
  url: string;
  dataDir: string;
  cleanup(): Promise<void>;
}

/** Creates an empty database of the given kind. */
export async function freshDatabase(kind: TestDatabaseKind['name']): Promise<FreshDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-test-'));
  if (kind === 'sqlite') {
    return {
      url: `sqlite:${join(dataDir, 'holdfast.db')}`,
      dataDir,
      cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  if (PG_ADMIN_URL === null) throw new Error('HOLDFAST_TEST_PG is not set');
  const name = `holdfast_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir,
    async cleanup() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
