import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { flushRefusalSummaries } from './app/deps.js';
import {
  checkpointAudit,
  startBackgroundJobs as startAllBackgroundJobs,
  type BackgroundJobs,
} from './background.js';
import type { Config } from './config/config.js';
import { consoleBaseUrl, redirectsLoopbackToLocalhost } from './config/console-url.js';
import { buildServer } from './http/server.js';
import { openInstallation, type Installation } from './installation.js';

/** A running server. */
export interface RunningServer {
  server: FastifyInstance;
  installation: Installation;
  url: string;
  /** Where people open the console (and setup links point): the public URL, else `http://localhost:PORT` on loopback. */
  consoleUrl: string;
  /** Stops accepting connections, finishes in-flight requests, then closes the database. */
  stop(): Promise<void>;
}

/** Messages of `serve --workers N` (src/cli/serve.ts, which the root must not import). */
const WORKER_READY = 'holdfast:worker-ready';
const METRICS_REQUEST = 'holdfast:metrics-request';
const METRICS_REPLY = 'holdfast:metrics-reply';
const WORKER_SLOT_ENV = 'HOLDFAST_WORKER_SLOT';

let metricsRequests = 0;
/** Asks the primary for the metrics of every worker added up. */
function metricsOfAllWorkers(): Promise<string> {
  const id = ++metricsRequests;
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type?: string; id?: number; text?: string; error?: string }) => {
      if (message?.type !== METRICS_REPLY || message.id !== id) return;
      process.off('message', onMessage);
      clearTimeout(timer);
      if (typeof message.text === 'string') resolve(message.text);
      else reject(new Error(`metrics not collected: ${message.error ?? 'no answer'}`));
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('metrics not collected: the primary did not answer'));
    }, 10_000);
    process.on('message', onMessage);
    process.send?.({ type: METRICS_REQUEST, id });
  });
}

/**
 * Of several workers, only the first runs the background jobs (they are safe to run twice, but
 * need not be); a replacement for it takes them over.
 */
function startBackgroundJobs(options: Parameters<typeof startAllBackgroundJobs>[0]): BackgroundJobs {
  const runsJobs = !cluster.isWorker || process.env[WORKER_SLOT_ENV] === '0';
  return runsJobs ? startAllBackgroundJobs(options) : { stop: async () => undefined };
}

/** Wires config -> storage -> app -> http and listens. */
export async function startServer(config: Config): Promise<RunningServer> {
  const installation = await openInstallation(config);
  const tls = config.tlsCert !== null && config.tlsKey !== null;
  const scheme = tls ? 'https' : 'http';
  let server: FastifyInstance;
  try {
    server = await buildServer({
      app: installation.app,
      trustedProxies: config.trustedProxies,
      publicUrl: consoleBaseUrl(config),
      redirectLoopbackPages: redirectsLoopbackToLocalhost(config),
      logger: {
        level: config.logLevel,
        redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      },
      https: tls ? { cert: readFileSync(config.tlsCert!), key: readFileSync(config.tlsKey!) } : null,
      metricsToken: config.metricsToken,
      clusterMetrics: cluster.isWorker ? metricsOfAllWorkers : undefined,
      timeouts: config.timeouts,
    });
    await server.listen({ host: config.host, port: config.port });
  } catch (err) {
    await installation.close();
    throw err;
  }
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const consoleUrl = consoleBaseUrl(config, port);
  if (config.port === 0 && redirectsLoopbackToLocalhost(config)) {
    // An ephemeral port is known only now: the default WebAuthn origin follows it.
    installation.app.deps.settings.webauthn = { ...config.webauthn, origins: [consoleUrl] };
  }
  const jobs = startBackgroundJobs({
    app: installation.app,
    config: config.delivery,
    publicUrl: consoleUrl,
    log: server.log,
  });
  if (cluster.isWorker) {
    process.send?.({ type: WORKER_READY, url: `${scheme}://${config.host}:${port}` });
    // The primary is gone (killed): stop like on SIGTERM rather than serve unsupervised.
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  return {
    server,
    installation,
    url: `${scheme}://${config.host}:${port}`,
    consoleUrl,
    async stop() {
      await jobs.stop();
      await server.close();
      // Refusals still being counted get their summary record before the final checkpoint.
      await flushRefusalSummaries(installation.app.deps, { all: true }).catch((err: unknown) =>
        server.log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'refusal summaries not written',
        ),
      );
      // Every request has finished: sign the final head before the database closes.
      await checkpointAudit(installation.app, server.log).catch((err: unknown) =>
        server.log.error(
          { job: 'audit-checkpoint', err: err instanceof Error ? err.message : String(err) },
          'final audit checkpoint not written',
        ),
      );
      await installation.close();
    },
  };
}
