/**
 * The users list as the database answers it: search taken literally and case-insensitively,
 * filters on role, status and enabled-factor count, sorting by code point on both engines, paging
 * with the number of matches, and one account's query never showing another account's people.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrincipalQuery } from '../../src/core/ports.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import { expectStatus, injectHttp, mfaApi, PASSWORD, STEP_MS, totpAt } from '../helpers/mfa.js';

const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

describe.each(DATABASE_KINDS)('users list query [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let accountId: string;
  let otherAccountId: string;

  const query = (q: Partial<PrincipalQuery>) =>
    inst.store.principals.query(accountId, { sort: 'email', order: 'asc', offset: 0, limit: 50, ...q });
  const emails = async (q: Partial<PrincipalQuery>) => (await query(q)).rows.map((r) => r.email);

  /** Enrols and enables `count` TOTP factors for the user with this e-mail address. */
  async function enrol(email: string, count: number): Promise<void> {
    const api = mfaApi(injectHttp(server), 'people');
    let token = await api.passwordToken(email);
    for (let i = 0; i < count; i++) {
      // A factor beside an enabled one needs a session that passed a second factor (G3).
      if (i > 0) token = await mfaSessionToken(inst, { accountName: 'people', login: email });
      const created = await api.enrolTOTP(token, `device ${i}`);
      expectStatus(created, 201);
      inst.clock.advance(STEP_MS);
      const secret = created.body.secret as string;
      expectStatus(
        await api.enable(token, created.body.factor.id as string, { code: totpAt(secret, inst.clock.now()) }),
        200,
      );
    }
  }

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    ({ accountId } = await createUserWithPassword(inst, {
      accountName: 'people',
      email: 'owner@people.test',
      password: PASSWORD,
      role: 'owner',
    }));
    for (const [email, username, role] of [
      ['a_b@people.test', 'Zed', 'user'],
      ['axb@people.test', '_under', 'admin'],
      ['percent@people.test', 'Hundred.Sure', 'user'],
      ['carol@people.test', 'carol', 'helpdesk'],
    ] as const) {
      inst.clock.advance(1_000);
      await inst.app.createUser({ actor: { kind: 'operator' }, ctx, accountId, email, username, role });
    }
    ({ accountId: otherAccountId } = await createUserWithPassword(inst, {
      accountName: 'elsewhere',
      email: 'carol@elsewhere.test',
      password: PASSWORD,
      role: 'owner',
    }));
    inst.clock.advance(1_000);
    await createUserWithPassword(inst, {
      accountName: 'people',
      email: 'two@people.test',
      password: PASSWORD,
    });
    server = await buildTestServer(inst);
    await enrol('owner@people.test', 1);
    await enrol('two@people.test', 2);
    const carol = (await inst.store.principals.findByLogin(accountId, 'carol@people.test'))!;
    await inst.app.disableUser({ actor: { kind: 'operator' }, ctx, accountId, userRef: carol.id });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('takes the search text literally: _ and % are not wildcards', async () => {
    expect(await emails({ search: 'a_b' })).toEqual(['a_b@people.test']);
    // As wildcards these would match every address ("o%e": owner@…, two@…).
    expect(await emails({ search: 'o%e' })).toEqual([]);
    expect(await emails({ search: '%' })).toEqual([]);
    expect(await emails({ search: 'd.s' })).toEqual(['percent@people.test']);
    expect(await emails({ search: '_' })).toEqual(['a_b@people.test', 'axb@people.test']);
  });

  it('searches e-mail addresses and user names without regard to case', async () => {
    expect(await emails({ search: 'ZED' })).toEqual(['a_b@people.test']);
    expect(await emails({ search: '  Carol ' })).toEqual(['carol@people.test']);
  });

  it('filters on role, status and the number of enabled second factors', async () => {
    expect(await emails({ role: 'admin' })).toEqual(['axb@people.test']);
    expect(await emails({ status: 'disabled' })).toEqual(['carol@people.test']);
    expect(await emails({ factors: '1' })).toEqual(['owner@people.test']);
    expect(await emails({ factors: '2+' })).toEqual(['two@people.test']);
    expect(await emails({ factors: '0' })).toEqual([
      'a_b@people.test',
      'axb@people.test',
      'carol@people.test',
      'percent@people.test',
    ]);
    const two = (await query({ search: 'two' })).rows[0]!;
    expect(two.enabledFactors).toBe(2);
  });

  it('sorts by code point on both engines, ties by e-mail address', async () => {
    // Lower-cased user names: "_under" < "carol" < "hundred.sure" < "owner" < "two" < "zed".
    expect(await emails({ sort: 'username' })).toEqual([
      'axb@people.test',
      'carol@people.test',
      'percent@people.test',
      'owner@people.test',
      'two@people.test',
      'a_b@people.test',
    ]);
    expect(await emails({ sort: 'factors', order: 'desc' })).toEqual([
      'two@people.test',
      'owner@people.test',
      'a_b@people.test',
      'axb@people.test',
      'carol@people.test',
      'percent@people.test',
    ]);
    expect((await emails({ sort: 'createdAt', order: 'desc' }))[0]).toBe('two@people.test');
  });

  it('cuts pages and counts every match', async () => {
    const first = await query({ limit: 4 });
    const second = await query({ limit: 4, offset: 4 });
    expect(first.total).toBe(6);
    expect(second.total).toBe(6);
    expect([...first.rows, ...second.rows].map((r) => r.email)).toEqual(await emails({}));
    expect(second.rows).toHaveLength(2);
    const past = await query({ offset: 10 });
    expect(past).toEqual({ rows: [], total: 6 });
  });

  it("never shows another account's people", async () => {
    expect(await emails({ search: 'elsewhere' })).toEqual([]);
    const theirs = await inst.store.principals.query(otherAccountId, {
      sort: 'email',
      order: 'asc',
      offset: 0,
      limit: 50,
    });
    expect(theirs.rows.map((r) => r.email)).toEqual(['carol@elsewhere.test']);
    expect(theirs.total).toBe(1);
  });
});
