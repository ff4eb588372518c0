#!/usr/bin/env -S node --max-semi-space-size=2
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { auditRecordJSON } from '../app/audit-log.js';
import { cloudTrailRecordJSON } from '../app/cloudtrail.js';
import { loadConfig } from '../config/config.js';
import { describeProblem, parseExpectedHead, type ExpectedHead } from '../core/audit/checkpoint.js';
import { HoldfastError } from '../core/errors.js';
import { userArn } from '../core/policy/arn.js';
import { migrateInstallationDatabase, rotateMasterKey } from '../installation.js';
import { ctx, operator, run, setupUrl, withDatabaseOptions, type CommonFlags } from './common.js';
import { registerUserImport } from './user-import.js';
import { registerAccessKeyCommands } from './access-key-commands.js';
import { registerBackupCommands } from './backup-commands.js';
import { registerAuditRetentionCommands } from './retention-commands.js';
import { registerFactorCommands } from './factor-commands.js';
import {
  isServeWorker,
  superviseWorkers,
  withWorkersOption,
  workerFailed,
  type WorkerFlags,
} from './serve.js';
import { registerMeCommands } from './me-commands.js';
import { registerSuspensionCommand } from './mfa-commands.js';
import { registerResetCommands } from './reset-commands.js';
import { print, progressBar, reportError } from './output.js';
import { registerTokenCommands } from './token-commands.js';
import { registerWebAuthnCommands } from './webauthn-commands.js';
import { registerCredentialsCommand } from './credentials-command.js';
import { registerOidcCommands } from './oidc-commands.js';
import { registerGrantCommand, registerPolicyCommands } from './policy-commands.js';

/** The installed package's version (dist/cli/main.js sits two folders below package.json). */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('holdfast')
  .description('Holdfast: identity service with multi-factor authentication that cannot be bypassed or lost')
  .version(version, '-V, --version', 'print the version of Holdfast')
  .showHelpAfterError();

withWorkersOption(withDatabaseOptions(program.command('serve').description('run the HTTP server')))
  .addOption(new Option('--host <host>', 'address to listen on').env('HOLDFAST_HOST'))
  .addOption(new Option('--port <port>', 'port to listen on').env('HOLDFAST_PORT'))
  .addOption(new Option('--tls-cert <file>', 'PEM certificate: serve HTTPS').env('HOLDFAST_TLS_CERT'))
  .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('HOLDFAST_TLS_KEY'))
  .action(async (flags: CommonFlags & WorkerFlags) => {
    try {
      const config = loadConfig(flags);
      // With several workers this process only supervises them (src/cli/serve.ts).
      if (await superviseWorkers(config, flags)) return;
      // The HTTP stack loads only for `serve`: other commands start faster without it.
      const { startServer } = await import('../main.js');
      const running = await startServer(config);
      const accounts = await running.installation.store.accounts.list();
      // A worker's primary prints the banner once for all workers.
      if (accounts.length === 0 && !isServeWorker()) {
        process.stderr.write(
          `\nHoldfast has no account yet. Create one with:\n  npx holdfast bootstrap --account NAME --owner-email EMAIL` +
            `${flags.db ? ` --db ${running.installation.database.displayUrl}` : ''}\n\n`,
        );
      }
      if (!isServeWorker())
        process.stderr.write(
          `Holdfast listening on ${running.url} (${running.installation.database.displayUrl})\n` +
            `Web console: ${running.consoleUrl}/\n`,
        );
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${signal}: finishing in-flight requests\n`);
        // close() drops only connections idle at that moment; a keep-alive connection whose
        // request was in flight would stay open until the client's or Fastify's keep-alive
        // timeout (72 s), so close each one as soon as its response has gone out.
        const closeIdle = setInterval(() => running.server.server.closeIdleConnections(), 50);
        running.stop().then(
          () => {
            clearInterval(closeIdle);
            process.exit(0);
          },
          (err: unknown) => {
            process.stderr.write(`shutdown failed: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    } catch (err) {
      process.exitCode = reportError(err, flags.json === true);
      workerFailed();
    }
  });

