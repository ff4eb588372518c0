import { join } from 'node:path';
import { HoldfastError } from '../core/errors.js';
import { PASSWORD_DEFAULT_MIN_LENGTH } from '../core/principals/password-rules.js';
import { loadDeliveryConfig, type DeliveryConfig } from './delivery-config.js';
import {
  DEFAULT_MFA_SETTINGS,
  OWASP_ARGON2_MINIMUM,
  type Argon2Params,
  type MfaSettings,
  type WebAuthnSettings,
} from '../core/settings.js';

/** The whole configuration, from flags and environment variables (flags win). */
export interface Config {
  db: string;
  /**
   * PostgreSQL pool and timeouts (HOLDFAST_DB_POOL_SIZE, HOLDFAST_DB_CONNECT_TIMEOUT_MS,
   * HOLDFAST_DB_STATEMENT_TIMEOUT_MS): past them a request fails with 503 instead of hanging.
   */
  dbPool: { size: number; connectTimeoutMs: number; statementTimeoutMs: number };
  host: string;
  port: number;
  dataDir: string;
  tlsCert: string | null;
  tlsKey: string | null;
  /** Peers whose X-Forwarded-For is believed: IPs or CIDRs; empty means none. */
  trustedProxies: string[];
  /** Base URL printed in setup links; defaults to the listening address. */
  publicUrl: string | null;
  logLevel: string;
  sessionIdleMinutes: number;
  sessionAbsoluteHours: number;
  passwordMinLength: number;
  argon2: Argon2Params;
  mfa: MfaSettings;
  /** WebAuthn Relying Party (HOLDFAST_WEBAUTHN_RP_ID, HOLDFAST_WEBAUTHN_ORIGIN). */
  webauthn: WebAuthnSettings;
  /** Raw HOLDFAST_MASTER_KEY (never logged). */
  masterKey: string | undefined;
  /** Outbox delivery (SMTP, SMS provider, webhooks) and background jobs. */
  delivery: DeliveryConfig;
  /** Bearer token /metrics requires (HOLDFAST_METRICS_TOKEN); null: /metrics answers 404. Never logged. */
  metricsToken: string | null;
  /** Connection limits of the HTTP server, in milliseconds. */
  timeouts: { requestMs: number; headersMs: number; idleMs: number; keepAliveMs: number };
}

/** Flags as the CLI parsed them (all optional). */
export interface ConfigFlags {
  db?: string;
  host?: string;
  port?: string | number;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function integer(
  name: string,
  raw: string | number | undefined,
  fallback: number,
  range: [number, number],
): number {
  if (raw === undefined || raw === '') return fallback;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value) || value < range[0] || value > range[1]) {
    throw new HoldfastError('CONFIG_INVALID', `${name} must be an integer from ${range[0]} to ${range[1]}`);
  }
  return value;
}

/**
 * The WebAuthn Relying Party. Origins (comma-separated) default to the origin of the public URL,
 * else `http://localhost:PORT`: browsers refuse IP addresses as RP IDs, so the development
 * default is `localhost`. The RP ID defaults to the host of the first origin and must be that
 * host or a registrable suffix of it (W3C WebAuthn Level 2 §5.1.3 step 8).
 */
function webAuthnConfig(
  env: NodeJS.ProcessEnv,
  config: Pick<Config, 'publicUrl' | 'port'>,
): WebAuthnSettings {
  const fallback =
    config.publicUrl !== null
      ? config.publicUrl
      : `http://localhost:${config.port === 0 ? 8080 : config.port}`;
  const origins: string[] = [];
  for (const raw of (env.HOLDFAST_WEBAUTHN_ORIGIN ?? fallback).split(',')) {
    const text = raw.trim();
    if (text === '') continue;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new HoldfastError('CONFIG_INVALID', 'HOLDFAST_WEBAUTHN_ORIGIN must list http(s) origins');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new HoldfastError('CONFIG_INVALID', 'HOLDFAST_WEBAUTHN_ORIGIN must list http(s) origins');
    }
    origins.push(url.origin);
  }
  if (origins.length === 0) throw new HoldfastError('CONFIG_INVALID', 'HOLDFAST_WEBAUTHN_ORIGIN is empty');
  const rpId = (env.HOLDFAST_WEBAUTHN_RP_ID ?? new URL(origins[0]!).hostname).trim().toLowerCase();
  for (const origin of origins) {
    const host = new URL(origin).hostname;
    if (host !== rpId && !host.endsWith(`.${rpId}`)) {
      throw new HoldfastError(
        'CONFIG_INVALID',
        'HOLDFAST_WEBAUTHN_RP_ID must be the host of every WebAuthn origin or a suffix of it',
      );
    }
  }
  return { rpId, rpName: env.HOLDFAST_WEBAUTHN_RP_NAME ?? 'Holdfast', origins };
}

/** The metrics token: unset or empty means /metrics is off; a set one must be long enough to resist guessing. */
function metricsToken(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  if (raw.trim().length < 16) {
    throw new HoldfastError('CONFIG_INVALID', 'HOLDFAST_METRICS_TOKEN must be at least 16 characters');
  }
  return raw.trim();
}

