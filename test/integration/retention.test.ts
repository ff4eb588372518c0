/**
 * Retention (docs/operations.md), on SQLite and PostgreSQL:
 * - `archiveAudit` moves records older than a date to a segment; the segment verifies on its
 *   own, the live chain verifies from the signed anchor, and two archives in a row chain up;
 * - attacks: a record edited in the segment, an anchor forged by a database writer to hide
 *   deleted records, and records cut from the start of the live chain are all named;
 * - the CLI face (`audit archive`, `audit verify-segment`, `audit verify`) on a real process;
 * - expired flows, throttle rows and delivered messages are pruned (by the server's scheduler
 *   too) while live ones stay.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_CURSOR_KEY } from '../../src/app/alerts.js';
import type { SegmentSink } from '../../src/app/retention.js';
import { startBackgroundJobs } from '../../src/background.js';
import { loadConfig } from '../../src/config/config.js';
import { ARCHIVE_ANCHOR_KEY } from '../../src/core/audit/archive.js';
import { sha256Hex } from '../../src/core/crypto/hashing.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  T0,
  type TestInstallation,
} from '../helpers/installation.js';
import { PASSWORD } from '../helpers/mfa.js';
import { assertCliBuilt, cliEnv, killAllChildren, runCli } from '../helpers/processes.js';

const DAY = 24 * 3_600_000;
const operator = { kind: 'operator' } as const;
const ctx = { requestId: 'retention-test', sourceIp: null, userAgent: 'test' };

/** A sink that keeps the segment's lines in memory. */
function memorySink(): SegmentSink & { lines: string[]; committed: boolean } {
  const sink = {
    lines: [] as string[],
    committed: false,
    write: async (line: string) => void sink.lines.push(line),
    commit: async () => void (sink.committed = true),
  };
  return sink;
}

async function* linesOf(lines: string[]): AsyncIterable<string> {
  yield* lines;
}

/** Users created at the installation's current clock time (several audit records each). */
async function addUsers(inst: TestInstallation, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: `${prefix}${i}@acme.test`,
      password: PASSWORD,
      role: 'user',
    });
  }
}

