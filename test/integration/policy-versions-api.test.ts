/**
 * Managed-policy versions over the JSON API (how the console edits a policy): add a version that
 * becomes the one in force, list them newest first, make an older one the default again; a
 * broken document, an unknown policy, a sixth version and the help desk are refused.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  PASSWORD,
  errorCodeOf,
  expectError,
  expectStatus,
  injectHttp,
  mfaApi,
  type HttpRequest,
  type MfaApi,
} from '../helpers/mfa.js';

const doc = (actions: string[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });

describe.each(DATABASE_KINDS)('policy versions over the API [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  const as = async (login: string, method: HttpRequest['method'], url: string, body?: unknown) =>
    api.http({
      method,
      url,
      token: await mfaSessionToken(inst, { accountName: 'acme', login }),
      ...(body === undefined ? {} : { body }),
    });
  const admin = (method: HttpRequest['method'], url: string, body?: unknown) =>
    as('admin@acme.test', method, url, body);

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    for (const [email, role] of [
      ['admin@acme.test', 'admin'],
      ['helpdesk@acme.test', 'helpdesk'],
    ] as const) {
      await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD, role });
    }
    server = await buildTestServer(inst);
    api = mfaApi(injectHttp(server), 'acme');
    expectStatus(
      await admin('POST', '/v1/policies', { name: 'ReadUsers', document: doc(['iam:GetUser']) }),
      201,
    );
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('adds a version that is in force at once, and lists versions newest first', async () => {
    const added = await admin('POST', '/v1/policies/ReadUsers/versions', {
      document: doc(['iam:ListUsers']),
    });
    expectStatus(added, 201);
    expect(added.body.version).toMatchObject({ versionId: 'v2', isDefault: true });
    const listed = await admin('GET', '/v1/policies/ReadUsers/versions');
    expectStatus(listed, 200);
    expect(
      listed.body.versions.map((v: { versionId: string; isDefault: boolean }) => [v.versionId, v.isDefault]),
    ).toEqual([
      ['v2', true],
      ['v1', false],
    ]);
    expect(JSON.parse(listed.body.versions[1].document).Statement[0].Action).toEqual(['iam:GetUser']);
  });

  it('makes an older version the default again', async () => {
    expectStatus(await admin('POST', '/v1/policies/ReadUsers/versions/v1/default'), 204);
    const listed = await admin('GET', '/v1/policies/ReadUsers/versions');
    expect(listed.body.versions.find((v: { isDefault: boolean }) => v.isDefault).versionId).toBe('v1');
    const missing = await admin('POST', '/v1/policies/ReadUsers/versions/v9/default');
    expect(missing.status).toBe(404);
    expect(errorCodeOf(missing)).toBe('IAM_POLICY_VERSION_NOT_FOUND');
  });

  it('refuses a broken document, an unknown policy and a sixth version, changing nothing', async () => {
    const broken = await admin('POST', '/v1/policies/ReadUsers/versions', { document: '{"Statement": ' });
    expect(broken.status).toBe(400);
    expect(errorCodeOf(broken)).toMatch(/^(POLICY_MALFORMED|IAM_POLICY_DOCUMENT_INVALID)$/);
    expect((await admin('GET', '/v1/policies/ReadUsers/versions')).body.versions).toHaveLength(2);
    const unknown = await admin('GET', '/v1/policies/NoSuchPolicy/versions');
    expect(unknown.status).toBe(404);
    for (const n of [3, 4, 5])
      expectStatus(
        await admin('POST', '/v1/policies/ReadUsers/versions', {
          document: doc([`iam:GetUser`]),
          setAsDefault: n === 5,
        }),
        201,
      );
    const sixth = await admin('POST', '/v1/policies/ReadUsers/versions', { document: doc(['iam:GetUser']) });
    expect(errorCodeOf(sixth)).toBe('IAM_POLICY_VERSION_LIMIT');
    expect((await admin('GET', '/v1/policies/ReadUsers/versions')).body.versions).toHaveLength(5);
  });

  it('refuses the help desk', async () => {
    expectError(
      await as('helpdesk@acme.test', 'GET', '/v1/policies/ReadUsers/versions'),
      403,
      'AUTH_FORBIDDEN',
    );
    expectError(
      await as('helpdesk@acme.test', 'POST', '/v1/policies/ReadUsers/versions', { document: doc(['iam:*']) }),
      403,
      'AUTH_FORBIDDEN',
    );
    expectError(
      await as('helpdesk@acme.test', 'POST', '/v1/policies/ReadUsers/versions/v2/default'),
      403,
      'AUTH_FORBIDDEN',
    );
  });
});
