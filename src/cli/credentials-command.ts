/**
 * `holdfast credentials`: a `credential_process` helper for the AWS CLI and SDKs (AWS CLI User
 * Guide, "Sourcing credentials with an external process"). It reads the long-term access key of
 * a profile from the AWS shared credentials file, asks for an MFA code, calls STS
 * GetSessionToken with SerialNumber and TokenCode on a Holdfast server (signed with SigV4 over
 * Node's fetch), and prints the temporary credentials as the JSON document the AWS tools expect:
 * `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}`.
 *
 * Nothing is cached on disk: every run asks for a code, and a code is accepted once.
 *
 * Where the code comes from: `--code-command CMD` (or HOLDFAST_MFA_CODE_COMMAND) runs CMD with
 * /bin/sh and takes the first line it prints; otherwise, when standard input is a terminal, a
 * prompt goes to /dev/tty (the AWS CLI captures the helper's stderr and shows it only on
 * failure) and the code is read from the terminal; otherwise the first line of standard input
 * is the code (the AWS CLI passes its own standard input on to the helper).
 *
 * Secrets: the secret access key, the session token and the code never appear in an error
 * message; the server's error messages carry none of them either.
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { HoldfastError, type ErrorCode } from '../core/errors.js';
import {
  SIGV4_ALGORITHM,
  buildCanonicalRequest,
  buildStringToSign,
  computeSignature,
  credentialScope,
  deriveSigningKey,
  formatAmzDate,
  sha256Hex,
  uriEncode,
} from '../core/aws/sigv4.js';
import { reportError } from './output.js';

/** How long the STS call may take. */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long a `--code-command` may run (a password manager may ask for its passphrase). */
const CODE_COMMAND_TIMEOUT_MS = 120_000;
/** The STS API version (2011-06-15) the Query request names. */
const STS_VERSION = '2011-06-15';
/** Region used for the signature when neither the profile nor the environment names one. */
const DEFAULT_REGION = 'us-east-1';
/** An MFA code as STS takes it: six digits (STS API reference, TokenCode). */
const TOKEN_CODE = /^[0-9]{6}$/;
/** A line longer than this is not an MFA code. */
const MAX_LINE = 256;

/** An INI file as the AWS tools read it: sections of `key = value` pairs. */
export type IniFile = Map<string, Map<string, string>>;

/**
 * Parses the AWS shared config/credentials INI format: `[section]` headers, `key = value`
 * lines, `#` and `;` comment lines. Indented continuation lines (nested settings such as
 * `s3 =` blocks) are skipped; keys are lower-cased, as the AWS tools treat them.
 */
export function parseIni(text: string): IniFile {
  const sections: IniFile = new Map();
  let current: Map<string, string> | null = null;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s/.test(raw) && raw.trim() !== '') continue;
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      const name = header[1]!.replace(/\s+/g, ' ');
      current = sections.get(name) ?? new Map<string, string>();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === null || eq <= 0) continue;
    current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}

/** Reads an INI file; a missing file is an empty one. */
function readIni(path: string): IniFile {
  try {
    return parseIni(readFileSync(path, 'utf8'));
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return new Map();
    throw new HoldfastError('CONFIG_INVALID', `cannot read ${path}`);
  }
}

/** Where the shared credentials and config files are (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE). */
export function awsFilePaths(env: NodeJS.ProcessEnv): { credentials: string; config: string } {
  return {
    credentials: env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials'),
    config: env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config'),
  };
}

/** The long-term key of a profile, and the settings of its config section. */
export interface ProfileSettings {
  accessKeyId: string;
  secretAccessKey: string;
  /** `endpoint_url` of the profile in the config file, if any. */
  endpointUrl: string | undefined;
  /** `region` of the profile in the config file, if any. */
  region: string | undefined;
}

/**
 * Reads a profile: its key from the credentials file (`[NAME]`), else from the config file
 * (`[profile NAME]`, or `[default]`), as the AWS tools look them up; `endpoint_url` and `region`
 * from the config file. A profile holding a session token already is refused: STS does not
 * issue session tokens from temporary credentials.
 */
