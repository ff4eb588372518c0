/**
 * The README's promise on a fresh clone: `npm test` passes on a machine with only Node.js and
 * npm. The repository, cloned at its committed HEAD into a temporary folder, runs the test
 * harness's skip logic (scripts/external-clients.mjs) with a PATH that holds none of the
 * independent clients: one loud banner names each missing program and the exact apt-get line,
 * exit status 0; with CI=1 (or CI=true) the same run fails. The clone's RFC 4226 / RFC 6238
 * vector suites pass there, reading only the clone (its node_modules points at this checkout's:
 * no npm install). And `holdfast --version` prints package.json's version.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, assertCliBuilt } from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every client the full suite drives, as the banner names it, with its Debian package. */
const CLIENTS = [
  { name: 'oathtool', pkg: 'oathtool' },
  { name: 'pass (with gpg)', pkg: 'pass' },
  { name: 'pass otp (the pass extension)', pkg: 'pass-extension-otp' },
  { name: 'python3 that imports pskc', pkg: 'python3-pskc' },
  { name: 'python3 that imports boto3 (the AWS SDK for Python)', pkg: 'python3-boto3' },
  { name: 'aws (the AWS CLI)', pkg: 'awscli' },
  { name: 'chromium', pkg: 'chromium' },
];
const APT_LINE = `${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install -y --no-install-recommends ${CLIENTS.map((c) => c.pkg).join(' ')}`;

describe('a fresh clone on a machine without the external clients', () => {
  let dir: string;
  let clone: string;
  /** A PATH with node alone: no oathtool, pass, gpg, python3, aws or chromium. */
  let bareBin: string;

  /** The environment of a machine without the clients: no CI, no interpreter override. */
  function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { HOME: dir, PATH: bareBin, ...extra };
    return env;
  }

  function skipLogic(extra: Record<string, string> = {}, args: string[] = []) {
    return spawnSync(process.execPath, [join(clone, 'scripts/external-clients.mjs'), ...args], {
      cwd: clone,
      env: bareEnv(extra),
      encoding: 'utf8',
    });
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'holdfast-clone-'));
    clone = join(dir, 'holdfast');
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone], { stdio: 'pipe' });
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    bareBin = join(dir, 'bin');
    mkdirSync(bareBin);
    symlinkSync(process.execPath, join(bareBin, 'node'));
  });

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('is the committed HEAD of this repository', () => {
    const head = (cwd: string) =>
      execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    expect(head(clone)).toBe(head(ROOT));
  });

  it('finds none of the clients on that PATH', () => {
    const result = skipLogic({}, ['--json']);
    const found = JSON.parse(result.stdout) as Record<string, string | null>;
    expect(Object.values(found)).toHaveLength(CLIENTS.length);
    expect(Object.values(found).every((path) => path === null)).toBe(true);
  });

  it('without CI: one banner naming each missing program and the apt-get line, exit status 0', () => {
    const result = skipLogic();
    expect(result.status, result.stderr).toBe(0);
    const banners = result.stderr.match(/^!{78}$/gm) ?? [];
    expect(banners).toHaveLength(2); // one banner: its top and bottom rules
    expect(result.stderr).toContain(`${CLIENTS.length} external client(s) missing`);
    expect(result.stderr).toContain('SKIPPED');
    for (const client of CLIENTS) {
      expect(result.stderr).toMatch(
        new RegExp(`^!! +${client.name.replace(/[()]/g, '\\$&')} \\[Debian: ${client.pkg}\\]`, 'm'),
      );
    }
    expect(result.stderr).toContain(`!!   ${APT_LINE}\n`);
  });

  it.each(['1', 'true'])('with CI=%s: the same banner and a non-zero exit status', (ci) => {
    const result = skipLogic({ CI: ci });
    expect(result.status).not.toBe(0);
    expect(result.status).not.toBeNull();
    expect(result.stderr).toContain('CI requires every one: the run FAILS');
    expect(result.stderr).toContain(`!!   ${APT_LINE}\n`);
  });

  it("passes the clone's own RFC 4226 / RFC 6238 vector suites there, skipping only the oathtool cross-checks", () => {
    const result = spawnSync(
      process.execPath,
      [
        join(clone, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--reporter=json',
        'src/core/factors/otp/hotp.test.ts',
        'src/core/factors/otp/totp.test.ts',
      ],
      { cwd: clone, env: bareEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as {
      numFailedTests: number;
      numPassedTests: number;
      testResults: Array<{ name: string; assertionResults: Array<{ title: string; status: string }> }>;
    };
    expect(report.numFailedTests).toBe(0);
    // Every file the run read is the clone's.
    expect(report.testResults.map((file) => file.name.startsWith(clone))).toEqual([true, true]);
    const tests = report.testResults.flatMap((file) => file.assertionResults);
    const rfc = tests.filter((test) => /RFC (4226|6238)/.test(test.title) && !/oathtool/.test(test.title));
    expect(rfc.length).toBeGreaterThanOrEqual(3);
    expect(rfc.every((test) => test.status === 'passed')).toBe(true);
    const skipped = tests.filter((test) => test.status !== 'passed');
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((test) => test.status === 'skipped' && /oathtool/.test(test.title))).toBe(true);
  });
});

describe('holdfast --version', () => {
  it("prints package.json's version", () => {
    assertCliBuilt();
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const out = execFileSync(process.execPath, [CLI_PATH, flag], { encoding: 'utf8' });
      expect(out.trim()).toBe(version);
    }
  });
});
