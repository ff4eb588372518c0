import type { FastifyInstance } from 'fastify';
import { ACTIONS } from '../../app/actions.js';
import type { App } from '../../app/create-app.js';
import { SECURITY_EVENT_LABELS, type CountedSecurityEvent } from '../../core/audit/security-events.js';
import { constantTimeEqual, sha256Hex } from '../../core/crypto/hashing.js';
import { HoldfastError } from '../../core/errors.js';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from the app: its committed security events, the outbox, readiness. */
export type WatchedApp = Pick<App, 'securityEvents' | 'outboxBacklog' | 'checkReadiness'>;

/**
 * Prometheus metrics at /metrics: request counts and latencies by route, process metrics, the
 * security events of committed commands (core/audit/security-events.ts says which records count
 * as which: they are counted once the record has committed, never by a route), and, read from
 * the database at scrape time, the outbox backlog and readiness. docs/operations.md lists them.
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
  options: { token: string | null; clusterMetrics?: () => Promise<string>; app?: WatchedApp },
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
  if (options.app !== undefined) registerAppMetrics(server, registry, options.app);
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

/** The counters of the security-event families, fed by the app's committed events. */
function registerAppMetrics(server: FastifyInstance, registry: Registry, app: WatchedApp): void {
  const registers = [registry];
  const signIns = new Counter({
    name: 'holdfast_sign_ins_total',
    help: 'Sign-in attempts by outcome (success, wrong_password, unknown_login, wrong_factor, throttled, ...)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const mfaFailures = new Counter({
    name: 'holdfast_mfa_failures_total',
    help: 'Second-factor failures by purpose (sign_in, step_up, passkey_sign_in) and factor kind',
    labelNames: ['purpose', 'factor_kind'] as const,
    registers,
  });
  const suspensions = new Counter({
    name: 'holdfast_mfa_suspensions_total',
    help: 'Principals whose second factor was suspended after repeated failures',
    registers,
  });
  const suspensionLifts = new Counter({
    name: 'holdfast_mfa_suspension_lifts_total',
    help: 'Second-factor suspensions lifted, by reason',
    labelNames: ['reason'] as const,
    registers,
  });
  const resets = new Counter({
    name: 'holdfast_resets_total',
    help: 'Help-desk MFA reset steps (requested, approved, completed, cancelled, ...) by outcome',
    labelNames: ['stage', 'outcome'] as const,
    registers,
  });
  const recoveries = new Counter({
    name: 'holdfast_recoveries_total',
    help: 'Recovery steps by kind (second_factor, recovery_code, password), stage and outcome',
    labelNames: ['kind', 'stage', 'outcome'] as const,
    registers,
  });
  const guardrailRefusals = new Counter({
    name: 'holdfast_guardrail_refusals_total',
    help: 'Requests refused by a guardrail (G1-G7), by guardrail and error code',
    labelNames: ['guardrail', 'code'] as const,
    registers,
  });
  const alerts = new Counter({
    name: 'holdfast_alerts_raised_total',
    help: 'Alerts raised by the detection rules, by rule and severity',
    labelNames: ['rule', 'severity'] as const,
    registers,
  });
  // Every outcome is a series from the start, so a rate over it exists before the first failure.
  for (const outcome of SECURITY_EVENT_LABELS.signInOutcomes) signIns.inc({ outcome }, 0);
  const count = ({ event, count: n }: CountedSecurityEvent) => {
    switch (event.family) {
      case 'sign_in':
        return signIns.inc({ outcome: event.outcome }, n);
      case 'mfa_failure':
        return mfaFailures.inc({ purpose: event.purpose, factor_kind: event.factorKind }, n);
      case 'mfa_suspension':
        return suspensions.inc(n);
      case 'mfa_suspension_lift':
        return suspensionLifts.inc({ reason: event.reason }, n);
      case 'reset':
        return resets.inc({ stage: event.stage, outcome: event.outcome }, n);
      case 'recovery':
        return recoveries.inc({ kind: event.kind, stage: event.stage, outcome: event.outcome }, n);
      case 'guardrail_refusal':
        return guardrailRefusals.inc({ guardrail: event.guardrail, code: event.code }, n);
      case 'alert':
        return alerts.inc({ rule: event.rule, severity: event.severity }, n);
    }
  };
  const unsubscribe = app.securityEvents.subscribe((events) => events.forEach(count));
  server.addHook('onClose', async () => {
    unsubscribe();
  });

  // Read from the database at scrape time, once per scrape whatever number of gauges ask. Each
  // worker of `serve --workers N` reads the same database: the primary takes the highest (or,
  // for readiness, the lowest) value instead of adding them up.
  const backlog = once(async () => {
    try {
      return await app.outboxBacklog();
    } catch {
      return null; // the database is not answering: holdfast_ready says so
    }
  });
  const channels = ['email', 'sms', 'webhook'] as const;
  const outboxGauge = (
    name: string,
    help: string,
    value: (b: Awaited<ReturnType<WatchedApp['outboxBacklog']>>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['channel'] as const,
      aggregator: 'max',
      registers,
      async collect() {
        const rows = await backlog();
        this.reset();
        if (rows === null) return;
        for (const channel of channels) {
          const row = rows.find((r) => r.channel === channel);
          this.set({ channel }, row === undefined ? 0 : value(row));
        }
      },
    });
  outboxGauge(
    'holdfast_outbox_pending_messages',
    'Outbox messages waiting for delivery, by channel',
    (b) => b.pending,
  );
  outboxGauge(
    'holdfast_outbox_oldest_pending_age_seconds',
    'Age of the oldest outbox message waiting for delivery, by channel (0 when none waits)',
    (b) => b.oldestPendingAgeSeconds,
  );
  outboxGauge(
    'holdfast_outbox_failed_messages',
    'Outbox messages whose delivery was given up after every attempt, by channel',
    (b) => b.failed,
  );
  new Gauge({
    name: 'holdfast_ready',
    help: '1 when the database answers and its schema is up to date (as /readyz), else 0',
    aggregator: 'min',
    registers,
    async collect() {
      const ready = await app.checkReadiness().then(
        () => true,
        () => false,
      );
      this.set(ready ? 1 : 0);
    },
  });
}

/** `read`, run at most once at a time: callers arriving while it runs share its answer. */
function once<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () => {
    if (running === null) {
      running = read().finally(() => {
        running = null;
      });
    }
    return running;
  };
}
