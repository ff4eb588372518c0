import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { openInstallation, type Installation } from '../../src/installation.js';
import { freshDatabase, type FreshDatabase, type TestDatabaseKind } from './databases.js';

/** Start of test time: a fixed instant, so tests never depend on the wall clock. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A test installation on a fresh database with a frozen clock. */
export interface TestInstallation extends Installation {
  clock: ManualClock;
  fresh: FreshDatabase;
  masterKey: string;
  /** Closes the installation and drops its database. */
  destroy(): Promise<void>;
}

/** Builds a config for a fresh database (random master key in HOLDFAST_MASTER_KEY unless `env` says otherwise). */
export function testConfig(fresh: FreshDatabase, env: Record<string, string> = {}): Config {
  return loadConfig(
    { db: fresh.url, dataDir: fresh.dataDir },
    { HOLDFAST_LOG_LEVEL: 'silent', HOLDFAST_MASTER_KEY: randomBytes(32).toString('base64'), ...env },
  );
}

/** Opens an installation on a fresh database of the given kind. */
export async function createTestInstallation(
  kind: TestDatabaseKind['name'],
  options: { env?: Record<string, string>; clock?: ManualClock } = {},
): Promise<TestInstallation> {
  const fresh = await freshDatabase(kind);
  const config = testConfig(fresh, options.env);
  const clock = options.clock ?? new ManualClock(T0);
  const inst = await openInstallation(config, { clock });
  return Object.assign(inst, {
    clock,
    fresh,
    masterKey: config.masterKey!,
    async destroy() {
      await inst.close();
      await fresh.cleanup();
    },
  });
}

/** A principal with a password, created through the app's own use cases. */
export async function createUserWithPassword(
  inst: Installation,
  input: { accountName?: string; email: string; password: string; role?: string },
): Promise<{ accountId: string; userId: string }> {
  const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };
  let account = input.accountName ? await inst.store.accounts.findByName(input.accountName) : null;
  if (account === null) {
    const boot = await inst.app.bootstrapAccount({
      accountName: input.accountName ?? 'acme',
      ownerEmail: input.role === undefined || input.role === 'owner' ? input.email : `owner-${input.email}`,
      ctx,
    });
    account = boot.account;
    if (input.role === undefined || input.role === 'owner') {
      await inst.app.completeSetup({ ctx, token: boot.setup.token, password: input.password });
      return { accountId: account.id, userId: boot.owner.id };
    }
  }
  const { user, setup } = await inst.app.createUser({
    actor: { kind: 'operator' },
    ctx,
    accountId: account.id,
    email: input.email,
    role: input.role ?? 'user',
  });
  await inst.app.completeSetup({ ctx, token: setup.token, password: input.password });
  return { accountId: account.id, userId: user.id };
}

/** Builds the HTTP server (not listening) over a test installation. */
export async function buildTestServer(inst: Installation, options: { trustedProxies?: string[] } = {}) {
  const { buildServer } = await import('../../src/http/server.js');
  return buildServer({
    app: inst.app,
    trustedProxies: options.trustedProxies ?? [],
    publicUrl: 'http://127.0.0.1:8080',
  });
}

/**
 * A bearer session that passed a second factor, exactly as the sign-in flow stores one. For
 * suites about what MFA sessions may do (administration under guardrail G2), not about how they
 * are obtained: the sign-in and step-up flows themselves are tested in mfa.test.ts.
 */
export async function mfaSessionToken(
  inst: Installation,
  input: { accountName: string; login: string; factorAt?: number },
): Promise<string> {
  const { createSession } = await import('../../src/app/auth.js');
  const account = await inst.store.accounts.findByName(input.accountName);
  if (account === null) throw new Error(`no account ${input.accountName}`);
  const principal = await inst.store.principals.findByLogin(account.id, input.login);
  if (principal === null) throw new Error(`no principal ${input.login}`);
  const deps = inst.app.deps;
  const issued = await inst.store.transaction((tx) =>
    createSession(deps, tx, {
      principal,
      channel: 'bearer',
      ctx: { requestId: 'test', sourceIp: '127.0.0.1', userAgent: 'test' },
      auth: {
        methods: ['pwd', 'otp'],
        factor: {
          factorId: 'mfa_test_fixture',
          kind: 'totp',
          assurance: 'software_otp',
          at: input.factorAt ?? deps.clock.now(),
        },
      },
    }),
  );
  return issued.token;
}
