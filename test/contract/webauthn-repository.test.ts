import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Factor } from '../../src/core/factors/factor.js';
import type { Store, WebAuthnChallenge, WebAuthnCredential } from '../../src/core/ports.js';
import { connectDatabase, migrateDatabase, type Database } from '../../src/storage/connect.js';
import { createStore } from '../../src/storage/store.js';
import { DATABASE_KINDS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';
import { expectConstraintViolation } from '../helpers/errors.js';

const ACCOUNT = '300000000001';
const OTHER_ACCOUNT = '300000000002';
const USER = 'AIDA0000000000000031';

const factor = (id: string): Factor => ({
  id,
  accountId: ACCOUNT,
  principalId: USER,
  kind: 'webauthn',
  name: id,
  status: 'enabled',
  assurance: 'device_bound_key',
  adminProvisioned: false,
  hardwareTokenId: null,
  secretSealed: 'v1.k.iv.ct',
  params: { mode: 'totp', algorithm: 'SHA1', digits: 6, period: 30, initialCounter: 0 },
  lastCounter: null,
  driftSteps: 0,
  failedAttempts: 2,
  createdAt: 1,
  enabledAt: 1,
  lastUsedAt: null,
  pendingSessionId: null,
  pendingExpiresAt: null,
  pendingAttempts: 0,
});

const credential = (over: Partial<WebAuthnCredential>): WebAuthnCredential => ({
  factorId: 'mfa_w1',
  accountId: ACCOUNT,
  principalId: USER,
  credentialId: 'Y3JlZC0x',
  publicKey: new Uint8Array([0xa5, 1, 2, 3, 0x26]),
  algorithm: -7,
  signCount: 5,
  transports: ['usb', 'nfc'],
  aaguid: '2fc0579f-8113-47ea-b116-bb5a8db9202a',
  backupEligible: false,
  backedUp: false,
  userVerified: true,
  attestationFormat: 'packed',
  attestationVerified: true,
  aaguidAllowed: true,
  discoverable: false,
  userHandle: 'aGFuZGxl',
  createdAt: 10,
  lastUsedAt: null,
  ...over,
});

const challenge = (over: Partial<WebAuthnChallenge>): WebAuthnChallenge => ({
  id: 'wac_1',
  purpose: 'sign_in',
  challenge: 'Y2hhbGxlbmdl',
  accountId: ACCOUNT,
  principalId: USER,
  sessionId: null,
  flowId: 'flw_1',
  data: { kind: 'passkey', adminProvisioned: false },
  createdAt: 100,
  expiresAt: 400,
  usedAt: null,
  ...over,
});

describe.each(DATABASE_KINDS)('WebAuthn repository contract [$name]', ({ name }) => {
  let fresh: FreshDatabase;
  let db: Database;
  let store: Store;

  beforeAll(async () => {
    fresh = await freshDatabase(name);
    db = await connectDatabase(fresh.url);
    await migrateDatabase(db);
    store = createStore(db);
    await store.accounts.insert({ id: ACCOUNT, name: 'webauthn', createdAt: 1, settings: {} });
    await store.principals.insert({
      id: USER,
      accountId: ACCOUNT,
      username: USER,
      email: 'w@example.com',
      role: 'user',
      status: 'active',
      passwordHash: null,
      passwordChangedAt: null,
      createdAt: 1,
      updatedAt: 1,
    });
    await store.factors.insert(factor('mfa_w1'));
    await store.factors.insert(factor('mfa_w2'));
  });
  afterAll(async () => {
    await db.close();
    await fresh.cleanup();
  });

  it('stores credentials, unique per account, and finds them only in their account', async () => {
    await store.webauthn.insertCredential(credential({}));
    expect(await store.webauthn.findCredential(ACCOUNT, 'Y3JlZC0x')).toEqual(credential({}));
    expect(await store.webauthn.findCredential(OTHER_ACCOUNT, 'Y3JlZC0x')).toBeNull();
    expect(await store.webauthn.findCredentialByFactor('mfa_w1')).toEqual(credential({}));
    await expectConstraintViolation(
      store.webauthn.insertCredential(credential({ factorId: 'mfa_w2' })),
      'unique',
    );
    await store.webauthn.insertCredential(
      credential({ factorId: 'mfa_w2', credentialId: 'Y3JlZC0y', discoverable: true, createdAt: 20 }),
    );
    expect((await store.webauthn.listCredentials(ACCOUNT, USER)).map((c) => c.factorId)).toEqual([
      'mfa_w1',
      'mfa_w2',
    ]);
  });

  it('records a use only from the expected counter, with the backup state and the factor use', async () => {
    expect(
      await store.webauthn.recordUse({
        factorId: 'mfa_w1',
        expectedCount: 4,
        newCount: 9,
        backedUp: true,
        now: 50,
      }),
    ).toBe(false);
    expect(
      await store.webauthn.recordUse({
        factorId: 'mfa_w1',
        expectedCount: 5,
        newCount: 9,
        backedUp: true,
        now: 50,
      }),
    ).toBe(true);
    // The same counter cannot win twice.
    expect(
      await store.webauthn.recordUse({
        factorId: 'mfa_w1',
        expectedCount: 5,
        newCount: 9,
        backedUp: true,
        now: 51,
      }),
    ).toBe(false);
    expect(await store.webauthn.findCredentialByFactor('mfa_w1')).toMatchObject({
      signCount: 9,
      backedUp: true,
      lastUsedAt: 50,
    });
    expect(await store.factors.findById(ACCOUNT, 'mfa_w1')).toMatchObject({
      lastUsedAt: 50,
      failedAttempts: 0,
    });
  });

  it('uses a challenge once, only before it expires, and sweeps expired ones', async () => {
    await store.webauthn.insertChallenge(challenge({}));
    await store.webauthn.insertChallenge(challenge({ id: 'wac_2', expiresAt: 200 }));
    expect(await store.webauthn.findChallenge('wac_1')).toEqual(challenge({}));
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        store.transaction((tx) => tx.webauthn.consumeChallenge({ id: 'wac_1', now: 150 })),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store.webauthn.findChallenge('wac_1'))!.usedAt).toBe(150);
    expect(await store.webauthn.consumeChallenge({ id: 'wac_2', now: 200 })).toBe(false);
    expect(await store.webauthn.deleteExpiredChallenges(300)).toBe(1);
    expect(await store.webauthn.findChallenge('wac_2')).toBeNull();
    expect(await store.webauthn.findChallenge('wac_1')).not.toBeNull();
  });

  it('cancels the live registration challenges of one principal only', async () => {
    const register = { purpose: 'register' as const, flowId: null, sessionId: 'ses_1' };
    await store.webauthn.insertChallenge(challenge({ ...register, id: 'wac_r1' }));
    await store.webauthn.insertChallenge(challenge({ ...register, id: 'wac_r2' }));
    await store.webauthn.insertChallenge(
      challenge({ ...register, id: 'wac_r3', principalId: 'AIDAOTHERPRINCIPAL01' }),
    );
    await store.webauthn.insertChallenge(challenge({ id: 'wac_s1' }));
    expect(
      await store.webauthn.cancelRegistrations({ principalId: USER, now: 120, exceptId: 'wac_r2' }),
    ).toBe(1);
    expect((await store.webauthn.findChallenge('wac_r1'))!.usedAt).toBe(120);
    expect((await store.webauthn.findChallenge('wac_r2'))!.usedAt).toBeNull();
    expect((await store.webauthn.findChallenge('wac_r3'))!.usedAt).toBeNull();
    expect((await store.webauthn.findChallenge('wac_s1'))!.usedAt).toBeNull();
    expect(await store.webauthn.consumeChallenge({ id: 'wac_r1', now: 130 })).toBe(false);
  });

  it('keeps one metadata catalog per account, replaced on import', async () => {
    expect(await store.webauthn.getMetadata(ACCOUNT)).toBeNull();
    const record = {
      accountId: ACCOUNT,
      serialNumber: 3,
      nextUpdate: '2030-01-01',
      entries: '[]',
      importedAt: 7,
    };
    await store.webauthn.putMetadata(record);
    await store.webauthn.putMetadata({ ...record, serialNumber: 4, importedAt: 8 });
    expect(await store.webauthn.getMetadata(ACCOUNT)).toEqual({ ...record, serialNumber: 4, importedAt: 8 });
    expect(await store.webauthn.getMetadata(OTHER_ACCOUNT)).toBeNull();
  });

  it('removing the factor removes its credential', async () => {
    await store.factors.delete('mfa_w2');
    expect(await store.webauthn.findCredentialByFactor('mfa_w2')).toBeNull();
    expect(await store.webauthn.findCredential(ACCOUNT, 'Y3JlZC0y')).toBeNull();
  });
});
