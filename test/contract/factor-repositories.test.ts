import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Factor } from '../../src/core/factors/factor.js';
import type { HardwareToken } from '../../src/core/factors/hardware-token/inventory.js';
import type { Store } from '../../src/core/ports.js';
import { connectDatabase, migrateDatabase, type Database } from '../../src/storage/connect.js';
import { createStore } from '../../src/storage/store.js';
import { DATABASE_KINDS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';
import { expectConstraintViolation } from '../helpers/errors.js';

const ACCOUNT = '200000000001';
const USER = 'AIDA0000000000000011';
const OTHER = 'AIDA0000000000000012';

const factor = (over: Partial<Factor>): Factor => ({
  id: 'mfa_1',
  accountId: ACCOUNT,
  principalId: USER,
  kind: 'totp',
  name: 'phone',
  status: 'enabled',
  assurance: 'software_otp',
  adminProvisioned: false,
  hardwareTokenId: null,
  secretSealed: 'v1.k.iv.ct',
  params: { mode: 'totp', algorithm: 'SHA1', digits: 6, period: 30, initialCounter: 0 },
  lastCounter: null,
  driftSteps: 0,
  failedAttempts: 0,
  createdAt: 1,
  enabledAt: 1,
  lastUsedAt: null,
  pendingSessionId: null,
  pendingExpiresAt: null,
  pendingAttempts: 0,
  ...over,
});

const token = (i: number, over: Partial<HardwareToken> = {}): HardwareToken => ({
  id: `hwt_${i}`,
  accountId: ACCOUNT,
  serial: `SN${String(i).padStart(6, '0')}`,
  manufacturer: 'Acme',
  model: 'T1',
  params: { mode: 'hotp', algorithm: 'SHA1', digits: 6, period: 30, initialCounter: 0 },
  secretSealed: 'v1.k.iv.ct',
  state: 'unassigned',
  principalId: null,
  factorId: null,
  importId: 'imp_1',
  importedAt: 1,
  updatedAt: 1,
  ...over,
});

describe.each(DATABASE_KINDS)('factor repositories contract [$name]', ({ name }) => {
  let fresh: FreshDatabase;
  let db: Database;
  let store: Store;

  beforeAll(async () => {
    fresh = await freshDatabase(name);
    db = await connectDatabase(fresh.url);
    await migrateDatabase(db);
    store = createStore(db);
    await store.accounts.insert({ id: ACCOUNT, name: 'factors', createdAt: 1, settings: {} });
    for (const id of [USER, OTHER]) {
      await store.principals.insert({
        id,
        accountId: ACCOUNT,
        username: id,
        email: `${id.toLowerCase()}@example.com`,
        role: 'user',
        status: 'active',
        passwordHash: null,
        passwordChangedAt: null,
        createdAt: 1,
        updatedAt: 1,
      });
    }
  });
  afterAll(async () => {
    await db.close();
    await fresh.cleanup();
  });

  it('factors: insert, read back, names unique per principal only', async () => {
    await store.factors.insert(factor({}));
    await store.factors.insert(factor({ id: 'mfa_2', principalId: OTHER })); // same name, other user
    expect(await store.factors.findById(ACCOUNT, 'mfa_1')).toEqual(factor({}));
    expect(await store.factors.findById('999999999999', 'mfa_1')).toBeNull();
    await expectConstraintViolation(store.factors.insert(factor({ id: 'mfa_3' })), 'unique');
    expect((await store.factors.listByPrincipal(ACCOUNT, USER)).map((f) => f.id)).toEqual(['mfa_1']);
  });

  it('factors: a code (step) is accepted once and never an older one, even concurrently', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        store.factors.acceptCode({ id: 'mfa_1', lastCounter: 100, driftSteps: 1, now: 5 }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.factors.acceptCode({ id: 'mfa_1', lastCounter: 99, driftSteps: 0, now: 6 })).toBe(
      false,
    );
    expect(await store.factors.acceptCode({ id: 'mfa_1', lastCounter: 101, driftSteps: 0, now: 7 })).toBe(
      true,
    );
    const f = (await store.factors.findById(ACCOUNT, 'mfa_1'))!;
    expect([f.lastCounter, f.driftSteps, f.lastUsedAt, f.failedAttempts]).toEqual([101, 0, 7, 0]);
  });

  it('factors: enable only a pending factor, count failures, rename, delete expired pending', async () => {
    await store.factors.insert(
      factor({
        id: 'mfa_p',
        name: 'pending',
        status: 'pending',
        enabledAt: null,
        pendingSessionId: 'ses_1',
        pendingExpiresAt: 50,
      }),
    );
    expect(await store.factors.recordPendingFailure('mfa_p')).toBe(1);
    expect(await store.factors.recordPendingFailure('mfa_p')).toBe(2);
    expect(await store.factors.enable({ id: 'mfa_p', lastCounter: 10, driftSteps: 0, now: 20 })).toBe(true);
    expect(await store.factors.enable({ id: 'mfa_p', lastCounter: 11, driftSteps: 0, now: 21 })).toBe(false);
    const enabled = (await store.factors.findById(ACCOUNT, 'mfa_p'))!;
    expect([enabled.status, enabled.pendingSessionId, enabled.lastCounter]).toEqual(['enabled', null, 10]);
    await store.factors.recordFailure('mfa_p');
    await store.factors.rename({ id: 'mfa_p', name: 'renamed' });
    expect((await store.factors.findById(ACCOUNT, 'mfa_p'))!).toMatchObject({
      name: 'renamed',
      failedAttempts: 1,
    });
    await store.factors.insert(
      factor({ id: 'mfa_x', name: 'expired', status: 'pending', pendingExpiresAt: 30 }),
    );
    await store.factors.deleteExpiredPending({ accountId: ACCOUNT, principalId: USER, now: 30 });
    expect(await store.factors.findById(ACCOUNT, 'mfa_x')).toBeNull();
    expect((await store.factors.listEnabledByAccount(ACCOUNT)).map((f) => f.id).sort()).toEqual([
      'mfa_1',
      'mfa_2',
      'mfa_p',
    ]);
    await store.factors.delete('mfa_p');
    expect(await store.factors.findById(ACCOUNT, 'mfa_p')).toBeNull();
  });

  it('factors: the grant that admitted a pending one round-trips; cancelling pending ones spares admin-assigned tokens', async () => {
    const pending = {
      status: 'pending' as const,
      enabledAt: null,
      pendingSessionId: 'ses_9',
      pendingExpiresAt: 9_000,
    };
    await store.factors.insert(factor({ ...pending, id: 'mfa_c1', name: 'c1', enrolmentGrantId: 'egr_1' }));
    await store.factors.insert(factor({ ...pending, id: 'mfa_c2', name: 'c2' }));
    await store.factors.insert(factor({ ...pending, id: 'mfa_c3', name: 'c3' }));
    await store.factors.insert(
      factor({ ...pending, id: 'mfa_c4', name: 'c4', adminProvisioned: true, pendingSessionId: null }),
    );
    expect((await store.factors.findById(ACCOUNT, 'mfa_c1'))!.enrolmentGrantId).toBe('egr_1');
    expect((await store.factors.findById(ACCOUNT, 'mfa_c2'))!.enrolmentGrantId).toBeUndefined();
    const cancelled = await store.factors.cancelPending({
      accountId: ACCOUNT,
      principalId: USER,
      exceptId: 'mfa_c3',
    });
    expect(cancelled.sort()).toEqual(['mfa_c1', 'mfa_c2']);
    expect(await store.factors.findById(ACCOUNT, 'mfa_c1')).toBeNull();
    expect(await store.factors.findById(ACCOUNT, 'mfa_c3')).not.toBeNull();
    expect(await store.factors.findById(ACCOUNT, 'mfa_c4')).not.toBeNull();
    // Enabled factors are never touched.
    expect(await store.factors.findById(ACCOUNT, 'mfa_1')).not.toBeNull();
    await store.factors.delete('mfa_c3');
    await store.factors.delete('mfa_c4');
  });

  it('recovery codes: a set replaces the old one; each code is consumed once, also concurrently', async () => {
    const codes = (prefix: string) =>
      Array.from({ length: 10 }, (_, i) => ({ id: `${prefix}${i}`, codeHash: `${prefix}-hash-${i}` }));
    // A set written without its provenance (no MFA session and factor it came from) never counts.
    await store.recoveryCodes.replaceSet({
      accountId: ACCOUNT,
      principalId: USER,
      codes: codes('v'),
      now: 0,
    });
    expect(await store.recoveryCodes.countRemaining(USER)).toBe(0);
    expect(await store.recoveryCodes.consume({ principalId: USER, codeHash: 'v-hash-0', now: 0 })).toBe(
      false,
    );
    const issued = { factorId: 'mfa_1', sessionId: 'ses_1' };
    await store.recoveryCodes.replaceSet({
      accountId: ACCOUNT,
      principalId: USER,
      codes: codes('a'),
      now: 1,
      issued,
    });
    await store.recoveryCodes.replaceSet({
      accountId: ACCOUNT,
      principalId: USER,
      codes: codes('b'),
      now: 2,
      issued,
    });
    expect(await store.recoveryCodes.countRemaining(USER)).toBe(10);
    expect(await store.recoveryCodes.consume({ principalId: USER, codeHash: 'a-hash-0', now: 3 })).toBe(
      false,
    );
    const uses = await Promise.all(
      Array.from({ length: 10 }, () =>
        store.recoveryCodes.consume({ principalId: USER, codeHash: 'b-hash-0', now: 3 }),
      ),
    );
    expect(uses.filter(Boolean)).toHaveLength(1);
    expect(await store.recoveryCodes.consume({ principalId: OTHER, codeHash: 'b-hash-1', now: 3 })).toBe(
      false,
    );
    expect(await store.recoveryCodes.countRemaining(USER)).toBe(9);
    expect(await store.recoveryCodes.principalsWithCodes(ACCOUNT)).toEqual([USER]);
  });

  it('hardware tokens: bulk insert in chunks, unique serials, find, list, update, existing serials', async () => {
    await store.transaction((tx) =>
      tx.hardwareTokens.insertMany(Array.from({ length: 1200 }, (_, i) => token(i))),
    );
    expect((await store.hardwareTokens.list(ACCOUNT)).length).toBe(1200);
    await expectConstraintViolation(
      store.hardwareTokens.insertMany([token(5000, { serial: 'SN000001' })]),
      'unique',
    );
    const t = (await store.hardwareTokens.findBySerial(ACCOUNT, 'SN000007'))!;
    expect(t).toEqual(token(7));
    await store.hardwareTokens.update({
      ...t,
      state: 'assigned',
      principalId: USER,
      factorId: 'mfa_1',
      updatedAt: 9,
    });
    expect((await store.hardwareTokens.findById(ACCOUNT, 'hwt_7'))!).toMatchObject({
      state: 'assigned',
      principalId: USER,
    });
    const existing = await store.hardwareTokens.existingSerials(ACCOUNT, [
      'SN000001',
      'SN999999',
      'SN001199',
    ]);
    expect(existing.sort()).toEqual(['SN000001', 'SN001199']);
  });

  it('mfa state: failures count atomically, put overwrites', async () => {
    const states = await Promise.all(
      Array.from({ length: 10 }, () =>
        store.mfaState.recordFailure({ principalId: USER, accountId: ACCOUNT, now: 4 }),
      ),
    );
    expect(states.map((s) => s.consecutiveFailures).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    await store.mfaState.put({ ...states[0]!, consecutiveFailures: 0, suspendedAt: 8, updatedAt: 8 });
    expect(await store.mfaState.get(USER)).toMatchObject({ consecutiveFailures: 0, suspendedAt: 8 });
    expect(await store.mfaState.get(OTHER)).toBeNull();
  });

  it('outbox: messages are kept per principal in order', async () => {
    for (const [i, template] of ['factor.added', 'recovery_code.used'].entries()) {
      await store.outbox.insert({
        id: `msg_${i}`,
        accountId: ACCOUNT,
        principalId: USER,
        channel: 'email',
        template,
        payload: { n: i },
        createdAt: 10 + i,
      });
    }
    expect((await store.outbox.listForPrincipal(USER)).map((m) => [m.template, m.payload.n])).toEqual([
      ['factor.added', 0],
      ['recovery_code.used', 1],
    ]);
  });
});
