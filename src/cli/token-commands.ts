import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import {
  HARDWARE_TOKEN_STATES,
  hardwareTokenJSON,
  parsePreSharedKeyHex,
  type HardwareTokenView,
  type SettableHardwareTokenState,
} from '../app/hardware-tokens.js';
import { HoldfastError } from '../core/errors.js';
import type { HardwareTokenState } from '../core/factors/hardware-token/inventory.js';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print, progressBar } from './output.js';

/** Reads a file the operator named, turning a missing or unreadable file into a coded error. */
function readInput(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new HoldfastError('REQUEST_INVALID', `cannot read ${path} (${code})`);
  }
}

/**
 * The pre-shared key from --key (hex) or --key-file: a file of hex digits (whitespace allowed),
 * or else the raw key bytes (16, 24 or 32 of them).
 */
function preSharedKeyFrom(flags: { key?: string; keyFile?: string }): Uint8Array | undefined {
  if (flags.key !== undefined && flags.keyFile !== undefined) {
    throw new HoldfastError('REQUEST_INVALID', 'give --key or --key-file, not both');
  }
  if (flags.key !== undefined) return parsePreSharedKeyHex(flags.key);
  if (flags.keyFile === undefined) return undefined;
  const bytes = readInput(flags.keyFile);
  const text = bytes.toString('latin1').trim();
  if (/^[0-9a-fA-F\s:]+$/.test(text)) return parsePreSharedKeyHex(text);
  if (![16, 24, 32].includes(bytes.length)) {
    throw new HoldfastError('REQUEST_INVALID', 'the key file holds neither hex nor a 16, 24 or 32-byte key');
  }
  return Uint8Array.from(bytes);
}

function tokenLine(t: HardwareTokenView): string {
  const kind = `${t.mode.toUpperCase()}/${t.algorithm}/${t.digits}`;
  const who = t.principalId === null ? '' : `  ${t.principalId}`;
  return `${t.serial.padEnd(20)} ${t.state.padEnd(10)} ${kind.padEnd(16)} ${t.manufacturer ?? '-'} ${t.model ?? ''}${who}`;
}

/** `holdfast tokens ...`: the hardware token inventory (PSKC import, list, assign, state). */
export function registerTokenCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .description('hardware OTP tokens: import seeds from PSKC files, list, assign to users, mark lost');

  withDatabaseOptions(
    tokens
      .command('import')
      .description(
        'import tokens from a PSKC file (RFC 6030), plain or encrypted with a pre-shared key; all or nothing',
      )
      .argument('<file>', 'the PSKC XML file from the token vendor'),
  )
    .requiredOption('--account <account>', 'account id or name')
    .option('--key <hex>', 'pre-shared key for an encrypted file, in hex (RFC 6030 §6.1)')
    .option('--key-file <file>', 'file holding the pre-shared key (hex text or raw bytes)')
    .addHelpText(
      'after',
      '\nThe seeds are sealed under the master key at once and never shown again by any command.' +
        '\nPrefer --key-file to --key: a key on the command line is visible to other local users.\n',
    )
    .action(async (file: string, flags: CommonFlags & { account: string; key?: string; keyFile?: string }) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        const preSharedKey = preSharedKeyFrom(flags);
        const result = await inst.app.importHardwareTokens({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          pskcXml: readInput(file).toString('utf8'),
          ...(preSharedKey === undefined ? {} : { preSharedKey }),
          onProgress: flags.json === true ? undefined : progressBar('importing', 100),
        });
        print(
          flags.json === true,
          result,
          () =>
            `imported ${result.imported} token${result.imported === 1 ? '' : 's'} (import ${result.importId})` +
            (result.serials.length > 0
              ? `: ${result.serials.join(', ')}${result.imported > result.serials.length ? ', ...' : ''}`
              : ''),
        );
      }),
    );

  withDatabaseOptions(tokens.command('list').description('list the inventory (never a seed)'))
    .requiredOption('--account <account>', 'account id or name')
    .addOption(new Option('--state <state>', 'only tokens in this state').choices([...HARDWARE_TOKEN_STATES]))
    .action(async (flags: CommonFlags & { account: string; state?: HardwareTokenState }) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        const list = await inst.app.listHardwareTokens({
          actor: operator,
          accountId: account.id,
          ...(flags.state === undefined ? {} : { state: flags.state }),
        });
        print(
          flags.json === true,
          { tokens: list.map(hardwareTokenJSON) },
          () => list.map(tokenLine).join('\n') || '(no tokens)',
        );
      }),
    );

  withDatabaseOptions(
    tokens
      .command('assign')
      .description(
        'assign an unassigned token to a user: a pending factor the user (or you, holding it) enables with two codes',
      ),
  )
    .requiredOption('--account <account>', 'account id or name')
    .requiredOption('--serial <serial>', 'serial number of the token')
    .requiredOption('--user <user>', 'user id, e-mail or user name')
    .option('--name <name>', 'factor name (default: "Token <serial>")')
    .action(async (flags: CommonFlags & { account: string; serial: string; user: string; name?: string }) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        const { token, factor } = await inst.app.assignHardwareToken({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          serial: flags.serial,
          userRef: flags.user,
          ...(flags.name === undefined ? {} : { name: flags.name }),
        });
        print(
          flags.json === true,
          {
            token: hardwareTokenJSON(token),
            factor: { id: factor.id, name: factor.name, status: factor.status, kind: factor.kind },
          },
          () =>
            `token ${token.serial} assigned to ${flags.user}: pending factor ${factor.id} "${factor.name}"\n` +
            'enable it with two consecutive codes: POST /v1/factors/{id}/enable (the user) or ' +
            'POST /v1/users/{user}/factors/{id}/enable (an admin holding the token)',
        );
      }),
    );

  withDatabaseOptions(
    tokens
      .command('state')
      .description(
        'mark a token lost or retired (its factor is removed and the user notified), or unassigned when found again',
      ),
  )
    .requiredOption('--account <account>', 'account id or name')
    .requiredOption('--serial <serial>', 'serial number of the token')
    .addOption(
      new Option('--state <state>', 'new state')
        .choices(['lost', 'retired', 'unassigned'])
        .makeOptionMandatory(),
    )
    .action(
      async (flags: CommonFlags & { account: string; serial: string; state: SettableHardwareTokenState }) =>
        run(flags, async (inst) => {
          const account = await inst.app.requireAccount(flags.account);
          const token = await inst.app.setHardwareTokenState({
            actor: operator,
            ctx: ctx(),
            accountId: account.id,
            serial: flags.serial,
            state: flags.state,
          });
          print(
            flags.json === true,
            { token: hardwareTokenJSON(token) },
            () => `token ${token.serial} is now ${token.state}`,
          );
        }),
    );
}
