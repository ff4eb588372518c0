/**
 * Backup and restore with the real CLI (docs/operations.md):
 * - SQLite: `holdfast backup` copies the database while another process keeps committing; the
 *   copy holds everything acknowledged before it began and its audit chain verifies; `holdfast
 *   restore` refuses a non-empty folder, a wrong key and a damaged file (leaving nothing
 *   behind), then restores into an empty folder, where `audit verify --expect-head` passes and
 *   the user signs in with a TOTP code from oathtool.
 * - PostgreSQL: the documented pg_dump / pg_restore recipe, then `holdfast backup-check` on the
 *   restored database, and a TOTP sign-in against it.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { openInstallation, type Installation } from '../../src/installation.js';
import { DATABASE_KINDS, PG_ADMIN_URL } from '../helpers/databases.js';
import { clientPath } from '../helpers/external-clients.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { PASSWORD, STEP_MS, WallClock, expectStatus, injectHttp, mfaApi, stepOf } from '../helpers/mfa.js';
import { assertCliBuilt, cliEnv, killAllChildren, runCli } from '../helpers/processes.js';

const exec = promisify(execFile);

const oathtool = async (secret: string, timeMs?: number) =>
  (
    await exec(clientPath('oathtool'), [
      '--totp',
      '--base32',
      ...(timeMs === undefined ? [] : ['--now', `@${Math.floor(timeMs / 1000)}`]),
      secret,
    ])
  ).stdout.trim();

/** An owner with an enabled TOTP factor (enabled with oathtool's codes); its secret. */
async function ownerWithTOTP(inst: Installation): Promise<{ factorId: string; secret: string }> {
  await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
  const server = await buildTestServer(inst);
  try {
    const api = mfaApi(injectHttp(server), 'acme');
    const token = await api.passwordToken('owner@acme.test');
    const res = await api.enrolTOTP(token, 'phone');
    expectStatus(res, 201);
    const factorId = res.body.factor.id as string;
    const secret = res.body.secret as string;
    const step = stepOf(Date.now());
    const codes: [string, string] = [
      await oathtool(secret, (step - 2) * STEP_MS),
      await oathtool(secret, (step - 1) * STEP_MS),
    ];
    expectStatus(await api.enable(token, factorId, { codes }), 200);
    return { factorId, secret };
  } finally {
    await server.close();
  }
}

/** Signs the owner in with a current oathtool code against an installation; the HTTP status. */
async function signInWithTOTP(inst: Installation, factor: { factorId: string; secret: string }) {
  const server = await buildTestServer(inst);
  try {
    const api = mfaApi(injectHttp(server), 'acme');
    const flowId = await api.startFlow('owner@acme.test');
    const res = await api.secondFactor(flowId, {
      factorId: factor.factorId,
      code: await oathtool(factor.secret),
    });
    return { status: res.status, methods: res.body?.session?.methods as string[] | undefined };
  } finally {
    await server.close();
  }
}

/** A key file as the data folder holds it (mode 0600). */
function writeKeyFileFor(dir: string, keyBase64: string): string {
  const path = join(dir, 'master.key');
  writeFileSync(path, JSON.stringify({ version: 1, keys: [keyBase64] }), { mode: 0o600 });
  return path;
}

