/**
 * SQLite commits are durable before anyone hears of them, without the event loop waiting on the
 * disk: the server's connection runs synchronous=NORMAL (COMMIT writes the WAL, no sync) and
 * syncs the WAL itself with fdatasync on the thread pool. These tests hold that sync back (the
 * real fdatasync runs once released) and check that no caller is answered before it completes,
 * that commits arriving meanwhile wait for a sync that starts after them, that writes outside a
 * transaction wait too, and that a failed sync fails the commit's callers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

interface HeldSync {
  fd: number;
  release(error?: Error): void;
}
const held: HeldSync[] = [];
/** While false (setting up), syncs run at once. */
const control = { holding: false };

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fdatasync = (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
    if (!control.holding) return fs.fdatasync(fd, callback);
    held.push({
      fd,
      release: (error) => (error ? callback(error) : fs.fdatasync(fd, callback)),
    });
  };
  return { ...fs, default: { ...fs, fdatasync }, fdatasync };
});

const { connectDatabase, migrateDatabase } = await import('../../src/storage/connect.js');
const { createStore } = await import('../../src/storage/store.js');
type Database = Awaited<ReturnType<typeof connectDatabase>>;
type Store = ReturnType<typeof createStore>;

/** Settles the event loop a few times (I/O, timers, immediates). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

function track<T>(promise: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('SQLite durable commits off the event loop', () => {
  let dir: string;
  let db: Database;
  let store: Store;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'holdfast-durability-'));
    db = await connectDatabase(`sqlite:${join(dir, 'holdfast.db')}`);
    await migrateDatabase(db);
    store = createStore(db);
    control.holding = true;
  });
  afterEach(async () => {
    control.holding = false;
    for (const sync of held.splice(0)) sync.release();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = (key: string) =>
    sql<{ value: string }>`select value from meta where key = ${key}`
      .execute(db.kysely)
      .then((r) => r.rows[0]?.value ?? null);

  it('runs synchronous=NORMAL and answers a commit only after its WAL sync', async () => {
    const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(db.kysely);
    expect(rows[0]?.synchronous).toBe(1); // NORMAL: the server syncs the WAL itself

    const commit = track(store.transaction((tx) => tx.meta.put('a', 'one')));
    await until(() => held.length === 1);
    await settle();
    // Committed to the WAL (another reader sees it) but not yet acknowledged.
    expect(await read('a')).toBe('one');
    expect(commit.settled).toBe(false);
    held.shift()!.release();
    await until(() => commit.settled);
    expect(commit.error).toBeUndefined();
  });

  it('a commit made while a sync runs waits for the next sync, which starts after it', async () => {
    const first = track(store.transaction((tx) => tx.meta.put('b', 'first')));
    await until(() => held.length === 1);
    // The next batch commits while the first batch's sync is on the disk.
    const second = track(store.transaction((tx) => tx.meta.put('c', 'second')));
    await settle();
    expect(await read('c')).toBe('second');
    expect(held).toHaveLength(1); // no second sync before the first has finished
    expect(second.settled).toBe(false);
    held.shift()!.release();
    await until(() => first.settled);
    // The first sync began before the second commit: the second needs one of its own.
    await until(() => held.length === 1);
    await settle();
    expect(second.settled).toBe(false);
    held.shift()!.release();
    await until(() => second.settled);
    expect([first.error, second.error]).toEqual([undefined, undefined]);
  });

  it('a write outside a transaction also waits for its sync', async () => {
    const put = track(store.meta.put('d', 'outside'));
    await until(() => held.length === 1);
    await settle();
    expect(put.settled).toBe(false);
    held.shift()!.release();
    await until(() => put.settled);
    expect(put.error).toBeUndefined();
  });

  it('a failed sync fails the callers of the commit it was to make durable', async () => {
    const commit = track(store.transaction((tx) => tx.meta.put('e', 'lost?')));
    await until(() => held.length === 1);
    held.shift()!.release(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await until(() => commit.settled);
    expect(String(commit.error)).toMatch(/EIO/);
  });

  it('reads need no sync', async () => {
    expect(await store.meta.get('nothing')).toBeNull();
    expect(held).toHaveLength(0);
  });
});
