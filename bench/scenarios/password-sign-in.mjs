// Password sign-in throughput against the raw argon2id verify rate of this machine.
//
// A sign-in costs one argon2id verify plus HTTP, SQLite and audit work. argon2 runs on libuv's
// thread pool (all cores), the rest on the event loop, so the question is how close the server
// gets to the machine's raw verify rate. Both are measured in the same bench run, interleaved
// (sign-in run i, then verify run i with the server idle), so noise on a shared machine hits both.
import { hash, verify } from '@node-rs/argon2';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ROOT,
  bootstrapOwner,
  closedLoop,
  closedLoopFn,
  figure,
  median,
  medianOfRuns,
  readCpuMs,
  watchCpu,
  readRssMB,
  sampleRss,
  sleep,
  startServer,
} from '../lib.mjs';

export const name = 'password-sign-in';
export const description =
  'POST /v1/sign-in at concurrency 16 vs raw argon2id verify (8 in flight) in the bench process; server RSS';

const PASSWORD = 'bench-password-horse-42';
const ARGON2ID = 2;

/** The server's own default parameters (from the build under test), so both sides hash alike. */
async function serverArgon2Params() {
  try {
    const mod = await import(pathToFileURL(join(ROOT, 'dist', 'platform', 'password-hasher.js')).href);
    if (mod.OWASP_ARGON2_MINIMUM) return { ...mod.OWASP_ARGON2_MINIMUM };
  } catch {
    // fall back to the documented values
  }
  return { memoryCost: 19456, timeCost: 2, parallelism: 1 };
}

