/**
 * The audit chain sealed after commit (docs/audit-log.md, "Sealing on PostgreSQL").
 *
 * Attacks: the attacker has write access to the audit table (not the master key). Once records
 * are sealed, deleting one, editing one, putting a forged one in the place of another, taking a
 * record out of the chain by clearing its hash, or cutting off the end is reported by `audit
 * verify`, naming the record; the sealer never links over what the attacker left. SQLite (sealed
 * as written) and PostgreSQL (sealed after commit) alike.
 *
 * Scale-out (PostgreSQL): two real `holdfast serve` processes on one database write in parallel
 * while a transaction that appended a record rolls back; afterwards the chain verifies, the
 * sequence numbers run 1..N without a gap, every request has its record, and the one number of
 * the rolled-back transaction holds a void record, itself in the chain (deleting it is a gap).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditVerification } from '../../src/app/audit-log.js';
import { writeAudit } from '../../src/app/deps.js';
import { computeRecordHash } from '../../src/core/audit/chain.js';
import { AUDIT_VOID_ACTION, type AuditRecord } from '../../src/core/audit/event.js';
import type { Installation } from '../../src/installation.js';
import { connectDatabase, type Database } from '../../src/storage/connect.js';
import { toAuditRecord } from '../../src/storage/repositories/audit.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  assertCliBuilt,
  createCliTarget,
  killAllChildren,
  startServe,
  type CliTarget,
  type ServeProcess,
} from '../helpers/processes.js';

const CTX = { requestId: 'sealing-test', sourceIp: null, userAgent: 'sealing-test' };
const OPERATOR = { kind: 'operator' } as const;
const PASSWORD = 'correct horse battery staple';

beforeAll(assertCliBuilt);
afterAll(killAllChildren);

/** Writes `n` audit records in separate transactions (every one its own commit). */
async function writeRecords(inst: Installation, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    await inst.store.transaction((tx) =>
      writeAudit(inst.app.deps, tx, {
        actor: OPERATOR,
        ctx: CTX,
        fact: { accountId: null, action: 'test.sealing', target: null, details: { tag, n: i } },
      }),
    );
  }
}

/** The stored row at `seq` as a record, or undefined. */
async function rowAt(db: Database, seq: number): Promise<AuditRecord | undefined> {
  const row = await db.kysely.selectFrom('audit_log').selectAll().where('seq', '=', seq).executeTakeFirst();
  return row === undefined ? undefined : toAuditRecord(row);
}

