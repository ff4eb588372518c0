#!/usr/bin/env node
// The independent programs the test suite drives (Debian packages), found the way the suites
// call them. The vitest suites ask `externalClientsToSkip()` whether to skip; `npm test` prints
// `missingClientsBanner()` at the end of the run. Outside CI a missing client skips the suites
// that need it, loudly; in CI (CI=1 or CI=true) a missing client fails the run.
//
// Run on its own: `node scripts/external-clients.mjs` prints what is missing and the apt-get
// line that installs it; exit status 0, or 1 in CI when anything is missing. `--json` prints
// what was found.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Each client: the program(s) it needs on PATH, the Debian package(s) that bring them, and the
 * tests that need it (skipped without it).
 */
export const EXTERNAL_CLIENTS = [
  {
    id: 'oathtool',
    name: 'oathtool',
    programs: ['oathtool'],
    packages: ['oathtool'],
    neededBy:
      'the oathtool cross-checks of the HOTP/TOTP unit tests; the CLI, AWS API, hardware-token and browser suites that take codes from it',
  },
  {
    id: 'pass',
    name: 'pass (with gpg)',
    programs: ['pass', 'gpg', 'gpgconf'],
    packages: ['pass'],
    neededBy: 'the "pass otp" suites (a TOTP secret in a password store, codes from a script)',
  },
  {
    id: 'pass-otp',
    name: 'pass otp (the pass extension)',
    programs: [],
    packages: ['pass-extension-otp'],
    neededBy: 'the "pass otp" suites',
  },
  {
    id: 'python3-pskc',
    name: 'python3 that imports pskc',
    programs: [],
    packages: ['python3-pskc'],
    neededBy:
      'the PSKC (RFC 6030) parser tests and every suite that imports a PSKC file written by python3-pskc',
  },
  {
    id: 'python3-boto3',
    name: 'python3 that imports boto3 (the AWS SDK for Python)',
    programs: [],
    packages: ['python3-boto3'],
    neededBy: 'the boto3 suite of the IAM Query API',
  },
  {
    id: 'aws',
    name: 'aws (the AWS CLI)',
    programs: ['aws'],
    packages: ['awscli'],
    neededBy: 'the AWS CLI suites (IAM/STS Query API, credential_process)',
  },
  {
    id: 'chromium',
    name: 'chromium',
    programs: ['chromium'],
    packages: ['chromium'],
    neededBy: 'the browser suites (web console, WebAuthn passkeys)',
  },
];

/** Environment variable through which `npm test` hands what it found to the vitest workers. */
export const FOUND_VARIABLE = 'HOLDFAST_TEST_CLIENTS';

/** CI=1 or CI=true: a missing client fails the run instead of skipping suites. */
export function clientsRequired(env = process.env) {
  return env.CI === '1' || env.CI === 'true';
}

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The folders of PATH in search order, /usr/bin first when PATH has it: Debian's packages install
 * there, and an earlier copy (a pyenv shim, an AWS CLI v1, a python3 that does not see
 * python3-pskc) is not the program the suites were written against.
 */
function searchPath(env) {
  const dirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  return dirs.includes('/usr/bin') ? ['/usr/bin', ...dirs.filter((dir) => dir !== '/usr/bin')] : dirs;
}

/** Absolute path of a program found on PATH (see searchPath), or null. */
export function findProgram(name, env = process.env) {
  for (const dir of searchPath(env)) {
    const file = resolve(dir, name);
    if (executable(file)) return file;
  }
  return null;
}

/** The python3 the PSKC suites run: HOLDFAST_TEST_PYTHON, else the first python3 on PATH that imports pskc. */
function findPskcPython(env) {
  const candidates = env.HOLDFAST_TEST_PYTHON
    ? [env.HOLDFAST_TEST_PYTHON]
    : searchPath(env)
        .map((dir) => resolve(dir, 'python3'))
        .filter(executable);
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import pskc'], { stdio: 'ignore', timeout: 20_000 });
    if (probe.status === 0) return python;
  }
  return null;
}

/**
 * The python3 the boto3 suite runs: HOLDFAST_TEST_BOTO3_PYTHON, else the first python3 on PATH
 * (Debian's /usr/bin first, see searchPath) that imports boto3.
 */
