/**
 * "MFA required" does not mean "a human was there". A machine user whose TOTP seed lives in a
 * password store (`pass` + `pass-extension-otp`) gets MFA session credentials from STS
 * GetSessionToken in a script loop, with nobody at a keyboard — exactly as it could on AWS.
 * What Holdfast adds: every session records the assurance of the factor it was issued with, so
 * an account policy can ask for a hardware-bound factor (`holdfast:MfaAssuranceLevel`,
 * `holdfast:MfaAssurance`) for the actions that matter while the script keeps doing the rest.
 *
 * Real processes throughout: `holdfast serve`, `holdfast bootstrap`, `holdfast tokens`, the AWS
 * SDK for JavaScript, `/usr/bin/pass`, `/usr/bin/oathtool`, and `holdfast credentials
 * --code-command` as the script's credential helper.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  DeleteAccessKeyCommand,
  EnableMFADeviceCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListMFADevicesCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../../src/app/context.js';
import { encodeBase32 } from '../../src/core/factors/otp/base32.js';
import { connectDatabase } from '../../src/storage/connect.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';
import {
  assertCliBuilt,
  cliEnv,
  createCliTarget,
  killAllChildren,
  runCli,
  startServe,
  type CliTarget,
  type ServeProcess,
} from '../helpers/processes.js';

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const STEP = 30_000;
/** Skipped (with a banner at the end of `npm test`) where these clients are missing, except in CI. */
const clientSuite = describe.skipIf(withoutClients('pass', 'pass-otp', 'oathtool', 'python3-pskc'));
const OATHTOOL = clientPath('oathtool');
const PASS = clientPath('pass');
const BOT = 'deploy-bot';
const PASS_ENTRY = `holdfast/${BOT}`;

/** The code oathtool shows for a Base32 seed at RFC 6238 time step `step`. */
function oathtool(seed: string, step: number): string {
  return execFileSync(OATHTOOL, ['--totp', '--base32', '--now', `@${step * 30 + 1}`, seed], {
    encoding: 'utf8',
  }).trim();
}

function currentStep(): number {
  return Math.floor(Date.now() / STEP);
}

/** Waits until the step after `step` has begun (a script waiting for a code it has not used). */
async function waitForStepAfter(step: number): Promise<void> {
  const wait = (step + 1) * STEP - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 250));
}

/** A step with a few seconds left, so codes read now are verified in the same step. */
async function settledStep(): Promise<number> {
  const left = STEP - (Date.now() % STEP);
  if (left < 8000) await new Promise((resolve) => setTimeout(resolve, left + 250));
  return currentStep();
}

/** The wire code and message an SDK call failed with. */
async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; message: string };
    return { name: e.name.replace(/Exception$/, ''), message: e.message };
  }
  throw new Error('expected the call to fail');
}

/** The assurance level a temporary credential was issued with (read from the database). */
async function issuedAssurance(target: CliTarget, accessKeyId: string): Promise<string | null> {
  const db = await connectDatabase(target.fresh.url);
  try {
    const { rows } = await sql<{ mfa: string | null }>`
      select mfa from temporary_credentials where id = ${accessKeyId}`.execute(db.kysely);
    const mfa = rows[0]?.mfa ?? null;
    return mfa === null ? null : (JSON.parse(mfa) as { assurance: string }).assurance;
  } finally {
    await db.close();
  }
}

