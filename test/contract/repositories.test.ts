import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainVerifier } from '../../src/core/audit/chain.js';
import type { AuditEvent } from '../../src/core/audit/event.js';
import type { Store } from '../../src/core/ports.js';
import type { Principal } from '../../src/core/principals/types.js';
import type { Session } from '../../src/core/sessions/session.js';
import { connectDatabase, migrateDatabase, type Database } from '../../src/storage/connect.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { createStore } from '../../src/storage/store.js';
import { DATABASE_KINDS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';
import { expectConstraintViolation } from '../helpers/errors.js';

const event = (action: string, accountId: string | null = 'A1'): AuditEvent => ({
  accountId,
  actorType: 'system',
  actorId: null,
  action,
  target: null,
  sourceIp: null,
  userAgent: null,
  outcome: 'success',
  errorCode: null,
  details: { n: 1 },
});

const principal = (over: Partial<Principal>): Principal => ({
  id: 'AIDA0000000000000001',
  accountId: '100000000001',
  username: 'alice',
  email: 'alice@example.com',
  role: 'user',
  status: 'active',
  passwordHash: null,
  passwordChangedAt: null,
  createdAt: 1,
  updatedAt: 1,
  ...over,
});

const session = (over: Partial<Session>): Session => ({
  id: 'ses_1',
  accountId: '100000000001',
  principalId: 'AIDA0000000000000001',
  channel: 'bearer',
  createdAt: 1000,
  lastSeenAt: 1000,
  expiresAt: 100_000,
  revokedAt: null,
  revokedReason: null,
  auth: { methods: ['pwd'], factor: null },
  sourceIp: '127.0.0.1',
  userAgent: 'ua',
  ...over,
});

describe.each(DATABASE_KINDS)('repository contract [$name]', ({ name }) => {
  let fresh: FreshDatabase;
  let db: Database;
  let store: Store;

  beforeAll(async () => {
    fresh = await freshDatabase(name);
    db = await connectDatabase(fresh.url);
    expect(await migrateDatabase(db)).toEqual(Object.keys(MIGRATIONS).sort());
    expect(await migrateDatabase(db)).toEqual([]); // idempotent
    store = createStore(db);
    for (const [id, accountName] of [
      ['100000000001', 'one'],
      ['100000000002', 'two'],
    ] as const) {
      await store.accounts.insert({
        id,
        name: accountName,
        createdAt: 1,
        settings: { passwordMinLength: 14 },
      });
    }
  });
  afterAll(async () => {
    await db.close();
    await fresh.cleanup();
  });

  it('accounts: find by id and name, list, unique names', async () => {
    expect((await store.accounts.findById('100000000001'))?.settings).toEqual({ passwordMinLength: 14 });
    expect((await store.accounts.findByName('two'))?.id).toBe('100000000002');
    expect(await store.accounts.findByName('three')).toBeNull();
    expect((await store.accounts.list()).map((a) => a.name)).toEqual(['one', 'two']);
    await expectConstraintViolation(
      store.accounts.insert({ id: '100000000003', name: 'one', createdAt: 1, settings: {} }),
      'unique',
    );
  });

  it('principals: the same e-mail in two accounts is two identities', async () => {
    await store.principals.insert(principal({}));
    await store.principals.insert(principal({ id: 'AIDA0000000000000002', accountId: '100000000002' }));
    const a = await store.principals.findByLogin('100000000001', 'ALICE@example.com');
    const b = await store.principals.findByLogin('100000000002', 'alice@example.com');
    expect(a?.id).toBe('AIDA0000000000000001');
    expect(b?.id).toBe('AIDA0000000000000002');
    expect(await store.principals.findById('100000000002', 'AIDA0000000000000001')).toBeNull();
    expect((await store.principals.findByLogin('100000000001', 'alice'))?.id).toBe('AIDA0000000000000001');
    await expectConstraintViolation(
      store.principals.insert(principal({ id: 'AIDA0000000000000003', username: 'other' })),
      'unique',
    );
  });

  it('principals: update, list and count owners', async () => {
    const p = (await store.principals.findById('100000000001', 'AIDA0000000000000001'))!;
    await store.principals.update({ ...p, role: 'owner', passwordHash: '$argon2id$x', updatedAt: 5 });
    const q = (await store.principals.findById('100000000001', p.id))!;
    expect([q.role, q.passwordHash, q.updatedAt, q.createdAt]).toEqual(['owner', '$argon2id$x', 5, 1]);
    expect(await store.principals.countActiveOwners('100000000001')).toBe(1);
    expect(await store.principals.countActiveOwners('100000000002')).toBe(0);
    expect((await store.principals.list('100000000001')).length).toBe(1);
  });

  it('principals: active owners and admins of an account, without the other users', async () => {
    const acct = '100000000009';
    await store.accounts.insert({ id: acct, name: 'many-users', createdAt: 1, settings: {} });
    const make = (n: number, role: Principal['role'], status: Principal['status']) =>
      store.principals.insert(
        principal({
          id: `AIDA00000000000090${n}`.padEnd(20, '0'),
          accountId: acct,
          username: `u${n}`,
          email: `u${n}@example.com`,
          role,
          status,
          createdAt: n,
        }),
      );
    await make(1, 'user', 'active');
    await make(2, 'admin', 'active');
    await make(3, 'owner', 'active');
    await make(4, 'admin', 'disabled');
    await make(5, 'user', 'active');
    const admins = await store.principals.listActiveAdmins(acct);
    expect(admins.map((p) => [p.username, p.role])).toEqual([
      ['u2', 'admin'],
      ['u3', 'owner'],
    ]);
    expect(await store.principals.listActiveAdmins('100000000001')).toEqual([
      expect.objectContaining({ id: 'AIDA0000000000000001', role: 'owner' }),
    ]);
  });

  it('setup tokens: single use, also under concurrency, and expiry', async () => {
    const base = {
      accountId: '100000000001',
      principalId: 'AIDA0000000000000001',
      purpose: 'password_setup' as const,
    };
    await store.setupTokens.insert({ ...base, tokenHash: 'h1', createdAt: 1, expiresAt: 1000, usedAt: null });
    await store.setupTokens.insert({ ...base, tokenHash: 'h2', createdAt: 1, expiresAt: 1000, usedAt: null });
    const results = await Promise.all(Array.from({ length: 8 }, () => store.setupTokens.consume('h1', 10)));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await store.setupTokens.consume('h2', 1000)).toBeNull(); // expired at 1000
    expect((await store.setupTokens.findByHash('h2'))?.usedAt).toBeNull();
    await store.setupTokens.revokeForPrincipal('100000000001', 'AIDA0000000000000001', 20);
    expect((await store.setupTokens.findByHash('h2'))?.usedAt).toBe(20);
  });

  it('sessions: lookup by hash, touch, list live, revoke, revoke all but one', async () => {
    await store.sessions.insert(session({}), 'th1');
    await store.sessions.insert(session({ id: 'ses_2', createdAt: 2000 }), 'th2');
    await store.sessions.insert(session({ id: 'ses_3', expiresAt: 500 }), 'th3');
    const s = (await store.sessions.findByTokenHash('th1'))!;
    expect(s.auth).toEqual({ methods: ['pwd'], factor: null });
    await store.sessions.touch('ses_1', 5000);
    await store.sessions.touch('ses_1', 4000); // never goes backwards
    expect((await store.sessions.findById('100000000001', 'ses_1'))!.lastSeenAt).toBe(5000);
    expect(await store.sessions.findById('100000000002', 'ses_1')).toBeNull();
    expect(
      (await store.sessions.listLive('100000000001', 'AIDA0000000000000001', 1000)).map((x) => x.id),
    ).toEqual(['ses_2', 'ses_1']);
    expect(await store.sessions.revoke({ id: 'ses_2', now: 6000, reason: 'user_revoked' })).toBe(true);
    expect(await store.sessions.revoke({ id: 'ses_2', now: 6001, reason: 'again' })).toBe(false);
    await store.sessions.insert(session({ id: 'ses_4' }), 'th4');
    const n = await store.sessions.revokeAllForPrincipal({
      accountId: '100000000001',
      principalId: 'AIDA0000000000000001',
      now: 7000,
      reason: 'admin_revoked',
      exceptId: 'ses_4',
    });
    expect(n).toBe(2); // ses_1 and ses_3
    expect((await store.sessions.findByTokenHash('th4'))!.revokedAt).toBeNull();
    expect((await store.sessions.findByTokenHash('th1'))!.revokedReason).toBe('admin_revoked');
  });

  it('sessions: derived ones end with every factor verified in them, or for lacking MFA', async () => {
    const who = { accountId: '100000000001', principalId: 'AIDA0000000000000001' };
    const factor = (factorId: string) => ({
      methods: ['pwd', 'otp'],
      factor: { factorId, kind: 'totp', assurance: 'software_otp', at: 1000 },
    });
    await store.sessions.insert(session({ ...who, id: 'ses_d1', auth: factor('mfa_a') }), 'thd1');
    await store.sessions.insert(session({ ...who, id: 'ses_d2' }), 'thd2');
    await store.sessions.insert(session({ ...who, id: 'ses_d3' }), 'thd3');
    // ses_d2 stepped up with mfa_a then with mfa_b: it remembers both.
    await store.sessions.updateAuth('ses_d2', factor('mfa_a'));
    await store.sessions.updateAuth('ses_d2', factor('mfa_b'));
    const revoke = (over: Record<string, string | boolean>) =>
      store.sessions.revokeDerived({ ...who, now: 2000, reason: 'factor_removed', ...over });
    expect(await revoke({ factorId: 'mfa_c' })).toBe(0);
    expect(await revoke({ factorId: 'mfa_a', exceptId: 'ses_d1' })).toBe(1);
    expect((await store.sessions.findByTokenHash('thd2'))!.revokedReason).toBe('factor_removed');
    expect((await store.sessions.findByTokenHash('thd1'))!.revokedAt).toBeNull();
    // ses_d3, and ses_4 of the test above.
    expect(await revoke({ withoutMfa: true, reason: 'first_factor_enabled' })).toBe(2);
    expect((await store.sessions.findByTokenHash('thd3'))!.revokedReason).toBe('first_factor_enabled');
    expect((await store.sessions.findByTokenHash('thd1'))!.revokedAt).toBeNull();
  });

  it('flows: optimistic concurrency on update', async () => {
    const flow = {
      id: 'flw_1',
      kind: 'sign_in',
      accountId: '100000000001',
      principalId: null,
      state: 'password_required',
      attempts: 0,
      createdAt: 1,
      updatedAt: 1,
      expiresAt: 100,
      data: { a: 1 },
    };
    await store.flows.insert(flow);
    expect(await store.flows.update({ ...flow, state: 'second_factor_required', updatedAt: 2 }, 1)).toBe(
      true,
    );
    expect(await store.flows.update({ ...flow, state: 'completed', updatedAt: 3 }, 1)).toBe(false);
    expect((await store.flows.findById('flw_1'))!.state).toBe('second_factor_required');
    expect(await store.flows.findById('nope')).toBeNull();
  });

  it('audit: appends link into a verifiable chain; queries filter by account and action', async () => {
    for (let i = 0; i < 5; i++)
      await store.audit.append(event(i % 2 ? 'a.odd' : 'a.even'), { now: 100 + i, eventId: `e${i}` });
    await store.audit.append(event('a.other', '100000000002'), { now: 200, eventId: 'e5' });
    const all = await store.audit.scan(0, 100);
    expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const v = new ChainVerifier();
    for (const r of all) expect(v.check(r)).toBeNull();
    expect(await store.audit.count()).toBe(6);
    expect(
      (await store.audit.query({ accountId: 'A1', action: 'a.odd', limit: 10 })).map((r) => r.seq),
    ).toEqual([2, 4]);
    expect((await store.audit.query({ accountId: '100000000002', limit: 10 })).map((r) => r.eventId)).toEqual(
      ['e5'],
    );
    expect((await store.audit.scan(4, 1)).map((r) => r.seq)).toEqual([5]);
  });

  it('audit: concurrent appends through separate transactions keep one chain', async () => {
    const before = await store.audit.count();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.audit.append(event('c.par'), { now: 300 + i, eventId: `p${i}` }),
      ),
    );
    const all = await store.audit.scan(0, 1000);
    expect(all.length).toBe(before + 20);
    const v = new ChainVerifier();
    for (const r of all) expect(v.check(r)).toBeNull();
  });

  it('a failing transaction leaves neither the change nor its audit record', async () => {
    const before = await store.audit.count();
    await expect(
      store.transaction(async (tx) => {
        await tx.meta.put('rollback-probe', 'x');
        await tx.audit.append(event('t.rollback'), { now: 1, eventId: 'rb1' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.meta.get('rollback-probe')).toBeNull();
    expect(await store.audit.count()).toBe(before);
  });

  it('concurrent transactions commit independently: one failing unit rolls back alone', async () => {
    const before = await store.audit.count();
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        store.transaction(async (tx) => {
          await tx.meta.put(`unit-${i}`, String(i));
          await tx.audit.append(event('t.unit'), { now: 500 + i, eventId: `unit${i}` });
          if (i % 4 === 3) throw new Error(`unit ${i} fails`);
          return i;
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(
      Array.from({ length: 12 }, (_, i) => (i % 4 === 3 ? 'rejected' : 'fulfilled')),
    );
    expect(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))).toEqual([
      0, 1, 2, 4, 5, 6, 8, 9, 10,
    ]);
    for (let i = 0; i < 12; i++)
      expect(await store.meta.get(`unit-${i}`)).toBe(i % 4 === 3 ? null : String(i));
    expect(await store.audit.count()).toBe(before + 9);
    const v = new ChainVerifier();
    for (const r of await store.audit.scan(0, 10_000)) expect(v.check(r)).toBeNull();
  });

  it('throttle: a hit counts atomically, refuses during the delay and can be taken back', async () => {
    const policy = { freeFailures: 2, baseDelayMs: 1000, maxDelayMs: 8000, windowMs: 60_000 };
    const hits = await Promise.all(
      Array.from({ length: 6 }, () => store.throttle.hit({ key: 'h1', policy, now: 1000 })),
    );
    // Three are counted (2 free + the one that sets the delay); the others wait, whatever the order.
    expect(hits.filter((h) => h.allowed)).toHaveLength(3);
    expect(hits.filter((h) => !h.allowed).map((h) => h.waitMs)).toEqual([1000, 1000, 1000]);
    await store.throttle.release('h1');
    expect((await store.throttle.get(['h1']))[0]!.failures).toBe(2);
    expect((await store.throttle.hit({ key: 'h1', policy, now: 2000 })).allowed).toBe(true);
  });

  it('throttle: upsert, read several keys, clear', async () => {
    await store.throttle.put({ key: 'k1', failures: 1, lastFailureAt: 1, nextAllowedAt: 1 });
    await store.throttle.put({ key: 'k1', failures: 2, lastFailureAt: 2, nextAllowedAt: 50 });
    await store.throttle.put({ key: 'k2', failures: 1, lastFailureAt: 3, nextAllowedAt: 3 });
    const got = await store.throttle.get(['k1', 'k2', 'k3']);
    expect(got.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: 'k1', failures: 2, lastFailureAt: 2, nextAllowedAt: 50 },
      { key: 'k2', failures: 1, lastFailureAt: 3, nextAllowedAt: 3 },
    ]);
    await store.throttle.clear('k1');
    expect((await store.throttle.get(['k1'])).length).toBe(0);
    expect(await store.throttle.get([])).toEqual([]);
  });

  it('meta: upsert', async () => {
    await store.meta.put('m', '1');
    await store.meta.put('m', '2');
    expect(await store.meta.get('m')).toBe('2');
    expect(await store.meta.get('absent')).toBeNull();
  });
});