function findBotoPython(env) {
  const candidates = env.HOLDFAST_TEST_BOTO3_PYTHON
    ? [env.HOLDFAST_TEST_BOTO3_PYTHON]
    : searchPath(env)
        .map((dir) => resolve(dir, 'python3'))
        .filter(executable);
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import boto3'], { stdio: 'ignore', timeout: 20_000 });
    if (probe.status === 0) return python;
  }
  return null;
}

/**
 * Where each client is: `{ oathtool: '/usr/bin/oathtool', 'python3-pskc': '/usr/bin/python3',
 * 'pass-otp': '/usr/lib/password-store/extensions/otp.bash', ... }`, null for a missing one.
 */
export function detectExternalClients(env = process.env) {
  const found = {};
  for (const client of EXTERNAL_CLIENTS) {
    const paths = client.programs.map((program) => findProgram(program, env));
    found[client.id] = paths.every((path) => path !== null) ? paths[0] : null;
  }
  // pass looks for extensions in its system folder, <prefix>/lib/password-store/extensions.
  const pass = found.pass;
  const extension = pass && join(dirname(pass), '..', 'lib', 'password-store', 'extensions', 'otp.bash');
  found['pass-otp'] = extension && executableOrReadable(extension) ? resolve(extension) : null;
  found['python3-pskc'] = findPskcPython(env);
  found['python3-boto3'] = findBotoPython(env);
  return found;
}

function executableOrReadable(file) {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The clients missing from a detection result, in EXTERNAL_CLIENTS order. */
export function missingClients(found) {
  return EXTERNAL_CLIENTS.filter((client) => !found[client.id]);
}

/** The command that installs the Debian packages of these clients. */
export function aptInstallLine(clients, { root = process.getuid?.() === 0 } = {}) {
  const packages = [...new Set(clients.flatMap((client) => client.packages))];
  return `${root ? '' : 'sudo '}apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

/**
 * One loud banner naming each missing program, what needs it and the apt-get line that installs
 * it. `before`: other lines to put in the same banner (npm test's note on PostgreSQL).
 */
export function missingClientsBanner(
  missing,
  { required = clientsRequired(), before = [], ...options } = {},
) {
  if (missing.length === 0 && before.length === 0) return '';
  const line = '!'.repeat(78);
  const clientRows =
    missing.length === 0
      ? []
      : [
          required
            ? `${missing.length} external client(s) missing, and CI requires every one: the run FAILS.`
            : `${missing.length} external client(s) missing: the tests that need them are SKIPPED.`,
          ...missing.map(
            (client) =>
              `  ${client.name} [Debian: ${client.packages.join(' ')}], needed by ${client.neededBy}`,
          ),
          `Install them with:`,
          `  ${aptInstallLine(missing, options)}`,
          `or every package the full suite uses with: npm run test:deps`,
        ];
  return [line, ...[...before, ...clientRows].map((row) => `!! ${row}`), line].join('\n');
}

/** What the suites read: detection result handed down by `npm test`, else detected now. */
export function externalClients(env = process.env) {
  const handed = env[FOUND_VARIABLE];
  if (handed) {
    try {
      return JSON.parse(handed);
    } catch {
      // fall through to detection
    }
  }
  return detectExternalClients(env);
}

/**
 * For `describe.skipIf(...)`: true when one of the named clients is missing and the run is not
 * CI. In CI the suite runs (and fails on the missing program) as `npm test` already refused.
 */
export function externalClientsToSkip(found, ids, env = process.env) {
  if (clientsRequired(env)) return false;
  return ids.some((id) => !found[id]);
}

function main(argv) {
  const found = detectExternalClients();
  if (argv.includes('--json')) {
    console.log(JSON.stringify(found, null, 2));
  }
  const missing = missingClients(found);
  if (missing.length === 0) {
    console.error(`External clients found: ${EXTERNAL_CLIENTS.map((client) => client.id).join(', ')}.`);
    return 0;
  }
  console.error(`\n${missingClientsBanner(missing)}\n`);
  return clientsRequired() ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
