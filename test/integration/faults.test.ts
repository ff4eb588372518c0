/**
 * Database faults injected into real processes (docs/operations.md, "Database faults"):
 * - PostgreSQL gone mid-load: a TCP proxy this test controls stands between `holdfast serve`
 *   and PostgreSQL and is cut (every connection dropped, new ones refused) while clients keep
 *   signing in: every answer is 200 or 503 with Retry-After and the STORAGE_UNAVAILABLE code,
 *   never 500 nor a stack; /readyz is 503; when the proxy comes back the same process serves
 *   again without a restart. (The shared PostgreSQL server itself is never stopped.)
 * - Every pooled connection stuck behind a lock: the queries past the statement timeout and
 *   the requests waiting for a connection past the connect timeout answer 503; once the lock
 *   goes, sign-in works again.
 * - SQLite on a full disk (a 6 MiB tmpfs): writes answer 503 STORAGE_FULL, the server stays up,
 *   and after space returns it writes again with the database intact (integrity check, audit
 *   chain verified).
 * - SQLite read-only (a tmpfs remounted read-only) or locked by another process at start:
 *   `holdfast serve` exits with STORAGE_READ_ONLY or STORAGE_UNAVAILABLE and says why.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { HoldfastError } from '../../src/core/errors.js';
import { toAwsError } from '../../src/http/aws/router.js';
import { awsErrorStatus } from '../../src/http/aws/xml.js';
import { openInstallation } from '../../src/installation.js';
import { DATABASE_KINDS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';
import { buildTestServer, createUserWithPassword } from '../helpers/installation.js';
import { PASSWORD, fetchHttp, injectHttp, type Http } from '../helpers/mfa.js';
import {
  assertCliBuilt,
  cliEnv,
  freePort,
  killAllChildren,
  newMasterKey,
  runCli,
  startServe,
  type ServeProcess,
} from '../helpers/processes.js';

const HAS_PG = DATABASE_KINDS.some((k) => k.name === 'postgres');
const IS_ROOT = process.getuid?.() === 0;

/** A TCP proxy to PostgreSQL that the test can cut and restore. */
class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Drops every connection and refuses new ones, as a stopped database server would. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** One sign-in with the owner's password (writes a session and an audit record). */
const signIn = (http: Http) =>
  http({
    method: 'POST',
    url: '/v1/sign-in',
    body: { account: 'acme', login: 'owner@acme.test', password: PASSWORD },
  });

/** What a fault answer must look like: 503, Retry-After, a storage code, no stack or driver text. */
function expectFaultAnswer(
  res: { status: number; headers: Record<string, unknown>; body: unknown },
  code: string,
) {
  expect(res.status, JSON.stringify(res.body)).toBe(503);
  expect(res.headers['retry-after']).toBe('5');
  const body = res.body as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at |ECONN|SQLITE_|postgres:\/\/|stack/);
}

