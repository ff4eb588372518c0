/**
 * `holdfast me ...`: self-service as a signed-in user, through the HTTP API only (Node's fetch),
 * never in-process, so the same commands work against a server on another machine. They hold no
 * database, no master key and no rule of their own: every decision is the server's.
 *
 * Secrets: the password is read from standard input or a no-echo prompt, never from a flag; the
 * session token comes from --token or HOLDFAST_TOKEN and is printed only by `sign-in`; no error
 * message repeats either (fetch's own messages can quote header values, so they are never shown).
 */
import { chmod, open, type FileHandle } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { HoldfastError } from '../core/errors.js';
import { print, reportError } from './output.js';

/** Where `holdfast serve` listens by default. */
const DEFAULT_SERVER = 'http://127.0.0.1:8080';
/** How long one request may take; sign-in does argon2id work, so this is generous. */
const REQUEST_TIMEOUT_MS = 30_000;
/** A password line longer than this is not a password (the API takes at most 1,024 characters). */
const MAX_PASSWORD_LINE = 4096;

// ---------------------------------------------------------------------------------------------
// The API as a remote client sees it (a subset of the OpenAPI document at /v1/openapi.json).

interface SessionBody {
  id: string;
  channel: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  methods: string[];
  mfa: { factorId: string; kind: string; assurance: string; at: string } | null;
  sourceIp: string | null;
  userAgent: string | null;
  current: boolean;
}

interface UserBody {
  id: string;
  accountId: string;
  username: string;
  email: string;
  role: string;
  status: string;
}

interface FactorBody {
  id: string;
  kind: string;
  name: string;
  status: string;
  assurance: string;
  adminProvisioned: boolean;
  createdAt: string;
  enabledAt: string | null;
  lastUsedAt: string | null;
  pendingExpiresAt: string | null;
}

interface OfferedFactor {
  id: string;
  kind: string;
  name: string;
  lastUsedAt: string | null;
}

interface SignedIn {
  status: 'signed_in';
  session: SessionBody;
  user: UserBody;
  token?: string;
  reviewFactors?: boolean;
  recoveryCodesRemaining?: number | null;
}

