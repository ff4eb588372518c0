import { MIN_OTP_SECRET_BYTES } from '../core/factors/otp/key-uri.js';
import { HoldfastError, isHoldfastError } from '../core/errors.js';
import type { Factor, OTPParams } from '../core/factors/factor.js';
import type { HardwareToken, HardwareTokenState } from '../core/factors/hardware-token/inventory.js';
import type { OTPDigits } from '../core/factors/otp/hotp.js';
import type { PSKCToken } from '../core/factors/pskc/parse-pskc.js';
import { resolveFactorDriver } from '../core/factors/registry.js';
import { StorageConflict, type Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, notifyPrincipal, writeAudit, type AppDeps } from './deps.js';
import { factorSecretContext } from './factor-secrets.js';
import { endDerivedFromFactor, onFactorLoss, parseFactorName } from './factors.js';
import { requireRecentMFA } from './mfa.js';
import { requireUser } from './users.js';

/** Every inventory state, for validating filters and flags. */
export const HARDWARE_TOKEN_STATES: readonly HardwareTokenState[] = [
  'unassigned',
  'assigned',
  'lost',
  'retired',
];

/** States an admin may set by hand ('assigned' comes only from assignHardwareToken). */
export type SettableHardwareTokenState = Exclude<HardwareTokenState, 'assigned'>;

/**
 * The inventory state machine for hand-set states. A token found again goes from lost back to
 * unassigned; retired is final. An assigned token is released by removing its factor
 * (DELETE /v1/users/{id}/factors/{factorId}), never by overwriting its state.
 */
const STATE_TRANSITIONS: Readonly<Record<HardwareTokenState, ReadonlySet<SettableHardwareTokenState>>> = {
  unassigned: new Set(['lost', 'retired']),
  assigned: new Set(['lost', 'retired']),
  lost: new Set(['unassigned', 'retired']),
  retired: new Set(),
};

/** Rows sealed and inserted per step of an import; progress is reported after each. */
const IMPORT_CHUNK = 500;

/** How many serials an import result lists (the inventory has them all). */
const IMPORT_SERIALS_SHOWN = 5;

/** Column widths of hardware_tokens (PostgreSQL enforces them; SQLite would not). */
const MAX_SERIAL_LENGTH = 128;
const MAX_LABEL_LENGTH = 128;

/** Longest pre-shared key accepted, in bytes (AES-256 needs 32; anything longer is a mistake). */
const MAX_PRE_SHARED_KEY_BYTES = 64;

/** The context (AAD) an inventory token's seed is sealed under; src/storage/sealed-values.ts rotates it. */
export function hardwareTokenSecretContext(tokenId: string): string {
  return `hwtoken:${tokenId}`;
}

/** A hardware token as every face shows it: everything but the sealed seed. */
export interface HardwareTokenView {
  id: string;
  accountId: string;
  serial: string;
  manufacturer: string | null;
  model: string | null;
  mode: OTPParams['mode'];
  algorithm: OTPParams['algorithm'];
  digits: OTPParams['digits'];
  /** TOTP time step in seconds; null for HOTP tokens. */
  period: number | null;
  state: HardwareTokenState;
  /** The user holding the token (assigned), or who held it when it was lost or retired. */
  principalId: string | null;
  factorId: string | null;
  importId: string;
  importedAt: number;
  updatedAt: number;
}

/** Shapes a token for display, field by field, so no future secret column can slip through. */
export function hardwareTokenView(token: HardwareToken): HardwareTokenView {
  return {
    id: token.id,
    accountId: token.accountId,
    serial: token.serial,
    manufacturer: token.manufacturer,
    model: token.model,
    mode: token.params.mode,
    algorithm: token.params.algorithm,
    digits: token.params.digits,
    period: token.params.mode === 'totp' ? token.params.period : null,
    state: token.state,
    principalId: token.principalId,
    factorId: token.factorId,
    importId: token.importId,
    importedAt: token.importedAt,
    updatedAt: token.updatedAt,
  };
}

/** Result of an import: how many tokens went into the inventory, and the first few serials. */
export interface HardwareTokenImport {
  importId: string;
  imported: number;
  serials: string[];
}

/**
 * Parses a pre-shared key given as hex (RFC 6030 §6.1 keys travel out of band, usually as hex);
 * whitespace and colons are ignored. Throws REQUEST_INVALID for anything else.
 */
