/**
 * Several real processes on one database: two `holdfast serve` processes appending audit records
 * at the same time, and two CLI processes creating users at the same time. PostgreSQL
 * serialises appends with an advisory lock, SQLite (WAL) with BEGIN IMMEDIATE and a busy
 * timeout; either way the hash chain must stay whole and no write may be lost or refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  assertCliBuilt,
  createCliTarget,
  killAllChildren,
  startServe,
  type CliResult,
  type CliTarget,
  type ServeProcess,
} from '../helpers/processes.js';

const PASSWORD = 'correct horse battery staple';
/** Concurrent sign-in requests, split over both servers. */
const REQUESTS = 200;
/** User creations per CLI lane; two lanes run side by side. */
const CREATES_PER_LANE = 10;

interface AuditRow {
  seq: number | string;
  action: string;
  outcome: string;
  details: string;
}

function expectSuccess(result: CliResult): void {
  expect({ exit: result.code, code: result.errorCode }, result.stderr).toEqual({ exit: 0, code: null });
}

async function postJSON(url: string, body: unknown): Promise<{ status: number; code: string | null }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { error?: { code?: string } };
  return { status: res.status, code: json.error?.code ?? null };
}

beforeAll(assertCliBuilt);
afterAll(killAllChildren);

describe.each(DATABASE_KINDS)('several processes on one database [$name]', ({ name }) => {
  let t: CliTarget;
  let servers: ServeProcess[] = [];

  const auditRows = async (): Promise<AuditRow[]> =>
    (await t.snapshot())
      .audit_log!.map((row) => JSON.parse(row) as AuditRow)
      .sort((a, b) => Number(a.seq) - Number(b.seq));
  const verify = async () => {
    const result = await t.cli(['audit', 'verify', '--json']);
    expect(result.code, result.stderr).toBe(0);
    return result.json<{ ok: boolean; records: number; firstBroken: unknown }>();
  };

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
    expectSuccess(boot);
    servers = await Promise.all([startServe(t.dbArgs, { env: t.env }), startServe(t.dbArgs, { env: t.env })]);
    const setup = await postJSON(`${servers[1]!.url}/v1/setup`, {
      token: boot.json<{ setupToken: string }>().setupToken,
      password: PASSWORD,
    });
    expect(setup.status).toBe(200);
  });
  afterAll(async () => {
    await killAllChildren();
    await t?.cleanup();
  });

  it(`two servers append ${REQUESTS} audit records at once; the chain verifies and none is lost`, async () => {
    const before = await verify();
    expect(before.ok).toBe(true);
    // Every successful sign-in writes exactly one audit record. (Refusals are not used here: the
    // throttled ones are aggregated per source and window, which operations.test.ts covers.)

    // fewer than the sign-ins a login may have in flight before they count as a burst.
    const answers: Array<{ status: number; code: string | null }> = [];
    for (let wave = 0; wave < REQUESTS / 4; wave++) {
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 4 }, (_, i) =>
            postJSON(`${servers[i % 2]!.url}/v1/sign-in`, {
              account: 'acme',
              login: 'owner@acme.test',
              password: PASSWORD,
            }),
          ),
        )),
      );
    }
    const byStatus = new Map<number, number>();
    for (const answer of answers) byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 200: REQUESTS });
    expect(await verify()).toMatchObject({ ok: true, records: before.records + REQUESTS, firstBroken: null });
    const added = (await auditRows()).slice(before.records);
    expect(added).toHaveLength(REQUESTS);
    // One record per request: every request id appears once.
    const requestIds = new Set(
      added.map((row) => (JSON.parse(row.details) as { requestId: string }).requestId),
    );
    expect(requestIds.size).toBe(REQUESTS);
    expect(added.filter((row) => row.outcome === 'success')).toHaveLength(REQUESTS);

    const exits = await Promise.all(servers.map((server) => server.stop('SIGTERM')));
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
  });

  it(`two CLI processes create ${CREATES_PER_LANE} users each at the same time`, async () => {
    const before = await verify();
    const lane = async (prefix: string) => {
      const results: CliResult[] = [];
      for (let i = 0; i < CREATES_PER_LANE; i++) {
        results.push(
          await t.cli(['user', 'create', '--account', 'acme', '--email', `${prefix}${i}@acme.test`]),
        );
      }
      return results;
    };
    const results = (await Promise.all([lane('left'), lane('right')])).flat();
    for (const result of results) expectSuccess(result);

    const list = await t.cli(['user', 'list', '--account', 'acme', '--json']);
    expect(list.json<{ users: unknown[] }>().users).toHaveLength(1 + 2 * CREATES_PER_LANE);
    expect(await verify()).toMatchObject({
      ok: true,
      records: before.records + 2 * CREATES_PER_LANE,
      firstBroken: null,
    });
  });
});
