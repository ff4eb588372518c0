import { Command, Option } from 'commander';
import { operatorContext } from '../app/context.js';
import { loadConfig, type Config, type ConfigFlags } from '../config/config.js';
import { consoleBaseUrl } from '../config/console-url.js';
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
  return `${consoleBaseUrl(config)}/setup#token=${token}`;
}

/**
 * Signs the audit chain's head when the command appended records (see docs/audit-log.md). A
 * command that only reads writes nothing: `audit verify` never vouches for a head it found.
 */
async function checkpointIfAppended(
  inst: Installation,
  before: { seq: number; hash: string } | null,
): Promise<void> {
  // PostgreSQL links the command's records after they commit: link them before comparing heads.
  await inst.store.sealAudit().catch(() => undefined);
  const after = await inst.store.audit.head();
  if (after === null || (before !== null && after.seq === before.seq && after.hash === before.hash)) return;
  // The command's own work is done and committed: a failed checkpoint is a warning, not its failure.
  await inst.app.writeAuditCheckpoint().catch((err: unknown) => {
    process.stderr.write(
      `warning: audit checkpoint not written: ${err instanceof Error ? err.message : String(err)}\n`,
    );
  });
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
    const headBefore = await inst.store.audit.head();
    try {
      await work(inst, config);
    } finally {
      await checkpointIfAppended(inst, headBefore);
    }
  } catch (err) {
    process.exitCode = reportError(err, flags.json === true);
  } finally {
    await inst?.close();
  }
}
