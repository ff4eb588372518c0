import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { flushRefusalSummaries } from './app/deps.js';
import { checkpointAudit, startBackgroundJobs } from './background.js';
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
