/**
 * The real, built CLI (`node dist/cli/main.js`) against SQLite and PostgreSQL: every command,
 * its JSON output, its exit codes and error codes, master-key handling and rotation, audit
 * verification against a tampered database, and `holdfast serve` (hint, readiness, a CLI
 * alongside it, graceful SIGTERM).
 */
import { Agent, request } from 'node:http';
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAudit } from '../../src/app/deps.js';
import { computeRecordHash } from '../../src/core/audit/chain.js';
import type { AuditRecord } from '../../src/core/audit/event.js';
import type { Installation } from '../../src/installation.js';
import { connectDatabase, type Database } from '../../src/storage/connect.js';
import { DATABASE_KINDS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';
import {
  assertCliBuilt,
  cliEnv,
  createCliTarget,
  killAllChildren,
  newMasterKey,
  runCli,
  startServe,
  type CliResult,
  type CliTarget,
  type ServeProcess,
} from '../helpers/processes.js';

const PASSWORD = 'correct horse battery staple';
const CTX = { requestId: 'cli-test', sourceIp: null, userAgent: 'cli-test' };
const OPERATOR = { kind: 'operator' } as const;

interface Verification {
  ok: boolean;
  records: number;
  firstBroken: { seq: number; reason: string } | null;
}

interface ExportedRecord {
  seq: number;
  eventId: string;
  eventName: string;
  eventTime: string;
  accountId: string | null;
  hash: string;
  prevHash: string;
}

interface KeyFile {
  version: number;
  keys: string[];
}

const parseLines = (text: string): ExportedRecord[] =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ExportedRecord);

const readKeyFile = (dataDir: string): KeyFile =>
  JSON.parse(readFileSync(join(dataDir, 'master.key'), 'utf8')) as KeyFile;

const fileMode = (path: string) => statSync(path).mode & 0o777;

/** The audit actions of a database snapshot, in sequence order. */
const auditActions = (snapshot: Record<string, string[]>): string[] =>
  snapshot
    .audit_log!.map((row) => JSON.parse(row) as { seq: number | string; action: string })
    .sort((a, b) => Number(a.seq) - Number(b.seq))
    .map((row) => row.action);

/** Expects a failed run with exit code 1 and the given error code. */
function expectFailure(result: CliResult, code: string, exitCode = 1): void {
  expect({ exit: result.code, code: result.errorCode }, result.stderr).toEqual({ exit: exitCode, code });
}

/** Expects a successful run. */
function expectSuccess(result: CliResult): void {
  expect(result.code, result.stderr).toBe(0);
}

/** An account, three more users and a disabled one, written in-process: six audit records. */
async function seedInProcess(inst: Installation): Promise<void> {
  const { account } = await inst.app.bootstrapAccount({
    accountName: 'acme',
    ownerEmail: 'owner@acme.test',
    ctx: CTX,
  });
  for (const email of ['a@acme.test', 'b@acme.test', 'c@acme.test']) {
    await inst.app.createUser({ actor: OPERATOR, ctx: CTX, accountId: account.id, email, role: 'user' });
  }
  await inst.app.disableUser({ actor: OPERATOR, ctx: CTX, accountId: account.id, userRef: 'b@acme.test' });
}

async function auditRow(db: Database, seq: number) {
  return db.kysely.selectFrom('audit_log').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
}