export async function run({ quick, log }) {
  const runs = quick ? 1 : 3;
  const signInMs = quick ? 3_000 : 8_000;
  const verifyMs = quick ? 2_000 : 5_000;
  const warmupMs = quick ? 1_000 : 2_000;
  const concurrency = 16;
  const verifyConcurrency = 8;
  const params = await serverArgon2Params();

  log(`${name}: starting server on a fresh SQLite database`);
  const server = await startServer();
  try {
    await sleep(250); // let start-up allocations settle before reading memory
    const rssStartMB = readRssMB(server.pid);

    // One login per connection: each attempt is counted against its login before the password
    // is checked (so bursts of guesses are throttled), which makes 16 concurrent sign-ins of ONE
    // login look like a burst. Real users do not sign in 16 times at once; 16 users do.
    const logins = [];
    for (let i = 0; i < concurrency; i++) {
      const creds = await bootstrapOwner(server, { account: `acme${i}`, password: PASSWORD });
      logins.push({ account: creds.account, login: creds.login, password: creds.password });
    }
    let next = 0;
    const body = () => logins[next++ % logins.length];
    const check = (status, text) => status === 200 && text.includes('"signed_in"');
    const rss = sampleRss(server.pid, 50);

    log(`${name}: warm-up ${warmupMs} ms`);
    const warmup = await closedLoop({
      url: `${server.url}/v1/sign-in`,
      body,
      concurrency,
      durationMs: warmupMs,
      check,
    });
    if (warmup.completed === 0) throw new Error(`sign-in warm-up failed: ${warmup.firstError}`);

    const storedHash = await hash(PASSWORD, { algorithm: ARGON2ID, ...params });
    await verify(storedHash, PASSWORD); // load the native module's pages before timing

    const signIns = [];
    const verifies = [];
    for (let i = 0; i < runs; i++) {
      log(`${name}: run ${i + 1}/${runs}: sign-in ${signInMs} ms at concurrency ${concurrency}`);
      const cpu0 = readCpuMs(server.pid);
      const watch = watchCpu([server.pid]);
      const s = await closedLoop({
        url: `${server.url}/v1/sign-in`,
        body,
        concurrency,
        durationMs: signInMs,
        check,
      });
      const load = watch.stop();
      const cpu1 = readCpuMs(server.pid);
      // CPU per answered request (in-window and drained ones alike: the CPU covers both).
      const answered = s.completed + s.lateCompletions + s.errors;
      s.serverCpuMsPerRequest = (cpu1.totalMs - cpu0.totalMs) / answered;
      s.serverMainThreadCpuMsPerRequest = (cpu1.mainThreadMs - cpu0.mainThreadMs) / answered;
      s.serverCores = load.serverCores[0];
      s.benchCores = load.benchCores;
      s.foreignCores = load.foreignCores;
      s.stealCores = load.stealCores;
      signIns.push(s);
      await sleep(300); // the server drains its last requests before the raw measurement

      log(
        `${name}: run ${i + 1}/${runs}: raw argon2id verify ${verifyMs} ms, ${verifyConcurrency} in flight`,
      );
      const rawWatch = watchCpu([server.pid]);
      const v = await closedLoopFn({
        fn: () => verify(storedHash, PASSWORD),
        concurrency: verifyConcurrency,
        durationMs: verifyMs,
      });
      const rawLoad = rawWatch.stop();
      v.cpuMsPerVerify = (rawLoad.benchCores * rawLoad.wallMs) / (v.completed + v.lateCompletions + v.errors);
      v.benchCores = rawLoad.benchCores;
      v.serverCores = rawLoad.serverCores[0]; // should be ~0: the server is idle meanwhile
      v.foreignCores = rawLoad.foreignCores;
      v.stealCores = rawLoad.stealCores;
      log(
        `${name}: run ${i + 1}/${runs}: ${s.perSecond.toFixed(1)} sign-ins/s, ${v.perSecond.toFixed(1)} verify/s, ` +
          `ratio ${(s.perSecond / v.perSecond).toFixed(2)}; other load ${s.foreignCores?.toFixed(2)} / ` +
          `${v.foreignCores?.toFixed(2)} cores`,
      );
      verifies.push(v);
    }
    const { peakMB: rssPeakMB } = rss.stop();
    const rssAfterMB = readRssMB(server.pid);

    const signIn = medianOfRuns(signIns);
    const raw = medianOfRuns(verifies);
    const ratio = signIn.perSecond / raw.perSecond;
    // Per-run ratios (run i against verify run i) show how much the noise moves the figure.
    const runRatios = signIns.map((s, i) => s.perSecond / verifies[i].perSecond);

    const figures = [
      figure({
        id: 'signInPerSecond',
        label: 'sign-ins/s (c=16, median)',
        value: signIn.perSecond,
        unit: '/s',
      }),
      figure({ id: 'signInP50Ms', label: 'sign-in p50', value: signIn.p50Ms, unit: 'ms', digits: 0 }),
      figure({ id: 'signInP99Ms', label: 'sign-in p99', value: signIn.p99Ms, unit: 'ms', digits: 0 }),
      figure({
        id: 'signInErrors',
        label: 'sign-in errors (all runs)',
        value: signIns.reduce((n, r) => n + r.errors, 0),
        target: { op: '<=', value: 0 },
        digits: 0,
      }),
      figure({
        id: 'serverCpuMsPerSignIn',
        label: 'server CPU per sign-in (all threads)',
        value: signIn.serverCpuMsPerRequest,
        unit: 'ms',
      }),
      figure({
        id: 'serverMainThreadCpuMsPerSignIn',
        label: 'server event-loop CPU per sign-in',
        value: signIn.serverMainThreadCpuMsPerRequest,
        unit: 'ms',
      }),
      figure({
        id: 'rawVerifyPerSecond',
        label: 'raw argon2id verify/s (median)',
        value: raw.perSecond,
        unit: '/s',
      }),
      figure({ id: 'rawCpuMsPerVerify', label: 'raw CPU per verify', value: raw.cpuMsPerVerify, unit: 'ms' }),
      figure({
        id: 'cpuCostRatio',
        label: 'CPU/verify ÷ server CPU/sign-in',
        value: raw.cpuMsPerVerify / signIn.serverCpuMsPerRequest,
        digits: 2,
      }),
      figure({
        id: 'foreignCores',
        label: "other processes' load (median, cores)",
        value: median([...signIns, ...verifies].map((r) => r.foreignCores)),
        digits: 2,
      }),
      figure({
        id: 'signInToVerifyRatio',
        label: 'sign-ins/s ÷ raw verify/s',
        value: ratio,
        target: { op: '>=', value: 0.95 },
        digits: 2,
      }),
      figure({
        id: 'rssStartMB',
        label: 'server RSS after start',
        value: rssStartMB,
        unit: 'MB',
        target: { op: '<', value: 150 },
      }),
      figure({
        id: 'rssPeakMB',
        label: 'server RSS peak under load',
        value: rssPeakMB,
        unit: 'MB',
        target: { op: '<', value: 150 },
      }),
      figure({
        id: 'rssAfterMB',
        label: 'server RSS after load',
        value: rssAfterMB,
        unit: 'MB',
        target: { op: '<', value: 150 },
      }),
    ];

    return {
      figures,
      details: {
        settings: { runs, signInMs, verifyMs, warmupMs, concurrency, verifyConcurrency, argon2: params },
        warmup,
        signIn,
        rawVerify: raw,
        runRatios,
        memory: { rssStartMB, rssPeakMB, rssAfterMB },
      },
    };
  } finally {
    await server.stop();
  }
}
