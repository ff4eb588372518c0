/**
 * Independent TOTP clients against the real clock: Debian's `oathtool` computes codes from the
 * Base32 secret enrolment returns, and `pass otp` (pass + pass-extension-otp) takes the
 * otpauth:// key URI and prints codes. CI installs both (.ci/run), where a missing binary fails
 * here; elsewhere its tests are skipped and `npm test` names it in its closing banner.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  PASSWORD,
  STEP_MS,
  WallClock,
  expectStatus,
  injectHttp,
  mfaApi,
  stepOf,
  totpAt,
  type MfaApi,
} from '../helpers/mfa.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';

const run = promisify(execFile);

const NO_OATHTOOL = withoutClients('oathtool');
const NO_PASS_OTP = withoutClients('pass', 'pass-otp', 'oathtool');
const PASS = clientPath('pass');

/** Runs a client binary; its trimmed stdout. */
async function client(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  if (options.input !== undefined) {
    const result = spawnSync(command, args, { env: options.env, input: options.input, encoding: 'utf8' });
    if (result.error) throw result.error;
    if (result.status !== 0)
      throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    return result.stdout.trim();
  }
  const { stdout } = await run(command, args, { env: options.env ?? process.env });
  return stdout.trim();
}

/** oathtool's code for a Base32 secret at a time (RFC 6238, SHA-1, 6 digits, 30 s). */
const oathtool = (secret: string, timeMs?: number) =>
  client(clientPath('oathtool'), [
    '--totp',
    '--base32',
    ...(timeMs === undefined ? [] : ['--now', `@${Math.floor(timeMs / 1000)}`]),
    secret,
  ]);

describe.skipIf(NO_OATHTOOL)('independent TOTP clients (real clock) [sqlite]', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let api: MfaApi;
  let seq = 0;

  beforeAll(async () => {
    inst = await createTestInstallation('sqlite', { clock: new WallClock() });
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    server = await buildTestServer(inst);
    api = mfaApi(injectHttp(server), 'acme');
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  async function newUser() {
    const email = `client${++seq}@acme.test`;
    await createUserWithPassword(inst, { accountName: 'acme', email, password: PASSWORD, role: 'user' });
    return { email, token: await api.passwordToken(email) };
  }

  async function enrol(token: string, name: string) {
    const res = await api.enrolTOTP(token, name);
    expectStatus(res, 201);
    return {
      id: res.body.factor.id as string,
      secret: res.body.secret as string,
      keyUri: res.body.keyUri as string,
    };
  }

  it('oathtool: its codes enable the factor (two consecutive) and sign in', async () => {
    const user = await newUser();
    const factor = await enrol(user.token, 'oathtool');
    // The two codes of the previous two steps, as a user reading the app twice would send.
    const step = stepOf(Date.now());
    const codes: [string, string] = [
      await oathtool(factor.secret, (step - 2) * STEP_MS),
      await oathtool(factor.secret, (step - 1) * STEP_MS),
    ];
    // Same algorithm, independent implementation: oathtool agrees with ours.
    expect(codes).toEqual([
      totpAt(factor.secret, (step - 2) * STEP_MS),
      totpAt(factor.secret, (step - 1) * STEP_MS),
    ]);
    expectStatus(await api.enable(user.token, factor.id, { codes }), 200);

    const flowId = await api.startFlow(user.email);
    const code = await oathtool(factor.secret); // now
    const res = await api.secondFactor(flowId, { factorId: factor.id, code });
    expectStatus(res, 200);
    expect(res.body.session).toMatchObject({
      methods: ['pwd', 'otp'],
      mfa: { factorId: factor.id, kind: 'totp' },
    });
  });

  describe.skipIf(NO_PASS_OTP)('pass otp', () => {
    let gnupgHome: string;
    let storeDir: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      gnupgHome = mkdtempSync(join(tmpdir(), 'holdfast-gnupg-'));
      storeDir = mkdtempSync(join(tmpdir(), 'holdfast-pass-'));
      env = { ...process.env, GNUPGHOME: gnupgHome, PASSWORD_STORE_DIR: storeDir };
      await client(
        'gpg',
        [
          '--batch',
          '--pinentry-mode',
          'loopback',
          '--passphrase',
          '',
          '--quick-gen-key',
          'holdfast-test@example.invalid',
          'default',
          'default',
          'never',
        ],
        { env },
      );
      await client(PASS, ['init', 'holdfast-test@example.invalid'], { env });
    });
    afterAll(() => {
      // Stop the gpg-agent that gpg started for this home only.
      if (gnupgHome !== undefined) {
        spawnSync('gpgconf', ['--homedir', gnupgHome, '--kill', 'gpg-agent'], { env });
        rmSync(gnupgHome, { recursive: true, force: true });
      }
      if (storeDir !== undefined) rmSync(storeDir, { recursive: true, force: true });
    });

    it('takes the key URI; its codes sign in and enable a second factor', async () => {
      const user = await newUser();
      const phone = await enrol(user.token, 'pass');
      await client(PASS, ['otp', 'insert', '--echo', 'holdfast/phone'], {
        env,
        input: `${phone.keyUri}\n`,
      });
      expect(await client(PASS, ['otp', 'uri', 'holdfast/phone'], { env })).toBe(phone.keyUri);

      // Enabled with the two previous steps' codes (pass only shows the current one)...
      const step = stepOf(Date.now());
      const codes: [string, string] = [
        await oathtool(phone.secret, (step - 2) * STEP_MS),
        await oathtool(phone.secret, (step - 1) * STEP_MS),
      ];
      expectStatus(await api.enable(user.token, phone.id, { codes }), 200);

      // ...then pass's code signs in.
      const flowId = await api.startFlow(user.email);
      const code = await client(PASS, ['otp', 'holdfast/phone'], { env });
      expect(code).toMatch(/^\d{6}$/);
      const signedIn = await api.secondFactor(flowId, { factorId: phone.id, code });
      expectStatus(signedIn, 200);
      expect(signedIn.body.session.mfa).toMatchObject({ factorId: phone.id, kind: 'totp' });

      // From that MFA session, a second factor kept in pass is enabled with pass's code.
      const laptop = await enrol(signedIn.body.token, 'laptop');
      await client(PASS, ['otp', 'insert', '--echo', 'holdfast/laptop'], {
        env,
        input: `${laptop.keyUri}\n`,
      });
      const laptopCode = await client(PASS, ['otp', 'holdfast/laptop'], { env });
      const enabled = await api.enable(signedIn.body.token, laptop.id, { code: laptopCode });
      expectStatus(enabled, 200);
      expect(enabled.body.factor.status).toBe('enabled');
    });
  });
});
