/**
 * Operational limits, attacked as an outsider would:
 * - a client that sends its request body a byte at a time is cut off (real socket);
 * - /metrics is not public: 404 without a configured token, 401 with a wrong one;
 * - the SQLite database file and its -wal and -shm are readable by their owner only (0600);
 * - 1,000 throttled sign-ins from one address write a bounded number of audit rows that still
 *   say who was refused and how often; the real user still signs in.
 */
import { closeSync, existsSync, openSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushRefusalSummaries, REFUSAL_WINDOW_MS } from '../../src/app/deps.js';
import { HoldfastError } from '../../src/core/errors.js';
import { loadConfig } from '../../src/config/config.js';
import { buildServer } from '../../src/http/server.js';
import { connectDatabase } from '../../src/storage/connect.js';
import { DATABASE_KINDS, freshDatabase } from '../helpers/databases.js';
import { expectCode } from '../helpers/errors.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { PASSWORD } from '../helpers/mfa.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe('HTTP limits and the metrics endpoint', () => {
  let inst: TestInstallation;
  let server: Awaited<ReturnType<typeof buildServer>>;
  let base: string;

  beforeAll(async () => {
    inst = await createTestInstallation('sqlite');
    server = await buildServer({
      app: inst.app,
      trustedProxies: [],
      publicUrl: 'http://127.0.0.1:8080',
      metricsToken: METRICS_TOKEN,
      timeouts: { requestMs: 1500, headersMs: 1500, idleMs: 10_000, keepAliveMs: 1000 },
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('closes a connection whose body arrives a byte at a time (slow-body attack), and serves others', async () => {
    const port = (server.server.address() as AddressInfo).port;
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.write(
      'POST /v1/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{',
    );
    // One byte every 100 ms would take over 16 minutes to finish the body: the server must not wait.
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(' ');
    }, 100);
    let gaveUp: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      closed.then(() => 'closed' as const),
      new Promise<'still open'>((resolve) => (gaveUp = setTimeout(() => resolve('still open'), 20_000))),
    ]);
    clearInterval(drip);
    clearTimeout(gaveUp);
    socket.destroy();
    expect(outcome).toBe('closed');
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    // Nobody else was held up.
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
  }, 30_000);

  it('/metrics answers only to its bearer token', async () => {
    const none = await fetch(`${base}/metrics`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('METRICS_TOKEN_INVALID');
    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('holdfast_http_requests_total');
  });

  it('/metrics does not exist on a server without a token (the default)', async () => {
    const plain = await buildServer({
      app: inst.app,
      trustedProxies: [],
      publicUrl: 'http://127.0.0.1:8080',
    });
    try {
      for (const headers of [{}, { authorization: `Bearer ${METRICS_TOKEN}` }]) {
        const res = await plain.inject({ url: '/metrics', headers });
        expect(res.statusCode).toBe(404);
        expect(res.body).not.toContain('holdfast_http');
      }
    } finally {
      await plain.close();
    }
  });

  it('reads the limits and the token from the environment, refusing a guessable token', () => {
    const config = loadConfig(
      {},
      {
        HOLDFAST_METRICS_TOKEN: METRICS_TOKEN,
        HOLDFAST_REQUEST_TIMEOUT_SECONDS: '20',
        HOLDFAST_HEADERS_TIMEOUT_SECONDS: '5',
        HOLDFAST_IDLE_TIMEOUT_SECONDS: '30',
        HOLDFAST_KEEP_ALIVE_TIMEOUT_SECONDS: '4',
      },
    );
    expect(config.metricsToken).toBe(METRICS_TOKEN);
    expect(config.timeouts).toEqual({
      requestMs: 20_000,
      headersMs: 5000,
      idleMs: 30_000,
      keepAliveMs: 4000,
    });
    expect(loadConfig({}, {}).metricsToken).toBeNull();
    expect(loadConfig({}, {}).timeouts.requestMs).toBe(30_000);
    for (const env of [
      { HOLDFAST_METRICS_TOKEN: 'short' },
      { HOLDFAST_REQUEST_TIMEOUT_SECONDS: '0' },
      { HOLDFAST_IDLE_TIMEOUT_SECONDS: 'forever' },
    ]) {
      expectCode(() => loadConfig({}, env), 'CONFIG_INVALID');
    }
  });
});

describe('the SQLite database file', () => {
  it('is created 0600, and so are its -wal and -shm files', async () => {
    const inst = await createTestInstallation('sqlite');
    try {
      await createUserWithPassword(inst, { accountName: 'acme', email: 'o@acme.test', password: PASSWORD });
      const path = inst.fresh.url.slice('sqlite:'.length);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        expect(existsSync(file)).toBe(true);
        expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
      }
    } finally {
      await inst.destroy();
    }
  });

  it('an existing world-readable database is tightened to 0600 when opened', async () => {
    const fresh = await freshDatabase('sqlite');
    try {
      const path = join(fresh.dataDir, 'old.db');
      writeFileSync(path, '');
      chmodSync(path, 0o644);
      closeSync(openSync(`${path}-wal`, 'a', 0o644));
      chmodSync(`${path}-wal`, 0o644);
      const db = await connectDatabase(`sqlite:${path}`);
      await db.close();
      expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
    } finally {
      await fresh.cleanup();
    }
  });
});

