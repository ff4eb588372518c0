import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/app/actions.js';
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

  it('only public endpoints go without a session', () => {
    const open = routes.filter((r) => r.auth === 'none').map((r) => `${r.method} ${r.url}`);
    expect(open.sort()).toEqual(
      [
        'GET /docs',
        'GET /setup',
        'GET /assets/setup.js',
        // The web console (src/http/console.ts): its pages and hashed assets.
        'GET /',
        'GET /sign-in',
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
        'POST /v1/sign-in',
        'POST /v1/sign-in/second-factor',
      ].sort(),
    );
  });
});