interface SecondFactorRequired {
  status: 'second_factor_required';
  flowId: string;
  expiresAt: string;
  factors: OfferedFactor[];
  recoveryCodes: boolean;
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * An error the server answered with, in its envelope `{"error": {"code", "message", "requestId"}}`.
 * The code is kept as a string: a newer server may know codes this CLI build does not.
 */
export class RemoteError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly requestId: string | null,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** What to do next, for the errors a user of these commands meets most. */
function hintFor(err: RemoteError): string | null {
  switch (err.code) {
    case 'MFA_STEP_UP_REQUIRED':
      return 'verify a factor in this session first: holdfast me step-up --factor ID --code CODE';
    case 'AUTH_SESSION_INVALID':
    case 'AUTH_SESSION_REQUIRED':
      return 'sign in again: holdfast me sign-in --account A --login L';
    case 'FACTOR_WRONG_SESSION':
      return 'use the token of the session that ran `holdfast me add-totp`';
    case 'FACTOR_PENDING_EXPIRED':
      return 'start again: holdfast me add-totp --name NAME';
    case 'AUTH_THROTTLED':
      return typeof err.details.retryAfterSeconds === 'number'
        ? `retry in ${err.details.retryAfterSeconds} s`
        : null;
    default:
      return null;
  }
}

/** Prints an error as `error CODE: message` (or its JSON form) on stderr; returns the exit code. */
function reportMeError(err: unknown, json: boolean): number {
  if (!(err instanceof RemoteError)) return reportError(err, json);
  if (json) {
    process.stderr.write(
      JSON.stringify({
        error: { ...err.details, code: err.code, message: err.message, requestId: err.requestId },
      }) + '\n',
    );
    return 1;
  }
  const hint = hintFor(err);
  process.stderr.write(
    `error ${err.code}: ${err.message}${err.requestId === null ? '' : ` (request ${err.requestId})`}\n` +
      (hint === null ? '' : `hint: ${hint}\n`),
  );
  return 1;
}

// ---------------------------------------------------------------------------------------------
// The HTTP client

/** Flags every `me` command takes. */
interface ServerFlags {
  server: string;
  json?: boolean;
}

/** Flags of the commands that act in a session. */
interface SessionFlags extends ServerFlags {
  token?: string;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** One small client: JSON in, JSON out, the error envelope turned into a RemoteError. */
interface ApiClient {
  call<T>(method: Method, path: string, body?: unknown): Promise<T>;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Parses --server: an http(s) URL, optionally with a base path; credentials in it are refused. */
function parseServer(server: string, json: boolean): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new HoldfastError(
      'CONFIG_INVALID',
      '--server (HOLDFAST_SERVER) must be an http:// or https:// URL',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HoldfastError(
      'CONFIG_INVALID',
      '--server (HOLDFAST_SERVER) must be an http:// or https:// URL',
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new HoldfastError('CONFIG_INVALID', '--server (HOLDFAST_SERVER) must not carry credentials');
  }
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname) && !json) {
    process.stderr.write(
      `warning: ${url.host} is plain http: passwords, codes and tokens cross the network unencrypted\n`,
    );
  }
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** The session token from --token or HOLDFAST_TOKEN, checked for shape (never echoed). */
function sessionToken(flags: SessionFlags): string {
  const token = flags.token?.trim() ?? '';
  if (token === '') {
    throw new HoldfastError(
      'AUTH_SESSION_REQUIRED',
      'give --token or set HOLDFAST_TOKEN (`holdfast me sign-in` prints one)',
    );
  }
  // A header value with spaces or control characters would be refused by fetch with a message
  // quoting it; refuse it here without repeating it.
  if (!/^[\x21-\x7e]{1,512}$/.test(token)) {
    throw new HoldfastError(
      'AUTH_SESSION_INVALID',
      'the token is malformed (one word of printable characters)',
    );
  }
  return token;
}

/** The cause code of a failed fetch (ECONNREFUSED, ENOTFOUND, ...), never its message. */
function networkCause(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}

function apiClient(flags: ServerFlags, token: string | null): ApiClient {
  const base = parseServer(flags.server, flags.json === true);
  const origin = base.origin;
  return {
    async call<T>(method: Method, path: string, body?: unknown): Promise<T> {
      const url = new URL(path.replace(/^\//, ''), base);
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'holdfast-cli' };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          // A redirect would carry the password or token elsewhere; say where instead.
          redirect: 'manual',
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        if (err instanceof Error && err.name === 'TimeoutError') {
          throw new HoldfastError(
            'INTERNAL_ERROR',
            `${origin} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`,
          );
        }
        throw new HoldfastError(
          'INTERNAL_ERROR',
          `cannot reach ${origin} (${networkCause(err)}); check --server or HOLDFAST_SERVER`,
        );
      }
      if (res.status >= 300 && res.status < 400) {
        const location = res.headers.get('location');
        throw new HoldfastError(
          'CONFIG_INVALID',
          `${origin} redirects (HTTP ${res.status}${location === null ? '' : ` to ${location}`}); give the final URL as --server`,
        );
      }
      const text = await res.text();
      let parsed: unknown = undefined;
      if (text !== '') {
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new HoldfastError(
            'INTERNAL_ERROR',
            `${origin} answered HTTP ${res.status} with ${res.headers.get('content-type') ?? 'no content type'}, not JSON: is it a Holdfast server?`,
          );
        }
      }
      if (!res.ok) {
        const error = (parsed as { error?: Record<string, unknown> } | undefined)?.error;
        const { code, message, requestId, ...details } = error ?? {};
        if (typeof code !== 'string') {
          throw new HoldfastError(
            'INTERNAL_ERROR',
            `${origin} answered HTTP ${res.status} without an error code`,
          );
        }
        throw new RemoteError(
          code,
          typeof message === 'string' ? message : code,
          res.status,
          typeof requestId === 'string' ? requestId : null,
          details,
        );
      }
      return parsed as T;
    },
  };
}

/** Runs one command: turns failures into `error CODE: message` and exit 1; `work` may set another exit code. */
async function runRemote<F extends ServerFlags>(flags: F, work: () => Promise<number | void>): Promise<void> {
  try {
    const code = await work();
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    process.exitCode = reportMeError(err, flags.json === true);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the password

/** The first line of a stream (without its line ending); the rest is left unread. */
function readFirstLine(stream: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const finish = (error: Error | null, line?: string) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      stream.destroy();
      if (error !== null) reject(error);
      else resolve(line!.replace(/\r$/, ''));
    };
    const onData = (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline !== -1) finish(null, buffer.slice(0, newline));
      else if (buffer.length > MAX_PASSWORD_LINE)
        finish(new HoldfastError('REQUEST_INVALID', 'the first line of standard input is too long'));
    };
    const onEnd = () => finish(null, buffer);
    const onError = () => finish(new HoldfastError('REQUEST_INVALID', 'cannot read standard input'));
    stream.setEncoding('utf8');
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

/** Asks for a password on the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value: string[] = [];
    const done = (error: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error === null) resolve(value.join(''));
      else reject(error);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(null);
        if (ch === '\u0003') return done(new HoldfastError('REQUEST_INVALID', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value.push(ch);
      }
    };
    process.stderr.write(prompt);
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** The password: the first line of standard input, or a no-echo prompt on a terminal. */
async function readPassword(fromStdin: boolean): Promise<string> {
  const password =
    fromStdin || !process.stdin.isTTY ? await readFirstLine(process.stdin) : await promptHidden('Password: ');
  if (password === '') {
    throw new HoldfastError(
      'REQUEST_INVALID',
      fromStdin || !process.stdin.isTTY
        ? 'no password on standard input (give it as the first line)'
        : 'no password given',
    );
  }
  return password;
}

// ---------------------------------------------------------------------------------------------
// Helpers for the commands

/** Adds --server and --json; with `session`, also --token. */
function withServer(command: Command, options: { session: boolean }): Command {
  command.addOption(
    new Option('--server <url>', 'Holdfast base URL').env('HOLDFAST_SERVER').default(DEFAULT_SERVER),
  );
  if (options.session) {
    command.addOption(
      new Option(
        '--token <token>',
        'session token from `holdfast me sign-in` (prefer the variable: flags show in process lists)',
      ).env('HOLDFAST_TOKEN'),
    );
  }
  return command.option('--json', 'machine-readable output');
}

/** Collects a repeatable option; codes as apps show them ("123 456") lose their spaces. */
function collectCode(value: string, previous: string[] = []): string[] {
  return [...previous, value.replace(/\s+/g, '')];
}

/** Finds a factor by id, else by its exact name; unknown references pass through (the server decides). */
function matchFactor<T extends { id: string; name: string }>(factors: T[], ref: string): T | undefined {
  return factors.find((f) => f.id === ref) ?? factors.find((f) => f.name === ref);
}

/** Resolves a factor reference (id or name) to an id, with one GET /v1/factors. */
async function factorId(api: ApiClient, ref: string): Promise<string> {
  const { factors } = await api.call<{ factors: FactorBody[] }>('GET', '/v1/factors');
  return matchFactor(factors, ref)?.id ?? ref;
}

const path = (template: string, id: string) => template.replace(':id', encodeURIComponent(id));

function factorLine(f: FactorBody): string {
  const flags = [
    f.adminProvisioned ? 'admin-provisioned' : '',
    f.status === 'pending' ? `pending until ${f.pendingExpiresAt}` : '',
  ]
    .filter((x) => x !== '')
    .join(', ');
  return `${f.id}  ${f.kind.padEnd(14)} ${f.status.padEnd(8)} ${f.name}  (last used ${f.lastUsedAt ?? 'never'}${flags === '' ? '' : `; ${flags}`})`;
}

function sessionLine(s: SessionBody): string {
  const mfa = s.mfa === null ? 'no MFA' : `MFA ${s.mfa.kind} at ${s.mfa.at}`;
  return `${s.current ? '*' : ' '} ${s.id}  ${s.channel.padEnd(6)} since ${s.createdAt}  last seen ${s.lastSeenAt}  ${mfa}  ${s.sourceIp ?? ''}`;
}

/** Exactly `min`..`max` codes, or a coded error. */
function requireCodes(codes: string[], min: number, max: number): string[] {
  if (codes.length < min || codes.length > max) {
    throw new HoldfastError(
      'REQUEST_INVALID',
      min === max ? `give --code exactly ${min} times` : `give --code ${min} to ${max} times`,
    );
  }
  return codes;
}

// ---------------------------------------------------------------------------------------------
// sign-in

interface SignInFlags extends ServerFlags {
  account: string;
  login: string;
  passwordStdin?: boolean;
  factor?: string;
  code?: string;
  recoveryCode?: string;
  password?: string;
}

/** The proof for the factor step from the flags, or null when the user must still pick one. */
function proofFor(
  offered: SecondFactorRequired,
  flags: SignInFlags,
): { factorId: string; code: string } | { recoveryCode: string } | null {
  if (flags.recoveryCode !== undefined) {
    if (!offered.recoveryCodes) throw new HoldfastError('RECOVERY_CODES_NOT_SET');
    return { recoveryCode: flags.recoveryCode.trim() };
  }
  if (flags.code === undefined) return null;
  const code = flags.code.replace(/\s+/g, '');
  if (flags.factor === undefined) {
    // One factor: no choice to make. Several: the user picks (never a silent choice).
    if (offered.factors.length !== 1) return null;
    refuseCeremonyFactor(offered.factors[0]!, offered);
    return { factorId: offered.factors[0]!.id, code };
  }
  const factor = matchFactor(offered.factors, flags.factor);
  if (factor === undefined) {
    throw new HoldfastError(
      'FACTOR_NOT_FOUND',
      `no enabled factor "${flags.factor}"; offered: ${offered.factors.map((f) => `${f.id} (${f.name})`).join(', ') || 'none'}`,
    );
  }
  refuseCeremonyFactor(factor, offered);
  return { factorId: factor.id, code };
}

/**
 * Passkeys and security keys (WebAuthn) answer a browser ceremony bound to the web origin, not a
 * typed code: this CLI cannot use them. Said plainly before anything is sent, instead of a code
 * the server can only refuse (MFA_FAILED).
 */
function refuseCeremonyFactor(factor: OfferedFactor, offered: SecondFactorRequired): void {
  if (factor.kind !== 'webauthn') return;
  const others = offered.factors.filter((f) => f.kind !== 'webauthn');
  const ways = [
    ...(others.length > 0 ? [`another factor (${others.map((f) => `--factor ${f.id}`).join(', ')})`] : []),
    ...(offered.recoveryCodes ? ['--recovery-code CODE'] : []),
    'the web console in a browser',
  ];
  throw new HoldfastError(
    'REQUEST_INVALID',
    `"${factor.name}" is a passkey or security key: this CLI cannot use those (they need a browser). Use ${ways.join(', or ')}`,
  );
}

function printSignedIn(answer: SignedIn, json: boolean): void {
  if (answer.token === undefined)
    throw new HoldfastError('INTERNAL_ERROR', 'the server sent no bearer token');
  const { token, session, user, reviewFactors, recoveryCodesRemaining } = answer;
  print(
    json,
    {
      token,
      session,
      user,
      ...(reviewFactors === undefined ? {} : { reviewFactors }),
      ...(recoveryCodesRemaining === undefined ? {} : { recoveryCodesRemaining }),
    },
    () => token,
  );
  if (!json && reviewFactors === true) {
    process.stderr.write(
      `signed in with a recovery code (${recoveryCodesRemaining ?? 0} left): review your factors with \`holdfast me factors\`\n`,
    );
  }
}

function registerSignIn(me: Command): void {
  withServer(
    me
      .command('sign-in')
      .description(
        'sign in; prints a session token (export HOLDFAST_TOKEN=$(holdfast me sign-in ...)). The password is read from standard input (first line) or a no-echo prompt, never from a flag',
      ),
    { session: false },
  )
    .requiredOption('--account <account>', 'account name or 12-digit id')
    .requiredOption('--login <login>', 'e-mail address or user name')
    .option(
      '--password-stdin',
      'read the password from the first line of standard input (even on a terminal)',
    )
    .option('--factor <id>', 'second factor to use: id or name (optional when only one is enabled)')
    .addOption(new Option('--code <code>', 'code from that factor').conflicts('recoveryCode'))
    .option('--recovery-code <code>', 'a recovery code instead of a factor code')
    // Refused with a clear message: a password in argv shows in process lists and shell history.
    .addOption(new Option('--password <password>').hideHelp())
    .addHelpText(
      'after',
      '\nExit status: 0 signed in; 2 a second factor is needed and none was given (the factors are listed);\n1 any error.',
    )
    .action(async (flags: SignInFlags) =>
      runRemote(flags, async () => {
        const json = flags.json === true;
        if (flags.password !== undefined) {
          throw new HoldfastError(
            'REQUEST_INVALID',
            'the password is never taken from a flag: give it on standard input (--password-stdin) or at the prompt',
          );
        }
        if (flags.factor !== undefined && flags.code === undefined) {
          throw new HoldfastError('REQUEST_INVALID', '--factor needs --code');
        }
        const api = apiClient(flags, null);
        const password = await readPassword(flags.passwordStdin === true);
        const first = await api.call<SignedIn | SecondFactorRequired>('POST', '/v1/sign-in', {
          account: flags.account,
          login: flags.login,
          password,
          session: 'bearer',
        });
        if (first.status === 'signed_in') {
          if (!json && (flags.code !== undefined || flags.recoveryCode !== undefined)) {
            process.stderr.write('note: no second factor was asked for; the code was not used\n');
          }
          printSignedIn(first, json);
          return;
        }
        const proof = proofFor(first, flags);
        if (proof === null) {
          if (json) {
            print(
              true,
              { status: first.status, factors: first.factors, recoveryCodes: first.recoveryCodes },
              () => '',
            );
          } else {
            const lines = first.factors.map(
              (f) =>
                `  ${f.id}  ${f.kind.padEnd(14)} ${f.name}  (last used ${f.lastUsedAt ?? 'never'})` +
                (f.kind === 'webauthn' ? '  [passkey: needs a browser, not usable here]' : ''),
            );
            if (first.recoveryCodes) lines.push('  or a recovery code: --recovery-code CODE');
            const why =
              flags.code === undefined
                ? 'a second factor is required: run again with --factor ID --code CODE'
                : 'several factors are enabled: pick one with --factor ID';
            process.stderr.write(`${why}\n${lines.join('\n')}\n`);
          }
          return 2;
        }
        const done = await api.call<SignedIn>('POST', '/v1/sign-in/second-factor', {
          flowId: first.flowId,
          ...proof,
        });
        printSignedIn(done, json);
      }),
    );
}

// ---------------------------------------------------------------------------------------------
// The session commands

/** Opens (before anything is created) a file that will hold a QR code: it encodes the secret, so 0600. */
async function openSecretFile(file: string): Promise<FileHandle> {
  try {
    const handle = await open(file, 'w', 0o600);
    await chmod(file, 0o600);
    return handle;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unwritable';
    throw new HoldfastError('REQUEST_INVALID', `cannot write ${file} (${code})`);
  }
}

/** `holdfast me ...`: self-service through the HTTP API as a signed-in user. */
export function registerMeCommands(program: Command): void {
  const me = program
    .command('me')
    .description(
      'self-service as a signed-in user through the HTTP API (works against a remote server): sign in, factors, recovery codes, sessions',
    )
    .addHelpText(
      'after',
      `
Every command takes --server URL (HOLDFAST_SERVER, default ${DEFAULT_SERVER}); all but sign-in
take --token (HOLDFAST_TOKEN). Example:
  export HOLDFAST_SERVER=https://id.example.com
  export HOLDFAST_TOKEN=$(holdfast me sign-in --account acme --login ann@example.com)
  holdfast me add-totp --name "Pixel 8" --qr-svg pixel.svg
  holdfast me enable mfa_... --code 123456 --code 654321
  holdfast me recovery-codes --regenerate`,
    );

  registerSignIn(me);

  const session = (command: Command) => withServer(command, { session: true });
  const client = (flags: SessionFlags) => apiClient(flags, sessionToken(flags));

  session(me.command('whoami').description('the signed-in user, account and session')).action(
    async (flags: SessionFlags) =>
      runRemote(flags, async () => {
        const answer = await client(flags).call<{
          session: SessionBody;
          user: UserBody;
          account: { id: string; name: string };
        }>('GET', '/v1/session');
        const { session: s, user, account } = answer;
        print(flags.json === true, { session: s, user, account }, () =>
          [
            `${user.email} (${user.id}, ${user.role}) in account ${account.name} (${account.id})`,
            `session ${s.id}, expires ${s.expiresAt}, ${s.mfa === null ? 'no MFA' : `MFA ${s.mfa.kind} at ${s.mfa.at}`}`,
          ].join('\n'),
        );
      }),
  );

  session(
    me.command('factors').description('my factors (never their secrets) and recovery codes left'),
  ).action(async (flags: SessionFlags) =>
    runRemote(flags, async () => {
      const answer = await client(flags).call<{
        factors: FactorBody[];
        recoveryCodes: { remaining: number };
      }>('GET', '/v1/factors');
      print(flags.json === true, answer, () =>
        [
          ...(answer.factors.length === 0 ? ['(no factors)'] : answer.factors.map(factorLine)),
          `recovery codes left: ${answer.recoveryCodes.remaining}`,
        ].join('\n'),
      );
    }),
  );

  session(
    me
      .command('add-totp')
      .description(
        'start enrolling an authenticator app: prints its secret and key URI once; enable it within 10 minutes from this session',
      ),
  )
    .requiredOption('--name <name>', 'a name for the factor, unique among mine (e.g. "Pixel 8")')
    .option(
      '--qr-svg <file>',
      'also write the QR code as SVG to this file (mode 0600: it encodes the secret)',
    )
    .option('--qr-png <file>', 'also write the QR code as PNG to this file (mode 0600)')
    .action(async (flags: SessionFlags & { name: string; qrSvg?: string; qrPng?: string }) =>
      runRemote(flags, async () => {
        const api = client(flags);
        // Opened first: an unwritable path fails before a factor exists.
        const svgFile = flags.qrSvg === undefined ? null : await openSecretFile(flags.qrSvg);
        const pngFile = flags.qrPng === undefined ? null : await openSecretFile(flags.qrPng);
        try {
          const answer = await api.call<{
            factor: FactorBody;
            secret: string;
            keyUri: string;
            qrCode: { png: string; svg: string };
          }>('POST', '/v1/factors/totp', { name: flags.name });
          if (svgFile !== null) await svgFile.writeFile(answer.qrCode.svg, 'utf8');
          if (pngFile !== null) await pngFile.writeFile(Buffer.from(answer.qrCode.png, 'base64'));
          const { factor, secret, keyUri } = answer;
          print(
            flags.json === true,
            {
              factor,
              secret,
              keyUri,
              ...(flags.qrSvg === undefined ? {} : { qrSvgFile: flags.qrSvg }),
              ...(flags.qrPng === undefined ? {} : { qrPngFile: flags.qrPng }),
            },
            () =>
              [
                `factor ${factor.id} "${factor.name}" is pending until ${factor.pendingExpiresAt}`,
                `secret:  ${secret}`,
                `key URI: ${keyUri}`,
                ...(flags.qrSvg === undefined ? [] : [`QR code: ${flags.qrSvg}`]),
                ...(flags.qrPng === undefined ? [] : [`QR code: ${flags.qrPng}`]),
                `add it to your app, then enable it with two consecutive codes, from this same session:`,
                `  holdfast me enable ${factor.id} --code CODE1 --code CODE2`,
              ].join('\n'),
          );
        } finally {
          await svgFile?.close();
          await pngFile?.close();
        }
      }),
    );

  session(
    me
      .command('enable')
      .description(
        'enable a pending factor with two consecutive codes (or one), from the session that added it',
      )
      .argument('<factor>', 'factor id or name'),
  )
    .option('--code <code>', 'a code; give it twice, for two consecutive codes (recommended)', collectCode)
    .action(async (ref: string, flags: SessionFlags & { code?: string[] }) =>
      runRemote(flags, async () => {
        const codes = requireCodes(flags.code ?? [], 1, 2);
        const api = client(flags);
        const id = await factorId(api, ref);
        const { factor } = await api.call<{ factor: FactorBody }>(
          'POST',
          path('/v1/factors/:id/enable', id),
          codes.length === 2 ? { codes } : { code: codes[0] },
        );
        print(flags.json === true, { factor }, () => `factor ${factor.id} "${factor.name}" enabled`);
      }),
    );

  session(
    me.command('rename').description('rename one of my factors').argument('<factor>', 'factor id or name'),
  )
    .requiredOption('--name <name>', 'the new name')
    .action(async (ref: string, flags: SessionFlags & { name: string }) =>
      runRemote(flags, async () => {
        const api = client(flags);
        const id = await factorId(api, ref);
        const { factor } = await api.call<{ factor: FactorBody }>('PATCH', path('/v1/factors/:id', id), {
          name: flags.name,
        });
        print(flags.json === true, { factor }, () => `factor ${factor.id} renamed to "${factor.name}"`);
      }),
    );

  session(
    me
      .command('resync')
      .description('re-synchronise a drifted factor with two consecutive codes (needs a recent MFA: step-up)')
      .argument('<factor>', 'factor id or name'),
  )
    .option('--code <code>', 'a code; give it twice, for two consecutive codes', collectCode)
    .action(async (ref: string, flags: SessionFlags & { code?: string[] }) =>
      runRemote(flags, async () => {
        const codes = requireCodes(flags.code ?? [], 2, 2);
        const api = client(flags);
        const id = await factorId(api, ref);
        const { factor } = await api.call<{ factor: FactorBody }>(
          'POST',
          path('/v1/factors/:id/resync', id),
          {
            codes,
          },
        );
        print(flags.json === true, { factor }, () => `factor ${factor.id} "${factor.name}" re-synchronised`);
      }),
    );

  session(
    me
      .command('remove')
      .description(
        'remove one of my factors (needs a recent MFA: step-up). Add the replacement first, then remove the old one',
      )
      .argument('<factor>', 'factor id or name'),
  ).action(async (ref: string, flags: SessionFlags) =>
    runRemote(flags, async () => {
      const api = client(flags);
      const id = await factorId(api, ref);
      await api.call('DELETE', path('/v1/factors/:id', id));
      print(flags.json === true, { removed: id }, () => `factor ${id} removed`);
    }),
  );

  session(
    me
      .command('step-up')
      .description('verify a factor again in this session, as removing, resyncing and recovery codes need'),
  )
    .requiredOption('--factor <id>', 'factor id or name')
    .requiredOption('--code <code>', 'a code from that factor')
    .action(async (flags: SessionFlags & { factor: string; code: string }) =>
      runRemote(flags, async () => {
        const api = client(flags);
        const id = await factorId(api, flags.factor);
        const { session: s } = await api.call<{ session: SessionBody }>('POST', '/v1/session/step-up', {
          factorId: id,
          code: flags.code.replace(/\s+/g, ''),
        });
        print(
          flags.json === true,
          { session: s },
          () => `session ${s.id} verified with factor ${id} at ${s.mfa?.at ?? '?'}`,
        );
      }),
    );

  session(
    me
      .command('recovery-codes')
      .description('how many recovery codes I have left; --regenerate makes a new set of 10, shown once'),
  )
    .option('--regenerate', 'replace the whole set (needs a recent MFA when I have factors or codes)')
    .action(async (flags: SessionFlags & { regenerate?: boolean }) =>
      runRemote(flags, async () => {
        const api = client(flags);
        if (flags.regenerate !== true) {
          const status = await api.call<{ remaining: number }>('GET', '/v1/recovery-codes');
          print(flags.json === true, status, () => `recovery codes left: ${status.remaining}`);
          return;
        }
        const { codes } = await api.call<{ codes: string[] }>('POST', '/v1/recovery-codes');
        if (flags.json !== true) {
          process.stderr.write(
            `${codes.length} new recovery codes; the old set no longer works. They are shown only now: store them safely.\n`,
          );
        }
        print(flags.json === true, { codes }, () => codes.join('\n'));
      }),
    );

  session(me.command('sessions').description('my live sessions; --revoke ends one'))
    .option('--revoke <id>', 'revoke this session')
    .action(async (flags: SessionFlags & { revoke?: string }) =>
      runRemote(flags, async () => {
        const api = client(flags);
        if (flags.revoke !== undefined) {
          await api.call('DELETE', path('/v1/sessions/:id', flags.revoke));
          print(flags.json === true, { revoked: flags.revoke }, () => `session ${flags.revoke} revoked`);
          return;
        }
        const { sessions } = await api.call<{ sessions: SessionBody[] }>('GET', '/v1/sessions');
        print(
          flags.json === true,
          { sessions },
          () => sessions.map(sessionLine).join('\n') || '(no sessions)',
        );
      }),
    );

  session(me.command('sign-out').description('end this session (the token stops working)')).action(
    async (flags: SessionFlags) =>
      runRemote(flags, async () => {
        await client(flags).call('POST', '/v1/sign-out');
        print(flags.json === true, { signedOut: true }, () => 'signed out');
      }),
  );
}
