/**
 * `holdfast credentials` as the AWS CLI's `credential_process`: the Debian AWS CLI
 * (/usr/bin/aws) reads a profile whose credential_process runs the built Holdfast CLI, which
 * signs STS GetSessionToken with the long-term key of another profile and the MFA code it reads
 * on standard input (the AWS CLI hands its own standard input to the process; here oathtool's
 * code). The resulting MFA session credentials then sign the IAM call.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVirtualMFADeviceCommand, EnableMFADeviceCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  errorCodeForAws,
  parseIni,
  parseSessionTokenResponse,
  signQueryRequest,
} from '../../src/cli/credentials-command.js';
import { verifySigV4 } from '../../src/http/aws/sigv4.js';
import {
  CLI_PATH,
  assertCliBuilt,
  cliEnv,
  createCliTarget,
  killAllChildren,
  runCli,
  startServe,
  type CliTarget,
  type ServeProcess,
} from '../helpers/processes.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';

const STEP = 30_000;
/** The AWS CLI and oathtool: skipped where missing (named by `npm test`), never in CI. */
const clientSuite = describe.skipIf(withoutClients('aws', 'oathtool'));
const AWS_CLI = clientPath('aws');
const OATHTOOL = clientPath('oathtool');

function oathtool(seed: string, step: number): string {
  return execFileSync(OATHTOOL, ['--totp', '--base32', '--now', `@${step * 30 + 1}`, seed], {
    encoding: 'utf8',
  }).trim();
}

function currentStep(): number {
  return Math.floor(Date.now() / STEP);
}

async function settledStep(): Promise<number> {
  const left = STEP - (Date.now() % STEP);
  if (left < 8000) await new Promise((resolve) => setTimeout(resolve, left + 250));
  return currentStep();
}

describe('holdfast credentials: pure parts', () => {
  it('reads the AWS INI files as the AWS tools do', () => {
    const ini = parseIni(
      [
        '# comment',
        '[default]',
        'aws_access_key_id=AKIADEFAULT',
        '[profile  mfa ]',
        'credential_process = node main.js credentials --mfa-serial x',
        'S3 =',
        '  max_concurrent_requests = 2',
        '; another comment',
        'Region = eu-west-1',
      ].join('\r\n'),
    );
    expect(ini.get('default')?.get('aws_access_key_id')).toBe('AKIADEFAULT');
    expect(ini.get('profile mfa')?.get('credential_process')).toBe('node main.js credentials --mfa-serial x');
    expect(ini.get('profile mfa')?.get('region')).toBe('eu-west-1');
    expect(ini.get('profile mfa')?.has('max_concurrent_requests')).toBe(false);
  });

  it('signs requests that the server-side SigV4 verifier accepts, and no others', async () => {
    const secretAccessKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const now = Date.UTC(2026, 0, 2, 3, 4, 5);
    const signed = signQueryRequest({
      endpoint: new URL('http://127.0.0.1:8080/'),
      service: 'sts',
      region: 'eu-west-1',
      params: { Action: 'GetSessionToken', Version: '2011-06-15', SerialNumber: 'arn:aws:iam::1:mfa/a b' },
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey,
      nowMs: now,
    });
    expect(signed.body).toBe(
      'Action=GetSessionToken&Version=2011-06-15&SerialNumber=arn%3Aaws%3Aiam%3A%3A1%3Amfa%2Fa%20b',
    );
    const verify = (secret: string, body = signed.body) =>
      verifySigV4({
        request: { method: 'POST', path: '/', headers: signed.headers, body },
        now: now + 1000,
        lookup: (accessKeyId) =>
          Promise.resolve(accessKeyId === 'AKIAIOSFODNN7EXAMPLE' ? { secretAccessKey: secret } : null),
      });
    const verified = await verify(secretAccessKey);
    expect(verified.service).toBe('sts');
    expect(verified.region).toBe('eu-west-1');
    await expect(verify('x'.repeat(40))).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
    await expect(verify(secretAccessKey, signed.body + '&TokenCode=123456')).rejects.toMatchObject({
      code: 'SignatureDoesNotMatch',
    });
  });

  it('turns AWS error documents into Holdfast error codes and reads the credentials', () => {
    const error = (code: string, message: string) =>
      `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error></ErrorResponse>`;
    expect(() =>
      parseSessionTokenResponse(
        403,
        error('AccessDenied', 'MultiFactorAuthentication failed with invalid MFA one time pass code.'),
      ),
    ).toThrow(expect.objectContaining({ code: 'MFA_FAILED' }));
    expect(() => parseSessionTokenResponse(403, error('InvalidClientTokenId', 'x'))).toThrow(
      expect.objectContaining({ code: 'AUTH_INVALID_CREDENTIALS' }),
    );
    expect(() => parseSessionTokenResponse(502, 'Bad gateway')).toThrow(
      expect.objectContaining({ code: 'INTERNAL_ERROR' }),
    );
    expect(errorCodeForAws('AccessDenied', 'User: x is not authorized')).toBe('AUTH_FORBIDDEN');
    expect(errorCodeForAws('Throttling', '')).toBe('AUTH_THROTTLED');
    expect(
      parseSessionTokenResponse(
        200,
        '<GetSessionTokenResponse><GetSessionTokenResult><Credentials>' +
          '<AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>s&amp;k</SecretAccessKey>' +
          '<SessionToken>HFSTab+/=</SessionToken><Expiration>2026-01-02T15:04:05Z</Expiration>' +
          '</Credentials></GetSessionTokenResult></GetSessionTokenResponse>',
      ),
    ).toEqual({
      Version: 1,
      AccessKeyId: 'ASIAEXAMPLE',
      SecretAccessKey: 's&k',
      SessionToken: 'HFSTab+/=',
      Expiration: '2026-01-02T15:04:05Z',
    });
  });
});