describe.each(DATABASE_KINDS)('audit archive [$name]', ({ name }) => {
  let inst: TestInstallation;

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    await addUsers(inst, 'old', 3);
    await inst.app.writeAuditCheckpoint();
    inst.clock.advance(40 * DAY);
    await addUsers(inst, 'mid', 2);
    await inst.app.writeAuditCheckpoint();
    inst.clock.advance(40 * DAY);
    await addUsers(inst, 'new', 2);
    await inst.app.writeAuditCheckpoint();
    await inst.app.scanForAlerts({});
  }, 60_000);

  afterAll(async () => {
    await inst?.destroy();
  });

  const records = async () => {
    const all = [];
    for await (const r of inst.app.scanAudit()) all.push(r);
    return all;
  };

  let first: ReturnType<typeof memorySink>;

  it('archives the records older than the date; the segment and the remaining chain both verify', async () => {
    const before = await records();
    const cutDate = T0 + 20 * DAY;
    const expected = before.filter((r) => r.time < cutDate);
    expect(expected.length).toBeGreaterThan(0);

    first = memorySink();
    const result = await inst.app.archiveAudit({ actor: operator, ctx, before: cutDate, sink: first });
    expect(first.committed).toBe(true);
    expect(result).toMatchObject({
      records: expected.length,
      firstSeq: 1,
      lastSeq: expected[expected.length - 1]!.seq,
      stoppedBy: 'date',
    });
    expect(result.checkpoints).toBe(1);

    const after = await records();
    expect(after[0]!.seq).toBe(result.lastSeq! + 1);
    expect(after.some((r) => r.action === 'audit.archived')).toBe(true);

    const live = await inst.app.verifyAudit({ actor: operator });
    expect(live.problems).toEqual([]);
    expect(live.ok).toBe(true);
    expect(live.archivedThrough).toEqual({ seq: result.lastSeq, hash: result.lastHash });

    const segment = await inst.app.verifyAuditSegment({ actor: operator, lines: linesOf(first.lines) });
    expect(segment).toMatchObject({
      ok: true,
      records: expected.length,
      checkpoints: 1,
      joinsLiveChain: true,
    });
  });

  it('a second archive continues from the anchor, and the two segments chain up', async () => {
    const second = memorySink();
    const result = await inst.app.archiveAudit({ actor: operator, ctx, before: T0 + 60 * DAY, sink: second });
    expect(result.records).toBeGreaterThan(0);
    const one = await inst.app.verifyAuditSegment({ actor: operator, lines: linesOf(first.lines) });
    expect(one.joinsLiveChain).toBe(false);
    const two = await inst.app.verifyAuditSegment({
      actor: operator,
      lines: linesOf(second.lines),
      follows: one,
    });
    expect(two).toMatchObject({ ok: true, firstSeq: one.lastSeq! + 1, joinsLiveChain: true });
    expect((await inst.app.verifyAudit({ actor: operator })).ok).toBe(true);

    // Out of order, they do not chain.
    const wrongOrder = await inst.app.verifyAuditSegment({
      actor: operator,
      lines: linesOf(first.lines),
      follows: two,
    });
    expect(wrongOrder.ok).toBe(false);
  });

  it('attack: a record edited in the segment file is named', async () => {
    const edited = first.lines.map((line) =>
      line.includes('"record"') && line.includes('"seq":2,')
        ? line.replace('"outcome":"success"', '"outcome":"failure"')
        : line,
    );
    expect(edited).not.toEqual(first.lines);
    const result = await inst.app.verifyAuditSegment({ actor: operator, lines: linesOf(edited) });
    expect(result.ok).toBe(false);
    expect(result.problems.join()).toMatch(/record 2 does not verify/);

    const truncated = await inst.app.verifyAuditSegment({
      actor: operator,
      lines: linesOf(first.lines.slice(0, -1)),
    });
    expect(truncated.ok).toBe(false);
  });

  it('attack: a database writer deletes live records and forges an anchor over the gap; verify names it', async () => {
    const anchorBefore = await inst.store.meta.get(ARCHIVE_ANCHOR_KEY);
    const live = await records();
    const victim = live[2]!;
    // The attacker holds the database, not the master key: their anchor's MAC is made up.
    await inst.store.transaction(async (tx) => {
      await tx.audit.deleteThrough(victim.seq);
      await tx.meta.put(
        ARCHIVE_ANCHOR_KEY,
        JSON.stringify({ seq: victim.seq, hash: victim.hash, time: inst.clock.now(), mac: 'f'.repeat(64) }),
      );
    });
    const result = await inst.app.verifyAudit({ actor: operator });
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.kind)).toContain('archive_anchor_invalid');
    // Put the genuine anchor back: the records are still gone, and the gap is named.
    await inst.store.meta.put(ARCHIVE_ANCHOR_KEY, anchorBefore!);
    const gap = await inst.app.verifyAudit({ actor: operator });
    expect(gap.ok).toBe(false);
    expect(gap.firstBroken).toMatchObject({ reason: 'sequence_gap' });
  });
});