describe.runIf(HAS_PG)('PostgreSQL gone during load [postgres, real process]', () => {
  let fresh: FreshDatabase;
  let proxy: TcpProxy;
  let serve: ServeProcess;
  let http: Http;

  beforeAll(async () => {
    assertCliBuilt();
    fresh = await freshDatabase('postgres');
    const masterKey = newMasterKey();
    const env = { HOLDFAST_LOG_LEVEL: 'silent', HOLDFAST_MASTER_KEY: masterKey };
    const inst = await openInstallation(loadConfig({ db: fresh.url, dataDir: fresh.dataDir }, env));
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    await inst.close();
    const url = new URL(fresh.url);
    proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    await proxy.start();
    url.port = String(proxy.port);
    serve = await startServe(['--db', url.toString(), '--data-dir', fresh.dataDir], {
      env: cliEnv({ HOLDFAST_MASTER_KEY: masterKey, HOLDFAST_DB_CONNECT_TIMEOUT_MS: '1000' }),
    });
    http = fetchHttp(serve.url);
  }, 60_000);

  afterAll(async () => {
    await killAllChildren();
    await proxy?.cut();
    await fresh?.cleanup();
  });

  it('answers 503 with Retry-After while the database is gone, never 500, and recovers without a restart', async () => {
    expect((await signIn(http)).status).toBe(200);
    const statuses: number[] = [];
    const faults: Array<Awaited<ReturnType<Http>>> = [];
    let phase: 'before' | 'cut' | 'after' = 'before';
    let running = true;
    const client = async () => {
      while (running) {
        const res = await signIn(http);
        statuses.push(res.status);
        if (res.status !== 200) faults.push(res);
        if (phase === 'cut') await new Promise((r) => setTimeout(r, 50));
      }
    };
    const clients = [client(), client(), client()];
    await new Promise((r) => setTimeout(r, 500));
    phase = 'cut';
    await proxy.cut();
    await new Promise((r) => setTimeout(r, 2500));
    const ready = await fetch(`${serve.url}/readyz`).catch((err) => {
      throw new Error(`server gone: ${serve.stderr()}`, { cause: err });
    });
    expect(ready.status).toBe(503);
    await proxy.start();
    phase = 'after';
    // Recovery: the same process serves again once the pool reconnects.
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      await new Promise((r) => setTimeout(r, 100));
      recovered = statuses.slice(-3).length === 3 && statuses.slice(-3).every((s) => s === 200);
    }
    running = false;
    await Promise.all(clients);

    expect(recovered).toBe(true);
    expect(faults.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set([200, 503]));
    for (const res of faults) expectFaultAnswer(res, 'STORAGE_UNAVAILABLE');
    expect((await fetch(`${serve.url}/readyz`)).status).toBe(200);
    expect(serve.child.exitCode).toBeNull();
  }, 60_000);
});

describe.runIf(HAS_PG)('pool exhaustion and statement timeout [postgres]', () => {
  it('requests stuck behind a lock answer 503 (statement timeout, no free connection), then recover', async () => {
    const fresh = await freshDatabase('postgres');
    const env = {
      HOLDFAST_LOG_LEVEL: 'silent',
      HOLDFAST_MASTER_KEY: newMasterKey(),
      HOLDFAST_DB_POOL_SIZE: '2',
      HOLDFAST_DB_CONNECT_TIMEOUT_MS: '300',
      HOLDFAST_DB_STATEMENT_TIMEOUT_MS: '1500',
    };
    const inst = await openInstallation(loadConfig({ db: fresh.url, dataDir: fresh.dataDir }, env));
    const locker = new pg.Client({ connectionString: fresh.url });
    try {
      await createUserWithPassword(inst, {
        accountName: 'acme',
        email: 'owner@acme.test',
        password: PASSWORD,
      });
      const server = await buildTestServer(inst);
      const http = injectHttp(server);
      expect((await signIn(http)).status).toBe(200);

      // Another session takes the sessions table and holds it.
      await locker.connect();
      await locker.query('begin');
      await locker.query('lock table sessions in access exclusive mode');
      const answers = await Promise.all(Array.from({ length: 4 }, () => signIn(http)));
      for (const res of answers) expectFaultAnswer(res, 'STORAGE_UNAVAILABLE');
      await locker.query('commit');

      const again = await signIn(http);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      await server.close();
    } finally {
      await locker.end().catch(() => undefined);
      await inst.close();
      await fresh.cleanup();
    }
  }, 60_000);
});