clientSuite('holdfast credentials as credential_process of the AWS CLI [sqlite]', () => {
  let target: CliTarget;
  let serve: ServeProcess;
  let dir: string;
  let accountId: string;
  let keys: { accessKeyId: string; secretAccessKey: string };
  let serial: string;
  let seed: string;
  let files: { credentials: string; config: string };

  /** Runs the AWS CLI with only the temp config files; `input` is its standard input. */
  function aws(args: string[], input: string) {
    return spawnSync(AWS_CLI, ['--endpoint-url', serve.url, '--output', 'json', ...args], {
      input,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        AWS_CONFIG_FILE: files.config,
        AWS_SHARED_CREDENTIALS_FILE: files.credentials,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_DEFAULT_REGION: 'eu-central-1',
        AWS_PAGER: '',
      },
      timeout: 60_000,
    });
  }

  beforeAll(async () => {
    assertCliBuilt();
    target = await createCliTarget('sqlite', { envKey: true });
    serve = await startServe(target.dbArgs, { env: target.env });
    const boot = await target.cli([
      'bootstrap',
      '--account',
      'acme',
      '--owner-email',
      'owner@acme.test',
      '--admin',
      'ops',
      '--access-key',
      '--json',
    ]);
    expect(boot.code, boot.stderr).toBe(0);
    const out = boot.json<{ accountId: string; admin: { accessKeyId: string; secretAccessKey: string } }>();
    accountId = out.accountId;
    keys = { accessKeyId: out.admin.accessKeyId, secretAccessKey: out.admin.secretAccessKey };
    const iam = new IAMClient({
      region: 'us-east-1',
      endpoint: serve.url,
      credentials: keys,
      maxAttempts: 1,
    });
    const created = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'ops' }));
    serial = created.VirtualMFADevice!.SerialNumber!;
    seed = Buffer.from(created.VirtualMFADevice!.Base32StringSeed!).toString('ascii');
    const t = await settledStep();
    await iam.send(
      new EnableMFADeviceCommand({
        UserName: 'ops',
        SerialNumber: serial,
        AuthenticationCode1: oathtool(seed, t - 1),
        AuthenticationCode2: oathtool(seed, t),
      }),
    );

    dir = mkdtempSync(join(tmpdir(), 'holdfast-credproc-'));
    files = { credentials: join(dir, 'credentials'), config: join(dir, 'config') };
    writeFileSync(
      files.credentials,
      `[base]\naws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\n`,
      { mode: 0o600 },
    );
    writeFileSync(
      files.config,
      [
        '[profile mfa]',
        `credential_process = ${process.execPath} ${CLI_PATH} credentials --mfa-serial ${serial} --profile base --endpoint ${serve.url}`,
        'region = eu-west-1',
        '',
        '[profile base]',
        'region = eu-west-1',
        `endpoint_url = ${serve.url}`,
        '',
      ].join('\n'),
    );
  }, 60_000);

  afterAll(async () => {
    await serve?.stop();
    await killAllChildren();
    await target?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('aws --profile mfa iam get-user works with MFA session credentials from the helper', async () => {
    const code = oathtool(seed, (await settledStep()) + 1);
    const result = aws(['--profile', 'mfa', 'iam', 'get-user'], `${code}\n`);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      User: { UserName: 'ops', Arn: `arn:aws:iam::${accountId}:user/ops` },
    });

    // The call was signed with temporary (ASIA) credentials of an MFA session.
    const exported = await target.cli(['audit', 'export', '--format', 'cloudtrail']);
    expect(exported.code, exported.stderr).toBe(0);
    const records = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    const issued = records.find(
      (r) => r.eventName === 'GetSessionToken' && r.errorCode === undefined && r.eventType === 'AwsApiCall',
    );
    expect(issued?.userIdentity.accessKeyId).toBe(keys.accessKeyId);
    expect(issued?.userAgent).toBe('holdfast-credentials');
    const getUser = records.find((r) => r.eventName === 'GetUser' && r.eventType === 'AwsApiCall');
    expect(getUser?.errorCode).toBeUndefined();
    expect(getUser?.userIdentity.accessKeyId).toBe(issued!.responseElements.credentials.accessKeyId);
    expect(getUser?.userIdentity.accessKeyId).toMatch(/^ASIA/);
    expect(getUser?.userIdentity.sessionContext.attributes.mfaAuthenticated).toBe('true');

    // The same code again (a second aws command in the same 30 s) is a replay: the helper fails
    // with the code, and the AWS CLI shows its stderr.
    const again = aws(['--profile', 'mfa', 'iam', 'get-user'], `${code}\n`);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain('error MFA_FAILED: AccessDenied');
    expect(again.stdout).toBe('');
  }, 90_000);

  it('fails with a code on stderr and nothing on stdout when it cannot issue credentials', async () => {
    const env = cliEnv({ AWS_SHARED_CREDENTIALS_FILE: files.credentials, AWS_CONFIG_FILE: files.config });
    const base = ['credentials', '--mfa-serial', serial, '--profile', 'base'];
    const cases: Array<{ args: string[]; stdin?: string; env?: NodeJS.ProcessEnv; code: string }> = [
      // Endpoint from the profile's endpoint_url; a code that is not six digits never leaves.
      { args: base, stdin: '12345\n', code: 'REQUEST_INVALID' },
      { args: [...base, '--code-command', 'exit 3'], code: 'CONFIG_INVALID' },
      {
        args: ['credentials', '--mfa-serial', serial, '--profile', 'nobody'],
        stdin: '123456\n',
        code: 'CONFIG_INVALID',
      },
      {
        args: [...base, '--duration-seconds', '60', '--endpoint', serve.url],
        stdin: '123456\n',
        code: 'REQUEST_INVALID',
      },
      {
        args: base,
        stdin: '123456\n',
        env: cliEnv({ AWS_SHARED_CREDENTIALS_FILE: files.credentials, AWS_CONFIG_FILE: '/dev/null' }),
        code: 'CONFIG_INVALID',
      },
      // A serial that is not the caller's: the server refuses, the code names it.
      {
        args: ['credentials', '--mfa-serial', `arn:aws:iam::${accountId}:mfa/nobody`, '--profile', 'base'],
        stdin: '123456\n',
        code: 'MFA_FAILED',
      },
    ];
    for (const c of cases) {
      const result = await runCli(c.args, {
        env: c.env ?? env,
        ...(c.stdin === undefined ? {} : { stdin: c.stdin }),
      });
      expect(result.code, `${c.args.join(' ')}: ${result.stderr}`).toBe(1);
      expect(result.errorCode, c.args.join(' ')).toBe(c.code);
      expect(result.stdout).toBe('');
      expect(result.stderr).not.toContain(keys.secretAccessKey);
    }
  }, 60_000);
});
