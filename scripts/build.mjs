#!/usr/bin/env node
// Builds Holdfast into dist/: the server and CLI (tsc -p tsconfig.build.json) and the web console
// (vite, into dist/console). On success it leaves dist/.build-stamp, dated when the build began
// and holding a hash of the files that steer the build (package.json, package-lock.json, the
// tsconfigs: npm install rewrites the lockfile without changing it, so their content counts).
//
// With --if-stale (npm start, npm test, npm install's prepare) it builds only when a source under
// src/ or console/ is newer than that stamp, a steering file's content changed, or there is no
// stamp: a start after an unchanged checkout costs a few milliseconds instead of a full build.
// `--check` only tells: exit 0 when dist/ is up to date, 1 when a build is needed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STAMP = join(ROOT, 'dist', '.build-stamp');

/** Folders whose files go into dist/ (tests under src/ excluded), and the files that steer the build. */
const INPUT_DIRS = ['src', 'console'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

function newestInput(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestInput(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  // A removed or renamed file changes its folder's mtime.
  return Math.max(newest, statSync(dir).mtimeMs);
}

/** SHA-256 over the steering files' names and contents. */
function configHash(root = ROOT) {
  const hash = createHash('sha256');
  for (const file of INPUT_FILES) {
    const path = join(root, file);
    hash.update(`${file}\0`);
    if (existsSync(path)) hash.update(readFileSync(path));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** Why dist/ needs a build, or null when it is up to date. */
export function staleReason(root = ROOT) {
  const stamp = join(root, 'dist', '.build-stamp');
  if (!existsSync(stamp)) return 'no complete build in dist/';
  const built = statSync(stamp).mtimeMs;
  for (const dir of INPUT_DIRS) {
    if (newestInput(join(root, dir)) > built) return `${dir}/ changed since the last build`;
  }
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(stamp, 'utf8')).config;
  } catch {
    recorded = undefined;
  }
  if (recorded !== configHash(root)) return `${INPUT_FILES.join(', ')} changed since the last build`;
  return null;
}

function run(script, args) {
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', script), ...args], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  return result.status ?? 1;
}

export function build() {
  const began = new Date();
  const config = configHash();
  const steps = [
    ['typescript/bin/tsc', ['-p', 'tsconfig.build.json']],
    ['vite/bin/vite.js', ['build', '--config', 'console/vite.config.ts', '--logLevel', 'warn']],
  ];
  for (const [script, args] of steps) {
    const status = run(script, args);
    if (status !== 0) return status;
  }
  writeFileSync(STAMP, `${JSON.stringify({ began: began.toISOString(), config })}\n`);
  utimesSync(STAMP, began, began);
  return 0;
}

function main(argv) {
  if (argv.includes('--check') || argv.includes('--if-stale')) {
    const reason = staleReason();
    if (reason === null) return 0;
    if (argv.includes('--check')) {
      console.error(`Build needed: ${reason}.`);
      return 1;
    }
    console.error(`Building Holdfast (${reason})...`);
  }
  return build();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
