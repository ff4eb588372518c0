// The AWS-compatible Query API (POST /) over HTTP on SQLite: signed IAM GetUser calls and STS
// GetSessionToken with an MFA code, at concurrency 32, against the bare SigV4 verification rate
// of this machine (verifySigV4 of the build, in the bench process, same invocation).
//
// Requests are signed here with @smithy/signature-v4 (the signer the AWS SDK for JavaScript v3
// uses), independent of the server's verifier. GetUser is idempotent and SigV4 has no nonce, so a
// pool of GetUser requests is signed once per round (valid 15 minutes) and replayed, as a client
// retrying would. GetSessionToken with MFA carries a TOTP code, which a factor accepts once per
// time step (RFC 6238 §5.2): N users, each with an enabled TOTP factor and a long-term access key,
// are seeded through the repositories before the server starts, and each request takes the next
// user whose code for the current step has not been used, signing its body on the spot.
import http from 'node:http';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  closedLoopFn,
  distModule,
  figure,
  makeTempDir,
  median,
  medianOfRuns,
  newMasterKey,
  openInstallationAt,
  readCpuMs,
  readRssMB,
  sampleRss,
  sleep,
  startServer,
  watchCpu,
} from '../lib.mjs';

export const name = 'aws-api';
export const description =
  'POST / (AWS Query): signed IAM GetUser/s and STS GetSessionToken-with-MFA/s at c=32 on SQLite, vs in-process verifySigV4/s';

const TARGET_GET_USER = 5_000;
const TARGET_SESSION_TOKEN = 2_500;
/** GetSessionToken calls/s the seed is sized for (a run that runs short says so). */
const SEED_SESSION_TOKEN_RATE = 1_500;
const CONCURRENCY = 32;
const STEP_MS = 30_000;
/** Users written per transaction (one commit per batch). */
const BATCH = 2_000;
const REGION = 'eu-west-1';

