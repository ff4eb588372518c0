/**
 * `holdfast oidc client create|list|delete` and `holdfast keys rotate-oidc` as an operator runs
 * them, on SQLite and PostgreSQL: the JSON contract (`client_id`, and `client_secret` only for a
 * confidential client), exact redirect URIs, refusals with a code and no state change, secrets
 * sealed at rest (not in a database dump), and signing keys rotated with overlap as a running
 * server publishes them.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, freshDatabase, type FreshDatabase } from '../helpers/databases.js';
import {
  assertCliBuilt,
  cliEnv,
  killAllChildren,
  newMasterKey,
  runCli,
  startServe,
} from '../helpers/processes.js';

describe.each(DATABASE_KINDS)('holdfast oidc on $name', ({ name }) => {
  let fresh: FreshDatabase;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[]) => runCli(args, { env });

  beforeAll(async () => {
    assertCliBuilt();
    fresh = await freshDatabase(name);
    env = cliEnv({
      HOLDFAST_DB: fresh.url,
      HOLDFAST_DATA_DIR: fresh.dataDir,
      HOLDFAST_MASTER_KEY: newMasterKey(),
    });
    const boot = await cli(['bootstrap', '--account', 'acme', '--owner-email', 'owner@acme.test', '--json']);
    expect(boot.code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await killAllChildren();
    await fresh?.cleanup();
  });

  /** Every text the database holds, for looking for secrets in it. */
  async function dump(): Promise<string> {
    if (name === 'sqlite') return readFileSync(fresh.url.slice('sqlite:'.length)).toString('latin1');
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    const rows = await client.query(
      `select (select coalesce(json_agg(c), '[]') from oidc_clients c)::text || (select coalesce(json_agg(k), '[]') from oidc_signing_keys k)::text as t`,
    );
    await client.end();
    return String(rows.rows[0].t);
  }

  it('creates a confidential client (secret once) and a public one (none), lists and deletes them', async () => {
    const confidential = await cli([
      'oidc',
      'client',
      'create',
      '--account',
      'acme',
      '--name',
      'Grafana',
      '--redirect-uri',
      'https://grafana.example.com/login/generic_oauth',
      '--redirect-uri',
      'http://localhost:3000/login/generic_oauth',
      '--json',
    ]);
    expect(confidential.code).toBe(0);
    const c = confidential.json<Record<string, unknown>>();
    expect(c['client_id']).toMatch(/^hfc_[A-Za-z0-9_-]{22}$/);
    expect(typeof c['client_secret']).toBe('string');
    expect((c['client_secret'] as string).length).toBeGreaterThanOrEqual(43);
    expect(c['redirect_uris']).toEqual([
      'https://grafana.example.com/login/generic_oauth',
      'http://localhost:3000/login/generic_oauth',
    ]);

    const pub = await cli([
      'oidc',
      'client',
      'create',
      '--account',
      'acme',
      '--redirect-uri',
      'http://127.0.0.1:8400/cb',
      '--public',
      '--json',
    ]);
    expect(pub.code).toBe(0);
    const p = pub.json<Record<string, unknown>>();
    expect(p['public']).toBe(true);
    expect('client_secret' in p).toBe(false);

    const listed = await cli(['oidc', 'client', 'list', '--account', 'acme', '--json']);
    const clients = listed.json<{ clients: Array<Record<string, unknown>> }>().clients;
    expect(clients.map((x) => x['client_id'])).toEqual([c['client_id'], p['client_id']]);
    expect(listed.stdout).not.toContain(c['client_secret'] as string);
    // Sealed at rest: the secret is nowhere in the database.
    expect(await dump()).not.toContain(c['client_secret'] as string);

    const deleted = await cli([
      'oidc',
      'client',
      'delete',
      '--account',
      'acme',
      '--client',
      p['client_id'] as string,
      '--json',
    ]);
    expect(deleted.code).toBe(0);
    const again = await cli([
      'oidc',
      'client',
      'delete',
      '--account',
      'acme',
      '--client',
      p['client_id'] as string,
    ]);
    expect(again.code).not.toBe(0);
    expect(again.errorCode).toBe('OIDC_CLIENT_NOT_FOUND');
    const after = (await cli(['oidc', 'client', 'list', '--account', 'acme', '--json'])).json<{
      clients: unknown[];
    }>();
    expect(after.clients).toHaveLength(1);
  });

  it('refuses bad redirect URIs and unknown levels with a code, creating nothing', async () => {
    const before = (await cli(['oidc', 'client', 'list', '--account', 'acme', '--json'])).json<{
      clients: unknown[];
    }>().clients.length;
    for (const uri of [
      'http://evil.example/cb',
      'https://app.example/cb#frag',
      'https://user:pw@app.example/cb',
      'not a url',
    ]) {
      const res = await cli([
        'oidc',
        'client',
        'create',
        '--account',
        'acme',
        '--redirect-uri',
        uri,
        '--json',
      ]);
      expect(res.code).not.toBe(0);
      expect(res.errorCode).toBe('OIDC_REDIRECT_URI_INVALID');
    }
    const level = await cli([
      'oidc',
      'client',
      'create',
      '--account',
      'acme',
      '--redirect-uri',
      'https://a.example/cb',
      '--minimum-assurance',
      'gold',
    ]);
    expect(level.errorCode).toBe('REQUEST_INVALID');
    const account = await cli([
      'oidc',
      'client',
      'create',
      '--account',
      'nope',
      '--redirect-uri',
      'https://a.example/cb',
    ]);
    expect(account.errorCode).toBe('ACCOUNT_NOT_FOUND');
    const after = (await cli(['oidc', 'client', 'list', '--account', 'acme', '--json'])).json<{
      clients: unknown[];
    }>().clients.length;
    expect(after).toBe(before);
  });

  it('rotates the signing key with overlap: both keys published, the new one first; private keys sealed', async () => {
    const first = await startServe([], { env });
    const jwks1 = (await (await fetch(`${first.url}/oidc/jwks`)).json()) as {
      keys: Array<{ kid: string; d?: string }>;
    };
    expect(jwks1.keys).toHaveLength(1);
    expect(jwks1.keys[0]!.d).toBeUndefined();
    await first.stop();

    const rotated = await cli(['keys', 'rotate-oidc', '--overlap-hours', '2', '--json']);
    expect(rotated.code).toBe(0);
    const { kid } = rotated.json<{ kid: string; retiringUntil: string }>();
    expect(kid).not.toBe(jwks1.keys[0]!.kid);

    const second = await startServe([], { env });
    const jwks2 = (await (await fetch(`${second.url}/oidc/jwks`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks2.keys.map((k) => k.kid)).toEqual([kid, jwks1.keys[0]!.kid]);
    await second.stop();
    expect(await dump()).not.toMatch(/"d":"/);
  }, 60_000);
  it('holdfast keys rotate re-encrypts client secrets and signing keys: the client still authenticates, the JWKS is unchanged', async () => {
    const created = (
      await cli([
        'oidc',
        'client',
        'create',
        '--account',
        'acme',
        '--redirect-uri',
        'https://app.example/cb',
        '--json',
      ])
    ).json<{ client_id: string; client_secret: string }>();
    const before = await startServe([], { env });
    const kids = async (url: string) =>
      ((await (await fetch(`${url}/oidc/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map(
        (k) => k.kid,
      );
    const kidsBefore = await kids(before.url);
    await before.stop();
    const rotated = await cli(['keys', 'rotate', '--json']);
    expect(rotated.code).toBe(0);
    const { newKeyForEnv, resealed } = rotated.json<{ newKeyForEnv: string; resealed: number }>();
    expect(resealed).toBeGreaterThanOrEqual(3); // the pepper, a client secret, a signing key at least
    env = { ...env, HOLDFAST_MASTER_KEY: newKeyForEnv };
    const after = await startServe([], { env });
    expect(await kids(after.url)).toEqual(kidsBefore);
    // The client authenticates to introspection with its secret (RFC 7662 §2.1); a wrong one does not.
    const introspect = (secret: string) =>
      fetch(`${after.url}/oidc/token/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${created.client_id}:${secret}`).toString('base64')}`,
        },
        body: 'token=not-a-token',
      });
    const ok = await introspect(created.client_secret);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ active: false });
    expect((await introspect('wrong-secret')).status).toBe(401);
    await after.stop();
  }, 60_000);
});
