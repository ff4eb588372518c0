/**
 * The monitoring files in docs/ops/ name only metrics a server really exposes: the Prometheus
 * alerting rules (docs/ops/holdfast-alerts.rules.yml) and the Grafana dashboard
 * (docs/ops/grafana-dashboard.json) are parsed, every metric name in their PromQL is read out,
 * and each must be in what /metrics answers after some traffic. A renamed metric, or a typo in a
 * rule, fails here instead of in an operator's silent alert.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildServer } from '../../src/http/server.js';
import {
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { fetchHttp, mfaApi, PASSWORD, uniqueIp } from '../helpers/mfa.js';

const METRICS_TOKEN = 'metrics-token-for-the-ops-docs-test';
const RULES_FILE = new URL('../../docs/ops/holdfast-alerts.rules.yml', import.meta.url);
const DASHBOARD_FILE = new URL('../../docs/ops/grafana-dashboard.json', import.meta.url);
/** Series Prometheus itself makes for every target. */
const PROMETHEUS_SERIES = new Set(['up']);

const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions (followed by
 * `(`), keywords, label names (inside `{}` or a `by (...)` list), durations or string contents.
 */
function metricNamesOf(expr: string): string[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, '[]');
  const names: string[] = [];
  for (const m of text.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call !== undefined || PROMQL_WORDS.has(name!.toLowerCase())) continue;
    if (/^\d/.test(name!)) continue;
    names.push(name!);
  }
  return names;
}

interface RuleFile {
  groups: Array<{ name: string; rules: Array<Record<string, unknown>> }>;
}

interface Dashboard {
  title: string;
  uid: string;
  panels: Array<{ type: string; title: string; targets?: Array<{ expr: string; refId: string }> }>;
}

describe('docs/ops monitoring files', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  /** Metric names of the scrape (histograms with their _bucket, _sum and _count series). */
  const exposed = new Set<string>();

  beforeAll(async () => {
    inst = await createTestInstallation('sqlite');
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    server = await buildServer({
      app: inst.app,
      trustedProxies: ['127.0.0.1'],
      publicUrl: 'http://127.0.0.1:8080',
      metricsToken: METRICS_TOKEN,
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    // Some traffic: a sign-in, a wrong password, a probe.
    const http = fetchHttp(base);
    await mfaApi(http, 'acme').passwordToken('owner@acme.test');
    await http({
      method: 'POST',
      url: '/v1/sign-in',
      body: { account: 'acme', login: 'owner@acme.test', password: 'wrong password, surely' },
      ip: uniqueIp(),
    });
    await fetch(`${base}/readyz`);
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    for (const line of (await res.text()).split('\n')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (!type) continue;
      exposed.add(type[1]!);
      if (type[2] === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(type[1]! + suffix);
    }
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('reads metric names out of PromQL (and not functions, labels or keywords)', () => {
    expect(
      metricNamesOf(
        'sum by (instance, le) (rate(holdfast_x_bucket{status=~"5..",route="/a b"}[5m])) / on(instance) group_left holdfast_y > 0.5 and bool up',
      ),
    ).toEqual(['holdfast_x_bucket', 'holdfast_y', 'up']);
  });

  it('the alerting rules are a Prometheus rule file over exposed metrics only', () => {
    const file = parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile;
    expect(Array.isArray(file.groups)).toBe(true);
    const alerts = new Set<string>();
    const used = new Set<string>();
    for (const group of file.groups) {
      expect(typeof group.name).toBe('string');
      expect(group.rules.length).toBeGreaterThan(0);
      for (const rule of group.rules) {
        expect(
          Object.keys(rule).every((k) => ['alert', 'expr', 'for', 'labels', 'annotations'].includes(k)),
        ).toBe(true);
        const name = rule.alert as string;
        expect(name).toMatch(/^Holdfast[A-Z][A-Za-z0-9]+$/);
        expect(alerts.has(name), `${name} twice`).toBe(false);
        alerts.add(name);
        expect(typeof rule.expr).toBe('string');
        if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
        expect(['critical', 'warning']).toContain((rule.labels as { severity?: string }).severity);
        expect(typeof (rule.annotations as { summary?: string }).summary).toBe('string');
        const expr = rule.expr as string;
        expect(expr.split('(').length, `${name}: unbalanced parentheses`).toBe(expr.split(')').length);
        const names = metricNamesOf(expr);
        expect(names.length, `${name} reads no metric`).toBeGreaterThan(0);
        for (const metric of names) {
          expect(
            exposed.has(metric) || PROMETHEUS_SERIES.has(metric),
            `${name}: ${metric} is not exposed`,
          ).toBe(true);
          used.add(metric);
        }
      }
    }
    // The families the rules are there for.
    for (const family of [
      'holdfast_ready',
      'holdfast_http_requests_total',
      'holdfast_sign_ins_total',
      'holdfast_mfa_failures_total',
      'holdfast_mfa_suspensions_total',
      'holdfast_guardrail_refusals_total',
      'holdfast_alerts_raised_total',
      'holdfast_resets_total',
      'holdfast_recoveries_total',
      'holdfast_outbox_pending_messages',
      'holdfast_outbox_oldest_pending_age_seconds',
    ]) {
      expect(used.has(family), `no rule watches ${family}`).toBe(true);
    }
  });

  it('docs/operations.md lists every Holdfast metric and points at both files', () => {
    const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const unlisted = [...exposed].filter(
      (m) => m.startsWith('holdfast_') && !/_(bucket|sum|count)$/.test(m) && !doc.includes(`\`${m}\``),
    );
    expect(unlisted).toEqual([]);
    expect(doc).toContain('ops/holdfast-alerts.rules.yml');
    expect(doc).toContain('ops/grafana-dashboard.json');
  });

  it('the Grafana dashboard is JSON whose every query reads exposed metrics only', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
    expect(dashboard.title).toBe('Holdfast');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const used = new Set<string>();
    let queries = 0;
    for (const panel of dashboard.panels) {
      if (panel.type === 'row') continue;
      expect(panel.targets?.length, `${panel.title} has no query`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        queries++;
        const names = metricNamesOf(target.expr);
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const metric of names) {
          expect(exposed.has(metric), `${panel.title}: ${metric} is not exposed`).toBe(true);
          used.add(metric);
        }
      }
    }
    expect(queries).toBeGreaterThan(10);
    // Every Holdfast metric has a place on the dashboard.
    const missing = [...exposed].filter(
      (m) =>
        m.startsWith('holdfast_') &&
        !/_(sum|count)$/.test(m) &&
        m !== 'holdfast_http_request_duration_seconds',
    );
    expect(missing.filter((m) => !used.has(m))).toEqual([]);
  });
});
