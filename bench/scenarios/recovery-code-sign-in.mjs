// Recovery-code sign-in over HTTP, end to end, on SQLite.
//
// Each request is the factor step of a sign-in with a recovery code: POST
// /v1/sign-in/second-factor { flowId, recoveryCode }. The server loads the flow, consumes the code
// (a conditional update on its keyed hash: single use), creates the session, counts the codes
// left, writes the recovery_code.use and auth.sign_in audit records and the notification to the
// outbox, in one transaction.
//
// A recovery code works once, so every request needs a code nobody has used: users with a set of
// 10 codes and one pending flow per code are seeded through the repositories before the server
// starts (bench/second-factor.mjs); consecutive requests use different users.
import { join } from 'node:path';
import {
  figure,
  makeTempDir,
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
} from '../second-factor.mjs';

export const name = 'recovery-code-sign-in';
export const description =
  'POST /v1/sign-in/second-factor with a fresh recovery code, c=16, SQLite (synchronous=FULL)';

const CODES_PER_USER = 10;
const SEED_MARGIN = 1.3;
/** Rate the seed is sized for at least (the TOTP target; recovery codes cost about the same). */
const MIN_EXPECTED_PER_SECOND = 2_500;

export async function run({ quick, log }) {
  const runs = quick ? 1 : 3;
  const durationMs = quick ? 3_000 : 8_000;
  const warmupMs = quick ? 1_000 : 2_000;
  const concurrency = 16;

  const dir = makeTempDir();
  const pilot = await rawSqliteDurableTx({ dir: makeTempDir('holdfast-bench-raw-'), durationMs: 1_000 });
  const expectedRate = Math.max(MIN_EXPECTED_PER_SECOND, pilot.perSecond);
  const loadSeconds = (warmupMs + runs * durationMs) / 1000;
  const users = Math.ceil((loadSeconds * expectedRate * SEED_MARGIN) / CODES_PER_USER);
  const masterKey = newMasterKey();
  const db = `sqlite:${join(dir, 'holdfast.db')}`;
  log(`${name}: seeding ${users} users x ${CODES_PER_USER} recovery codes and flows on SQLite`);
  const inst = await openInstallationAt({ db, dataDir: dir, masterKey });
  let seed;
  try {
    seed = await seedSecondFactorUsers(inst, { kind: 'recovery', users, codesPerUser: CODES_PER_USER, log });
  } finally {
    await inst.close();
  }
  log(`${name}: seeded ${seed.credentials.length} codes in ${seed.seconds.toFixed(1)} s`);

  const queue = credentialQueue(seed.credentials);
  const nextBody = () => {
    const c = queue.next();
    return c === null ? null : { flowId: c.flowId, recoveryCode: c.recoveryCode };
  };
  const server = await startServer({ dataDir: dir, env: { HOLDFAST_MASTER_KEY: masterKey } });
  let load;
  try {
    load = await measureSecondFactorLoad({
      server,
      nextBody,
      concurrency,
      runs,
      durationMs,
      warmupMs,
      log,
      label: name,
    });
  } finally {
    await server.stop();
  }
  const effects = await countSignInEffects({ db, dataDir: dir, masterKey, accountId: seed.account.id });
  const s = load.summary;

  return {
    figures: [
      ...(load.exhausted
        ? [figure({ id: 'seedExhausted', label: 'ran out of seeded codes', value: 'yes: partial windows' })]
        : []),
      figure({
        id: 'perSecond',
        label: `recovery-code sign-ins/s (c=${concurrency}, median of ${runs})`,
        value: s.perSecond,
        unit: '/s',
        digits: 0,
      }),
      figure({ id: 'p50Ms', label: 'recovery-code sign-in p50', value: s.p50Ms, unit: 'ms' }),
      figure({ id: 'p99Ms', label: 'recovery-code sign-in p99', value: s.p99Ms, unit: 'ms' }),
      figure({
        id: 'errors',
        label: 'recovery-code sign-in errors (all runs)',
        value: load.errors,
        digits: 0,
        target: { op: '<=', value: 0 },
      }),
      figure({
        id: 'auditRecordsPerSignIn',
        label: 'audit sign-in records per sign-in',
        value: effects.auditSignIns / load.succeeded,
        digits: 3,
        target: { op: '>=', value: 1 },
      }),
      figure({
        id: 'serverCpuMsPerSignIn',
        label: 'server CPU per sign-in (all threads)',
        value: s.serverCpuMsPerRequest,
        unit: 'ms',
        digits: 3,
      }),
      figure({ id: 'serverCores', label: 'server cores used (median)', value: s.serverCores, digits: 2 }),
      figure({
        id: 'foreignCores',
        label: "other processes' load (median, cores)",
        value: s.foreignCores,
        digits: 2,
      }),
      figure({
        id: 'seedCodes',
        label: 'seeded codes (and flows)',
        value: seed.credentials.length,
        digits: 0,
      }),
      figure({ id: 'seedSeconds', label: 'seeding time (not in the rates)', value: seed.seconds, unit: 's' }),
      figure({
        id: 'rssPeakMB',
        label: 'server RSS peak under load',
        value: load.memory.rssPeakMB,
        unit: 'MB',
        target: { op: '<', value: 150 },
      }),
    ],
    details: {
      settings: {
        runs,
        durationMs,
        warmupMs,
        concurrency,
        codesPerUser: CODES_PER_USER,
        seedMargin: SEED_MARGIN,
      },
      seed: {
        users,
        codes: seed.credentials.length,
        seconds: seed.seconds,
        used: queue.used,
        pilotRawPerSecond: pilot.perSecond,
      },
      load,
      effects,
    },
  };
}
