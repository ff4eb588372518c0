// Shared helpers for the benchmark scenarios: child processes that are always cleaned up, a
// server launcher, a closed-loop load generator, statistics, memory readings and reporting.
// Plain ESM on Node's standard library; the project's own drivers (better-sqlite3, pg) are loaded
// on demand by the helpers that need them. The benchmark must not change what it measures.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (bench/..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The built CLI the scenarios start; `npm run build` produces it. */
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
/** Where result files go. */
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

// ---------------------------------------------------------------------------------------------
// Child processes and temporary folders: tracked here, removed on every kind of exit.

const children = new Set();
const tempDirs = new Set();

/** Spawns a tracked child process; it is killed when the bench exits for any reason. */
export function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
  return child;
}

/** Kills every child still alive (SIGKILL: used on the way out, when nothing can be awaited). */
export function killAllChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

function removeTempDirs() {
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

let cleanupInstalled = false;
/** Installs exit, signal and crash handlers that kill children and remove temp folders. */
export function installCleanup() {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    killAllChildren();
    removeTempDirs();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143); // the 'exit' handler cleans up
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
}

/** A fresh empty temporary folder, removed when the bench exits. */
export function makeTempDir(prefix = 'holdfast-bench-') {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes a temporary folder now (it is also removed at exit). */
export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** The environment for Holdfast children: no inherited HOLDFAST_* settings, logs silenced. */
export function serverEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HOLDFAST_')) env[k] = v;
  // As `npm start` runs the server: one argon2id thread per core (2 here).
  return { ...env, UV_THREADPOOL_SIZE: '2', HOLDFAST_LOG_LEVEL: 'silent', ...extra };
}

/** Node flags the server runs with (package.json `start`, src/cli/main.ts shebang). */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=2'];

/** Runs the Holdfast CLI to completion (tracked) and returns stdout; parses it when `--json`. */
export function runCli(args, { env = serverEnv(), timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env, cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`holdfast ${args[0]} failed: ${err.message}\n${stderr}`));
          return;
        }
        resolve(args.includes('--json') ? JSON.parse(stdout) : stdout);
      },
    );
    children.add(child);
    child.once('exit', () => children.delete(child));
  });
}

// ---------------------------------------------------------------------------------------------
// Ports and the server.

/** True when nothing listens on 127.0.0.1:port right now. */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** A random high port that is free at the time of the call (the CLI cannot listen on port 0 for us). */
export async function pickFreePort() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    if (await portIsFree(port)) return port;
  }
  throw new Error('no free port found after 50 attempts');
}

