import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessKey, AwsRole, TemporaryCredential } from '../../src/core/access-keys/credentials.js';
import type { Store } from '../../src/core/ports.js';
import { connectDatabase, migrateDatabase, type Database } from '../../src/storage/connect.js';
import { SEALED_COLUMNS } from '../../src/storage/sealed-values.js';
import { createStore } from '../../src/storage/store.js';
import { DATABASE_KINDS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';
import { expectConstraintViolation } from '../helpers/errors.js';

const ACCOUNT = '200000000004';
const OTHER_ACCOUNT = '200000000005';
const USER = 'AIDA0000000000000041';
const OTHER = 'AIDA0000000000000042';

const key = (over: Partial<AccessKey>): AccessKey => ({
  id: 'AKIAAAAAAAAAAAAAAAA1',
  accountId: ACCOUNT,
  principalId: USER,
  status: 'Active',
  secretSealed: 'v1.k.iv.ct',
  createdAt: 10,
  lastUsedAt: null,
  lastUsedService: null,
  deactivatedByGuardrail: false,
  ...over,
});

const temporary = (over: Partial<TemporaryCredential>): TemporaryCredential => ({
  id: 'ASIAAAAAAAAAAAAAAAA1',
  accountId: ACCOUNT,
  principalId: USER,
  source: 'session-token',
  roleId: null,
  roleSessionName: null,
  secretSealed: 'v1.k.iv.ct',
  tokenHash: 'a'.repeat(64),
  mfa: {
    factorId: 'mfa_1',
    kind: 'totp',
    assurance: 'software_otp',
    at: 100,
    serialNumber: 'arn:aws:iam::1:mfa/x',
  },
  parentKeyId: 'AKIAAAAAAAAAAAAAAAA1',
  sourceKeyId: 'AKIAAAAAAAAAAAAAAAA1',
  createdAt: 100,
  expiresAt: 1000,
  revokedAt: null,
  ...over,
});

const role = (over: Partial<AwsRole>): AwsRole => ({
  id: 'AROAAAAAAAAAAAAAAAA1',
  accountId: ACCOUNT,
  name: 'Deploy',
  path: '/',
  description: '',
  trustPolicy: '{"Version":"2012-10-17","Statement":[]}',
  maxSessionDuration: 3600,
  createdAt: 5,
  ...over,
});

describe.each(DATABASE_KINDS)('access key repositories contract [$name]', ({ name }) => {
  let fresh: FreshDatabase;
  let db: Database;
  let store: Store;

  beforeAll(async () => {
    fresh = await freshDatabase(name);
    db = await connectDatabase(fresh.url);
    await migrateDatabase(db);
    store = createStore(db);
    for (const account of [ACCOUNT, OTHER_ACCOUNT]) {
      await store.accounts.insert({ id: account, name: `keys-${account}`, createdAt: 1, settings: {} });
    }
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

  it('access keys: insert, read back, list per principal, count per account', async () => {
    await store.accessKeys.insert(key({}));
    await store.accessKeys.insert(key({ id: 'AKIAAAAAAAAAAAAAAAA2', createdAt: 20 }));
    await store.accessKeys.insert(key({ id: 'AKIAAAAAAAAAAAAAAAA3', principalId: OTHER }));
    expect(await store.accessKeys.findById('AKIAAAAAAAAAAAAAAAA1')).toEqual(key({}));
    expect(await store.accessKeys.findById('AKIAZZZZZZZZZZZZZZZZ')).toBeNull();
    expect((await store.accessKeys.listByPrincipal(ACCOUNT, USER)).map((k) => k.id)).toEqual([
      'AKIAAAAAAAAAAAAAAAA1',
      'AKIAAAAAAAAAAAAAAAA2',
    ]);
    expect(await store.accessKeys.listByPrincipal(OTHER_ACCOUNT, USER)).toEqual([]);
    expect(await store.accessKeys.countByAccount(ACCOUNT)).toBe(3);
    await expectConstraintViolation(store.accessKeys.insert(key({})), 'unique');
  });

  it('access keys: status changes, guardrail deactivation of one principal only, use, delete', async () => {
    expect(
      await store.accessKeys.setStatus({
        id: 'AKIAAAAAAAAAAAAAAAA2',
        status: 'Inactive',
        byGuardrail: false,
      }),
    ).toBe(true);
    expect(await store.accessKeys.deactivateAllForPrincipal({ accountId: ACCOUNT, principalId: USER })).toBe(
      1,
    );
    const first = await store.accessKeys.findById('AKIAAAAAAAAAAAAAAAA1');
    expect(first).toMatchObject({ status: 'Inactive', deactivatedByGuardrail: true });
    expect(await store.accessKeys.findById('AKIAAAAAAAAAAAAAAAA2')).toMatchObject({
      status: 'Inactive',
      deactivatedByGuardrail: false,
    });
    expect(await store.accessKeys.findById('AKIAAAAAAAAAAAAAAAA3')).toMatchObject({ status: 'Active' });
    await store.accessKeys.setStatus({ id: 'AKIAAAAAAAAAAAAAAAA1', status: 'Active', byGuardrail: false });
    expect(await store.accessKeys.findById('AKIAAAAAAAAAAAAAAAA1')).toMatchObject({
      status: 'Active',
      deactivatedByGuardrail: false,
    });
    await store.accessKeys.recordUse({ id: 'AKIAAAAAAAAAAAAAAAA1', now: 77, service: 'sts' });
    expect(await store.accessKeys.findById('AKIAAAAAAAAAAAAAAAA1')).toMatchObject({
      lastUsedAt: 77,
      lastUsedService: 'sts',
    });
    expect(await store.accessKeys.delete('AKIAAAAAAAAAAAAAAAA2')).toBe(true);
    expect(await store.accessKeys.delete('AKIAAAAAAAAAAAAAAAA2')).toBe(false);
  });

  it('temporary credentials: MFA facts round-trip; revocation spares the acting one; expiry cleanup', async () => {
    await store.temporaryCredentials.insert(temporary({}));
    await store.temporaryCredentials.insert(temporary({ id: 'ASIAAAAAAAAAAAAAAAA2', mfa: null }));
    await store.temporaryCredentials.insert(
      temporary({
        id: 'ASIAAAAAAAAAAAAAAAA3',
        source: 'assumed-role',
        roleId: 'AROAAAAAAAAAAAAAAAA1',
        roleSessionName: 's1',
        expiresAt: 50,
      }),
    );
    expect(await store.temporaryCredentials.findById('ASIAAAAAAAAAAAAAAAA1')).toEqual(temporary({}));
    expect(await store.temporaryCredentials.findById('ASIAAAAAAAAAAAAAAAA2')).toMatchObject({ mfa: null });
    // The already-expired one is not counted; the acting one is spared.
    expect(
      await store.temporaryCredentials.revokeAllForPrincipal({
        accountId: ACCOUNT,
        principalId: USER,
        now: 200,
        exceptId: 'ASIAAAAAAAAAAAAAAAA1',
      }),
    ).toBe(1);
    expect(await store.temporaryCredentials.findById('ASIAAAAAAAAAAAAAAAA1')).toMatchObject({
      revokedAt: null,
    });
    expect(await store.temporaryCredentials.findById('ASIAAAAAAAAAAAAAAAA2')).toMatchObject({
      revokedAt: 200,
    });
    expect(await store.temporaryCredentials.deleteExpired(200)).toBe(1);
    expect(await store.temporaryCredentials.findById('ASIAAAAAAAAAAAAAAAA3')).toBeNull();
  });

  it('temporary credentials: derived ones end with their factor, their source key, or their lack of MFA', async () => {
    // A principal of its own, so the credentials of the tests above do not count.
    const live = { expiresAt: 10_000, principalId: 'usr_derived' };
    await store.temporaryCredentials.insert(temporary({ id: 'ASIADERIVEDAAAAAAAA1', ...live }));
    await store.temporaryCredentials.insert(
      temporary({
        id: 'ASIADERIVEDAAAAAAAA2',
        ...live,
        mfa: null,
        parentKeyId: 'AKIAAAAAAAAAAAAAAAA3',
        sourceKeyId: undefined,
      }),
    );
    // Chained from a temporary credential: its source is the long-term key at the start.
    await store.temporaryCredentials.insert(
      temporary({
        id: 'ASIADERIVEDAAAAAAAA3',
        ...live,
        mfa: { ...temporary({}).mfa!, factorId: 'mfa_other' },
        parentKeyId: 'ASIADERIVEDAAAAAAAA1',
        sourceKeyId: 'AKIAAAAAAAAAAAAAAAA1',
      }),
    );
    const revoke = (over: Record<string, string | boolean>) =>
      store.temporaryCredentials.revokeDerived({
        accountId: ACCOUNT,
        principalId: 'usr_derived',
        now: 300,
        ...over,
      });
    expect(await store.temporaryCredentials.findById('ASIADERIVEDAAAAAAAA2')).toMatchObject({
      sourceKeyId: 'AKIAAAAAAAAAAAAAAAA3',
    });
    expect(await revoke({ factorId: 'mfa_nothing' })).toBe(0);
    expect(await revoke({ withoutMfa: true })).toBe(1);
    expect(await store.temporaryCredentials.findById('ASIADERIVEDAAAAAAAA2')).toMatchObject({
      revokedAt: 300,
    });
    expect(await revoke({ factorId: 'mfa_other' })).toBe(1);
    expect(await store.temporaryCredentials.findById('ASIADERIVEDAAAAAAAA3')).toMatchObject({
      revokedAt: 300,
    });
    expect(await revoke({ sourceKeyId: 'AKIAAAAAAAAAAAAAAAA1', exceptId: 'ASIADERIVEDAAAAAAAA1' })).toBe(0);
    expect(await revoke({ sourceKeyId: 'AKIAAAAAAAAAAAAAAAA1' })).toBe(1);
    expect(await store.temporaryCredentials.findById('ASIADERIVEDAAAAAAAA1')).toMatchObject({
      revokedAt: 300,
    });
  });

  it('roles: names unique per account case-insensitively; devices; user deletion', async () => {
    await store.awsIdentities.insertRole(role({}));
    await expectConstraintViolation(
      store.awsIdentities.insertRole(role({ id: 'AROAAAAAAAAAAAAAAAA2', name: 'DEPLOY' })),
      'unique',
    );
    await store.awsIdentities.insertRole(role({ id: 'AROAAAAAAAAAAAAAAAA3', accountId: OTHER_ACCOUNT }));
    expect(await store.awsIdentities.findRole(ACCOUNT, 'deploy')).toEqual(role({}));
    expect(await store.awsIdentities.findRoleById(ACCOUNT, 'AROAAAAAAAAAAAAAAAA3')).toBeNull();
    expect(await store.awsIdentities.countRoles(ACCOUNT)).toBe(1);

    const serial = `arn:aws:iam::${ACCOUNT}:mfa/phone`;
    const device = {
      accountId: ACCOUNT,
      serialNumber: serial,
      name: 'phone',
      path: '/',
      principalId: OTHER,
      factorId: 'mfa_9',
      createdAt: 3,
    };
    await store.awsIdentities.insertDevice(device);
    await expectConstraintViolation(
      store.awsIdentities.insertDevice({ ...device, factorId: 'mfa_10' }),
      'unique',
    );
    expect(await store.awsIdentities.findDevice(ACCOUNT, serial)).toEqual(device);
    expect(await store.awsIdentities.findDeviceByFactor(ACCOUNT, 'mfa_9')).toEqual(device);
    await store.awsIdentities.detachDevice(ACCOUNT, serial);
    expect(await store.awsIdentities.findDevice(ACCOUNT, serial)).toMatchObject({ factorId: null });
    expect((await store.awsIdentities.listDevices(ACCOUNT)).map((d) => d.serialNumber)).toEqual([serial]);

    // A principal that still holds an access key is never deleted (the foreign key holds).
    await expectConstraintViolation(
      store.transaction((tx) => tx.awsIdentities.deletePrincipal(ACCOUNT, OTHER)),
      'foreignKey',
    );
    expect(await store.principals.findById(ACCOUNT, OTHER)).not.toBeNull();
    await store.accessKeys.delete('AKIAAAAAAAAAAAAAAAA3');
    await store.transaction((tx) => tx.awsIdentities.deletePrincipal(ACCOUNT, OTHER));
    expect(await store.principals.findById(ACCOUNT, OTHER)).toBeNull();
    expect(await store.awsIdentities.listDevices(ACCOUNT)).toEqual([]);
    expect(await store.principals.findById(ACCOUNT, USER)).not.toBeNull();
  });

  it('roles: listed by name, updated, deleted; a role session keeps its session policy', async () => {
    await store.awsIdentities.insertRole(role({ id: 'AROAAAAAAAAAAAAAAAA7', name: 'Alpha' }));
    const names = async () => (await store.awsIdentities.listRoles(ACCOUNT)).map((r) => r.name);
    expect(await names()).toEqual(['Alpha', 'Deploy']);
    const alpha = (await store.awsIdentities.findRoleById(ACCOUNT, 'AROAAAAAAAAAAAAAAAA7'))!;
    const changed = {
      ...alpha,
      description: 'on call',
      trustPolicy: '{"Statement":[]}',
      maxSessionDuration: 7200,
    };
    await store.awsIdentities.updateRole(changed);
    expect(await store.awsIdentities.findRole(ACCOUNT, 'alpha')).toEqual(changed);
    // Another account's role of the same id is never touched.
    expect(await store.awsIdentities.deleteRole(OTHER_ACCOUNT, 'AROAAAAAAAAAAAAAAAA7')).toBe(false);
    expect(await store.awsIdentities.deleteRole(ACCOUNT, 'AROAAAAAAAAAAAAAAAA7')).toBe(true);
    expect(await store.awsIdentities.deleteRole(ACCOUNT, 'AROAAAAAAAAAAAAAAAA7')).toBe(false);
    expect(await names()).toEqual(['Deploy']);

    const policy =
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}';
    const session = temporary({
      id: 'ASIAAAAAAAAAAAAAAAA9',
      source: 'assumed-role',
      roleId: 'AROAAAAAAAAAAAAAAAA1',
      roleSessionName: 's9',
      sessionPolicy: policy,
    });
    await store.temporaryCredentials.insert(session);
    expect(await store.temporaryCredentials.findById('ASIAAAAAAAAAAAAAAAA9')).toEqual(session);
  });

  it('access key and temporary secrets are re-sealed by key rotation', () => {
    const tables = SEALED_COLUMNS.map((c) => c.table as string);
    expect(tables).toEqual(expect.arrayContaining(['access_keys', 'temporary_credentials']));
    expect(SEALED_COLUMNS.find((c) => c.table === 'access_keys')!.context('AKIAX')).toBe('accesskey:AKIAX');
  });
});