export function parsePreSharedKeyHex(text: string): Uint8Array {
  const compact = text.replace(/[\s:]/g, '');
  if (
    compact.length === 0 ||
    compact.length % 2 !== 0 ||
    compact.length > MAX_PRE_SHARED_KEY_BYTES * 2 ||
    !/^[0-9a-fA-F]+$/.test(compact)
  ) {
    throw new HoldfastError('REQUEST_INVALID', 'the pre-shared key must be an even number of hex digits');
  }
  return Uint8Array.from(Buffer.from(compact, 'hex'));
}

function hasControlCharacters(text: string): boolean {
  return /\p{Cc}/u.test(text);
}

/** Checks what the file says beyond what the parser checks: lengths the columns hold, printable text. */
function assertStorable(tokens: readonly PSKCToken[]): void {
  tokens.forEach((token, keyPackageIndex) => {
    const labels = [token.manufacturer, token.model].filter((v): v is string => v !== null);
    if (
      token.serial.length > MAX_SERIAL_LENGTH ||
      hasControlCharacters(token.serial) ||
      labels.some((v) => v.length > MAX_LABEL_LENGTH || hasControlCharacters(v))
    ) {
      throw new HoldfastError(
        'PSKC_UNSUPPORTED',
        `KeyPackage[${keyPackageIndex}]: the serial number, manufacturer or model is longer than ${MAX_SERIAL_LENGTH} characters or not printable.`,
        { details: { keyPackageIndex } },
      );
    }
    // RFC 4226 §4 (R6): the shared secret is at least 128 bits.
    if (token.secret.length < MIN_OTP_SECRET_BYTES) {
      throw new HoldfastError(
        'PSKC_UNSUPPORTED',
        `KeyPackage[${keyPackageIndex}]: the secret is shorter than 128 bits.`,
        {
          details: { keyPackageIndex },
        },
      );
    }
  });
}

/** Refuses a file that names one serial twice: which of the two seeds is right cannot be known. */
function assertUniqueSerials(tokens: readonly PSKCToken[]): void {
  const seen = new Set<string>();
  for (const token of tokens) {
    if (seen.has(token.serial)) {
      throw new HoldfastError(
        'HARDWARE_TOKEN_SERIAL_TAKEN',
        `The file holds serial ${token.serial} more than once; nothing was imported.`,
        { details: { serial: token.serial } },
      );
    }
    seen.add(token.serial);
  }
}

function paramsOf(token: PSKCToken): OTPParams {
  return {
    mode: token.algorithm === 'TOTP' ? 'totp' : 'hotp',
    algorithm: token.hashAlgorithm,
    digits: token.digits as OTPDigits,
    period: token.period ?? 30,
    initialCounter: token.counter ?? 0,
  };
}

/** "ACME: 9000, Other: 1000": how many tokens of each manufacturer (never a seed). */
function manufacturerSummary(tokens: readonly PSKCToken[]): string[] {
  const counts = new Map<string, number>();
  for (const token of tokens) {
    const name = token.manufacturer ?? '(unknown)';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 20)
    .map(([name, count]) => `${name}: ${count}`);
}

/** One inventory row of an imported token: its seed sealed under the row's id at once. */
function inventoryRow(
  deps: AppDeps,
  input: { token: PSKCToken; accountId: string; importId: string; now: number },
): HardwareToken {
  const { token, now } = input;
  const id = newId(deps, 'hwt_');
  return {
    id,
    accountId: input.accountId,
    serial: token.serial,
    manufacturer: token.manufacturer,
    model: token.model,
    params: paramsOf(token),
    secretSealed: deps.secretBox.seal(token.secret, hardwareTokenSecretContext(id)),
    state: 'unassigned',
    principalId: null,
    factorId: null,
    importId: input.importId,
    importedAt: now,
    updatedAt: now,
  };
}

/**
 * The one failure record of a refused file (a PSKC error or a serial already held), with the key
 * package index when there is one. An infrastructure failure is the server log's business.
 */
async function auditImportRefusal(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; importId: string; err: unknown },
): Promise<void> {
  const { err, importId } = input;
  if (
    !isHoldfastError(err) ||
    !(err.code.startsWith('PSKC_') || err.code === 'HARDWARE_TOKEN_SERIAL_TAKEN')
  ) {
    return;
  }
  const index = err.details?.keyPackageIndex;
  await deps.store.transaction((tx) =>
    writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: input.accountId,
        action: 'hardware_token.import',
        target: importId,
        outcome: 'failure',
        errorCode: err.code,
        details: { importId, ...(typeof index === 'number' ? { keyPackageIndex: index } : {}) },
      },
    }),
  );
}

