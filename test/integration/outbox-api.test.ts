/**
 * GET /v1/outbox: the account's outbox for its administrators, read-only and paged, with the
 * delivery state of each message and never its contents (setup links, codes and cancel links
 * travel sealed in the payload and must not come out here).
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
import { PASSWORD, expectError, expectStatus, injectHttp, mfaApi, type MfaApi } from '../helpers/mfa.js';

describe.each(DATABASE_KINDS)('the outbox over the API [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let accountId: string;
  let otherAccountId: string;
  /** Setup-link tokens sealed in invitations: none may ever appear in an answer. */
  const secrets: string[] = [];
  const ctx = { requestId: 'seed', sourceIp: null, userAgent: 'test' };
  const token = (login: string, accountName = 'acme') => mfaSessionToken(inst, { accountName, login });
  const list = async (query: string, login = 'admin@acme.test') =>
    api.http({ method: 'GET', url: `/v1/outbox${query}`, token: await token(login) });

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    ({ accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    }));
    for (const [email, role] of [
      ['admin@acme.test', 'admin'],
      ['helpdesk@acme.test', 'helpdesk'],
      ['user@acme.test', 'user'],
    ] as const) {
      await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD, role });
    }
    for (const n of [1, 2, 3]) {
      inst.clock.advance(1000);
      const { setup } = await inst.app.createUser({
        actor: { kind: 'operator' },
        ctx,
        accountId,
        email: `invitee-${n}@acme.test`,
        invite: true,
      });
      secrets.push(setup.token);
    }
    ({ accountId: otherAccountId } = await createUserWithPassword(inst, {
      accountName: 'globex',
      email: 'owner@globex.test',
      password: PASSWORD,
    }));
    const { setup } = await inst.app.createUser({
      actor: { kind: 'operator' },
      ctx,
      accountId: otherAccountId,
      email: 'invitee@globex.test',
      invite: true,
    });
    secrets.push(setup.token);
    server = await buildTestServer(inst);
    api = mfaApi(injectHttp(server), 'acme');
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('lists the account’s messages newest first with recipient, kind and delivery state, never a secret', async () => {
    const res = await list('');
    expectStatus(res, 200);
    const invitations = res.body.messages.filter(
      (m: { template: string }) => m.template === 'user.invitation',
    );
    expect(invitations.map((m: { recipient: string }) => m.recipient)).toEqual([
      'invitee-3@acme.test',
      'invitee-2@acme.test',
      'invitee-1@acme.test',
    ]);
    expect(invitations[0]).toMatchObject({
      channel: 'email',
      state: 'pending',
      attempts: 0,
      holdsSecret: true,
      principalName: 'invitee-3@acme.test',
      lastError: null,
      sentAt: null,
    });
    const raw = JSON.stringify(res.body);
    // Another account's invitation is not among them.
    expect(raw).not.toContain('globex');
    for (const secret of secrets) expect(raw).not.toContain(secret);
    expect(raw).not.toContain('sealedSecret');
    expect(Object.keys(invitations[0]).sort()).not.toContain('payload');
  });

  it('pages with limit and offset, one row past the page telling whether more follow', async () => {
    const first = await list('?limit=2');
    expectStatus(first, 200);
    expect(first.body).toMatchObject({ offset: 0, limit: 2, hasMore: true });
    const all = (await list('?limit=100')).body.messages.map((m: { id: string }) => m.id);
    expect(first.body.messages.map((m: { id: string }) => m.id)).toEqual(all.slice(0, 2));
    const last = await list(`?limit=2&offset=${all.length - 1}`);
    expect(last.body.messages.map((m: { id: string }) => m.id)).toEqual(all.slice(-1));
    expect(last.body.hasMore).toBe(false);
  });

  it('filters on delivery state: a delivered message is sent, a given-up one failed', async () => {
    await inst.app.deliverDue({
      transports: {
        email: {
          send: async (m) => {
            if (m.to === 'invitee-1@acme.test') throw new Error('550 mailbox unavailable');
          },
        },
      },
      publicUrl: 'http://x',
      claimId: 'outbox-api-test',
      leaseMs: 30_000,
      maxAttempts: 1,
      backoffBaseMs: 1000,
      backoffMaxMs: 10_000,
    });
    const failed = await list('?state=failed');
    expectStatus(failed, 200);
    expect(failed.body.messages.map((m: { recipient: string }) => m.recipient)).toEqual([
      'invitee-1@acme.test',
    ]);
    expect(failed.body.messages[0]).toMatchObject({ state: 'failed', attempts: 1, nextAttemptAt: null });
    expect(failed.body.messages[0].lastError).toContain('550');
    const sent = await list('?state=sent');
    const sentTo = sent.body.messages.map((m: { recipient: string }) => m.recipient);
    expect(sentTo).toContain('invitee-2@acme.test');
    expect(sentTo).not.toContain('invitee-1@acme.test');
    // Delivered messages no longer hold their link.
    expect(sent.body.messages.every((m: { holdsSecret: boolean }) => !m.holdsSecret)).toBe(true);
    expect((await list('?state=pending')).body.messages).toEqual([]);
  });

  it('refuses help desk, users, password-only sessions and bad queries, with a code', async () => {
    expectError(await list('', 'helpdesk@acme.test'), 403, 'AUTH_FORBIDDEN');
    expectError(await list('', 'user@acme.test'), 403, 'AUTH_FORBIDDEN');
    const passwordOnly = await api.passwordToken('admin@acme.test');
    expectError(
      await api.http({ method: 'GET', url: '/v1/outbox', token: passwordOnly }),
      403,
      'MFA_STEP_UP_REQUIRED',
    );
    expectError(await api.http({ method: 'GET', url: '/v1/outbox' }), 401, 'AUTH_SESSION_REQUIRED');
    expectError(await list('?state=everything'), 400, 'REQUEST_INVALID');
    expectError(await list('?limit=1000'), 400, 'REQUEST_INVALID');
  });

  it('records a refused read in the audit log', async () => {
    await list('', 'user@acme.test');
    const denied = [];
    for await (const r of inst.app.scanAudit()) {
      if (r.action === 'authz.denied' && r.details?.action === 'holdfast:ListOutboxMessages') denied.push(r);
    }
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((r) => r.outcome === 'failure' && r.accountId === accountId)).toBe(true);
  });
});
