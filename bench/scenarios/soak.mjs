// Soak: a bounded mixed load for a long time, watching for what grows.
//
// One server on SQLite; an owner signs in, reads, and signs out again, at a fixed total rate
// (open loop, loopback), for BENCH_SOAK_MINUTES (default 30; --quick: 1). Every 10 s the bench
// samples the server's RSS (/proc/PID/status), open file descriptors (/proc/PID/fd), event-loop
// delay p99 (prom-client's monitorEventLoopDelay via /metrics, reset at each scrape) and the p99
// latency of the requests answered in those 10 s. Each series gets a least-squares slope per
// minute over the samples after the first minute (warm-up: JIT, caches, pools filling): a leak
// shows as a slope that does not go to zero. Opt-in: `node bench/run.mjs soak` (not in CI).
import http from 'node:http';
import { readdirSync } from 'node:fs';
import { bootstrapOwner, figure, log, readRssMB, requestJSON, runCli, sleep, startServer } from '../lib.mjs';

export const name = 'soak';
export const description =
  'mixed sign-in / read / sign-out load for 30 min (BENCH_SOAK_MINUTES); RSS, fds, event-loop p99, latency p99 sampled every 10 s, slopes';

const PASSWORD = 'bench-password-horse-42';
const METRICS_TOKEN = 'bench-soak-metrics-token-0123456789';
const SAMPLE_MS = 10_000;
/** Requests per second, all kinds together: steady, well under capacity (argon2 dominates). */
const RATE = 20;
/**
 * Users whose sessions take turns. Sign-in counts an attempt against its login before the
 * password is checked (core/throttle.ts), so many concurrent sign-ins of ONE login would be
 * throttled by design; spread over several users, a slow moment does not turn into 429s.
 */
const USERS = 8;
/**
 * At most this many sessions in flight: the load is bounded. When the server falls behind (a
 * shared machine), a launch is skipped and counted instead of queueing without end, which would
 * turn the latency figures into a measure of the backlog.
 */
const MAX_IN_FLIGHT = 8;

function openFds(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

async function eventLoopP99Ms(url) {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const text = await res.text();
  const m = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : null;
}

/** Least-squares slope of y over x (x in minutes): units of y per minute. */
function slope(points) {
  const pts = points.filter((p) => typeof p.y === 'number');
  if (pts.length < 2) return null;
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p.x, 0) / n;
  const my = pts.reduce((a, p) => a + p.y, 0) / n;
  const sxy = pts.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = pts.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxx === 0 ? null : sxy / sxx;
}

function p99(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
}

