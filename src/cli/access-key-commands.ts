import type { Command } from 'commander';
import { userArn } from '../core/policy/arn.js';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print } from './output.js';

type KeyFlags = CommonFlags & { account: string; user: string };

/**
 * `holdfast access-key create|list|deactivate|activate|delete --account A --user U`: the host
 * operator manages the long-term access keys of an existing user (AWS IAM CreateAccessKey,
 * ListAccessKeys, UpdateAccessKey, DeleteAccessKey), through the same use cases and audit
 * records as the AWS-compatible API. The secret is printed once, at creation.
 */
export function registerAccessKeyCommands(program: Command): void {
  const keys = program
    .command('access-key')
    .description("manage an existing user's long-term access keys for the AWS-compatible API");
  const withTarget = (command: Command) =>
    withDatabaseOptions(command)
      .requiredOption('--account <account>', 'account id or name')
      .requiredOption('--user <user>', 'user id, user name or e-mail');

  withTarget(
    keys.command('create').description('create an access key (at most 2 per user); the secret is shown once'),
  ).action(async (flags: KeyFlags) =>
    run(flags, async (inst, config) => {
      const account = await inst.app.requireAccount(flags.account);
      const { key, user, secretAccessKey } = await inst.app.createAccessKey({
        actor: operator,
        ctx: ctx(),
        accountId: account.id,
        userRef: flags.user,
      });
      const endpoint = `${(config.publicUrl ?? `${config.tlsCert ? 'https' : 'http'}://${config.host}:${config.port}`).replace(/\/$/, '')}/`;
      print(
        flags.json === true,
        {
          userName: user.username,
          userId: user.id,
          arn: userArn(account.id, user.username),
          accessKeyId: key.id,
          secretAccessKey,
          status: key.status,
          endpoint,
        },
        () =>
          `access key ${key.id} created for ${user.username} (${user.email})\n` +
          `secret access key (shown once): ${secretAccessKey}\n` +
          `AWS endpoint: ${endpoint}`,
      );
    }),
  );

  withTarget(keys.command('list').description("list a user's access keys (never their secrets)")).action(
    async (flags: KeyFlags) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        const views = await inst.app.listAccessKeys({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          userRef: flags.user,
        });
        const rows = views.map(({ key }) => ({
          accessKeyId: key.id,
          status: key.status,
          createdAt: new Date(key.createdAt).toISOString(),
          lastUsedAt: key.lastUsedAt === null ? null : new Date(key.lastUsedAt).toISOString(),
          deactivatedByGuardrail: key.deactivatedByGuardrail,
        }));
        print(flags.json === true, { accessKeys: rows }, () =>
          rows.length === 0
            ? 'no access keys'
            : rows
                .map(
                  (r) =>
                    `${r.accessKeyId}  ${r.status}  created ${r.createdAt}  last used ${r.lastUsedAt ?? 'never'}`,
                )
                .join('\n'),
        );
      }),
  );

  for (const [name, status, words] of [
    ['deactivate', 'Inactive', 'deactivated'],
    ['activate', 'Active', 'activated'],
  ] as const) {
    withTarget(keys.command(name).description(`${name} an access key`).argument('<access-key-id>')).action(
      async (accessKeyId: string, flags: KeyFlags) =>
        run(flags, async (inst) => {
          const account = await inst.app.requireAccount(flags.account);
          await inst.app.updateAccessKey({
            actor: operator,
            ctx: ctx(),
            accountId: account.id,
            userRef: flags.user,
            accessKeyId,
            status,
          });
          print(flags.json === true, { accessKeyId, status }, () => `access key ${accessKeyId} ${words}`);
        }),
    );
  }

  withTarget(keys.command('delete').description('delete an access key').argument('<access-key-id>')).action(
    async (accessKeyId: string, flags: KeyFlags) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        await inst.app.deleteAccessKey({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          userRef: flags.user,
          accessKeyId,
        });
        print(flags.json === true, { accessKeyId, deleted: true }, () => `access key ${accessKeyId} deleted`);
      }),
  );
}
