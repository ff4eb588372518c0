// Outbox delivery over SMTP: how fast a real `holdfast serve` empties its transactional outbox into
// a local SMTP server, and how long a committed message waits before that server has it.
//
// The SMTP server (smtp-server) runs in the bench process on 127.0.0.1, without TLS or AUTH (the
// loopback relay case, HOLDFAST_SMTP_TLS=none). The server under test is started with
// HOLDFAST_SMTP_* pointing at it and every other setting at its default. Messages are written by
// the bench through the outbox repository of the built installation (dist/), one transaction per
// message, on the server's own SQLite database (WAL: both processes write it), exactly as a use case
// writes them next to its change; the bench notes when each transaction committed. A message is
// delivered when the SMTP server has accepted its DATA; the Message-ID (`<outbox id@holdfast>`)
// ties it back to its commit.
//
// Per round: (1) a backlog of N messages committed at once, drained by the worker: messages/s from
// the first to the last arrival; (2) a steady stream at a fixed rate: the delay from commit to
// arrival (p50/p99). Between rounds, the baseline: a plain nodemailer client in the bench process
// sends to the same SMTP server, configured as the server's sender, one message after another.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  figure,
  makeTempDir,
  median,
  newMasterKey,
  openInstallationAt,
  readCpuMs,
  sampleRss,
  startServer,
  watchCpu,
} from '../lib.mjs';

export const name = 'outbox-delivery';
export const description =
  'outbox worker of `holdfast serve` to a loopback SMTP server: messages/s and commit-to-delivery delay (p50/p99), vs raw nodemailer';

