#!/usr/bin/env node
// Holdfast benchmarks. Usage: node bench/run.mjs [--quick] [--strict] [--list] [scenario...]
// Runs every scenario (or the named ones) against the built server in dist/, prints one table of
// figures with their targets, and writes bench/results/<scenario>-<timestamp>.json and latest.json.
import { existsSync } from 'node:fs';
import os from 'node:os';
import {
  CLI,
  fileTimestamp,
  installCleanup,
  killAllChildren,
  log,
  machineFacts,
  printTable,
  writeResultFile,
} from './lib.mjs';

// Adding a scenario: create bench/scenarios/NAME.mjs (exports name, description, run) and add
// NAME here. Order matters only for reading the table.
const SCENARIOS = [
  'password-sign-in',
  'startup',
  'totp-verify',
  'recovery-code-sign-in',
  'pskc-import',
  'webauthn-verify',
  'authorization',
  'aws-api',
  'outbox-delivery',
  'scale-out',
  'population',
  'console-users',
  'soak',
];
// Long scenarios that run only when named (`node bench/run.mjs soak`), never by default.
const OPT_IN = ['soak'];

function usage() {
  return [
    'usage: node bench/run.mjs [options] [scenario...]',
    '',
    'options:',
    '  --quick    shorter and fewer runs (smoke test; figures are not comparable)',
    '  --strict   exit 1 when a figure misses its target (default: only on errors)',
    '  --list     list the scenarios and exit',
    '',
    `scenarios: ${SCENARIOS.join(', ')}`,
  ].join('\n');
}

async function loadScenario(id) {
  const mod = await import(`./scenarios/${id}.mjs`);
  if (typeof mod.run !== 'function' || mod.name !== id) {
    throw new Error(`bench/scenarios/${id}.mjs must export name = '${id}', description and run()`);
  }
  return mod;
}

async function main() {
  const args = process.argv.slice(2);
  const flags = new Set(args.filter((a) => a.startsWith('-')));
  const names = args.filter((a) => !a.startsWith('-'));
  for (const f of flags) {
    if (!['--quick', '--strict', '--list', '--help', '-h'].includes(f)) {
      console.error(`unknown option ${f}\n\n${usage()}`);
      return 2;
    }
  }
  if (flags.has('--help') || flags.has('-h')) {
    console.log(usage());
    return 0;
  }
  if (flags.has('--list')) {
    for (const id of SCENARIOS) console.log(`${id.padEnd(22)} ${(await loadScenario(id)).description}`);
    return 0;
  }
  const unknown = names.filter((n) => !SCENARIOS.includes(n));
  if (unknown.length) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}\n\n${usage()}`);
    return 2;
  }
  if (!existsSync(CLI)) {
    console.error(`${CLI} is missing: run \`npm run build\` first (or use \`npm run bench\`)`);
    return 2;
  }

  installCleanup();
  const quick = flags.has('--quick');
  const selected = names.length
    ? SCENARIOS.filter((id) => names.includes(id))
    : SCENARIOS.filter((id) => !OPT_IN.includes(id));
  const startedAt = new Date();
  const stamp = fileTimestamp(startedAt);
  const machine = machineFacts();
  log(
    `machine: ${machine.cpus} cpus (${machine.cpuModel}), node ${machine.node}, ` +
      `load average ${machine.loadAverageAtStart.join(' ')}${quick ? ', QUICK mode' : ''}`,
  );

  const results = {};
  const rows = [];
  let failed = false;
  for (const id of selected) {
    const scenario = await loadScenario(id);
    const scenarioStart = new Date();
    const loadAverageAtScenarioStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
    log(`== ${id}: ${scenario.description}`);
    let result;
    try {
      const out = await scenario.run({ quick, log });
      result = { figures: out.figures, details: out.details ?? {} };
      for (const f of out.figures) rows.push({ scenario: id, ...f });
    } catch (err) {
      failed = true;
      log(`${id} failed: ${err?.stack ?? err}`);
      killAllChildren();
      result = { error: String(err?.stack ?? err), figures: [] };
      rows.push({ scenario: id, label: 'ERROR (see log)', value: null, unit: '', target: null, pass: false });
    }
    const record = {
      scenario: id,
      description: scenario.description,
      quick,
      startedAt: scenarioStart.toISOString(),
      finishedAt: new Date().toISOString(),
      loadAverageAtScenarioStart,
      machine,
      ...result,
    };
    const path = writeResultFile(`${id}-${stamp}.json`, record);
    log(`${id}: wrote ${path}`);
    results[id] = record;
  }

  const latest = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    quick,
    machine,
    scenarios: Object.fromEntries(
      Object.entries(results).map(([id, r]) => [
        id,
        { figures: r.figures, details: r.details, error: r.error },
      ]),
    ),
  };
  writeResultFile('latest.json', latest);

  console.log('');
  printTable(rows);
  console.log('');
  console.log(
    `machine: ${machine.cpus} cpus, node ${machine.node}, load average at start ${machine.loadAverageAtStart.join(' ')}` +
      `; results in bench/results/ (latest.json, *-${stamp}.json)`,
  );

  const missed = rows.filter((r) => r.pass === false).length;
  if (failed) return 1;
  if (missed && flags.has('--strict')) return 1;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err?.stack ?? err);
    process.exit(1);
  },
);
