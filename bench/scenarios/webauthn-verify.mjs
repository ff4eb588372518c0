// WebAuthn assertion verification: in process (server-side verify of a prepared key) against raw
// ECDSA P-256 verification in the same process, and over HTTP end to end on SQLite.
//
// End to end, each verification is a step-up of a live bearer session: POST
// /v1/session/step-up/webauthn/options (a server-side challenge, stored) then POST
// /v1/session/step-up/webauthn with an ES256 assertion signed here for that challenge (W3C
// WebAuthn §6.3.3, the authenticator's side); the server checks the assertion, applies the
// counter rule, uses up the challenge, stores the counter and refreshes the session's MFA, with
// its audit record, through the one second-factor check. One user and session per worker, seeded
// through the repositories before the server starts.
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import {
  closedLoopFn,
  distModule,
  figure,
  makeTempDir,
  median,
  newMasterKey,
  openInstallationAt,
  readCpuMs,
  startServer,
} from '../lib.mjs';

export const name = 'webauthn-verify';
export const description =
  'WebAuthn assertions: in-process verify/s vs raw ECDSA P-256 verify/s; step-up over HTTP at c=16 on SQLite';

const TARGET_E2E_PER_SECOND = 2_000;
const ORIGIN = 'http://localhost:8080';
const RP_ID = 'localhost';

const b64url = (b) => Buffer.from(b).toString('base64url');

/** A software ES256 credential: COSE key for the server, and assertions for challenges. */
async function softCredential() {
  const { isoCBOR } = await import('@simplewebauthn/server/helpers');
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = keys.publicKey.export({ format: 'jwk' });
  const cose = isoCBOR.encode(
    new Map([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x, 'base64url')],
      [-3, Buffer.from(jwk.y, 'base64url')],
    ]),
  );
  const id = randomBytes(32);
  let counter = 0;
  const rpIdHash = createHash('sha256').update(RP_ID).digest();
  return {
    id: b64url(id),
    cose,
    keys,
    assertion(challenge) {
      counter++;
      const count = Buffer.alloc(4);
      count.writeUInt32BE(counter);
      const authData = Buffer.concat([rpIdHash, Buffer.from([0x01]), count]); // UP
      const clientData = Buffer.from(
        JSON.stringify({ type: 'webauthn.get', challenge, origin: ORIGIN, crossOrigin: false }),
      );
      const signature = sign(
        'sha256',
        Buffer.concat([authData, createHash('sha256').update(clientData).digest()]),
        keys.privateKey,
      );
      return {
        id: b64url(id),
        rawId: b64url(id),
        type: 'public-key',
        response: {
          clientDataJSON: b64url(clientData),
          authenticatorData: b64url(authData),
          signature: b64url(signature),
        },
        clientExtensionResults: {},
      };
    },
  };
}

/** Synchronous loop for `ms`: calls per second. */
function rate(fn, ms) {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  return n / (ms / 1000);
}

