import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import { constantTimeEqual, sha256Hex } from '../../core/crypto/hashing.js';
import { HoldfastError } from '../../core/errors.js';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics at /metrics: request counts and latencies by route, plus process metrics.
 * They describe the installation's traffic, so they are not public: without a token the route
 * answers as if it did not exist (404); with one, a scrape must present it as a bearer token
 * (compared in constant time), else 401.
 *
 * In a worker of `holdfast serve --workers N`, `clusterMetrics` asks the primary process, which
 * collects every worker's registry and adds them up (prom-client's cluster aggregation): a scrape
 * that lands on any worker sees the whole server.
 */
export function registerMetrics(
  server: FastifyInstance,
  options: { token: string | null; clusterMetrics?: () => Promise<string> },
): Registry {
  const expected = options.token === null ? null : sha256Hex(options.token);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Each server process counts itself: added up over the workers, it says how many answered.
  new Gauge({
    name: 'holdfast_server_processes',
    help: 'Server processes whose metrics this scrape adds up',
    registers: [registry],
  }).set(1);
  const clusterMetrics = options.clusterMetrics;
  if (clusterMetrics !== undefined) {
    // Answers the primary's collection requests with this worker's registry.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
  }
  const requests = new Counter({
    name: 'holdfast_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'holdfast_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  server.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  server.get(
    '/metrics',
    { config: { action: ACTIONS.Public, auth: 'none' }, schema: { hide: true } },
    async (request, reply) => {
      if (expected === null) throw new HoldfastError('REQUEST_ROUTE_NOT_FOUND');
      const header = request.headers.authorization ?? '';
      const presented = /^Bearer (.+)$/i.exec(header)?.[1] ?? '';
      if (!constantTimeEqual(sha256Hex(presented), expected)) {
        void reply.header('www-authenticate', 'Bearer realm="holdfast-metrics"');
        throw new HoldfastError('METRICS_TOKEN_INVALID');
      }
      const text = clusterMetrics !== undefined ? await clusterMetrics() : await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
  return registry;
}
