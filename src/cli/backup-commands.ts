/**
 * `holdfast backup`, `holdfast restore` and `holdfast backup-check` (docs/operations.md).
 */
import type { Command } from 'commander';
import { checkBackupFile, checkDatabase, restoreBackup, takeBackup, type DatabaseCheck } from '../backups.js';
import { loadConfig } from '../config/config.js';
import { describeProblem } from '../core/audit/checkpoint.js';
import { HoldfastError } from '../core/errors.js';
import { withDatabaseOptions, type CommonFlags } from './common.js';
import { print, reportError } from './output.js';

function checkLines(check: DatabaseCheck): string[] {
  const a = check.audit;
  const head = a.headSeq === null ? 'empty log' : `head ${a.headSeq}:${a.headHash}`;
  return [
    `schema: ${check.schema.applied.length} migrations` +
      (check.schema.pending.length
        ? `, ${check.schema.pending.length} pending (holdfast migrate adds them)`
        : '') +
      (check.schema.unknown.length ? `, UNKNOWN to this version: ${check.schema.unknown.join(', ')}` : ''),
    a.ok
      ? `audit chain OK: ${a.records} records, ${a.checkpoints.total} checkpoints; ${head}`
      : `audit chain BROKEN: ${a.firstBroken ? `record ${a.firstBroken.seq} (${a.firstBroken.reason})` : ''}` +
        a.problems.map((p) => `; ${describeProblem(p)}`).join(''),
    `rows: ${Object.entries(check.rows)
      .filter(([, n]) => n > 0)
      .map(([t, n]) => `${t}=${n}`)
      .join(' ')}`,
  ];
}

/** Registers backup, restore and backup-check. */
export function registerBackupCommands(program: Command): void {
  withDatabaseOptions(
    program
      .command('backup')
      .description('copy the running SQLite database to a file, online and consistent (PostgreSQL: pg_dump)'),
  )
    .requiredOption('--out <file>', 'backup file to create (never overwritten; mode 0600)')
    .action(async (flags: CommonFlags & { out: string }) => {
      try {
        const facts = await takeBackup(loadConfig(flags), flags.out);
        print(flags.json === true, facts, () =>
          [
            `backup written: ${facts.path} (${facts.bytes} bytes, sha256 ${facts.sha256})`,
            `schema ${facts.schemaVersion ?? 'none'}; audit ${facts.auditHead === null ? 'empty' : `head ${facts.auditHead.seq}:${facts.auditHead.hash}`}`,
            'keep the master key (HOLDFAST_MASTER_KEY or the data folder master.key) safe and apart: the backup is useless without it',
          ].join('\n'),
        );
      } catch (err) {
        process.exitCode = reportError(err, flags.json === true);
      }
    });

  withDatabaseOptions(
    program
      .command('restore')
      .description('restore a backup file into an empty data folder, then verify it (audit chain, key)')
      .argument('<file>', 'backup file made by holdfast backup'),
  )
    .option('--key-file <file>', 'the master.key kept with the backup (else HOLDFAST_MASTER_KEY)')
    .action(async (file: string, flags: CommonFlags & { keyFile?: string }) => {
      try {
        const result = await restoreBackup({
          config: loadConfig(flags),
          file,
          ...(flags.keyFile === undefined ? {} : { keyFile: flags.keyFile }),
        });
        print(flags.json === true, result, () =>
          [
            `restored into ${result.dbPath}` +
              (result.migrated.length ? ` (migrated: ${result.migrated.join(', ')})` : ''),
            ...checkLines(result),
          ].join('\n'),
        );
      } catch (err) {
        process.exitCode = reportError(err, flags.json === true);
      }
    });

  withDatabaseOptions(
    program
      .command('backup-check')
      .description(
        'check a backup: a file (restored into a scratch folder), or the database --db names (e.g. a pg_restore target)',
      )
      .argument('[file]', 'backup file; without it, the database given by --db is checked in place'),
  )
    .option('--key-file <file>', 'the master.key kept with the backup (else HOLDFAST_MASTER_KEY)')
    .action(async (file: string | undefined, flags: CommonFlags & { keyFile?: string }) => {
      try {
        const config = loadConfig(flags);
        const check =
          file === undefined
            ? await checkDatabase(config)
            : await checkBackupFile({
                config,
                file,
                ...(flags.keyFile === undefined ? {} : { keyFile: flags.keyFile }),
              });
        print(flags.json === true, check, () => checkLines(check).join('\n'));
        if (!check.ok) {
          process.exitCode = reportError(
            new HoldfastError('AUDIT_CHAIN_BROKEN', 'the backup does not verify'),
            flags.json === true,
          );
        }
      } catch (err) {
        process.exitCode = reportError(err, flags.json === true);
      }
    });
}
