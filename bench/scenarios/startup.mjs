// Start-up time: from spawning `holdfast serve` to the first 200 from /readyz, on SQLite.
//
// Two cases, interleaved so machine noise hits both alike:
// - fresh: an empty data folder (creates the database, runs every migration, writes the master key);
// - existing: a database that already holds an account and a user (migrations are up to date).
import { bootstrapOwner, figure, makeTempDir, median, removeTempDir, startServer } from '../lib.mjs';

export const name = 'startup';
export const description =
  'spawn of `holdfast serve` to first 200 on /readyz (SQLite), fresh and existing data dir';

const POLL_MS = 5;

export async function run({ quick, log }) {
  const runs = quick ? 2 : 5;

  // The existing installation: created once by a server run, then reused by every timed start.
  const existingDir = makeTempDir();
  const seed = await startServer({ dataDir: existingDir, intervalMs: POLL_MS });
  await bootstrapOwner(seed, { password: 'bench-password-horse-42' });
  await seed.stop();

  // One untimed start first, so the OS file cache holds node and dist/ for every timed run.
  const warm = await startServer({ dataDir: existingDir, intervalMs: POLL_MS });
  await warm.stop();

  const fresh = [];
  const existing = [];
  for (let i = 0; i < runs; i++) {
    const dir = makeTempDir();
    const a = await startServer({ dataDir: dir, intervalMs: POLL_MS });
    fresh.push(a.readyMs);
    await a.stop();
    removeTempDir(dir);

    const b = await startServer({ dataDir: existingDir, intervalMs: POLL_MS });
    existing.push(b.readyMs);
    await b.stop();
    log(
      `${name}: run ${i + 1}/${runs}: fresh ${a.readyMs.toFixed(0)} ms, existing ${b.readyMs.toFixed(0)} ms`,
    );
  }

  const freshMs = median(fresh);
  const existingMs = median(existing);
  return {
    figures: [
      figure({
        id: 'freshStartMs',
        label: `start to ready, fresh dir (median of ${runs})`,
        value: freshMs,
        unit: 'ms',
        digits: 0,
        target: { op: '<', value: 1000 },
      }),
      figure({
        id: 'existingStartMs',
        label: `start to ready, existing db (median of ${runs})`,
        value: existingMs,
        unit: 'ms',
        digits: 0,
        target: { op: '<', value: 1000 },
      }),
    ],
    details: {
      settings: { runs, pollMs: POLL_MS },
      freshMs: { median: freshMs, min: Math.min(...fresh), max: Math.max(...fresh), runs: fresh },
      existingMs: {
        median: existingMs,
        min: Math.min(...existing),
        max: Math.max(...existing),
        runs: existing,
      },
    },
  };
}
