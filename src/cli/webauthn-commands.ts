import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { HoldfastError } from '../core/errors.js';
import { MDS_MAX_BYTES } from '../core/factors/webauthn/mds.js';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print } from './output.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `holdfast webauthn ...`: FIDO metadata import and an account's WebAuthn registration rules. */
export function registerWebAuthnCommands(program: Command): void {
  const webauthn = program.command('webauthn').description('WebAuthn (passkeys and security keys)');
  const mds = webauthn.command('mds').description('FIDO Metadata Service (MDS3) catalogs');
  withDatabaseOptions(
    mds
      .command('import')
      .description('import an MDS3 BLOB file for an account (offline: no network is used)')
      .argument('<file>', 'the BLOB (a JWT) as downloaded'),
  )
    .requiredOption('--account <account>', 'account id or name')
    .requiredOption(
      '--root <pem>',
      'PEM file of a root certificate the BLOB must chain to (repeatable)',
      collect,
    )
    .action(async (file: string, flags: CommonFlags & { account: string; root: string[] }) =>
      run(flags, async (inst) => {
        const blob = readFileSync(file);
        if (blob.length > MDS_MAX_BYTES) {
          throw new HoldfastError('WEBAUTHN_METADATA_INVALID', 'the BLOB file is too large');
        }
        const account = await inst.app.requireAccount(flags.account);
        const result = await inst.app.importWebAuthnMetadata({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          blob: blob.toString('utf8'),
          roots: flags.root.map((path) => readFileSync(path, 'utf8')),
        });
        print(
          flags.json === true,
          result,
          () =>
            `imported MDS BLOB #${result.serialNumber} (${result.entries} FIDO2 models, next update ${result.nextUpdate})`,
        );
      }),
    );

  withDatabaseOptions(
    webauthn.command('settings').description("set an account's attestation request and model allow-list"),
  )
    .requiredOption('--account <account>', 'account id or name')
    .option('--attestation <mode>', 'none (default) or direct')
    .option('--allow <aaguid>', 'allow this authenticator model (repeatable; implies direct)', collect)
    .option('--allow-any', 'remove the allow-list')
    .action(
      async (
        flags: CommonFlags & { account: string; attestation?: string; allow?: string[]; allowAny?: boolean },
      ) =>
        run(flags, async (inst) => {
          const account = await inst.app.requireAccount(flags.account);
          const settings = await inst.app.setWebAuthnSettings({
            actor: operator,
            ctx: ctx(),
            accountId: account.id,
            ...(flags.attestation !== undefined
              ? { attestation: flags.attestation as 'none' | 'direct' }
              : {}),
            ...(flags.allowAny === true ? { allowedAAGUIDs: null } : {}),
            ...(flags.allow !== undefined ? { allowedAAGUIDs: flags.allow } : {}),
          });
          const view = {
            attestation: settings.webauthnAttestation ?? 'none',
            allowedAAGUIDs: settings.webauthnAllowedAAGUIDs ?? null,
          };
          print(
            flags.json === true,
            view,
            () =>
              `attestation: ${view.attestation}\nallowed models: ${view.allowedAAGUIDs?.join(', ') ?? 'any'}`,
          );
        }),
    );
}