withDatabaseOptions(program.command('migrate').description('bring the database schema up to date')).action(
  async (flags: CommonFlags) => {
    try {
      const config = loadConfig(flags);
      const applied = await migrateInstallationDatabase(config);
      print(flags.json === true, { applied }, () =>
        applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date',
      );
    } catch (err) {
      process.exitCode = reportError(err, flags.json === true);
    }
  },
);

withDatabaseOptions(
  program.command('bootstrap').description('create an account and its owner; prints a one-time setup link'),
)
  .requiredOption('--account <name>', 'account name (3-63 of a-z 0-9 -)')
  .requiredOption('--owner-email <email>', "owner's e-mail address")
  .option('--admin <name>', 'also create an administrator with this IAM user name (needs --access-key)')
  .option('--access-key', 'give the administrator a long-term access key for the AWS-compatible API')
  .action(
    async (
      flags: CommonFlags & { account: string; ownerEmail: string; admin?: string; accessKey?: boolean },
    ) =>
      run(flags, async (inst, config) => {
        if ((flags.admin === undefined) !== (flags.accessKey !== true)) {
          throw new HoldfastError('REQUEST_INVALID', '--admin and --access-key go together');
        }
        const { account, owner, setup } = await inst.app.bootstrapAccount({
          accountName: flags.account,
          ownerEmail: flags.ownerEmail,
          ctx: ctx(),
        });
        const admin =
          flags.admin === undefined
            ? null
            : await inst.app.createAdminWithAccessKey({
                ctx: ctx(),
                accountId: account.id,
                username: flags.admin,
              });
        const url = setupUrl(config, setup.token);
        const endpoint = (
          config.publicUrl ?? `${config.tlsCert ? 'https' : 'http'}://${config.host}:${config.port}`
        ).replace(/\/?$/, '/');
        print(
          flags.json === true,
          {
            accountId: account.id,
            accountName: account.name,
            ownerId: owner.id,
            ownerEmail: owner.email,
            setupToken: setup.token,
            setupUrl: url,
            setupExpiresAt: new Date(setup.expiresAt).toISOString(),
            ...(admin === null
              ? {}
              : {
                  endpoint,
                  admin: {
                    userName: admin.user.username,
                    userId: admin.user.id,
                    arn: userArn(account.id, admin.user.username),
                    accessKeyId: admin.key.id,
                    secretAccessKey: admin.secretAccessKey,
                  },
                }),
          },
          () =>
            `account ${account.name} (${account.id}) created with owner ${owner.email}\n` +
            `one-time setup link (expires ${new Date(setup.expiresAt).toISOString()}):\n  ${url}` +
            (admin === null
              ? ''
              : `\nadministrator ${admin.user.username} with access key ${admin.key.id}` +
                `\nsecret access key (shown once): ${admin.secretAccessKey}` +
                `\nAWS endpoint: ${endpoint} (enrol an MFA device with these keys, then use an MFA session)`),
        );
      }),
  );