describe.each(DATABASE_KINDS)('throttled sign-ins from one address [$name]', ({ name }) => {
  let inst: TestInstallation;

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    await createUserWithPassword(inst, { accountName: 'acme', email: 'alice@acme.test', password: PASSWORD });
  }, 60_000);
  afterAll(async () => {
    await inst?.destroy();
  });

  it('inputs as long as the API allows, and a forged client address, get a refusal, never a 500', async () => {
    const server = await buildTestServer(inst, { trustedProxies: ['10.9.9.9'] });
    try {
      const before = (await inst.store.audit.scan(0, 1_000_000)).length;
      const res = await server.inject({
        method: 'POST',
        url: '/v1/sign-in',
        remoteAddress: '10.9.9.9',
        // A proxy that passes the client's header through unchanged.
        headers: { 'x-forwarded-for': `${'f'.repeat(5000)}`, 'user-agent': 'u'.repeat(5000) },
        payload: {
          account: `a${'b'.repeat(61)}c`,
          login: `${'l'.repeat(240)}@acme.test`,
          password: 'wrong password!',
        },
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('AUTH_INVALID_CREDENTIALS');
      const added = (await inst.store.audit.scan(0, 1_000_000)).slice(before);
      expect(added.length).toBeGreaterThan(0);
      for (const r of added) {
        expect(r.sourceIp).toBe('10.9.9.9');
        expect((r.userAgent ?? '').length).toBeLessThanOrEqual(512);
      }
      // The real user, through the same proxy.
      const ok = await server.inject({
        method: 'POST',
        url: '/v1/sign-in',
        remoteAddress: '10.9.9.9',
        headers: { 'x-forwarded-for': '192.0.2.44' },
        payload: { account: 'acme', login: 'alice@acme.test', password: PASSWORD },
      });
      expect(ok.statusCode).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('1,000 refused attempts write a bounded number of rows, with the count; the user still gets in', async () => {
    const attacker = { requestId: 'atk', sourceIp: '198.51.100.7', userAgent: 'guesser' };
    const before = await inst.store.audit.count();
    const codes = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      try {
        await inst.app.signIn({
          ctx: { ...attacker, requestId: `atk-${i}` },
          account: 'acme',
          login: 'alice@acme.test',
          password: `guess number ${i}!`,
          channel: 'bearer',
        });
        throw new Error('a wrong password was accepted');
      } catch (err) {
        const code = (err as HoldfastError).code;
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      if (i === 499) inst.clock.advance(REFUSAL_WINDOW_MS + 1);
    }
    expect([...codes.keys()].sort()).toEqual(['AUTH_INVALID_CREDENTIALS', 'AUTH_THROTTLED']);
    await flushRefusalSummaries(inst.app.deps, { all: true });
    const added = (await inst.store.audit.scan(0, 1_000_000)).filter(
      (r) => r.action === 'auth.sign_in' && r.sourceIp === attacker.sourceIp,
    );
    expect(added.length).toBeLessThan(60);
    expect((await inst.store.audit.count()) - before).toBeLessThan(80);
    // Every refusal is accounted for: one row each, or counted in a summary naming the login.
    const throttled = added.filter((r) => r.errorCode === 'AUTH_THROTTLED');
    const counted = throttled.reduce(
      (n, r) => n + (r.details.summary === true ? Number(r.details.repeated) : 1),
      0,
    );
    expect(counted).toBe(codes.get('AUTH_THROTTLED'));
    const summaries = throttled.filter((r) => r.details.summary === true);
    expect(summaries.length).toBeGreaterThan(0);
    expect(summaries.every((r) => String(r.details.logins).includes('alice@acme.test'))).toBe(true);
    // The real user, from their own address, after the wait.
    inst.clock.advance(60 * 60_000);
    const ok = await inst.app.signIn({
      ctx: { requestId: 'alice', sourceIp: '192.0.2.10', userAgent: 'browser' },
      account: 'acme',
      login: 'alice@acme.test',
      password: PASSWORD,
      channel: 'bearer',
    });
    expect(ok).toBeDefined();
  }, 120_000);
});
