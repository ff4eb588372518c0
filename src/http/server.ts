import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ACTIONS } from '../app/actions.js';
import type { App } from '../app/create-app.js';
import { registerAuthRoutes } from './api/auth-routes.js';
import { registerChallengeRoutes } from './api/challenge-routes.js';
import { registerFactorRoutes } from './api/factor-routes.js';
import { registerHardwareTokenRoutes } from './api/hardware-token-routes.js';
import { registerAccountSettingsRoutes } from './api/account-settings-routes.js';
import { registerOutboxRoutes } from './api/outbox-routes.js';
import { registerPolicyRoutes } from './api/policy-routes.js';
import { registerPolicyVersionRoutes } from './api/policy-version-routes.js';
import { registerRecoveryRoutes } from './api/recovery-routes.js';
import { registerUserRoutes, type SetupLinkBuilder } from './api/user-routes.js';
import { registerUserAdminRoutes } from './api/user-admin-routes.js';
import { registerAwsQueryApi } from './aws/router.js';
import { registerOidc } from './oidc/plugin.js';
import { registerWebAuthnRoutes } from './api/webauthn-routes.js';
import { loopbackPageRedirect, registerConsole } from './console.js';
import { renderDocsPage } from './docs-page.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerMetrics } from './plugins/metrics.js';
import { authenticateRequest } from './plugins/session-auth.js';
import { lazySerializerFactory, validatorCompiler } from './validation.js';
import './types.js';

/** Largest accepted request body (64 KiB). */
export const BODY_LIMIT = 64 * 1024;

/** What the HTTP face needs. */
export interface ServerOptions {
  app: App;
  /** Peers whose X-Forwarded-For is trusted (IPs/CIDRs); empty: use the socket address. */
  trustedProxies: string[];
  /** Base URL for links the server prints (setup links). */
  publicUrl: string;
  /** Send page loads at a loopback IP address to `localhost` (no public URL configured); default off. */
  redirectLoopbackPages?: boolean;
  logger?: FastifyServerOptions['logger'];
  https?: { cert: Buffer; key: Buffer } | null;
  /** Bearer token that /metrics requires; null (default): /metrics answers 404. */
  metricsToken?: string | null;
  /** In a worker of `serve --workers N`: the metrics of all workers, added up by the primary. */
  clusterMetrics?: () => Promise<string>;
  /** Connection limits; DEFAULT_TIMEOUTS when absent. */
  timeouts?: Partial<ServerTimeouts>;
}

/**
 * How long a client may take (OWASP Denial of Service Cheat Sheet: bound every wait a client
 * controls). A connection that sends its headers or body too slowly is answered 408 and closed;
 * an idle one is closed.
 */
export interface ServerTimeouts {
  /** Whole request, headers and body (Node's `requestTimeout`). */
  requestMs: number;
  /** Request headers (Node's `headersTimeout`; at most `requestMs`). */
  headersMs: number;
  /** A connection with no traffic at all is closed after this (socket timeout). */
  idleMs: number;
  /** An idle keep-alive connection between requests is closed after this. */
  keepAliveMs: number;
}

/** Default connection limits. */
export const DEFAULT_TIMEOUTS: ServerTimeouts = {
  requestMs: 30_000,
  headersMs: 10_000,
  idleMs: 60_000,
  keepAliveMs: 10_000,
};

/** The Node server with the connection limits set (Fastify sets none by default). */
function serverFactory(timeouts: ServerTimeouts, https: ServerOptions['https']) {
  return (handler: RequestListener): Server => {
    const common = {
      requestTimeout: timeouts.requestMs,
      headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
      keepAliveTimeout: timeouts.keepAliveMs,
      // How often Node looks for requests past their time (its default, 30 s, would let a
      // slow client hold a connection that long past a shorter limit).
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(timeouts.requestMs / 4))),
    };
    const server = https
      ? createHttpsServer({ ...common, cert: https.cert, key: https.key }, handler)
      : createHttpServer(common, handler);
    server.setTimeout(timeouts.idleMs);
    return server as Server;
  };
}

/** Every registered route with its method, URL and declared action (for the action-coverage test). */
export interface RouteRecord {
  method: string;
  url: string;
  action: string | undefined;
  auth: string | undefined;
}

