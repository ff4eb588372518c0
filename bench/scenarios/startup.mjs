// Start-up time: from spawning `holdfast serve` to the first 200 from /readyz, on SQLite.
//
// Two cases, interleaved so machine noise hits both alike:
// - fresh: an empty data folder (creates the database, runs every migration, writes the master key);
// - existing: a database that already holds an account and a user (migrations are up to date).
import {
  bootstrapOwner,
  figure,
  makeTempDir,
  median,
  readCpuMs,
  removeTempDir,
  startServer,
  watchCpu,
} from '../lib.mjs';

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
  const freshCpu = [];
  const existingCpu = [];
  const foreign = [];
  /** One timed start: wall time to ready, the server's own CPU time until then, others' load. */
  const timedStart = async (dataDir, times, cpus) => {
    const watch = watchCpu();
    const server = await startServer({ dataDir, intervalMs: POLL_MS });
    const serverCpuMs = readCpuMs(server.pid).totalMs;
    const load = watch.stop();
    times.push(server.readyMs);
    cpus.push(serverCpuMs);
    // Machine busy time minus the bench and this server: what other work took meanwhile.
    const others = load.machineBusyCores * load.wallMs - load.benchCores * load.wallMs - serverCpuMs;
    foreign.push(Math.max(0, others / load.wallMs));
    await server.stop();
    return server.readyMs;
  };

  for (let i = 0; i < runs; i++) {
    const dir = makeTempDir();
    const a = await timedStart(dir, fresh, freshCpu);
    removeTempDir(dir);
    const b = await timedStart(existingDir, existing, existingCpu);
    log(`${name}: run ${i + 1}/${runs}: fresh ${a.toFixed(0)} ms, existing ${b.toFixed(0)} ms`);
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
        target: { op: '<', value: 500 },
      }),
      figure({
        id: 'freshStartCpuMs',
        label: 'server CPU to ready, fresh dir',
        value: median(freshCpu),
        unit: 'ms',
        digits: 0,
      }),
      figure({
        id: 'existingStartCpuMs',
        label: 'server CPU to ready, existing db',
        value: median(existingCpu),
        unit: 'ms',
        digits: 0,
      }),
      figure({
        id: 'foreignCores',
        label: "other processes' load (median, cores)",
        value: median(foreign),
        digits: 2,
      }),
    ],
    details: {
      settings: { runs, pollMs: POLL_MS },
      freshMs: { median: freshMs, min: Math.min(...fresh), max: Math.max(...fresh), runs: fresh },
      serverCpuMs: { fresh: freshCpu, existing: existingCpu },
      foreignCores: foreign,
      existingMs: {
        median: existingMs,
        min: Math.min(...existing),
        max: Math.max(...existing),
        runs: existing,
      },
    },
  };
}
