import { Option, type Command } from 'commander';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { OidcClientView } from '../app/oidc/clients.js';
import { ctx, operator, run, withDatabaseOptions, type CommonFlags } from './common.js';
import { print } from './output.js';

/** A new RS256 signing key as a private JWK with its RFC 7638 thumbprint as `kid`. */
export async function generateOidcSigningKey(): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

function clientJSON(client: OidcClientView): Record<string, unknown> {
  return {
    client_id: client.clientId,
    account_id: client.accountId,
    name: client.name,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    public: client.public,
    minimum_assurance: client.minimumAssurance,
    created_at: client.createdAt,
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `holdfast oidc client create|list|delete` and `holdfast keys rotate-oidc` (docs/oidc.md). */
export function registerOidcCommands(program: Command): void {
  const oidc = program.command('oidc').description('OpenID Connect provider: clients (relying parties)');
  const client = oidc.command('client').description("an account's OpenID Connect clients");

  withDatabaseOptions(
    client.command('create').description('register a client; a confidential one gets a secret, shown once'),
  )
    .requiredOption('--account <account>', 'account id or name')
    .requiredOption('--redirect-uri <uri>', 'redirect URI, matched exactly (repeat for more)', collect)
    .option('--post-logout-redirect-uri <uri>', 'where logout may return to (repeat for more)', collect)
    .option('--public', 'a public client (no secret; PKCE required)')
    .option('--name <name>', 'display name shown on the consent page')
    .option('--minimum-assurance <level>', 'least assurance level of every sign-in (docs/oidc.md)')
    .action(
      async (
        flags: CommonFlags & {
          account: string;
          redirectUri: string[];
          postLogoutRedirectUri?: string[];
          public?: boolean;
          name?: string;
          minimumAssurance?: string;
        },
      ) =>
        run(flags, async (inst) => {
          const account = await inst.app.requireAccount(flags.account);
          const created = await inst.app.createOidcClient({
            actor: operator,
            ctx: ctx(),
            accountId: account.id,
            ...(flags.name === undefined ? {} : { name: flags.name }),
            redirectUris: flags.redirectUri,
            postLogoutRedirectUris: flags.postLogoutRedirectUri ?? [],
            public: flags.public === true,
            minimumAssurance: flags.minimumAssurance ?? null,
          });
          const out = {
            ...clientJSON(created.client),
            ...(created.clientSecret === null ? {} : { client_secret: created.clientSecret }),
          };
          print(flags.json === true, out, () =>
            [
              `client_id: ${created.client.clientId}`,
              created.clientSecret === null
                ? 'public client: no secret (PKCE with S256 required)'
                : `client_secret: ${created.clientSecret}  (shown once)`,
            ].join('\n'),
          );
        }),
    );

  withDatabaseOptions(client.command('list').description("list an account's clients (never their secrets)"))
    .requiredOption('--account <account>', 'account id or name')
    .action(async (flags: CommonFlags & { account: string }) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        const clients = await inst.app.listOidcClients({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
        });
        print(flags.json === true, { clients: clients.map(clientJSON) }, () =>
          clients.length === 0
            ? 'no clients'
            : clients
                .map(
                  (c) =>
                    `${c.clientId}  ${c.public ? 'public' : 'confidential'}  ${c.name}  ${c.redirectUris.join(' ')}`,
                )
                .join('\n'),
        );
      }),
    );

  withDatabaseOptions(client.command('delete').description('delete a client and every token issued to it'))
    .requiredOption('--account <account>', 'account id or name')
    .addOption(new Option('--client <client_id>', 'the client id').makeOptionMandatory())
    .action(async (flags: CommonFlags & { account: string; client: string }) =>
      run(flags, async (inst) => {
        const account = await inst.app.requireAccount(flags.account);
        await inst.app.deleteOidcClient({
          actor: operator,
          ctx: ctx(),
          accountId: account.id,
          clientId: flags.client,
        });
        print(flags.json === true, { deleted: flags.client }, () => `deleted ${flags.client}`);
      }),
    );

  const keys = program.commands.find((c) => c.name() === 'keys') ?? program.command('keys');
  withDatabaseOptions(
    keys
      .command('rotate-oidc')
      .description('new signing key for ID tokens; the old one stays published for the overlap'),
  )
    .option('--overlap-hours <hours>', 'how long superseded keys stay in the JWKS', '24')
    .action(async (flags: CommonFlags & { overlapHours: string }) =>
      run(flags, async (inst) => {
        const hours = Number(flags.overlapHours);
        const result = await inst.app.rotateOidcSigningKey({
          actor: operator,
          ctx: ctx(),
          privateJwk: await generateOidcSigningKey(),
          overlapSeconds: Number.isFinite(hours) ? Math.round(hours * 3600) : -1,
        });
        print(
          flags.json === true,
          result,
          () =>
            `new signing key ${result.kid}; superseded keys stay published until ${result.retiringUntil}. ` +
            'Restart every server for the new key to sign.',
        );
      }),
    );
}
