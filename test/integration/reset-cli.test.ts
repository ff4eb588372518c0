/**
 * `holdfast reset request|approve|cancel|list` as real processes: each acts as the person whose
 * MFA session token it is given, through the same use cases and authorization as the API, so
 * evidence, G6 and the second approver are enforced. And `holdfast outbox list`, which shows what
 * waits for delivery (no SMTP configured) without ever printing a secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, createCliTarget, killAllChildren, type CliTarget } from '../helpers/processes.js';
import { mfaSessionToken } from '../helpers/installation.js';

describe('holdfast reset and outbox (real CLI processes)', () => {
  let target: CliTarget;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    assertCliBuilt();
    target = await createCliTarget('sqlite', { envKey: true });
    const inst = await target.open();
    try {
      const ctx = { requestId: 'seed', sourceIp: null, userAgent: 'test' };
      const { account } = await inst.app.bootstrapAccount({
        accountName: 'acme',
        ownerEmail: 'owner@acme.test',
        ctx,
      });
      for (const [email, role] of [
        ['admin1@acme.test', 'admin'],
        ['admin2@acme.test', 'admin'],
        ['helpdesk@acme.test', 'helpdesk'],
        ['user@acme.test', 'user'],
      ] as const) {
        await inst.app.createUser({ actor: { kind: 'operator' }, ctx, accountId: account.id, email, role });
      }
      for (const login of ['owner@acme.test', 'admin1@acme.test', 'admin2@acme.test', 'helpdesk@acme.test']) {
        tokens[login] = await mfaSessionToken(inst, { accountName: 'acme', login });
      }
    } finally {
      await inst.close();
    }
  });
  afterAll(async () => {
    await killAllChildren();
    await target?.cleanup();
  });

  const reset = (login: string, args: string[]) =>
    target.cli(['reset', ...args, '--json'], { HOLDFAST_TOKEN: tokens[login] });

  it('enforces evidence, G6 and the second approver; cancel and list work', async () => {
    const noEvidence = await reset('helpdesk@acme.test', ['request', '--user', 'user@acme.test']);
    expect(noEvidence.errorCode).toBe('RECOVERY_EVIDENCE_REQUIRED');
    const helpdeskOnAdmin = await reset('helpdesk@acme.test', [
      'request',
      '--user',
      'admin2@acme.test',
      '--evidence',
      'phone_callback:called the number on file',
    ]);
    expect(helpdeskOnAdmin.errorCode).toBe('GUARDRAIL_DENIED');

    const opened = await reset('admin1@acme.test', [
      'request',
      '--user',
      'admin2@acme.test',
      '--evidence',
      'id_document:passport on video',
      '--evidence',
      'manager_confirmation:confirmed by her manager',
      '--reason',
      'lost phone',
    ]);
    expect(opened.code, opened.stderr).toBe(0);
    const request = opened.json<{ request: { id: string; state: string; evidence: unknown[] } }>().request;
    expect(request.state).toBe('awaiting_approval');
    expect(request.evidence).toHaveLength(2);

    expect((await reset('admin1@acme.test', ['approve', request.id])).errorCode).toBe('GUARDRAIL_DENIED');
    const approved = await reset('owner@acme.test', ['approve', request.id]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.json<{ request: { state: string } }>().request.state).toBe('waiting');

    const listed = await reset('admin2@acme.test', ['list', '--state', 'waiting']);
    expect(listed.json<{ requests: Array<{ id: string }> }>().requests.map((r) => r.id)).toEqual([
      request.id,
    ]);
    const cancelled = await reset('admin2@acme.test', ['cancel', request.id, '--reason', 'not me']);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.json<{ request: { state: string } }>().request.state).toBe('cancelled');
  });

  it('lists the outbox (no SMTP configured: messages stay there) without printing secrets', async () => {
    const out = await target.cli(['outbox', 'list', '--account', 'acme', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const messages = out.json<{
      messages: Array<{ template: string; status: string; holdsSecret: boolean; payload: object }>;
    }>().messages;
    const withLinks = messages.filter(
      (m) => m.template === 'reset.requested' || m.template === 'recovery.pending',
    );
    expect(withLinks.length).toBeGreaterThan(0);
    for (const m of withLinks) {
      expect(m.status).toBe('pending');
      expect(m.holdsSecret).toBe(true);
    }
    expect(out.stdout).not.toMatch(/hfv_|sealedSecret/);
    const text = await target.cli(['outbox', 'list', '--account', 'acme']);
    expect(text.stdout).toMatch(/pending\s+email\s+reset\.requested/);
  });
});
