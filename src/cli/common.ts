import { Command, Option } from 'commander';
import { operatorContext } from '../app/context.js';
import { loadConfig, type Config, type ConfigFlags } from '../config/config.js';
import { openInstallation, type Installation } from '../installation.js';
import { reportError } from './output.js';

/** Flags every database command takes. */
export interface CommonFlags extends ConfigFlags {
  json?: boolean;
}

/** The CLI acts as the host operator: trusted (it holds the database and key) and audited. */
export const operator = { kind: 'operator' } as const;

/** The request context of a CLI invocation. */
export const ctx = () => operatorContext(`cli-${process.pid}`);

/** Adds --db, --data-dir and --json to a command. */
export function withDatabaseOptions(command: Command): Command {
  return command
    .addOption(new Option('--db <url>', 'database: sqlite:PATH or postgres://...').env('HOLDFAST_DB'))
    .addOption(
      new Option('--data-dir <dir>', 'data folder (SQLite file, master key file)').env('HOLDFAST_DATA_DIR'),
    )
    .option('--json', 'machine-readable output');
}

/** The one-time setup link for a token (the token travels in the fragment, never to a server log). */
export function setupUrl(config: Config, token: string): string {
  const base = config.publicUrl ?? `${config.tlsCert ? 'https' : 'http'}://${config.host}:${config.port}`;
  return `${base.replace(/\/$/, '')}/setup#token=${token}`;
}

/** Opens the installation, runs `work`, closes it, and turns failures into exit codes. */
export async function run(
  flags: CommonFlags,
  work: (inst: Installation, config: Config) => Promise<void>,
): Promise<void> {
  let inst: Installation | null = null;
  try {
    const config = loadConfig(flags);
    inst = await openInstallation(config);
    await work(inst, config);
  } catch (err) {
    process.exitCode = reportError(err, flags.json === true);
  } finally {
    await inst?.close();
  }
}
