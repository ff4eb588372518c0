/**
 * `holdfast me ...` (self-service over the HTTP API) against a real `holdfast serve` process on a
 * temp SQLite data dir: the built CLI is spawned for every step, with the password on standard
 * input, and Debian's `oathtool` computes every code from the Base32 secret `add-totp` printed.
 *
 * TOTP steps: a factor accepts each step once and never one older than the last it accepted, and
 * every accepted code re-centres the factor's drift on its step. So each verification below uses
 * the step after the last accepted one (inside the ±1 window at once, no waiting); the resync uses
 * two codes of a clock 2½ minutes fast, and the next sign-in a code of that same fast clock.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.js';
import { PASSWORD, STEP_MS, stepOf } from '../helpers/mfa.js';
import {
  assertCliBuilt,
  cliEnv,
  freePort,
  killAllChildren,
  runCli,
  startServe,
  type CliResult,
  type ServeProcess,
} from '../helpers/processes.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';

const run = promisify(execFile);

const ACCOUNT = 'acme';
const EMAIL = 'owner@acme.test';
const WRONG_PASSWORD = 'definitely not the password';

/** oathtool's code for a Base32 secret at the start of a TOTP step (RFC 6238, SHA-1, 6 digits, 30 s). */
async function oathtool(secret: string, step: number): Promise<string> {
  const { stdout } = await run(clientPath('oathtool'), [
    '--totp',
    '--base32',
    '--now',
    `@${(step * STEP_MS) / 1000}`,
    secret,
  ]);
  return stdout.trim();
}

interface Factor {
  id: string;
  name: string;
  status: string;
}
interface Session {
  id: string;
  current: boolean;
  mfa: { factorId: string; kind: string } | null;
}
interface SignedIn {
  token: string;
  session: Session;
  reviewFactors?: boolean;
  recoveryCodesRemaining?: number | null;
}

// The steps build on each other and take codes from oathtool: skipped without it (not in CI).
const clientSuite = describe.skipIf(withoutClients('oathtool'));

