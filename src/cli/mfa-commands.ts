import type { Command } from 'commander';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print } from './output.js';

/**
 * `holdfast user lift-suspension`: the host operator lifts a user's second-factor suspension
 * (audited as `mfa.suspension_lift`, the user is told). A suspension also lifts by itself after a
 * day, on an enrolment through a grant, and when a help-desk reset or a recovery completes.
 */
export function registerSuspensionCommand(user: Command): void {
  withDatabaseOptions(
    user
      .command('lift-suspension')
      .description("lift a user's second-factor suspension (audited; the user is told)"),
  )
    .requiredOption('--account <account>', 'account id or name')
    .requiredOption('--user <user>', 'user id, e-mail or user name')
    .action(async (flags: CommonFlags & { account: string; user: string }) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        const result = await inst.app.liftMfaSuspension({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          userRef: flags.user,
        });
        print(flags.json === true, { lifted: result.lifted, suspended: result.suspended }, () =>
          result.lifted ? 'second-factor suspension lifted' : 'no second-factor suspension to lift',
        );
      }),
    );
}
