// The baseline for the TOTP bench: Better Auth's twoFactor plugin verifying a TOTP code at the
// second step of a sign-in (POST /api/auth/two-factor/verify-totp with the pending two-factor
// cookie), on its documented SQLite set-up (bench/better-auth-server.mjs), measured on this
// machine in the same bench run as Holdfast's POST /v1/sign-in/second-factor.
//
// Both requests do the same job: find the pending sign-in, check the code, end the pending step
// and create a session. Each pending sign-in is used once (Better Auth consumes the two-factor
// cookie's record), so thousands are made before the clock starts, as Holdfast's flows are seeded.
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { closedLoop, median, pickFreePort, readCpuMs, ROOT, sleep, spawnTracked } from './lib.mjs';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text) {
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const v = BASE32.indexOf(ch);
    if (v < 0) throw new Error(`not Base32: ${ch}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s) for raw key bytes at `timeMs`. */
function totp(key, timeMs) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(timeMs / 30_000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

/** The `name=value` pairs of a response's Set-Cookie headers. */
function cookiesOf(headers) {
  const set = headers['set-cookie'] ?? [];
  return Object.fromEntries(
    set
      .map((line) => line.split(';')[0])
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

/** A JSON POST that also answers the response's cookies. */
async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, cookies: cookiesOf({ 'set-cookie': res.headers.getSetCookie() }) };
}

/** Runs `fn(i)` for i in [0, n) with at most `parallel` at once. */
async function pool(n, parallel, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function startBetterAuth(dir, log) {
  const port = await pickFreePort();
  const child = spawnTracked(
    process.execPath,
    [join(ROOT, 'bench', 'better-auth-server.mjs'), join(dir, 'better-auth.db'), String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } },
  );
  let output = '';
  child.stderr.on('data', (c) => (output += c));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Better Auth did not start: ${output}`)), 30_000);
    child.stdout.on('data', (c) => {
      output += c;
      if (output.includes(`ready ${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`Better Auth exited (${code}): ${output}`)));
  });
  log(`better-auth: listening on 127.0.0.1:${port} (pid ${child.pid})`);
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

/**
 * Measures Better Auth's verify-totp at the sign-in step: `runs` closed-loop runs of `durationMs`
 * at `concurrency` after a warm-up, on a fresh SQLite database in `dir`. Answers the median rate
 * and latencies, per-run figures and the server's CPU per verification.
 */
export async function measureBetterAuthTotp({
  dir,
  concurrency,
  runs,
  durationMs,
  warmupMs,
  log,
  users = 100,
}) {
  const server = await startBetterAuth(dir, log);
  const api = `${server.url}/api/auth`;
  const origin = { origin: server.url };
  try {
    // Users with TOTP enabled and verified, through Better Auth's own endpoints.
    const accounts = [];
    await pool(users, 8, async (i) => {
      const email = `person-${i}@bench.test`;
      const password = `bench-password-${i}`;
      const up = await post(`${api}/sign-up/email`, { email, password, name: `Person ${i}` }, origin);
      if (up.status !== 200) throw new Error(`sign-up answered ${up.status}: ${up.text}`);
      const session = `better-auth.session_token=${up.cookies['better-auth.session_token']}`;
      const enabled = await post(`${api}/two-factor/enable`, { password }, { ...origin, cookie: session });
      if (enabled.status !== 200)
        throw new Error(`two-factor/enable answered ${enabled.status}: ${enabled.text}`);
      const secret = new URL(JSON.parse(enabled.text).totpURI).searchParams.get('secret');
      const key = base32Decode(secret);
      const verified = await post(
        `${api}/two-factor/verify-totp`,
        { code: totp(key, Date.now()) },
        { ...origin, cookie: session },
      );
      if (verified.status !== 200)
        throw new Error(`verify-totp (enrol) answered ${verified.status}: ${verified.text}`);
      accounts.push({ email, password, key });
    });

    // Pending sign-ins: the password step done, the two-factor cookie in hand.
    const pending = [];
    const signIn = async (i) => {
      const a = accounts[i % accounts.length];
      const res = await post(`${api}/sign-in/email`, { email: a.email, password: a.password }, origin);
      const twoFactor = res.cookies['better-auth.two_factor'];
      if (res.status !== 200 || !twoFactor) throw new Error(`sign-in answered ${res.status}: ${res.text}`);
      pending.push({ key: a.key, cookie: `better-auth.two_factor=${twoFactor}` });
    };
    const seed = async (n) => {
      const t0 = performance.now();
      const from = pending.length;
      await pool(n, 16, (i) => signIn(from + i));
      return (performance.now() - t0) / 1000;
    };
    let taken = 0;
    const next = () => {
      const p = pending[taken++];
      if (p === undefined) return null;
      return { body: { code: totp(p.key, Date.now()) }, headers: { ...origin, cookie: p.cookie } };
    };
    const check = (status, text) => status === 200 && text.includes('"token"');

    // A pilot sizes the seed for the timed runs.
    const pilotMs = 3_000;
    const pilotSeconds = await seed(500);
    const t0 = performance.now();
    const pilot = await closedLoop({
      url: `${api}/two-factor/verify-totp`,
      next,
      concurrency,
      durationMs: pilotMs,
      check,
    });
    if (pilot.succeeded === 0) throw new Error(`better-auth pilot failed: ${pilot.firstError}`);
    // Verifications answered per second, late ones included (a slow server answers after the window).
    const pilotRate = pilot.succeeded / ((performance.now() - t0) / 1000);
    const needed = Math.ceil(((warmupMs + runs * durationMs) / 1000) * pilotRate * 1.5) + concurrency;
    const seconds = pilotSeconds + (await seed(Math.max(0, needed - (pending.length - taken))));
    log(
      `better-auth: pilot ${pilotRate.toFixed(0)}/s; ${pending.length} pending sign-ins made in ${seconds.toFixed(1)} s`,
    );

    await closedLoop({
      url: `${api}/two-factor/verify-totp`,
      next,
      concurrency,
      durationMs: warmupMs,
      check,
    });
    const results = [];
    for (let i = 0; i < runs; i++) {
      const cpu0 = readCpuMs(server.pid).totalMs ?? 0;
      const r = await closedLoop({
        url: `${api}/two-factor/verify-totp`,
        next,
        concurrency,
        durationMs,
        check,
      });
      const cpu1 = readCpuMs(server.pid).totalMs ?? 0;
      r.serverCpuMsPerRequest = (cpu1 - cpu0) / Math.max(1, r.succeeded + r.errors);
      results.push(r);
      log(
        `better-auth: run ${i + 1}/${runs}: ${r.perSecond.toFixed(0)}/s, p50 ${r.p50Ms?.toFixed(1)} ms, ` +
          `p99 ${r.p99Ms?.toFixed(1)} ms, ${r.errors} errors${r.exhausted ? ' (ran out of pending sign-ins)' : ''}`,
      );
      if (r.errors) log(`better-auth: first error: ${r.firstError}`);
      await sleep(200);
    }
    return {
      perSecond: median(results.map((r) => r.perSecond)),
      p50Ms: median(results.map((r) => r.p50Ms)),
      p99Ms: median(results.map((r) => r.p99Ms)),
      serverCpuMsPerRequest: median(results.map((r) => r.serverCpuMsPerRequest)),
      errors: results.reduce((a, r) => a + r.errors, 0),
      runs: results,
    };
  } finally {
    await server.stop();
  }
}