export async function run({ quick }) {
  const minutes = Number(process.env.BENCH_SOAK_MINUTES ?? (quick ? 1 : 30));
  const durationMs = minutes * 60_000;
  const server = await startServer({ env: { HOLDFAST_METRICS_TOKEN: METRICS_TOKEN } });
  try {
    const owner = await bootstrapOwner(server, { password: PASSWORD });
    const logins = [owner.login];
    for (let i = 1; i < USERS; i++) {
      const email = `soak${i}@${owner.account}.test`;
      const created = await runCli([
        'user',
        'create',
        '--account',
        owner.account,
        '--email',
        email,
        '--db',
        server.db,
        '--data-dir',
        server.dataDir,
        '--json',
      ]);
      const res = await requestJSON(`${server.url}/v1/setup`, {
        token: created.setupToken,
        password: PASSWORD,
      });
      if (res.status !== 200) throw new Error(`POST /v1/setup answered ${res.status}: ${res.text}`);
      logins.push(email);
    }
    let turn = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const call = (method, path, body, token) =>
      new Promise((resolve) => {
        const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const started = performance.now();
        const req = http.request(
          `${server.url}${path}`,
          {
            method,
            agent,
            headers: {
              ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
              ...(token ? { authorization: `Bearer ${token}` } : {}),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode, text, ms: performance.now() - started }));
          },
        );
        req.on('error', () => resolve({ status: 0, text: '', ms: performance.now() - started }));
        req.end(payload);
      });

    let latencies = [];
    let requests = 0;
    let errors = 0;
    const statusCounts = {};
    const record = (res, ok) => {
      requests++;
      latencies.push(res.ms);
      if (!ok) {
        errors++;
        statusCounts[res.status] = (statusCounts[res.status] ?? 0) + 1;
      }
    };
    // One session's life: sign in, two reads, sign out. Sessions therefore never pile up.
    const session = async () => {
      const signIn = await call('POST', '/v1/sign-in', {
        account: owner.account,
        login: logins[turn++ % logins.length],
        password: PASSWORD,
      });
      record(signIn, signIn.status === 200);
      if (signIn.status !== 200) return;
      const token = JSON.parse(signIn.text).token;
      for (const path of ['/v1/factors', '/v1/sessions']) {
        const res = await call('GET', path, undefined, token);
        record(res, res.status === 200);
      }
      const out = await call('POST', '/v1/sign-out', undefined, token);
      record(out, out.status === 200 || out.status === 204);
    };

    const samples = [];
    const t0 = performance.now();
    let stop = false;
    const inFlight = new Set();
    let skipped = 0;
    // Open loop: a new session every 4/RATE seconds (each makes 4 requests), however slow they are.
    const launcher = (async () => {
      const every = (4 * 1000) / RATE;
      let next = performance.now();
      while (!stop) {
        if (inFlight.size >= MAX_IN_FLIGHT) {
          skipped++;
        } else {
          const p = session().finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        next += every;
        await sleep(Math.max(0, next - performance.now()));
      }
    })();
    while (performance.now() - t0 < durationMs) {
      await sleep(SAMPLE_MS);
      const window = latencies;
      latencies = [];
      const sample = {
        minute: (performance.now() - t0) / 60_000,
        rssMB: readRssMB(server.pid),
        fds: openFds(server.pid),
        eventLoopP99Ms: await eventLoopP99Ms(server.url).catch(() => null),
        latencyP99Ms: p99(window),
        requests: window.length,
      };
      samples.push(sample);
      log(
        `soak ${sample.minute.toFixed(1)} min: rss ${sample.rssMB?.toFixed(1)} MB, fds ${sample.fds}, ` +
          `loop p99 ${sample.eventLoopP99Ms?.toFixed(1)} ms, latency p99 ${sample.latencyP99Ms?.toFixed(1)} ms, ${sample.requests} req`,
      );
    }
    stop = true;
    await launcher;
    await Promise.all(inFlight);
    agent.destroy();

    const steady = samples.filter((s) => s.minute > 1);
    const use = steady.length >= 2 ? steady : samples;
    const series = (key) => use.map((s) => ({ x: s.minute, y: s[key] }));
    const rssSlope = slope(series('rssMB'));
    const fdSlope = slope(series('fds'));
    const loopSlope = slope(series('eventLoopP99Ms'));
    const latencySlope = slope(series('latencyP99Ms'));
    const last = samples[samples.length - 1] ?? {};
    return {
      figures: [
        figure({ id: 'soak-minutes', label: 'duration', value: minutes, unit: 'min', digits: 1 }),
        figure({ id: 'soak-requests', label: 'requests', value: requests, unit: '', digits: 0 }),
        figure({
          id: 'soak-skipped',
          label: 'sessions skipped (server behind)',
          value: skipped,
          unit: '',
          digits: 0,
        }),
        figure({
          id: 'soak-errors',
          label: 'errors',
          value: errors,
          unit: '',
          target: { op: '<=', value: 0 },
          digits: 0,
        }),
        figure({
          id: 'soak-rss-slope',
          label: 'RSS slope',
          value: rssSlope,
          unit: 'MB/min',
          target: { op: '<', value: 0.5 },
          digits: 3,
        }),
        figure({
          id: 'soak-rss-last',
          label: 'RSS at end',
          value: last.rssMB ?? null,
          unit: 'MB',
          target: { op: '<', value: 150 },
        }),
        figure({
          id: 'soak-fd-slope',
          label: 'open fds slope',
          value: fdSlope,
          unit: 'fds/min',
          target: { op: '<', value: 0.1 },
          digits: 3,
        }),
        figure({
          id: 'soak-loop-slope',
          label: 'event-loop p99 slope',
          value: loopSlope,
          unit: 'ms/min',
          target: { op: '<', value: 0.5 },
          digits: 3,
        }),
        figure({
          id: 'soak-latency-slope',
          label: 'latency p99 slope',
          value: latencySlope,
          unit: 'ms/min',
          target: { op: '<', value: 2 },
          digits: 3,
        }),
      ],
      details: {
        rate: RATE,
        sampleMs: SAMPLE_MS,
        maxInFlight: MAX_IN_FLIGHT,
        skipped,
        statusCounts,
        samples,
      },
    };
  } finally {
    await server.stop();
  }
}
