/**
 * OpenID Connect clients in the JSON API, as attacks: registering, listing and deleting clients
 * is identity administration (an MFA session of an administrator of the same account); a plain
 * user, a password-only session and another account's administrator get nothing and change
 * nothing; secrets are shown once and never listed.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import { injectHttp, mfaApi, PASSWORD, type Http } from '../helpers/mfa.js';
import { DATABASE_KINDS } from '../helpers/databases.js';

describe.each(DATABASE_KINDS)('OpenID Connect clients in the API on $name', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let http: Http;
  let ownerMfa: string;
  let ownerPasswordOnly: string;
  let userMfa: string;
  let globexMfa: string;
  const body = { name: 'Grafana', redirectUris: ['https://grafana.example.com/login/generic_oauth'] };
  const clientIds = async () =>
    (await inst.store.oidc.listClients((await inst.store.accounts.findByName('acme'))!.id)).map((c) => c.id);

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'user@acme.test',
      password: PASSWORD,
      role: 'user',
    });
    await createUserWithPassword(inst, {
      accountName: 'globex',
      email: 'owner@globex.test',
      password: PASSWORD,
    });
    server = await buildTestServer(inst);
    http = injectHttp(server);
    ownerMfa = await mfaSessionToken(inst, { accountName: 'acme', login: 'owner@acme.test' });
    userMfa = await mfaSessionToken(inst, { accountName: 'acme', login: 'user@acme.test' });
    globexMfa = await mfaSessionToken(inst, { accountName: 'globex', login: 'owner@globex.test' });
    ownerPasswordOnly = await mfaApi(http, 'acme').passwordToken('owner@acme.test');
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('an administrator with MFA registers clients; the secret is shown once and never listed', async () => {
    const created = await http({ method: 'POST', url: '/v1/oidc/clients', body, token: ownerMfa });
    expect(created.status).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    expect(created.body.client.clientId).toMatch(/^hfc_/);
    expect(typeof created.body.clientSecret).toBe('string');
    const pub = await http({
      method: 'POST',
      url: '/v1/oidc/clients',
      body: { redirectUris: ['http://127.0.0.1:9999/cb'], public: true },
      token: ownerMfa,
    });
    expect(pub.status).toBe(201);
    expect(pub.body.clientSecret).toBeNull();
    const listed = await http({ method: 'GET', url: '/v1/oidc/clients', token: ownerMfa });
    expect(listed.body.clients.map((c: { clientId: string }) => c.clientId).sort()).toEqual(
      [created.body.client.clientId, pub.body.client.clientId].sort(),
    );
    expect(JSON.stringify(listed.body)).not.toContain(created.body.clientSecret);
    const audit = await inst.store.audit.query({
      limit: 20,
      newestFirst: true,
      action: 'oidc.client_created',
    });
    expect(audit).toHaveLength(2);
    expect(JSON.stringify(audit)).not.toContain(created.body.clientSecret);
  });

  it('refuses a plain user, a session without MFA and bad redirect URIs, creating nothing', async () => {
    const before = await clientIds();
    const user = await http({ method: 'POST', url: '/v1/oidc/clients', body, token: userMfa });
    expect(user.status).toBe(403);
    expect(user.body.error.code).toBe('AUTH_FORBIDDEN');
    const noMfa = await http({ method: 'POST', url: '/v1/oidc/clients', body, token: ownerPasswordOnly });
    expect(noMfa.status).toBe(403);
    expect(noMfa.body.error.code).toBe('MFA_STEP_UP_REQUIRED');
    const wildcard = await http({
      method: 'POST',
      url: '/v1/oidc/clients',
      body: { redirectUris: ['https://*.example.com/cb'] },
      token: ownerMfa,
    });
    expect(wildcard.body.error.code).toBe('OIDC_REDIRECT_URI_INVALID');
    const plainHttp = await http({
      method: 'POST',
      url: '/v1/oidc/clients',
      body: { redirectUris: ['http://app.example.com/cb'] },
      token: ownerMfa,
    });
    expect(plainHttp.body.error.code).toBe('OIDC_REDIRECT_URI_INVALID');
    const unknownField = await http({
      method: 'POST',
      url: '/v1/oidc/clients',
      body: { ...body, clientSecret: 'mine' },
      token: ownerMfa,
    });
    expect(unknownField.status).toBe(400);
    expect(await clientIds()).toEqual(before);
  });

  it("another account's administrator can neither see nor delete acme's clients", async () => {
    const before = await clientIds();
    const theirs = await http({ method: 'GET', url: '/v1/oidc/clients', token: globexMfa });
    expect(theirs.body.clients).toEqual([]);
    const del = await http({ method: 'DELETE', url: `/v1/oidc/clients/${before[0]}`, token: globexMfa });
    expect(del.status).toBe(404);
    expect(del.body.error.code).toBe('OIDC_CLIENT_NOT_FOUND');
    expect(await clientIds()).toEqual(before);
    // The real administrator still can.
    const mine = await http({ method: 'DELETE', url: `/v1/oidc/clients/${before[0]}`, token: ownerMfa });
    expect(mine.status).toBe(204);
    expect(await clientIds()).toEqual(before.slice(1));
  });

  it('a user revokes only consents they gave', async () => {
    const res = await http({ method: 'DELETE', url: '/v1/me/oidc-consents/hfc_unknown', token: userMfa });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('OIDC_CONSENT_NOT_FOUND');
    const listed = await http({ method: 'GET', url: '/v1/me/oidc-consents', token: userMfa });
    expect(listed.body.consents).toEqual([]);
  });
  it("keeps the provider's records: single-use consumption, grant revocation, expiry and pruning", async () => {
    const app = inst.app;
    await app.saveOidcRecord({
      model: 'RefreshToken',
      id: 'rt1',
      payload: { grantId: 'g1', accountId: 'u1', clientId: 'c1' },
      expiresInSeconds: 60,
    });
    await app.saveOidcRecord({
      model: 'AccessToken',
      id: 'at1',
      payload: { grantId: 'g1', accountId: 'u1', clientId: 'c1' },
      expiresInSeconds: 1,
    });
    await app.saveOidcRecord({
      model: 'Grant',
      id: 'g2',
      payload: { accountId: 'u1', clientId: 'c1' },
      expiresInSeconds: null,
    });
    expect(await app.findOidcRecord({ model: 'RefreshToken', id: 'rt1' })).toMatchObject({ grantId: 'g1' });
    await app.consumeOidcRecord({ model: 'RefreshToken', id: 'rt1' });
    expect(await inst.store.oidc.consumeRecord('RefreshToken', 'rt1', inst.clock.now())).toBe(false);
    expect((await app.findOidcRecord({ model: 'RefreshToken', id: 'rt1' }))?.['consumed']).toBeTypeOf(
      'number',
    );
    inst.clock.advance(2_000);
    // Past its expiry a record is gone for the provider at once, and pruned from the table later.
    expect(await app.findOidcRecord({ model: 'AccessToken', id: 'at1' })).toBeUndefined();
    expect(await app.pruneOidcRecords()).toBe(1);
    await app.revokeOidcGrant('g1');
    expect(await app.findOidcRecord({ model: 'RefreshToken', id: 'rt1' })).toBeUndefined();
    expect(await app.findOidcRecord({ model: 'Grant', id: 'g2' })).toBeDefined();
  });
  it('servers starting at once make one signing key, not one each', async () => {
    const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };
    let made = 0;
    const generate = async () => {
      made++;
      return { kty: 'RSA', kid: `k${made}`, n: 'n', e: 'AQAB', d: 'd' };
    };
    await Promise.all([1, 2, 3].map(() => inst.app.ensureOidcSigningKey({ ctx, generate })));
    expect(await inst.store.oidc.listSigningKeys()).toHaveLength(1);
  });
});