/** Builds the Fastify server without listening (tests use `inject`). */
export async function buildServer(
  options: ServerOptions,
): Promise<FastifyInstance & { holdfastRoutes: RouteRecord[] }> {
  const server = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    trustProxy: options.trustedProxies.length > 0 ? options.trustedProxies : false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    // One log line per request (on response) instead of two.
    logController: new LogController({ disableRequestLogging: true }),
    schemaController: { compilersFactory: { buildSerializer: lazySerializerFactory() } },
    serverFactory: serverFactory({ ...DEFAULT_TIMEOUTS, ...(options.timeouts ?? {}) }, options.https),
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;

  server.setValidatorCompiler(validatorCompiler);
  // The JSON API takes JSON only; the AWS-compatible face registers form bodies itself.
  server.removeContentTypeParser('text/plain');
  const routes: RouteRecord[] = [];
  server.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, action: route.config?.action, auth: route.config?.auth });
    }
  });
  server.decorateRequest('caller', null);

  registerErrorHandling(server);
  await server.register(cookie);
  await server.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    strictTransportSecurity: options.https ? { maxAge: 31536000 } : false,
  });
  await server.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Holdfast API', version: '1' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'holdfast_session' },
        },
      },
    },
  });

  if (options.redirectLoopbackPages === true) {
    server.addHook('onRequest', async (request, reply) => loopbackPageRedirect(request, reply));
  }

  // One enforcement point: every /v1 route declares its action and whether it needs a session.
  server.addHook('preHandler', async (request) => {
    const config = request.routeOptions.config;
    if (config.auth === 'session')
      request.caller = (await authenticateRequest(options.app, request)) as typeof request.caller;
  });

  server.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: request.routeOptions.url ?? request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  registerMetrics(server, {
    token: options.metricsToken ?? null,
    clusterMetrics: options.clusterMetrics,
    app: options.app,
  });
  server.get(
    '/healthz',
    { config: { action: ACTIONS.Public, auth: 'none' }, schema: { hide: true } },
    async () => ({
      status: 'ok',
    }),
  );
  server.get(
    '/readyz',
    { config: { action: ACTIONS.Public, auth: 'none' }, schema: { hide: true } },
    async (request, reply) => {
      try {
        await options.app.checkReadiness();
        return { status: 'ready' };
      } catch (err) {
        // Why goes to the log (database gone, migrations pending), not to whoever probes.
        request.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'not ready');
        return reply.status(503).send({ status: 'unavailable' });
      }
    },
  );

  const setupLink: SetupLinkBuilder = (token) => {
    // A base given with port 0 (listen on any free port) names the port actually bound.
    const address = server.server.address();
    const base = options.publicUrl.replace(/\/$/, '');
    const bound = typeof address === 'object' && address !== null ? address.port : 0;
    return `${bound !== 0 ? base.replace(/:0$/, `:${bound}`) : base}/setup#token=${token}`;
  };
  registerAuthRoutes(server, options.app);
  registerUserRoutes(server, options.app, setupLink);
  registerUserAdminRoutes(server, options.app);
  registerFactorRoutes(server, options.app);
  registerChallengeRoutes(server, options.app);
  registerHardwareTokenRoutes(server, options.app);
  registerWebAuthnRoutes(server, options.app);
  registerPolicyRoutes(server, options.app);
  await registerRecoveryRoutes(server, options.app);
  registerOutboxRoutes(server, options.app);
  registerAccountSettingsRoutes(server, options.app);
  registerPolicyVersionRoutes(server, options.app);
  await registerAwsQueryApi(server, options.app);
  await registerOidc(server, {
    app: options.app,
    publicUrl: options.publicUrl,
    trustedProxies: options.trustedProxies,
  });

  server.get(
    '/v1/openapi.json',
    { config: { action: ACTIONS.Public, auth: 'none' }, schema: { hide: true } },
    async () => server.swagger(),
  );
  server.get(
    '/docs',
    { config: { action: ACTIONS.Public, auth: 'none' }, schema: { hide: true } },
    async (_r, reply) =>
      reply.type('text/html; charset=utf-8').send(renderDocsPage(server.swagger() as never)),
  );

  await server.register(registerConsole);

  await server.ready();
  return Object.assign(server, { holdfastRoutes: routes });
}