/** Polls GET url until it answers 200; resolves with the elapsed ms since `since` (performance.now()). */
export async function waitForReady(
  url,
  { child, since = performance.now(), intervalMs = 5, timeoutMs = 30_000 },
) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new ChildExitedError(`server exited (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    const status = await probeStatus(url, Math.max(250, intervalMs * 50));
    if (status === 200) return performance.now() - since;
    if (performance.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

class ChildExitedError extends Error {}

/** One GET on a fresh connection; resolves with the status code, or 0 on any connection error. */
function probeStatus(url, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

/**
 * Starts `holdfast serve` on SQLite in `dataDir` (a new temp folder when omitted), or on the
 * database URL `db`, on a random free port, retrying on another port if the server dies before it
 * is ready (e.g. the port was taken in between). Resolves when /readyz answers 200, with `readyMs`
 * measured from the spawn.
 */
export async function startServer({
  dataDir,
  db: dbUrl,
  intervalMs = 5,
  timeoutMs = 30_000,
  env = {},
  nodeFlags = [],
  workers = 1,
} = {}) {
  const dir = dataDir ?? makeTempDir();
  // `db`: another database URL (e.g. a PostgreSQL bench database); default SQLite in the folder.
  const db = dbUrl ?? `sqlite:${join(dir, 'holdfast.db')}`;
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await pickFreePort();
    // The same Node flags as `npm start` and the CLI's shebang.
    // `nodeFlags` and BENCH_SERVER_NODE_FLAGS: extra flags for investigations (e.g. --cpu-prof);
    // figures measured with them are not comparable.
    const extraFlags = [
      ...nodeFlags,
      ...(process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
    ];
    const args = [
      ...SERVER_NODE_FLAGS,
      ...extraFlags,
      CLI,
      'serve',
      '--db',
      db,
      '--data-dir',
      dir,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      // One process unless a scenario asks for more (the server's default is one per core).
      '--workers',
      String(workers),
    ];
    let stderr = '';
    const since = performance.now();
    const child = spawnTracked(process.execPath, args, {
      cwd: ROOT,
      env: serverEnv(env),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      const readyMs = await waitForReady(`${url}/readyz`, { child, since, intervalMs, timeoutMs });
      return {
        child,
        pid: child.pid,
        port,
        url,
        dataDir: dir,
        db,
        readyMs,
        rssMB: () => readRssMB(child.pid),
        // The server's processes: the primary and its workers with --workers > 1.
        pids: () => [child.pid, ...childPids(child.pid)],
        workerPids: () => (workers > 1 ? childPids(child.pid) : [child.pid]),
        stderr: () => stderr,
        stop: () => stopChild(child),
      };
    } catch (err) {
      await stopChild(child);
      lastError = new Error(`${err.message}\n${stderr.trim()}`);
      const portClash = /EADDRINUSE/.test(stderr);
      if (!(err instanceof ChildExitedError) || !portClash) throw lastError;
    }
  }
  throw lastError;
}

/** SIGTERM (graceful), then SIGKILL after `graceMs`; resolves once the child has exited. */
export function stopChild(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Sets up an account with a signed-in-able owner: bootstrap via the CLI, password via /v1/setup. */
export async function bootstrapOwner(
  server,
  { account = 'acme', email = `owner@${account}.test`, password },
) {
  const out = await runCli([
    'bootstrap',
    '--account',
    account,
    '--owner-email',
    email,
    '--db',
    server.db,
    '--data-dir',
    server.dataDir,
    '--json',
  ]);
  const res = await requestJSON(`${server.url}/v1/setup`, { token: out.setupToken, password });
  if (res.status !== 200) throw new Error(`POST /v1/setup answered ${res.status}: ${res.text}`);
  return { account, login: email, password };
}

/** One JSON POST on a fresh connection: { status, text, json }. */
export function requestJSON(url, body, { method = 'POST', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      url,
      {
        method,
        agent: false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': payload.length, ...headers }
          : headers,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------------
// Load.

/**
 * Closed-loop load: `concurrency` workers, each sending the next request as soon as the previous
 * answers, for `durationMs`. Throughput counts only requests completed inside the window (the
 * in-flight ones at the deadline are awaited but not counted), so ramp-down does not dilute it.
 * `check(status, bodyText)` decides success (default: 2xx). Keep-alive, one socket per worker.
 *
 * `body` may be a function: it is called before every request and returns that request's body
 * (e.g. a fresh single-use credential), or null when it has none left. A worker that gets null
 * stops; the run is then `exhausted` and its rate is computed over the time until the first
 * exhaustion (`windowMs`), not the whole duration. `next`, instead of `body`, returns
 * `{ body, headers }` per request (e.g. a single-use cookie), or null when it has none left.
 */
export async function closedLoop({
  url,
  method = 'POST',
  body,
  next: nextRequest,
  headers = {},
  concurrency,
  durationMs,
  check = (status) => status >= 200 && status < 300,
  timeoutMs = 30_000,
}) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const encode = (b) =>
    b === undefined ? undefined : Buffer.from(typeof b === 'string' ? b : JSON.stringify(b));
  const headersFor = (payload) =>
    payload ? { 'content-type': 'application/json', 'content-length': payload.length, ...headers } : headers;
  const fixedPayload = typeof body === 'function' ? undefined : encode(body);
  const fixedHeaders = headersFor(fixedPayload);
  const latencies = [];
  let errors = 0;
  let lateCompletions = 0;
  let firstError = null;
  let exhaustedAt = null;
  const completedAt = [];
  const errorsByStatus = {};

  const once = (payload, requestHeaders) =>
    new Promise((resolve) => {
      const req = http.request(
        {
          hostname: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method,
          agent,
          headers: requestHeaders,
          timeout: timeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', (err) => resolve({ status: 0, text: String(err) }));
        },
      );
      req.once('timeout', () => req.destroy(new Error('request timeout')));
      req.once('error', (err) => resolve({ status: 0, text: String(err) }));
      req.end(payload);
    });

  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      let payload = fixedPayload;
      let requestHeaders = fixedHeaders;
      if (typeof nextRequest === 'function') {
        const next = nextRequest();
        if (next === null || next === undefined) {
          exhaustedAt ??= performance.now();
          return;
        }
        payload = encode(next.body);
        requestHeaders = { ...headersFor(payload), ...next.headers };
      } else if (typeof body === 'function') {
        const next = body();
        if (next === null || next === undefined) {
          exhaustedAt ??= performance.now();
          return;
        }
        payload = encode(next);
        requestHeaders = headersFor(payload);
      }
      const t0 = performance.now();
      const { status, text } = await once(payload, requestHeaders);
      const t1 = performance.now();
      if (!check(status, text)) {
        errors++;
        errorsByStatus[status] = (errorsByStatus[status] ?? 0) + 1;
        firstError ??= `${status} ${text.slice(0, 200)}`;
      } else if (t1 <= deadline) {
        latencies.push(t1 - t0);
        completedAt.push(t1);
      } else {
        lateCompletions++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  // Every request that passed `check`, counted in the window or not (what the server did).
  const succeeded = latencies.length + lateCompletions;
  if (exhaustedAt !== null) {
    // Count only what completed before the first worker ran dry, over that shorter window.
    const windowMs = Math.max(1, exhaustedAt - start);
    const counted = latencies.filter((_, i) => completedAt[i] <= exhaustedAt);
    return summarize({
      latencies: counted,
      errors,
      durationMs: windowMs,
      extra: {
        lateCompletions,
        succeeded,
        firstError,
        errorsByStatus,
        exhausted: true,
        windowMs,
        plannedMs: durationMs,
      },
    });
  }
  return summarize({
    latencies,
    errors,
    durationMs,
    extra: { lateCompletions, succeeded, firstError, errorsByStatus, exhausted: false },
  });
}

/**
 * Closed-loop on an async function instead of HTTP (e.g. a raw library call): `concurrency`
 * loops calling `fn()` for `durationMs`; same counting rules as closedLoop.
 */
export async function closedLoopFn({ fn, concurrency, durationMs }) {
  const latencies = [];
  let errors = 0;
  let lateCompletions = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      let ok;
      try {
        ok = (await fn()) !== false;
      } catch {
        ok = false;
      }
      const t1 = performance.now();
      if (!ok) errors++;
      else if (t1 <= deadline) latencies.push(t1 - t0);
      else lateCompletions++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summarize({ latencies, errors, durationMs, extra: { lateCompletions } });
}

function summarize({ latencies, errors, durationMs, extra }) {
  const sorted = latencies.slice().sort((a, b) => a - b);
  return {
    completed: sorted.length,
    perSecond: sorted.length / (durationMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : null,
    errors,
    durationMs,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics.

/** Nearest-rank percentile of an ascending array (null when empty). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Median of numbers (mean of the middle two for even counts; null values ignored). */
export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Per-field medians of an array of run summaries (numeric fields only), plus the raw runs. */
export function medianOfRuns(runs) {
  const out = {};
  for (const key of Object.keys(runs[0] ?? {})) {
    if (runs.every((r) => typeof r[key] === 'number' || r[key] === null))
      out[key] = median(runs.map((r) => r[key]));
  }
  return { ...out, runs };
}

/** Runs `fn(i)` `n` times in sequence and returns the results. */
export async function repeat(n, fn) {
  const results = [];
  for (let i = 0; i < n; i++) results.push(await fn(i));
  return results;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Memory.

/** The children of a process (Linux: /proc/PID/task/PID/children). */
export function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Resident set size of a process in MB (MiB), from /proc/PID/status VmRSS; null if unreadable. */
export function readRssMB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

let clockTicks = null;
function ticksPerSecond() {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function statCpuMs(path) {
  try {
    const stat = readFileSync(path, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system, ms) of a process from /proc: `totalMs` for all its threads and
 * `mainThreadMs` for the main thread alone (for Node: the event loop; the rest is mostly libuv's
 * thread pool, GC helpers and the like). Resolution is one clock tick (usually 10 ms).
 */
export function readCpuMs(pid) {
  return {
    totalMs: statCpuMs(`/proc/${pid}/stat`),
    mainThreadMs: statCpuMs(`/proc/${pid}/task/${pid}/stat`),
  };
}

/** Machine-wide CPU from /proc/stat (ms summed over all cores): busy (not idle/iowait) and steal. */
export function readSystemCpuMs() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const toMs = (ticks) => (ticks * 1000) / ticksPerSecond();
    return {
      busyMs: toMs(user + nice + system + irq + softirq + steal),
      stealMs: toMs(steal),
      idleMs: toMs(idle + iowait),
    };
  } catch {
    return null;
  }
}

/**
 * Watches CPU use over an interval: the given server pids, this bench process, and everything else
 * on the machine ("foreign" load: other people's work on a shared machine). stop() returns cores
 * used on average (1.0 = one core busy for the whole interval), so noisy runs can be spotted.
 */
export function watchCpu(pids = []) {
  const t0 = performance.now();
  const sys0 = readSystemCpuMs();
  const self0 = process.cpuUsage();
  const p0 = pids.map((pid) => readCpuMs(pid).totalMs);
  return {
    stop() {
      const wallMs = performance.now() - t0;
      const sys1 = readSystemCpuMs();
      const self = process.cpuUsage(self0);
      const selfMs = (self.user + self.system) / 1000;
      const pidMs = pids.map((pid, i) => (readCpuMs(pid).totalMs ?? 0) - (p0[i] ?? 0));
      const cores = (ms) => (wallMs > 0 ? ms / wallMs : null);
      const busyMs = sys0 && sys1 ? sys1.busyMs - sys0.busyMs : null;
      const stealMs = sys0 && sys1 ? sys1.stealMs - sys0.stealMs : null;
      const ownMs = selfMs + pidMs.reduce((a, b) => a + b, 0);
      return {
        wallMs,
        benchCores: cores(selfMs),
        serverCores: pidMs.map(cores),
        machineBusyCores: busyMs === null ? null : cores(busyMs),
        stealCores: stealMs === null ? null : cores(stealMs),
        // Clock-tick rounding makes small negative values possible: clamp at zero.
        foreignCores: busyMs === null ? null : Math.max(0, cores(busyMs - ownMs)),
      };
    },
  };
}

/** Samples VmRSS every `intervalMs` until stop(); stop() returns { peakMB, lastMB, samples }. */
export function sampleRss(pid, intervalMs = 100) {
  let peakMB = readRssMB(pid) ?? 0;
  let lastMB = peakMB;
  let samples = 1;
  const timer = setInterval(() => {
    const v = readRssMB(pid);
    if (v === null) return;
    samples++;
    lastMB = v;
    if (v > peakMB) peakMB = v;
  }, intervalMs);
  return {
    peek: () => peakMB,
    stop() {
      clearInterval(timer);
      const v = readRssMB(pid);
      if (v !== null && v > peakMB) peakMB = v;
      return { peakMB, lastMB: v ?? lastMB, samples };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Figures, targets, reporting.

/**
 * One reported figure. `target` is { op: '<' | '<=' | '>' | '>=', value } or undefined
 * (informational). `pass` is computed here so every scenario judges the same way.
 */
export function figure({ id, label, value, unit = '', target, digits = 1 }) {
  let pass = null;
  if (target && typeof value === 'number') {
    const t = target.value;
    pass = { '<': value < t, '<=': value <= t, '>': value > t, '>=': value >= t }[target.op];
  } else if (target) {
    pass = false;
  }
  return { id, label, value, unit, digits, target: target ?? null, pass };
}

/** Facts about the machine and the run, recorded with every result. */
export function machineFacts() {
  const cpus = os.cpus();
  let commit = null;
  try {
    const head = readFileSync(join(ROOT, '.git', 'HEAD'), 'utf8').trim();
    commit = head.startsWith('ref: ') ? readFileSync(join(ROOT, '.git', head.slice(5)), 'utf8').trim() : head;
  } catch {
    // not a git checkout, or a packed ref: not essential
  }
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    totalMemMB: Math.round(os.totalmem() / 1024 / 1024),
    node: process.version,
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit,
  };
}

function formatValue(value, digits) {
  if (value === null || value === undefined) return 'n/a';
  if (typeof value !== 'number') return String(value);
  return value.toFixed(digits);
}

/** Prints figures as an aligned table: scenario, figure, value, target, result. */
export function printTable(rows) {
  const header = ['scenario', 'figure', 'value', 'target', 'result'];
  const lines = rows.map((r) => [
    r.scenario,
    r.label,
    `${formatValue(r.value, r.digits)}${r.unit ? ` ${r.unit}` : ''}`,
    r.target ? `${r.target.op} ${formatValue(r.target.value, r.digits)}${r.unit ? ` ${r.unit}` : ''}` : '-',
    r.pass === null ? 'info' : r.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cols) =>
    cols.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

/** Compact ISO 8601 (basic format) UTC timestamp, safe in file names: 20261123T120555Z. */
export function fileTimestamp(date = new Date()) {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Writes `data` as pretty JSON to bench/results/NAME, creating the folder; returns the path. */
export function writeResultFile(name, data) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, name);
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}

/** A logger for progress lines on stderr (stdout carries the table). */
export function log(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// In-process installations, bench databases, raw SQLite baseline, fsync counting.
// (Scenarios that seed data open the built installation in the bench process, on the database the
// server will use, before the server starts.)

/** Imports a module of the build under test: distModule('installation.js'). */
export function distModule(relativePath) {
  return import(pathToFileURL(join(ROOT, 'dist', relativePath)).href);
}

/** A fresh master key in HOLDFAST_MASTER_KEY's format (32 random bytes, base64). */
export function newMasterKey() {
  return randomBytes(32).toString('base64');
}

/**
 * Opens the built installation (migrating the database) in the bench process, configured exactly
 * as the server will be: the same `--db`, `--data-dir` and HOLDFAST_MASTER_KEY, defaults otherwise.
 */
export async function openInstallationAt({ db, dataDir, masterKey }) {
  const [{ loadConfig }, { openInstallation }] = await Promise.all([
    distModule('config/config.js'),
    distModule('installation.js'),
  ]);
  const config = loadConfig(
    { db, dataDir },
    { HOLDFAST_MASTER_KEY: masterKey, HOLDFAST_LOG_LEVEL: 'silent' },
  );
  return openInstallation(config);
}

const benchDatabases = new Map(); // name -> admin URL, dropped at exit if still there

function dropDatabasesSync() {
  for (const [name, adminUrl] of benchDatabases) {
    const script = `import('pg').then(async ({ default: pg }) => {
      const c = new pg.Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
      await c.connect(); await c.query('DROP DATABASE IF EXISTS "' + process.argv[2] + '" WITH (FORCE)'); await c.end();
    }).catch(() => process.exit(1));`;
    try {
      execFileSync(process.execPath, ['--input-type=module', '-e', script, adminUrl, name], {
        cwd: ROOT,
        stdio: 'ignore',
        timeout: 10_000,
      });
    } catch {
      // best effort: the name says what it was (holdfast_bench_*)
    }
  }
  benchDatabases.clear();
}
process.on('exit', dropDatabasesSync);

/** The PostgreSQL server the bench may use: HOLDFAST_BENCH_PG, else the local default. */
export function benchPostgresUrl() {
  return process.env.HOLDFAST_BENCH_PG || 'postgres://postgres@127.0.0.1:5432/postgres';
}

/**
 * Creates a fresh, empty PostgreSQL database for one measurement, when a server is reachable:
 * `{ url, name, displayUrl, drop() }`, or `{ skipped: reason }`. The database is dropped by
 * drop(), or at exit if the bench dies first.
 */
export async function createBenchPostgres() {
  const adminUrl = benchPostgresUrl();
  let pg;
  try {
    ({ default: pg } = await import('pg'));
  } catch {
    return { skipped: 'the pg module is not installed' };
  }
  const display = adminUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (err) {
    await admin.end().catch(() => undefined);
    return { skipped: `no PostgreSQL at ${display} (${err.code ?? err.message})` };
  }
  const name = `holdfast_bench_${process.pid}_${Date.now()}`;
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  benchDatabases.set(name, adminUrl);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    displayUrl: display.replace(/\/[^/?]*(\?|$)/, `/${name}$1`),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        benchDatabases.delete(name);
      } finally {
        await c.end().catch(() => undefined);
      }
    },
  };
}

/**
 * The raw durable-transaction rate of SQLite on this machine and filesystem: one UPDATE of an
 * indexed row plus one INSERT of a ~300-byte row per transaction (the shape of an accepted code:
 * the replay-protected counter update and the audit record), WAL, synchronous=FULL, BEGIN
 * IMMEDIATE, one transaction after another for `durationMs` in this process (better-sqlite3, as
 * the server). The database lives in `dir` (use a temp folder on the server's filesystem).
 */
export async function rawSqliteDurableTx({ dir, durationMs, rows = 10_000 }) {
  const { default: Database } = await import('better-sqlite3');
  const path = join(dir, `raw-${process.pid}-${Date.now()}.db`);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const journalMode = db.pragma('journal_mode', { simple: true });
    const synchronous = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][db.pragma('synchronous', { simple: true })];
    db.exec(`
      CREATE TABLE counters (id TEXT PRIMARY KEY, last_counter INTEGER, drift INTEGER, updated_at INTEGER);
      CREATE TABLE log (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, details TEXT NOT NULL, hash TEXT NOT NULL);
    `);
    const insertCounter = db.prepare('INSERT INTO counters VALUES (?, NULL, 0, 0)');
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insertCounter.run(`c${i}`);
    })();
    const begin = db.prepare('BEGIN IMMEDIATE');
    const commit = db.prepare('COMMIT');
    const update = db.prepare(
      'UPDATE counters SET last_counter = ?, drift = 0, updated_at = ? WHERE id = ? AND (last_counter IS NULL OR last_counter < ?)',
    );
    const insert = db.prepare('INSERT INTO log (time, details, hash) VALUES (?, ?, ?)');
    const details = JSON.stringify({ pad: 'x'.repeat(200) });
    const hash = 'h'.repeat(64);
    const latencies = [];
    let counter = 1;
    const start = performance.now();
    const deadline = start + durationMs;
    let t0 = start;
    while (t0 < deadline) {
      const now = Date.now();
      begin.run();
      update.run(counter, now, `c${counter % rows}`, counter);
      insert.run(now, details, hash);
      commit.run();
      counter++;
      const t1 = performance.now();
      if (t1 <= deadline) latencies.push(t1 - t0);
      t0 = t1;
    }
    return { ...summarize({ latencies, errors: 0, durationMs, extra: {} }), journalMode, synchronous };
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  }
}

/**
 * Counts the fsync/fdatasync calls a process makes while `during()` runs, with strace attached to
 * all its threads (strace slows those calls, so measure this outside the timed runs). Resolves to
 * { available, syncCalls, bySyscall, result } where `result` is what `during()` returned, or
 * { available: false, reason } when strace is missing or cannot attach.
 */
export async function countSyncCalls(pid, during) {
  const out = join(makeTempDir('holdfast-bench-strace-'), 'strace.txt');
  let child;
  try {
    child = spawnTracked(
      'strace',
      ['-f', '-c', '-e', 'trace=fsync,fdatasync', '-o', out, '-p', String(pid)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
  } catch (err) {
    return { available: false, reason: String(err) };
  }
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c) => (stderr += c));
  const spawnError = new Promise((resolve) => child.once('error', (err) => resolve(err)));
  // Wait until strace reports its attachment (or fails).
  const attachDeadline = performance.now() + 5_000;
  while (!/attached/.test(stderr) && child.exitCode === null && performance.now() < attachDeadline) {
    const err = await Promise.race([spawnError, sleep(20)]);
    if (err) return { available: false, reason: `strace: ${err.message}` };
  }
  if (!/attached/.test(stderr)) {
    child.kill('SIGKILL');
    return { available: false, reason: `strace could not attach: ${stderr.trim().slice(0, 200)}` };
  }
  await sleep(200); // the other threads
  const result = await during();
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGINT');
  });
  let text = '';
  try {
    text = readFileSync(out, 'utf8');
  } catch {
    return { available: false, reason: 'strace wrote no summary', result };
  }
  const bySyscall = {};
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const name = cols[cols.length - 1];
    if (name === 'fsync' || name === 'fdatasync') bySyscall[name] = Number(cols[3]);
  }
  const syncCalls = Object.values(bySyscall).reduce((a, b) => a + b, 0);
  return { available: true, syncCalls, bySyscall, result };
}