export function readProfile(profile: string, env: NodeJS.ProcessEnv): ProfileSettings {
  const paths = awsFilePaths(env);
  const credentials = readIni(paths.credentials).get(profile);
  const config = readIni(paths.config).get(profile === 'default' ? 'default' : `profile ${profile}`);
  const source =
    credentials?.has('aws_access_key_id') === true
      ? credentials
      : config?.has('aws_access_key_id')
        ? config
        : null;
  const accessKeyId = source?.get('aws_access_key_id') ?? '';
  const secretAccessKey = source?.get('aws_secret_access_key') ?? '';
  if (source === null || accessKeyId === '' || secretAccessKey === '') {
    throw new HoldfastError(
      'CONFIG_INVALID',
      `profile ${profile} has no aws_access_key_id and aws_secret_access_key in ${paths.credentials} or ${paths.config}`,
    );
  }
  if (!/^AKIA[A-Z0-9]{12,124}$/.test(accessKeyId)) {
    throw new HoldfastError(
      'CONFIG_INVALID',
      `profile ${profile} must hold a long-term access key (AKIA…): GetSessionToken refuses temporary credentials`,
    );
  }
  return {
    accessKeyId,
    secretAccessKey,
    endpointUrl: config?.get('endpoint_url') || undefined,
    region: config?.get('region') || undefined,
  };
}

/** Checks the endpoint URL: http(s), no credentials, no query. */
export function parseEndpoint(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HoldfastError('CONFIG_INVALID', 'the endpoint must be an http:// or https:// URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    throw new HoldfastError(
      'CONFIG_INVALID',
      'the endpoint must be an http:// or https:// URL without credentials',
    );
  }
  url.search = '';
  url.hash = '';
  return url;
}

/** The parts of a SigV4-signed form POST. */
export interface SignedQueryRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
}

/**
 * Builds a SigV4-signed (Authorization header) Query API POST: the canonical request over
 * content-type, host and x-amz-date, the scope `DATE/REGION/SERVICE/aws4_request`, and the
 * HMAC-SHA256 key chain (AWS SigV4 documentation, "Create a signed AWS API request").
 */
