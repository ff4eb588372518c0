import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { buildServer } from '../../src/http/server.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { createTestInstallation, mfaSessionToken, type TestInstallation } from '../helpers/installation.js';

const PASSWORD = 'planted-secret-passphrase-7731';
const NEW_PASSWORD = 'second-planted-passphrase-9917';

describe.each(DATABASE_KINDS)(
  'no secret in logs, errors, audit records or the database [$name]',
  ({ name }) => {
    let inst: TestInstallation;
    const logs: string[] = [];
    const planted: string[] = [PASSWORD, NEW_PASSWORD];

    beforeAll(async () => {
      inst = await createTestInstallation(name);
      const server = await buildServer({
        app: inst.app,
        trustedProxies: [],
        publicUrl: 'http://127.0.0.1:8080',
        logger: {
          level: 'trace',
          stream: new Writable({
            write(chunk, _enc, done) {
              logs.push(String(chunk));
              done();
            },
          }),
        },
      });
      const ctx = { requestId: 'scan', sourceIp: null, userAgent: null };
      const boot = await inst.app.bootstrapAccount({
        accountName: 'scan',
        ownerEmail: 'owner@scan.test',
        ctx,
      });
      planted.push(boot.setup.token);
      const responses: string[] = [];
      const call = async (opts: InjectOptions) => {
        const res = await server.inject(opts);
        responses.push(res.body, JSON.stringify(res.headers));
        return res;
      };
      await call({
        method: 'POST',
        url: '/v1/setup',
        payload: { token: boot.setup.token, password: PASSWORD },
      });
      // Failures: wrong passwords that are themselves secrets, a reused setup token, a forged session.
      await call({
        method: 'POST',
        url: '/v1/sign-in',
        payload: { account: 'scan', login: 'owner@scan.test', password: NEW_PASSWORD },
      });
      await call({
        method: 'POST',
        url: '/v1/setup',
        payload: { token: boot.setup.token, password: PASSWORD },
      });
      const ok = await call({
        method: 'POST',
        url: '/v1/sign-in',
        payload: { account: 'scan', login: 'owner@scan.test', password: PASSWORD },
      });
      const token = ok.json().token as string;
      planted.push(token);
      const cookie = await call({
        method: 'POST',
        url: '/v1/sign-in',
        payload: { account: 'scan', login: 'owner@scan.test', password: PASSWORD, session: 'cookie' },
      });
      const cookieToken = cookie.cookies.find((c) => c.name === 'holdfast_session')!.value;
      planted.push(cookieToken);
      await call({ url: '/v1/session', headers: { authorization: `Bearer ${token}` } });
      await call({ url: '/v1/session', headers: { cookie: `holdfast_session=${cookieToken}` } });
      await call({
        method: 'POST',
        url: '/v1/me/password',
        headers: { authorization: `Bearer ${token}` },
        payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
      });
      // Creating a user is identity administration: it needs an MFA session (G2).
      const mfaToken = await mfaSessionToken(inst, { accountName: 'scan', login: 'owner@scan.test' });
      planted.push(mfaToken);
      const created = await call({
        method: 'POST',
        url: '/v1/users',
        headers: { authorization: `Bearer ${mfaToken}` },
        payload: { email: 'u@scan.test' },
      });
      planted.push(created.json().setup.token);
      await server.close();
      // Responses may carry the caller's own fresh tokens (that is their purpose), never passwords.
      for (const body of responses) {
        expect(body).not.toContain(PASSWORD);
        expect(body).not.toContain(NEW_PASSWORD);
      }
    });
    afterAll(() => inst.destroy());

    it('keeps every planted secret out of the logs', () => {
      expect(logs.length).toBeGreaterThan(5);
      const text = logs.join('\n');
      for (const secret of planted) expect(text).not.toContain(secret);
      expect(text).not.toContain(inst.masterKey);
    });

    it('keeps every planted secret out of the audit log', async () => {
      const records = JSON.stringify(await inst.store.audit.scan(0, 10_000));
      for (const secret of planted) expect(records).not.toContain(secret);
    });

    it('keeps every planted secret and the master key out of a full database dump', async () => {
      let dump = '';
      if (name === 'sqlite') {
        for (const file of readdirSync(inst.fresh.dataDir))
          dump += readFileSync(join(inst.fresh.dataDir, file)).toString('latin1');
      } else {
        for (const table of [
          'accounts',
          'principals',
          'verification_tokens',
          'sessions',
          'flows',
          'audit_log',
          'throttle',
          'meta',
        ]) {
          const rows = await sql.raw(`select * from ${table}`).execute(inst.database.kysely);
          dump += JSON.stringify(rows.rows);
        }
      }
      expect(dump.length).toBeGreaterThan(1000);
      for (const secret of [...planted, inst.masterKey]) {
        expect(dump).not.toContain(secret);
        expect(dump).not.toContain(Buffer.from(secret).toString('base64'));
      }
    });
  },
);
