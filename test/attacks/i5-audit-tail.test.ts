/**
 * Invariant I5: the audit log's end cannot be cut off silently.
 *
 * The attacker has write access to the database (a leaked connection string, a backup restored
 * and edited, a compromised database host) but not the master key. They want a record gone: they
 * delete the last records, or rewrite one and rehash every record after it so the chain links
 * again, then delete the signed checkpoints too, or forge one. Each attack is caught by the real
 * `holdfast audit verify` (exit 3, AUDIT_CHAIN_BROKEN, naming what is wrong), by the signed
 * checkpoints, by the head kept elsewhere (`--expect-head`), or by what the database already
 * knows (the alert scanner's cursor, alerts naming events). An untouched log verifies (exit 0)
 * and prints its head. Also: a broken chain of more than 1,000 records, broken after record
 * 1,000, makes `audit verify` exit 3 naming the record (it used to hang). SQLite and PostgreSQL.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAudit } from '../../src/app/deps.js';
import { startBackgroundJobs } from '../../src/background.js';
import { loadDeliveryConfig } from '../../src/config/delivery-config.js';
import { ALERT_CURSOR_KEY } from '../../src/app/alerts.js';
import { computeRecordHash } from '../../src/core/audit/chain.js';
import { checkpointMessage } from '../../src/core/audit/checkpoint.js';
import type { AuditRecord } from '../../src/core/audit/event.js';
import { META_PEPPER } from '../../src/installation.js';
import type { Installation } from '../../src/installation.js';
import { connectDatabase, type Database } from '../../src/storage/connect.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  assertCliBuilt,
  createCliTarget,
  killAllChildren,
  startServe,
  type CliResult,
  type CliTarget,
} from '../helpers/processes.js';

const CTX = { requestId: 'i5-test', sourceIp: null, userAgent: 'i5-test' };
const OPERATOR = { kind: 'operator' } as const;

interface Problem {
  kind: string;
  seq?: number;
  checkpointId?: string;
  headSeq?: number;
  cursor?: number;
  eventIds?: string[];
}

interface Verification {
  ok: boolean;
  records: number;
  firstBroken: { seq: number; reason: string } | null;
  headSeq: number | null;
  headHash: string | null;
  checkpoints: { total: number; latest: { seq: number; hash: string; time: number } | null };
  problems: Problem[];
}

interface CheckpointRow {
  id: string;
  seq: number;
  hash: string;
  time: number;
  mac: string;
}

/** Asserts exit 3 with AUDIT_CHAIN_BROKEN and returns the JSON result. */
function expectTampered(result: CliResult): Verification {
  expect({ exit: result.code, code: result.errorCode }, result.stderr).toEqual({
    exit: 3,
    code: 'AUDIT_CHAIN_BROKEN',
  });
  const verification = result.json<Verification>();
  expect(verification.ok).toBe(false);
  return verification;
}

/** Asserts exit 0 and returns the JSON result. */
function expectIntact(result: CliResult): Verification {
  expect(result.code, result.stderr).toBe(0);
  const verification = result.json<Verification>();
  expect(verification).toMatchObject({ ok: true, firstBroken: null, problems: [] });
  return verification;
}

/** A stored row as the record it hashes. */
function rowToRecord(row: Record<string, unknown>): AuditRecord {
  return {
    seq: Number(row.seq),
    eventId: String(row.event_id),
    time: Number(row.time),
    accountId: (row.account_id as string | null) ?? null,
    actorType: row.actor_type as AuditRecord['actorType'],
    actorId: (row.actor_id as string | null) ?? null,
    action: String(row.action),
    target: (row.target as string | null) ?? null,
    sourceIp: (row.source_ip as string | null) ?? null,
    userAgent: (row.user_agent as string | null) ?? null,
    outcome: row.outcome as AuditRecord['outcome'],
    errorCode: (row.error_code as string | null) ?? null,
    details: JSON.parse(String(row.details)) as AuditRecord['details'],
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  };
}