clientSuite.each(DATABASE_KINDS)('MFA without a human: pass otp in a script loop [$name]', ({ name }) => {
  let target: CliTarget;
  let serve: ServeProcess;
  let accountId: string;
  let dir: string;
  let passEnv: NodeJS.ProcessEnv;
  let admin: Keys;
  let bot: Keys;
  let botSerial: string;
  const botSessions: Array<Keys & { code: string }> = [];
  const iam = (keys: Keys) =>
    new IAMClient({ region: 'eu-west-1', endpoint: serve.url, credentials: keys, maxAttempts: 1 });
  const sts = (keys: Keys) =>
    new STSClient({ region: 'eu-west-1', endpoint: serve.url, credentials: keys, maxAttempts: 1 });

  /** Creates a virtual device with `keys` (its owner's) and enables it with two consecutive codes. */
  async function enrol(keys: Keys, userName: string, steps: [number, number]) {
    const created = await iam(keys).send(
      new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: userName }),
    );
    const serial = created.VirtualMFADevice!.SerialNumber!;
    const seed = Buffer.from(created.VirtualMFADevice!.Base32StringSeed!).toString('ascii');
    await iam(keys).send(
      new EnableMFADeviceCommand({
        UserName: userName,
        SerialNumber: serial,
        AuthenticationCode1: oathtool(seed, steps[0]),
        AuthenticationCode2: oathtool(seed, steps[1]),
      }),
    );
    return { serial, seed };
  }

  function pass(args: string[], input?: string): string {
    const result = spawnSync(PASS, args, { env: passEnv, input, encoding: 'utf8' });
    if (result.error) throw result.error;
    if (result.status !== 0)
      throw new Error(`pass ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    return result.stdout.trim();
  }

  beforeAll(async () => {
    assertCliBuilt();
    target = await createCliTarget(name, { envKey: true });
    const migrated = await target.cli(['migrate', '--json']);
    expect(migrated.code, migrated.stderr).toBe(0);
    serve = await startServe(target.dbArgs, { env: target.env });
    const boot = await target.cli([
      'bootstrap',
      '--account',
      'robots',
      '--owner-email',
      'owner@robots.test',
      '--admin',
      'ops',
      '--access-key',
      '--json',
    ]);
    expect(boot.code, boot.stderr).toBe(0);
    const out = boot.json<{ accountId: string; admin: { accessKeyId: string; secretAccessKey: string } }>();
    accountId = out.accountId;
    admin = { accessKeyId: out.admin.accessKeyId, secretAccessKey: out.admin.secretAccessKey };

    // A throw-away GnuPG home and password store: the bot's seed is encrypted with a key
    // that has no passphrase, as an unattended script's would be.
    dir = mkdtempSync(join(tmpdir(), 'holdfast-bot-'));
    const gnupgHome = join(dir, 'gnupg');
    execFileSync('mkdir', ['-m', '700', gnupgHome]);
    passEnv = { ...process.env, GNUPGHOME: gnupgHome, PASSWORD_STORE_DIR: join(dir, 'store') };
    execFileSync(
      'gpg',
      [
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--quick-gen-key',
        'bot@robots.test',
        'default',
        'default',
        'never',
      ],
      { env: passEnv, stdio: 'ignore' },
    );
    pass(['init', 'bot@robots.test']);
  }, 90_000);

  afterAll(async () => {
    await serve?.stop();
    await killAllChildren();
    await target?.cleanup();
    if (dir !== undefined) {
      spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg'), '--kill', 'gpg-agent'], { env: passEnv });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an admin sets up a machine user whose seed goes into pass; a loop gets MFA sessions from it', async () => {
    // The administrator's own device and MFA session (identity administration needs MFA, G2).
    const t0 = await settledStep();
    const phone = await enrol(admin, 'ops', [t0 - 1, t0]);
    const adminSession = (
      await sts(admin).send(
        new GetSessionTokenCommand({ SerialNumber: phone.serial, TokenCode: oathtool(phone.seed, t0 + 1) }),
      )
    ).Credentials!;
    const ops = iam({
      accessKeyId: adminSession.AccessKeyId!,
      secretAccessKey: adminSession.SecretAccessKey!,
      sessionToken: adminSession.SessionToken!,
    });

    // The machine user, its access key, and a policy to manage its own keys.
    await ops.send(new CreateUserCommand({ UserName: BOT }));
    const key = (await ops.send(new CreateAccessKeyCommand({ UserName: BOT }))).AccessKey!;
    bot = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
    await ops.send(
      new PutUserPolicyCommand({
        UserName: BOT,
        PolicyName: 'own-keys',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['iam:CreateAccessKey', 'iam:DeleteAccessKey', 'iam:ListAccessKeys'],
              Resource: `arn:aws:iam::${accountId}:user/${BOT}`,
            },
          ],
        }),
      }),
    );

    // Its virtual MFA device. A pending device belongs to the credential that created it (G3),
    // so the bot's own key creates it, inside the new user's initial enrolment window.
    const created = await iam(bot).send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: BOT }));
    botSerial = created.VirtualMFADevice!.SerialNumber!;
    expect(botSerial).toBe(`arn:aws:iam::${accountId}:mfa/${BOT}`);
    const seed = Buffer.from(created.VirtualMFADevice!.Base32StringSeed!).toString('ascii');
    expect(seed).toMatch(/^[A-Z2-7]+=*$/);
    // The key URI an authenticator app would scan (otpauth://totp/LABEL?secret=…&issuer=…, for
    // RFC 6238 TOTP with SHA-1, 6 digits, 30 s), stored in the password manager.
    const keyUri =
      `otpauth://totp/Holdfast:${BOT}?secret=${seed.replace(/=+$/, '')}` +
      `&issuer=Holdfast&algorithm=SHA1&digits=6&period=30`;
    pass(['otp', 'insert', '--echo', PASS_ENTRY], `${keyUri}\n`);
    expect(pass(['otp', 'uri', PASS_ENTRY])).toBe(keyUri);
    // Enabled with the two steps before the current one: pass shows only the current code,
    // which the loop below uses first.
    const t1 = await settledStep();
    await iam(bot).send(
      new EnableMFADeviceCommand({
        UserName: BOT,
        SerialNumber: botSerial,
        AuthenticationCode1: oathtool(seed, t1 - 2),
        AuthenticationCode2: oathtool(seed, t1 - 1),
      }),
    );

    // The script: read a code from pass, ask STS for an MFA session; a code is accepted once, so
    // before the next round it waits for a code it has not used yet. Round 1 calls STS through
    // the SDK, round 2 through `holdfast credentials --code-command "pass otp ..."`.
    const credentialsFile = join(dir, 'credentials');
    writeFileSync(
      credentialsFile,
      `[bot]\naws_access_key_id = ${bot.accessKeyId}\naws_secret_access_key = ${bot.secretAccessKey}\n`,
      { mode: 0o600 },
    );
    let lastStep = -1;
    for (let round = 0; round < 2; round++) {
      if (lastStep >= currentStep()) await waitForStepAfter(lastStep);
      lastStep = currentStep();
      if (round === 0) {
        const code = pass(['otp', PASS_ENTRY]);
        expect(code).toMatch(/^[0-9]{6}$/);
        const out = await sts(bot).send(
          new GetSessionTokenCommand({ SerialNumber: botSerial, TokenCode: code }),
        );
        const c = out.Credentials!;
        botSessions.push({
          accessKeyId: c.AccessKeyId!,
          secretAccessKey: c.SecretAccessKey!,
          sessionToken: c.SessionToken!,
          code,
        });
      } else {
        const result = await runCli(
          [
            'credentials',
            '--mfa-serial',
            botSerial,
            '--profile',
            'bot',
            '--endpoint',
            serve.url,
            '--code-command',
            `${PASS} otp ${PASS_ENTRY}`,
          ],
          {
            env: cliEnv({
              GNUPGHOME: passEnv.GNUPGHOME,
              PASSWORD_STORE_DIR: passEnv.PASSWORD_STORE_DIR,
              AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
              AWS_CONFIG_FILE: '/dev/null',
            }),
          },
        );
        expect(result.code, result.stderr).toBe(0);
        const doc = result.json<{
          Version: number;
          AccessKeyId: string;
          SecretAccessKey: string;
          SessionToken: string;
          Expiration: string;
        }>();
        expect(doc.Version).toBe(1);
        expect(new Date(doc.Expiration).getTime()).toBeGreaterThan(Date.now() + 11 * 3600_000);
        botSessions.push({
          accessKeyId: doc.AccessKeyId,
          secretAccessKey: doc.SecretAccessKey,
          sessionToken: doc.SessionToken,
          code: '',
        });
      }
    }
    expect(botSessions).toHaveLength(2);
    for (const s of botSessions) {
      expect(s.accessKeyId).toMatch(/^ASIA/);
      expect((await sts(s).send(new GetCallerIdentityCommand({}))).Arn).toBe(
        `arn:aws:iam::${accountId}:user/${BOT}`,
      );
      // An MFA session: IAM answers (temporary credentials without MFA cannot call IAM at all).
      expect((await iam(s).send(new GetUserCommand({}))).User!.UserName).toBe(BOT);
      // The factor's assurance is what the session carries: a software TOTP seed.
      expect(await issuedAssurance(target, s.accessKeyId)).toBe('software_otp');
    }
    expect(botSessions[0]!.accessKeyId).not.toBe(botSessions[1]!.accessKeyId);
    // The code of round 1 was used up: a replay is refused, as for a person.
    const replay = await errorOf(
      sts(bot).send(new GetSessionTokenCommand({ SerialNumber: botSerial, TokenCode: botSessions[0]!.code })),
    );
    expect(replay.name).toBe('AccessDenied');
    expect(replay.message).toContain('invalid MFA one time pass code');

    // Before any account policy, the script's MFA session manages the bot's keys.
    const extra = await iam(botSessions[1]!).send(new CreateAccessKeyCommand({ UserName: BOT }));
    await iam(botSessions[1]!).send(
      new DeleteAccessKeyCommand({ UserName: BOT, AccessKeyId: extra.AccessKey!.AccessKeyId! }),
    );
  }, 150_000);

  it('an account policy asking for a hardware-bound factor refuses the scripted sessions for chosen actions only', async () => {
    expect(botSessions, 'the previous test left two MFA sessions').toHaveLength(2);
    const inst = await target.open();
    try {
      await inst.app.putAccountPolicy({
        actor: { kind: 'operator' },
        ctx: operatorContext('mfa-without-human'),
        accountId,
        name: 'hardware-for-keys',
        document: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            // Account policies cap identity policies: without an Allow here nothing is allowed.
            { Sid: 'Cap', Effect: 'Allow', Action: '*', Resource: '*' },
            {
              Sid: 'MintKeysOnlyWithHardware',
              Effect: 'Deny',
              Action: 'iam:CreateAccessKey',
              Resource: '*',
              Condition: { NumericLessThanIfExists: { 'holdfast:MfaAssuranceLevel': '30' } },
            },
            {
              Sid: 'DeleteKeysOnlyWithHardware',
              Effect: 'Deny',
              Action: 'iam:DeleteAccessKey',
              Resource: '*',
              Condition: {
                StringNotEquals: {
                  'holdfast:MfaAssurance': ['hardware_otp', 'device_bound_key', 'attested_hardware_key'],
                },
              },
            },
          ],
        }),
      });
    } finally {
      await inst.close();
    }

    const scripted = iam(botSessions[1]!);
    for (const refused of [
      await errorOf(scripted.send(new CreateAccessKeyCommand({ UserName: BOT }))),
      await errorOf(
        scripted.send(new DeleteAccessKeyCommand({ UserName: BOT, AccessKeyId: bot.accessKeyId })),
      ),
    ]) {
      expect(refused.name).toBe('AccessDenied');
      expect(refused.message).toContain(`User: arn:aws:iam::${accountId}:user/${BOT} is not authorized`);
    }
    // Everything else the bot may do keeps working from the same session.
    const keys = await scripted.send(new ListAccessKeysCommand({ UserName: BOT }));
    expect(keys.AccessKeyMetadata!.map((k) => k.AccessKeyId)).toEqual([bot.accessKeyId]);
    expect((await scripted.send(new GetUserCommand({}))).User!.UserName).toBe(BOT);
    expect(
      (await scripted.send(new ListMFADevicesCommand({}))).MFADevices!.map((d) => d.SerialNumber),
    ).toEqual([botSerial]);

    // A hardware token from the inventory (seed imported from PSKC, RFC 6030) gives sessions the
    // assurance the policy asks for.
    const secretHex = createHash('sha1').update(`holdfast bot hardware token ${name}`).digest('hex');
    const file = join(dir, 'tokens.pskc');
    writeFileSync(
      file,
      execFileSync(
        clientPath('python3-pskc'),
        [fileURLToPath(new URL('../fixtures/pskc/generate.py', import.meta.url))],
        {
          input: JSON.stringify({
            keys: [{ serial: 'BOTHW0001', algorithm: 'totp', digits: 6, period: 30, secretHex }],
          }),
          encoding: 'utf8',
        },
      ),
    );
    const imported = await target.cli(['tokens', 'import', file, '--account', accountId]);
    expect(imported.code, imported.stderr).toBe(0);
    const assigned = await target.cli([
      'tokens',
      'assign',
      '--account',
      accountId,
      '--serial',
      'BOTHW0001',
      '--user',
      BOT,
    ]);
    expect(assigned.code, assigned.stderr).toBe(0);
    const hwSeed = encodeBase32(Buffer.from(secretHex, 'hex'));
    const t = await settledStep();
    // A second device is added from an MFA session (G3).
    await scripted.send(
      new EnableMFADeviceCommand({
        UserName: BOT,
        SerialNumber: 'BOTHW0001',
        AuthenticationCode1: oathtool(hwSeed, t - 1),
        AuthenticationCode2: oathtool(hwSeed, t),
      }),
    );
    const hw = (
      await sts(bot).send(
        new GetSessionTokenCommand({ SerialNumber: 'BOTHW0001', TokenCode: oathtool(hwSeed, t + 1) }),
      )
    ).Credentials!;
    const hardware = {
      accessKeyId: hw.AccessKeyId!,
      secretAccessKey: hw.SecretAccessKey!,
      sessionToken: hw.SessionToken!,
    };
    expect(await issuedAssurance(target, hardware.accessKeyId)).toBe('hardware_otp');
    const minted = await iam(hardware).send(new CreateAccessKeyCommand({ UserName: BOT }));
    expect(minted.AccessKey!.AccessKeyId).toMatch(/^AKIA/);
    await iam(hardware).send(
      new DeleteAccessKeyCommand({ UserName: BOT, AccessKeyId: minted.AccessKey!.AccessKeyId! }),
    );
    // The scripted session is still refused: its assurance was fixed when it was issued.
    expect((await errorOf(scripted.send(new CreateAccessKeyCommand({ UserName: BOT })))).name).toBe(
      'AccessDenied',
    );
  }, 90_000);
});
