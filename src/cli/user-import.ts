import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { HoldfastError } from '../core/errors.js';
import { ctx, operator, run, setupUrl, withDatabaseOptions, type CommonFlags } from './common.js';
import { print } from './output.js';

/**
 * `holdfast user import FILE.csv --account A [--invite] [--json]`: creates users from a CSV file
 * (header `email`, `role`, optional `username`), all or nothing. A file with bad rows creates
 * nothing: every bad row is reported with its line (JSON: `error.rows` on standard error) and the
 * command exits 1 with `USER_IMPORT_INVALID`.
 */
export function registerUserImport(user: Command): void {
  withDatabaseOptions(
    user
      .command('import')
      .description('create users from a CSV file (header: email, role, optional username), all or nothing')
      .argument('<file>', 'CSV file'),
  )
    .requiredOption('--account <account>', 'account id or name')
    .option('--invite', 'also e-mail each user an invitation with their setup link (through the outbox)')
    .action(async (file: string, flags: CommonFlags & { account: string; invite?: boolean }) =>
      run(flags, async (inst, config) => {
        const csv = await readFile(file, 'utf8').catch(() => {
          throw new HoldfastError('REQUEST_INVALID', `cannot read ${file}`);
        });
        const account = await inst.app.requireAccount(flags.account);
        const result = await inst.app.importUsers({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          csv,
          ...(flags.invite === true ? { invite: true } : {}),
        });
        if (!result.ok) {
          if (flags.json === true) {
            process.stderr.write(
              JSON.stringify({
                error: { code: 'USER_IMPORT_INVALID', message: 'nothing was created', rows: result.problems },
              }) + '\n',
            );
          } else {
            for (const p of result.problems)
              process.stderr.write(`line ${p.line}: ${p.code}: ${p.message}\n`);
            process.stderr.write(
              `error USER_IMPORT_INVALID: ${result.problems.length} row(s) are not valid; nothing was created\n`,
            );
          }
          process.exitCode = 1;
          return;
        }
        const users = result.users.map((u) => ({
          id: u.user.id,
          email: u.user.email,
          username: u.user.username,
          role: u.user.role,
          setupUrl: setupUrl(config, u.setup.token),
          setupExpiresAt: new Date(u.setup.expiresAt).toISOString(),
          invited: u.invitationId !== null,
        }));
        print(flags.json === true, { accountId: account.id, created: users.length, users }, () =>
          [
            `${users.length} user(s) created in ${account.name}${flags.invite === true ? ', invitations queued' : ''}:`,
            ...users.map(
              (u) => `  ${u.email} (${u.role}) setup link, until ${u.setupExpiresAt}: ${u.setupUrl}`,
            ),
          ].join('\n'),
        );
      }),
    );
}