/** Builds and validates the configuration from flags and the environment. */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = flags.dataDir ?? env.HOLDFAST_DATA_DIR ?? './data';
  const db = flags.db ?? env.HOLDFAST_DB ?? `sqlite:${join(dataDir, 'holdfast.db')}`;
  const tlsCert = flags.tlsCert ?? env.HOLDFAST_TLS_CERT ?? null;
  const tlsKey = flags.tlsKey ?? env.HOLDFAST_TLS_KEY ?? null;
  if ((tlsCert === null) !== (tlsKey === null)) {
    throw new HoldfastError('CONFIG_INVALID', '--tls-cert and --tls-key must be given together');
  }
  const config: Config = {
    db,
    dbPool: {
      size: integer('HOLDFAST_DB_POOL_SIZE', env.HOLDFAST_DB_POOL_SIZE, 10, [1, 1000]),
      connectTimeoutMs: integer(
        'HOLDFAST_DB_CONNECT_TIMEOUT_MS',
        env.HOLDFAST_DB_CONNECT_TIMEOUT_MS,
        5_000,
        [100, 600_000],
      ),
      statementTimeoutMs: integer(
        'HOLDFAST_DB_STATEMENT_TIMEOUT_MS',
        env.HOLDFAST_DB_STATEMENT_TIMEOUT_MS,
        15_000,
        [100, 3_600_000],
      ),
    },
    host: flags.host ?? env.HOLDFAST_HOST ?? '127.0.0.1',
    port: integer('port', flags.port ?? env.HOLDFAST_PORT, 8080, [0, 65535]),
    dataDir,
    tlsCert,
    tlsKey,
    trustedProxies: (env.HOLDFAST_TRUSTED_PROXIES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    publicUrl: env.HOLDFAST_PUBLIC_URL ?? null,
    logLevel: env.HOLDFAST_LOG_LEVEL ?? 'info',
    sessionIdleMinutes: integer('HOLDFAST_SESSION_IDLE_MINUTES', env.HOLDFAST_SESSION_IDLE_MINUTES, 30, [
      1,
      7 * 24 * 60,
    ]),
    sessionAbsoluteHours: integer(
      'HOLDFAST_SESSION_ABSOLUTE_HOURS',
      env.HOLDFAST_SESSION_ABSOLUTE_HOURS,
      12,
      [1, 30 * 24],
    ),
    passwordMinLength: integer(
      'HOLDFAST_PASSWORD_MIN_LENGTH',
      env.HOLDFAST_PASSWORD_MIN_LENGTH,
      PASSWORD_DEFAULT_MIN_LENGTH,
      [8, 64],
    ),
    argon2: {
      memoryCost: integer(
        'HOLDFAST_ARGON2_MEMORY_KIB',
        env.HOLDFAST_ARGON2_MEMORY_KIB,
        OWASP_ARGON2_MINIMUM.memoryCost,
        [OWASP_ARGON2_MINIMUM.memoryCost, 4 * 1024 * 1024],
      ),
      timeCost: integer(
        'HOLDFAST_ARGON2_TIME_COST',
        env.HOLDFAST_ARGON2_TIME_COST,
        OWASP_ARGON2_MINIMUM.timeCost,
        [OWASP_ARGON2_MINIMUM.timeCost, 100],
      ),
      parallelism: integer('HOLDFAST_ARGON2_PARALLELISM', env.HOLDFAST_ARGON2_PARALLELISM, 1, [1, 16]),
    },
    mfa: {
      ...DEFAULT_MFA_SETTINGS,
      maxFactors: integer(
        'HOLDFAST_MAX_FACTORS',
        env.HOLDFAST_MAX_FACTORS,
        DEFAULT_MFA_SETTINGS.maxFactors,
        [1, 32],
      ),
      // Step-up age can only be tightened, never loosened beyond 15 minutes.
      stepUpMaxAgeMs:
        integer('HOLDFAST_STEP_UP_MAX_AGE_MINUTES', env.HOLDFAST_STEP_UP_MAX_AGE_MINUTES, 15, [1, 15]) *
        60_000,
      issuer: env.HOLDFAST_TOTP_ISSUER ?? null,
      verify: {
        ...DEFAULT_MFA_SETTINGS.verify,
        totpWindow: integer(
          'HOLDFAST_TOTP_WINDOW',
          env.HOLDFAST_TOTP_WINDOW,
          DEFAULT_MFA_SETTINGS.verify.totpWindow,
          [0, 10],
        ),
        hotpLookAhead: integer(
          'HOLDFAST_HOTP_LOOKAHEAD',
          env.HOLDFAST_HOTP_LOOKAHEAD,
          DEFAULT_MFA_SETTINGS.verify.hotpLookAhead,
          [0, 100],
        ),
      },
    },
    webauthn: { rpId: '', rpName: 'Holdfast', origins: [] },
    masterKey: env.HOLDFAST_MASTER_KEY,
    delivery: loadDeliveryConfig(env),
    metricsToken: metricsToken(env.HOLDFAST_METRICS_TOKEN),
    timeouts: {
      requestMs:
        integer('HOLDFAST_REQUEST_TIMEOUT_SECONDS', env.HOLDFAST_REQUEST_TIMEOUT_SECONDS, 30, [1, 600]) *
        1000,
      headersMs:
        integer('HOLDFAST_HEADERS_TIMEOUT_SECONDS', env.HOLDFAST_HEADERS_TIMEOUT_SECONDS, 10, [1, 600]) *
        1000,
      idleMs:
        integer('HOLDFAST_IDLE_TIMEOUT_SECONDS', env.HOLDFAST_IDLE_TIMEOUT_SECONDS, 60, [1, 3600]) * 1000,
      keepAliveMs:
        integer(
          'HOLDFAST_KEEP_ALIVE_TIMEOUT_SECONDS',
          env.HOLDFAST_KEEP_ALIVE_TIMEOUT_SECONDS,
          10,
          [1, 600],
        ) * 1000,
    },
  };
  config.webauthn = webAuthnConfig(env, config);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    throw new HoldfastError(
      'CONFIG_INVALID',
      'HOLDFAST_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    );
  }
  return config;
}
