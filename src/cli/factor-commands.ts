import type { Command } from 'commander';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print } from './output.js';

/** `holdfast factor ...` and `holdfast insights`: operator views and actions on second factors. */
export function registerFactorCommands(program: Command): void {
  const factor = program.command('factor').description("inspect and remove users' second factors");
  withDatabaseOptions(factor.command('list').description("list a user's factors (never their secrets)"))
    .requiredOption('--account <account>', 'account id or name')
    .requiredOption('--user <user>', 'user id, e-mail or user name')
    .action(async (flags: CommonFlags & { account: string; user: string }) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        const factors = await inst.app.listFactors({
          actor: operator,
          accountId: account.id,
          userRef: flags.user,
        });
        const rows = factors.map((f) => ({
          id: f.id,
          kind: f.kind,
          name: f.name,
          status: f.status,
          assurance: f.assurance,
          adminProvisioned: f.adminProvisioned,
          lastUsedAt: f.lastUsedAt === null ? null : new Date(f.lastUsedAt).toISOString(),
        }));
        print(
          flags.json === true,
          { factors: rows },
          () =>
            rows.map((f) => `${f.id}  ${f.kind.padEnd(15)} ${f.status.padEnd(8)} ${f.name}`).join('\n') ||
            '(no factors)',
        );
      }),
    );

  withDatabaseOptions(
    factor.command('remove').description("remove a user's factor (audited; the user is notified)"),
  )
    .requiredOption('--account <account>', 'account id or name')
    .requiredOption('--user <user>', 'user id, e-mail or user name')
    .requiredOption('--factor <id>', 'factor id')
    .action(async (flags: CommonFlags & { account: string; user: string; factor: string }) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        await inst.app.removeFactor({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          userRef: flags.user,
          factorId: flags.factor,
        });
        print(flags.json === true, { removed: flags.factor }, () => `factor ${flags.factor} removed`);
      }),
    );

  withDatabaseOptions(
    program
      .command('insights')
      .description('lock-out risk: users with no or one factor, no recovery codes; single admin'),
  )
    .requiredOption('--account <account>', 'account id or name')
    .action(async (flags: CommonFlags & { account: string }) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        const risk = await inst.app.lockoutRisk({ actor: operator, accountId: account.id });
        print(flags.json === true, risk, () =>
          [
            `users without any factor:      ${risk.usersWithoutFactors.map((u) => u.email).join(', ') || '-'}`,
            `users with a single factor:    ${risk.usersWithSingleFactor.map((u) => u.email).join(', ') || '-'}`,
            `users without recovery codes:  ${risk.usersWithoutRecoveryCodes.map((u) => u.email).join(', ') || '-'}`,
            `administrators (owners+admins): ${risk.administrators}${risk.singleAdministrator ? '  <- single point of failure' : ''}`,
          ].join('\n'),
        );
      }),
    );
}
