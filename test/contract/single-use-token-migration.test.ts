/**
 * Migration 0013 on a database that already holds password-setup links: they move into the one
 * table of single-use tokens (`verification_tokens`) and keep working exactly as before (found
 * by hash, used once, not after expiry, revoked with their principal), beside the recovery
 * tokens they must never be confused with. Also run on an installation where later migrations
 * were applied first (the number was reserved). On SQLite and PostgreSQL.
 */
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, migrateDatabase, type Database } from '../../src/storage/connect.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { createStore } from '../../src/storage/store.js';
import { DATABASE_KINDS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';

const ACCOUNT = '100000000001';
const USER = 'AIDA0000000000000001';
const hash = (c: string) => c.repeat(64);

describe.each(DATABASE_KINDS)(
  'migration 0013 merges setup links into the single-use tokens [$name]',
  ({ name }) => {
    let fresh: FreshDatabase;
    let db: Database;

    beforeAll(async () => {
      fresh = await freshDatabase(name);
      db = await connectDatabase(fresh.url);
      // Everything but 0013 first, as on an installation that applied the later migrations.
      const { '0013-single-use-tokens': reserved, ...others } = MIGRATIONS;
      expect(reserved).toBeDefined();
      const partial = new Migrator({
        db: db.kysely,
        provider: { getMigrations: () => Promise.resolve(others) },
      });
      expect((await partial.migrateToLatest()).error).toBeUndefined();
      await sql`insert into accounts (id, name, created_at, settings) values (${ACCOUNT}, 'acme', 1, '{}')`.execute(
        db.kysely,
      );
      await sql`insert into principals (id, account_id, username, email, role, status, password_hash, password_changed_at, created_at, updated_at)
      values (${USER}, ${ACCOUNT}, 'alice', 'alice@acme.test', 'user', 'active', null, null, 1, 1)`.execute(
        db.kysely,
      );
      const setup = (tokenHash: string, expiresAt: number, usedAt: number | null) =>
        sql`insert into setup_tokens (token_hash, account_id, principal_id, purpose, created_at, expires_at, used_at)
        values (${tokenHash}, ${ACCOUNT}, ${USER}, 'password_setup', 1, ${expiresAt}, ${usedAt})`.execute(
          db.kysely,
        );
      await setup(hash('a'), 1000, null);
      await setup(hash('b'), 1000, 5);
      await setup(hash('c'), 1000, null);
      // A recovery token of the same principal: a setup link must never answer for it, or it for one.
      await sql`insert into verification_tokens (id, token_hash, account_id, principal_id, purpose, subject_id, created_at, expires_at, used_at, attempts)
      values ('vt_1', ${hash('d')}, ${ACCOUNT}, ${USER}, 'password_reset', 'req_1', 1, 1000, null, 0)`.execute(
        db.kysely,
      );
      expect(await migrateDatabase(db)).toEqual(['0013-single-use-tokens']);
    });
    afterAll(async () => {
      await db?.close();
      await fresh?.cleanup();
    });

    it('moves every row and drops the old table', async () => {
      const rows = await db.kysely
        .selectFrom('verification_tokens')
        .select(['purpose', 'subject_id', 'used_at'])
        .orderBy('token_hash')
        .execute();
      expect(
        rows.map((r) => [r.purpose, r.subject_id, r.used_at === null ? null : Number(r.used_at)]),
      ).toEqual([
        ['password_setup', USER, null],
        ['password_setup', USER, 5],
        ['password_setup', USER, null],
        ['password_reset', 'req_1', null],
      ]);
      await expect(sql`select count(*) from setup_tokens`.execute(db.kysely)).rejects.toThrow();
    });

    it('a moved link is found by its hash and used once, never after expiry; a used one stays used', async () => {
      const store = createStore(db);
      expect(await store.setupTokens.findByHash(hash('a'))).toMatchObject({
        principalId: USER,
        usedAt: null,
      });
      expect(await store.setupTokens.consume(hash('a'), 2000)).toBeNull();
      expect(await store.setupTokens.consume(hash('a'), 10)).toMatchObject({ usedAt: 10 });
      expect(await store.setupTokens.consume(hash('a'), 11)).toBeNull();
      expect(await store.setupTokens.consume(hash('b'), 10)).toBeNull();
      // The recovery token is no setup link, and a setup link is no recovery token.
      expect(await store.setupTokens.findByHash(hash('d'))).toBeNull();
      expect(await store.setupTokens.consume(hash('d'), 10)).toBeNull();
      expect((await store.recovery.findTokenByHash(hash('c')))?.purpose).toBe('password_setup');
      expect(
        await store.recovery.findLiveToken({ purpose: 'password_reset', subjectId: USER, now: 10 }),
      ).toBeNull();
    });

    it('new links live beside the old ones; revoking a principal revokes its links only', async () => {
      const store = createStore(db);
      await store.setupTokens.insert({
        tokenHash: hash('e'),
        accountId: ACCOUNT,
        principalId: USER,
        purpose: 'password_setup',
        createdAt: 20,
        expiresAt: 1000,
        usedAt: null,
      });
      expect(await store.setupTokens.findByHash(hash('e'))).toMatchObject({ createdAt: 20, expiresAt: 1000 });
      await store.setupTokens.revokeForPrincipal(ACCOUNT, USER, 30);
      expect(await store.setupTokens.consume(hash('c'), 31)).toBeNull();
      expect(await store.setupTokens.consume(hash('e'), 31)).toBeNull();
      expect(await store.recovery.findTokenByHash(hash('d'))).toMatchObject({ usedAt: null });
    });
  },
);