/** Ways to tamper with a six-record log, and the first record `audit verify` must name. */
const TAMPERING: Array<{
  name: string;
  tamper: (db: Database) => Promise<void>;
  firstBroken: { seq: number; reason: string };
  verified: number;
  /** Also run the text (non-JSON) form. */
  checkText?: boolean;
}> = [
  {
    name: 'UPDATE of one record’s details',
    tamper: async (db) => {
      await db.kysely
        .updateTable('audit_log')
        .set({ details: JSON.stringify({ requestId: 'cli-test', role: 'owner' }) })
        .where('seq', '=', 3)
        .execute();
    },
    firstBroken: { seq: 3, reason: 'hash_mismatch' },
    verified: 2,
    checkText: true,
  },
  {
    name: 'UPDATE of one record’s action',
    tamper: async (db) => {
      await db.kysely.updateTable('audit_log').set({ action: 'user.enable' }).where('seq', '=', 6).execute();
    },
    firstBroken: { seq: 6, reason: 'hash_mismatch' },
    verified: 5,
  },
  {
    name: 'DELETE of a middle record',
    tamper: async (db) => {
      await db.kysely.deleteFrom('audit_log').where('seq', '=', 3).execute();
    },
    firstBroken: { seq: 4, reason: 'sequence_gap' },
    verified: 2,
  },
  {
    name: 'INSERT of a correctly hashed forged record, later records shifted up',
    tamper: async (db) => {
      const previous = await auditRow(db, 3);
      // Two steps so no intermediate state violates the primary key on either engine.
      await sql`update audit_log set seq = -seq where seq >= 4`.execute(db.kysely);
      await sql`update audit_log set seq = 1 - seq where seq < 0`.execute(db.kysely);
      const forged: Omit<AuditRecord, 'hash'> & { prevHash: string } = {
        seq: 4,
        eventId: 'evt_forged00000000000000',
        time: Number(previous.time) + 1,
        accountId: previous.account_id,
        actorType: 'operator',
        actorId: null,
        action: 'user.create',
        target: 'AIDAFORGEDFORGEDFORG',
        sourceIp: null,
        userAgent: 'holdfast-cli',
        outcome: 'success',
        errorCode: null,
        details: { requestId: 'cli-test', role: 'owner' },
        prevHash: previous.hash!,
      };
      await db.kysely
        .insertInto('audit_log')
        .values({
          seq: forged.seq,
          event_id: forged.eventId,
          time: forged.time,
          account_id: forged.accountId,
          actor_type: forged.actorType,
          actor_id: forged.actorId,
          action: forged.action,
          target: forged.target,
          source_ip: forged.sourceIp,
          user_agent: forged.userAgent,
          outcome: forged.outcome,
          error_code: forged.errorCode,
          details: JSON.stringify(forged.details),
          prev_hash: forged.prevHash,
          hash: computeRecordHash(forged),
        })
        .execute();
    },
    // The forgery itself links and hashes correctly; the record after it no longer links.
    firstBroken: { seq: 5, reason: 'prev_hash_mismatch' },
    verified: 4,
  },
  {
    name: 'INSERT of a forged record after a sequence gap',
    tamper: async (db) => {
      const last = await auditRow(db, 6);
      await db.kysely
        .insertInto('audit_log')
        .values({ ...last, seq: 8, event_id: 'evt_forged11111111111111' })
        .execute();
    },
    firstBroken: { seq: 8, reason: 'sequence_gap' },
    verified: 6,
  },
];

beforeAll(assertCliBuilt);
afterAll(killAllChildren);