describe.each(DATABASE_KINDS)('attacks on sealed audit records [$name]', ({ name }) => {
  let t: CliTarget | null = null;
  afterEach(async () => {
    await t?.cleanup();
    t = null;
  });

  /** A log of 12 sealed records (written, committed, sealed), and the attacker's connection. */
  const sealedLog = async () => {
    t = await createCliTarget(name);
    const inst = await t.open();
    try {
      await writeRecords(inst, 12, 'sealed');
      const verified = await inst.app.verifyAudit({ actor: OPERATOR });
      expect(verified).toMatchObject({ ok: true, records: 12, headSeq: 12, unsealed: 0 });
      // The end is signed, as the server does every minute.
      expect((await inst.app.writeAuditCheckpoint()).written).toMatchObject({ seq: 12 });
    } finally {
      await inst.close();
    }
    const target = t;
    /** Runs the attack with direct write access, then the real verification (which seals first). */
    const attackThenVerify = async (
      attack: (db: Database) => Promise<unknown>,
    ): Promise<AuditVerification> => {
      const db = await connectDatabase(target.fresh.url);
      try {
        await attack(db);
      } finally {
        await db.close();
      }
      const after = await target.open();
      try {
        return await after.app.verifyAudit({ actor: OPERATOR });
      } finally {
        await after.close();
      }
    };
    return { attackThenVerify, target };
  };

  it('deleting a sealed record is a gap at the next one, and the sealer does not fill it', async () => {
    const { attackThenVerify, target } = await sealedLog();
    const result = await attackThenVerify((db) =>
      db.kysely.deleteFrom('audit_log').where('seq', '=', 5).execute(),
    );
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ seq: 6, reason: 'sequence_gap', expectedSeq: 5 });
    expect(result.records).toBe(4);
    const db = await connectDatabase(target.fresh.url);
    try {
      // No void record was slipped into the hole: only a number no commit ever held gets one.
      expect(await rowAt(db, 5)).toBeUndefined();
    } finally {
      await db.close();
    }
  });

  it('editing a sealed record fails its hash, named by sequence number', async () => {
    const { attackThenVerify } = await sealedLog();
    const result = await attackThenVerify((db) =>
      db.kysely
        .updateTable('audit_log')
        .set({ details: JSON.stringify({ requestId: 'sealing-test', tag: 'sealed', n: 99 }) })
        .where('seq', '=', 7)
        .execute(),
    );
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ seq: 7, reason: 'hash_mismatch' });
  });

  it('a forged record put in the place of a sealed one, correctly hashed, breaks the next link', async () => {
    const { attackThenVerify } = await sealedLog();
    const result = await attackThenVerify(async (db) => {
      const before = (await rowAt(db, 3))!;
      const original = (await rowAt(db, 4))!;
      const forged = {
        ...original,
        action: 'user.create',
        target: 'AIDAFORGEDFORGEDFORG',
        details: { requestId: 'sealing-test', role: 'owner' },
        prevHash: before.hash!,
      };
      await db.kysely.deleteFrom('audit_log').where('seq', '=', 4).execute();
      await db.kysely
        .insertInto('audit_log')
        .values({
          seq: 4,
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
    });
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ seq: 5, reason: 'prev_hash_mismatch' });
    expect(result.records).toBe(4);
  });

  it('clearing the hashes of an edited sealed record does not get it sealed again', async () => {
    const { attackThenVerify, target } = await sealedLog();
    const clear = (db: Database) =>
      db.kysely
        .updateTable('audit_log')
        .set({ action: 'user.enable', prev_hash: null, hash: null })
        .where('seq', '=', 8)
        .execute();
    if (name === 'sqlite') {
      // SQLite never holds an unsealed record: its schema refuses a record without hashes.
      const db = await connectDatabase(target.fresh.url);
      try {
        await expect(clear(db)).rejects.toThrow(/NOT NULL/);
      } finally {
        await db.close();
      }
      return;
    }
    const result = await attackThenVerify(clear);
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ seq: 9, reason: 'sequence_gap', expectedSeq: 8 });
    // The record left out of the chain shows as unsealed: the sealer links only after its head.
    expect(result.unsealed).toBe(1);
    const db = await connectDatabase(target.fresh.url);
    try {
      expect(await rowAt(db, 8)).toMatchObject({ action: 'user.enable', hash: null });
    } finally {
      await db.close();
    }
  });

  it('cutting off the sealed end is named by the checkpoint that signed it', async () => {
    const { attackThenVerify } = await sealedLog();
    const result = await attackThenVerify((db) =>
      db.kysely.deleteFrom('audit_log').where('seq', '>=', 10).execute(),
    );
    expect(result.ok).toBe(false);
    // What remains links perfectly; the signed head names the missing record.
    expect(result.firstBroken).toBeNull();
    expect(result).toMatchObject({ records: 9, headSeq: 9 });
    expect(result.problems).toEqual([
      { kind: 'checkpoint_beyond_head', checkpointId: expect.any(String), seq: 12, headSeq: 9 },
    ]);
  });
});

const POSTGRES = DATABASE_KINDS.filter((kind) => kind.name === 'postgres');