describe('audit archive through the CLI [sqlite]', () => {
  let inst: TestInstallation;
  let work: string;
  let dbArgs: string[];
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    assertCliBuilt();
    inst = await createTestInstallation('sqlite');
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    await addUsers(inst, 'old', 2);
    inst.clock.advance(40 * DAY);
    await addUsers(inst, 'new', 1);
    await inst.app.scanForAlerts({});
    await inst.app.writeAuditCheckpoint();
    work = mkdtempSync(join(tmpdir(), 'holdfast-archive-'));
    dbArgs = ['--db', inst.config.db, '--data-dir', inst.fresh.dataDir];
    env = cliEnv({ HOLDFAST_MASTER_KEY: inst.masterKey });
  }, 60_000);

  afterAll(async () => {
    await killAllChildren();
    await inst?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('archive writes a 0600 segment, verify-segment and verify pass; bad dates and existing files are refused', async () => {
    const out = join(work, 'segment-1.jsonl');
    const before = new Date(T0 + DAY).toISOString().slice(0, 10);
    const bad = await runCli(['audit', 'archive', '--before', 'last tuesday', '--out', out, ...dbArgs], {
      env,
    });
    expect(bad.errorCode).toBe('REQUEST_INVALID');

    const archived = await runCli(
      ['audit', 'archive', '--before', before, '--out', out, '--json', ...dbArgs],
      {
        env,
      },
    );
    expect(archived.code, archived.stderr).toBe(0);
    const result = archived.json<{ records: number; lastSeq: number }>();
    expect(result.records).toBeGreaterThan(0);

    const again = await runCli(['audit', 'archive', '--before', before, '--out', out, ...dbArgs], { env });
    expect(again.errorCode).toBe('BACKUP_TARGET_NOT_EMPTY');

    const segment = await runCli(['audit', 'verify-segment', out, '--json', ...dbArgs], { env });
    expect(segment.code, segment.stderr).toBe(0);
    expect(segment.json<{ ok: boolean; segments: Array<{ joinsLiveChain: boolean }> }>()).toMatchObject({
      ok: true,
      segments: [{ joinsLiveChain: true }],
    });
    const verify = await runCli(['audit', 'verify', ...dbArgs], { env });
    expect(verify.code, verify.stderr).toBe(0);

    // A segment edited on disk fails with the audit exit code.
    const tampered = join(work, 'tampered.jsonl');
    // One record's time moved back an hour, as someone hiding when it happened would.
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    const parsed = JSON.parse(lines[1]!) as { record: { time: number } };
    parsed.record.time -= 3_600_000;
    lines[1] = JSON.stringify(parsed);
    writeFileSync(tampered, lines.join('\n') + '\n');
    const broken = await runCli(['audit', 'verify-segment', tampered, ...dbArgs], { env });
    expect(broken.code).toBe(3);
    expect(broken.errorCode).toBe('AUDIT_CHAIN_BROKEN');
  }, 60_000);
});

