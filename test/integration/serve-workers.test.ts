/**
 * `holdfast serve --workers 2`: one port served by two worker processes under one primary.
 * A worker killed in the middle of load is replaced while the other keeps answering; the
 * requests it had in flight fail with their connection, and nothing they did is half-written
 * (the audit chain verifies, every acknowledged sign-in has its record). /metrics adds up the
 * workers. SIGTERM stops every process and the primary exits 0.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  assertCliBuilt,
  createCliTarget,
  killAllChildren,
  startServe,
  type CliTarget,
  type ServeProcess,
} from '../helpers/processes.js';

const PASSWORD = 'correct horse battery staple';
const METRICS_TOKEN = 'metrics-token-for-the-workers-test';
/** Sign-ins to see answered before the kill, and again after the replacement is up. */
const SIGN_INS = 12;

/** The worker processes of a primary (Linux: the kernel lists a task's children). */
function workersOf(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

type Answer = { status: number } | { failed: string };

async function signIn(url: string): Promise<Answer> {
  try {
    const res = await fetch(`${url}/v1/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ account: 'acme', login: 'owner@acme.test', password: PASSWORD }),
    });
    await res.arrayBuffer();
    return { status: res.status };
  } catch (err) {
    // The connection went down with its worker.
    return { failed: err instanceof Error ? err.message : String(err) };
  }
}

beforeAll(assertCliBuilt);
afterAll(killAllChildren);

describe.each(DATABASE_KINDS)('serve --workers 2 [$name]', ({ name }) => {
  let t: CliTarget;
  let server: ServeProcess;

  const verify = async () => {
    const result = await t.cli(['audit', 'verify', '--json']);
    expect(result.code, result.stderr).toBe(0);
    return result.json<{ ok: boolean; records: number }>();
  };
  const signInRecords = async () =>
    (await t.snapshot())
      .audit_log!.map((row) => JSON.parse(row) as { action: string; outcome: string })
      .filter((row) => row.action === 'auth.sign_in' && row.outcome === 'success').length;

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
    server = await startServe([...t.dbArgs, '--workers', '2'], {
      env: { ...t.env, HOLDFAST_METRICS_TOKEN: METRICS_TOKEN },
    });
    const setup = await fetch(`${server.url}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: boot.json<{ setupToken: string }>().setupToken, password: PASSWORD }),
    });
    expect(setup.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await killAllChildren();
    await t?.cleanup();
  });

  it('two workers share one port and /metrics adds both up', async () => {
    expect(workersOf(server.child.pid!)).toHaveLength(2);
    for (let i = 0; i < 10; i++) expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const wrong = await fetch(`${server.url}/v1/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ account: 'acme', login: 'owner@acme.test', password: 'not the password' }),
    });
    expect(wrong.status).toBe(401);
    const res = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^holdfast_server_processes 2$/m);
    // Values read from the one database are not added up over the workers: ready is 1, not 2.
    expect(text).toMatch(/^holdfast_ready 1$/m);
    // A refused sign-in is counted once, by the worker that served it, whichever scrape asks.
    expect(text).toMatch(/^holdfast_sign_ins_total\{outcome="wrong_password"\} 1$/m);
    const readyz = /^holdfast_http_requests_total\{method="GET",route="\/readyz",status="200"\} (\d+)$/m.exec(
      text,
    );
    expect(Number(readyz?.[1])).toBeGreaterThanOrEqual(10);
  });

  it('a worker killed under load is replaced; its in-flight requests fail, nothing is half-written', async () => {
    const recordsBefore = await signInRecords();
    const [victim, survivor] = workersOf(server.child.pid!);
    const answers: Answer[] = [];
    let okAfterReplacement = 0;
    let replaced = false;
    let stop = false;
    const lanes = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const answer = await signIn(server.url);
        answers.push(answer);
        if (replaced && 'status' in answer && answer.status === 200) okAfterReplacement++;
      }
    });
    await until(() => answers.filter((a) => 'status' in a).length >= SIGN_INS, 'sign-ins before the kill');
    process.kill(victim!, 'SIGKILL');
    await until(() => {
      const now = workersOf(server.child.pid!);
      return now.length === 2 && !now.includes(victim!);
    }, 'a replacement worker');
    replaced = true;
    await until(() => okAfterReplacement >= SIGN_INS, 'sign-ins after the replacement');
    stop = true;
    await Promise.all(lanes);

    expect(alive(survivor!)).toBe(true);
    expect(server.stderr()).toMatch(/worker \d \(pid \d+\) exited \(signal SIGKILL\)/);
    // Every answer is a sign-in or a dropped connection: never an error status.
    const statuses = new Set(
      answers.filter((a) => 'status' in a).map((a) => (a as { status: number }).status),
    );
    expect([...statuses]).toEqual([200]);
    const ok = answers.filter((a) => 'status' in a).length;
    const dropped = answers.length - ok;
    // Each acknowledged sign-in kept its record; a dropped one left its record or nothing.
    const added = (await signInRecords()) - recordsBefore;
    expect(added).toBeGreaterThanOrEqual(ok);
    expect(added).toBeLessThanOrEqual(ok + dropped);
    expect(await verify()).toMatchObject({ ok: true });
  }, 120_000);

  it('SIGTERM stops every worker and the primary exits 0', async () => {
    const workers = workersOf(server.child.pid!);
    expect(workers).toHaveLength(2);
    const exit = await server.stop('SIGTERM');
    expect(exit, server.stderr()).toEqual({ code: 0, signal: null });
    for (const pid of workers) await until(() => !alive(pid), `worker ${pid} to exit`, 10_000);
    expect(server.stderr()).toMatch(/SIGTERM: stopping 2 worker\(s\)/);
  }, 60_000);
});