registerAccessKeyCommands(program);
const user = program.command('user').description('manage users');
registerUserImport(user);
withDatabaseOptions(user.command('create').description('create a user; prints a one-time setup link'))
  .requiredOption('--account <account>', 'account id or name')
  .requiredOption('--email <email>', 'e-mail address')
  .option('--username <name>', 'user name (default: from the e-mail)')
  .addOption(
    new Option('--role <role>', 'role').choices(['owner', 'admin', 'helpdesk', 'user']).default('user'),
  )
  .option('--invite', 'also e-mail the user an invitation with the setup link (through the outbox)')
  .action(
    async (
      flags: CommonFlags & {
        account: string;
        email: string;
        username?: string;
        role: string;
        invite?: boolean;
      },
    ) =>
      run(flags, async (inst, config) => {
        const account = await inst.app.requireAccount(flags.account);
        const {
          user: created,
          setup,
          invitationId,
        } = await inst.app.createUser({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          email: flags.email,
          role: flags.role,
          ...(flags.username === undefined ? {} : { username: flags.username }),
          ...(flags.invite === true ? { invite: true } : {}),
        });
        const url = setupUrl(config, setup.token);
        print(
          flags.json === true,
          {
            id: created.id,
            accountId: account.id,
            email: created.email,
            username: created.username,
            role: created.role,
            setupToken: setup.token,
            setupUrl: url,
            setupExpiresAt: new Date(setup.expiresAt).toISOString(),
            invitationId,
          },
          () =>
            `user ${created.email} (${created.id}, ${created.role}) created\n` +
            `one-time setup link (expires ${new Date(setup.expiresAt).toISOString()}):\n  ${url}` +
            (invitationId === null
              ? ''
              : `\ninvitation queued for ${created.email} (outbox ${invitationId})`),
        );
      }),
  );

withDatabaseOptions(user.command('list').description('list the users of an account'))
  .requiredOption('--account <account>', 'account id or name')
  .action(async (flags: CommonFlags & { account: string }) =>
    run(flags, async (inst) => {
      const account = await inst.app.requireAccount(flags.account);
      const users = await inst.app.listUsers({ actor: operator, accountId: account.id });
      const rows = users.map((u) => ({
        id: u.id,
        username: u.username,
        email: u.email,
        role: u.role,
        status: u.status,
        hasPassword: u.passwordHash !== null,
      }));
      print(
        flags.json === true,
        { users: rows },
        () =>
          rows.map((u) => `${u.id}  ${u.role.padEnd(8)} ${u.status.padEnd(8)} ${u.email}`).join('\n') ||
          '(no users)',
      );
    }),
  );

withDatabaseOptions(user.command('disable').description('disable a user and revoke their sessions'))
  .requiredOption('--account <account>', 'account id or name')
  .requiredOption('--user <user>', 'user id, e-mail or user name')
  .action(async (flags: CommonFlags & { account: string; user: string }) =>
    run(flags, async (inst) => {
      const account = await inst.app.requireAccount(flags.account);
      const disabled = await inst.app.disableUser({
        actor: operator,
        ctx: ctx(),
        accountId: account.id,
        userRef: flags.user,
      });
      print(
        flags.json === true,
        { id: disabled.id, status: disabled.status },
        () => `user ${disabled.email} disabled`,
      );
    }),
  );

registerGrantCommand(user);
registerSuspensionCommand(user);