describe('holdfast CLI: help and startup errors', () => {
  it('answers --help with exit 0 for every command, found from the help itself', async () => {
    const seen: string[] = [];
    let level: string[][] = [[]];
    while (level.length > 0) {
      // Four at a time: dozens of node start-ups at once starve a 2-core machine.
      const results: Awaited<ReturnType<typeof runCli>>[] = [];
      for (let i = 0; i < level.length; i += 4) {
        results.push(
          ...(await Promise.all(level.slice(i, i + 4).map((path) => runCli([...path, '--help'])))),
        );
      }
      const next: string[][] = [];
      results.forEach((result, i) => {
        const path = level[i]!;
        expect(result.code, `${path.join(' ')} --help`).toBe(0);
        expect(result.stdout).toContain(`Usage: holdfast${path.map((p) => ` ${p}`).join('')}`);
        seen.push(path.join(' '));
        // The Commands section ends at the first blank line (an Examples section may follow).
        const commands = result.stdout.split(/\nCommands:\n/)[1]?.split('\n\n')[0];
        if (commands === undefined) {
          // A leaf command: every one that touches a database takes --db, --data-dir and --json.
          // `holdfast me ...` talks to a server over HTTP; `policy lint|show` read a file or print a
          // built-in document; `credentials` calls STS on a server; every other leaf command
          // (`policy account list|delete` too) opens the database.
          if ((path[0] === 'policy' && path[1] !== 'account') || path[0] === 'credentials')
            expect(result.stdout).not.toContain('--db');
          else
            expect(result.stdout).toMatch(
              path[0] === 'me'
                ? /--server <url>[\s\S]*--json/
                : /--db <url>[\s\S]*--data-dir <dir>[\s\S]*--json/,
            );
          return;
        }
        for (const line of commands.split('\n')) {
          const name = /^ {2}([a-z][\w-]*)/.exec(line)?.[1];
          if (name !== undefined && name !== 'help') next.push([...path, name]);
        }
      });
      level = next;
    }
    // New commands are picked up by the walk above; these must always be there.
    expect(seen).toEqual(
      expect.arrayContaining([
        '',
        'audit',
        'audit export',
        'audit verify',
        'bootstrap',
        'keys',
        'keys rotate',
        'migrate',
        'serve',
        'user',
        'user create',
        'user disable',
        'user list',
      ]),
    );
  }, 300_000);

  it('exits non-zero on an unknown command or option', async () => {
    const results = await Promise.all([runCli(['frobnicate']), runCli(['migrate', '--no-such-option'])]);
    for (const result of results) expect(result.code).not.toBe(0);
  });

  describe('bad database URLs', () => {
    let dataDir: string;
    beforeAll(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'holdfast-cli-'));
    });
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('a --db that is neither sqlite: nor postgres:// is CONFIG_INVALID', async () => {
      const [text, json] = await Promise.all([
        runCli(['user', 'list', '--account', 'acme', '--db', 'mysql://x', '--data-dir', dataDir]),
        runCli(['migrate', '--db', 'mysql://x', '--data-dir', dataDir, '--json']),
      ]);
      expectFailure(text, 'CONFIG_INVALID');
      expect(text.stderr).toMatch(/^error CONFIG_INVALID: /m);
      expectFailure(json, 'CONFIG_INVALID');
      expect(JSON.parse(json.stderr.trim())).toEqual({
        error: { code: 'CONFIG_INVALID', message: expect.any(String) },
      });
      expect(text.stdout + json.stdout).toBe('');
      expect(readdirSync(dataDir)).toEqual([]);
    });

    it('an unreachable PostgreSQL is STORAGE_UNAVAILABLE', async () => {
      const db = 'postgres://nobody@127.0.0.1:1/x';
      const env = cliEnv({ HOLDFAST_MASTER_KEY: newMasterKey() });
      const results = await Promise.all([
        runCli(['user', 'list', '--account', 'acme', '--db', db, '--data-dir', dataDir, '--json'], { env }),
        runCli(['migrate', '--db', db, '--data-dir', dataDir], { env }),
      ]);
      for (const result of results) expectFailure(result, 'STORAGE_UNAVAILABLE');
    });
  });
});