describe('backup and restore [sqlite]', () => {
  let inst: TestInstallation;
  let factor: { factorId: string; secret: string };
  let work: string;
  let keyFile: string;
  let backup: string;
  let facts: { auditHead: { seq: number; hash: string }; bytes: number; sha256: string };
  let acknowledgedBefore: string[];

  beforeAll(async () => {
    assertCliBuilt();
    inst = await createTestInstallation('sqlite', { clock: new WallClock() });
    factor = await ownerWithTOTP(inst);
    work = mkdtempSync(join(tmpdir(), 'holdfast-backup-'));
    keyFile = writeKeyFileFor(mkdtempSync(join(tmpdir(), 'holdfast-key-')), inst.masterKey);
    backup = join(work, 'holdfast.backup');
  }, 60_000);

  afterAll(async () => {
    await killAllChildren();
    await inst?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('copies the database while another process keeps committing: everything acknowledged before is in it', async () => {
    const account = (await inst.store.accounts.findByName('acme'))!;
    const created: string[] = [];
    const create = async (i: number) => {
      const { user } = await inst.app.createUser({
        actor: { kind: 'operator' },
        ctx: { requestId: `load-${i}`, sourceIp: null, userAgent: 'test' },
        accountId: account.id,
        email: `load${i}@acme.test`,
        role: 'user',
      });
      created.push(user.id);
    };
    for (let i = 0; i < 20; i++) await create(i);
    acknowledgedBefore = [...created];
    // Writers keep committing from this process while the CLI copies from its own.
    let stop = false;
    let i = 20;
    const load = (async () => {
      while (!stop) await create(i++);
    })();
    const result = await runCli(['backup', '--out', backup, '--json', '--db', inst.config.db], {
      env: cliEnv({ HOLDFAST_MASTER_KEY: inst.masterKey }),
    });
    stop = true;
    await load;
    expect(result.code, result.stderr).toBe(0);
    facts = result.json();
    expect(facts.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(created.length).toBeGreaterThan(acknowledgedBefore.length);

    // The copy is whole: every user acknowledged before the backup started is there.
    const check = await runCli(['backup-check', backup, '--key-file', keyFile, '--json']);
    expect(check.code, check.stderr).toBe(0);
    const report = check.json<{ ok: boolean; audit: { ok: boolean; headSeq: number } }>();
    expect(report.ok).toBe(true);
    expect(report.audit.headSeq).toBe(facts.auditHead.seq);
  }, 60_000);

  it('never overwrites: a second backup to the same file is refused', async () => {
    const before = readFileSync(backup);
    const again = await runCli(['backup', '--out', backup, '--db', inst.config.db], {
      env: cliEnv({ HOLDFAST_MASTER_KEY: inst.masterKey }),
    });
    expect(again.errorCode).toBe('BACKUP_TARGET_NOT_EMPTY');
    expect(readFileSync(backup).equals(before)).toBe(true);
  });

  it('refuses a non-empty data folder, a wrong key and a damaged file, and leaves nothing behind', async () => {
    const busy = join(work, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.txt'), 'keep me');
    const refused = await runCli(['restore', backup, '--data-dir', busy, '--key-file', keyFile]);
    expect(refused.errorCode).toBe('BACKUP_TARGET_NOT_EMPTY');
    expect(readdirSync(busy)).toEqual(['notes.txt']);

    const target = join(work, 'wrong-key');
    const wrongKey = writeKeyFileFor(
      mkdtempSync(join(tmpdir(), 'holdfast-key-')),
      Buffer.alloc(32, 7).toString('base64'),
    );
    const wrong = await runCli(['restore', backup, '--data-dir', target, '--key-file', wrongKey]);
    expect(wrong.errorCode).toBe('CRYPTO_MASTER_KEY_INVALID');
    expect(existsSync(target)).toBe(false);

    const noKey = await runCli(['restore', backup, '--data-dir', target]);
    expect(noKey.errorCode).toBe('CRYPTO_MASTER_KEY_MISSING');
    expect(existsSync(target)).toBe(false);

    // A copy damaged in transit: a run of bytes in the middle overwritten.
    const damaged = join(work, 'damaged.backup');
    const bytes = readFileSync(backup);
    bytes.fill(0x5a, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 4096);
    writeFileSync(damaged, bytes);
    const broken = await runCli(['restore', damaged, '--data-dir', target, '--key-file', keyFile]);
    expect(broken.errorCode).toBe('BACKUP_INVALID');
    expect(existsSync(target)).toBe(false);

    const notABackup = join(work, 'text.backup');
    writeFileSync(notABackup, 'hello');
    expect(
      (await runCli(['restore', notABackup, '--data-dir', target, '--key-file', keyFile])).errorCode,
    ).toBe('BACKUP_INVALID');
  }, 60_000);

  it('restores into an empty folder: audit verify holds the backup head, and the owner signs in with TOTP', async () => {
    const target = join(work, 'restored');
    const restored = await runCli(['restore', backup, '--data-dir', target, '--key-file', keyFile, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.json<{ ok: boolean }>().ok).toBe(true);
    expect(statSync(join(target, 'holdfast.db')).mode & 0o777).toBe(0o600);
    expect(statSync(join(target, 'master.key')).mode & 0o777).toBe(0o600);

    const head = `${facts.auditHead.seq}:${facts.auditHead.hash}`;
    const verify = await runCli(['audit', 'verify', '--data-dir', target, '--expect-head', head]);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);

    const config = loadConfig({ dataDir: target }, { HOLDFAST_LOG_LEVEL: 'silent' });
    const back = await openInstallation(config, { clock: new WallClock() });
    try {
      const account = (await back.store.accounts.findByName('acme'))!;
      const users = await back.app.listUsers({ actor: { kind: 'operator' }, accountId: account.id });
      const ids = new Set(users.map((u) => u.id));
      for (const id of acknowledgedBefore) expect(ids.has(id), id).toBe(true);
      const signIn = await signInWithTOTP(back, factor);
      expect(signIn).toEqual({ status: 200, methods: ['pwd', 'otp'] });
    } finally {
      await back.close();
    }
  }, 60_000);
});

describe.runIf(DATABASE_KINDS.some((k) => k.name === 'postgres'))(
  'backup and restore [postgres: pg_dump recipe]',
  () => {
    let inst: TestInstallation;
    let factor: { factorId: string; secret: string };
    let scratchName: string;
    let scratchUrl: string;
    let work: string;

    beforeAll(async () => {
      assertCliBuilt();
      inst = await createTestInstallation('postgres', { clock: new WallClock() });
      factor = await ownerWithTOTP(inst);
      work = mkdtempSync(join(tmpdir(), 'holdfast-pgdump-'));
      scratchName = `holdfast_restore_${process.pid}_${Date.now()}`;
      const url = new URL(PG_ADMIN_URL!);
      url.pathname = `/${scratchName}`;
      scratchUrl = url.toString();
    }, 60_000);

    afterAll(async () => {
      await killAllChildren();
      await inst?.destroy();
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL! });
      await admin.connect();
      await admin.query(`drop database if exists ${scratchName} with (force)`);
      await admin.end();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('holdfast backup names the pg_dump recipe instead of copying PostgreSQL', async () => {
      const result = await runCli(['backup', '--out', join(work, 'x.backup'), '--db', inst.config.db], {
        env: cliEnv({ HOLDFAST_MASTER_KEY: inst.masterKey }),
      });
      expect(result.errorCode).toBe('BACKUP_ENGINE_UNSUPPORTED');
      expect(existsSync(join(work, 'x.backup'))).toBe(false);
    });

    it('pg_dump, pg_restore into an empty database, backup-check, then a TOTP sign-in', async () => {
      const dump = join(work, 'holdfast.pgdump');
      // The recipe of docs/operations.md: one consistent snapshot (pg_dump runs in one transaction).
      await exec('pg_dump', ['--format=custom', '--no-owner', '--file', dump, inst.config.db]);
      chmodSync(dump, 0o600);
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL! });
      await admin.connect();
      await admin.query(`create database ${scratchName}`);
      await admin.end();
      await exec('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', scratchUrl, dump]);

      const check = await runCli(['backup-check', '--db', scratchUrl, '--json'], {
        env: cliEnv({ HOLDFAST_MASTER_KEY: inst.masterKey }),
      });
      expect(check.code, check.stderr).toBe(0);
      const report = check.json<{
        ok: boolean;
        rows: Record<string, number>;
        schema: { pending: string[] };
      }>();
      expect(report.ok).toBe(true);
      expect(report.schema.pending).toEqual([]);
      expect(report.rows.factors).toBeGreaterThan(0);

      // The wrong key is refused by the same check.
      const wrong = await runCli(['backup-check', '--db', scratchUrl], {
        env: cliEnv({ HOLDFAST_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') }),
      });
      expect(wrong.errorCode).toBe('CRYPTO_MASTER_KEY_INVALID');

      const config = loadConfig(
        { db: scratchUrl, dataDir: work },
        { HOLDFAST_LOG_LEVEL: 'silent', HOLDFAST_MASTER_KEY: inst.masterKey },
      );
      const back = await openInstallation(config, { clock: new WallClock() });
      try {
        expect(await signInWithTOTP(back, factor)).toEqual({ status: 200, methods: ['pwd', 'otp'] });
      } finally {
        await back.close();
      }
    }, 60_000);
  },
);
