// PSKC import of 10,000 hardware tokens with the CLI, plain and encrypted with a pre-shared key.
//
// The files come from an independent tool, Debian's python3-pskc (test/fixtures/pskc/generate.py,
// run with /usr/bin/python3 where the module lives). Each timed run is a whole CLI invocation on a
// fresh SQLite database that holds one bootstrapped account: from spawning
// `holdfast tokens import FILE --account A [--key HEX] --json` to its exit (Node start-up, parsing
// and, for the encrypted file, decrypting and MAC-checking every seed, sealing each under the master
// key, inserting the inventory, the audit record).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CLI,
  ROOT,
  figure,
  makeTempDir,
  median,
  removeTempDir,
  runCli,
  sampleRss,
  serverEnv,
  spawnTracked,
} from '../lib.mjs';

export const name = 'pskc-import';
export const description =
  '`holdfast tokens import` of a 10,000-token PSKC file (python3-pskc), plain and pre-shared-key encrypted, fresh SQLite';

const PYTHON = '/usr/bin/python3'; // Debian's interpreter: python3-pskc is in its dist-packages
const GENERATOR = join(ROOT, 'test', 'fixtures', 'pskc', 'generate.py');
const ACCOUNT = 'tokens';

/** Runs the generator with `request` on stdin; resolves with the PSKC XML written to `path`. */
function generatePskc(request, path) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON,
      [GENERATOR],
      { cwd: ROOT, maxBuffer: 256 * 1024 * 1024, encoding: 'buffer', timeout: 300_000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`generate.py failed: ${err.message}\n${stderr}`));
          return;
        }
        writeFileSync(path, stdout);
        resolve(path);
      },
    );
    child.stdin.end(JSON.stringify(request));
  });
}

/** Why the scenario cannot run here, or null. */
async function missingPrerequisite() {
  const help = await new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'tokens', 'import', '--help'],
      { cwd: ROOT, env: serverEnv() },
      (err, stdout) => resolve(err ? null : stdout),
    );
  });
  if (help === null || !help.includes('--account')) return 'tokens import command missing';
  if (!existsSync(PYTHON) || !existsSync(GENERATOR)) return `${PYTHON} or ${GENERATOR} missing`;
  const hasPskc = await new Promise((resolve) =>
    execFile(PYTHON, ['-c', 'import pskc'], (err) => resolve(err === null)),
  );
  if (!hasPskc) return 'python3-pskc is not installed for /usr/bin/python3';
  return null;
}

