/**
 * `holdfast audit archive` and `holdfast audit verify-segment`: moving old audit records to a
 * verifiable segment file, and checking such files (docs/operations.md, "Retention").
 */
import { closeSync, createReadStream, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { SegmentVerification } from '../core/audit/archive.js';
import { HoldfastError } from '../core/errors.js';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print, reportError } from './output.js';

/** Parses --before: an ISO 8601 date or date-time (a bare date is midnight UTC). */
function parseBefore(text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : Date.parse(text);
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}/.test(text)) {
    throw new HoldfastError('REQUEST_INVALID', '--before takes an ISO 8601 date (2026-01-31) or date-time');
  }
  return ms;
}

/** A segment file created for this archive only (mode 0600, never overwriting one). */
function openSegmentFile(path: string) {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    const exists = (cause as NodeJS.ErrnoException).code === 'EEXIST';
    throw new HoldfastError(
      exists ? 'BACKUP_TARGET_NOT_EMPTY' : 'REQUEST_INVALID',
      exists ? `${path} already exists: a segment never overwrites a file` : `cannot create ${path}`,
      { cause },
    );
  }
  let open = true;
  return {
    sink: {
      write: async (line: string) => void writeSync(fd, line + '\n'),
      commit: async () => {
        fsyncSync(fd);
        closeSync(fd);
        open = false;
      },
    },
    discard() {
      if (open) closeSync(fd);
      open = false;
      rmSync(path, { force: true });
    },
  };
}

/** Registers `archive` and `verify-segment` under `holdfast audit`. */
export function registerAuditRetentionCommands(audit: Command): void {
  withDatabaseOptions(
    audit
      .command('archive')
      .description(
        'move audit records older than a date to a segment file; the remaining chain stays verifiable',
      ),
  )
    .requiredOption('--before <date>', 'archive records older than this ISO 8601 date or date-time')
    .requiredOption('--out <file>', 'segment file to create (JSON lines; never overwritten; mode 0600)')
    .action(async (flags: CommonFlags & { before: string; out: string }) =>
      run(flags, async (inst) => {
        const before = parseBefore(flags.before);
        const file = openSegmentFile(flags.out);
        let result: Awaited<ReturnType<typeof inst.app.archiveAudit>>;
        try {
          result = await inst.app.archiveAudit({ actor: operator, ctx: ctx(), before, sink: file.sink });
        } catch (err) {
          file.discard();
          throw err;
        }
        if (result.records === 0) file.discard();
        print(flags.json === true, { ...result, out: result.records === 0 ? null : flags.out }, () =>
          result.records === 0
            ? `nothing to archive before ${new Date(before).toISOString()} (${result.stoppedBy}); no file written`
            : `archived records ${result.firstSeq}..${result.lastSeq} (${result.records} records, ${result.checkpoints} checkpoints) to ${flags.out}\n` +
              `the live chain now starts after ${result.lastSeq}:${result.lastHash}; keep the segment file (holdfast audit verify-segment checks it)`,
        );
      }),
    );

  withDatabaseOptions(
    audit
      .command('verify-segment')
      .description('verify archived audit segment files (in order) and that the last joins the live chain')
      .argument('<files...>', 'segment files written by holdfast audit archive, oldest first'),
  ).action(async (files: string[], flags: CommonFlags) =>
    run(flags, async (inst) => {
      const results: Array<SegmentVerification & { file: string }> = [];
      let previous: SegmentVerification | undefined;
      for (const file of files) {
        const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
        const result = await inst.app.verifyAuditSegment({
          actor: operator,
          lines,
          ...(previous === undefined ? {} : { follows: previous }),
        });
        results.push({ file, ...result });
        previous = result;
      }
      const ok = results.every((r) => r.ok);
      print(flags.json === true, { ok, segments: results }, () =>
        results
          .map((r) =>
            r.ok
              ? `${r.file}: OK, records ${r.firstSeq}..${r.lastSeq} (${r.records} records, ${r.checkpoints} checkpoints)` +
                (r.joinsLiveChain ? '; joins the live chain' : '')
              : `${r.file}: BROKEN: ${r.problems.join('; ')}`,
          )
          .join('\n'),
      );
      if (!ok) {
        process.exitCode = reportError(
          new HoldfastError(
            'AUDIT_CHAIN_BROKEN',
            results.find((r) => !r.ok)!.problems[0] ?? 'segment broken',
          ),
          flags.json === true,
        );
      }
    }),
  );
}