/** The attacker's tools: plain SQL on the database, nothing else. */
const attacker = {
  async deleteFrom(db: Database, seq: number) {
    await db.kysely.deleteFrom('audit_log').where('seq', '>=', seq).execute();
  },
  async deleteCheckpoints(db: Database) {
    await db.kysely.deleteFrom('audit_checkpoints').execute();
  },
  /** Changes record `seq` and rehashes it and every record after it: the chain links again. */
  async rewriteAndRehash(db: Database, seq: number, details: Record<string, string>) {
    const rows = await db.kysely
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', seq - 1)
      .orderBy('seq')
      .execute();
    let prevHash = seq === 1 ? '0'.repeat(64) : String(rows[0]!.hash);
    for (const row of rows) {
      const record = rowToRecord(row as unknown as Record<string, unknown>);
      if (record.seq < seq) continue;
      const changed = { ...record, prevHash, details: record.seq === seq ? details : record.details };
      const hash = computeRecordHash(changed);
      await db.kysely
        .updateTable('audit_log')
        .set({ details: JSON.stringify(changed.details), prev_hash: prevHash, hash })
        .where('seq', '=', record.seq)
        .execute();
      prevHash = hash;
    }
  },
  /**
   * Forges a checkpoint of the current head. Without the master key the attacker can only guess
   * the key: here HKDF over the sealed installation secret as stored (ciphertext), the nearest
   * thing to the real key the database holds.
   */
  async forgeCheckpoint(db: Database) {
    const head = await db.kysely
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    const sealed = await db.kysely
      .selectFrom('meta')
      .select('value')
      .where('key', '=', META_PEPPER)
      .executeTakeFirstOrThrow();
    const guessedKey = Buffer.from(
      hkdfSync(
        'sha256',
        Buffer.from(String(sealed.value)),
        Buffer.alloc(0),
        'holdfast audit checkpoint key v1',
        32,
      ),
    );
    const time = Date.now();
    const seq = Number(head.seq);
    await db.kysely
      .insertInto('audit_checkpoints')
      .values({
        id: 'ckp_forged000000000000000',
        seq,
        hash: head.hash!,
        time,
        mac: createHmac('sha256', guessedKey)
          .update(checkpointMessage(seq, head.hash!, time))
          .digest('hex'),
      })
      .execute();
  },
};

beforeAll(assertCliBuilt);
afterAll(killAllChildren);