describe.each(DATABASE_KINDS)('holdfast CLI [$name]', ({ name }) => {
  let t: CliTarget;
  let acmeId: string;
  const extraTargets: CliTarget[] = [];
  const target = async (options: { envKey?: boolean } = {}) => {
    const created = await createCliTarget(name, options);
    extraTargets.push(created);
    return created;
  };

  beforeAll(async () => {
    t = await createCliTarget(name);
  });
  afterAll(async () => {
    await killAllChildren();
    await t?.cleanup();
    await Promise.all(extraTargets.map((x) => x.cleanup()));
  });

  it('migrate applies the schema once, then says it is up to date', async () => {
    const first = await t.cli(['migrate', '--json']);
    expectSuccess(first);
    const { applied } = first.json<{ applied: string[] }>();
    expect(applied.length).toBeGreaterThan(0);
    const second = await t.cli(['migrate']);
    expectSuccess(second);
    expect(second.stdout).toMatch(/up to date/);
  });

  it('bootstrap creates an account and its owner and prints a one-time setup link', async () => {
    const result = await t.cli([
      'bootstrap',
      '--account',
      'acme',
      '--owner-email',
      'owner@acme.test',
      '--json',
    ]);
    expectSuccess(result);
    const out = result.json<Record<string, string>>();
    expect(Object.keys(out).sort()).toEqual(
      [
        'accountId',
        'accountName',
        'ownerEmail',
        'ownerId',
        'setupExpiresAt',
        'setupToken',
        'setupUrl',
      ].sort(),
    );
    expect(out.accountId).toMatch(/^\d{12}$/);
    expect(out.accountName).toBe('acme');
    expect(out.ownerEmail).toBe('owner@acme.test');
    expect(out.ownerId).toEqual(expect.any(String));
    expect(out.setupToken!.length).toBeGreaterThan(20);
    expect(out.setupUrl).toContain(`/setup#token=${out.setupToken}`);
    expect(Date.parse(out.setupExpiresAt!)).toBeGreaterThan(Date.now());
    acmeId = out.accountId!;
    if (t.masterKey === null) {
      // SQLite without HOLDFAST_MASTER_KEY: the first command created the key file, private to the owner.
      expect(fileMode(join(t.fresh.dataDir, 'master.key'))).toBe(0o600);
      expect(readKeyFile(t.fresh.dataDir).keys).toHaveLength(1);
    } else {
      expect(existsSync(join(t.fresh.dataDir, 'master.key'))).toBe(false);
    }
  });

  it('bootstrap refuses a taken account name and invalid input, and changes nothing', async () => {
    const before = await t.snapshot();
    const [taken, takenOtherCase, badName, badEmail] = await Promise.all([
      t.cli(['bootstrap', '--account', 'acme', '--owner-email', 'other@acme.test', '--json']),
      t.cli(['bootstrap', '--account', 'ACME', '--owner-email', 'other@acme.test', '--json']),
      t.cli(['bootstrap', '--account', 'A!', '--owner-email', 'owner@new.test', '--json']),
      t.cli(['bootstrap', '--account', 'new-account', '--owner-email', 'not-an-email']),
    ]);
    expectFailure(taken, 'ACCOUNT_NAME_TAKEN');
    expectFailure(takenOtherCase, 'ACCOUNT_NAME_TAKEN');
    expectFailure(badName, 'REQUEST_INVALID');
    expectFailure(badEmail, 'REQUEST_INVALID');
    for (const result of [taken, takenOtherCase, badName, badEmail]) expect(result.stdout).toBe('');
    // Nothing created: no account, no principal, no setup token, no audit record.
    const after = await t.snapshot();
    expect(after).toEqual(before);
    expect(after.principals).toHaveLength(1);
    expect(after.audit_log).toHaveLength(2);
  });

  it('user create, list and disable', async () => {
    const created = await t.cli([
      'user',
      'create',
      '--account',
      'acme',
      '--email',
      'admin@acme.test',
      '--role',
      'admin',
      '--json',
    ]);
    expectSuccess(created);
    const user = created.json<Record<string, string>>();
    expect(user).toMatchObject({ accountId: acmeId, email: 'admin@acme.test', role: 'admin' });
    expect(user.setupUrl).toContain(`/setup#token=${user.setupToken}`);
    expect(Date.parse(user.setupExpiresAt!)).toBeGreaterThan(Date.now());

    const listed = await t.cli(['user', 'list', '--account', acmeId, '--json']);
    expectSuccess(listed);
    const { users } = listed.json<{ users: Array<Record<string, unknown>> }>();
    expect(users).toHaveLength(2);
    for (const row of users) {
      expect(Object.keys(row).sort()).toEqual(['email', 'hasPassword', 'id', 'role', 'status', 'username']);
      expect(row).toMatchObject({ status: 'active', hasPassword: false });
    }
    expect(users.map((u) => [u.email, u.role]).sort()).toEqual([
      ['admin@acme.test', 'admin'],
      ['owner@acme.test', 'owner'],
    ]);

    const disabled = await t.cli([
      'user',
      'disable',
      '--account',
      'acme',
      '--user',
      'admin@acme.test',
      '--json',
    ]);
    expectSuccess(disabled);
    expect(disabled.json()).toEqual({ id: user.id, status: 'disabled' });
    const principals = (await t.snapshot()).principals!.map(
      (row) => JSON.parse(row) as Record<string, unknown>,
    );
    expect(principals.find((p) => p.id === user.id)?.status).toBe('disabled');
  });

  it('an unknown account is ACCOUNT_NOT_FOUND; disabling the only owner is USER_LAST_OWNER', async () => {
    const before = await t.snapshot();
    const [list, create, lastOwner, unknownUser] = await Promise.all([
      t.cli(['user', 'list', '--account', 'no-such-account', '--json']),
      t.cli(['user', 'create', '--account', '999999999999', '--email', 'x@acme.test']),
      t.cli(['user', 'disable', '--account', acmeId, '--user', 'owner@acme.test', '--json']),
      t.cli(['user', 'disable', '--account', 'acme', '--user', 'ghost@acme.test']),
    ]);
    expectFailure(list, 'ACCOUNT_NOT_FOUND');
    expectFailure(create, 'ACCOUNT_NOT_FOUND');
    expectFailure(lastOwner, 'USER_LAST_OWNER');
    expectFailure(unknownUser, 'USER_NOT_FOUND');
    expect(await t.snapshot()).toEqual(before);
  });

  it('audit verify and audit export (stdout, --out, --account)', async () => {
    const other = await t.cli([
      'bootstrap',
      '--account',
      'globex',
      '--owner-email',
      'owner@globex.test',
      '--json',
    ]);
    expectSuccess(other);
    const outFile = join(t.fresh.dataDir, 'audit.jsonl');
    const [verify, all, toFile, acmeOnly] = await Promise.all([
      t.cli(['audit', 'verify', '--json']),
      t.cli(['audit', 'export']),
      t.cli(['audit', 'export', '--out', outFile]),
      t.cli(['audit', 'export', '--account', acmeId]),
    ]);
    // acme: account + owner, admin created, admin disabled; globex: account + owner.
    expectSuccess(verify);
    expect(verify.json()).toMatchObject({
      ok: true,
      records: 6,
      firstBroken: null,
      headSeq: 6,
      problems: [],
    });

    expectSuccess(all);
    const records = parseLines(all.stdout);
    expect(records).toHaveLength(6);
    records.forEach((record, i) => {
      expect(record).toMatchObject({
        seq: i + 1,
        eventId: expect.stringMatching(/^evt_/),
        eventName: expect.any(String),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        prevHash: i === 0 ? '0'.repeat(64) : records[i - 1]!.hash,
      });
      expect(new Date(record.eventTime).toISOString()).toBe(record.eventTime);
    });
    expect(records.map((r) => r.eventName)).toEqual([
      'account.create',
      'user.create',
      'user.create',
      'user.disable',
      'account.create',
      'user.create',
    ]);

    expectSuccess(toFile);
    expect(toFile.stdout).toBe('');
    expect(readFileSync(outFile, 'utf8')).toBe(all.stdout);
    expect(fileMode(outFile)).toBe(0o600);

    expectSuccess(acmeOnly);
    const acmeRecords = parseLines(acmeOnly.stdout);
    expect(acmeRecords.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(new Set(acmeRecords.map((r) => r.accountId))).toEqual(new Set([acmeId]));
  });

  it('refuses a wrong or malformed HOLDFAST_MASTER_KEY (and, on PostgreSQL, a missing one), changing nothing', async () => {
    const before = await t.snapshot();
    const keyFile = join(t.fresh.dataDir, 'master.key');
    const keyFileBefore = existsSync(keyFile) ? readFileSync(keyFile, 'utf8') : null;
    const wrong = { HOLDFAST_MASTER_KEY: newMasterKey() };
    const malformed = { HOLDFAST_MASTER_KEY: 'abc' };
    const commands = [
      ['user', 'create', '--account', 'acme', '--email', 'new@acme.test', '--json'],
      ['keys', 'rotate'],
    ];
    const runs: Array<[Promise<CliResult>, string]> = [];
    for (const command of commands) {
      runs.push([t.cli(command, wrong), 'CRYPTO_MASTER_KEY_INVALID']);
      runs.push([t.cli(command, malformed), 'CRYPTO_MASTER_KEY_INVALID']);
      if (name === 'postgres') {
        runs.push([t.cli(command, { HOLDFAST_MASTER_KEY: undefined }), 'CRYPTO_MASTER_KEY_MISSING']);
      }
    }
    // serve must refuse to start, not listen with a key it cannot use.
    runs.push([t.cli(['serve', '--port', '0'], wrong), 'CRYPTO_MASTER_KEY_INVALID']);
    for (const [run, code] of runs) expectFailure(await run, code);
    expect(await t.snapshot()).toEqual(before);
    expect(existsSync(keyFile) ? readFileSync(keyFile, 'utf8') : null).toBe(keyFileBefore);
  });

  sqliteOnly(name)(
    'SQLite: a deleted key file is CRYPTO_MASTER_KEY_MISSING; a key file readable by others is CRYPTO_MASTER_KEY_INVALID',
    async () => {
      const keyFile = join(t.fresh.dataDir, 'master.key');
      const keyText = readFileSync(keyFile, 'utf8');
      const before = await t.snapshot();
      const commands = [
        ['user', 'create', '--account', 'acme', '--email', 'new@acme.test', '--json'],
        ['keys', 'rotate', '--json'],
      ];
      renameSync(keyFile, `${keyFile}.moved`);
      try {
        const results = await Promise.all(commands.map((command) => t.cli(command)));
        for (const result of results) expectFailure(result, 'CRYPTO_MASTER_KEY_MISSING');
        // The CLI must not quietly make a new key for an existing database.
        expect(existsSync(keyFile)).toBe(false);
      } finally {
        renameSync(`${keyFile}.moved`, keyFile);
      }
      chmodSync(keyFile, 0o644);
      try {
        const results = await Promise.all(commands.map((command) => t.cli(command)));
        for (const result of results) expectFailure(result, 'CRYPTO_MASTER_KEY_INVALID');
        expect(fileMode(keyFile)).toBe(0o644);
      } finally {
        chmodSync(keyFile, 0o600);
      }
      expect(readFileSync(keyFile, 'utf8')).toBe(keyText);
      expect(await t.snapshot()).toEqual(before);
    },
  );

  sqliteOnly(name)('SQLite: keys rotate replaces the key in the key file', async () => {
    const keyFile = join(t.fresh.dataDir, 'master.key');
    const oldKeys = readKeyFile(t.fresh.dataDir).keys;
    const recordsBefore = (await t.snapshot()).audit_log!.length;
    const rotated = await t.cli(['keys', 'rotate', '--json']);
    expectSuccess(rotated);
    const result = rotated.json<Record<string, unknown>>();
    expect(result).toMatchObject({
      oldKeyId: expect.any(String),
      newKeyId: expect.any(String),
      resealed: expect.any(Number),
      newKeyForEnv: null,
    });
    expect(result.newKeyId).not.toBe(result.oldKeyId);
    const newKeys = readKeyFile(t.fresh.dataDir).keys;
    expect(newKeys).toHaveLength(1);
    expect(Buffer.from(newKeys[0]!, 'base64')).toHaveLength(32);
    expect(newKeys[0]).not.toBe(oldKeys[0]);
    expect(fileMode(keyFile)).toBe(0o600);
    expect(readdirSync(t.fresh.dataDir).filter((f) => f.includes('.tmp'))).toEqual([]);

    const [list, create, oldKey] = await Promise.all([
      t.cli(['user', 'list', '--account', 'acme', '--json']),
      t.cli(['user', 'create', '--account', 'acme', '--email', 'after-rotation@acme.test', '--json']),
      t.cli(['user', 'list', '--account', 'acme'], { HOLDFAST_MASTER_KEY: oldKeys[0] }),
    ]);
    expectSuccess(list);
    expectSuccess(create);
    expectFailure(oldKey, 'CRYPTO_MASTER_KEY_INVALID');
    const verify = await t.cli(['audit', 'verify', '--json']);
    expect(verify.json()).toMatchObject({
      ok: true,
      records: recordsBefore + 2,
      firstBroken: null,
      problems: [],
    });
    expect(auditActions(await t.snapshot()).slice(recordsBefore)).toEqual(['keys.rotate', 'user.create']);
  });

  it('keys rotate with HOLDFAST_MASTER_KEY prints the new key; the old one stops working', async () => {
    const e = await target({ envKey: true });
    expectSuccess(await e.cli(['bootstrap', '--account', 'acme', '--owner-email', 'owner@acme.test']));
    const rotated = await e.cli(['keys', 'rotate', '--json']);
    expectSuccess(rotated);
    const result = rotated.json<{ newKeyForEnv: string; oldKeyId: string; newKeyId: string }>();
    expect(Buffer.from(result.newKeyForEnv, 'base64')).toHaveLength(32);
    expect(result.newKeyForEnv).not.toBe(e.masterKey);
    expect(result.newKeyId).not.toBe(result.oldKeyId);
    expect(existsSync(join(e.fresh.dataDir, 'master.key'))).toBe(false);

    const before = await e.snapshot();
    expectFailure(
      await e.cli(['user', 'create', '--account', 'acme', '--email', 'u@acme.test', '--json']),
      'CRYPTO_MASTER_KEY_INVALID',
    );
    expect(await e.snapshot()).toEqual(before);

    const newKey = { HOLDFAST_MASTER_KEY: result.newKeyForEnv };
    const [list, create] = await Promise.all([
      e.cli(['user', 'list', '--account', 'acme', '--json'], newKey),
      e.cli(['user', 'create', '--account', 'acme', '--email', 'u@acme.test', '--json'], newKey),
    ]);
    expectSuccess(list);
    expectSuccess(create);
    const verify = await e.cli(['audit', 'verify', '--json'], newKey);
    expect(verify.json()).toMatchObject({ ok: true, records: 4, firstBroken: null, problems: [] });
    expect(auditActions(await e.snapshot())).toEqual([
      'account.create',
      'user.create',
      'keys.rotate',
      'user.create',
    ]);
  });

  it.each(TAMPERING)(
    'audit verify exits 3 and names the first broken record after an $name',
    async ({ tamper, firstBroken, verified, checkText }) => {
      const e = await target();
      const inst = await e.open();
      try {
        await seedInProcess(inst);
        expect(await inst.app.verifyAudit({ actor: OPERATOR })).toMatchObject({ ok: true, records: 6 });
      } finally {
        await inst.close();
      }
      const db = await connectDatabase(e.fresh.url);
      try {
        await tamper(db);
      } finally {
        await db.close();
      }
      const [json, text] = await Promise.all([
        e.cli(['audit', 'verify', '--json']),
        checkText ? e.cli(['audit', 'verify']) : null,
      ]);
      expect(json.code, json.stderr).toBe(3);
      expect(json.json()).toMatchObject({
        ok: false,
        records: verified,
        firstBroken: expect.objectContaining(firstBroken),
      });
      expect(JSON.parse(json.stderr.trim().split('\n').at(-1)!).error.code).toBe('AUDIT_CHAIN_BROKEN');
      if (text !== null) {
        expect(text.code).toBe(3);
        expect(text.stderr).toContain('error AUDIT_CHAIN_BROKEN:');
      }
    },
  );

  it('audit verify walks a long log (2,500 records) with a progress bar on stderr', async () => {
    const e = await target();
    const inst = await e.open();
    try {
      await seedInProcess(inst);
      for (let batch = 0; batch < 5; batch++) {
        await inst.store.transaction(async (tx) => {
          for (let i = 0; i < 500; i++) {
            await writeAudit(inst.app.deps, tx, {
              actor: OPERATOR,
              ctx: CTX,
              fact: { accountId: null, action: 'test.filler', target: null, details: { n: batch * 500 + i } },
            });
          }
        });
      }
    } finally {
      await inst.close();
    }
    const verify = await e.cli(['audit', 'verify', '--json']);
    expectSuccess(verify);
    expect(verify.json()).toMatchObject({ ok: true, records: 2506, firstBroken: null, problems: [] });
    expect(verify.stderr).toContain('2506/2506');
  });
});

/** POSTs JSON with node:http; `sent` resolves once the whole request has been written. */
function postJSON(url: string, body: unknown, agent?: Agent) {
  let markSent: () => void;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const response = new Promise<{ status: number; body: Record<string, unknown>; at: number }>(
    (resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = request(
        url,
        {
          method: 'POST',
          ...(agent === undefined ? {} : { agent }),
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(text) as Record<string, unknown>,
              at: Date.now(),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload, () => markSent());
    },
  );
  return { sent, response };
}

describe('holdfast serve [sqlite]', () => {
  let fresh: FreshDatabase;
  let server: ServeProcess | null = null;
  let cliArgs: string[];
  const env = cliEnv();

  beforeAll(async () => {
    fresh = await freshDatabase('sqlite');
    cliArgs = ['--data-dir', fresh.dataDir];
  });
  afterAll(async () => {
    await killAllChildren();
    await fresh?.cleanup();
  });

  it('on an empty data dir prints the bootstrap hint, is ready, and shares the database with the CLI', async () => {
    // Slow password hashing (argon2id t=48: a few hundred ms) so the next test can catch a sign-in in flight.
    server = await startServe(cliArgs, { env: cliEnv({ HOLDFAST_ARGON2_TIME_COST: '48' }) });
    expect(server.stderr()).toContain('holdfast bootstrap');
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(fileMode(join(fresh.dataDir, 'master.key'))).toBe(0o600);
    expect(existsSync(join(fresh.dataDir, 'holdfast.db-wal'))).toBe(true);

    const boot = await runCli(
      ['bootstrap', '--account', 'acme', '--owner-email', 'owner@acme.test', '--json', ...cliArgs],
      { env },
    );
    expectSuccess(boot);
    const list = await runCli(['user', 'list', '--account', 'acme', '--json', ...cliArgs], { env });
    expectSuccess(list);
    expect(list.json<{ users: unknown[] }>().users).toHaveLength(1);

    const setup = await postJSON(`${server.url}/v1/setup`, {
      token: boot.json<{ setupToken: string }>().setupToken,
      password: PASSWORD,
    }).response;
    expect(setup.status).toBe(200);
    const signIn = await postJSON(`${server.url}/v1/sign-in`, {
      account: 'acme',
      login: 'owner@acme.test',
      password: PASSWORD,
    }).response;
    expect(signIn.status).toBe(200);
    const after = await runCli(['user', 'list', '--account', 'acme', '--json', ...cliArgs], { env });
    expect(after.json<{ users: Array<{ hasPassword: boolean }> }>().users[0]!.hasPassword).toBe(true);
  });

  it('on SIGTERM finishes the in-flight sign-in with a normal answer, then exits 0', async () => {
    expect(server).not.toBeNull();
    const records = async () =>
      (await runCli(['audit', 'verify', '--json', ...cliArgs], { env })).json<Verification>().records;
    const before = await records();
    // A keep-alive client (as browsers and proxies are): the connection outlives the response.
    const agent = new Agent({ keepAlive: true });
    const inFlight = postJSON(
      `${server!.url}/v1/sign-in`,
      { account: 'acme', login: 'owner@acme.test', password: 'a wrong password, slowly checked' },
      agent,
    );
    await inFlight.sent;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const signalledAt = Date.now();
    server!.child.kill('SIGTERM');
    const answer = await inFlight.response;
    expect(answer.at).toBeGreaterThan(signalledAt); // it really was in flight
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error: { code: 'AUTH_INVALID_CREDENTIALS' } });
    expect(await server!.exited).toEqual({ code: 0, signal: null });
    // Without waiting for the client to drop its idle keep-alive connection.
    expect(Date.now() - answer.at).toBeLessThan(3000);
    agent.destroy();
    // The answered request was committed, with its audit record, before the database closed.
    expect(await records()).toBe(before + 1);
    await expect(fetch(`${server!.url}/readyz`)).rejects.toThrow('fetch failed');
  });
});

/** Defines a test only in the SQLite run (key files are a SQLite-default feature); not a skip. */
function sqliteOnly(name: string): typeof it {
  return name === 'sqlite' ? it : ((() => undefined) as unknown as typeof it);
}
