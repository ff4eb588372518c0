import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { builtinPolicyDocument } from '../app/policies.js';
import { HoldfastError } from '../core/errors.js';
import { lintPolicy, type LintFinding } from '../core/policy/lint.js';
import { ROLES, type Role } from '../core/principals/types.js';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print, reportError } from './output.js';

function findingLine(f: LintFinding): string {
  return `${f.severity.padEnd(7)} ${f.code}\n  ${f.message}`;
}

/** `holdfast policy ...`: lint documents, show the built-in role policies. */
export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('IAM-style policy documents');

  policy
    .command('lint')
    .description('lint a policy document (file, or - for standard input); exit 1 when it has errors')
    .argument('<file>', 'policy document (JSON)')
    .option('--json', 'machine-readable output')
    .action((file: string, flags: { json?: boolean }) => {
      try {
        let text: string;
        try {
          text = readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
          throw new HoldfastError('REQUEST_INVALID', `cannot read ${file} (${code})`);
        }
        const result = lintPolicy(text);
        print(flags.json === true, result, () =>
          result.findings.length === 0
            ? 'no findings'
            : `${result.findings.map(findingLine).join('\n')}\n${result.errors} error(s), ${result.warnings} warning(s)`,
        );
        process.exitCode = result.errors > 0 ? 1 : 0;
      } catch (err) {
        process.exitCode = reportError(err, flags.json === true);
      }
    });

  policy
    .command('show')
    .description("print a built-in role's managed policy")
    .addOption(new Option('--role <role>', 'role').choices([...ROLES]).makeOptionMandatory())
    .action((flags: { role: Role }) => {
      process.stdout.write(builtinPolicyDocument(flags.role) + '\n');
    });

  registerAccountPolicyCommands(policy);
}

/**
 * `holdfast policy account list|delete`: the host operator's way to undo an account-wide policy
 * that shuts everyone out (owners keep a break-glass path through the API, but the host operator
 * holds the database either way). Each deletion is audited as an operator action.
 */
function registerAccountPolicyCommands(policy: Command): void {
  const account = policy.command('account').description('account-wide policies (host operator)');

  withDatabaseOptions(account.command('list').description("list an account's account-wide policies"))
    .requiredOption('--account <account>', 'account id or name')
    .action(async (flags: CommonFlags & { account: string }) =>
      run(flags, async (inst) => {
        const found = await inst.app.requireAccount(flags.account);
        const policies = await inst.app.listAccountPolicies({
          actor: operator,
          ctx: ctx(),
          accountId: found.id,
        });
        const rows = policies.map((p) => ({
          id: p.id,
          name: p.name,
          description: p.description,
          document: p.document,
          updatedAt: new Date(p.updatedAt).toISOString(),
        }));
        print(flags.json === true, { accountId: found.id, policies: rows }, () =>
          rows.length === 0
            ? 'no account-wide policies'
            : rows.map((r) => `${r.id}  ${r.name}  (updated ${r.updatedAt})`).join('\n'),
        );
      }),
    );

  withDatabaseOptions(
    account.command('delete').description('delete an account-wide policy (audited as an operator action)'),
  )
    .requiredOption('--account <account>', 'account id or name')
    .requiredOption('--policy <policy>', 'policy name or id')
    .action(async (flags: CommonFlags & { account: string; policy: string }) =>
      run(flags, async (inst) => {
        const found = await inst.app.requireAccount(flags.account);
        await inst.app.deleteAccountPolicy({
          actor: operator,
          ctx: ctx(),
          accountId: found.id,
          name: flags.policy,
        });
        print(
          flags.json === true,
          { accountId: found.id, deleted: flags.policy },
          () => `deleted the account-wide policy ${flags.policy}`,
        );
      }),
    );
}

/** `holdfast user enrolment-grant`: a one-time grant to enrol a factor without an MFA session (G3). */
export function registerGrantCommand(user: Command): void {
  withDatabaseOptions(
    user
      .command('enrolment-grant')
      .description('issue a one-time enrolment grant (shown once) for a user who lost every factor'),
  )
    .requiredOption('--account <account>', 'account id or name')
    .requiredOption('--user <user>', 'user id, e-mail or user name')
    .option('--ttl-minutes <n>', 'lifetime in minutes (at most 1440)', '60')
    .action(async (flags: CommonFlags & { account: string; user: string; ttlMinutes: string }) =>
      run(flags, async (inst) => {
        const minutes = Number(flags.ttlMinutes);
        if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
          throw new HoldfastError('REQUEST_INVALID', '--ttl-minutes must be 1-1440');
        }
        const account = await inst.app.requireAccount(flags.account);
        const grant = await inst.app.issueEnrolmentGrant({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          userRef: flags.user,
          ttlMs: minutes * 60_000,
        });
        print(
          flags.json === true,
          {
            token: grant.token,
            userId: grant.principal.id,
            expiresAt: new Date(grant.expiresAt).toISOString(),
          },
          () =>
            `enrolment grant for ${grant.principal.email} (once, until ${new Date(grant.expiresAt).toISOString()}):\n  ${grant.token}`,
        );
      }),
    );
}
