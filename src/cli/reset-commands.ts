/**
 * `holdfast reset ...`, `holdfast outbox ...` and `holdfast alerts`.
 *
 * The help-desk reset commands act as the person whose MFA session token they are given
 * (`--token` or HOLDFAST_TOKEN): the same use cases, authentication and authorization as the HTTP
 * API, so evidence, G6, second approvals and waits are enforced exactly as for the console.
 * `reset run-due`, `outbox` and `alerts` act as the host operator on the database (trusted,
 * audited).
 */
import { Option, type Command } from 'commander';
import type { Actor } from '../app/context.js';
import { HoldfastError } from '../core/errors.js';
import type { RecoveryRequest, RecoveryState } from '../core/recovery/types.js';
import { consoleBaseUrl } from '../config/console-url.js';
import type { Installation } from '../installation.js';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print } from './output.js';

interface TokenFlags extends CommonFlags {
  token?: string;
}

/** Adds the database options and the session token to a command. */
function withSessionOptions(command: Command): Command {
  return withDatabaseOptions(command).addOption(
    new Option('--token <token>', 'MFA session token of an admin or help-desk agent').env('HOLDFAST_TOKEN'),
  );
}

/**
 * Runs `work` as the principal whose session token was given: the same authentication and the
 * same authorization (G2, G6, policies) as the HTTP API. The host operator's own trust is not
 * used here: a reset is always opened and approved by identified people.
 */
async function asPrincipal(
  flags: TokenFlags,
  work: (inst: Installation, actor: Actor & { kind: 'principal' }, accountId: string) => Promise<void>,
): Promise<void> {
  await run(flags, async (inst) => {
    if (!flags.token) throw new HoldfastError('AUTH_SESSION_REQUIRED', 'give --token or set HOLDFAST_TOKEN');
    const auth = await inst.app.authenticate(flags.token);
    await work(
      inst,
      { kind: 'principal', principal: auth.principal, session: auth.session },
      auth.account.id,
    );
  });
}

function requestView(r: RecoveryRequest) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: r.id,
    kind: r.kind,
    state: r.state,
    userId: r.principalId,
    requestedBy: r.requestedBy,
    evidence: r.evidence,
    reason: r.reason,
    approvalsRequired: r.approvalsRequired,
    approvals: r.approvals,
    waitUntil: iso(r.waitUntil),
    createdAt: iso(r.createdAt),
  };
}

function requestLine(r: ReturnType<typeof requestView>): string {
  return `${r.id}  ${r.kind}  ${r.state}  user=${r.userId}  approvals=${r.approvals.length}/${r.approvalsRequired}  waitUntil=${r.waitUntil ?? '-'}`;
}

/** Parses `kind:note` evidence items. */
export function parseEvidence(items: string[]): Array<{ kind: string; note: string }> {
  return items.map((item) => {
    const i = item.indexOf(':');
    return i < 0
      ? { kind: item.trim(), note: '' }
      : { kind: item.slice(0, i).trim(), note: item.slice(i + 1).trim() };
  });
}

