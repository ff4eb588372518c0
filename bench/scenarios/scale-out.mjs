// Scale-out: the TOTP factor step (as in totp-verify) served by one process and by
// `holdfast serve --workers 2`, on SQLite and on PostgreSQL, in the same run.
//
// Both servers run at once on the same database (seeded once, before they start); rounds
// alternate between them so that a noisy minute on the shared machine slows both. The figure
// that matters is the ratio two processes ÷ one, measured under the same conditions.
import { join } from 'node:path';
import {
  createBenchPostgres,
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

export const name = 'scale-out';
export const description =
  'TOTP factor step at c=32 with --workers 1 and --workers 2 on one database, SQLite and PostgreSQL: rates and the ratio two ÷ one';

const SEED_RATE = 2_500; // verifications/s the seed is sized for (a run that runs out says so)
const SEED_MARGIN = 1.2;
const TARGET_PG_TWO_PROCESSES = 2_000;
const TARGET_RATIO = 1.4;

export async function run({ quick, log }) {
  const runs = quick ? 1 : 3;
  const durationMs = quick ? 3_000 : 8_000;
  const warmupMs = quick ? 1_000 : 2_000;
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
  const loadSeconds = (2 * (warmupMs + runs * durationMs)) / 1000;
  const users = Math.ceil(loadSeconds * SEED_RATE * SEED_MARGIN);

  const measure = async (kind, db, dataDir, masterKey) => {
    log(`${name} ${kind}: seeding ${users} users`);
    const inst = await openInstallationAt({ db, dataDir, masterKey });
    let seed;
    try {
      seed = await seedSecondFactorUsers(inst, {
        kind: 'totp',
        users,
        parallel: kind === 'postgres' ? 4 : 1,
        log,
      });
    } finally {
      await inst.close();
    }
    log(`${name} ${kind}: seeded in ${seed.seconds.toFixed(1)} s`);
    const nextBody = bodyFrom(credentialQueue(seed.credentials));
    const env = { HOLDFAST_MASTER_KEY: masterKey };
    const one = await startServer({ dataDir, db, env, workers: 1 });
    const two = await startServer({ dataDir, db, env, workers: 2 });
    const rounds = { 1: [], 2: [] };
    try {
      for (let i = 0; i < runs; i++) {
        for (const [workers, server] of [
          [1, one],
          [2, two],
        ]) {
          const load = await measureSecondFactorLoad({
            server,
            nextBody,
            concurrency,
            runs: 1,
            durationMs,
            warmupMs: i === 0 ? warmupMs : 250,
            log,
            label: `${name} ${kind} workers=${workers} round ${i + 1}/${runs}`,
          });
          rounds[workers].push({
            ...load.summary,
            succeeded: load.succeeded,
            errors: load.errors,
            memory: load.memory,
          });
        }
      }
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
    const effects = await countSignInEffects({ db, dataDir, masterKey, accountId: seed.account.id });
    const succeeded = [...rounds[1], ...rounds[2]].reduce((n, r) => n + r.succeeded, 0);
    const pick = (w, key) => median(rounds[w].map((r) => r[key]));
    return {
      seedSeconds: seed.seconds,
      rounds,
      one: {
        perSecond: pick(1, 'perSecond'),
        p99Ms: pick(1, 'p99Ms'),
        cpuMs: pick(1, 'serverCpuMsPerRequest'),
        cores: pick(1, 'serverCores'),
        foreign: pick(1, 'foreignCores'),
      },
      two: {
        perSecond: pick(2, 'perSecond'),
        p99Ms: pick(2, 'p99Ms'),
        cpuMs: pick(2, 'serverCpuMsPerRequest'),
        cores: pick(2, 'serverCores'),
        foreign: pick(2, 'foreignCores'),
        rssPeakMB: Math.max(...rounds[2].map((r) => r.memory.rssPeakMB)),
      },
      ratios: rounds[2].map((r, i) => r.perSecond / rounds[1][i].perSecond),
      errors: [...rounds[1], ...rounds[2]].reduce((n, r) => n + r.errors, 0),
      exhausted: [...rounds[1], ...rounds[2]].some((r) => r.exhausted),
      recordsPerSuccess: effects.auditSignIns / succeeded,
    };
  };

  const results = {};
  const dir = makeTempDir();
  results.sqlite = await measure('sqlite', `sqlite:${join(dir, 'holdfast.db')}`, dir, newMasterKey());
  const pgDb = await createBenchPostgres();
  if (pgDb.skipped) {
    results.postgres = { skipped: pgDb.skipped };
  } else {
    try {
      results.postgres = await measure('postgres', pgDb.url, makeTempDir(), newMasterKey());
    } finally {
      await pgDb.drop().catch((err) => log(`${name}: could not drop ${pgDb.name}: ${err.message}`));
    }
  }

  const figures = [];
  for (const kind of ['sqlite', 'postgres']) {
    const r = results[kind];
    const label = kind === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    if (r.skipped) {
      figures.push(figure({ id: `${kind}Skipped`, label: `${label}: skipped: ${r.skipped}`, value: null }));
      continue;
    }
    figures.push(
      figure({
        id: `${kind}OnePerSecond`,
        label: `${label} TOTP verifications/s, one process`,
        value: r.one.perSecond,
        unit: '/s',
        digits: 0,
      }),
      figure({
        id: `${kind}TwoPerSecond`,
        label: `${label} TOTP verifications/s, --workers 2`,
        value: r.two.perSecond,
        unit: '/s',
        digits: 0,
        target: kind === 'postgres' ? { op: '>=', value: TARGET_PG_TWO_PROCESSES } : undefined,
      }),
      figure({
        id: `${kind}Ratio`,
        label: `${label} two processes ÷ one (median of per-round ratios)`,
        value: median(r.ratios),
        digits: 2,
        target: { op: '>=', value: TARGET_RATIO },
      }),
      figure({
        id: `${kind}OneP99`,
        label: `${label} p99, one process / --workers 2`,
        value: `${r.one.p99Ms?.toFixed(1)} / ${r.two.p99Ms?.toFixed(1)} ms`,
      }),
      figure({
        id: `${kind}Cpu`,
        label: `${label} server CPU per verification (all processes), one / two`,
        value: `${r.one.cpuMs?.toFixed(3)} / ${r.two.cpuMs?.toFixed(3)} ms`,
      }),
      figure({
        id: `${kind}Cores`,
        label: `${label} server cores used, one / two`,
        value: `${r.one.cores?.toFixed(2)} / ${r.two.cores?.toFixed(2)}`,
      }),
      figure({
        id: `${kind}Errors`,
        label: `${label} errors (all rounds)${r.exhausted ? ' (ran out of seeded users)' : ''}`,
        value: r.errors,
        digits: 0,
        target: { op: '<=', value: 0 },
      }),
      figure({
        id: `${kind}Records`,
        label: `${label} audit sign-in records per verification`,
        value: r.recordsPerSuccess,
        digits: 3,
        target: { op: '>=', value: 1 },
      }),
      figure({
        id: `${kind}Rss`,
        label: `${label} largest worker's RSS peak, --workers 2`,
        value: r.two.rssPeakMB,
        unit: 'MB',
        target: { op: '<', value: 150 },
      }),
      figure({
        id: `${kind}Foreign`,
        label: `${label} other processes' load (cores), one / two`,
        value: `${r.one.foreign?.toFixed(2)} / ${r.two.foreign?.toFixed(2)}`,
      }),
    );
  }
  return { figures, details: { users, runs, durationMs, concurrency, results } };
}
