/**
 * `holdfast serve --workers N`: several server processes on one port (node:cluster). The
 * primary process prepares the database (migrations, master key) once, then forks N workers
 * and only supervises them: every worker is a whole server (`startServer`) on the same
 * listening socket, which the kernel shares out between them. A worker that dies is replaced;
 * the requests it had in flight fail with their connection (nothing of an unfinished
 * transaction is committed); SIGTERM or SIGINT stops every worker gracefully. `/metrics`, asked
 * of any worker, answers with the counters of all workers added together.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import type { Config } from '../config/config.js';
import { HoldfastError } from '../core/errors.js';
import { openInstallation } from '../installation.js';

/** The `--workers` flag. */
export interface WorkerFlags {
  workers?: string;
  db?: string;
}

/** Messages between the primary and its workers (all carry a `holdfast:` type). */
export const WORKER_READY = 'holdfast:worker-ready';
export const METRICS_REQUEST = 'holdfast:metrics-request';
export const METRICS_REPLY = 'holdfast:metrics-reply';
/** The environment variable telling a worker its slot (0 runs the background jobs). */
export const WORKER_SLOT_ENV = 'HOLDFAST_WORKER_SLOT';

/** A worker that dies this soon after it started, before it ever served, is not restarted. */
const MIN_HEALTHY_MS = 5_000;
/** Workers still running this long after SIGTERM are killed. */
const STOP_GRACE_MS = 30_000;

export function withWorkersOption(command: Command): Command {
  return command.addOption(
    new Option(
      '--workers <n>',
      'server processes sharing the port (default: the number of CPU cores; 1: one process)',
    ).env('HOLDFAST_WORKERS'),
  );
}

/** The number of workers the flags ask for; an in-memory SQLite database always gets one process. */
export function workerCount(config: Config, flags: WorkerFlags): number {
  const raw = flags.workers;
  let n = availableParallelism();
  if (raw !== undefined) {
    if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > 256) {
      throw new HoldfastError(
        'CONFIG_INVALID',
        '--workers (HOLDFAST_WORKERS) must be a number from 1 to 256',
      );
    }
    n = Number(raw);
  }
  // Each process would get a database of its own.
  if (config.db === 'sqlite::memory:') return 1;
  return n;
}

/** A worker that failed to start exits (its IPC channel would keep it alive, waiting). */
export function workerFailed(): void {
  if (cluster.isWorker) process.channel?.unref();
}

/** True in a worker forked by `serve --workers N`. */
export function isServeWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs the primary of `serve --workers N` when N > 1 and returns true once it has stopped (the
 * caller then does nothing more); returns false when this process should serve itself (one
 * worker asked for, or this process is a worker).
 */
export async function superviseWorkers(config: Config, flags: WorkerFlags): Promise<boolean> {
  if (cluster.isWorker) return false;
  const count = workerCount(config, flags);
  if (count === 1) return false;

  // Migrations, a fresh installation's master key and its canary, once, before any worker opens.
  const installation = await openInstallation(config);
  let accounts: number;
  const dbHint = flags.db ? ` --db ${installation.database.displayUrl}` : '';
  try {
    accounts = (await installation.store.accounts.list()).length;
  } finally {
    await installation.close();
  }

  // The kernel spreads connections over the workers' shared socket (no hop through the primary).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const { AggregatorRegistry } = await import('prom-client');
  const aggregator = new AggregatorRegistry();

  const slots = new Map<Worker, { slot: number; startedAt: number; ready: boolean }>();
  let readyOnce = false;
  let stopping = false;
  let failed = false;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const fork = (slot: number) => {
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot) });
    slots.set(worker, { slot, startedAt: Date.now(), ready: false });
    return worker;
  };

  const stopAll = (reason: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${reason}: stopping ${slots.size} worker(s), finishing in-flight requests\n`);
    for (const worker of slots.keys()) worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const worker of slots.keys()) worker.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    timer.unref();
    if (slots.size === 0) resolveDone();
  };

  cluster.on('message', (worker, message: { type?: string; id?: number; url?: string }) => {
    if (message?.type === WORKER_READY) {
      const state = slots.get(worker);
      if (state !== undefined) state.ready = true;
      if (!readyOnce && [...slots.values()].every((s) => s.ready)) {
        readyOnce = true;
        if (accounts === 0) {
          process.stderr.write(
            `\nHoldfast has no account yet. Create one with:\n  npx holdfast bootstrap --account NAME --owner-email EMAIL` +
              `${dbHint}\n\n`,
          );
        }
        process.stderr.write(`Holdfast listening on ${message.url} (${count} workers)\n`);
      }
    } else if (message?.type === METRICS_REQUEST) {
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS_REPLY, id: message.id, text }),
        (err: unknown) =>
          worker.send({
            type: METRICS_REPLY,
            id: message.id,
            error: err instanceof Error ? err.message : 'failed',
          }),
      );
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    const state = slots.get(worker);
    slots.delete(worker);
    if (state === undefined) return;
    if (stopping) {
      // A worker still starting has no handler yet and dies of the signal, with nothing in flight.
      if (code !== 0 && !(signal === 'SIGTERM' && !state.ready)) failed = true;
      if (slots.size === 0) resolveDone();
      return;
    }
    const how = signal !== null ? `signal ${signal}` : `code ${code}`;
    if (!state.ready && Date.now() - state.startedAt < MIN_HEALTHY_MS) {
      // It never served: restarting would fail the same way (configuration, database, port).
      failed = true;
      process.stderr.write(`worker ${state.slot} (pid ${worker.process.pid}) failed to start (${how})\n`);
      stopAll('worker failed');
      return;
    }
    process.stderr.write(
      `worker ${state.slot} (pid ${worker.process.pid}) exited (${how}); its open connections were dropped; starting a new one\n`,
    );
    fork(state.slot);
  });

  process.on('SIGTERM', () => stopAll('SIGTERM'));
  process.on('SIGINT', () => stopAll('SIGINT'));

  for (let slot = 0; slot < count; slot++) fork(slot);
  await done;
  process.exitCode = failed ? 1 : 0;
  return true;
}
