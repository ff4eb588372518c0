/**
 * `holdfast access-key create|list|deactivate|activate|delete` for an existing user, as the host
 * operator: real processes on one SQLite database. The secret is printed once; listing never
 * shows it; AWS's limit of two keys per user holds; each change is audited.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, cliEnv, newMasterKey, runCli } from '../helpers/processes.js';

describe('holdfast access-key for an existing user', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => runCli(args, { env });
  const target = ['--account', 'acme', '--user', 'ops@acme.test'];

  beforeAll(async () => {
    assertCliBuilt();
    dir = mkdtempSync(join(tmpdir(), 'holdfast-keys-'));
    env = cliEnv({ HOLDFAST_DB: `sqlite:${join(dir, 'holdfast.db')}`, HOLDFAST_MASTER_KEY: newMasterKey() });
    expect((await cli('bootstrap', '--account', 'acme', '--owner-email', 'owner@acme.test')).code).toBe(0);
    expect(
      (await cli('user', 'create', '--account', 'acme', '--email', 'ops@acme.test', '--role', 'admin')).code,
    ).toBe(0);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates, lists, deactivates, activates and deletes keys; the secret is shown once', async () => {
    const created = await cli('access-key', 'create', ...target, '--json');
    expect(created.code, created.stderr).toBe(0);
    const key = created.json<{
      accessKeyId: string;
      secretAccessKey: string;
      userName: string;
      arn: string;
    }>();
    expect(key.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(key.secretAccessKey).toHaveLength(40);
    expect(key.arn).toMatch(/^arn:aws:iam::\d{12}:user\/ops@acme\.test$/);

    const listed = await cli('access-key', 'list', ...target, '--json');
    expect(listed.stdout).not.toContain(key.secretAccessKey);
    expect(listed.json<{ accessKeys: Array<{ accessKeyId: string; status: string }> }>().accessKeys).toEqual([
      expect.objectContaining({ accessKeyId: key.accessKeyId, status: 'Active' }),
    ]);

    expect((await cli('access-key', 'deactivate', key.accessKeyId, ...target)).stdout).toContain(
      'deactivated',
    );
    const inactive = await cli('access-key', 'list', ...target, '--json');
    expect(inactive.json<{ accessKeys: Array<{ status: string }> }>().accessKeys[0]!.status).toBe('Inactive');
    expect((await cli('access-key', 'activate', key.accessKeyId, ...target)).code).toBe(0);

    // AWS allows two keys per user.
    expect((await cli('access-key', 'create', ...target)).code).toBe(0);
    const third = await cli('access-key', 'create', ...target);
    expect(third.code).toBe(1);
    expect(third.errorCode).toBe('AWS_ACCESS_KEY_LIMIT_REACHED');

    expect((await cli('access-key', 'delete', key.accessKeyId, ...target)).code).toBe(0);
    const gone = await cli('access-key', 'delete', key.accessKeyId, ...target);
    expect(gone.errorCode).toBe('AWS_ACCESS_KEY_NOT_FOUND');
    const unknownUser = await cli('access-key', 'list', '--account', 'acme', '--user', 'nobody@acme.test');
    expect(unknownUser.errorCode).toBe('USER_NOT_FOUND');

    const exported = await cli('audit', 'export');
    for (const action of ['access_key.create', 'access_key.update', 'access_key.delete']) {
      expect(exported.stdout).toContain(`"${action}"`);
    }
    expect(exported.stdout).not.toContain(key.secretAccessKey);
  });
});