describe.each(DATABASE_KINDS)('I5: the audit log end cannot be cut off silently [$name]', ({ name }) => {
  const targets: CliTarget[] = [];
  afterAll(async () => {
    await killAllChildren();
    await Promise.all(targets.map((t) => t.cleanup()));
  });

  /** Runs `work` with the installation open in-process (as the server would be). */
  async function withInstallation<T>(t: CliTarget, work: (inst: Installation) => Promise<T>): Promise<T> {
    const inst = await t.open();
    try {
      return await work(inst);
    } finally {
      await inst.close();
    }
  }

  /** Runs `work` with a bare database connection: the attacker's only holding. */
  async function asAttacker(t: CliTarget, work: (db: Database) => Promise<void>): Promise<void> {
    const db = await connectDatabase(t.fresh.url);
    try {
      await work(db);
    } finally {
      await db.close();
    }
  }

  async function checkpointRows(t: CliTarget): Promise<CheckpointRow[]> {
    const db = await connectDatabase(t.fresh.url);
    try {
      const rows = await db.kysely.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
      return rows.map((r) => ({ ...r, seq: Number(r.seq), time: Number(r.time) }));
    } finally {
      await db.close();
    }
  }

  /**
   * An account with a few users, a record that raised an alert, the alert scanner run over it,
   * and the head signed by the server's checkpoint job: twelve records, the last one checkpointed.
   */
  async function seeded(): Promise<CliTarget> {
    const t = await createCliTarget(name);
    targets.push(t);
    await withInstallation(t, async (inst) => {
      const { account } = await inst.app.bootstrapAccount({
        accountName: 'acme',
        ownerEmail: 'owner@acme.test',
        ctx: CTX,
      });
      for (const email of ['a@acme.test', 'b@acme.test', 'c@acme.test', 'd@acme.test']) {
        await inst.app.createUser({ actor: OPERATOR, ctx: CTX, accountId: account.id, email, role: 'user' });
      }
      await inst.app.writeAuditCheckpoint();
      // Record 7: the last factor of a user is gone; the scanner raises HF-FACTOR-REMOVED on it.
      await inst.store.transaction((tx) =>
        writeAudit(inst.app.deps, tx, {
          actor: OPERATOR,
          ctx: CTX,
          fact: { accountId: account.id, action: 'principal.last_factor_lost', target: 'usr_victim' },
        }),
      );
      for (const email of ['e@acme.test', 'f@acme.test', 'g@acme.test', 'h@acme.test', 'i@acme.test']) {
        await inst.app.createUser({ actor: OPERATOR, ctx: CTX, accountId: account.id, email, role: 'user' });
      }
      expect((await inst.app.scanForAlerts()).raised).toBeGreaterThan(0);
      const { written } = await inst.app.writeAuditCheckpoint();
      expect(written).toMatchObject({ seq: 12 });
      expect(await inst.app.verifyAudit({ actor: OPERATOR })).toMatchObject({ ok: true, records: 12 });
    });
    return t;
  }

  it('an untouched log verifies (exit 0) and prints its head, which --expect-head then accepts', async () => {
    const t = await seeded();
    const [json, text] = await Promise.all([
      t.cli(['audit', 'verify', '--json']),
      t.cli(['audit', 'verify']),
    ]);
    const result = expectIntact(json);
    expect(result).toMatchObject({
      records: 12,
      headSeq: 12,
      headHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      checkpoints: { total: 2, latest: { seq: 12 } },
    });
    expect(result.checkpoints.latest!.hash).toBe(result.headHash);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`head 12:${result.headHash}`);
    const expected = await t.cli(['audit', 'verify', '--json', '--expect-head', `12:${result.headHash}`]);
    expectIntact(expected);
    // An older head kept elsewhere is still in the log: also accepted.
    const older = await withInstallation(t, async (inst) => (await inst.store.audit.hashesAt([5])).get(5)!);
    expectIntact(await t.cli(['audit', 'verify', '--json', '--expect-head', `5:${older}`]));
    // Verifying writes nothing: no checkpoint for a head it merely found.
    expect(await checkpointRows(t)).toHaveLength(2);
  });

  it('a malformed --expect-head is REQUEST_INVALID (exit 1) and changes nothing', async () => {
    const t = await seeded();
    const before = await t.snapshot();
    for (const value of ['12', '12:abc', `0:${'a'.repeat(64)}`, `x:${'a'.repeat(64)}`]) {
      const result = await t.cli(['audit', 'verify', '--json', '--expect-head', value]);
      expect({ exit: result.code, code: result.errorCode }, value).toEqual({
        exit: 1,
        code: 'REQUEST_INVALID',
      });
    }
    expect(await t.snapshot()).toEqual(before);
  });

  it('a CLI command that appends signs the new head; the server signs its head on shutdown', async () => {
    const t = await seeded();
    const created = await t.cli([
      'user',
      'create',
      '--account',
      'acme',
      '--email',
      'new@acme.test',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    let rows = await checkpointRows(t);
    expect(rows.at(-1)).toMatchObject({ seq: 13 });

    const server = await startServe(t.dbArgs, { env: t.env });
    const signIn = await fetch(`${server.url}/v1/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ account: 'acme', login: 'owner@acme.test', password: 'not the password' }),
    });
    expect(signIn.status).toBe(401);
    expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const result = expectIntact(await t.cli(['audit', 'verify', '--json']));
    expect(result.headSeq).toBeGreaterThan(13);
    rows = await checkpointRows(t);
    expect(rows.at(-1)).toMatchObject({ seq: result.headSeq, hash: result.headHash });
    expect(result.checkpoints.latest).toMatchObject({ seq: result.headSeq, hash: result.headHash });
  });

  it("the server's checkpoint job signs the head when it moved, and reports a cut-off end", async () => {
    const t = await seeded();
    const errors: string[] = [];
    const log = {
      info: () => undefined,
      warn: () => undefined,
      error: (fields: Record<string, unknown>, message: string) =>
        errors.push(`${message} ${JSON.stringify(fields)}`),
    };
    await withInstallation(t, async (inst) => {
      const jobs = startBackgroundJobs({
        app: inst.app,
        config: loadDeliveryConfig({}),
        publicUrl: 'http://127.0.0.1:8080',
        log,
        checkpointMs: 20,
      });
      const latestSeq = async () => (await inst.store.audit.latestCheckpoint())?.seq;
      const waitFor = async (done: () => Promise<boolean>) => {
        for (let waited = 0; !(await done()) && waited < 20_000; waited += 20) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      try {
        const account = (await inst.store.accounts.findByName('acme'))!;
        await inst.app.createUser({
          actor: OPERATOR,
          ctx: CTX,
          accountId: account.id,
          email: 'j@acme.test',
          role: 'user',
        });
        await waitFor(async () => (await latestSeq()) === 13);
        expect(await latestSeq()).toBe(13);
        const count = (await checkpointRows(t)).length;
        await asAttacker(t, (db) => attacker.deleteFrom(db, 12));
        await waitFor(async () => errors.length > 0);
        // (beyond_head, or hash_mismatch when a pass read the head just before the deletion)
        expect(errors[0]).toMatch(/"problem":"checkpoint_(beyond_head|hash_mismatch)","seq":13/);
        const rows = await checkpointRows(t);
        // It signs the head it now finds (the old checkpoint still names record 13).
        expect(rows).toHaveLength(count + 1);
        expect(rows.filter((r) => r.seq === 11)).toHaveLength(1);
        // While the head stayed at 13, the passes after the first wrote nothing more.
        expect(rows.filter((r) => r.seq === 13)).toHaveLength(1);
      } finally {
        await jobs.stop();
      }
    });
    const result = expectTampered(await t.cli(['audit', 'verify', '--json']));
    expect(result.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'checkpoint_beyond_head', seq: 13, headSeq: 11 }),
      ]),
    );
  });

  it('deleting the last records is detected by the checkpoint that names the old head', async () => {
    const t = await seeded();
    await asAttacker(t, (db) => attacker.deleteFrom(db, 10));
    const result = expectTampered(await t.cli(['audit', 'verify', '--json']));
    // The remaining chain links perfectly: only the checkpoint and the alert cursor know.
    expect(result.firstBroken).toBeNull();
    expect(result).toMatchObject({ records: 9, headSeq: 9 });
    expect(result.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'checkpoint_beyond_head', seq: 12, headSeq: 9 }),
        expect.objectContaining({ kind: 'alert_cursor_beyond_head', cursor: 12, headSeq: 9 }),
      ]),
    );
    const text = await t.cli(['audit', 'verify']);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/names record 12 but the log ends at 9/);
    expect(text.stderr).toContain('error AUDIT_CHAIN_BROKEN:');

    // Records appended after the cut: on SQLite they reuse the removed sequence numbers; on
    // PostgreSQL they take the next numbers of the sequence and the sealer fills the removed
    // ones with void records. Either way the record the checkpoint names is no longer the one it
    // signed: still detected, and the server's checkpoint job reports it.
    await withInstallation(t, async (inst) => {
      const { account } = await inst.app.bootstrapAccount({
        accountName: 'globex',
        ownerEmail: 'owner@globex.test',
        ctx: CTX,
      });
      for (const email of ['x@globex.test', 'y@globex.test']) {
        await inst.app.createUser({ actor: OPERATOR, ctx: CTX, accountId: account.id, email, role: 'user' });
      }
      const pass = await inst.app.writeAuditCheckpoint();
      expect(pass.inconsistent).toMatchObject({ kind: 'checkpoint_hash_mismatch', seq: 12 });
      expect(pass.written).toMatchObject({ seq: name === 'sqlite' ? 13 : 16 });
    });
    const after = expectTampered(await t.cli(['audit', 'verify', '--json']));
    expect(after.problems).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'checkpoint_hash_mismatch', seq: 12 })]),
    );
  });

  it('rewriting a record and rehashing every later one is detected by the checkpoints', async () => {
    const t = await seeded();
    await asAttacker(t, (db) => attacker.rewriteAndRehash(db, 7, { requestId: 'nothing-happened' }));
    const result = expectTampered(await t.cli(['audit', 'verify', '--json']));
    expect(result.firstBroken).toBeNull(); // the chain alone is fooled
    expect(result.records).toBe(12);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'checkpoint_hash_mismatch', seq: 12 })]);
    // The older checkpoint (record 6) predates the rewrite and still matches.
    expect(result.checkpoints.total).toBe(2);
  });

  it('altering the checkpoint rows to match the rewrite fails their signatures', async () => {
    const t = await seeded();
    await asAttacker(t, async (db) => {
      await attacker.rewriteAndRehash(db, 7, { requestId: 'nothing-happened' });
      const head = await db.kysely
        .selectFrom('audit_log')
        .select('hash')
        .where('seq', '=', 12)
        .executeTakeFirstOrThrow();
      await db.kysely
        .updateTable('audit_checkpoints')
        .set({ hash: head.hash! })
        .where('seq', '=', 12)
        .execute();
    });
    const result = expectTampered(await t.cli(['audit', 'verify', '--json']));
    expect(result.problems).toEqual([
      expect.objectContaining({ kind: 'checkpoint_signature_invalid', seq: 12 }),
    ]);
  });

  it('a checkpoint forged without the key (after a rewrite, real checkpoints deleted) fails its signature', async () => {
    const t = await seeded();
    await asAttacker(t, async (db) => {
      await attacker.rewriteAndRehash(db, 7, { requestId: 'nothing-happened' });
      await attacker.deleteCheckpoints(db);
      await attacker.forgeCheckpoint(db);
    });
    const result = expectTampered(await t.cli(['audit', 'verify', '--json']));
    expect(result.problems).toEqual([
      expect.objectContaining({
        kind: 'checkpoint_signature_invalid',
        checkpointId: 'ckp_forged000000000000000',
      }),
    ]);
    expect(result.checkpoints.latest).toBeNull();
  });

  it('checkpoints stay valid across a master-key rotation', async () => {
    const t = await seeded();
    const rotated = await t.cli(['keys', 'rotate', '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKey = rotated.json<{ newKeyForEnv: string | null }>().newKeyForEnv;
    const env = newKey === null ? {} : { HOLDFAST_MASTER_KEY: newKey };
    const result = expectIntact(await t.cli(['audit', 'verify', '--json'], env));
    // The rotation appended keys.rotate and signed it: three checkpoints, all genuine.
    expect(result).toMatchObject({
      records: 13,
      headSeq: 13,
      checkpoints: { total: 3, latest: { seq: 13 } },
    });
  });

  it('deleting the checkpoints too: the alert cursor and the alerts still tell', async () => {
    const t = await seeded();
    const alerted = await withInstallation(
      t,
      async (inst) => (await inst.store.audit.scan(6, 1))[0]!.eventId,
    );
    await asAttacker(t, async (db) => {
      await attacker.deleteFrom(db, 7); // the record the alert was raised on, and all after it
      await attacker.deleteCheckpoints(db);
    });
    const result = expectTampered(await t.cli(['audit', 'verify', '--json']));
    expect(result.firstBroken).toBeNull();
    expect(result.checkpoints.total).toBe(0);
    expect(result.problems).toEqual([
      expect.objectContaining({ kind: 'alert_cursor_beyond_head', cursor: 12, headSeq: 6 }),
      expect.objectContaining({ kind: 'alert_event_missing', eventIds: expect.arrayContaining([alerted]) }),
    ]);
  });

  it('deleting checkpoints, cursor and alerts too: the head kept elsewhere still tells', async () => {
    const t = await seeded();
    const kept = expectIntact(await t.cli(['audit', 'verify', '--json']));
    const expectHead = `${kept.headSeq}:${kept.headHash}`;
    await asAttacker(t, async (db) => {
      await attacker.deleteFrom(db, 10);
      await attacker.deleteCheckpoints(db);
      await db.kysely.deleteFrom('alerts').execute();
      await db.kysely.updateTable('meta').set({ value: '9' }).where('key', '=', ALERT_CURSOR_KEY).execute();
    });
    // What the database alone holds is now consistent (docs/audit-log.md says so) ...
    expectIntact(await t.cli(['audit', 'verify', '--json']));
    // ... but the head kept outside it is gone.
    const result = expectTampered(await t.cli(['audit', 'verify', '--json', '--expect-head', expectHead]));
    expect(result.problems).toEqual([{ kind: 'expected_head_missing', seq: 12, headSeq: 9 }]);

    // A rewrite that keeps the length is caught the same way.
    const t2 = await seeded();
    const kept2 = expectIntact(await t2.cli(['audit', 'verify', '--json']));
    await asAttacker(t2, async (db) => {
      await attacker.rewriteAndRehash(db, 3, { requestId: 'nothing-happened' });
      await attacker.deleteCheckpoints(db);
    });
    const rewritten = expectTampered(
      await t2.cli(['audit', 'verify', '--json', '--expect-head', `${kept2.headSeq}:${kept2.headHash}`]),
    );
    expect(rewritten.problems).toEqual([{ kind: 'expected_head_mismatch', seq: 12 }]);
  });

  it('a chain of 1,500 records broken at record 1,200 makes verify exit 3 naming it (no hang)', async () => {
    const t = await createCliTarget(name);
    targets.push(t);
    await withInstallation(t, async (inst) => {
      for (let batch = 0; batch < 3; batch++) {
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
    });
    await asAttacker(t, async (db) => {
      await sql`update audit_log set details = ${'{"n":-1}'} where seq = 1200`.execute(db.kysely);
    });
    // runCli kills and rejects after its timeout: a hang fails the test instead of passing it.
    const [json, text] = await Promise.all([
      t.cli(['audit', 'verify', '--json']),
      t.cli(['audit', 'verify']),
    ]);
    const result = expectTampered(json);
    expect(result).toMatchObject({
      records: 1199,
      firstBroken: { seq: 1200, reason: 'hash_mismatch' },
      headSeq: 1199,
    });
    expect(text.code).toBe(3);
    expect(text.stdout).toContain('audit chain BROKEN at record 1200 (hash_mismatch)');
    expect(text.stderr).toContain('error AUDIT_CHAIN_BROKEN: first broken record: 1200');
  });
});
