// TOTP second-factor verification over HTTP, end to end, against SQLite's raw durable commit rate.
//
// Each request is the factor step of a sign-in: POST /v1/sign-in/second-factor with a pending
// flow, the user's TOTP factor and the code for the current time. The server loads the flow and
// factor, verifies the code, accepts its time step with the conditional (replay-protected)
// update, creates the session and appends the hash-chained audit record, in one transaction.
//
// A factor accepts each time step once, so every request needs a user nobody has used yet: N users
// (each with an enabled TOTP factor and a pending flow) are seeded through the repositories before
// the server starts; see bench/second-factor.mjs. SQLite always; PostgreSQL when one is reachable.
import { join } from 'node:path';
import {
  countSyncCalls,
  createBenchPostgres,
  closedLoop,
  distModule,
  figure,
  makeTempDir,
  median,
  newMasterKey,
  openInstallationAt,
  rawSqliteDurableTx,
  startServer,
} from '../lib.mjs';
import {
  countSignInEffects,
  credentialQueue,
  measureSecondFactorLoad,
  seedSecondFactorUsers,
  signedIn,
} from '../second-factor.mjs';
import { measureBetterAuthTotp } from '../better-auth-totp.mjs';

export const name = 'totp-verify';
export const description =
  'POST /v1/sign-in/second-factor with a fresh valid TOTP code, c=32, SQLite (durable commits) vs raw durable tx/s; PostgreSQL if reachable';

// The target (performance and scale-out); the seed is sized for it.
const TARGET_PER_SECOND = 3_000;
const TARGET_P99_MS = 50;
const SEED_MARGIN = 1.3;