const audit = program.command('audit').description('the hash-chained audit log');
withDatabaseOptions(
  audit
    .command('verify')
    .description(
      'verify the hash chain and its signed checkpoints; names what is broken and prints the head (SEQ:HASH)',
    ),
)
  .option(
    '--expect-head <seq:hash>',
    'a head printed by an earlier verify and kept outside the database: fail unless the log still holds it',
  )
  .action(async (flags: CommonFlags & { expectHead?: string }) =>
    run(flags, async (inst) => {
      let expectHead: ExpectedHead | undefined;
      if (flags.expectHead !== undefined) {
        const parsed = parseExpectedHead(flags.expectHead);
        if (parsed === null) {
          throw new HoldfastError(
            'REQUEST_INVALID',
            '--expect-head takes SEQ:HASH, the sequence number and 64-hex-digit hash an earlier verify printed',
          );
        }
        expectHead = parsed;
      }
      const progress = progressBar('verifying');
      let result: Awaited<ReturnType<typeof inst.app.verifyAudit>>;
      try {
        result = await inst.app.verifyAudit({
          actor: operator,
          onProgress: progress,
          ...(expectHead === undefined ? {} : { expectHead }),
        });
      } finally {
        // A broken record stops the walk before the bar is full: stop it, or the process never exits.
        progress.stop();
      }
      const head = result.headSeq === null ? 'the log is empty' : `head ${result.headSeq}:${result.headHash}`;
      const checked = `${result.records} records, ${result.checkpoints.total} checkpoints`;
      if (!result.ok) {
        const b = result.firstBroken;
        const lines = [
          ...(b === null
            ? []
            : [
                `audit chain BROKEN at record ${b.seq} (${b.reason}); ${result.records} records verified before it`,
              ]),
          ...result.problems.map((p) => `audit log TAMPERED: ${describeProblem(p)}`),
          `${checked}; ${head}`,
        ];
        print(flags.json === true, result, () => lines.join('\n'));
        // The result (which record, why) goes to stdout; the error code to stderr, as for any failure.
        const first = result.problems[0];
        process.exitCode = reportError(
          new HoldfastError(
            'AUDIT_CHAIN_BROKEN',
            b !== null ? `first broken record: ${b.seq} (${b.reason})` : describeProblem(first!),
          ),
          flags.json === true,
        );
        return;
      }
      // PostgreSQL: voids are numbers whose transaction rolled back; unsealed records came in during the check.
      const notes = [
        ...(result.voids > 0 ? [`${result.voids} void records among them`] : []),
        ...(result.unsealed > 0 ? [`${result.unsealed} records written since, not yet linked`] : []),
      ];
      print(
        flags.json === true,
        result,
        () => `audit chain OK: ${checked} verified; ${head}${notes.map((n) => `; ${n}`).join('')}`,
      );
    }),
  );

withDatabaseOptions(audit.command('export').description('write the audit log as JSON lines'))
  .option('--out <file>', 'output file (default: standard output)')
  .option('--account <account>', 'only this account (id)')
  .addOption(
    new Option('--format <format>', 'record shape: holdfast, or cloudtrail (AWS CloudTrail events)')
      .choices(['holdfast', 'cloudtrail'])
      .default('holdfast'),
  )
  .action(async (flags: CommonFlags & { out?: string; account?: string; format: string }) =>
    run(flags, async (inst) => {
      const out: Writable = flags.out ? createWriteStream(flags.out, { mode: 0o600 }) : process.stdout;
      const shape = flags.format === 'cloudtrail' ? cloudTrailRecordJSON : auditRecordJSON;
      let count = 0;
      for await (const record of inst.app.scanAudit()) {
        if (flags.account !== undefined && record.accountId !== flags.account) continue;
        if (!out.write(JSON.stringify(shape(record)) + '\n')) await once(out, 'drain');
        count++;
      }
      if (flags.out) {
        out.end();
        await once(out, 'finish');
        process.stderr.write(`${count} records written to ${flags.out}\n`);
      }
    }),
  );

registerAuditRetentionCommands(audit);

const keys = program.command('keys').description('master key management');
withDatabaseOptions(
  keys.command('rotate').description('re-encrypt every secret under a new master key'),
).action(async (flags: CommonFlags) =>
  run(flags, async (inst) => {
    const result = await rotateMasterKey(inst, progressBar('re-encrypting', 100));
    print(
      flags.json === true,
      result,
      () =>
        `master key rotated: ${result.oldKeyId} -> ${result.newKeyId}, ${result.resealed} secrets re-encrypted` +
        (result.newKeyForEnv
          ? `\nHOLDFAST_MASTER_KEY came from the environment: set it to the new key now:\n  HOLDFAST_MASTER_KEY=${result.newKeyForEnv}`
          : ''),
    );
  }),
);

registerFactorCommands(program);
registerMeCommands(program);
registerTokenCommands(program);
registerWebAuthnCommands(program);
registerCredentialsCommand(program);
registerOidcCommands(program);
registerPolicyCommands(program);
registerResetCommands(program);
registerBackupCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = reportError(err, false);
});