/**
 * Imports hardware OTP tokens from a PSKC file (RFC 6030), plain or encrypted with a pre-shared
 * key (§6.1). All or nothing: a bad key package, a serial the file names twice, or a serial
 * the inventory already holds fails the whole file. Seeds are sealed under the master key at
 * once and never shown again; the audit record carries counts, never a seed. A failed import
 * writes one failure record with the error code (and the key package index, when there is one).
 */
export async function importHardwareTokens(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    pskcXml: string;
    preSharedKey?: Uint8Array;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<HardwareTokenImport> {
  const { accountId } = input;
  await authorize(deps, input.actor, ACTIONS.ImportHardwareTokens, { accountId }, input.ctx);
  const importId = newId(deps, 'imp_');
  let tokens: PSKCToken[] = [];
  try {
    // Off the event loop (a worker thread in the installation): parsing is CPU-bound.
    tokens = (
      await deps.parsePSKC({
        xml: input.pskcXml,
        ...(input.preSharedKey === undefined ? {} : { preSharedKey: input.preSharedKey }),
      })
    ).tokens;
    assertStorable(tokens);
    assertUniqueSerials(tokens);
    const total = tokens.length;
    input.onProgress?.(0, total);
    const now = deps.clock.now();
    await deps.store.transaction(async (tx) => {
      const taken = await tx.hardwareTokens.existingSerials(
        accountId,
        tokens.map((t) => t.serial),
      );
      if (taken.length > 0) {
        throw new HoldfastError(
          'HARDWARE_TOKEN_SERIAL_TAKEN',
          `The inventory already holds ${taken.length} of these serials (first: ${taken[0]}); nothing was imported.`,
          { details: { serial: taken[0]!, taken: taken.length } },
        );
      }
      for (let start = 0; start < total; start += IMPORT_CHUNK) {
        const rows = tokens
          .slice(start, start + IMPORT_CHUNK)
          .map((token) => inventoryRow(deps, { token, accountId, importId, now }));
        await tx.hardwareTokens.insertMany(rows);
        input.onProgress?.(Math.min(start + IMPORT_CHUNK, total), total);
      }
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId,
          action: 'hardware_token.import',
          target: importId,
          details: {
            importId,
            count: total,
            preSharedKeyGiven: input.preSharedKey !== undefined,
            manufacturers: manufacturerSummary(tokens),
          },
        },
      });
    });
  } catch (caught) {
    // A serial imported concurrently by someone else surfaces as the unique constraint.
    const err =
      caught instanceof StorageConflict
        ? new HoldfastError('HARDWARE_TOKEN_SERIAL_TAKEN', undefined, { cause: caught })
        : caught;
    await auditImportRefusal(deps, { actor: input.actor, ctx: input.ctx, accountId, importId, err });
    throw err;
  } finally {
    for (const token of tokens) token.secret.fill(0);
  }
  return {
    importId,
    imported: tokens.length,
    serials: tokens.slice(0, IMPORT_SERIALS_SHOWN).map((t) => t.serial),
  };
}

/** Lists an account's hardware token inventory, optionally in one state; never a seed. */
export async function listHardwareTokens(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx?: RequestContext;
    accountId: string;
    state?: HardwareTokenState;
    afterSerial?: string;
    limit?: number;
  },
): Promise<HardwareTokenView[]> {
  await authorize(deps, input.actor, ACTIONS.ListHardwareTokens, { accountId: input.accountId }, input.ctx);
  if (input.state !== undefined && !HARDWARE_TOKEN_STATES.includes(input.state)) {
    throw new HoldfastError('REQUEST_INVALID', `state must be one of ${HARDWARE_TOKEN_STATES.join(', ')}`);
  }
  if (input.limit !== undefined && (!Number.isInteger(input.limit) || input.limit < 1)) {
    throw new HoldfastError('REQUEST_INVALID', 'limit must be a positive integer');
  }
  const tokens = await deps.store.hardwareTokens.list(input.accountId, {
    ...(input.state === undefined ? {} : { state: input.state }),
    ...(input.afterSerial === undefined ? {} : { afterSerial: input.afterSerial }),
    ...(input.limit === undefined ? {} : { limit: input.limit }),
  });
  return tokens.map(hardwareTokenView);
}

