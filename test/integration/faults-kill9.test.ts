/**
 * kill -9 under load (docs/operations.md, "Crashes"), on SQLite and PostgreSQL, against
 * `holdfast serve --workers 2`: clients keep signing users in and enrolling and enabling TOTP
 * factors, and the owner keeps creating managed policies, creating and deactivating access keys,
 * opening help-desk resets and removing factors, recording every acknowledged answer;
 * at a random moment every process (the primary and both workers) gets SIGKILL, the server is
 * started again and the load goes on; three times. Afterwards every acknowledged change is
 * there (each acknowledged session still signs its requests in, each acknowledged factor is
 * enabled, each acknowledged policy exists), nothing unacknowledged is half-applied (a factor is
 * enabled exactly when its `factor.enable` record exists, a policy exists exactly when its
 * `policy.put` record does; on SQLite the file passes `PRAGMA integrity_check`), and
 * `audit verify` passes with its signed checkpoints.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { openInstallation } from '../../src/installation.js';
import { DATABASE_KINDS, freshDatabase } from '../helpers/databases.js';
import { createUserWithPassword, mfaSessionToken } from '../helpers/installation.js';
import { PASSWORD, STEP_MS, fetchHttp, stepOf, totpAt, type Http } from '../helpers/mfa.js';
import {
  assertCliBuilt,
  cliEnv,
  killAllChildren,
  newMasterKey,
  runCli,
  startServe,
  type ServeProcess,
} from '../helpers/processes.js';

const ROUNDS = 3;
const USERS = 24;
const CLIENTS = 4;

/** The pids of a serve primary's workers (Linux /proc). */
function workerPids(primary: number): number[] {
  try {
    return readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL to the primary and every worker at once; resolves when none is left. */
async function killEverything(serve: ServeProcess): Promise<number> {
  const pids = [...workerPids(serve.child.pid!), serve.child.pid!];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await serve.exited;
  for (let i = 0; i < 200 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 25));
  expect(pids.filter(alive)).toEqual([]);
  return pids.length;
}

interface Ledger {
  /** Acknowledged sign-ins: user and bearer token. */
  sessions: Array<{ login: string; token: string }>;
  /** Acknowledged factor enables: user, the token that did it, factor id. */
  enabled: Array<{ login: string; token: string; factorId: string }>;
  /** Acknowledged managed-policy creations (the owner's MFA session). */
  policies: string[];
  /** Acknowledged access-key creations, and those whose deactivation was acknowledged too. */
  keys: Array<{ login: string; accessKeyId: string; deactivated: boolean }>;
  /** Acknowledged help-desk resets opened: user and reset id. */
  resets: Array<{ login: string; id: string }>;
  /** Acknowledged factor removals by the owner: user and factor id. */
  removed: Array<{ login: string; factorId: string }>;
  /** Requests that got no answer (the kill) or a 5xx: their outcome is unknown. */
  unanswered: number;
  /** The owner's refused writes, by kind and status (for the report). */
  refused: Record<string, number>;
}

/** One user's journey: sign in, enrol a TOTP factor, enable it with two consecutive codes. */
async function journey(http: Http, login: string, ledger: Ledger): Promise<void> {
  const call = async (request: Parameters<Http>[0]) => {
    try {
      const res = await http(request);
      if (res.status >= 500) ledger.unanswered++;
      return res;
    } catch {
      ledger.unanswered++;
      return null;
    }
  };
  const signIn = await call({
    method: 'POST',
    url: '/v1/sign-in',
    body: { account: 'acme', login, password: PASSWORD },
  });
  if (signIn?.status !== 200 || signIn.body.status !== 'signed_in') return;
  const token = signIn.body.token as string;
  ledger.sessions.push({ login, token });
  const enrol = await call({ method: 'POST', url: '/v1/factors/totp', body: { name: 'phone' }, token });
  if (enrol?.status !== 201) return;
  const factorId = enrol.body.factor.id as string;
  const secret = enrol.body.secret as string;
  const step = stepOf(Date.now());
  const codes = [totpAt(secret, (step - 2) * STEP_MS), totpAt(secret, (step - 1) * STEP_MS)];
  const enable = await call({
    method: 'POST',
    url: `/v1/factors/${factorId}/enable`,
    body: { codes },
    token,
  });
  if (enable?.status === 200) ledger.enabled.push({ login, token, factorId });
}

describe.each(DATABASE_KINDS)('kill -9 under load, serve --workers 2 [$name]', ({ name }) => {
  afterAll(async () => {
    await killAllChildren();
  });

  it(`SIGKILL of every process ${ROUNDS} times loses nothing acknowledged and half-applies nothing`, async () => {
    assertCliBuilt();
    const fresh = await freshDatabase(name);
    const masterKey = newMasterKey();
    const env = cliEnv({ HOLDFAST_MASTER_KEY: masterKey });
    try {
      const inst = await openInstallation(
        loadConfig(
          { db: fresh.url, dataDir: fresh.dataDir },
          { HOLDFAST_LOG_LEVEL: 'silent', HOLDFAST_MASTER_KEY: masterKey },
        ),
      );
      const logins: string[] = [];
      await createUserWithPassword(inst, {
        accountName: 'acme',
        email: 'owner@acme.test',
        password: PASSWORD,
      });
      for (let i = 0; i < USERS; i++) {
        const login = `user${i}@acme.test`;
        await createUserWithPassword(inst, {
          accountName: 'acme',
          email: login,
          password: PASSWORD,
          role: 'user',
        });
        logins.push(login);
      }
      // The owner's MFA session (administration needs MFA, guardrail G2) changes policies.
      const ownerToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'owner@acme.test' });
      await inst.close();

      const ledger: Ledger = {
        sessions: [],
        enabled: [],
        policies: [],
        keys: [],
        resets: [],
        removed: [],
        unanswered: 0,
        refused: {},
      };
      let policySeq = 0;
      const document = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }],
      });
      // Users whose enabled factor the owner has taken up (a reset opened or the factor removed).
      const handled = new Set<string>();
      let keyUser = 0;
      /** The owner's writes, in turn: a policy, an access key made then turned off, a reset or a removal. */
      const adminWriter = async (http: Http, running: () => boolean) => {
        const owner = async (request: Parameters<Http>[0]) => {
          try {
            const res = await http({ ...request, token: ownerToken });
            if (res.status >= 500) ledger.unanswered++;
            else if (res.status >= 400) {
              const kind = `${request.method} ${request.url.split('/').slice(0, 3).join('/')} ${res.status}`;
              ledger.refused[kind] = (ledger.refused[kind] ?? 0) + 1;
            }
            return res;
          } catch {
            // The server is gone (the kill): count it, and do not spin while it is down.
            ledger.unanswered++;
            await new Promise((r) => setTimeout(r, 50));
            return null;
          }
        };
        for (let turn = 0; running(); turn++) {
          if (turn % 3 === 0) {
            const policyName = `Crash${++policySeq}`;
            const res = await owner({
              method: 'POST',
              url: '/v1/policies',
              body: { name: policyName, document },
            });
            if (res?.status === 201) ledger.policies.push(policyName);
          } else if (turn % 3 === 1) {
            const login = logins[keyUser++ % logins.length]!;
            const created = await owner({ method: 'POST', url: `/v1/users/${login}/access-keys` });
            if (created?.status !== 201) continue;
            const key = { login, accessKeyId: created.body.accessKeyId as string, deactivated: false };
            ledger.keys.push(key);
            const off = await owner({
              method: 'PATCH',
              url: `/v1/users/${login}/access-keys/${key.accessKeyId}`,
              body: { status: 'Inactive' },
            });
            if (off?.status === 204) key.deactivated = true;
          } else {
            const next = ledger.enabled.find((e) => !handled.has(e.login));
            if (next === undefined) continue;
            handled.add(next.login);
            if (handled.size % 2 === 0) {
              const res = await owner({
                method: 'POST',
                url: '/v1/resets',
                body: {
                  user: next.login,
                  evidence: [{ kind: 'phone_callback', note: 'called the number on file' }],
                },
              });
              if (res?.status === 201)
                ledger.resets.push({ login: next.login, id: res.body.request.id as string });
            } else {
              const res = await owner({
                method: 'DELETE',
                url: `/v1/users/${next.login}/factors/${next.factorId}`,
              });
              if (res?.status === 204 || res?.status === 200) {
                ledger.removed.push({ login: next.login, factorId: next.factorId });
              }
            }
          }
        }
      };
      const queue = [...logins];
      let killed = 0;
      const args = ['--db', fresh.url, '--data-dir', fresh.dataDir, '--workers', '2'];
      for (let round = 0; round < ROUNDS; round++) {
        const serve = await startServe(args, { env, timeoutMs: 60_000 });
        const http = fetchHttp(serve.url);
        let running = true;
        const clients = [
          ...Array.from({ length: CLIENTS }, async () => {
            while (running && queue.length > 0) await journey(http, queue.shift()!, ledger);
          }),
          adminWriter(http, () => running),
        ];
        // A random moment in the load: 0 to 1.5 s after the round's first acknowledged enable
        // (this machine is slow and shared: wait for the load to be writing first).
        const enabledBefore = ledger.enabled.length;
        for (let i = 0; i < 400 && ledger.enabled.length === enabledBefore && queue.length > 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1500)));
        killed += await killEverything(serve);
        running = false;
        await Promise.all(clients);
      }
      expect(killed).toBeGreaterThanOrEqual(ROUNDS * 3);
      expect(ledger.enabled.length).toBeGreaterThan(0);

      // Started once more: everything acknowledged is there.
      const serve = await startServe(args, { env, timeoutMs: 60_000 });
      const http = fetchHttp(serve.url);
      // A person the owner took up (a factor removal or a reset, answered or not) may have lost
      // the sessions verified with that factor: their sessions and factors are checked below
      // against the audit records instead.
      for (const { login, token } of ledger.sessions) {
        if (handled.has(login)) continue;
        const res = await http({ method: 'GET', url: '/v1/session', token });
        expect(res.status, `session of ${login}`).toBe(200);
      }
      for (const { login, token, factorId } of ledger.enabled) {
        if (handled.has(login)) continue;
        const res = await http({ method: 'GET', url: '/v1/factors', token });
        expect(res.status).toBe(200);
        const factor = (res.body.factors as Array<{ id: string; status: string }>).find(
          (f) => f.id === factorId,
        );
        expect(factor?.status, `factor of ${login}`).toBe('enabled');
      }
      for (const policyName of ledger.policies) {
        const res = await http({ method: 'GET', url: `/v1/policies/${policyName}`, token: ownerToken });
        expect(res.status, `policy ${policyName}`).toBe(200);
      }
      for (const { login, accessKeyId, deactivated } of ledger.keys) {
        const res = await http({ method: 'GET', url: `/v1/users/${login}/access-keys`, token: ownerToken });
        expect(res.status).toBe(200);
        const key = (res.body.keys as Array<{ accessKeyId: string; status: string }>).find(
          (k) => k.accessKeyId === accessKeyId,
        );
        expect(key, `access key of ${login}`).toBeDefined();
        if (deactivated) expect(key!.status, `deactivated key of ${login}`).toBe('Inactive');
      }
      for (const { login, factorId } of ledger.removed) {
        const res = await http({ method: 'GET', url: `/v1/users/${login}/factors`, token: ownerToken });
        expect(res.status).toBe(200);
        const factor = (res.body.factors as Array<{ id: string; status: string }>).find(
          (f) => f.id === factorId,
        );
        expect(factor?.status ?? 'gone', `removed factor of ${login}`).not.toBe('enabled');
      }
      await serve.stop();

      // Nothing half-applied: a factor is enabled exactly when its enable record exists.
      const q = async (text: string): Promise<Array<Record<string, unknown>>> => {
        if (name === 'sqlite') {
          const db = new SQLite(join(fresh.dataDir, 'holdfast.db'), { readonly: true });
          try {
            return db.prepare(text).all() as Array<Record<string, unknown>>;
          } finally {
            db.close();
          }
        }
        const client = new pg.Client({ connectionString: fresh.url });
        await client.connect();
        try {
          return (await client.query(text)).rows;
        } finally {
          await client.end();
        }
      };
      const enabledFactors = (await q("select id from factors where status = 'enabled'"))
        .map((r) => r.id)
        .sort();
      const enableRecords = (
        await q("select target from audit_log where action = 'factor.enable' and outcome = 'success'")
      )
        .map((r) => r.target)
        .sort();
      // Enabled now: enabled by a committed record and not removed by one since.
      const removeRecords = new Set(
        (await q("select target from audit_log where action = 'factor.remove' and outcome = 'success'")).map(
          (r) => r.target,
        ),
      );
      expect(enabledFactors).toEqual(enableRecords.filter((id) => !removeRecords.has(id)));
      for (const { factorId } of ledger.enabled) {
        if (removeRecords.has(factorId)) expect(enabledFactors).not.toContain(factorId);
        else expect(enabledFactors).toContain(factorId);
      }
      for (const { factorId } of ledger.removed) expect(removeRecords).toContain(factorId);
      // An access key exists exactly when its creation record does; a reset exactly when its request's.
      const keyRows = await q('select id, status from access_keys');
      const keyRecords = await q(
        "select target from audit_log where action = 'access_key.create' and outcome = 'success'",
      );
      expect(keyRows.length).toBe(keyRecords.length);
      expect(keyRows.length).toBeGreaterThanOrEqual(ledger.keys.length);
      const inactive = new Set(keyRows.filter((r) => r.status === 'Inactive').map((r) => r.id));
      for (const k of ledger.keys) if (k.deactivated) expect(inactive).toContain(k.accessKeyId);
      const resetRows = await q("select id from recovery_requests where kind = 'helpdesk'");
      const resetRecords = await q(
        "select target from audit_log where action = 'reset.request' and outcome = 'success'",
      );
      expect(resetRows.length).toBe(resetRecords.length);
      const resetIds = new Set(resetRows.map((r) => r.id));
      for (const r of ledger.resets) expect(resetIds).toContain(r.id);
      // A managed policy exists exactly when its creation record does.
      const policyRows = await q("select name from policies where scope = 'managed' and name like 'Crash%'");
      const policyRecords = await q(
        "select target from audit_log where action = 'policy.put' and outcome = 'success' and target like '%Crash%'",
      );
      expect(policyRows.length).toBe(policyRecords.length);
      expect(policyRows.length).toBeGreaterThanOrEqual(ledger.policies.length);
      if (name === 'sqlite') {
        expect(await q('pragma integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      }

      const verify = await runCli(
        ['audit', 'verify', '--json', '--db', fresh.url, '--data-dir', fresh.dataDir],
        { env },
      );
      expect(verify.code, verify.stderr + verify.stdout).toBe(0);
      const report = verify.json<{ ok: boolean; checkpoints: { total: number } }>();
      expect(report.ok).toBe(true);
      expect(report.checkpoints.total).toBeGreaterThan(0);
      console.log(
        `[${name}] kill -9: ${ROUNDS} rounds, ${killed} processes killed; acknowledged: ${ledger.sessions.length} sign-ins, ` +
          `${ledger.enabled.length} factor enables, ${ledger.policies.length} policy creations, ` +
          `${ledger.keys.length} access keys (${ledger.keys.filter((k) => k.deactivated).length} deactivated), ` +
          `${ledger.resets.length} resets opened, ${ledger.removed.length} factors removed, all present; ` +
          `${ledger.unanswered} requests unanswered; refused: ${JSON.stringify(ledger.refused)}; lost: 0`,
      );
    } finally {
      await killAllChildren();
      await fresh.cleanup();
    }
  }, 240_000);
});