export async function run({ quick, log }) {
  const runs = quick ? 1 : 3;
  const durationMs = quick ? 3_000 : 8_000;
  const warmupMs = quick ? 1_000 : 2_000;
  const inProcessMs = quick ? 1_000 : 3_000;
  const concurrency = 16;

  // ---- In process -----------------------------------------------------------------------------
  const { verifyAuthentication, preparePublicKey } = await distModule('platform/webauthn.js');
  const cred = await softCredential();
  const prepared = preparePublicKey(cred.cose);
  const challenge = b64url(randomBytes(32));
  const assertion = cred.assertion(challenge);
  const rp = { id: RP_ID, origins: [ORIGIN] };
  const verifyOnce = () => {
    const out = verifyAuthentication({
      response: assertion,
      expectedChallenge: challenge,
      rp,
      credential: { id: cred.id, publicKey: prepared, counter: 0, backupEligible: false },
      requireUserVerification: false,
    });
    if (!out.ok) throw new Error(`in-process verification failed: ${out.reason}`);
  };
  const signed = Buffer.concat([
    Buffer.from(assertion.response.authenticatorData, 'base64url'),
    createHash('sha256').update(Buffer.from(assertion.response.clientDataJSON, 'base64url')).digest(),
  ]);
  const sig = Buffer.from(assertion.response.signature, 'base64url');
  const rawOnce = () => {
    if (!verify('sha256', signed, cred.keys.publicKey, sig)) throw new Error('raw verify failed');
  };
  rate(verifyOnce, 300);
  rate(rawOnce, 300);
  const inProc = [];
  const rawRuns = [];
  for (let i = 0; i < runs; i++) {
    inProc.push(rate(verifyOnce, inProcessMs));
    rawRuns.push(rate(rawOnce, inProcessMs));
    log(
      `${name}: in process run ${i + 1}/${runs}: ${inProc[i].toFixed(0)} verify/s, raw ECDSA ${rawRuns[i].toFixed(0)}/s`,
    );
  }

  // ---- Over HTTP, SQLite ----------------------------------------------------------------------
  const dir = makeTempDir();
  const masterKey = newMasterKey();
  const db = `sqlite:${join(dir, 'holdfast.db')}`;
  const inst = await openInstallationAt({ db, dataDir: dir, masterKey });
  const users = [];
  try {
    const { createSession } = await distModule('app/auth.js');
    const deps = inst.app.deps;
    const ctx = { requestId: 'bench', sourceIp: null, userAgent: 'bench' };
    const boot = await inst.app.bootstrapAccount({
      accountName: `bench-webauthn-${process.pid}`,
      ownerEmail: 'owner@bench.test',
      ctx,
    });
    const now = Date.now();
    for (let u = 0; u < concurrency; u++) {
      const { user } = await inst.app.createUser({
        actor: { kind: 'operator' },
        ctx,
        accountId: boot.account.id,
        email: `user${u}@bench.test`,
        role: 'user',
      });
      const c = await softCredential();
      const factorId = `mfa_bench${u}`;
      await inst.store.transaction(async (tx) => {
        await tx.factors.insert({
          id: factorId,
          accountId: user.accountId,
          principalId: user.id,
          kind: 'webauthn',
          name: 'Bench key',
          status: 'enabled',
          assurance: 'device_bound_key',
          adminProvisioned: false,
          hardwareTokenId: null,
          secretSealed: deps.secretBox.seal(new Uint8Array(0), `factor:${factorId}`),
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
        await tx.webauthn.insertCredential({
          factorId,
          accountId: user.accountId,
          principalId: user.id,
          credentialId: c.id,
          publicKey: new Uint8Array(c.cose),
          algorithm: -7,
          signCount: 0,
          transports: ['usb'],
          aaguid: '00000000-0000-0000-0000-000000000000',
          backupEligible: false,
          backedUp: false,
          userVerified: false,
          attestationFormat: 'none',
          attestationVerified: false,
          aaguidAllowed: false,
          discoverable: false,
          userHandle: b64url(randomBytes(32)),
          createdAt: now,
          lastUsedAt: null,
        });
      });
      const issued = await inst.store.transaction((tx) =>
        createSession(deps, tx, {
          principal: user,
          auth: { methods: ['pwd'], factor: null },
          channel: 'bearer',
          ctx,
        }),
      );
      users.push({ token: issued.token, credential: c });
    }
  } finally {
    await inst.close();
  }

  const server = await startServer({
    dataDir: dir,
    env: { HOLDFAST_MASTER_KEY: masterKey, HOLDFAST_WEBAUTHN_ORIGIN: ORIGIN },
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const post = (path, token, body) =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      const req = http.request(
        `${server.url}${path}`,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': payload.length,
            authorization: `Bearer ${token}`,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode, text }));
        },
      );
      req.once('error', reject);
      req.end(payload);
    });
  const stepUp = async (user) => {
    const options = await post('/v1/session/step-up/webauthn/options', user.token, {});
    if (options.status !== 200) return false;
    const { challengeId, options: request } = JSON.parse(options.text);
    const res = await post('/v1/session/step-up/webauthn', user.token, {
      challengeId,
      credential: user.credential.assertion(request.challenge),
    });
    return res.status === 200;
  };
  // A pool of users, one in flight each: a user's assertions are sequential, as an
  // authenticator's are (its counter only moves forward).
  const free = [...users];
  const oneStepUp = async () => {
    const user = free.pop();
    try {
      return await stepUp(user);
    } finally {
      free.push(user);
    }
  };
  const e2eRuns = [];
  try {
    const loop = (ms) => closedLoopFn({ fn: oneStepUp, concurrency, durationMs: ms });
    log(`${name}: warm-up ${warmupMs} ms`);
    await loop(warmupMs);
    for (let i = 0; i < runs; i++) {
      const before = readCpuMs(server.pid);
      const r = await loop(durationMs);
      const after = readCpuMs(server.pid);
      // Server CPU per verification: a load-independent cost (the machine is shared).
      r.serverCpuMsPerVerification = (after.totalMs - before.totalMs) / Math.max(1, r.completed + r.errors);
      r.serverMainThreadMsPerVerification =
        (after.mainThreadMs - before.mainThreadMs) / Math.max(1, r.completed + r.errors);
      e2eRuns.push(r);
      log(
        `${name}: HTTP run ${i + 1}/${runs}: ${r.perSecond.toFixed(0)} step-ups/s, p99 ${r.p99Ms?.toFixed(1)} ms, errors ${r.errors}`,
      );
    }
  } finally {
    agent.destroy();
    await server.stop();
  }

  const inProcPerSecond = median(inProc);
  const rawPerSecond = median(rawRuns);
  const e2e = median(e2eRuns.map((r) => r.perSecond));
  return {
    figures: [
      figure({
        id: 'inProcessPerSecond',
        label: 'in-process assertion verify/s (prepared key)',
        value: inProcPerSecond,
        unit: '/s',
        digits: 0,
      }),
      figure({
        id: 'rawEcdsaPerSecond',
        label: 'raw ECDSA P-256 verify/s (node:crypto, same process)',
        value: rawPerSecond,
        unit: '/s',
        digits: 0,
      }),
      figure({
        id: 'inProcessToRawRatio',
        label: 'in-process verify/s ÷ raw ECDSA verify/s',
        value: inProcPerSecond / rawPerSecond,
        digits: 2,
      }),
      figure({
        id: 'httpPerSecond',
        label: `HTTP step-up verifications/s (options + assertion, c=${concurrency}, SQLite, median of ${runs})`,
        value: e2e,
        unit: '/s',
        digits: 0,
        target: { op: '>=', value: TARGET_E2E_PER_SECOND },
      }),
      figure({
        id: 'httpToRawRatio',
        label: 'HTTP verifications/s ÷ raw ECDSA verify/s',
        value: e2e / rawPerSecond,
        digits: 3,
      }),
      figure({
        id: 'httpP99Ms',
        label: 'HTTP verification p99 (two requests)',
        value: median(e2eRuns.map((r) => r.p99Ms)),
        unit: 'ms',
      }),
      figure({
        id: 'serverCpuMsPerVerification',
        label: 'server CPU per HTTP verification (all threads)',
        value: median(e2eRuns.map((r) => r.serverCpuMsPerVerification)),
        unit: 'ms',
        digits: 2,
      }),
      figure({
        id: 'serverCapacityPerCore',
        label: 'HTTP verifications/s one server core could do (1000 ÷ event-loop ms each)',
        value: 1000 / median(e2eRuns.map((r) => r.serverMainThreadMsPerVerification)),
        unit: '/s',
        digits: 0,
      }),
      figure({
        id: 'httpErrors',
        label: 'HTTP verification errors (all runs)',
        value: e2eRuns.reduce((a, r) => a + r.errors, 0),
        digits: 0,
        target: { op: '<=', value: 0 },
      }),
    ],
    details: { concurrency, runs, durationMs, inProcess: inProc, raw: rawRuns, http: e2eRuns },
  };
}