describe.each(POSTGRES)('two servers on one PostgreSQL database append in parallel [$name]', ({ name }) => {
  /**
   * Sign-ins per server (each commits one audit record), in waves of two per server: four in
   * flight at once, fewer than one login may have in flight before they count as a burst.
   */
  const WRITES_PER_SERVER = 40;
  const WAVE = 2;
  let t: CliTarget;
  let servers: ServeProcess[] = [];

  beforeAll(async () => {
    t = await createCliTarget(name);
    const boot = await t.cli([
      'bootstrap',
      '--account',
      'acme',
      '--owner-email',
      'owner@acme.test',
      '--json',
    ]);
    expect(boot.code, boot.stderr).toBe(0);
    servers = await Promise.all([startServe(t.dbArgs, { env: t.env }), startServe(t.dbArgs, { env: t.env })]);
    const setup = await fetch(`${servers[0]!.url}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: boot.json<{ setupToken: string }>().setupToken, password: PASSWORD }),
    });
    expect(setup.status).toBe(200);
  });
  afterAll(async () => {
    await killAllChildren();
    await t?.cleanup();
  });

  it('no lost, duplicated or unlinked record; the rolled-back number is a void record in the chain', async () => {
    const signIns = async (index: number) => {
      const statuses: number[] = [];
      for (let wave = 0; wave < WRITES_PER_SERVER / WAVE; wave++) {
        statuses.push(
          ...(await Promise.all(
            Array.from({ length: WAVE }, async () => {
              const res = await fetch(`${servers[index]!.url}/v1/sign-in`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ account: 'acme', login: 'owner@acme.test', password: PASSWORD }),
              });
              await res.arrayBuffer();
              return res.status;
            }),
          )),
        );
      }
      return statuses;
    };

    const inst = await t.open();
    let rolledBack = 0;
    try {
      const load = Promise.all([signIns(0), signIns(1)]);
      // Meanwhile a unit of work appends its record and then fails: its number is never committed.
      await expect(
        inst.store.transaction(async (tx) => {
          rolledBack = (
            await tx.audit.append(
              {
                accountId: null,
                actorType: 'operator',
                actorId: null,
                action: 'test.rolled_back',
                target: null,
                sourceIp: null,
                userAgent: null,
                outcome: 'success',
                errorCode: null,
                details: {},
              },
              { now: Date.now(), eventId: 'evt_rolledback000000000' },
            )
          ).seq;
          throw new Error('the change fails after its audit append');
        }),
      ).rejects.toThrow('the change fails');
      const statuses = (await load).flat();
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      // A write after the rollback, so its number lies below the head.
      await writeRecords(inst, 1, 'after-rollback');
    } finally {
      await inst.close();
    }
    expect(rolledBack).toBeGreaterThan(0);

    const verify = await t.cli(['audit', 'verify', '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    const result = verify.json<AuditVerification>();
    expect(result).toMatchObject({ ok: true, firstBroken: null, problems: [], voids: 1 });

    const db = await connectDatabase(t.fresh.url);
    try {
      const rows = await db.kysely.selectFrom('audit_log').selectAll().orderBy('seq').execute();
      const records = rows.map(toAuditRecord);
      // 1..N, no gap, every one linked.
      expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
      expect(records.filter((r) => r.hash === null)).toEqual([]);
      expect(result.records).toBe(records.length);
      // The only void is the rolled-back number; its own record never committed.
      expect(records.filter((r) => r.action === AUDIT_VOID_ACTION).map((r) => r.seq)).toEqual([rolledBack]);
      expect(records.filter((r) => r.action === 'test.rolled_back')).toEqual([]);
      // Every sign-in has exactly one record, whichever server wrote it.
      const signedIn = records.filter((r) => r.action === 'auth.sign_in' && r.outcome === 'success');
      expect(new Set(signedIn.map((r) => r.details.requestId)).size).toBe(2 * WRITES_PER_SERVER);
      expect(signedIn).toHaveLength(2 * WRITES_PER_SERVER);

      // The void is a link like any other: deleting it is a gap.
      await db.kysely.deleteFrom('audit_log').where('seq', '=', rolledBack).execute();
      const cut = await t.cli(['audit', 'verify', '--json']);
      expect(cut.code).toBe(3);
      expect(cut.json<AuditVerification>().firstBroken).toEqual({
        seq: rolledBack + 1,
        reason: 'sequence_gap',
        expectedSeq: rolledBack,
      });
    } finally {
      await db.close();
    }
  });
});
