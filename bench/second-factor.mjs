// Seeding for the second-factor scenarios: users who have passed the password step, each with a
// pending sign-in flow and a second factor the bench can prove, written straight through the
// repositories of the built installation (dist/) before the server starts.
//
// Why seed at all: a TOTP factor accepts a given time step at most once (replay protection) and a
// recovery code works once, so a closed loop that re-used one user would measure the refusals.
// Every request needs a (flow, factor, code) nobody has used yet: N users are written in big
// transactions, N sized for every run with a margin, and the load generator takes the next one.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  closedLoop,
  distModule,
  medianOfRuns,
  openInstallationAt,
  readCpuMs,
  readRssMB,
  sampleRss,
  sleep,
  watchCpu,
} from './lib.mjs';

/** Far enough ahead that no seeded flow expires during a bench. */
const FLOW_TTL_MS = 24 * 3_600_000;
/** Users written per transaction (one commit, so one fsync, per batch). */
const BATCH = 2_000;

const RECOVERY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function recoveryCode() {
  // The shape the app issues: 10 Base32 characters (50 bits) shown as xxxxx-xxxxx.
  const bytes = randomBytes(10);
  let raw = '';
  for (const b of bytes) raw += RECOVERY_ALPHABET[b & 31];
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

/**
 * Writes `users` users of a fresh account into the open installation `inst`, each with a sign-in
 * flow in state second_factor_required (bearer channel, as /v1/sign-in leaves it) per credential,
 * and:
 * - kind 'totp': one enabled TOTP factor (SHA1, 6 digits, 30 s, random 160-bit secret) and one
 *   flow: credentials are { flowId, factorId, secret };
 * - kind 'recovery': a set of `codesPerUser` recovery codes (stored as the app's keyed hashes) and
 *   one flow per code: credentials are { flowId, recoveryCode }, ordered so that consecutive
 *   credentials belong to different users.
 * `parallel` transactions run at once (PostgreSQL; SQLite serialises them anyway).
 * Returns { credentials, users, seconds, account }.
 */
export async function seedSecondFactorUsers(inst, { kind, users, codesPerUser = 10, parallel = 1, log }) {
  const [{ newAccountId, newPrincipalId }, { systemRandom }, { recoveryCodeHash }, { factorSecretContext }] =
    await Promise.all([
      distModule('core/principals/identifiers.js'),
      distModule('platform/system.js'),
      distModule('app/mfa.js'),
      distModule('app/factor-secrets.js'),
    ]);
  const { store, secretBox } = inst;
  const deps = inst.app.deps;
  const id = (prefix) => prefix + randomBytes(16).toString('base64url');
  const t0 = performance.now();
  const now = Date.now();
  const account = {
    id: newAccountId(systemRandom),
    name: `bench-${kind}-${process.pid}`,
    createdAt: now,
    settings: {},
  };
  await store.accounts.insert(account);

  const perUser = kind === 'recovery' ? codesPerUser : 1;
  const slots = Array.from({ length: perUser }, () => new Array(users));
  let written = 0;
  let lastLog = performance.now();

  const writeBatch = async (from, to) => {
    await store.transaction(async (tx) => {
      for (let u = from; u < to; u++) {
        const principal = {
          id: newPrincipalId(systemRandom),
          accountId: account.id,
          username: `user${u}`,
          email: `user${u}@bench.test`,
          role: 'user',
          status: 'active',
          passwordHash: null, // the password step is not part of what is measured
          passwordChangedAt: null,
          createdAt: now,
          updatedAt: now,
        };
        await tx.principals.insert(principal);
        let factorId = null;
        let secret = null;
        let codes = null;
        if (kind === 'totp') {
          factorId = id('mfa_');
          secret = randomBytes(20);
          await tx.factors.insert({
            id: factorId,
            accountId: account.id,
            principalId: principal.id,
            kind: 'totp',
            name: 'phone',
            status: 'enabled',
            assurance: 'software_otp',
            adminProvisioned: false,
            hardwareTokenId: null,
            secretSealed: secretBox.seal(secret, factorSecretContext(factorId)),
            params: { mode: 'totp', algorithm: 'SHA1', digits: 6, period: 30, initialCounter: 0 },
            lastCounter: null,
            driftSteps: 0,
            failedAttempts: 0,
            createdAt: now,
            enabledAt: now,
            lastUsedAt: null,
            pendingSessionId: null,
            pendingExpiresAt: null,
            pendingAttempts: 0,
          });
        } else {
          codes = Array.from({ length: codesPerUser }, recoveryCode);
          await tx.recoveryCodes.replaceSet({
            accountId: account.id,
            principalId: principal.id,
            codes: codes.map((code) => ({
              id: id('rc_'),
              codeHash: recoveryCodeHash(deps, principal.id, code),
            })),
            now,
          });
        }
        for (let k = 0; k < perUser; k++) {
          const flowId = id('flw_');
          await tx.flows.insert({
            id: flowId,
            kind: 'sign_in',
            accountId: account.id,
            principalId: principal.id,
            state: 'second_factor_required',
            attempts: 0,
            createdAt: now,
            updatedAt: now,
            expiresAt: now + FLOW_TTL_MS,
            data: { channel: 'bearer' },
          });
          slots[k][u] = kind === 'totp' ? { flowId, factorId, secret } : { flowId, recoveryCode: codes[k] };
        }
      }
    });
    written += to - from;
    if (log && performance.now() - lastLog > 5_000) {
      lastLog = performance.now();
      log(`seeding: ${written}/${users} users (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  };

  const batches = [];
  for (let from = 0; from < users; from += BATCH) batches.push([from, Math.min(users, from + BATCH)]);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, parallel) }, async () => {
      while (next < batches.length) {
        const [from, to] = batches[next++];
        await writeBatch(from, to);
      }
    }),
  );
  // Round k uses every user's k-th code: consecutive requests never share a user.
  const credentials = slots.flat();
  return { credentials, users, seconds: (performance.now() - t0) / 1000, account };
}

/** Hands out credentials one by one; null once they are all used. */
export function credentialQueue(credentials) {
  let i = 0;
  return {
    next: () => (i < credentials.length ? credentials[i++] : null),
    get used() {
      return i;
    },
    get left() {
      return credentials.length - i;
    },
  };
}

/** A 200 `signed_in` answer: the whole second-factor step succeeded and a session was issued. */
export const signedIn = (status, text) => status === 200 && text.includes('"signed_in"');

/**
 * Closed-loop load on POST /v1/sign-in/second-factor with a fresh credential per request: a
 * warm-up, then `runs` timed runs; after each, `afterRun(i)` runs with the server idle (e.g. a raw
 * baseline). Reads the server's RSS (after start, peak every 50 ms, after load) and CPU per
 * request (all threads and the event loop alone) and other processes' load.
 */
export async function measureSecondFactorLoad({
  server,
  nextBody,
  concurrency,
  runs,
  durationMs,
  warmupMs,
  afterRun,
  log,
  label,
}) {
  const url = `${server.url}/v1/sign-in/second-factor`;
  await sleep(250); // start-up allocations settle before the first memory reading
  // Several workers: CPU is added up over every process, memory is the largest worker's.
  const pids = server.pids ? server.pids() : [server.pid];
  const workerPids = server.workerPids ? server.workerPids() : [server.pid];
  const cpuOf = () =>
    pids.map(readCpuMs).reduce(
      (a, b) => ({
        totalMs: a.totalMs + (b.totalMs ?? 0),
        mainThreadMs: a.mainThreadMs + (b.mainThreadMs ?? 0),
      }),
      { totalMs: 0, mainThreadMs: 0 },
    );
  const rssStartMB = Math.max(...workerPids.map((pid) => readRssMB(pid) ?? 0));
  const samplers = workerPids.map((pid) => sampleRss(pid, 50));
  log(`${label}: warm-up ${warmupMs} ms at concurrency ${concurrency}`);
  const warmup = await closedLoop({
    url,
    body: nextBody,
    concurrency,
    durationMs: warmupMs,
    check: signedIn,
  });
  if (warmup.succeeded === 0) throw new Error(`${label}: warm-up failed: ${warmup.firstError}`);
  const results = [];
  const after = [];
  for (let i = 0; i < runs; i++) {
    const cpu0 = cpuOf();
    const watch = watchCpu(pids);
    const r = await closedLoop({ url, body: nextBody, concurrency, durationMs, check: signedIn });
    const load = watch.stop();
    const cpu1 = cpuOf();
    const answered = r.succeeded + r.errors;
    r.serverCpuMsPerRequest = (cpu1.totalMs - cpu0.totalMs) / answered;
    r.serverMainThreadCpuMsPerRequest = (cpu1.mainThreadMs - cpu0.mainThreadMs) / answered;
    r.serverCores = load.serverCores.reduce((a, b) => a + (b ?? 0), 0);
    r.benchCores = load.benchCores;
    r.foreignCores = load.foreignCores;
    r.stealCores = load.stealCores;
    results.push(r);
    log(
      `${label}: run ${i + 1}/${runs}: ${r.perSecond.toFixed(0)}/s, p50 ${r.p50Ms?.toFixed(1)} ms, ` +
        `p99 ${r.p99Ms?.toFixed(1)} ms, ${r.errors} errors${r.exhausted ? ' (ran out of seeded users)' : ''}; ` +
        `server ${r.serverCores?.toFixed(2)} cores, bench ${r.benchCores?.toFixed(2)}, others ${r.foreignCores?.toFixed(2)}`,
    );
    if (r.errors) log(`${label}: first error: ${r.firstError}`);
    if (afterRun) {
      await sleep(300); // the server finishes its last requests
      after.push(await afterRun(i));
    }
  }
  const rssPeakMB = Math.max(...samplers.map((sampler) => sampler.stop().peakMB));
  const rssAfterMB = Math.max(...workerPids.map((pid) => readRssMB(pid) ?? 0));
  return {
    warmup,
    summary: medianOfRuns(results),
    after,
    succeeded: warmup.succeeded + results.reduce((n, r) => n + r.succeeded, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    exhausted: results.some((r) => r.exhausted),
    memory: { rssStartMB, rssPeakMB, rssAfterMB },
  };
}

/**
 * What the database holds after the load (server stopped): audit records of completed sign-ins,
 * sessions, completed flows. Each successful verification must have left exactly one of each.
 */
export async function countSignInEffects({ db, dataDir, masterKey, accountId }) {
  const inst = await openInstallationAt({ db, dataDir, masterKey });
  try {
    const k = inst.database.kysely;
    const count = async (table, where) => {
      let q = k.selectFrom(table).select((eb) => eb.fn.countAll().as('n'));
      for (const [col, value] of where) q = q.where(col, '=', value);
      return Number((await q.executeTakeFirstOrThrow()).n);
    };
    return {
      auditSignIns: await count('audit_log', [
        ['account_id', accountId],
        ['action', 'auth.sign_in'],
      ]),
      sessions: await count('sessions', [['account_id', accountId]]),
      completedFlows: await count('flows', [
        ['account_id', accountId],
        ['state', 'completed'],
      ]),
    };
  } finally {
    await inst.close();
  }
}