/** The hash constructor @smithy/signature-v4 takes (SHA-256, or HMAC-SHA256 with a secret). */
class NodeSha256 {
  constructor(secret) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data) {
    this.hash.update(data);
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

/**
 * Seeds `users` IAM users (role `user`: the built-in policy lets them GetUser themselves), each
 * with an enabled TOTP factor (SHA1, 6 digits, 30 s, random 160-bit secret, sealed as the app
 * seals it) and one active long-term access key (secret sealed likewise). The MFA serial is the
 * one IAM shows for such a factor: arn:aws:iam::ACCOUNT:mfa/USER/FACTOR.
 */
async function seedUsers(inst, { users, log }) {
  const [
    { newAccountId, newPrincipalId },
    { systemRandom },
    { factorSecretContext },
    { accessKeySecretContext },
    { newAccessKeyId, newSecretAccessKey },
    { derivedSerial },
  ] = await Promise.all([
    distModule('core/principals/identifiers.js'),
    distModule('platform/system.js'),
    distModule('app/factor-secrets.js'),
    distModule('app/aws/access-keys.js'),
    distModule('core/access-keys/access-key.js'),
    distModule('app/aws/mfa-devices.js'),
  ]);
  const { store, secretBox } = inst;
  const t0 = performance.now();
  const now = Date.now();
  const account = {
    id: newAccountId(systemRandom),
    name: `bench-aws-${process.pid}`,
    createdAt: now,
    settings: {},
  };
  await store.accounts.insert(account);
  const seeded = new Array(users);
  let lastLog = performance.now();
  for (let from = 0; from < users; from += BATCH) {
    const to = Math.min(users, from + BATCH);
    await store.transaction(async (tx) => {
      for (let u = from; u < to; u++) {
        const username = `awsuser${u}`;
        const principal = {
          id: newPrincipalId(systemRandom),
          accountId: account.id,
          username,
          email: `${username}@bench.test`,
          role: 'user',
          status: 'active',
          passwordHash: null,
          passwordChangedAt: null,
          createdAt: now,
          updatedAt: now,
        };
        await tx.principals.insert(principal);
        const factorId = `mfa_${randomBytes(16).toString('base64url')}`;
        const secret = randomBytes(20);
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
        const accessKeyId = newAccessKeyId(systemRandom, 'long-term');
        const secretAccessKey = newSecretAccessKey(systemRandom);
        await tx.accessKeys.insert({
          id: accessKeyId,
          accountId: account.id,
          principalId: principal.id,
          status: 'Active',
          secretSealed: secretBox.seal(
            Buffer.from(secretAccessKey, 'utf8'),
            accessKeySecretContext(accessKeyId),
          ),
          createdAt: now,
          lastUsedAt: null,
          lastUsedService: null,
          deactivatedByGuardrail: false,
        });
        seeded[u] = {
          username,
          keys: { accessKeyId, secretAccessKey },
          secret,
          serial: derivedSerial(account.id, username, factorId),
          lastStep: -1,
        };
      }
    });
    if (log && performance.now() - lastLog > 5_000) {
      lastLog = performance.now();
      log(`${name}: seeding ${to}/${users} users (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  return { users: seeded, account, seconds: (performance.now() - t0) / 1000 };
}

/** Signs a Query body for `service` with the user's keys; returns { headers, body }. */
async function sign(signerFor, { service, keys, body, host }) {
  const signed = await signerFor(keys, service).sign({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    path: '/',
    headers: { host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  return { headers: signed.headers, body };
}

/** One POST / on the keep-alive agent: { status, text }. */
function post(agent, port, { headers, body }) {
  return new Promise((resolve) => {
    const payload = Buffer.from(body);
    const req = http.request(
      {
        hostname: '127.0.0.1',
        port,
        path: '/',
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': payload.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', (err) => resolve({ status: 0, text: String(err) }));
      },
    );
    req.once('error', (err) => resolve({ status: 0, text: String(err) }));
    req.end(payload);
  });
}

export async function run({ quick, log }) {
  const runs = quick ? 1 : 3;
  const durationMs = quick ? 3_000 : 8_000;
  const warmupMs = quick ? 1_000 : 2_000;
  const rawMs = quick ? 1_000 : 3_000;
  const [{ SignatureV4 }, { generateTOTP }, sigv4] = await Promise.all([
    import('@smithy/signature-v4'),
    distModule('core/factors/otp/totp.js'),
    distModule('http/aws/sigv4.js'),
  ]);
  const signers = new Map();
  const signerFor = (keys, service) => {
    const id = `${keys.accessKeyId}/${service}`;
    let s = signers.get(id);
    if (!s) {
      s = new SignatureV4({ credentials: keys, region: REGION, service, sha256: NodeSha256 });
      signers.set(id, s);
    }
    return s;
  };

  // ---- Seed: enough users for one time step of GetSessionToken at the target rate. -----------
  // A user's code works once per 30 s step, so at most N requests per step: N = target rate x one
  // step (the load lasts about one step) x 1.2. Should the server be faster, the run reports it.
  const users = Math.ceil(SEED_SESSION_TOKEN_RATE * (quick ? 10 : 30) * 1.2);
  const dir = makeTempDir();
  const masterKey = newMasterKey();
  const db = `sqlite:${join(dir, 'holdfast.db')}`;
  log(`${name}: seeding ${users} users (TOTP factor + access key each) on SQLite`);
  const inst = await openInstallationAt({ db, dataDir: dir, masterKey });
  let seed;
  try {
    seed = await seedUsers(inst, { users, log });
  } finally {
    await inst.close();
  }
  log(`${name}: seeded ${users} users in ${seed.seconds.toFixed(1)} s`);

  // ---- Baseline: bare SigV4 verification in this process (the server's verifier, with its cache).
  const rawPool = [];
  for (let i = 0; i < 256; i++) {
    const u = seed.users[i % seed.users.length];
    const req = await sign(signerFor, {
      service: 'iam',
      keys: u.keys,
      body: 'Action=GetUser&Version=2010-05-08',
      host: '127.0.0.1:8080',
    });
    rawPool.push({ req, secret: u.keys.secretAccessKey });
  }
  const rawVerify = async () => {
    const cache = new sigv4.SigningKeyCache();
    let i = 0;
    return closedLoopFn({
      concurrency: CONCURRENCY,
      durationMs: rawMs,
      fn: async () => {
        const { req, secret } = rawPool[i++ % rawPool.length];
        await sigv4.verifySigV4({
          request: { method: 'POST', path: '/', headers: req.headers, body: req.body },
          now: Date.now(),
          cache,
          lookup: async () => ({ secretAccessKey: secret }),
        });
        return true;
      },
    });
  };

  const server = await startServer({ dataDir: dir, env: { HOLDFAST_MASTER_KEY: masterKey } });
  const host = `127.0.0.1:${server.port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, maxFreeSockets: CONCURRENCY });
  const getUserOk = (r) => r.status === 200 && r.text.includes('<GetUserResult>');
  const sessionOk = (r) => r.status === 200 && r.text.includes('<SessionToken>');

  // GetUser: a pool signed once per round for the first 2,000 users, replayed round-robin.
  const signGetUserPool = async () => {
    const pool = [];
    for (let i = 0; i < Math.min(2_000, seed.users.length); i++) {
      pool.push(
        await sign(signerFor, {
          service: 'iam',
          keys: seed.users[i].keys,
          body: 'Action=GetUser&Version=2010-05-08',
          host,
        }),
      );
    }
    return pool;
  };

  // GetSessionToken: the next user whose current-step code is unused; null when none is left.
  let cursor = 0;
  let exhausted = 0;
  const nextSessionUser = () => {
    const step = Math.floor(Date.now() / STEP_MS);
    for (let tries = 0; tries < seed.users.length; tries++) {
      const u = seed.users[cursor];
      cursor = (cursor + 1) % seed.users.length;
      if (u.lastStep < step) {
        u.lastStep = step;
        return u;
      }
      if (tries > 64) break; // users are handed out in order: the rest were used this step too
    }
    return null;
  };

  const errors = { getUser: [], session: [] };
  const load = async (kind, ms) => {
    let fn;
    if (kind === 'getUser') {
      const pool = await signGetUserPool();
      let i = 0;
      fn = async () => {
        const r = await post(agent, server.port, pool[i++ % pool.length]);
        if (!getUserOk(r)) errors.getUser.push(`${r.status} ${r.text.slice(0, 200)}`);
        return getUserOk(r);
      };
    } else {
      fn = async () => {
        const u = nextSessionUser();
        if (u === null) {
          exhausted++;
          await sleep(5);
          return false;
        }
        const code = generateTOTP({
          secret: u.secret,
          timeMs: Date.now(),
          period: 30,
          digits: 6,
          algorithm: 'SHA1',
        });
        const body = `Action=GetSessionToken&Version=2011-06-15&SerialNumber=${encodeURIComponent(u.serial)}&TokenCode=${code}`;
        const r = await post(
          agent,
          server.port,
          await sign(signerFor, { service: 'sts', keys: u.keys, body, host }),
        );
        if (!sessionOk(r)) errors.session.push(`${r.status} ${r.text.slice(0, 200)}`);
        return sessionOk(r);
      };
    }
    const cpu0 = readCpuMs(server.pid);
    const watch = watchCpu([server.pid]);
    const r = await closedLoopFn({ fn, concurrency: CONCURRENCY, durationMs: ms });
    const cpu = watch.stop();
    const cpu1 = readCpuMs(server.pid);
    const answered = r.completed + r.lateCompletions + r.errors;
    return {
      ...r,
      serverCpuMsPerRequest: (cpu1.totalMs - cpu0.totalMs) / Math.max(1, answered),
      serverCores: cpu.serverCores[0],
      benchCores: cpu.benchCores,
      foreignCores: cpu.foreignCores,
    };
  };

  const results = { getUser: [], session: [], raw: [] };
  let memory;
  try {
    await sleep(250);
    const rssStartMB = readRssMB(server.pid);
    const rss = sampleRss(server.pid, 50);
    log(`${name}: warm-up ${warmupMs} ms of each call`);
    await load('getUser', warmupMs);
    await load('session', warmupMs);
    for (let i = 0; i < runs; i++) {
      const g = await load('getUser', durationMs);
      results.getUser.push(g);
      await sleep(300);
      const s = await load('session', durationMs);
      results.session.push(s);
      await sleep(300);
      const raw = await rawVerify();
      results.raw.push(raw);
      log(
        `${name}: run ${i + 1}/${runs}: GetUser ${g.perSecond.toFixed(0)}/s (p50 ${g.p50Ms?.toFixed(1)} ms, p99 ${g.p99Ms?.toFixed(1)} ms, ${g.errors} errors); ` +
          `GetSessionToken+MFA ${s.perSecond.toFixed(0)}/s (p50 ${s.p50Ms?.toFixed(1)} ms, p99 ${s.p99Ms?.toFixed(1)} ms, ${s.errors} errors); ` +
          `verifySigV4 ${raw.perSecond.toFixed(0)}/s; others ${g.foreignCores?.toFixed(2)}/${s.foreignCores?.toFixed(2)} cores`,
      );
    }
    memory = { rssStartMB, rssPeakMB: rss.stop().peakMB, rssAfterMB: readRssMB(server.pid) };
  } finally {
    agent.destroy();
    await server.stop();
  }

  const g = medianOfRuns(results.getUser);
  const s = medianOfRuns(results.session);
  const raw = medianOfRuns(results.raw);
  const ratio = (rs) => median(rs.map((r, i) => r.perSecond / results.raw[i].perSecond));
  const totalErrors = (rs) => rs.reduce((n, r) => n + r.errors, 0);
  const figures = [
    figure({
      id: 'getUserPerSecond',
      label: `IAM GetUser/s (signed, c=${CONCURRENCY}, median of ${runs})`,
      value: g.perSecond,
      unit: '/s',
      digits: 0,
      target: { op: '>=', value: TARGET_GET_USER },
    }),
    figure({ id: 'getUserP50Ms', label: 'GetUser p50', value: g.p50Ms, unit: 'ms' }),
    figure({ id: 'getUserP99Ms', label: 'GetUser p99', value: g.p99Ms, unit: 'ms' }),
    figure({
      id: 'getUserErrors',
      label: 'GetUser errors (all runs)',
      value: totalErrors(results.getUser),
      digits: 0,
      target: { op: '<=', value: 0 },
    }),
    figure({
      id: 'sessionTokenPerSecond',
      label: `STS GetSessionToken with MFA/s (c=${CONCURRENCY}, median of ${runs})`,
      value: s.perSecond,
      unit: '/s',
      digits: 0,
      target: { op: '>=', value: TARGET_SESSION_TOKEN },
    }),
    figure({ id: 'sessionTokenP50Ms', label: 'GetSessionToken+MFA p50', value: s.p50Ms, unit: 'ms' }),
    figure({ id: 'sessionTokenP99Ms', label: 'GetSessionToken+MFA p99', value: s.p99Ms, unit: 'ms' }),
    figure({
      id: 'sessionTokenErrors',
      label: 'GetSessionToken+MFA errors (all runs, not counting exhaustion)',
      value: totalErrors(results.session) - exhausted,
      digits: 0,
      target: { op: '<=', value: 0 },
    }),
    figure({
      id: 'rawVerifyPerSecond',
      label: `bare verifySigV4/s in process (c=${CONCURRENCY}, baseline)`,
      value: raw.perSecond,
      unit: '/s',
      digits: 0,
    }),
    figure({
      id: 'getUserToRaw',
      label: 'GetUser/s ÷ verifySigV4/s',
      value: ratio(results.getUser),
      digits: 3,
    }),
    figure({
      id: 'sessionTokenToRaw',
      label: 'GetSessionToken+MFA/s ÷ verifySigV4/s',
      value: ratio(results.session),
      digits: 3,
    }),
    figure({
      id: 'getUserServerCpuMs',
      label: 'server CPU per GetUser (all threads)',
      value: g.serverCpuMsPerRequest,
      unit: 'ms',
      digits: 3,
    }),
    figure({
      id: 'sessionTokenServerCpuMs',
      label: 'server CPU per GetSessionToken+MFA (all threads)',
      value: s.serverCpuMsPerRequest,
      unit: 'ms',
      digits: 3,
    }),
    figure({
      id: 'benchCores',
      label: 'bench (load generator + signer) cores, GetUser / GetSessionToken',
      value: `${g.benchCores?.toFixed(2)} / ${s.benchCores?.toFixed(2)}`,
    }),
    figure({
      id: 'foreignCores',
      label: "other processes' load (median, cores)",
      value: median([g.foreignCores, s.foreignCores]),
      digits: 2,
    }),
    figure({ id: 'seedUsers', label: 'seeded users (TOTP factor + access key)', value: users, digits: 0 }),
    figure({ id: 'seedSeconds', label: 'seeding time (not in the rates)', value: seed.seconds, unit: 's' }),
    figure({ id: 'rssPeakMB', label: 'server RSS peak under load', value: memory.rssPeakMB, unit: 'MB' }),
  ];
  if (exhausted > 0) {
    figures.push(
      figure({
        id: 'sessionUsersExhausted',
        label: 'GetSessionToken: requests without an unused user this step',
        value: exhausted,
        digits: 0,
      }),
    );
  }
  return {
    figures,
    details: {
      settings: { runs, durationMs, warmupMs, rawMs, concurrency: CONCURRENCY, users, region: REGION },
      getUser: g,
      sessionToken: s,
      rawVerify: raw,
      memory,
      exhausted,
      firstErrors: { getUser: errors.getUser.slice(0, 5), sessionToken: errors.session.slice(0, 5) },
    },
  };
}