clientSuite('holdfast me: self-service through the HTTP API [sqlite, real server]', () => {
  let fresh: FreshDatabase;
  let server: ServeProcess;
  /** Every `holdfast me` run: its arguments and what it printed, for the secret scans at the end. */
  const transcript: Array<{ args: string[]; stdout: string; stderr: string }> = [];
  const tokens: string[] = [];

  /** Runs `holdfast me ...args` with HOLDFAST_SERVER set; `stdin` is written and closed. */
  async function me(
    args: string[],
    options: { stdin?: string; token?: string; env?: Record<string, string | undefined> } = {},
  ): Promise<CliResult> {
    const result = await runCli(['me', ...args], {
      env: cliEnv({
        HOLDFAST_SERVER: server.url,
        ...(options.token === undefined ? {} : { HOLDFAST_TOKEN: options.token }),
        ...options.env,
      }),
      stdin: options.stdin ?? '',
    });
    transcript.push({ args, stdout: result.stdout, stderr: result.stderr });
    return result;
  }

  /** `holdfast me sign-in` as the owner, the password on standard input. */
  const signIn = (extra: string[], password = PASSWORD) =>
    me(['sign-in', '--account', ACCOUNT, '--login', EMAIL, '--password-stdin', ...extra], {
      stdin: `${password}\n`,
    });

  const expectSuccess = (r: CliResult) => expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  const expectFailure = (r: CliResult, code: string, exit = 1) =>
    expect({ exit: r.code, code: r.errorCode }, r.stderr).toEqual({ exit, code });
  const remember = (token: string) => {
    tokens.push(token);
    return token;
  };

  beforeAll(async () => {
    assertCliBuilt();
    fresh = await freshDatabase('sqlite');
    server = await startServe(['--data-dir', fresh.dataDir]);
    const boot = await runCli(
      ['bootstrap', '--account', ACCOUNT, '--owner-email', EMAIL, '--json', '--data-dir', fresh.dataDir],
      { env: cliEnv() },
    );
    expect(boot.code, boot.stderr).toBe(0);
    const setup = await fetch(`${server.url}/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: boot.json<{ setupToken: string }>().setupToken, password: PASSWORD }),
    });
    expect(setup.status).toBe(200);
  });

  afterAll(async () => {
    await killAllChildren();
    await fresh?.cleanup();
  });

  // State carried from test to test, in order.
  let passwordToken = '';
  let mfaToken = '';
  let factorId = '';
  let secret = '';
  /** The last TOTP step the factor accepted. */
  let lastStep = 0;
  let recoveryCodes: string[] = [];
  let recoverySessionId = '';
  let recoveryToken = '';

  it('has --help on `me` and on every subcommand', async () => {
    const commands = [
      'sign-in',
      'whoami',
      'factors',
      'add-totp',
      'enable',
      'rename',
      'resync',
      'remove',
      'step-up',
      'recovery-codes',
      'sessions',
      'sign-out',
    ];
    const root = await me(['--help']);
    expectSuccess(root);
    for (const command of commands) expect(root.stdout).toContain(command);
    const helps = await Promise.all(commands.map((command) => me([command, '--help'])));
    helps.forEach((help, i) => {
      expectSuccess(help);
      expect(help.stdout).toContain(`Usage: holdfast me ${commands[i]}`);
      expect(help.stdout).toContain('HOLDFAST_SERVER');
      if (commands[i] !== 'sign-in') expect(help.stdout).toContain('HOLDFAST_TOKEN');
    });
    // The hidden --password flag exists only to refuse it.
    expect(helps[0]!.stdout).not.toMatch(/--password </);
  });

  it('signs in with the password on standard input; refuses it as a flag; prints only the token', async () => {
    expectFailure(await signIn([], WRONG_PASSWORD), 'AUTH_INVALID_CREDENTIALS');
    expectFailure(
      await me(['sign-in', '--account', ACCOUNT, '--login', EMAIL], { stdin: '' }),
      'REQUEST_INVALID',
    );
    expectFailure(
      await me(['sign-in', '--account', ACCOUNT, '--login', EMAIL, `--password=${WRONG_PASSWORD}`]),
      'REQUEST_INVALID',
    );

    const plain = await signIn([]);
    expectSuccess(plain);
    expect(plain.stdout).toMatch(/^\S+\n$/);
    passwordToken = remember(plain.stdout.trim());

    const json = await signIn(['--json']);
    expectSuccess(json);
    const answer = json.json<SignedIn>();
    remember(answer.token);
    expect(answer.session.mfa).toBeNull();

    const who = await me(['whoami', '--json'], { token: passwordToken });
    expectSuccess(who);
    expect(who.json<{ user: { email: string } }>().user.email).toBe(EMAIL);
    // --server and --token as flags instead of the environment.
    const flags = await me(['whoami', '--server', server.url, '--token', answer.token, '--json'], {
      env: { HOLDFAST_SERVER: undefined },
    });
    expectSuccess(flags);
    expect(flags.json<{ session: Session }>().session.id).toBe(answer.session.id);
  });

  it('a wrong, malformed or missing token fails with its code, never echoing the token', async () => {
    const bogus = `bogus${'x'.repeat(40)}`;
    const wrong = await me(['factors', '--token', bogus]);
    expectFailure(wrong, 'AUTH_SESSION_INVALID');
    expect(wrong.stderr).not.toContain(bogus);
    expect(wrong.stderr).toContain('hint:');
    expectFailure(await me(['factors', '--json'], { token: bogus }), 'AUTH_SESSION_INVALID');
    const spaced = await me(['factors'], { token: `${bogus} ${bogus}` });
    expectFailure(spaced, 'AUTH_SESSION_INVALID');
    expect(spaced.stderr).not.toContain(bogus);
    expectFailure(await me(['factors']), 'AUTH_SESSION_REQUIRED');

    const closed = await freePort();
    const unreachable = await me(['factors', '--server', `http://127.0.0.1:${closed}`], {
      token: passwordToken,
    });
    expectFailure(unreachable, 'INTERNAL_ERROR');
    expect(unreachable.stderr).toContain('ECONNREFUSED');
    expectFailure(
      await me(['factors', '--server', 'ftp://example.test'], { token: passwordToken }),
      'CONFIG_INVALID',
    );
  });

  it('add-totp prints the secret and key URI once and writes the QR code as a 0600 SVG', async () => {
    const svg = join(fresh.dataDir, 'laptop.svg');
    const added = await me(['add-totp', '--name', 'Laptop', '--qr-svg', svg, '--json'], {
      token: passwordToken,
    });
    expectSuccess(added);
    const answer = added.json<{ factor: Factor; secret: string; keyUri: string; qrSvgFile: string }>();
    expect(answer.factor.status).toBe('pending');
    expect(answer.secret).toMatch(/^[A-Z2-7]{32,}$/);
    expect(answer.keyUri).toMatch(/^otpauth:\/\/totp\/acme:owner%40acme\.test\?/);
    expect(answer.keyUri).toContain(`secret=${answer.secret}`);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg/);
    expect(statSync(svg).mode & 0o777).toBe(0o600);
    factorId = answer.factor.id;
    secret = answer.secret;

    // Text form; then a pending factor goes without step-up, found by its name.
    const spare = await me(['add-totp', '--name', 'Spare'], { token: passwordToken });
    expectSuccess(spare);
    expect(spare.stdout).toMatch(/^secret: {2}[A-Z2-7]{32,}$/m);
    expect(spare.stdout).toMatch(/^key URI: otpauth:\/\/totp\//m);
    expect(spare.stdout).toContain('holdfast me enable mfa_');
    expectSuccess(await me(['remove', 'Spare'], { token: passwordToken }));
    const list = await me(['factors', '--json'], { token: passwordToken });
    expect(list.json<{ factors: Factor[] }>().factors.map((f) => f.name)).toEqual(['Laptop']);
  });

  it('enable: a wrong code changes nothing (FACTOR_CODE_INVALID); two consecutive oathtool codes enable it', async () => {
    const now = stepOf(Date.now());
    const nearby = new Set(await Promise.all([-2, -1, 0, 1, 2].map((d) => oathtool(secret, now + d))));
    let wrong = (Number(await oathtool(secret, now)) + 500_000) % 1_000_000;
    while (nearby.has(String(wrong).padStart(6, '0'))) wrong = (wrong + 1) % 1_000_000;
    expectFailure(
      await me(['enable', factorId, '--code', String(wrong).padStart(6, '0')], { token: passwordToken }),
      'FACTOR_CODE_INVALID',
    );
    const still = await me(['factors', '--json'], { token: passwordToken });
    expect(still.json<{ factors: Factor[] }>().factors[0]!.status).toBe('pending');

    const step = stepOf(Date.now());
    const codes = [await oathtool(secret, step - 1), await oathtool(secret, step)];
    const enabled = await me(['enable', factorId, '--code', codes[0]!, '--code', codes[1]!, '--json'], {
      token: passwordToken,
    });
    expectSuccess(enabled);
    expect(enabled.json<{ factor: Factor }>().factor.status).toBe('enabled');
    lastStep = step;
  });

  it('sign-in with a factor enabled: without a code exits 2 listing it; with --factor/--code it signs in with MFA', async () => {
    const bare = await signIn([]);
    expect(bare.code, bare.stderr).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain(factorId);
    expect(bare.stderr).toContain('Laptop');

    const bareJson = await signIn(['--json']);
    expect(bareJson.code, bareJson.stderr).toBe(2);
    expect(bareJson.json()).toMatchObject({
      status: 'second_factor_required',
      factors: [{ id: factorId, kind: 'totp', name: 'Laptop' }],
      recoveryCodes: false,
    });

    const code = await oathtool(secret, lastStep + 1);
    const signedIn = await signIn(['--factor', factorId, '--code', code, '--json']);
    expectSuccess(signedIn);
    lastStep += 1;
    const answer = signedIn.json<SignedIn>();
    expect(answer.session.mfa).toMatchObject({ factorId, kind: 'totp' });
    mfaToken = remember(answer.token);
  });

  it('rename, and factors lists it with the recovery codes left', async () => {
    const renamed = await me(['rename', factorId, '--name', 'Work laptop'], { token: mfaToken });
    expectSuccess(renamed);
    const list = await me(['factors', '--json'], { token: mfaToken });
    expectSuccess(list);
    expect(list.json()).toMatchObject({
      factors: [{ id: factorId, name: 'Work laptop', status: 'enabled' }],
      recoveryCodes: { remaining: 0 },
    });
    const text = await me(['factors'], { token: mfaToken });
    expect(text.stdout).toContain('Work laptop');
    expect(text.stdout).toContain('recovery codes left: 0');
    // No set yet: a recovery code is refused before anything is sent as a guess.
    expectFailure(await signIn(['--recovery-code', 'abcde-fghij']), 'RECOVERY_CODES_NOT_SET');
  });

  it('recovery codes need a recent MFA: step-up, then --regenerate prints 10 codes', async () => {
    // The session that enabled the first factor prints the first set right after, without a
    // second code (the one it just used would be a replay); replacing that set needs a step-up.
    const first = await me(['recovery-codes', '--regenerate'], { token: passwordToken });
    expectSuccess(first);
    expect(first.stdout.trim().split('\n')).toHaveLength(10);
    const refused = await me(['recovery-codes', '--regenerate'], { token: passwordToken });
    expectFailure(refused, 'MFA_STEP_UP_REQUIRED');
    expect(refused.stderr).toContain('holdfast me step-up');

    // Every accepted code must be newer than the last one and within the window around the
    // remembered drift (RFC 6238 §6), so this suite, which uses a code a step, first tells the
    // server its clock runs ahead: a resync with two consecutive codes, from the MFA session.
    const ahead = [await oathtool(secret, lastStep + 4), await oathtool(secret, lastStep + 5)];
    expectSuccess(
      await me(['resync', factorId, '--code', ahead[0]!, '--code', ahead[1]!], { token: mfaToken }),
    );
    lastStep += 5;
    const code = await oathtool(secret, lastStep + 1);
    expectSuccess(await me(['step-up', '--factor', 'Work laptop', '--code', code], { token: passwordToken }));
    lastStep += 1;

    const regenerated = await me(['recovery-codes', '--regenerate'], { token: passwordToken });
    expectSuccess(regenerated);
    recoveryCodes = regenerated.stdout.trim().split('\n');
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const c of recoveryCodes) expect(c).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    const status = await me(['recovery-codes', '--json'], { token: passwordToken });
    expect(status.json()).toEqual({ remaining: 10 });
  });

  it('resync with two consecutive codes of a clock 2½ minutes fast (needs the MFA session)', async () => {
    const codes = [await oathtool(secret, lastStep + 4), await oathtool(secret, lastStep + 5)];
    const resynced = await me(['resync', factorId, '--code', codes[0]!, '--code', codes[1]!], {
      token: mfaToken,
    });
    expectSuccess(resynced);
    lastStep += 5;
  });

  it('signs in with a recovery code, once', async () => {
    const first = await signIn(['--recovery-code', recoveryCodes[0]!, '--json']);
    expectSuccess(first);
    const answer = first.json<SignedIn>();
    expect(answer).toMatchObject({ reviewFactors: true, recoveryCodesRemaining: 9 });
    expect(answer.session.mfa).toMatchObject({ kind: 'recovery_code' });
    recoveryToken = remember(answer.token);
    recoverySessionId = answer.session.id;
    expectFailure(await signIn(['--recovery-code', recoveryCodes[0]!]), 'MFA_FAILED');

    const text = await signIn(['--recovery-code', recoveryCodes[1]!]);
    expectSuccess(text);
    remember(text.stdout.trim());
    expect(text.stderr).toContain('holdfast me factors');
  });

  it('remove works right after an MFA sign-in; the session standing on the removed factor ends with it', async () => {
    const code = await oathtool(secret, lastStep + 1);
    const signedIn = await signIn(['--factor', 'Work laptop', '--code', code, '--json']);
    expectSuccess(signedIn);
    lastStep += 1;
    const token = remember(signedIn.json<SignedIn>().token);

    // Sessions: this one is current; revoking another ends it.
    const other = await signIn(['--recovery-code', recoveryCodes[2]!, '--json']);
    expectSuccess(other);
    const otherToken = remember(other.json<SignedIn>().token);
    const otherId = other.json<SignedIn>().session.id;
    const sessions = await me(['sessions', '--json'], { token });
    const listed = sessions.json<{ sessions: Session[] }>().sessions;
    expect(listed.find((s) => s.current)?.id).toBe(signedIn.json<SignedIn>().session.id);
    expect(listed.map((s) => s.id)).toEqual(expect.arrayContaining([otherId, recoverySessionId]));
    expectSuccess(await me(['sessions', '--revoke', otherId], { token }));
    expectFailure(await me(['whoami'], { token: otherToken }), 'AUTH_SESSION_INVALID');

    const removed = await me(['remove', factorId], { token });
    expectSuccess(removed);
    expect(removed.stdout).toContain(factorId);
    // The session was verified with the removed factor: it ends with it. Removing the last factor
    // ended every other session too (guardrail G5), the recovery one included.
    expectFailure(await me(['whoami'], { token }), 'AUTH_SESSION_INVALID');
    expectFailure(await me(['whoami'], { token: recoveryToken }), 'AUTH_SESSION_INVALID');

    // The user still gets in: the recovery codes issued while the factor existed still back them
    // up. No factor is left; signing out ends the session.
    const again = await signIn(['--recovery-code', recoveryCodes[3]!, '--json']);
    expectSuccess(again);
    const fresh = remember(again.json<SignedIn>().token);
    const list = await me(['factors', '--json'], { token: fresh });
    expect(list.json()).toMatchObject({ factors: [], recoveryCodes: { remaining: 6 } });
    expectSuccess(await me(['sign-out'], { token: fresh }));
    expectFailure(await me(['whoami'], { token: fresh }), 'AUTH_SESSION_INVALID');
  });

  it('no output ever carries the password; tokens appear only in what sign-in printed', () => {
    expect(transcript.length).toBeGreaterThan(30);
    for (const { args, stdout, stderr } of transcript) {
      for (const password of [PASSWORD, WRONG_PASSWORD]) {
        expect(stdout + stderr, args.join(' ')).not.toContain(password);
      }
      for (const token of tokens) {
        expect(stderr, args.join(' ')).not.toContain(token);
        if (args[0] !== 'sign-in') expect(stdout, args.join(' ')).not.toContain(token);
      }
    }
  });
});
