#!/usr/bin/env node
// `npm run test:deps`: installs the Debian packages of the independent clients the full test
// suite drives (scripts/external-clients.mjs lists them), after saying what it will install.
// Needs root or sudo and apt-get; runs `apt-get update` once. Nothing to do: says so, exits 0.
// `--dry-run` prints the plan and installs nothing.
import { spawnSync } from 'node:child_process';
import { EXTERNAL_CLIENTS, findProgram } from './external-clients.mjs';

const packages = [...new Set(EXTERNAL_CLIENTS.flatMap((client) => client.packages))];

function installed(name) {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return query.status === 0 && query.stdout.includes('install ok installed');
}

function main(argv) {
  if (!findProgram('apt-get') || !findProgram('dpkg-query')) {
    console.error(
      `test:deps needs a Debian or Ubuntu system (apt-get). Install these packages by other means:`,
    );
    console.error(`  ${packages.join(' ')}`);
    return 1;
  }
  const missing = packages.filter((name) => !installed(name));
  if (missing.length === 0) {
    console.error(`Every Debian package the test suite uses is installed: ${packages.join(' ')}.`);
    return 0;
  }
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : ['sudo'];
  const install = [...sudo, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing];
  console.error(`test:deps will install ${missing.length} Debian package(s): ${missing.join(' ')}`);
  console.error(`  ${[...sudo, 'apt-get', 'update', '-q'].join(' ')}`);
  console.error(`  ${install.join(' ')}`);
  if (argv.includes('--dry-run')) return 0;
  if (!root && !findProgram('sudo')) {
    console.error('Not root and no sudo: run the two commands above as root.');
    return 1;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const command of [[...sudo, 'apt-get', 'update', '-q'], install]) {
    const result = spawnSync(command[0], command.slice(1), { stdio: 'inherit', env });
    if (result.status !== 0) {
      console.error(`${command.join(' ')} failed (exit ${result.status ?? result.signal}).`);
      return result.status ?? 1;
    }
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