/** Registers `reset`, `outbox` and `alerts`. */
export function registerResetCommands(program: Command): void {
  const reset = program
    .command('reset')
    .description('help-desk MFA reset (evidence, second approver, waiting period)');

  withSessionOptions(reset.command('request').description('open an MFA reset request for a user'))
    .requiredOption('--user <user>', 'user id, e-mail or user name')
    .option(
      '--evidence <kind:note...>',
      'verification performed: phone_callback, factor_code, id_document, manager_confirmation (repeatable)',
      [],
    )
    .option('--reason <text>', 'why the reset is needed')
    .action(async (flags: TokenFlags & { user: string; evidence: string[]; reason?: string }) =>
      asPrincipal(flags, async (inst, actor, accountId) => {
        const r = requestView(
          await inst.app.openResetRequest({
            actor,
            ctx: ctx(),
            accountId,
            userRef: flags.user,
            evidence: parseEvidence(flags.evidence),
            ...(flags.reason === undefined ? {} : { reason: flags.reason }),
          }),
        );
        print(flags.json === true, { request: r }, () => `reset request opened\n${requestLine(r)}`);
      }),
    );
  withSessionOptions(reset.command('approve').description('approve a reset as the second approver'))
    .argument('<id>', 'request id')
    .action(async (id: string, flags: TokenFlags) =>
      asPrincipal(flags, async (inst, actor, accountId) => {
        const r = requestView(
          await inst.app.approveResetRequest({ actor, ctx: ctx(), accountId, requestId: id }),
        );
        print(flags.json === true, { request: r }, () => `approved\n${requestLine(r)}`);
      }),
    );
  withSessionOptions(reset.command('cancel').description('cancel a pending recovery or reset'))
    .argument('<id>', 'request id')
    .option('--reason <text>', 'why')
    .action(async (id: string, flags: TokenFlags & { reason?: string }) =>
      asPrincipal(flags, async (inst, actor, accountId) => {
        const r = requestView(
          await inst.app.cancelResetRequest({
            actor,
            ctx: ctx(),
            accountId,
            requestId: id,
            ...(flags.reason === undefined ? {} : { reason: flags.reason }),
          }),
        );
        print(flags.json === true, { request: r }, () => `cancelled\n${requestLine(r)}`);
      }),
    );
  withSessionOptions(reset.command('list').description('list recovery and reset requests'))
    .addOption(
      new Option('--state <state>', 'only this state').choices([
        'verifying',
        'awaiting_approval',
        'waiting',
        'completed',
        'cancelled',
        'expired',
      ]),
    )
    .action(async (flags: TokenFlags & { state?: RecoveryState }) =>
      asPrincipal(flags, async (inst, actor, accountId) => {
        const list = (
          await inst.app.listResetRequests({
            actor,
            ctx: ctx(),
            accountId,
            ...(flags.state === undefined ? {} : { states: [flags.state] }),
          })
        ).map(requestView);
        print(flags.json === true, { requests: list }, () =>
          list.length === 0 ? 'no requests' : list.map(requestLine).join('\n'),
        );
      }),
    );
  withDatabaseOptions(
    reset
      .command('run-due')
      .description('complete requests whose waiting period is over (the server does this itself)'),
  ).action(async (flags: CommonFlags) =>
    run(flags, async (inst) => {
      const out = await inst.app.runRecoveryScheduler({ ctx: ctx() });
      print(flags.json === true, out, () => `${out.completed} completed, ${out.expired} expired`);
    }),
  );

  const outbox = program.command('outbox').description('messages waiting in or sent from the outbox');
  withDatabaseOptions(
    outbox.command('list').description('list messages, newest first (contents of secrets never shown)'),
  )
    .option('--account <account>', 'account id or name')
    .option('--pending', 'only messages not sent yet')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (flags: CommonFlags & { account?: string; pending?: boolean; limit: string }) =>
      run(flags, async (inst) => {
        const account =
          flags.account === undefined ? undefined : await inst.app.requireAccount(flags.account);
        const list = await inst.app.listOutbox({
          ...(account === undefined ? {} : { accountId: account.id }),
          pendingOnly: flags.pending === true,
          limit: Math.min(10_000, Math.max(1, Number(flags.limit) || 100)),
        });
        const view = list.map((m) => ({
          id: m.id,
          accountId: m.accountId,
          principalId: m.principalId,
          channel: m.channel,
          template: m.template,
          recipient: m.recipient,
          status: m.sentAt !== null ? 'sent' : m.failedAt !== null ? 'failed' : 'pending',
          attempts: m.attempts,
          holdsSecret: m.holdsSecret,
          createdAt: new Date(m.createdAt).toISOString(),
          sentAt: m.sentAt === null ? null : new Date(m.sentAt).toISOString(),
          lastError: m.lastError,
          payload: m.payload,
        }));
        print(flags.json === true, { messages: view }, () =>
          view.length === 0
            ? 'no messages'
            : view
                .map(
                  (m) =>
                    `${m.createdAt}  ${m.id}  ${m.status.padEnd(7)} ${m.channel.padEnd(7)} ${m.template}  to=${m.recipient ?? m.principalId ?? '-'}`,
                )
                .join('\n'),
        );
      }),
    );
  withDatabaseOptions(
    outbox
      .command('show')
      .description('render one message with its link or code, for hand delivery')
      .argument('<id>'),
  ).action(async (id: string, flags: CommonFlags) =>
    run(flags, async (inst, config) => {
      const base = consoleBaseUrl(config);
      const out = await inst.app.renderOutboxMessage({ id, publicUrl: base });
      if (out === null) throw new HoldfastError('REQUEST_INVALID', 'no such message');
      print(flags.json === true, out, () => `To: ${out.to ?? '-'}\nSubject: ${out.subject}\n\n${out.text}`);
    }),
  );

  withDatabaseOptions(program.command('alerts').description('alerts raised by the built-in detection rules'))
    .requiredOption('--account <account>', 'account id or name')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (flags: CommonFlags & { account: string; limit: string }) =>
      run(flags, async (inst, config) => {
        const account = await inst.app.requireAccount(flags.account);
        // Catch up with the audit log first (what a running server does every few seconds).
        await inst.app.scanForAlerts({ webhooks: config.delivery.alertWebhooks });
        const list = await inst.app.listAlerts({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          limit: Math.min(500, Math.max(1, Number(flags.limit) || 100)),
        });
        print(flags.json === true, { alerts: list }, () =>
          list.length === 0
            ? 'no alerts'
            : list
                .map(
                  (a) =>
                    `${new Date(a.createdAt).toISOString()}  ${a.severity.padEnd(8)} ${a.ruleId}  ${a.summary}`,
                )
                .join('\n'),
        );
      }),
    );
}
