/**
 * The audit log and alerts as the console reads them: GET /v1/audit with filters, newest first,
 * one page per request and people named; GET /v1/audit/export of the filtered view (JSON lines
 * and a CloudTrail log file); GET /v1/alerts with filters and names; POST
 * /v1/alerts/:id/acknowledge with a note (audited). Every bad input gets its code and changes
 * nothing; another account's administrator reaches nothing.
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

interface Rec {
  seq: number;
  eventName: string;
  eventTime: string;
  userIdentity: { type: string; principalId: string | null };
  target: string | null;
  outcome: string;
  actorName: string | null;
  targetName: string | null;
}

describe.each(DATABASE_KINDS)('audit log and alerts for the console [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let accountId: string;
  let otherAccountId: string;
  let ownerId: string;
  let userId: string;
  let middle = '';
  const token = (login: string, accountName = 'acme') => mfaSessionToken(inst, { accountName, login });
  const get = async (url: string, login = 'owner@acme.test', accountName = 'acme') =>
    api.http({ method: 'GET', url, token: await token(login, accountName) });
  const acknowledge = async (id: string, body: unknown, login = 'owner@acme.test', accountName = 'acme') =>
    api.http({
      method: 'POST',
      url: `/v1/alerts/${encodeURIComponent(id)}/acknowledge`,
      body,
      token: await token(login, accountName),
    });
  const raw = async (url: string, login = 'owner@acme.test') =>
    server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await token(login)}` } });
  const allRecords = async (query: string): Promise<Rec[]> =>
    (await get(`/v1/audit?limit=1000&${query}`)).body.records as Rec[];

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    ({ accountId, userId: ownerId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    }));
    for (const [email, role] of [
      ['admin@acme.test', 'admin'],
      ['helpdesk@acme.test', 'helpdesk'],
      ['user@acme.test', 'user'],
    ] as const) {
      const made = await createUserWithPassword(inst, {
        accountName: 'acme',
        email,
        password: PASSWORD,
        role,
      });
      if (role === 'user') userId = made.userId;
    }
    ({ accountId: otherAccountId } = await createUserWithPassword(inst, {
      accountName: 'globex',
      email: 'owner@globex.test',
      password: PASSWORD,
    }));
    server = await buildTestServer(inst);
    api = mfaApi(injectHttp(server), 'acme');
    // Sign-ins by the user (success), then a wrong password for them (failure), an hour apart.
    inst.clock.advance(3_600_000);
    await api.passwordToken('user@acme.test');
    inst.clock.advance(3_600_000);
    middle = new Date(inst.clock.now()).toISOString();
    const wrong = await api.http({
      method: 'POST',
      url: '/v1/sign-in',
      body: { account: 'acme', login: 'user@acme.test', password: 'not the password at all' },
    });
    expect(wrong.status).toBe(401);
    inst.clock.advance(3_600_000);
    // The owner adds a user through the API: a record with a person on both sides.
    expectStatus(
      await api.http({
        method: 'POST',
        url: '/v1/users',
        body: { email: 'late@acme.test', role: 'user' },
        token: await token('owner@acme.test'),
      }),
      201,
    );
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('answers newest first, one page per request, naming the people beside their ids', async () => {
    const res = await get('/v1/audit?order=desc&limit=5');
    expectStatus(res, 200);
    const records = res.body.records as Rec[];
    expect(records).toHaveLength(5);
    const seqs = records.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(res.body.more).toBe(true);
    expect(res.body.nextBefore).toBe(seqs[4]);
    expect(res.body.nextAfter).toBeNull();
    // The keys the API had before stay.
    for (const key of ['seq', 'eventId', 'eventTime', 'eventName', 'userIdentity', 'target', 'outcome'])
      expect(Object.keys(records[0]!)).toContain(key);
    for (const key of ['prevHash', 'hash', 'details']) expect(Object.keys(records[0]!)).toContain(key);

    const created = (await allRecords('action=user.create')).find((r) => r.targetName === 'late@acme.test')!;
    expect(created.userIdentity.principalId).toBe(ownerId);
    expect(created.actorName).toBe('owner@acme.test');
    const signIn = (await allRecords('action=auth.sign_in&outcome=success')).find(
      (r) => r.target === userId,
    )!;
    expect(signIn.targetName).toBe('user@acme.test');

    // The next page continues where this one ended, without overlap or gap.
    const next = await get(`/v1/audit?order=desc&limit=5&before=${res.body.nextBefore}`);
    const all = await allRecords('order=desc');
    expect([...seqs, ...(next.body.records as Rec[]).map((r) => r.seq)]).toEqual(
      all.slice(0, 10).map((r) => r.seq),
    );
    // Oldest first stays the default, as before.
    const oldest = await get('/v1/audit?limit=3');
    expect((oldest.body.records as Rec[]).map((r) => r.seq)).toEqual([1, 2, 3].map((i) => all.at(-i)!.seq));
    expect(oldest.body.nextAfter).toBe(all.at(-3)!.seq);
  });

  it('filters on the server by actor, target, action, outcome and time range', async () => {
    const byActor = await allRecords('actor=owner@acme.test');
    expect(byActor.length).toBeGreaterThan(0);
    expect(new Set(byActor.map((r) => r.userIdentity.principalId))).toEqual(new Set([ownerId]));
    expect(await allRecords(`actor=${ownerId}`)).toEqual(byActor);
    const { username } = (await inst.store.principals.findById(accountId, ownerId))!;
    expect(await allRecords(`actor=${encodeURIComponent(username)}`)).toEqual(byActor);

    const aboutUser = await allRecords('target=user@acme.test');
    expect(aboutUser.length).toBeGreaterThan(0);
    expect(aboutUser.every((r) => r.target === userId)).toBe(true);

    const failures = await allRecords('outcome=failure');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((r) => r.outcome === 'failure')).toBe(true);
    expect(failures.some((r) => r.eventName === 'auth.sign_in' && r.target === userId)).toBe(true);

    const created = await allRecords('action=user.create');
    expect(created.every((r) => r.eventName === 'user.create')).toBe(true);

    const later = await allRecords(`from=${encodeURIComponent(middle)}`);
    const earlier = await allRecords(`to=${encodeURIComponent(middle)}`);
    expect(later.every((r) => r.eventTime >= middle)).toBe(true);
    expect(earlier.every((r) => r.eventTime < middle)).toBe(true);
    expect(later.length + earlier.length).toBe((await allRecords('')).length);
    expect(later.some((r) => r.targetName === 'late@acme.test')).toBe(true);

    // Nobody by that name: nothing, not everything.
    expect(await allRecords('actor=nobody@acme.test')).toEqual([]);
  });

  it('refuses bad filters with REQUEST_INVALID', async () => {
    for (const query of [
      'from=yesterday',
      `from=${encodeURIComponent(middle)}&to=${encodeURIComponent(middle)}`,
      'outcome=maybe',
      'order=sideways',
      'limit=0',
      'limit=1001',
      'before=0',
      'colour=blue',
      `actor=${'a'.repeat(255)}`,
    ]) {
      expectError(await get(`/v1/audit?${query}`), 400, 'REQUEST_INVALID');
    }
    expectError(await get('/v1/audit/export?format=xml'), 400, 'REQUEST_INVALID');
    expectError(await get('/v1/audit/export?format=jsonl&from=soon'), 400, 'REQUEST_INVALID');
  });

  it('shows each account only its own records, and not to the help desk', async () => {
    const theirs = await get('/v1/audit?limit=1000', 'owner@globex.test', 'globex');
    expectStatus(theirs, 200);
    const ids = new Set((theirs.body.records as Rec[]).map((r) => r.userIdentity.principalId));
    expect(ids.has(userId)).toBe(false);
    expect(ids.has(ownerId)).toBe(false);
    // Their export holds their records only, whatever filter names an acme person.
    const exported = await server.inject({
      method: 'GET',
      url: `/v1/audit/export?format=jsonl&actor=${ownerId}`,
      headers: { authorization: `Bearer ${await token('owner@globex.test', 'globex')}` },
    });
    expect(exported.statusCode).toBe(200);
    expect(exported.body).toBe('');
    const all = await server.inject({
      method: 'GET',
      url: '/v1/audit/export?format=jsonl',
      headers: { authorization: `Bearer ${await token('owner@globex.test', 'globex')}` },
    });
    expect(all.body).not.toContain(ownerId);
    expect(all.body).not.toContain(userId);
    expect(all.body).not.toContain('acme.test');
    expectError(await get('/v1/audit', 'helpdesk@acme.test'), 403, 'AUTH_FORBIDDEN');
    expect((await raw('/v1/audit/export?format=jsonl', 'helpdesk@acme.test')).statusCode).toBe(403);
  });

  it('exports the filtered view as JSON lines and as a CloudTrail log file', async () => {
    const view = await allRecords('outcome=failure');
    const lines = await raw('/v1/audit/export?format=jsonl&outcome=failure');
    expect(lines.statusCode).toBe(200);
    expect(lines.headers['content-type']).toContain('application/x-ndjson');
    expect(lines.headers['content-disposition']).toBe('attachment; filename="holdfast-audit-acme.jsonl"');
    const exported = lines.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Rec);
    expect(exported.map((r) => r.seq)).toEqual(view.map((r) => r.seq));
    expect(exported.every((r) => r.outcome === 'failure')).toBe(true);

    const trail = await raw('/v1/audit/export?format=cloudtrail&action=user.create');
    expect(trail.statusCode).toBe(200);
    expect(trail.headers['content-disposition']).toContain('.cloudtrail.json');
    const file = JSON.parse(trail.body) as {
      Records: Array<{
        eventVersion: string;
        eventSource: string;
        additionalEventData: { holdfastAction: string };
      }>;
    };
    expect(file.Records).toHaveLength((await allRecords('action=user.create')).length);
    expect(file.Records.length).toBeGreaterThan(0);
    for (const r of file.Records) {
      expect(r.eventVersion).toBe('1.08');
      expect(r.additionalEventData.holdfastAction).toBe('user.create');
    }
    const empty = await raw('/v1/audit/export?format=cloudtrail&actor=nobody');
    expect(JSON.parse(empty.body)).toEqual({ Records: [] });
  });

  describe('alerts', () => {
    let high: string;
    let medium: string;
    let theirs: string;
    const acks = async () => (await allRecords('action=alert.acknowledge')).length;
    const stored = async (id: string, account = accountId) => inst.store.recovery.findAlert(account, id);

    beforeAll(async () => {
      const events = (await inst.store.audit.query({ accountId, limit: 3 })).map((r) => r.eventId);
      const alert = (
        id: string,
        input: { ruleId: string; severity: 'high' | 'medium'; eventId: string },
      ) => ({
        id,
        accountId,
        principalId: userId,
        summary: 'test alert',
        details: {},
        createdAt: inst.clock.now(),
        acknowledged: null,
        ...input,
      });
      high = 'alr_high';
      medium = 'alr_medium';
      theirs = 'alr_theirs';
      await inst.store.recovery.insertAlert(
        alert(high, { ruleId: 'HF-RESET', severity: 'high', eventId: events[0]! }),
      );
      inst.clock.advance(1000);
      await inst.store.recovery.insertAlert(
        alert(medium, { ruleId: 'HF-FACTOR-REMOVED', severity: 'medium', eventId: events[1]! }),
      );
      await inst.store.recovery.insertAlert({
        ...alert(theirs, { ruleId: 'HF-RESET', severity: 'high', eventId: events[2]! }),
        accountId: otherAccountId,
        principalId: null,
      });
    });

    it('lists alerts newest first with the person named, and filters them on the server', async () => {
      const res = await get('/v1/alerts');
      expectStatus(res, 200);
      expect(res.body.alerts.map((a: { id: string }) => a.id)).toEqual([medium, high]);
      expect(res.body.alerts[0]).toMatchObject({
        principalId: userId,
        principalName: 'user@acme.test',
        state: 'open',
        acknowledged: null,
      });
      const ids = async (query: string) =>
        ((await get(`/v1/alerts?${query}`)).body.alerts as Array<{ id: string }>).map((a) => a.id);
      expect(await ids('severity=high')).toEqual([high]);
      expect(await ids('rule=HF-FACTOR-REMOVED')).toEqual([medium]);
      expect(await ids('state=acknowledged')).toEqual([]);
      for (const query of ['severity=urgent', 'state=closed', 'rule=<script>', 'limit=501'])
        expectError(await get(`/v1/alerts?${query}`), 400, 'REQUEST_INVALID');
    });

    it('refuses bad acknowledgements with their codes and changes nothing', async () => {
      const before = await acks();
      expectError(await acknowledge('alr_nope', { note: 'x' }), 404, 'ALERT_NOT_FOUND');
      expectError(await acknowledge(high, { note: 'n'.repeat(501) }), 400, 'ALERT_NOTE_INVALID');
      expectError(await acknowledge(high, { note: 'bell\u0007' }), 400, 'ALERT_NOTE_INVALID');
      expectError(await acknowledge(high, { note: 'x'.repeat(4001) }), 400, 'REQUEST_INVALID');
      expectError(await acknowledge(high, {}), 400, 'REQUEST_INVALID');
      expectError(await acknowledge(high, { note: 'ok', extra: 1 }), 400, 'REQUEST_INVALID');
      // The help desk may not; a session without a fresh second factor must step up first.
      expectError(await acknowledge(high, { note: 'x' }, 'helpdesk@acme.test'), 403, 'AUTH_FORBIDDEN');
      const passwordOnly = await api.passwordToken('admin@acme.test');
      expectError(
        await api.http({
          method: 'POST',
          url: `/v1/alerts/${high}/acknowledge`,
          body: { note: 'x' },
          token: passwordOnly,
        }),
        403,
        'MFA_STEP_UP_REQUIRED',
      );
      expect((await stored(high))!.acknowledged).toBeNull();
      expect(await acks()).toBe(before);
    });

    it('attack: another account’s administrator cannot see or acknowledge an alert by its id', async () => {
      // Holdings: globex's owner with an MFA session, and the id of acme's alert.
      const listed = await get('/v1/alerts', 'owner@globex.test', 'globex');
      expect(listed.body.alerts.map((a: { id: string }) => a.id)).toEqual([theirs]);
      expectError(
        await acknowledge(high, { note: 'nothing to see' }, 'owner@globex.test', 'globex'),
        404,
        'ALERT_NOT_FOUND',
      );
      // Nothing changed for acme: the alert is still open for its own administrators.
      expect((await stored(high))!.acknowledged).toBeNull();
      expect((await get('/v1/alerts?state=open')).body.alerts.map((a: { id: string }) => a.id)).toContain(
        high,
      );
    });

    it('acknowledges once with a note, naming who did it, and leaves one audit record', async () => {
      const before = await acks();
      const res = await acknowledge(high, { note: '  Called Ursula: she asked for the reset.  ' });
      expectStatus(res, 200);
      expect(res.body.alert).toMatchObject({
        id: high,
        state: 'acknowledged',
        acknowledged: {
          by: ownerId,
          byName: 'owner@acme.test',
          note: 'Called Ursula: she asked for the reset.',
        },
      });
      const records = await allRecords('action=alert.acknowledge');
      expect(records).toHaveLength(before + 1);
      const record = records.at(-1)! as Rec & { details: Record<string, unknown> };
      expect(record).toMatchObject({ target: high, outcome: 'success', actorName: 'owner@acme.test' });
      expect(record.details).toMatchObject({
        ruleId: 'HF-RESET',
        note: 'Called Ursula: she asked for the reset.',
      });

      expectError(
        await acknowledge(high, { note: 'second opinion' }, 'admin@acme.test'),
        409,
        'ALERT_ALREADY_ACKNOWLEDGED',
      );
      expect((await stored(high))!.acknowledged!.note).toBe('Called Ursula: she asked for the reset.');
      expect(await acks()).toBe(before + 1);

      const ids = async (query: string) =>
        ((await get(`/v1/alerts?${query}`)).body.alerts as Array<{ id: string }>).map((a) => a.id);
      expect(await ids('state=acknowledged')).toEqual([high]);
      expect(await ids('state=open')).toEqual([medium]);
      // An empty note is allowed: acknowledging is what counts.
      expectStatus(await acknowledge(medium, { note: '' }, 'admin@acme.test'), 200);
      const listed = (await get('/v1/alerts')).body.alerts as Array<{
        id: string;
        acknowledged: { byName: string };
      }>;
      expect(listed.find((a) => a.id === medium)!.acknowledged.byName).toBe('admin@acme.test');
    });
  });
});