async function requireToken(deps: AppDeps, accountId: string, serial: string): Promise<HardwareToken> {
  const token = await deps.store.hardwareTokens.findBySerial(accountId, serial);
  if (token === null) throw new HoldfastError('HARDWARE_TOKEN_NOT_FOUND');
  return token;
}

/**
 * Re-reads a token inside the transaction that changes it, holding it until commit, so two
 * changes to one token are serialised and the second sees the first: one token never ends up
 * bound to two factors.
 */
async function lockedToken(tx: Repositories, token: HardwareToken): Promise<HardwareToken> {
  const current = await tx.hardwareTokens.findByIdForUpdate(token.accountId, token.id);
  if (current === null) throw new HoldfastError('HARDWARE_TOKEN_NOT_FOUND');
  return current;
}

/** The default factor name of an assigned token (factor names hold at most 64 characters). */
function defaultTokenName(serial: string): string {
  return `Token ${serial}`.slice(0, 64);
}

/**
 * The pending, admin-provisioned factor of an assigned token: the token's seed resealed under
 * the new factor's id (the plaintext wiped at once), no creating session and no expiry.
 */
function newAssignedFactor(
  deps: AppDeps,
  input: { token: HardwareToken; target: Principal; name: string; now: number },
): Factor {
  const { token, target, now } = input;
  const factorId = newId(deps, 'mfa_');
  const seed = deps.secretBox.open(token.secretSealed, hardwareTokenSecretContext(token.id));
  let secretSealed: string;
  try {
    secretSealed = deps.secretBox.seal(seed, factorSecretContext(factorId));
  } finally {
    seed.fill(0);
  }
  return {
    id: factorId,
    accountId: token.accountId,
    principalId: target.id,
    kind: 'hardware_token',
    name: input.name,
    status: 'pending',
    assurance: resolveFactorDriver('hardware_token').assurance({ adminProvisioned: true }),
    adminProvisioned: true,
    hardwareTokenId: token.id,
    secretSealed,
    params: token.params,
    lastCounter: null,
    driftSteps: 0,
    failedAttempts: 0,
    createdAt: now,
    enabledAt: null,
    lastUsedAt: null,
    // Admin-assigned: no creating session, no expiry (enableFactor accepts the user or an admin).
    pendingSessionId: null,
    pendingExpiresAt: null,
    pendingAttempts: 0,
  };
}

/**
 * Assigns an unassigned token to a user: a pending, admin-provisioned factor that the user
 * (in their own session) or an admin holding the token enables with two consecutive codes.
 * It does not expire, and its user can neither remove nor replace it (MISSION.md failure 5).
 */
export async function assignHardwareToken(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    serial: string;
    userRef: string;
    name?: string;
  },
): Promise<{ token: HardwareTokenView; factor: Factor }> {
  const { accountId } = input;
  // Checked without a target first, so callers without the action learn nothing about users.
  await authorize(deps, input.actor, ACTIONS.AssignHardwareToken, { accountId }, input.ctx);
  const target = await requireUser(deps, accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.AssignHardwareToken,
    { accountId, principal: target },
    input.ctx,
  );
  const name = parseFactorName(input.name ?? defaultTokenName(input.serial.trim()));
  const token = await requireToken(deps, accountId, input.serial);
  if (token.state !== 'unassigned') throw new HoldfastError('HARDWARE_TOKEN_UNAVAILABLE');

  const now = deps.clock.now();
  const factor = newAssignedFactor(deps, { token, target, name, now });
  const factorId = factor.id;
  const assigned: HardwareToken = {
    ...token,
    state: 'assigned',
    principalId: target.id,
    factorId,
    updatedAt: now,
  };
  try {
    await deps.store.transaction(async (tx) => {
      await writeAudit(deps, tx, {
        actor: input.actor,
        ctx: input.ctx,
        fact: {
          accountId,
          action: 'hardware_token.assign',
          target: token.id,
          details: { serial: token.serial, principalId: target.id, factorId, name },
        },
      });
      if ((await lockedToken(tx, token)).state !== 'unassigned') {
        throw new HoldfastError('HARDWARE_TOKEN_UNAVAILABLE');
      }
      await tx.factors.deleteExpiredPending({ accountId, principalId: target.id, now });
      const existing = await tx.factors.listByPrincipal(accountId, target.id);
      if (existing.length >= deps.settings.mfa.maxFactors) throw new HoldfastError('FACTOR_LIMIT_REACHED');
      if (existing.some((f) => f.name === name)) throw new HoldfastError('FACTOR_NAME_TAKEN');
      await tx.factors.insert(factor);
      await tx.hardwareTokens.update(assigned);
      await notifyPrincipal(deps, tx, {
        accountId,
        principalId: target.id,
        template: 'factor.assigned',
        payload: { factorName: name, kind: 'hardware_token', serial: token.serial },
      });
    });
  } catch (err) {
    if (err instanceof StorageConflict) throw new HoldfastError('FACTOR_NAME_TAKEN');
    throw err;
  }
  return { token: hardwareTokenView(assigned), factor };
}

