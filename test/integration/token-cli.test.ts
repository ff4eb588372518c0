/**
 * `holdfast tokens ...` through the real, built CLI (`node dist/cli/main.js`) on SQLite: a
 * 10,000-token PSKC import written by Debian's python3-pskc (with its progress bar), the
 * inventory listing, pre-shared-key files, a wrong key, assignment and state changes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase32 } from '../../src/core/factors/otp/base32.js';
import { assertCliBuilt, createCliTarget, killAllChildren, type CliTarget } from '../helpers/processes.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';

/** Skipped (with a banner at the end of `npm test`) where python3-pskc is missing, except in CI. */
const NO_PSKC = withoutClients('python3-pskc');
/** The python3 that imports pskc (Debian's: a pyenv `python3` earlier on PATH does not see it). */
const PYTHON = clientPath('python3-pskc');
const GENERATOR = fileURLToPath(new URL('../fixtures/pskc/generate.py', import.meta.url));
const BULK_COUNT = 10_000;
const KEY_HEX = '00112233445566778899aabbccddeeff';

function generatePSKC(request: Record<string, unknown>): string {
  return execFileSync(PYTHON, [GENERATOR], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** generate.py's bulk seeds: SHA-1("holdfast-bulk-<i>"). */
const bulkSeed = (i: number) => createHash('sha1').update(`holdfast-bulk-${i}`).digest();

const encryptedKey = (serial: string) => ({
  serial,
  manufacturer: 'Crypto Tokens',
  algorithm: 'totp',
  digits: 6,
  period: 30,
  secretHex: createHash('sha1').update(serial).digest('hex'),
});

describe.skipIf(NO_PSKC)('holdfast tokens (built CLI, SQLite)', () => {
  let target: CliTarget;
  let dir: string;
  const file = (name: string) => join(dir, name);
  const tokensTable = async () => (await target.snapshot()).hardware_tokens ?? [];

  beforeAll(async () => {
    assertCliBuilt();
    dir = mkdtempSync(join(tmpdir(), 'holdfast-tokens-'));
    // Written once: python3-pskc takes a second or two for 10,000 keys.
    writeFileSync(file('bulk.xml'), generatePSKC({ bulk: { count: BULK_COUNT, algorithm: 'totp' } }));
    writeFileSync(
      file('enc-a.xml'),
      generatePSKC({
        keys: [encryptedKey('ENC-A-1'), encryptedKey('ENC-A-2')],
        encryption: { keyHex: KEY_HEX },
      }),
    );
    writeFileSync(
      file('enc-b.xml'),
      generatePSKC({ keys: [encryptedKey('ENC-B-1')], encryption: { keyHex: KEY_HEX } }),
    );
    writeFileSync(file('key.hex'), `${KEY_HEX}\n`);
    writeFileSync(file('key.bin'), Buffer.from(KEY_HEX, 'hex'));
    target = await createCliTarget('sqlite');
    for (const account of ['acme', 'beta']) {
      const boot = await target.cli([
        'bootstrap',
        '--account',
        account,
        '--owner-email',
        `owner@${account}.test`,
        '--json',
      ]);
      expect(boot.code, boot.stderr).toBe(0);
    }
    const user = await target.cli(['user', 'create', '--account', 'acme', '--email', 'user@acme.test']);
    expect(user.code, user.stderr).toBe(0);
  });
  afterAll(async () => {
    await killAllChildren();
    await target?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('documents every subcommand in --help', async () => {
    const top = await target.cli(['tokens', '--help']);
    for (const sub of ['import', 'list', 'assign', 'state']) expect(top.stdout).toContain(sub);
    const help = {
      import: ['--account', '--key <hex>', '--key-file <file>', '--json', 'never shown again'],
      list: ['--account', '--state <state>', '--json'],
      assign: ['--serial', '--user', '--name'],
      state: ['--serial', '--state <state>', 'lost', 'retired', 'unassigned'],
    };
    for (const [sub, words] of Object.entries(help)) {
      const res = await target.cli(['tokens', sub, '--help']);
      expect(res.code).toBe(0);
      for (const word of words) expect(res.stdout, `${sub} --help`).toContain(word);
    }
  });

  it('imports 10,000 tokens from a python3-pskc file (--json)', async () => {
    // How long this takes is measured by `npm run bench` (pskc-import), not asserted here.
    const res = await target.cli(['tokens', 'import', file('bulk.xml'), '--account', 'acme', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json()).toEqual({
      importId: expect.stringMatching(/^imp_/),
      imported: BULK_COUNT,
      serials: ['BULK-000000', 'BULK-000001', 'BULK-000002', 'BULK-000003', 'BULK-000004'],
    });
    // --json keeps stderr free for a machine reader.
    expect(res.stderr).toBe('');
  });

  it('shows a progress bar on stderr without --json', async () => {
    // Another account: serials are unique per account, not across accounts.
    const res = await target.cli(['tokens', 'import', file('bulk.xml'), '--account', 'beta']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^imported 10000 tokens \(import imp_[\w-]+\): BULK-000000, /);
    expect(res.stderr).toMatch(/importing \[[^\]]*\] 0% 0\/10000/);
    expect(res.stderr).toMatch(/importing \[[^\]]*\] 100% 10000\/10000/);
  });

  it('lists the whole inventory, without a single seed', async () => {
    const res = await target.cli(['tokens', 'list', '--account', 'acme', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const { tokens } = res.json<{ tokens: Array<Record<string, unknown>> }>();
    expect(tokens).toHaveLength(BULK_COUNT);
    expect(tokens[0]).toMatchObject({
      serial: 'BULK-000000',
      manufacturer: 'Holdfast Test',
      state: 'unassigned',
      mode: 'totp',
      digits: 6,
      period: 30,
    });
    expect(Object.keys(tokens[0]!)).not.toContain('secretSealed');
    for (const i of [0, 1, 4_999, 9_999]) {
      const seed = bulkSeed(i);
      for (const form of [seed.toString('hex'), seed.toString('base64'), encodeBase32(seed)]) {
        expect(res.stdout.includes(form)).toBe(false);
      }
    }
    const text = await target.cli(['tokens', 'list', '--account', 'acme', '--state', 'assigned']);
    expect(text.stdout.trim()).toBe('(no tokens)');
  });

  it('imports encrypted files with --key (hex) and --key-file', async () => {
    const a = await target.cli([
      'tokens',
      'import',
      file('enc-a.xml'),
      '--account',
      'acme',
      '--key',
      KEY_HEX,
      '--json',
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({ imported: 2, serials: ['ENC-A-1', 'ENC-A-2'] });
    const b = await target.cli([
      'tokens',
      'import',
      file('enc-b.xml'),
      '--account',
      'beta',
      '--key-file',
      file('key.hex'),
      '--json',
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json()).toMatchObject({ imported: 1 });
    const raw = await target.cli([
      'tokens',
      'import',
      file('enc-b.xml'),
      '--account',
      'acme',
      '--key-file',
      file('key.bin'),
      '--json',
    ]);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.json()).toMatchObject({ imported: 1, serials: ['ENC-B-1'] });
  });

  it('refuses a wrong key (exit 1, PSKC_DECRYPT_FAILED) and imports nothing', async () => {
    const before = await tokensTable();
    const wrong = await target.cli([
      'tokens',
      'import',
      file('enc-a.xml'),
      '--account',
      'beta',
      '--key',
      'ffeeddccbbaa99887766554433221100',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.errorCode).toBe('PSKC_DECRYPT_FAILED');
    expect(wrong.stdout).toBe('');
    const noKey = await target.cli(['tokens', 'import', file('enc-a.xml'), '--account', 'beta', '--json']);
    expect(noKey.code).toBe(1);
    expect(noKey.errorCode).toBe('PSKC_KEY_REQUIRED');
    const badHex = await target.cli([
      'tokens',
      'import',
      file('enc-a.xml'),
      '--account',
      'beta',
      '--key',
      'xyz',
    ]);
    expect(badHex.errorCode).toBe('REQUEST_INVALID');
    const missing = await target.cli(['tokens', 'import', file('nope.xml'), '--account', 'beta']);
    expect(missing.code).toBe(1);
    expect(missing.errorCode).toBe('REQUEST_INVALID');
    const again = await target.cli([
      'tokens',
      'import',
      file('enc-b.xml'),
      '--account',
      'acme',
      '--key',
      KEY_HEX,
    ]);
    expect(again.errorCode).toBe('HARDWARE_TOKEN_SERIAL_TAKEN');
    expect(await tokensTable()).toEqual(before);
  });

  it('assigns a token to a user and marks it lost, removing the pending factor', async () => {
    const assigned = await target.cli([
      'tokens',
      'assign',
      '--account',
      'acme',
      '--serial',
      'ENC-A-1',
      '--user',
      'user@acme.test',
      '--json',
    ]);
    expect(assigned.code, assigned.stderr).toBe(0);
    const { token, factor } = assigned.json<{
      token: Record<string, unknown>;
      factor: { id: string; name: string; status: string; kind: string };
    }>();
    expect(token).toMatchObject({ serial: 'ENC-A-1', state: 'assigned', factorId: factor.id });
    expect(factor).toMatchObject({ name: 'Token ENC-A-1', status: 'pending', kind: 'hardware_token' });

    const factors = await target.cli([
      'factor',
      'list',
      '--account',
      'acme',
      '--user',
      'user@acme.test',
      '--json',
    ]);
    expect(factors.json<{ factors: unknown[] }>().factors).toEqual([
      expect.objectContaining({ id: factor.id, adminProvisioned: true, assurance: 'hardware_otp' }),
    ]);
    const twice = await target.cli([
      'tokens',
      'assign',
      '--account',
      'acme',
      '--serial',
      'ENC-A-1',
      '--user',
      'owner@acme.test',
    ]);
    expect(twice.errorCode).toBe('HARDWARE_TOKEN_UNAVAILABLE');
    const listed = await target.cli(['tokens', 'list', '--account', 'acme', '--state', 'assigned', '--json']);
    expect(listed.json<{ tokens: Array<{ serial: string }> }>().tokens.map((t) => t.serial)).toEqual([
      'ENC-A-1',
    ]);

    const lost = await target.cli([
      'tokens',
      'state',
      '--account',
      'acme',
      '--serial',
      'ENC-A-1',
      '--state',
      'lost',
    ]);
    expect(lost.code, lost.stderr).toBe(0);
    expect(lost.stdout.trim()).toBe('token ENC-A-1 is now lost');
    const after = await target.cli([
      'factor',
      'list',
      '--account',
      'acme',
      '--user',
      'user@acme.test',
      '--json',
    ]);
    expect(after.json<{ factors: unknown[] }>().factors).toEqual([]);
    const bad = await target.cli([
      'tokens',
      'state',
      '--account',
      'acme',
      '--serial',
      'ENC-A-1',
      '--state',
      'gone',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Allowed choices are lost, retired, unassigned');
  });
});
