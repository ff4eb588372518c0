// Population: does a big user table slow the hot path or grow the server? The TOTP factor step
// (as in totp-verify) on two SQLite databases that differ only in how many other users they
// hold: 10,000 and 1,000,000 (bulk-seeded with prepared statements, bench/bulk-seed.mjs). Both
// servers run at once and rounds alternate between them, so a noisy minute slows both.
//
// The users the load signs in (each TOTP code works once) are seeded through the repositories on
// top of the population, the same number in both databases.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { bulkSeedUsers } from '../bulk-seed.mjs';
import {
  distModule,
  figure,
  makeTempDir,
  median,
  newMasterKey,
  openInstallationAt,
  startServer,
} from '../lib.mjs';
import {
  countSignInEffects,
  credentialQueue,
  measureSecondFactorLoad,
  seedSecondFactorUsers,
} from '../second-factor.mjs';

export const name = 'population';
export const description =
  'TOTP factor step at c=32 on SQLite holding 10,000 vs 1,000,000 other users (bulk-seeded): p99 ratio, rate, server RSS';

const SMALL = 10_000;
const LARGE = 1_000_000;
const SEED_RATE = 2_000; // verifications/s the signed-in users are sized for
const SEED_MARGIN = 1.2;

export async function run({ quick, log }) {
  const runs = quick ? 1 : 3;
  const durationMs = quick ? 3_000 : 8_000;
  const warmupMs = quick ? 1_000 : 2_000;
  const concurrency = 32;
  const { generateTOTP } = await distModule('core/factors/otp/totp.js');
  const signInUsers = Math.ceil(((warmupMs + runs * durationMs) / 1000) * SEED_RATE * SEED_MARGIN);

  const prepare = async (population) => {
    const dir = makeTempDir();
    const path = join(dir, 'holdfast.db');
    const masterKey = newMasterKey();
    const db = `sqlite:${path}`;
    const inst = await openInstallationAt({ db, dataDir: dir, masterKey });
    let seed;
    try {
      seed = await seedSecondFactorUsers(inst, { kind: 'totp', users: signInUsers, log });
    } finally {
      await inst.close();
    }
    const sealer = await openInstallationAt({ db, dataDir: dir, masterKey });
    let bulk;
    try {
      log(`${name}: bulk seeding ${population} users`);
      bulk = bulkSeedUsers({
        path,
        accountId: seed.account.id,
        count: population,
        secretBox: sealer.secretBox,
        log,
      });
    } finally {
      await sealer.close();
    }
    log(`${name}: ${population} users bulk-seeded in ${bulk.seconds.toFixed(1)} s`);
    const queue = credentialQueue(seed.credentials);
    const nextBody = () => {
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
    return { dir, db, masterKey, seed, bulk, nextBody, fileMB: statSync(path).size / 1024 / 1024 };
  };

  const small = await prepare(SMALL);
  const large = await prepare(LARGE);
  const servers = {};
  const rounds = { small: [], large: [] };
  try {
    for (const [key, p] of [
      ['small', small],
      ['large', large],
    ]) {
      servers[key] = await startServer({
        dataDir: p.dir,
        db: p.db,
        env: { HOLDFAST_MASTER_KEY: p.masterKey },
      });
    }
    for (let i = 0; i < runs; i++) {
      for (const [key, p] of [
        ['small', small],
        ['large', large],
      ]) {
        const load = await measureSecondFactorLoad({
          server: servers[key],
          nextBody: p.nextBody,
          concurrency,
          runs: 1,
          durationMs,
          warmupMs: i === 0 ? warmupMs : 250,
          log,
          label: `${name} ${key === 'small' ? SMALL : LARGE} users round ${i + 1}/${runs}`,
        });
        rounds[key].push({
          ...load.summary,
          succeeded: load.succeeded,
          errors: load.errors,
          memory: load.memory,
        });
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
  const effects = {};
  for (const [key, p] of [
    ['small', small],
    ['large', large],
  ]) {
    const e = await countSignInEffects({
      db: p.db,
      dataDir: p.dir,
      masterKey: p.masterKey,
      accountId: p.seed.account.id,
    });
    effects[key] = e.auditSignIns / rounds[key].reduce((n, r) => n + r.succeeded, 0);
  }
  const pick = (key, field) => median(rounds[key].map((r) => r[field]));
  const p99Ratios = rounds.large.map((r, i) => r.p99Ms / rounds.small[i].p99Ms);
  const errors = [...rounds.small, ...rounds.large].reduce((n, r) => n + r.errors, 0);
  const figures = [
    figure({
      id: 'bulkSeedRate',
      label: `bulk seeding: ${LARGE.toLocaleString('en')} users (principal + TOTP factor) in`,
      value: large.bulk.seconds,
      unit: 's',
    }),
    figure({
      id: 'largeFileMB',
      label: 'database file at 1,000,000 users',
      value: large.fileMB,
      unit: 'MB',
      digits: 0,
    }),
    figure({
      id: 'smallPerSecond',
      label: 'TOTP verifications/s at 10,000 users',
      value: pick('small', 'perSecond'),
      unit: '/s',
      digits: 0,
    }),
    figure({
      id: 'largePerSecond',
      label: 'TOTP verifications/s at 1,000,000 users',
      value: pick('large', 'perSecond'),
      unit: '/s',
      digits: 0,
    }),
    figure({ id: 'smallP99', label: 'TOTP p99 at 10,000 users', value: pick('small', 'p99Ms'), unit: 'ms' }),
    figure({
      id: 'largeP99',
      label: 'TOTP p99 at 1,000,000 users',
      value: pick('large', 'p99Ms'),
      unit: 'ms',
    }),
    figure({
      id: 'p99Ratio',
      label: 'p99 at 1,000,000 users ÷ at 10,000 (median of per-round ratios)',
      value: median(p99Ratios),
      digits: 2,
      target: { op: '<=', value: 1.5 },
    }),
    figure({
      id: 'cpuPerVerification',
      label: 'server CPU per verification, 10,000 / 1,000,000 users',
      value: `${pick('small', 'serverCpuMsPerRequest')?.toFixed(3)} / ${pick('large', 'serverCpuMsPerRequest')?.toFixed(3)} ms`,
    }),
    figure({
      id: 'largeRssPeak',
      label: 'server RSS peak under the TOTP load at 1,000,000 users',
      value: Math.max(...rounds.large.map((r) => r.memory.rssPeakMB)),
      unit: 'MB',
      target: { op: '<', value: 150 },
    }),
    figure({
      id: 'smallRssPeak',
      label: 'server RSS peak under the TOTP load at 10,000 users',
      value: Math.max(...rounds.small.map((r) => r.memory.rssPeakMB)),
      unit: 'MB',
    }),
    figure({
      id: 'errors',
      label: 'verification errors (all rounds)',
      value: errors,
      digits: 0,
      target: { op: '<=', value: 0 },
    }),
    figure({
      id: 'records',
      label: 'audit sign-in records per verification (fewest)',
      value: Math.min(effects.small, effects.large),
      digits: 3,
      target: { op: '>=', value: 1 },
    }),
    figure({
      id: 'foreign',
      label: "other processes' load (median, cores)",
      value: median([...rounds.small, ...rounds.large].map((r) => r.foreignCores)),
      digits: 2,
    }),
  ];
  return {
    figures,
    details: {
      signInUsers,
      runs,
      durationMs,
      concurrency,
      rounds,
      bulkSeconds: { small: small.bulk.seconds, large: large.bulk.seconds },
    },
  };
}