const RECIPIENT = 'bench@outbox.test';
const MESSAGE_ID = /^message-id:\s*<([^@>\s]+)@holdfast>/im;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile of an unsorted list. */
function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A loopback SMTP server that notes when each message arrived, by its Message-ID. */
async function startSmtpSink() {
  const { SMTPServer } = await import('smtp-server');
  const arrivals = new Map(); // id -> performance.now() of the first arrival
  let duplicates = 0;
  let accepted = 0;
  let waiter = null;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // No reverse DNS of the (loopback) client: a sink that measures, not a relay that filters.
    disableReverseLookup: true,
    maxClients: 1000,
    onData(stream, _session, callback) {
      let head = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        if (head.length < 8192) head += chunk;
      });
      stream.on('end', () => {
        const at = performance.now();
        accepted++;
        const id = MESSAGE_ID.exec(head.split(/\r?\n\r?\n/, 1)[0] ?? '')?.[1] ?? null;
        if (id !== null) {
          if (arrivals.has(id)) duplicates++;
          else arrivals.set(id, at);
        }
        if (waiter !== null && waiter.check()) {
          const { resolve } = waiter;
          waiter = null;
          resolve();
        }
        callback();
      });
    },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.server.address().port,
    arrivals,
    stats: () => ({ accepted, duplicates }),
    /** Resolves once every id has arrived, or rejects after `timeoutMs`. */
    waitFor(ids, timeoutMs) {
      const check = () => ids.every((id) => arrivals.has(id));
      if (check()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          const missing = ids.filter((id) => !arrivals.has(id)).length;
          reject(new Error(`${missing} of ${ids.length} messages not delivered after ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = {
          check,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The raw acceptance rate of the sink for a plain nodemailer client configured as the server's sender (one pooled connection, one message at a time). */
async function rawNodemailer({ port, durationMs }) {
  const { default: nodemailer } = await import('nodemailer');
  // As src/platform/smtp.ts configures it for HOLDFAST_SMTP_TLS=none.
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: 1,
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: false,
    ignoreTLS: true,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  const latencies = [];
  let n = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    await transport.sendMail({
      from: 'Holdfast <holdfast@localhost>',
      to: RECIPIENT,
      subject: 'A second factor was added to your account',
      text: 'A second factor ("bench") was added to your account. If this was not you, contact your administrator now.',
      messageId: `<raw_${n++}_${randomBytes(6).toString('hex')}@bench>`,
    });
    const t1 = performance.now();
    if (t1 <= deadline) latencies.push(t1 - t0);
  }
  transport.close();
  return {
    perSecond: (latencies.length * 1000) / durationMs,
    count: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** Writes one message to the outbox in its own transaction, as a use case does; resolves with its id. */
async function commitMessage(inst, seq) {
  const id = `msg_bench${seq}_${randomBytes(8).toString('hex')}`;
  await inst.store.transaction((tx) =>
    tx.outbox.insert({
      id,
      accountId: null,
      principalId: null,
      channel: 'email',
      template: 'factor.added',
      payload: { factorName: `bench key ${seq}` },
      createdAt: Date.now(),
      recipient: RECIPIENT,
    }),
  );
  return id;
}

export async function run({ quick, log }) {
  const rounds = quick ? 1 : 3;
  const backlogSize = quick ? 300 : 2000;
  const streamRate = 200; // messages/s offered during the delay measurement (the rate target)
  const streamMs = quick ? 3_000 : 10_000;
  const rawMs = quick ? 2_000 : 5_000;

  const sink = await startSmtpSink();
  const dataDir = makeTempDir();
  const masterKey = newMasterKey();
  const db = `sqlite:${dataDir}/holdfast.db`;
  const inst = await openInstallationAt({ db, dataDir, masterKey });
  let server;
  try {
    server = await startServer({
      dataDir,
      env: {
        HOLDFAST_MASTER_KEY: masterKey,
        HOLDFAST_SMTP_HOST: '127.0.0.1',
        HOLDFAST_SMTP_PORT: String(sink.port),
        HOLDFAST_SMTP_TLS: 'none',
      },
    });
    log(`server on ${server.url} (pid ${server.pid}), SMTP sink on 127.0.0.1:${sink.port}`);
    const rss = sampleRss(server.pid, 100);

    // Warm-up: nodemailer loads with the first message, the first connection is made.
    const warm = [];
    for (let i = 0; i < 20; i++) warm.push(await commitMessage(inst, `w${i}`));
    await sink.waitFor(warm, 30_000);

    let seq = 0;
    const drains = [];
    const streams = [];
    const raws = [];
    for (let round = 1; round <= rounds; round++) {
      // (1) Backlog drain.
      const cpu = watchCpu([server.pid]);
      const cpu0 = readCpuMs(server.pid).totalMs;
      const t0 = performance.now();
      const ids = [];
      for (let i = 0; i < backlogSize; i++) ids.push(await commitMessage(inst, seq++));
      const committedMs = performance.now() - t0;
      await sink.waitFor(ids, 120_000 + backlogSize * 50);
      const times = ids.map((id) => sink.arrivals.get(id));
      const first = Math.min(...times);
      const last = Math.max(...times);
      const cpuUse = cpu.stop();
      const serverCpuMs = (readCpuMs(server.pid).totalMs ?? 0) - (cpu0 ?? 0);
      const drain = {
        messages: backlogSize,
        commitMs: committedMs,
        firstToLastMs: last - first,
        perSecond: ((backlogSize - 1) * 1000) / Math.max(1, last - first),
        lastAfterCommitStartMs: last - t0,
        serverCpuMsPerMessage: serverCpuMs / backlogSize,
        serverCores: cpuUse.serverCores[0],
        foreignCores: cpuUse.foreignCores,
      };
      drains.push(drain);
      log(
        `round ${round}: backlog of ${backlogSize} drained at ${drain.perSecond.toFixed(0)} messages/s ` +
          `(committed in ${committedMs.toFixed(0)} ms)`,
      );

      // (2) Steady stream: commit-to-delivery delay.
      await sleep(500);
      const streamCpu = watchCpu([server.pid]);
      const committed = []; // [id, commit time]
      const s0 = performance.now();
      let offered = 0;
      let lag = 0;
      while (performance.now() - s0 < streamMs) {
        const due = Math.floor(((performance.now() - s0) * streamRate) / 1000);
        if (offered >= due) {
          await sleep(1);
          continue;
        }
        lag = Math.max(lag, due - offered);
        const id = await commitMessage(inst, seq++);
        committed.push([id, performance.now()]);
        offered++;
      }
      const offeredMs = performance.now() - s0;
      await sink.waitFor(
        committed.map(([id]) => id),
        120_000,
      );
      const streamUse = streamCpu.stop();
      const delays = committed.map(([id, at]) => sink.arrivals.get(id) - at);
      const stream = {
        offered,
        offeredPerSecond: (offered * 1000) / offeredMs,
        maxCommitBacklog: lag,
        p50Ms: percentile(delays, 50),
        p99Ms: percentile(delays, 99),
        maxMs: Math.max(...delays),
        serverCores: streamUse.serverCores[0],
        foreignCores: streamUse.foreignCores,
      };
      streams.push(stream);
      log(
        `round ${round}: stream of ${offered} at ${stream.offeredPerSecond.toFixed(0)}/s: delay p50 ` +
          `${stream.p50Ms.toFixed(0)} ms, p99 ${stream.p99Ms.toFixed(0)} ms, max ${stream.maxMs.toFixed(0)} ms`,
      );

      // (3) Baseline: the sink's raw acceptance rate for a plain nodemailer client (server idle).
      await sleep(300);
      const rawCpu = watchCpu([server.pid]);
      const raw = await rawNodemailer({ port: sink.port, durationMs: rawMs });
      raws.push({ ...raw, foreignCores: rawCpu.stop().foreignCores });
      log(`round ${round}: raw nodemailer ${raw.perSecond.toFixed(0)} messages/s`);
    }
    const rssUse = rss.stop();
    const { accepted, duplicates } = sink.stats();
    const pending = (await inst.store.outbox.list({ pendingOnly: true, limit: 10 })).length;

    const drainRate = median(drains.map((d) => d.perSecond));
    const rawRate = median(raws.map((r) => r.perSecond));
    const p50 = median(streams.map((s) => s.p50Ms));
    const p99 = median(streams.map((s) => s.p99Ms));
    const figures = [
      figure({
        id: 'delivery_rate',
        label: `delivery rate, backlog of ${backlogSize} (median of ${rounds})`,
        value: drainRate,
        unit: 'msg/s',
        target: { op: '>=', value: 200 },
        digits: 0,
      }),
      figure({
        id: 'raw_rate',
        label: 'raw nodemailer → same SMTP server, one at a time',
        value: rawRate,
        unit: 'msg/s',
        digits: 0,
      }),
      figure({
        id: 'delivery_vs_raw',
        label: 'delivery rate ÷ raw nodemailer rate',
        value: drainRate / rawRate,
        digits: 2,
      }),
      figure({
        id: 'delay_p50',
        label: `commit→delivery delay p50 at ${streamRate}/s`,
        value: p50,
        unit: 'ms',
        digits: 0,
      }),
      figure({
        id: 'delay_p99',
        label: `commit→delivery delay p99 at ${streamRate}/s`,
        value: p99,
        unit: 'ms',
        target: { op: '<', value: 1000 },
        digits: 0,
      }),
      figure({
        id: 'duplicates_pending',
        label: 'duplicate deliveries + messages left pending',
        value: duplicates + pending,
        target: { op: '<=', value: 0 },
        digits: 0,
      }),
      figure({
        id: 'server_cpu_per_message',
        label: 'server CPU per delivered message (backlog)',
        value: median(drains.map((d) => d.serverCpuMsPerMessage)),
        unit: 'ms',
        digits: 2,
      }),
      figure({
        id: 'foreign_cores',
        label: "other processes' load (max over rounds)",
        value: Math.max(...[...drains, ...streams].map((x) => x.foreignCores ?? 0)),
        unit: 'cores',
        digits: 2,
      }),
      figure({
        id: 'rss_peak',
        label: 'server RSS peak',
        value: rssUse.peakMB,
        unit: 'MB',
        target: { op: '<', value: 150 },
        digits: 0,
      }),
    ];
    return {
      figures,
      details: {
        settings: { rounds, backlogSize, streamRate, streamMs, rawMs, smtpTls: 'none' },
        drains,
        streams,
        raws,
        smtp: { accepted, duplicates },
        pendingAfter: pending,
        rss: rssUse,
      },
    };
  } finally {
    await server?.stop();
    await inst.close();
    await sink.close();
  }
}
