/**
 * `holdfast reset ...`, `holdfast outbox ...` and `holdfast alerts`.
 *
 * The help-desk reset is driven through the HTTP API with an MFA-authenticated session of an
 * admin or help-desk agent (`--token` or HOLDFAST_TOKEN), exactly like the console: the server
 * enforces evidence, approvals and waits; the CLI holds no rule of its own. `reset run-due`,
 * `outbox` and `alerts` act as the host operator on the database (trusted, audited).
 */
import { Option, type Command } from 'commander';
import { HoldfastError } from '../core/errors.js';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print, reportError } from './output.js';

interface ApiFlags {
  url: string;
  token?: string;
  json?: boolean;
}

async function api(flags: ApiFlags, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  if (!flags.token) throw new HoldfastError('AUTH_SESSION_REQUIRED', 'give --token or set HOLDFAST_TOKEN');
  let res: Response;
  try {
    res = await fetch(`${flags.url.replace(/\/$/, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${flags.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    // fetch's own message may quote headers: never shown.
    throw new HoldfastError('STORAGE_UNAVAILABLE', `cannot reach ${flags.url}`);
  }
  const parsed = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const error = (parsed.error ?? {}) as { code?: string; message?: string };
    const code = (error.code ?? 'INTERNAL_ERROR') as ConstructorParameters<typeof HoldfastError>[0];
    throw new HoldfastError(code, error.message ?? `HTTP ${res.status}`);
  }
  return parsed;
}

function withApiOptions(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'server URL').env('HOLDFAST_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--token <token>', 'MFA session token of an admin or help-desk agent').env('HOLDFAST_TOKEN'))
    .option('--json', 'machine-readable output');
}

function apiAction<T extends ApiFlags>(work: (flags: T, ...args: string[]) => Promise<void>) {
  return async (...args: unknown[]) => {
    const flags = args.find((a) => typeof a === 'object' && a !== null && 'url' in a) as T;
    try {
      await work(flags, ...(args.filter((a) => typeof a === 'string') as string[]));
    } catch (err) {
      process.exitCode = reportError(err, flags.json === true);
    }
  };
}

function requestLine(r: Record<string, unknown>): string {
  return `${String(r.id)}  ${String(r.kind)}  ${String(r.state)}  user=${String(r.userId)}  approvals=${(r.approvals as string[]).length}/${String(r.approvalsRequired)}  waitUntil=${String(r.waitUntil ?? '-')}`;
}

/** Parses `kind:note` evidence items. */
export function parseEvidence(items: string[]): Array<{ kind: string; note: string }> {
  return items.map((item) => {
    const i = item.indexOf(':');
    return i < 0 ? { kind: item.trim(), note: '' } : { kind: item.slice(0, i).trim(), note: item.slice(i + 1).trim() };
  });
}

/** Registers `reset`, `outbox` and `alerts`. */
export function registerResetCommands(program: Command): void {
  const reset = program.command('reset').description('help-desk MFA reset (evidence, second approver, waiting period)');

  withApiOptions(reset.command('request').description('open an MFA reset request for a user'))
    .requiredOption('--user <user>', 'user id, e-mail or user name')
    .option(
      '--evidence <kind:note...>',
      'verification performed: phone_callback, factor_code, id_document, manager_confirmation (repeatable)',
      [],
    )
    .option('--reason <text>', 'why the reset is needed')
    .action(
      apiAction(async (flags: ApiFlags & { user: string; evidence: string[]; reason?: string }) => {
        const out = await api(flags, 'POST', '/v1/resets', {
          user: flags.user,
          evidence: parseEvidence(flags.evidence),
          ...(flags.reason === undefined ? {} : { reason: flags.reason }),
        });
        const r = out.request as Record<string, unknown>;
        print(flags.json === true, out, () => `reset request opened\n${requestLine(r)}`);
      }),
    );
  withApiOptions(reset.command('approve').description('approve a reset as the second approver').argument('<id>'))
    .action(
      apiAction(async (flags: ApiFlags, id?: string) => {
        const out = await api(flags, 'POST', `/v1/resets/${encodeURIComponent(id ?? '')}/approve`, {});
        print(flags.json === true, out, () => `approved\n${requestLine(out.request as Record<string, unknown>)}`);
      }),
    );
  withApiOptions(reset.command('cancel').description('cancel a pending recovery or reset').argument('<id>'))
    .option('--reason <text>', 'why')
    .action(
      apiAction(async (flags: ApiFlags & { reason?: string }, id?: string) => {
        const out = await api(flags, 'POST', `/v1/resets/${encodeURIComponent(id ?? '')}/cancel`, {
          ...(flags.reason === undefined ? {} : { reason: flags.reason }),
        });
        print(flags.json === true, out, () => `cancelled\n${requestLine(out.request as Record<string, unknown>)}`);
      }),
    );
  withApiOptions(reset.command('list').description('list recovery and reset requests'))
    .option('--state <state>', 'only this state')
    .action(
      apiAction(async (flags: ApiFlags & { state?: string }) => {
        const out = await api(flags, 'GET', `/v1/resets${flags.state ? `?state=${encodeURIComponent(flags.state)}` : ''}`);
        const list = out.requests as Array<Record<string, unknown>>;
        print(flags.json === true, out, () => (list.length === 0 ? 'no requests' : list.map(requestLine).join('\n')));
      }),
    );
  withDatabaseOptions(
    reset.command('run-due').description('complete requests whose waiting period is over (the server does this itself)'),
  ).action(async (flags: CommonFlags) =>
    run(flags, async (inst) => {
      const out = await inst.app.runRecoveryScheduler({ ctx: ctx() });
      print(flags.json === true, out, () => `${out.completed} completed, ${out.expired} expired`);
    }),
  );

  const outbox = program.command('outbox').description('messages waiting in or sent from the outbox');
  withDatabaseOptions(outbox.command('list').description('list messages, newest first (contents of secrets never shown)'))
    .option('--account <account>', 'account id or name')
    .option('--pending', 'only messages not sent yet')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (flags: CommonFlags & { account?: string; pending?: boolean; limit: string }) =>
      run(flags, async (inst) => {
        const account = flags.account === undefined ? undefined : await inst.app.requireAccount(flags.account);
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
                .map((m) => `${m.createdAt}  ${m.id}  ${m.status.padEnd(7)} ${m.channel.padEnd(7)} ${m.template}  to=${m.recipient ?? m.principalId ?? '-'}`)
                .join('\n'),
        );
      }),
    );
  withDatabaseOptions(
    outbox.command('show').description('render one message with its link or code, for hand delivery').argument('<id>'),
  ).action(async (id: string, flags: CommonFlags) =>
    run(flags, async (inst, config) => {
      const base = config.publicUrl ?? `http://${config.host}:${config.port}`;
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
                .map((a) => `${new Date(a.createdAt).toISOString()}  ${a.severity.padEnd(8)} ${a.ruleId}  ${a.summary}`)
                .join('\n'),
        );
      }),
    );
}