export function signQueryRequest(input: {
  endpoint: URL;
  service: string;
  region: string;
  params: Readonly<Record<string, string>>;
  accessKeyId: string;
  secretAccessKey: string;
  nowMs: number;
}): SignedQueryRequest {
  const body = Object.entries(input.params)
    .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
    .join('&');
  const amzDate = formatAmzDate(input.nowMs);
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: input.endpoint.host,
    'x-amz-date': amzDate,
  };
  const signedHeaders = ['content-type', 'host', 'x-amz-date'];
  const canonicalRequest = buildCanonicalRequest({
    method: 'POST',
    path: input.endpoint.pathname,
    headers,
    signedHeaders,
    payloadHash: sha256Hex(body),
  });
  const scope = credentialScope({ date, region: input.region, service: input.service });
  const signature = computeSignature(
    deriveSigningKey({
      secretAccessKey: input.secretAccessKey,
      date,
      region: input.region,
      service: input.service,
    }),
    buildStringToSign({ amzDate, scope, canonicalRequest }),
  );
  headers.authorization =
    `${SIGV4_ALGORITHM} Credential=${input.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return { url: input.endpoint, headers, body };
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The text of the first `<name>` element of an XML document, entities decoded; undefined if absent. */
function xmlText(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  if (!m) return undefined;
  return m[1]!.replace(/&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(parseInt(e.slice(1), 10))
        : XML_ENTITIES[e]!,
  );
}

/** The document `credential_process` prints (AWS CLI User Guide: Version 1 of the format). */
export interface ProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

/** Holdfast's error code for an AWS error code the server answered with. */
export function errorCodeForAws(awsCode: string, message: string): ErrorCode {
  switch (awsCode) {
    case 'AccessDenied':
      return /MultiFactorAuthentication failed/.test(message) ? 'MFA_FAILED' : 'AUTH_FORBIDDEN';
    case 'InvalidClientTokenId':
    case 'SignatureDoesNotMatch':
    case 'IncompleteSignature':
    case 'MissingAuthenticationToken':
      return 'AUTH_INVALID_CREDENTIALS';
    case 'ExpiredToken':
      return 'AUTH_SESSION_INVALID';
    case 'Throttling':
      return 'AUTH_THROTTLED';
    case 'ValidationError':
    case 'InvalidParameterValue':
    case 'MissingParameter':
      return 'REQUEST_INVALID';
    default:
      return 'INTERNAL_ERROR';
  }
}

/**
 * Reads a GetSessionToken answer: the credentials of a `<GetSessionTokenResponse>`, or the
 * `<ErrorResponse>` turned into a HoldfastError (its AWS code named in the message).
 */
export function parseSessionTokenResponse(status: number, xml: string): ProcessCredentials {
  if (status !== 200) {
    const code = xmlText(xml, 'Code');
    const message = xmlText(xml, 'Message') ?? '';
    if (code === undefined) {
      throw new HoldfastError('INTERNAL_ERROR', `the endpoint answered HTTP ${status} without an AWS error`);
    }
    throw new HoldfastError(errorCodeForAws(code, message), `${code}: ${message}`, {
      details: { awsCode: code, status },
    });
  }
  const accessKeyId = xmlText(xml, 'AccessKeyId');
  const secretAccessKey = xmlText(xml, 'SecretAccessKey');
  const sessionToken = xmlText(xml, 'SessionToken');
  const expiration = xmlText(xml, 'Expiration');
  if (
    accessKeyId === undefined ||
    secretAccessKey === undefined ||
    sessionToken === undefined ||
    expiration === undefined
  ) {
    throw new HoldfastError(
      'INTERNAL_ERROR',
      'the endpoint answered without credentials: is it Holdfast or STS?',
    );
  }
  return {
    Version: 1,
    AccessKeyId: accessKeyId,
    SecretAccessKey: secretAccessKey,
    SessionToken: sessionToken,
    Expiration: expiration,
  };
}

/** The first line of a stream (without its line ending). */
function readFirstLine(stream: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const finish = (error: Error | null, line?: string) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      // Let the process exit: an open terminal or pipe would keep it waiting.
      stream.destroy();
      if (error !== null) reject(error);
      else resolve(line!.replace(/\r$/, ''));
    };
    const onData = (chunk: string | Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf('\n');
      if (newline !== -1) finish(null, buffer.slice(0, newline));
      else if (buffer.length > MAX_LINE)
        finish(new HoldfastError('REQUEST_INVALID', 'the input line is too long'));
    };
    const onEnd = () => finish(null, buffer);
    const onError = () => finish(new HoldfastError('REQUEST_INVALID', 'cannot read the MFA code'));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

/** Writes a prompt where a person sees it even when stderr is captured: /dev/tty, else stderr. */
function showPrompt(text: string): void {
  try {
    const fd = openSync('/dev/tty', 'w');
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
  } catch {
    process.stderr.write(text);
  }
}

/** Runs a code command with /bin/sh; the first line of its output. */
function runCodeCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // stdin stays the terminal (a password manager may ask for its passphrase there).
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['inherit', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), CODE_COMMAND_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (out.length <= MAX_LINE) out += chunk;
    });
    child.once('error', () => {
      clearTimeout(timer);
      reject(new HoldfastError('CONFIG_INVALID', 'the code command could not be started'));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new HoldfastError('CONFIG_INVALID', `the code command failed (${signal ?? `exit ${code}`})`));
      } else resolve(out.split('\n')[0]!.replace(/\r$/, ''));
    });
  });
}

/** The MFA code: from the code command, the terminal (with a prompt), or standard input. */
async function readTokenCode(input: { codeCommand: string | undefined; serial: string }): Promise<string> {
  let code: string;
  if (input.codeCommand !== undefined && input.codeCommand.trim() !== '') {
    code = await runCodeCommand(input.codeCommand);
  } else {
    if (process.stdin.isTTY) showPrompt(`MFA code for ${input.serial}: `);
    code = await readFirstLine(process.stdin);
  }
  code = code.trim();
  if (!TOKEN_CODE.test(code)) {
    throw new HoldfastError('REQUEST_INVALID', 'the MFA code must be six digits');
  }
  return code;
}

/** Calls STS GetSessionToken with an MFA code; the credentials in credential_process form. */
export async function fetchSessionCredentials(input: {
  endpoint: URL;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  serialNumber: string;
  tokenCode: string;
  durationSeconds?: number | undefined;
}): Promise<ProcessCredentials> {
  const params: Record<string, string> = {
    Action: 'GetSessionToken',
    Version: STS_VERSION,
    SerialNumber: input.serialNumber,
    TokenCode: input.tokenCode,
  };
  if (input.durationSeconds !== undefined) params.DurationSeconds = String(input.durationSeconds);
  const request = signQueryRequest({
    endpoint: input.endpoint,
    service: 'sts',
    region: input.region,
    params,
    accessKeyId: input.accessKeyId,
    secretAccessKey: input.secretAccessKey,
    nowMs: Date.now(),
  });
  let res: Response;
  try {
    res = await fetch(request.url, {
      method: 'POST',
      headers: { ...request.headers, 'user-agent': 'holdfast-credentials' },
      body: request.body,
      // A redirect would send the signed request (and the code) elsewhere.
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    // fetch's own messages may quote header values: only the cause code is shown.
    const cause = (err as { cause?: { code?: unknown } }).cause;
    const why =
      err instanceof Error && err.name === 'TimeoutError'
        ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
        : typeof cause?.code === 'string'
          ? cause.code
          : 'network error';
    throw new HoldfastError('INTERNAL_ERROR', `cannot reach ${input.endpoint.origin} (${why})`);
  }
  if (res.status >= 300 && res.status < 400) {
    throw new HoldfastError(
      'CONFIG_INVALID',
      `${input.endpoint.origin} redirects (HTTP ${res.status}); give the final URL as the endpoint`,
    );
  }
  return parseSessionTokenResponse(res.status, await res.text());
}

interface CredentialsFlags {
  mfaSerial: string;
  profile: string;
  endpoint?: string;
  region?: string;
  durationSeconds?: string;
  codeCommand?: string;
}

/** Registers `holdfast credentials`. */
export function registerCredentialsCommand(program: Command): void {
  program
    .command('credentials')
    .description(
      'credential_process helper: MFA session credentials from STS GetSessionToken, printed as the AWS tools expect (nothing cached)',
    )
    .requiredOption('--mfa-serial <arn>', 'serial number (ARN) of your MFA device')
    .addOption(
      new Option(
        '--profile <name>',
        'profile holding the long-term access key (shared credentials file)',
      ).default('default'),
    )
    .addOption(
      new Option('--endpoint <url>', "Holdfast URL (else the profile's endpoint_url)").env(
        'HOLDFAST_ENDPOINT',
      ),
    )
    .addOption(new Option('--region <region>', "signing region (else the profile's region, AWS_REGION)"))
    .option('--duration-seconds <n>', 'lifetime of the credentials, 900-129600 (server default: 43200)')
    .addOption(
      new Option(
        '--code-command <cmd>',
        'shell command printing the MFA code (e.g. "pass otp aws/mfa"); else the terminal or standard input',
      ).env('HOLDFAST_MFA_CODE_COMMAND'),
    )
    .action(async (flags: CredentialsFlags) => {
      try {
        const profile = readProfile(flags.profile, process.env);
        const endpointValue = flags.endpoint ?? profile.endpointUrl;
        if (endpointValue === undefined || endpointValue === '') {
          throw new HoldfastError(
            'CONFIG_INVALID',
            "give --endpoint, set HOLDFAST_ENDPOINT, or set endpoint_url in the profile's config section",
          );
        }
        const endpoint = parseEndpoint(endpointValue);
        let durationSeconds: number | undefined;
        if (flags.durationSeconds !== undefined) {
          durationSeconds = Number(flags.durationSeconds);
          if (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > 129_600) {
            throw new HoldfastError(
              'REQUEST_INVALID',
              '--duration-seconds must be an integer from 900 to 129600',
            );
          }
        }
        const region =
          flags.region ||
          profile.region ||
          process.env.AWS_REGION ||
          process.env.AWS_DEFAULT_REGION ||
          DEFAULT_REGION;
        const tokenCode = await readTokenCode({ codeCommand: flags.codeCommand, serial: flags.mfaSerial });
        const credentials = await fetchSessionCredentials({
          endpoint,
          region,
          accessKeyId: profile.accessKeyId,
          secretAccessKey: profile.secretAccessKey,
          serialNumber: flags.mfaSerial,
          tokenCode,
          durationSeconds,
        });
        process.stdout.write(JSON.stringify(credentials, null, 2) + '\n');
      } catch (err) {
        process.exitCode = reportError(err, false);
      }
    });
}
