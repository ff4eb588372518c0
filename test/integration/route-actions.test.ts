import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/app/actions.js';
import { AWS_OPERATIONS } from '../../src/http/aws/router.js';
import { buildTestServer, createTestInstallation, type TestInstallation } from '../helpers/installation.js';

describe('one action per route (DESIGN.md convention 7)', () => {
  let inst: TestInstallation;
  let routes: Array<{ method: string; url: string; action: string | undefined; auth: string | undefined }>;
  beforeAll(async () => {
    inst = await createTestInstallation('sqlite');
    const server = await buildTestServer(inst);
    routes = server.holdfastRoutes;
    await server.close();
  });
  afterAll(() => inst.destroy());

  it('gives every route a catalogued action and an explicit authentication mode', () => {
    expect(routes.length).toBeGreaterThan(10);
    const catalog = new Set<string>(Object.values(ACTIONS));
    const missing = routes.filter(
      (r) => r.action === undefined || !catalog.has(r.action) || r.auth === undefined,
    );
    expect(missing).toEqual([]);
  });

  it('dispatches every AWS Query operation to exactly one catalogued action', () => {
    const query = routes.filter((r) => r.method === 'POST' && r.url === '/');
    expect(query).toEqual([{ method: 'POST', url: '/', action: ACTIONS.AwsQuery, auth: 'sigv4' }]);
    const catalog = new Set<string>(Object.values(ACTIONS));
    const operations = Object.entries(AWS_OPERATIONS).flatMap(([service, ops]) =>
      Object.entries(ops).map(([name, op]) => ({ name: `${service}:${name}`, action: op.action })),
    );
    expect(operations.length).toBeGreaterThan(25);
    expect(operations.filter((o) => !catalog.has(o.action))).toEqual([]);
    // The AWS operation name is the action name: iam:CreateUser is the catalog's iam:CreateUser.
    expect(operations.filter((o) => o.action !== o.name)).toEqual([]);
  });

  it('only public endpoints go without a session', () => {
    const open = routes.filter((r) => r.auth === 'none').map((r) => `${r.method} ${r.url}`);
    expect(open.sort()).toEqual(
      [
        'GET /docs',
        // The web console (src/http/console.ts): its pages and hashed assets.
        'GET /',
        'GET /sign-in',
        // The page one-time setup links open.
        'GET /setup',
        'GET /recover/*',
        'GET /enrol',
        'GET /security',
        'GET /admin',
        'GET /admin/*',
        'GET /assets/*',
        'GET /healthz',
        'GET /metrics',
        'GET /readyz',
        'GET /v1/openapi.json',
        'POST /v1/setup',
        // Whom a setup token sets up, for the page the link opens (reads only).
        'POST /v1/setup/inspect',
        'POST /v1/sign-in',
        'POST /v1/sign-in/second-factor',
        // Texts the code of the factor the user picked (text-message factors), within a sign-in flow.
        'POST /v1/sign-in/challenge',
        'POST /v1/sign-in/second-factor/webauthn/options',
        'POST /v1/sign-in/second-factor/webauthn',
        'POST /v1/sign-in/passkey/options',
        'POST /v1/sign-in/passkey',
        // Recovery (src/http/api/recovery-routes.ts): answers never reveal whether a login exists.
        'POST /v1/recovery/start',
        'POST /v1/recovery/verify',
        'POST /v1/recovery/cancel',
        'POST /v1/password-reset/start',
        'POST /v1/password-reset/complete',
        'GET /recovery/cancel',
        'POST /recovery/cancel',
        'GET /recovery/verify',
        'POST /recovery/verify',
        'GET /contacts/verify',
        'POST /contacts/verify',
        'GET /password-reset',
        'POST /password-reset',
        // The OpenID Connect provider (src/http/oidc/): discovery and the protocol endpoints (OAuth
        // authenticates clients and tokens there), the sign-in page of an authorization and its state.
        'GET /.well-known/openid-configuration',
        'OPTIONS /.well-known/openid-configuration',
        'GET /oidc/*',
        'POST /oidc/*',
        'OPTIONS /oidc/*',
        'GET /oidc/interaction/:uid',
        'GET /oidc/interaction/:uid/state',
        'POST /oidc/interaction/:uid/abort',
        'GET /oidc-assets/interaction.js',
      ].sort(),
    );
  });
});
