/**
 * The replay guarantee under concurrency (RFC 6238 §5.2: a code is accepted at most once): 20
 * sign-in flows of one user present the SAME valid code at the same time; exactly one succeeds.
 * In-process on SQLite and PostgreSQL, then with two real `holdfast serve` processes sharing one
 * database (PostgreSQL, and one SQLite file), the requests split across both servers.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  PASSWORD,
  STEP_MS,
  errorCodeOf,
  expectStatus,
  fetchHttp,
  injectHttp,
  mfaApi,
  totpAt,
  uniqueIp,
  type HttpResponse,
  type MfaApi,
} from '../helpers/mfa.js';
import {
  assertCliBuilt,
  createCliTarget,
  killAllChildren,
  startServe,
  type CliTarget,
  type ServeProcess,
} from '../helpers/processes.js';

const FLOWS = 20;

/** Exactly one sign-in, every other answer MFA_FAILED. */
function expectExactlyOneSuccess(answers: HttpResponse[]): void {
  const summary = answers.map((a) => `${a.status} ${errorCodeOf(a) ?? a.body?.status}`).sort();
  expect(summary, JSON.stringify(summary)).toEqual([
    '200 signed_in',
    ...Array<string>(FLOWS - 1).fill('401 MFA_FAILED'),
  ]);
}

/**
 * Password steps for `count` flows of one user, each from its own address, one after the other
 * (the race under test is the factor step, not the password step), alternating over `apis`.
 */
async function prepareFlows(
  apis: MfaApi[],
  login: string,
  count: number,
): Promise<Array<{ flowId: string; api: MfaApi }>> {
  const flows: Array<{ flowId: string; api: MfaApi }> = [];
  for (let i = 0; i < count; i++) {
    const api = apis[i % apis.length]!;
    flows.push({ flowId: await api.startFlow(login), api });
  }
  return flows;
}

/**
 * Holds every factor read of the factor step until `count` requests have made theirs (or a
 * second has passed): all of them then verify the code against the same state, read before
 * any of them committed, and only the conditional, replay-protected update can tell them apart.
 * Without it, in-process SQLite requests may run one after the other and the replay would be
 * caught earlier, by the verification against the last accepted step.
 */
function holdFactorReads(inst: TestInstallation, count: number): { restore(): void; held(): number } {
  const factors = inst.app.deps.store.factors;
  const original = factors.findById;
  let waiting: Array<() => void> = [];
  let held = 0;
  const releaseAll = () => {
    for (const resolve of waiting) resolve();
    waiting = [];
  };
  const timer = setTimeout(releaseAll, 1000);
  factors.findById = async (...args) => {
    const factor = await original.apply(factors, args);
    held++;
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length >= count) releaseAll();
    });
    return factor;
  };
  return {
    restore() {
      clearTimeout(timer);
      releaseAll();
      factors.findById = original;
    },
    held: () => held,
  };
}

/** Fires the factor step of every flow at once with the same code. */
function race(flows: Array<{ flowId: string; api: MfaApi }>, factorId: string, code: string) {
  return Promise.all(
    flows.map(({ flowId, api }) => api.secondFactor(flowId, { factorId, code }, uniqueIp())),
  );
}

describe.each(DATABASE_KINDS)('one code, 20 concurrent uses, one process [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    server = await buildTestServer(inst);
    api = mfaApi(injectHttp(server), 'acme');
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('exactly one of 20 parallel verifications of one valid code succeeds', async () => {
    const token = await api.passwordToken('owner@acme.test');
    const enrolled = await api.enrolTOTP(token, 'phone');
    const { id } = enrolled.body.factor;
    const secret: string = enrolled.body.secret;
    const now = inst.clock.now();
    expectStatus(
      await api.enable(token, id, { codes: [totpAt(secret, now - STEP_MS), totpAt(secret, now)] }),
      200,
    );
    inst.clock.advance(STEP_MS);
    const flows = await prepareFlows([api], 'owner@acme.test', FLOWS);
    const hold = holdFactorReads(inst, FLOWS);
    let answers: HttpResponse[];
    try {
      answers = await race(flows, id, totpAt(secret, inst.clock.now()));
    } finally {
      hold.restore();
    }
    // Every request read the factor before any accepted the code.
    expect(hold.held()).toBe(FLOWS);
    expectExactlyOneSuccess(answers);

    // Every loser was turned away by the replay guard, and only one session exists.
    const failures = (await inst.store.audit.query({ action: 'auth.mfa_sign_in', limit: 1000 })).filter(
      (r) => r.outcome === 'failure',
    );
    expect(failures.map((r) => r.details.reason)).toEqual(Array(FLOWS - 1).fill('replayed'));
    const sessions = await inst.database.kysely.selectFrom('sessions').select('auth').execute();
    // Sessions standing on the factor (the enrolling session only remembers it enrolled it).
    const onFactor = sessions.filter(
      (s) =>
        (JSON.parse(String(s.auth)) as { factor?: { factorId?: string } | null }).factor?.factorId === id,
    );
    expect(onFactor).toHaveLength(1);
  });
});

describe.each(DATABASE_KINDS)('one code, 20 concurrent uses, two server processes [$name]', ({ name }) => {
  let t: CliTarget;
  let servers: ServeProcess[] = [];

  beforeAll(async () => {
    assertCliBuilt();
    // One master key for both servers (SQLite too: no race on creating the key file).
    t = await createCliTarget(name, { envKey: true });
    const boot = await t.cli([
      'bootstrap',
      '--account',
      'acme',
      '--owner-email',
      'owner@acme.test',
      '--json',
    ]);
    expect(boot.code, boot.stderr).toBe(0);
    // Both servers trust the test as a proxy so that every request can come from its own
    // address (X-Forwarded-For): the per-source delay must not decide the race.
    const env = { ...t.env, HOLDFAST_TRUSTED_PROXIES: '127.0.0.1' };
    servers = await Promise.all([startServe(t.dbArgs, { env }), startServe(t.dbArgs, { env })]);
    const setup = await fetchHttp(servers[0]!.url)({
      method: 'POST',
      url: '/v1/setup',
      body: { token: boot.json<{ setupToken: string }>().setupToken, password: PASSWORD },
    });
    expectStatus(setup, 200);
  });
  afterAll(async () => {
    await killAllChildren();
    await t?.cleanup();
  });

  it('exactly one of 20 parallel verifications, split across both servers, succeeds', async () => {
    const apis = servers.map((s) => mfaApi(fetchHttp(s.url), 'acme'));
    const [first] = apis;
    const token = await first!.passwordToken('owner@acme.test');
    const enrolled = await first!.enrolTOTP(token, 'phone');
    expectStatus(enrolled, 201);
    const { id } = enrolled.body.factor;
    const secret: string = enrolled.body.secret;
    // The codes of the two previous steps: the next step's code is certainly unused.
    const enableAt = Date.now();
    expectStatus(
      await first!.enable(token, id, {
        codes: [totpAt(secret, enableAt - 2 * STEP_MS), totpAt(secret, enableAt - STEP_MS)],
      }),
      200,
    );

    const flows = await prepareFlows(apis, 'owner@acme.test', FLOWS);
    expect(new Set(flows.map((f) => f.api)).size).toBe(2);
    const answers = await race(flows, id, totpAt(secret, Date.now()));
    expectExactlyOneSuccess(answers);

    const verify = await t.cli(['audit', 'verify', '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.json<{ ok: boolean }>().ok).toBe(true);
  });
});