describe.runIf(IS_ROOT)('SQLite on a full disk, read-only or locked [sqlite, tmpfs]', () => {
  let mountPoint: string;
  let dataDir: string;
  let masterKey: string;

  const mount = (options: string) =>
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mountPoint]);
  const umount = () => {
    try {
      execFileSync('umount', [mountPoint]);
    } catch {
      // not mounted
    }
  };

  beforeAll(async () => {
    assertCliBuilt();
    mountPoint = mkdtempSync(join(tmpdir(), 'holdfast-tmpfs-'));
    masterKey = newMasterKey();
  });

  afterAll(async () => {
    await killAllChildren();
    umount();
    rmSync(mountPoint, { recursive: true, force: true });
  });

  async function freshInstallation(): Promise<void> {
    dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    const env = { HOLDFAST_LOG_LEVEL: 'silent', HOLDFAST_MASTER_KEY: masterKey };
    const inst = await openInstallation(loadConfig({ dataDir }, env));
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    await inst.close();
  }

  it('a full disk answers 503 STORAGE_FULL, the server stays up, and writes resume intact when space returns', async () => {
    mount('size=6m,mode=0700');
    try {
      await freshInstallation();
      const serve = await startServe(['--data-dir', dataDir], {
        env: cliEnv({ HOLDFAST_MASTER_KEY: masterKey }),
      });
      const http = fetchHttp(serve.url);
      expect((await signIn(http)).status).toBe(200);

      // Fill the disk to the last byte.
      const filler = join(mountPoint, 'filler');
      const fd = openSync(filler, 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      try {
        for (;;) writeSync(fd, chunk.subarray(0, 512));
      } catch {
        // full
      } finally {
        closeSync(fd);
      }

      // Sign-ins write sessions and audit records; the WAL must grow, and cannot.
      const faults: Array<Awaited<ReturnType<Http>>> = [];
      for (let i = 0; i < 300 && faults.length < 3; i++) {
        const res = await signIn(http);
        expect([200, 503], JSON.stringify(res.body) + serve.stderr()).toContain(res.status);
        if (res.status === 503) faults.push(res);
      }
      expect(faults.length).toBe(3);
      for (const res of faults) expectFaultAnswer(res, 'STORAGE_FULL');
      expect(serve.child.exitCode).toBeNull();

      unlinkSync(filler);
      const resumed = await signIn(http);
      expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
      await serve.stop();

      const db = new SQLite(join(dataDir, 'holdfast.db'), { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
      const verify = await runCli(['audit', 'verify', '--data-dir', dataDir], {
        env: cliEnv({ HOLDFAST_MASTER_KEY: masterKey }),
      });
      expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    } finally {
      await killAllChildren();
      umount();
    }
  }, 120_000);

  it('a read-only database at start is refused with STORAGE_READ_ONLY', async () => {
    mount('size=8m,mode=0700');
    try {
      await freshInstallation();
      execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
      const result = await runCli(['serve', '--port', '0', '--data-dir', dataDir], {
        env: cliEnv({ HOLDFAST_MASTER_KEY: masterKey }),
      });
      expect(result.code).not.toBe(0);
      expect(result.errorCode).toBe('STORAGE_READ_ONLY');
    } finally {
      umount();
    }
  }, 60_000);

  it('a database locked by another process at start is refused with STORAGE_UNAVAILABLE, saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'holdfast-locked-'));
    try {
      dataDir = dir;
      const env = { HOLDFAST_LOG_LEVEL: 'silent', HOLDFAST_MASTER_KEY: masterKey };
      const inst = await openInstallation(loadConfig({ dataDir }, env));
      await inst.close();
      const holder = new SQLite(join(dataDir, 'holdfast.db'));
      holder.pragma('locking_mode = EXCLUSIVE');
      holder.exec('begin exclusive');
      try {
        const result = await runCli(['serve', '--port', '0', '--data-dir', dataDir], {
          env: cliEnv({ HOLDFAST_MASTER_KEY: masterKey }),
        });
        expect(result.code).not.toBe(0);
        expect(result.errorCode).toBe('STORAGE_UNAVAILABLE');
        expect(result.stderr).toMatch(/locked by another process/);
      } finally {
        holder.exec('commit');
        holder.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('database faults on the AWS face', () => {
  it('are ServiceUnavailable (503), which AWS SDKs retry, never ServiceFailure', () => {
    for (const code of ['STORAGE_UNAVAILABLE', 'STORAGE_FULL', 'STORAGE_READ_ONLY'] as const) {
      const aws = toAwsError(new HoldfastError(code), { caller: null, action: 'GetUser', service: 'iam' });
      expect(aws.code).toBe('ServiceUnavailable');
      expect(awsErrorStatus(aws.code)).toBe(503);
    }
  });
});