export async function run({ quick, log }) {
  const runs = quick ? 1 : 3;
  const durationMs = quick ? 3_000 : 8_000;
  const warmupMs = quick ? 1_000 : 2_000;
  const rawMs = quick ? 2_000 : 5_000;
  const syncCheckMs = quick ? 1_000 : 2_000;
  const concurrency = 32;
  const { generateTOTP } = await distModule('core/factors/otp/totp.js');

  const bodyFrom = (queue) => () => {
    const c = queue.next();
    if (c === null) return null;
    const code = generateTOTP({
      secret: c.secret,
      timeMs: Date.now(),
      period: 30,
      digits: 6,
      algorithm: 'SHA1',
    });
    return { flowId: c.flowId, factorId: c.factorId, code };
  };
  const loadSeconds = (warmupMs + runs * durationMs + syncCheckMs) / 1000;

  // ---- SQLite -------------------------------------------------------------------------------
  const dir = makeTempDir();
  const rawDir = makeTempDir('holdfast-bench-raw-'); // same filesystem as the server's database
  // A short pilot of the raw rate sizes the seed: verifications cannot reasonably beat it by much.
  const pilot = await rawSqliteDurableTx({ dir: rawDir, durationMs: 1_000 });
  const expectedRate = Math.max(TARGET_PER_SECOND, pilot.perSecond);
  const users = Math.ceil(loadSeconds * expectedRate * SEED_MARGIN);
  const masterKey = newMasterKey();
  const db = `sqlite:${join(dir, 'holdfast.db')}`;
  log(
    `${name}: raw pilot ${pilot.perSecond.toFixed(0)} tx/s; seeding ${users} users ` +
      `(${loadSeconds} s of load x ${expectedRate.toFixed(0)}/s x ${SEED_MARGIN}) on SQLite`,
  );
  const inst = await openInstallationAt({ db, dataDir: dir, masterKey });
  let seed;
  let synchronousSetting;
  try {
    // The pragma as the server's connection code (dist/storage/connect.js) sets it by default.
    const { CompiledQuery } = await import('kysely');
    const { rows } = await inst.database.kysely.executeQuery(CompiledQuery.raw('PRAGMA synchronous'));
    synchronousSetting = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][Number(Object.values(rows[0])[0])];
    seed = await seedSecondFactorUsers(inst, { kind: 'totp', users, log });
  } finally {
    await inst.close();
  }
  log(
    `${name}: seeded ${users} users in ${seed.seconds.toFixed(1)} s (${(users / seed.seconds).toFixed(0)} users/s)`,
  );

  const queue = credentialQueue(seed.credentials);
  const nextBody = bodyFrom(queue);
  const server = await startServer({ dataDir: dir, env: { HOLDFAST_MASTER_KEY: masterKey } });
  let sqlite;
  let sync;
  try {
    sqlite = await measureSecondFactorLoad({
      server,
      nextBody,
      concurrency,
      runs,
      durationMs,
      warmupMs,
      log,
      label: `${name} sqlite`,
      afterRun: async (i) => {
        const raw = await rawSqliteDurableTx({ dir: rawDir, durationMs: rawMs });
        log(
          `${name}: run ${i + 1}/${runs}: raw SQLite ${raw.perSecond.toFixed(0)} durable tx/s (${raw.synchronous})`,
        );
        return raw;
      },
    });
    // Durability from the data: count the server's fsync/fdatasync calls per verification.
    log(`${name}: counting the server's fsync calls for ${syncCheckMs} ms (strace, untimed)`);
    sync = await countSyncCalls(server.pid, () =>
      closedLoop({
        url: `${server.url}/v1/sign-in/second-factor`,
        body: nextBody,
        concurrency,
        durationMs: syncCheckMs,
        check: signedIn,
      }),
    );
    if (sync.result) sqlite.succeeded += sync.result.succeeded;
    if (!sync.available) log(`${name}: fsync count unavailable: ${sync.reason}`);
  } finally {
    await server.stop();
  }
  const effects = await countSignInEffects({ db, dataDir: dir, masterKey, accountId: seed.account.id });
  const raw = {
    perSecond: median(sqlite.after.map((r) => r.perSecond)),
    p50Ms: median(sqlite.after.map((r) => r.p50Ms)),
    p99Ms: median(sqlite.after.map((r) => r.p99Ms)),
    synchronous: sqlite.after[0]?.synchronous,
    runs: sqlite.after,
  };
  const s = sqlite.summary;
  const runRatios = s.runs.map((r, i) => r.perSecond / sqlite.after[i].perSecond);
  const syncPerVerification =
    sync.available && sync.result ? sync.syncCalls / (sync.result.succeeded + sync.result.errors) : null;

  // ---- Better Auth, the same step on its documented SQLite set-up --------------------------------
  let betterAuth;
  try {
    betterAuth = await measureBetterAuthTotp({
      dir: makeTempDir('holdfast-bench-better-auth-'),
      concurrency,
      runs,
      durationMs,
      warmupMs,
      log,
    });
  } catch (err) {
    log(`${name}: Better Auth not measured: ${err.message}`);
    betterAuth = { skipped: err.message };
  }

  // ---- PostgreSQL (information) ---------------------------------------------------------------
  let pg = null;
  const pgDb = await createBenchPostgres();
  if (pgDb.skipped) {
    log(`${name}: PostgreSQL skipped: ${pgDb.skipped}`);
    pg = { skipped: pgDb.skipped };
  } else {
    try {
      // Sized from the SQLite result (PostgreSQL is not expected to be faster here); should it be,
      // the run reports that it ran out of users and its rate covers the time until then.
      const pgRate = Math.max(1_000, s.perSecond);
      const pgLoadSeconds = (warmupMs + runs * durationMs) / 1000;
      const pgUsers = Math.ceil(pgLoadSeconds * pgRate * SEED_MARGIN);
      const pgDir = makeTempDir();
      const pgKey = newMasterKey();
      log(`${name}: seeding ${pgUsers} users on PostgreSQL (${pgDb.displayUrl})`);
      const pgInst = await openInstallationAt({ db: pgDb.url, dataDir: pgDir, masterKey: pgKey });
      let pgSeed;
      try {
        pgSeed = await seedSecondFactorUsers(pgInst, { kind: 'totp', users: pgUsers, parallel: 4, log });
      } finally {
        await pgInst.close();
      }
      log(`${name}: seeded ${pgUsers} users in ${pgSeed.seconds.toFixed(1)} s`);
      const pgServer = await startServer({
        dataDir: pgDir,
        db: pgDb.url,
        env: { HOLDFAST_MASTER_KEY: pgKey },
      });
      let load;
      try {
        load = await measureSecondFactorLoad({
          server: pgServer,
          nextBody: bodyFrom(credentialQueue(pgSeed.credentials)),
          concurrency,
          runs,
          durationMs,
          warmupMs,
          log,
          label: `${name} postgres`,
        });
      } finally {
        await pgServer.stop();
      }
      const pgEffects = await countSignInEffects({
        db: pgDb.url,
        dataDir: pgDir,
        masterKey: pgKey,
        accountId: pgSeed.account.id,
      });
      pg = { users: pgUsers, seedSeconds: pgSeed.seconds, ...load, effects: pgEffects };
    } finally {
      await pgDb.drop().catch((err) => log(`${name}: could not drop ${pgDb.name}: ${err.message}`));
    }
  }

  const figures = [
    figure({
      id: 'sqlitePerSecond',
      label: `SQLite verifications/s (c=${concurrency}, median of ${runs})`,
      value: s.perSecond,
      unit: '/s',
      digits: 0,
      target: { op: '>=', value: TARGET_PER_SECOND },
    }),
    figure({ id: 'sqliteP50Ms', label: 'SQLite verification p50', value: s.p50Ms, unit: 'ms' }),
    figure({
      id: 'sqliteP99Ms',
      label: 'SQLite verification p99',
      value: s.p99Ms,
      unit: 'ms',
      target: { op: '<', value: TARGET_P99_MS },
    }),
    figure({
      id: 'sqliteErrors',
      label: 'SQLite verification errors (all runs)',
      value: sqlite.errors,
      digits: 0,
      target: { op: '<=', value: 0 },
    }),
    figure({
      id: 'rawDurableTxPerSecond',
      label: 'raw SQLite durable tx/s (UPDATE+INSERT, FULL)',
      value: raw.perSecond,
      unit: '/s',
      digits: 0,
    }),
    figure({
      id: 'verifyToRawRatio',
      label: 'verifications/s ÷ raw durable tx/s',
      value: s.perSecond / raw.perSecond,
      digits: 2,
    }),
    figure({
      id: 'sqliteSynchronous',
      label: 'SQLite synchronous (server connection default)',
      value: synchronousSetting,
    }),
    figure({
      id: 'syncCallsPerVerification',
      label: 'server fsync+fdatasync per verification (strace)',
      value: syncPerVerification,
      digits: 2,
    }),
    figure({
      id: 'auditRecordsPerVerification',
      label: 'audit sign-in records per verification',
      value: effects.auditSignIns / sqlite.succeeded,
      digits: 3,
      target: { op: '>=', value: 1 },
    }),
    figure({
      id: 'sessionsPerVerification',
      label: 'sessions per verification',
      value: effects.sessions / sqlite.succeeded,
      digits: 3,
      target: { op: '>=', value: 1 },
    }),
    figure({
      id: 'serverCpuMsPerVerification',
      label: 'server CPU per verification (all threads)',
      value: s.serverCpuMsPerRequest,
      unit: 'ms',
      digits: 3,
    }),
    figure({
      id: 'serverMainThreadCpuMsPerVerification',
      label: 'server event-loop CPU per verification',
      value: s.serverMainThreadCpuMsPerRequest,
      unit: 'ms',
      digits: 3,
    }),
    figure({ id: 'serverCores', label: 'server cores used (median)', value: s.serverCores, digits: 2 }),
    figure({ id: 'benchCores', label: 'bench (load generator) cores used', value: s.benchCores, digits: 2 }),
    figure({
      id: 'foreignCores',
      label: "other processes' load (median, cores)",
      value: s.foreignCores,
      digits: 2,
    }),
    figure({ id: 'seedUsers', label: 'seeded users (SQLite)', value: users, digits: 0 }),
    figure({
      id: 'seedSeconds',
      label: 'seeding time (SQLite, not in the rates)',
      value: seed.seconds,
      unit: 's',
    }),
    figure({
      id: 'rssStartMB',
      label: 'server RSS after start',
      value: sqlite.memory.rssStartMB,
      unit: 'MB',
      target: { op: '<', value: 150 },
    }),
    figure({
      id: 'rssPeakMB',
      label: 'server RSS peak under load',
      value: sqlite.memory.rssPeakMB,
      unit: 'MB',
      target: { op: '<', value: 150 },
    }),
    figure({
      id: 'rssAfterMB',
      label: 'server RSS after load',
      value: sqlite.memory.rssAfterMB,
      unit: 'MB',
      target: { op: '<', value: 150 },
    }),
  ];
  if (sqlite.exhausted) {
    figures.push(
      figure({
        id: 'seedExhausted',
        label: 'SQLite: ran out of seeded users',
        value: 'yes: rates cover partial windows, raise SEED_MARGIN',
      }),
    );
  }
  if (betterAuth.skipped) {
    figures.push(
      figure({
        id: 'betterAuthPerSecond',
        label: 'Better Auth verify-totp/s',
        value: `skipped: ${betterAuth.skipped}`,
      }),
    );
  } else {
    figures.push(
      figure({
        id: 'betterAuthPerSecond',
        label: `Better Auth twoFactor verify-totp/s, SQLite (c=${concurrency}, median of ${runs})`,
        value: betterAuth.perSecond,
        unit: '/s',
        digits: 0,
      }),
      figure({
        id: 'betterAuthP99Ms',
        label: 'Better Auth verify-totp p99',
        value: betterAuth.p99Ms,
        unit: 'ms',
      }),
      figure({
        id: 'betterAuthServerCpuMs',
        label: 'Better Auth: server CPU per verification',
        value: betterAuth.serverCpuMsPerRequest,
        unit: 'ms',
        digits: 3,
      }),
      figure({
        id: 'holdfastOverBetterAuth',
        label: 'Holdfast SQLite verifications/s ÷ Better Auth verify-totp/s (same run)',
        value: s.perSecond / betterAuth.perSecond,
        digits: 1,
        target: { op: '>=', value: 20 },
      }),
    );
  }
  if (pg?.skipped) {
    figures.push(
      figure({ id: 'pgPerSecond', label: 'PostgreSQL verifications/s', value: `skipped: ${pg.skipped}` }),
    );
  } else if (pg) {
    const p = pg.summary;
    figures.push(
      figure({
        id: 'pgPerSecond',
        label: `PostgreSQL verifications/s (c=${concurrency}, median)`,
        value: p.perSecond,
        unit: '/s',
        digits: 0,
      }),
      figure({ id: 'pgP50Ms', label: 'PostgreSQL verification p50', value: p.p50Ms, unit: 'ms' }),
      figure({ id: 'pgP99Ms', label: 'PostgreSQL verification p99', value: p.p99Ms, unit: 'ms' }),
      figure({ id: 'pgErrors', label: 'PostgreSQL verification errors', value: pg.errors, digits: 0 }),
      figure({
        id: 'pgAuditRecordsPerVerification',
        label: 'PostgreSQL audit sign-in records per verification',
        value: pg.effects.auditSignIns / pg.succeeded,
        digits: 3,
      }),
      figure({
        id: 'pgServerCpuMsPerVerification',
        label: 'PostgreSQL: server CPU per verification',
        value: p.serverCpuMsPerRequest,
        unit: 'ms',
        digits: 3,
      }),
      figure({
        id: 'pgServerCores',
        label: 'PostgreSQL: server cores used',
        value: p.serverCores,
        digits: 2,
      }),
      figure({
        id: 'pgRssPeakMB',
        label: 'PostgreSQL: server RSS peak',
        value: pg.memory.rssPeakMB,
        unit: 'MB',
      }),
      figure({ id: 'pgSeedSeconds', label: 'PostgreSQL seeding time', value: pg.seedSeconds, unit: 's' }),
    );
    if (pg.exhausted) {
      figures.push(
        figure({
          id: 'pgSeedExhausted',
          label: 'PostgreSQL: ran out of seeded users',
          value: 'yes: partial windows',
        }),
      );
    }
  }

  return {
    figures,
    details: {
      settings: { runs, durationMs, warmupMs, rawMs, syncCheckMs, concurrency, seedMargin: SEED_MARGIN },
      seed: {
        users,
        seconds: seed.seconds,
        usersPerSecond: users / seed.seconds,
        used: queue.used,
        pilotRawPerSecond: pilot.perSecond,
      },
      sqlite: { ...sqlite, effects },
      rawSqlite: raw,
      betterAuth,
      runRatios,
      fsync: {
        ...sync,
        result: undefined,
        perVerification: syncPerVerification,
        verifications: sync.result?.succeeded,
        synchronousSetting,
      },
      postgres: pg,
    },
  };
}
