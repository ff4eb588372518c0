/**
 * Shared pieces of contacts, recovery, the help-desk reset and alerts: one-time tokens and codes
 * (stored only as hashes), messages queued in the outbox in the caller's transaction (a secret a
 * message must carry is sealed under the master key and dropped once delivered), and settings.
 */

import { HoldfastError } from '../core/errors.js';
import { parseAlertSettings, type AlertSettings } from '../core/alerts/rules.js';
import type { OutboxMessage, Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import type { ThrottlePolicy } from '../core/throttle.js';
import { parseRecoverySettings, type RecoverySettings } from '../core/recovery/policy.js';
import type { Contact, ContactKind, VerificationPurpose, VerificationToken } from '../core/recovery/types.js';
import { randomString } from '../core/random.js';
import { sourceKeyOf } from '../core/policy/ip-address.js';
import { constantTimeEqual, hmacBase64url, sha256Hex } from '../core/crypto/hashing.js';
import { newId, type AppDeps } from './deps.js';

/** Prefix of verification link tokens (recognisable by secret scanners). */
export const LINK_TOKEN_PREFIX = 'hfv_';
/** Lifetime of a link sent by e-mail (RFC-style one-time link; NIST SP 800-63B §5.1.3.1 asks for short-lived out-of-band secrets). */
export const LINK_TTL_MS = 24 * 3_600_000;
/** Lifetime of a code sent to a phone (NIST SP 800-63B §5.1.3.1: out-of-band secrets live at most 10 minutes). */
export const CODE_TTL_MS = 10 * 60_000;
/** Wrong codes one code survives. */
export const CODE_MAX_ATTEMPTS = 5;

/**
 * Limits on the public recovery and password-reset starts: each sends mail and SMS, so a
 * principal gets 5 an hour and a source network 50 an hour before a doubling delay. The
 * per-login limit is keyed on the resolved principal, never on the strings as typed (the account
 * id or name, case and whitespace, e-mail or user name are one budget); a login that resolves to
 * nobody gets a budget of its normalised string, shaped the same, so the limit reveals nothing.
 */
export const RECOVERY_START_THROTTLE: ThrottlePolicy = {
  freeFailures: 5,
  baseDelayMs: 60_000,
  maxDelayMs: 3_600_000,
  windowMs: 3_600_000,
};

/** Texts (SMS) with a recovery code one principal can be sent per day, whoever asks. */
export const SMS_SENDS_PER_DAY = 5;
const SMS_DAILY: ThrottlePolicy = {
  freeFailures: SMS_SENDS_PER_DAY - 1,
  baseDelayMs: 24 * 3_600_000,
  maxDelayMs: 24 * 3_600_000,
  windowMs: 24 * 3_600_000,
};

/**
 * Counts one public recovery start against the source network (first: a source over its limit
 * creates no per-login row) and the resolved principal; refuses when over the limit.
 */
export async function countRecoveryStart(
  deps: AppDeps,
  input: {
    kind: string;
    account: string;
    login: string;
    sourceIp: string | null;
    /** The account and principal the strings resolved to, if any. */
    resolved: { accountId: string | null; principalId: string | null };
  },
): Promise<void> {
  const now = deps.clock.now();
  const { accountId, principalId } = input.resolved;
  const loginKey =
    principalId !== null
      ? `${input.kind}:principal:${principalId}`
      : `${input.kind}:login:${sha256Hex(
          `${accountId ?? `?${input.account.trim().toLowerCase()}`}\n${input.login.trim().toLowerCase()}`,
        )}`;
  const keys = [
    {
      key: `${input.kind}:ip:${sourceKeyOf(input.sourceIp)}`,
      policy: { ...RECOVERY_START_THROTTLE, freeFailures: 50 },
    },
    { key: loginKey, policy: RECOVERY_START_THROTTLE },
  ];
  for (const { key, policy } of keys) {
    const hit = await deps.store.throttle.hit({ key, policy, now });
    if (!hit.allowed) {
      throw new HoldfastError('AUTH_THROTTLED', 'too many recovery requests; retry later', {
        details: { retryAfterSeconds: Math.ceil(hit.waitMs / 1000) },
      });
    }
  }
}

/**
 * Counts one text (SMS) with a code to a principal, inside the caller's transaction: false when
 * the principal already got {@link SMS_SENDS_PER_DAY} today (the start then sends nothing).
 */
export async function countSmsSend(deps: AppDeps, tx: Repositories, principalId: string): Promise<boolean> {
  const hit = await tx.throttle.hit({
    key: `sms:principal:${principalId}`,
    policy: SMS_DAILY,
    now: deps.clock.now(),
  });
  return hit.allowed;
}

/** The context (AAD) a message secret is sealed under: bound to its message. */
export function messageSecretContext(messageId: string): string {
  return `outbox:${messageId}`;
}

/** Issues a one-time link token; returns the token (only its SHA-256 is stored). */
export async function issueLinkToken(
  deps: AppDeps,
  tx: Repositories,
  input: { principal: Principal; purpose: VerificationPurpose; subjectId: string; ttlMs?: number },
): Promise<{ token: string; record: VerificationToken }> {
  const token = LINK_TOKEN_PREFIX + Buffer.from(deps.random.bytes(32)).toString('base64url');
  const now = deps.clock.now();
  const record: VerificationToken = {
    id: newId(deps, 'vtk_'),
    tokenHash: sha256Hex(token),
    accountId: input.principal.accountId,
    principalId: input.principal.id,
    purpose: input.purpose,
    subjectId: input.subjectId,
    createdAt: now,
    expiresAt: now + (input.ttlMs ?? LINK_TTL_MS),
    usedAt: null,
    attempts: 0,
  };
  await tx.recovery.insertToken(record);
  return { token, record };
}

function codeHash(deps: Pick<AppDeps, 'pepper'>, tokenId: string, code: string): string {
  // Six digits are guessable offline from a plain hash: the keyed hash needs the pepper too.
  return sha256Hex(hmacBase64url(deps.pepper, `verification-code:${tokenId}:${code}`));
}

/** Issues a six-digit code for a subject (replacing earlier ones); returns the code. */
export async function issueCode(
  deps: AppDeps,
  tx: Repositories,
  input: { principal: Principal; purpose: VerificationPurpose; subjectId: string },
): Promise<string> {
  const now = deps.clock.now();
  await tx.recovery.revokeTokens({ purpose: input.purpose, subjectId: input.subjectId, now });
  const code = randomString(deps.random, '0123456789', 6);
  const id = newId(deps, 'vtk_');
  await tx.recovery.insertToken({
    id,
    tokenHash: codeHash(deps, id, code),
    accountId: input.principal.accountId,
    principalId: input.principal.id,
    purpose: input.purpose,
    subjectId: input.subjectId,
    createdAt: now,
    expiresAt: now + CODE_TTL_MS,
    usedAt: null,
    attempts: 0,
  });
  return code;
}

/** Checks a code against the live one of a subject in constant time; a wrong code counts an attempt. */
export async function checkCode(
  deps: AppDeps,
  tx: Repositories,
  input: { purpose: VerificationPurpose; subjectId: string; code: string },
): Promise<boolean> {
  const now = deps.clock.now();
  const live = await tx.recovery.findLiveToken({ purpose: input.purpose, subjectId: input.subjectId, now });
  if (live === null || live.attempts >= CODE_MAX_ATTEMPTS) return false;
  const ok = constantTimeEqual(codeHash(deps, live.id, input.code.trim()), live.tokenHash);
  if (!ok) {
    await tx.recovery.recordTokenFailure(live.id);
    return false;
  }
  return tx.recovery.consumeToken({ id: live.id, now });
}

/** Finds a live link token of a purpose by its plaintext (looked up by hash). */
export async function findLinkToken(
  deps: AppDeps,
  tx: Repositories,
  input: { token: string; purposes: readonly VerificationPurpose[] },
): Promise<VerificationToken | null> {
  if (!input.token.startsWith(LINK_TOKEN_PREFIX)) return null;
  const found = await tx.recovery.findTokenByHash(sha256Hex(input.token));
  if (found === null || !input.purposes.includes(found.purpose)) return null;
  if (found.usedAt !== null || found.expiresAt <= deps.clock.now()) return null;
  return found;
}

/** Queues a message; `secret` (a link token, code or grant) is sealed and dropped after delivery. */
export async function queueMessage(
  deps: AppDeps,
  tx: Repositories,
  input: {
    accountId: string;
    principalId: string | null;
    channel: OutboxMessage['channel'];
    template: string;
    payload?: OutboxMessage['payload'];
    recipient?: string | null;
    secret?: string;
  },
): Promise<string> {
  const id = newId(deps, 'msg_');
  const payload: OutboxMessage['payload'] = { ...(input.payload ?? {}) };
  if (input.secret !== undefined) {
    payload.sealedSecret = deps.secretBox.seal(Buffer.from(input.secret), messageSecretContext(id));
  }
  await tx.outbox.insert({
    id,
    accountId: input.accountId,
    principalId: input.principalId,
    channel: input.channel,
    template: input.template,
    payload,
    createdAt: deps.clock.now(),
    recipient: input.recipient ?? null,
  });
  return id;
}

/** The verified contact of a kind, or null. */
export async function verifiedContact(
  tx: Pick<Repositories, 'recovery'>,
  principal: Principal,
  kind: ContactKind,
): Promise<Contact | null> {
  const contacts = await tx.recovery.listContacts(principal.accountId, principal.id);
  return contacts.find((c) => c.kind === kind && c.status === 'verified') ?? null;
}

/** Where e-mail to a principal goes: the verified address, else the address on file. */
export async function emailAddressOf(
  tx: Pick<Repositories, 'recovery'>,
  principal: Principal,
): Promise<string> {
  return (await verifiedContact(tx, principal, 'email'))?.address ?? principal.email;
}

/** The account's recovery settings (validated when stored). */
export async function recoverySettingsOf(
  tx: Pick<Repositories, 'recovery'>,
  accountId: string,
): Promise<RecoverySettings & AlertSettings> {
  const raw = await tx.recovery.getSettings(accountId);
  return { ...parseRecoverySettings(raw), ...parseAlertSettings(raw) };
}

/** Active owners and admins of an account. */
export async function adminsOf(
  tx: Pick<Repositories, 'principals'>,
  accountId: string,
): Promise<Principal[]> {
  // Not a scan of the account's users: an account may hold a million of them.
  return tx.principals.listActiveAdmins(accountId);
}

/** Normalises and checks an address: e-mail (lower-case) or E.164 phone. */
export function normaliseAddress(kind: ContactKind, raw: string): string {
  const value = raw.trim();
  if (kind === 'email') {
    const email = value.toLowerCase();
    if (email.length > 254 || !/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(email)) {
      throw new HoldfastError('CONTACT_INVALID');
    }
    return email;
  }
  // ITU-T E.164: a leading +, a country code, at most 15 digits in all.
  const phone = value.replace(/[\s().-]/g, '');
  if (!/^\+[1-9]\d{6,14}$/.test(phone)) throw new HoldfastError('CONTACT_INVALID');
  return phone;
}

/** An address shown in audit records and notices: enough to recognise, not to harvest. */
export function maskAddress(address: string): string {
  if (address.includes('@')) {
    const [local, domain] = address.split('@') as [string, string];
    return `${local.slice(0, 1)}***@${domain}`;
  }
  return `${address.slice(0, 3)}***${address.slice(-2)}`;
}
