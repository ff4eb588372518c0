/**
 * Settings shapes and their defaults, shared by the configuration loader (config/), the use
 * cases (app/) and the adapters (platform/) without any of them importing another.
 */

import type { VerifySettings } from './factors/factor.js';

/** Second-factor settings. */
export interface MfaSettings {
  /** Most factors one principal may hold, pending included (default 8). */
  maxFactors: number;
  /** Lifetime of a pending factor (default 10 minutes). */
  pendingTtlMs: number;
  /** Wrong codes a pending factor survives (default 5). */
  pendingMaxAttempts: number;
  /** How recent the MFA of a session must be for removal, resync, regeneration (default 15 minutes). */
  stepUpMaxAgeMs: number;
  /** Consecutive failures after which second-factor sign-in is suspended (NIST SP 800-63B §5.2.2: 100). */
  suspendAfterFailures: number;
  /** Issuer in otpauth URIs; null: the account name. */
  issuer: string | null;
  verify: VerifySettings;
}

/** The WebAuthn Relying Party (W3C WebAuthn Level 2 §5.1.3, §13.4.9: origins are checked exactly). */
export interface WebAuthnSettings {
  /** RP ID: a registrable domain suffix of the origins (`localhost` in development). */
  rpId: string;
  /** Shown by authenticators. */
  rpName: string;
  /** Exact origins browsers may report, e.g. `https://id.example.com`. */
  origins: string[];
}

/** The Relying Party of a server on `http://localhost:8080` (Chromium refuses 127.0.0.1 as RP ID). */
export const DEFAULT_WEBAUTHN_SETTINGS: WebAuthnSettings = {
  rpId: 'localhost',
  rpName: 'Holdfast',
  origins: ['http://localhost:8080'],
};

/** Default second-factor settings. */
export const DEFAULT_MFA_SETTINGS: MfaSettings = {
  maxFactors: 8,
  pendingTtlMs: 10 * 60_000,
  pendingMaxAttempts: 5,
  stepUpMaxAgeMs: 15 * 60_000,
  suspendAfterFailures: 100,
  issuer: null,
  verify: { totpWindow: 1, hotpLookAhead: 10, totpResyncWindow: 20, hotpResyncWindow: 100 },
};

/** argon2id parameters. */
export interface Argon2Params {
  /** Memory in KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2_MINIMUM: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** SMTP settings (HOLDFAST_SMTP_*). */
export interface SmtpConfig {
  host: string;
  port: number;
  tls: 'implicit' | 'starttls' | 'none';
  user: string | null;
  password: string | null;
  from: string;
  /** Verify the server certificate (default true; off only for private test relays). */
  rejectUnauthorized: boolean;
}

/** SMS provider settings (HOLDFAST_SMS_*). */
export type SmsConfig =
  | { provider: 'twilio'; baseUrl: string; accountSid: string; authToken: string; from: string }
  | { provider: 'webhook'; url: string; secret: string };