describe.each(DATABASE_KINDS)('pruning what has expired [$name]', ({ name }) => {
  let inst: TestInstallation;

  beforeAll(async () => {
    inst = await createTestInstallation(name);
  }, 60_000);

  afterAll(async () => {
    await inst?.destroy();
  });

  async function seed(tag: string) {
    const now = inst.clock.now();
    const flow = (id: string, expiresAt: number) =>
      inst.store.flows.insert({
        id,
        kind: 'sign_in',
        accountId: null,
        principalId: null,
        state: 'started',
        attempts: 0,
        createdAt: now,
        updatedAt: now,
        expiresAt,
        data: {},
      });
    await flow(`flw_${tag}_old`, now - 2 * DAY);
    await flow(`flw_${tag}_recent`, now - 60_000); // expired a minute ago: kept, still answers FLOW_EXPIRED
    await flow(`flw_${tag}_live`, now + 600_000);
    const message = (id: string) =>
      inst.store.outbox.insert({
        id,
        accountId: null,
        principalId: null,
        channel: 'email',
        template: 'test',
        payload: {},
        createdAt: now,
        recipient: 'someone@example.test',
      });
    await message(`msg_${tag}_sent_old`);
    await message(`msg_${tag}_sent_new`);
    await message(`msg_${tag}_pending`);
    const claimed = await inst.store.outbox.claimDue({
      now,
      limit: 10,
      claimId: `claim_${tag}`,
      leaseMs: 60_000,
      channels: ['email'],
    });
    for (const m of claimed.filter((c) => c.id.includes('_sent_'))) {
      const sentAt = m.id.endsWith('_old') ? now - 8 * DAY : now - DAY;
      await inst.store.outbox.markSent({ id: m.id, claimId: `claim_${tag}`, now: sentAt, payload: {} });
    }
    // A throttle row whose window ended long ago.
    await inst.store.throttle.put({
      key: `login:${tag}`,
      failures: 3,
      lastFailureAt: now - 30 * DAY,
      nextAllowedAt: now - 30 * DAY,
    });
  }

  it('removes expired flows, delivered messages past a week, expired throttle rows and sessions ended a month ago; keeps the rest', async () => {
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    const sessionOf = async (token: string) =>
      (await inst.store.sessions.findByTokenHash(sha256Hex(token)))?.id ?? null;
    const oldToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'owner@acme.test' });
    expect(await sessionOf(oldToken)).not.toBeNull();
    inst.clock.advance(31 * DAY);
    const liveToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'owner@acme.test' });
    await seed('a');
    const pruned = await inst.app.pruneExpired();
    expect(pruned.sessions).toBe(1);
    expect(await sessionOf(oldToken)).toBeNull();
    expect(await sessionOf(liveToken)).not.toBeNull();
    expect(pruned.flows).toBe(1);
    expect(pruned.sentMessages).toBe(1);
    expect(pruned.throttles).toBeGreaterThanOrEqual(1);
    expect(await inst.store.flows.findById('flw_a_old')).toBeNull();
    expect(await inst.store.flows.findById('flw_a_recent')).not.toBeNull();
    expect(await inst.store.flows.findById('flw_a_live')).not.toBeNull();
    const ids = (await inst.store.outbox.list({ limit: 100 })).map((m) => m.id).sort();
    expect(ids).toEqual(['msg_a_pending', 'msg_a_sent_new']);
    expect(await inst.store.throttle.get(['login:a'])).toEqual([]);
    // A second pass finds nothing more.
    expect(await inst.app.pruneExpired()).toEqual({
      flows: 0,
      throttles: 0,
      challenges: 0,
      sentMessages: 0,
      sessions: 0,
    });
  });

  it("the server's retention job prunes on its schedule", async () => {
    inst.clock.advance(DAY);
    await seed('b');
    const config = loadConfig(
      { db: inst.config.db, dataDir: inst.fresh.dataDir },
      { HOLDFAST_LOG_LEVEL: 'silent' },
    );
    const logged: Array<Record<string, unknown>> = [];
    const log = {
      info: (f: Record<string, unknown>) => void logged.push(f),
      warn: () => undefined,
      error: () => undefined,
    };
    const jobs = startBackgroundJobs({
      app: inst.app,
      config: { ...config.delivery, pollMs: 60_000, schedulerMs: 60_000 },
      publicUrl: 'http://127.0.0.1:8080',
      log,
      checkpointMs: 60_000,
      retentionMs: 50,
    });
    try {
      for (let i = 0; i < 100 && (await inst.store.flows.findById('flw_b_old')) !== null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await jobs.stop();
    }
    expect(await inst.store.flows.findById('flw_b_old')).toBeNull();
    expect(await inst.store.flows.findById('flw_b_live')).not.toBeNull();
    expect(logged.some((f) => f.job === 'retention')).toBe(true);
  });
});

// The alert scanner's cursor bounds the cut: what it has not read yet is never archived.
describe('archive waits for the alert scanner [sqlite]', () => {
  it('stops at the cursor', async () => {
    const inst = await createTestInstallation('sqlite');
    try {
      await createUserWithPassword(inst, {
        accountName: 'acme',
        email: 'owner@acme.test',
        password: PASSWORD,
      });
      await inst.store.meta.put(ALERT_CURSOR_KEY, '2');
      inst.clock.advance(DAY);
      await addUsers(inst, 'x', 1);
      const sink = memorySink();
      const result = await inst.app.archiveAudit({ actor: operator, ctx, before: inst.clock.now(), sink });
      expect(result).toMatchObject({ records: 2, lastSeq: 2, stoppedBy: 'alert_scanner' });
      expect((await inst.app.verifyAudit({ actor: operator })).ok).toBe(true);
    } finally {
      await inst.destroy();
    }
  });
});
