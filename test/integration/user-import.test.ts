/**
 * Bulk import of users from CSV, all or nothing: through `holdfast user import` (a real process)
 * and through POST /v1/users/import. A file with any bad row creates nobody and reports every bad
 * row with its line; a good file creates everyone with a setup link, and with --invite queues one
 * invitation e-mail each.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import { PASSWORD, injectHttp } from '../helpers/mfa.js';
import { assertCliBuilt, cliEnv, newMasterKey, runCli } from '../helpers/processes.js';

describe('bulk import of users from CSV', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    assertCliBuilt();
    dir = mkdtempSync(join(tmpdir(), 'holdfast-import-'));
    env = cliEnv({ HOLDFAST_DB: `sqlite:${join(dir, 'holdfast.db')}`, HOLDFAST_MASTER_KEY: newMasterKey() });
    const boot = await runCli(['bootstrap', '--account', 'acme', '--owner-email', 'owner@acme.test'], {
      env,
    });
    expect(boot.code).toBe(0);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const listed = async () =>
    (await runCli(['user', 'list', '--account', 'acme', '--json'], { env })).json<{ users: unknown[] }>()
      .users;

  it('refuses a file with bad rows, creates nobody, and names every bad row by line', async () => {
    const bad = file(
      'bad.csv',
      'email,role,username\nann@acme.test,user,\nnot-an-address,user,\nbob@acme.test,wizard,\nann@acme.test,admin,ann2\nowner@acme.test,user,\n',
    );
    const text = await runCli(['user', 'import', bad, '--account', 'acme'], { env });
    expect(text.code).toBe(1);
    expect(text.errorCode).toBe('USER_IMPORT_INVALID');
    expect(text.stderr).toContain('line 3: REQUEST_INVALID');
    expect(text.stderr).toContain('line 4: REQUEST_INVALID: role must be one of');
    expect(text.stderr).toContain('line 5: REQUEST_INVALID: ann@acme.test is also on line 2');
    expect(text.stderr).toContain('line 6: USER_EMAIL_TAKEN');
    const json = await runCli(['user', 'import', bad, '--account', 'acme', '--json'], { env });
    const report = JSON.parse(json.stderr.trim()) as {
      error: { rows: Array<{ line: number; code: string }> };
    };
    expect(report.error.rows.map((r) => r.line)).toEqual([3, 4, 5, 6]);
    expect(await listed()).toHaveLength(1);
  });

  it('creates every user of a good file with a setup link, and queues invitations with --invite', async () => {
    const good = file('good.csv', 'email,role,username\ncara@acme.test,user,cara\ndan@acme.test,helpdesk,\n');
    const out = await runCli(['user', 'import', good, '--account', 'acme', '--invite', '--json'], { env });
    expect(out.code, out.stderr).toBe(0);
    const body = out.json<{
      created: number;
      users: Array<{ email: string; setupUrl: string; invited: boolean }>;
    }>();
    expect(body.created).toBe(2);
    expect(body.users.map((u) => u.email)).toEqual(['cara@acme.test', 'dan@acme.test']);
    for (const u of body.users) {
      expect(u.setupUrl).toMatch(/^http:\/\/localhost:8080\/setup#token=/);
      expect(u.invited).toBe(true);
    }
    const outbox = await runCli(['outbox', 'list', '--json'], { env });
    expect(outbox.stdout.match(/user\.invitation/g)).toHaveLength(2);
    expect(await listed()).toHaveLength(3);
  });
});

describe('POST /v1/users/import', () => {
  let inst: TestInstallation;

  beforeAll(async () => {
    inst = await createTestInstallation('sqlite');
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'admin@acme.test',
      password: PASSWORD,
      role: 'admin',
    });
  });
  afterAll(async () => inst?.destroy());

  it('is all or nothing for an admin: an owner row is refused and nobody is created', async () => {
    const server = await buildTestServer(inst);
    const http = injectHttp(server);
    const token = await mfaSessionToken(inst, { accountName: 'acme', login: 'admin@acme.test' });
    const csv = 'email,role\nerin@acme.test,user\nfay@acme.test,owner\n';
    const refused = await http({ method: 'POST', url: '/v1/users/import', body: { csv }, token });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.code).toBe('USER_IMPORT_INVALID');
    expect(refused.body.error.rows).toEqual([
      { line: 3, code: 'GUARDRAIL_DENIED', message: 'you may not create a user with the role owner' },
    ]);
    const account = (await inst.store.accounts.findByName('acme'))!;
    expect(await inst.store.principals.findByLogin(account.id, 'erin@acme.test')).toBeNull();

    const created = await http({
      method: 'POST',
      url: '/v1/users/import',
      body: { csv: 'email,role\nerin@acme.test,user\n' },
      token,
    });
    expect(created.status).toBe(201);
    expect(created.body.users[0].user.email).toBe('erin@acme.test');
    expect(created.body.users[0].invited).toBe(false);
    await server.close();
  });
});
