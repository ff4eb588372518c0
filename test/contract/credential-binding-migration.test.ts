/**
 * Migration 0008 on a database that already holds live sessions and temporary credentials: what
 * each was derived from is filled in, so revoking by factor or by access key reaches them too.
 * On SQLite and PostgreSQL.
 */
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/storage/connect.js';
import { migrationProvider } from '../../src/storage/migrations/index.js';
import { createStore } from '../../src/storage/store.js';
import { DATABASE_KINDS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';

const ACCOUNT = '100000000001';
const USER = 'AIDA0000000000000001';
const mfa = (factorId: string) =>
  JSON.stringify({ factorId, kind: 'totp', assurance: 'software_otp', at: 1, serialNumber: 'arn:x' });

describe.each(DATABASE_KINDS)(
  'migration 0008 fills in what live credentials derive from [$name]',
  ({ name }) => {
    let fresh: FreshDatabase;
    let db: Database;

    beforeAll(async () => {
      fresh = await freshDatabase(name);
      db = await connectDatabase(fresh.url);
      const migrator = new Migrator({ db: db.kysely, provider: migrationProvider });
      const before = await migrator.migrateTo('0007-mfa-hardening');
      expect(before.error).toBeUndefined();
      await sql`insert into accounts (id, name, created_at, settings) values (${ACCOUNT}, 'acme', 1, '{}')`.execute(
        db.kysely,
      );
      await sql`insert into principals (id, account_id, username, email, role, status, password_hash, password_changed_at, created_at, updated_at)
      values (${USER}, ${ACCOUNT}, 'alice', 'alice@acme.test', 'user', 'active', null, null, 1, 1)`.execute(
        db.kysely,
      );
      const session = (id: string, auth: string) =>
        sql`insert into sessions (id, token_hash, account_id, principal_id, channel, created_at, last_seen_at, expires_at, revoked_at, revoked_reason, auth, source_ip, user_agent)
        values (${id}, ${'h' + id}, ${ACCOUNT}, ${USER}, 'bearer', 1, 1, 100000, null, null, ${auth}, null, null)`.execute(
          db.kysely,
        );
      await session(
        'ses_mfa',
        JSON.stringify({
          methods: ['pwd', 'otp'],
          factor: { factorId: 'mfa_a', kind: 'totp', assurance: 'software_otp', at: 1 },
        }),
      );
      await session('ses_pwd', JSON.stringify({ methods: ['pwd'], factor: null }));
      const temporary = (id: string, parent: string, facts: string | null) =>
        sql`insert into temporary_credentials (id, account_id, principal_id, source, role_id, role_session_name, secret_sealed, token_hash, mfa, parent_key_id, created_at, expires_at, revoked_at)
        values (${id}, ${ACCOUNT}, ${USER}, 'session-token', null, null, 'v1.k.iv.ct', ${'a'.repeat(64)}, ${facts}, ${parent}, 1, 100000, null)`.execute(
          db.kysely,
        );
      await temporary('ASIAAAAAAAAAAAAAAAA1', 'AKIAAAAAAAAAAAAAAAA1', mfa('mfa_a'));
      await temporary('ASIAAAAAAAAAAAAAAAA2', 'AKIAAAAAAAAAAAAAAAA2', null);
      const after = await migrator.migrateToLatest();
      expect(after.error).toBeUndefined();
    });
    afterAll(async () => {
      await db?.close();
      await fresh?.cleanup();
    });

    it('revoking by factor and by source key reaches credentials issued before the migration', async () => {
      const store = createStore(db);
      expect(
        await store.sessions.revokeDerived({
          accountId: ACCOUNT,
          principalId: USER,
          now: 50,
          reason: 'factor_removed',
          factorId: 'mfa_a',
        }),
      ).toBe(1);
      expect((await store.sessions.findById(ACCOUNT, 'ses_mfa'))!.revokedReason).toBe('factor_removed');
      expect((await store.sessions.findById(ACCOUNT, 'ses_pwd'))!.revokedAt).toBeNull();
      const byFactor = { accountId: ACCOUNT, principalId: USER, now: 50 };
      expect(await store.temporaryCredentials.revokeDerived({ ...byFactor, factorId: 'mfa_a' })).toBe(1);
      expect(await store.temporaryCredentials.findById('ASIAAAAAAAAAAAAAAAA2')).toMatchObject({
        sourceKeyId: 'AKIAAAAAAAAAAAAAAAA2',
        revokedAt: null,
      });
      expect(
        await store.temporaryCredentials.revokeDerived({ ...byFactor, sourceKeyId: 'AKIAAAAAAAAAAAAAAAA2' }),
      ).toBe(1);
    });
  },
);