/** One timed import on a fresh SQLite database: wall seconds, the CLI's JSON, its peak RSS. */
async function timedImport({ file, keyHex, log, label }) {
  const dir = makeTempDir();
  const db = `sqlite:${join(dir, 'holdfast.db')}`;
  try {
    await runCli([
      'bootstrap',
      '--account',
      ACCOUNT,
      '--owner-email',
      `owner@${ACCOUNT}.test`,
      '--db',
      db,
      '--data-dir',
      dir,
      '--json',
    ]);
    const args = [
      CLI,
      'tokens',
      'import',
      file,
      '--account',
      ACCOUNT,
      '--db',
      db,
      '--data-dir',
      dir,
      '--json',
    ];
    if (keyHex) args.push('--key', keyHex);
    const t0 = performance.now();
    const child = spawnTracked(process.execPath, args, {
      cwd: ROOT,
      env: serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const rss = sampleRss(child.pid, 20);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    const code = await new Promise((resolve) => child.once('exit', (c, signal) => resolve(c ?? signal)));
    const seconds = (performance.now() - t0) / 1000;
    const { peakMB } = rss.stop();
    if (code !== 0)
      throw new Error(`${label}: tokens import exited with ${code}: ${stderr.trim() || stdout.trim()}`);
    const out = JSON.parse(stdout);
    // What the inventory holds afterwards, read from the database rather than the CLI's report.
    const { default: Database } = await import('better-sqlite3');
    const check = new Database(join(dir, 'holdfast.db'), { readonly: true });
    let stored;
    try {
      stored = check.prepare('SELECT count(*) AS n FROM hardware_tokens').get().n;
    } finally {
      check.close();
    }
    log(
      `${label}: ${out.imported} tokens reported, ${stored} stored, in ${seconds.toFixed(2)} s; ` +
        `CLI peak RSS ${peakMB.toFixed(0)} MB`,
    );
    return { seconds, imported: out.imported, stored, peakRssMB: peakMB, importId: out.importId };
  } finally {
    removeTempDir(dir);
  }
}

export async function run({ quick, log }) {
  const runs = quick ? 1 : 3;
  const count = 10_000;

  const missing = await missingPrerequisite();
  if (missing) {
    log(`${name}: skipped: ${missing}`);
    return {
      figures: [figure({ id: 'skipped', label: 'PSKC import', value: `skipped: ${missing}` })],
      details: { skipped: missing },
    };
  }

  const dir = makeTempDir('holdfast-bench-pskc-');
  const plainFile = join(dir, 'plain.pskcxml');
  const encryptedFile = join(dir, 'encrypted.pskcxml');
  const keyHex = randomBytes(16).toString('hex');
  const t0 = performance.now();
  await Promise.all([
    generatePskc({ bulk: { count, algorithm: 'totp' } }, plainFile),
    generatePskc(
      {
        bulk: { count, algorithm: 'totp' },
        encryption: {
          keyHex,
          macKeyHex: randomBytes(20).toString('hex'),
          algorithm: 'aes128-cbc',
          macAlgorithm: 'hmac-sha1',
          keyName: 'Pre-shared-key',
        },
      },
      encryptedFile,
    ),
  ]);
  const generateSeconds = (performance.now() - t0) / 1000;
  log(
    `${name}: generated ${count}-token files with python3-pskc in ${generateSeconds.toFixed(1)} s ` +
      `(plain ${(statSync(plainFile).size / 1e6).toFixed(1)} MB, encrypted ${(statSync(encryptedFile).size / 1e6).toFixed(1)} MB)`,
  );

  const plain = [];
  const encrypted = [];
  for (let i = 0; i < runs; i++) {
    plain.push(await timedImport({ file: plainFile, log, label: `${name} plain ${i + 1}/${runs}` }));
    encrypted.push(
      await timedImport({ file: encryptedFile, keyHex, log, label: `${name} encrypted ${i + 1}/${runs}` }),
    );
  }
  const plainSeconds = median(plain.map((r) => r.seconds));
  const encryptedSeconds = median(encrypted.map((r) => r.seconds));
  const minStored = Math.min(...plain.map((r) => r.stored), ...encrypted.map((r) => r.stored));

  return {
    figures: [
      figure({
        id: 'plainSeconds',
        label: `plain ${count}-token import (median of ${runs})`,
        value: plainSeconds,
        unit: 's',
        digits: 2,
      }),
      figure({
        id: 'plainTokensPerSecond',
        label: 'plain import rate',
        value: count / plainSeconds,
        unit: 'tokens/s',
        digits: 0,
      }),
      figure({
        id: 'encryptedSeconds',
        label: `encrypted (PSK) ${count}-token import (median of ${runs})`,
        value: encryptedSeconds,
        unit: 's',
        digits: 2,
      }),
      figure({
        id: 'encryptedTokensPerSecond',
        label: 'encrypted import rate',
        value: count / encryptedSeconds,
        unit: 'tokens/s',
        digits: 0,
      }),
      figure({
        id: 'tokensStored',
        label: 'tokens in the inventory after each run (fewest)',
        value: minStored,
        digits: 0,
        target: { op: '>=', value: count },
      }),
      figure({
        id: 'cliPeakRssMB',
        label: 'CLI peak RSS during import (largest)',
        value: Math.max(...plain.map((r) => r.peakRssMB), ...encrypted.map((r) => r.peakRssMB)),
        unit: 'MB',
      }),
      figure({
        id: 'generateSeconds',
        label: 'python3-pskc generation (both files)',
        value: generateSeconds,
        unit: 's',
      }),
    ],
    details: {
      settings: { runs, count, python: PYTHON, generator: GENERATOR, encryption: 'aes128-cbc + hmac-sha1' },
      files: { plainBytes: statSync(plainFile).size, encryptedBytes: statSync(encryptedFile).size },
      plain,
      encrypted,
    },
  };
}
