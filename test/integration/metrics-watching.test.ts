/**
 * Watching a server (docs/operations.md, "Monitoring"), over real sockets on each engine:
 * - every security-event family moves by exactly what was done to it: sign-in outcomes (a wrong
 *   password, a wrong TOTP code, a success, a suspended attempt), second-factor failures by kind,
 *   a suspension, a recovery attempt, a guardrail refusal, an alert raised;
 * - the outbox gauges read the database at scrape time (one more pending message per queued
 *   message, the oldest's age as the clock moves);
 * - /readyz (and holdfast_ready) is 503 (0) while the database lacks one of this build's
 *   migrations or cannot be read, and 200 (1) once migrated;
 * - no label carries a login, an e-mail, an address or a code.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import { openInstallation } from '../../src/installation.js';
import { connectDatabase, migrateDatabase } from '../../src/storage/connect.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { DATABASE_KINDS, freshDatabase } from '../helpers/databases.js';
import {
  createTestInstallation,
  createUserWithPassword,
  testConfig,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  expectError,
  expectStatus,
  fetchHttp,
  mfaApi,
  PASSWORD,
  STEP_MS,
  totpAt,
  uniqueIp,
} from '../helpers/mfa.js';

const METRICS_TOKEN = 'metrics-token-watching-0123456789';
const OWNER = 'owner@acme.test';

/** One scrape: every sample by its name and sorted labels. */
class Scrape {
  readonly samples = new Map<string, number>();
  readonly names = new Set<string>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) /.exec(line);
      if (type) this.names.add(type[1]!);
      if (line === '' || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`not a sample: ${line}`);
      this.samples.set(Scrape.key(m[1]!, Scrape.labels(m[2] ?? '')), Number(m[3]));
    }
  }

  static labels(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
    return out;
  }

  static key(name: string, labels: Record<string, string>): string {
    const sorted = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`);
    return `${name}{${sorted.join(',')}}`;
  }

  /** A sample's value; 0 when the series does not exist yet (a counter never incremented). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples.get(Scrape.key(name, labels)) ?? 0;
  }

  /** The sum of every series of `name`. */
  total(name: string): number {
    let sum = 0;
    for (const [key, value] of this.samples) if (key.startsWith(`${name}{`)) sum += value;
    return sum;
  }
}

async function listen(server: FastifyInstance): Promise<string> {
  await server.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
}

async function scrape(base: string): Promise<Scrape> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return new Scrape(await res.text());
}

describe.each(DATABASE_KINDS)('security-event metrics [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    await createUserWithPassword(inst, { accountName: 'acme', email: OWNER, password: PASSWORD });
    server = await buildServer({
      app: inst.app,
      // Client addresses travel as X-Forwarded-For from the test (per-source throttles stay apart).
      trustedProxies: ['127.0.0.1'],
      publicUrl: 'http://127.0.0.1:8080',
      metricsToken: METRICS_TOKEN,
    });
    base = await listen(server);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('counts each sign-in outcome, second-factor failure, suspension, refusal and alert exactly once', async () => {
    const http = fetchHttp(base);
    const api = mfaApi(http, 'acme');
    const now = () => inst.clock.now();
    const before = await scrape(base);
    // Every sign-in outcome exists as a series before anything happened.
    expect(before.samples.has('holdfast_sign_ins_total{outcome=wrong_password}')).toBe(true);

    // A password-only session (no factor yet), refused administration by G2.
    const token = await api.passwordToken(OWNER);
    const users = await http({ method: 'GET', url: '/v1/users', token });
    expectError(users, 403, 'MFA_STEP_UP_REQUIRED');
    expect(users.body.error.guardrail).toBe('G2');

    // A TOTP factor.
    const enrol = await api.enrolTOTP(token, 'phone');
    expectStatus(enrol, 201);
    const factorId = enrol.body.factor.id as string;
    const secret = enrol.body.secret as string;
    expectStatus(
      await api.enable(token, factorId, { codes: [totpAt(secret, now() - STEP_MS), totpAt(secret, now())] }),
      200,
    );

    // The next codes are those of the next time step (the enabling ones are spent).
    inst.clock.advance(STEP_MS);

    // The brute-force alert fires at the fourth second-factor failure of this account's people.
    const account = await inst.store.accounts.findByName('acme');
    await inst.app.updateRecoverySettings({
      actor: { kind: 'operator' },
      ctx: { requestId: 'test', sourceIp: null, userAgent: 'test' },
      accountId: account!.id,
      changes: { alertThresholds: { bruteForceFailures: 4, bruteForceWindowMinutes: 15 } },
    });

    // A wrong password.
    const wrong = await http({
      method: 'POST',
      url: '/v1/sign-in',
      body: { account: 'acme', login: OWNER, password: 'not the password at all' },
      ip: uniqueIp(),
    });
    expectError(wrong, 401, 'AUTH_INVALID_CREDENTIALS');

    // A wrong code, then the right one: one second-factor failure and one sign-in.
    const flow = await api.startFlow(OWNER);
    const wrongCode = totpAt(secret, now() + 20 * STEP_MS);
    expectError(await api.secondFactor(flow, { factorId, code: wrongCode }), 401, 'MFA_FAILED');
    const ok = await api.secondFactor(flow, { factorId, code: totpAt(secret, now()) });
    expectStatus(ok, 200);
    expect(ok.body.status).toBe('signed_in');

    // Three more wrong codes suspend the second factor (the first one, from another address,
    // was not forgiven by the success); the right code is then refused.
    inst.app.deps.settings.mfa = { ...inst.app.deps.settings.mfa, suspendAfterFailures: 4 };
    const flow2 = await api.startFlow(OWNER);
    for (let i = 0; i < 3; i++) {
      expectError(await api.secondFactor(flow2, { factorId, code: wrongCode }), 401, 'MFA_FAILED');
    }
    const refused = await api.secondFactor(flow2, { factorId, code: totpAt(secret, now() + STEP_MS) });
    expectError(refused, 403, 'MFA_SUSPENDED');

    // A self-service recovery for someone without verified channels: refused, still counted.
    const recovery = await http({
      method: 'POST',
      url: '/v1/recovery/start',
      body: { account: 'acme', login: OWNER },
      ip: uniqueIp(),
    });
    expect(recovery.status).toBeLessThan(500);

    // The alert scanner (a background job of the server) reads the records.
    const scan = await inst.app.scanForAlerts();

    const after = await scrape(base);
    const delta = (metric: string, labels: Record<string, string> = {}) =>
      after.value(metric, labels) - before.value(metric, labels);
    expect({
      success: delta('holdfast_sign_ins_total', { outcome: 'success' }),
      wrongPassword: delta('holdfast_sign_ins_total', { outcome: 'wrong_password' }),
      wrongFactor: delta('holdfast_sign_ins_total', { outcome: 'wrong_factor' }),
      suspended: delta('holdfast_sign_ins_total', { outcome: 'suspended' }),
      allSignIns: after.total('holdfast_sign_ins_total') - before.total('holdfast_sign_ins_total'),
      totpFailures: delta('holdfast_mfa_failures_total', { purpose: 'sign_in', factor_kind: 'totp' }),
      allMfaFailures:
        after.total('holdfast_mfa_failures_total') - before.total('holdfast_mfa_failures_total'),
      suspensions: delta('holdfast_mfa_suspensions_total'),
      g2: delta('holdfast_guardrail_refusals_total', { guardrail: 'G2', code: 'MFA_STEP_UP_REQUIRED' }),
      recoveries: delta('holdfast_recoveries_total', {
        kind: 'second_factor',
        stage: 'started',
        outcome: 'failure',
      }),
      bruteForceAlerts: delta('holdfast_alerts_raised_total', {
        rule: 'HF-MFA-BRUTE-FORCE',
        severity: 'high',
      }),
      allAlerts: after.total('holdfast_alerts_raised_total') - before.total('holdfast_alerts_raised_total'),
    }).toEqual({
      success: 2,
      wrongPassword: 1,
      wrongFactor: 4,
      suspended: 1,
      allSignIns: 8,
      totpFailures: 4,
      allMfaFailures: 4,
      suspensions: 1,
      g2: 1,
      recoveries: 1,
      bruteForceAlerts: 1,
      allAlerts: scan.raised,
    });

    // Labels are closed sets: no login, e-mail, address, secret or code anywhere in the scrape.
    for (const planted of [OWNER, 'acme', secret, wrongCode, token, '172.']) {
      expect(after.text).not.toContain(planted);
    }
  }, 60_000);

  it('reads the outbox backlog from the database at scrape time', async () => {
    const before = await scrape(base);
    const pendingInDb = async () =>
      (await inst.store.outbox.list({ pendingOnly: true, limit: 10_000 })).filter(
        (m) => m.channel === 'email' && m.failedAt === null,
      ).length;
    expect(before.value('holdfast_outbox_pending_messages', { channel: 'email' })).toBe(await pendingInDb());

    // A password-only sign-in and a new TOTP factor for a second user queue one e-mail.
    const http = fetchHttp(base);
    await createUserWithPassword(inst, { accountName: 'acme', email: 'bob@acme.test', password: PASSWORD });
    const api = mfaApi(http, 'acme');
    const token = await api.passwordToken('bob@acme.test');
    const enrol = await api.enrolTOTP(token, 'phone');
    const secret = enrol.body.secret as string;
    const now = inst.clock.now();
    const queuedAt = now;
    expectStatus(
      await api.enable(token, enrol.body.factor.id, {
        codes: [totpAt(secret, now - STEP_MS), totpAt(secret, now)],
      }),
      200,
    );
    const oldest = Math.min(
      ...(await inst.store.outbox.list({ pendingOnly: true, limit: 10_000 }))
        .filter((m) => m.channel === 'email' && m.failedAt === null)
        .map((m) => m.createdAt),
    );
    inst.clock.advance(90_000);
    const after = await scrape(base);
    expect(after.value('holdfast_outbox_pending_messages', { channel: 'email' })).toBe(
      before.value('holdfast_outbox_pending_messages', { channel: 'email' }) + 1,
    );
    expect(after.value('holdfast_outbox_pending_messages', { channel: 'email' })).toBe(await pendingInDb());
    expect(after.value('holdfast_outbox_oldest_pending_age_seconds', { channel: 'email' })).toBe(
      (queuedAt + 90_000 - oldest) / 1000,
    );
    expect(after.value('holdfast_outbox_failed_messages', { channel: 'email' })).toBe(0);
    expect(after.value('holdfast_ready')).toBe(1);
  }, 60_000);
});

describe.each(DATABASE_KINDS)('/readyz and pending migrations [$name]', ({ name }) => {
  it('answers 503 while a migration of this build is pending or the database is gone, 200 once migrated', async () => {
    const fresh = await freshDatabase(name);
    const config = testConfig(fresh);
    // A database one migration behind this build (another instance has not migrated it yet).
    const names = Object.keys(MIGRATIONS).sort();
    const older = Object.fromEntries(names.slice(0, -1).map((n) => [n, MIGRATIONS[n]!]));
    const database = await connectDatabase(config.db);
    const migrated = await new Migrator({
      db: database.kysely,
      provider: { getMigrations: () => Promise.resolve(older) },
      allowUnorderedMigrations: true,
    }).migrateToLatest();
    expect(migrated.error).toBeUndefined();
    await database.close();

    const inst = await openInstallation(config, { migrate: false });
    const server = await buildServer({
      app: inst.app,
      trustedProxies: [],
      publicUrl: 'http://127.0.0.1:8080',
      metricsToken: METRICS_TOKEN,
    });
    try {
      const base = await listen(server);
      const pending = await fetch(`${base}/readyz`);
      expect(pending.status).toBe(503);
      expect(await pending.json()).toEqual({ status: 'unavailable' });
      expect((await scrape(base)).value('holdfast_ready')).toBe(0);
      // Liveness is not readiness: the process itself is fine.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);

      expect(await migrateDatabase(inst.database)).toEqual([names[names.length - 1]]);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await scrape(base)).value('holdfast_ready')).toBe(1);

      // The database goes away under the running server.
      await inst.database.close();
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      const gone = await scrape(base);
      expect(gone.value('holdfast_ready')).toBe(0);
      // No backlog is invented for a database that cannot be read.
      expect(gone.samples.has('holdfast_outbox_pending_messages{channel=email}')).toBe(false);
    } finally {
      await server.close();
      await inst.close().catch(() => undefined);
      await fresh.cleanup();
    }
  }, 60_000);
});
