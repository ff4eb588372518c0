/**
 * Runs the real, built CLI (`node dist/cli/main.js`) and `holdfast serve` as child processes.
 * Every child is tracked so a suite can kill whatever is still running in afterAll/afterEach,
 * even when a test failed half-way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/config.js';
import { openInstallation, type Installation } from '../../src/installation.js';
import { connectDatabase } from '../../src/storage/connect.js';
import { freshDatabase, type FreshDatabase, type TestDatabaseKind } from './databases.js';

/** The built CLI entry point. */
export const CLI_PATH = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

const running = new Set<ChildProcess>();

/** Fails early with a clear hint when the CLI has not been built. */
export function assertCliBuilt(): void {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` (npm test does)`);
}

/** A fresh random master key, as HOLDFAST_MASTER_KEY takes it (base64 of 32 bytes). */
export function newMasterKey(): string {
  return randomBytes(32).toString('base64');
}

/**
 * The environment for a child: this process's environment without any HOLDFAST_* variable (so
 * the developer's own settings never leak in), quiet logs, plus `extra` (undefined removes).
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('HOLDFAST_')) env[key] = value;
  }
  env.HOLDFAST_LOG_LEVEL = 'silent';
  // One server process unless a test asks for `--workers` (the default is one per CPU core).
  env.HOLDFAST_WORKERS = '1';
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** What a finished CLI run left behind. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for `--json`). */
  json<T = Record<string, unknown>>(): T;
  /** The error code the CLI reported on stderr (`error CODE:` or `{"error":{"code":...}}`), or null. */
  errorCode: string | null;
}

/** Extracts the error code from CLI stderr, text or JSON form. */
export function errorCodeOf(stderr: string): string | null {
  for (const line of stderr.split('\n')) {
    const text = /^error ([A-Z][A-Z0-9_]+):/.exec(line);
    if (text) return text[1]!;
    if (line.startsWith('{"error"')) {
      try {
        const code = (JSON.parse(line) as { error?: { code?: unknown } }).error?.code;
        if (typeof code === 'string') return code;
      } catch {
        // not JSON after all
      }
    }
  }
  return null;
}

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Runs `holdfast ...args` to completion; `stdin`, when given, is written and closed. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [CLI_PATH, ...args], {
        env: options.env ?? cliEnv(),
        stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      }),
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (options.stdin !== undefined) {
      child.stdin!.on('error', () => undefined); // the command may exit before reading its input
      child.stdin!.end(options.stdin);
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`holdfast ${args.join(' ')} timed out; stderr:\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        errorCode: errorCodeOf(stderr),
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(
              `holdfast ${args.join(' ')} printed no JSON (exit ${code}):\n${stdout}\n${stderr}`,
            );
          }
        },
      });
    });
  });
}

/** A free TCP port on 127.0.0.1 (listen on 0, read the port, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A running `holdfast serve`. */
export interface ServeProcess {
  child: ChildProcess;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `holdfast serve --port <free port> ...args` and waits until it listens. */
export async function startServe(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ServeProcess> {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [CLI_PATH, 'serve', '--host', '127.0.0.1', '--port', String(port), ...args], {
      env: options.env ?? cliEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`holdfast serve did not start in time; stderr:\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    const onData = () => {
      if (/Holdfast listening on /.test(stderr)) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`holdfast serve exited (${code ?? signal}) before listening; stderr:\n${stderr}`));
    });
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Kills every child still running (SIGKILL) and waits for them to go. */
export async function killAllChildren(): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** A fresh database that tests drive through the real CLI (and, for setup and checks, in-process). */
export interface CliTarget {
  kind: TestDatabaseKind['name'];
  fresh: FreshDatabase;
  /** HOLDFAST_MASTER_KEY given to every command, or null: the key file in the data folder. */
  masterKey: string | null;
  /** `--db URL --data-dir DIR` */
  dbArgs: string[];
  /** The environment of every command (with the master key when there is one). */
  env: NodeJS.ProcessEnv;
  /** Runs `holdfast ...args --db ... --data-dir ...`; `env` entries override (undefined removes). */
  cli(args: string[], env?: Record<string, string | undefined>): Promise<CliResult>;
  /** Opens the installation in-process, as the CLI would. */
  open(): Promise<Installation>;
  /** Every row of every table, for "nothing changed" checks. */
  snapshot(): Promise<Record<string, string[]>>;
  cleanup(): Promise<void>;
}

/**
 * A fresh database for CLI tests. PostgreSQL always takes its master key from the environment;
 * SQLite uses the key file the CLI creates on first use unless `envKey` is set.
 */
export async function createCliTarget(
  kind: TestDatabaseKind['name'],
  options: { envKey?: boolean } = {},
): Promise<CliTarget> {
  const fresh = await freshDatabase(kind);
  const masterKey = kind === 'postgres' || options.envKey === true ? newMasterKey() : null;
  const dbArgs = ['--db', fresh.url, '--data-dir', fresh.dataDir];
  const env = cliEnv(masterKey === null ? {} : { HOLDFAST_MASTER_KEY: masterKey });
  return {
    kind,
    fresh,
    masterKey,
    dbArgs,
    env,
    cli(args, extra = {}) {
      const merged = { ...env };
      for (const [key, value] of Object.entries(extra)) {
        if (value === undefined) delete merged[key];
        else merged[key] = value;
      }
      return runCli([...args, ...dbArgs], { env: merged });
    },
    open: () =>
      openInstallation(
        loadConfig(
          { db: fresh.url, dataDir: fresh.dataDir },
          { HOLDFAST_LOG_LEVEL: 'silent', ...(masterKey === null ? {} : { HOLDFAST_MASTER_KEY: masterKey }) },
        ),
      ),
    snapshot: () => databaseSnapshot(fresh.url),
    cleanup: () => fresh.cleanup(),
  };
}

/** Every row of every table (Kysely's own included), each table's rows serialised and sorted. */
export async function databaseSnapshot(url: string): Promise<Record<string, string[]>> {
  const db = await connectDatabase(url);
  try {
    const tables = await db.kysely.introspection.getTables({ withInternalKyselyTables: true });
    const snapshot: Record<string, string[]> = {};
    for (const table of tables) {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table.name)}`.execute(
        db.kysely,
      );
      snapshot[table.name] = rows.map((row) => JSON.stringify(row)).sort();
    }
    return snapshot;
  } finally {
    await db.close();
  }
}