/**
 * Sets a token's inventory state by hand. Marking an assigned token lost or retired deletes its
 * factor (pending or enabled) in the same transaction and tells the user; deleting an enabled
 * factor needs a recent MFA of a signed-in admin, as removing it directly does.
 */
export async function setHardwareTokenState(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    serial: string;
    state: SettableHardwareTokenState;
  },
): Promise<HardwareTokenView> {
  const { accountId, state } = input;
  await authorize(deps, input.actor, ACTIONS.UpdateHardwareTokenState, { accountId }, input.ctx);
  if (!(['unassigned', 'lost', 'retired'] as const).includes(state)) {
    throw new HoldfastError('REQUEST_INVALID', 'state must be unassigned, lost or retired');
  }
  const token = await requireToken(deps, accountId, input.serial);
  if (!STATE_TRANSITIONS[token.state].has(state)) throw new HoldfastError('HARDWARE_TOKEN_UNAVAILABLE');
  const bound = token.factorId === null ? null : await deps.store.factors.findById(accountId, token.factorId);
  if (bound !== null) {
    // Help desk and admins act only on the roles they may target (an admin cannot strip an owner).
    const holder = await deps.store.principals.findById(accountId, bound.principalId);
    if (holder !== null) {
      await authorize(
        deps,
        input.actor,
        ACTIONS.UpdateHardwareTokenState,
        { accountId, principal: holder },
        input.ctx,
      );
    }
    if (bound.status === 'enabled' && input.actor.kind === 'principal') {
      await requireRecentMFA(deps, input.actor.session);
    }
  }
  const now = deps.clock.now();
  const updated: HardwareToken = {
    ...token,
    state,
    // Lost and retired tokens remember who held them last; a token back in stock has no holder.
    principalId: state === 'unassigned' ? null : token.principalId,
    factorId: null,
    updatedAt: now,
  };
  await deps.store.transaction(async (tx) => {
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId,
        action: 'hardware_token.state',
        target: token.id,
        details: {
          serial: token.serial,
          from: token.state,
          to: state,
          removedFactorId: bound?.id ?? null,
        },
      },
    });
    const current = await lockedToken(tx, token);
    if (current.state !== token.state || current.factorId !== token.factorId) {
      throw new HoldfastError('HARDWARE_TOKEN_UNAVAILABLE', 'the token changed meanwhile; retry');
    }
    if (bound !== null) {
      await tx.factors.delete(bound.id);
      await notifyPrincipal(deps, tx, {
        accountId,
        principalId: bound.principalId,
        template: 'factor.removed',
        payload: { factorName: bound.name, byAdmin: true, tokenState: state },
      });
      const holder = await tx.principals.findById(accountId, bound.principalId);
      if (bound.status === 'enabled') {
        // Whoever signed in with the token (a finder of a lost one) keeps nothing.
        await endDerivedFromFactor(deps, tx, { actor: input.actor, ctx: input.ctx, factor: bound });
      }
      if (bound.status === 'enabled' && holder !== null) {
        await onFactorLoss(deps, tx, { actor: input.actor, ctx: input.ctx, target: holder });
      }
    }
    await tx.hardwareTokens.update(updated);
  });
  return hardwareTokenView(updated);
}

/** A token as the API and the CLI show it, field by field: never its seed. */
export function hardwareTokenJSON(t: HardwareTokenView) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: t.id,
    serial: t.serial,
    manufacturer: t.manufacturer,
    model: t.model,
    mode: t.mode,
    algorithm: t.algorithm,
    digits: t.digits,
    period: t.period,
    state: t.state,
    userId: t.principalId,
    factorId: t.factorId,
    importId: t.importId,
    importedAt: iso(t.importedAt),
    updatedAt: iso(t.updatedAt),
  };
}
