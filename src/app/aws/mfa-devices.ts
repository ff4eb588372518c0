/**
 * IAM's view of second factors: MFA devices named by serial number. A virtual device created
 * through IAM has the serial `arn:aws:iam::ACCOUNT:mfa{Path}{Name}` (stored with its factor); a
 * hardware token has its vendor serial from the inventory; any other code-taking factor is shown
 * as `arn:aws:iam::ACCOUNT:mfa/{UserName}/{FactorId}`. Every change goes through the factor use
 * cases (factors.ts), so the guardrails apply exactly as on the JSON API: a pending device belongs
 * to the credential that created it (G3), removal needs a recent MFA (G1), and so on.
 */

import type { AwsMfaDevice } from '../../core/access-keys/credentials.js';
import { HoldfastError } from '../../core/errors.js';
import type { Factor } from '../../core/factors/factor.js';
import { resolveFactorDriver } from '../../core/factors/registry.js';
import { buildKeyURI } from '../../core/factors/otp/key-uri.js';
import { encodeBase32 } from '../../core/factors/otp/base32.js';
import type { Repositories } from '../../core/ports.js';
import { mfaArn } from '../../core/policy/arn.js';
import type { Principal } from '../../core/principals/types.js';
import { ACTIONS } from '../actions.js';
import { authorize } from '../authorize.js';
import type { Actor, RequestContext } from '../context.js';
import { writeAudit, type AppDeps } from '../deps.js';
import {
  ENROLMENT_REFUSALS,
  enableFactor,
  enrolmentAttemptStep,
  newPendingTOTP,
  parseFactorName,
  refusalFact,
  removeFactor,
  resyncFactor,
  storePendingFactor,
} from '../factors.js';
import { runCommand } from '../kernel.js';
import { requireUser } from '../users.js';

/** The serial number of an IAM-created virtual device (its ARN: `mfa{Path}{Name}`). */
export function virtualDeviceSerial(accountId: string, path: string, name: string): string {
  return mfaArn(accountId, `${path.slice(1)}${name}`);
}

/** The serial number IAM shows for a factor that was not created through IAM. */
export function derivedSerial(accountId: string, username: string, factorId: string): string {
  return `arn:aws:iam::${accountId}:mfa/${username}/${factorId}`;
}

/** A device as IAM lists it. */
export interface MfaDeviceView {
  serialNumber: string;
  user: Principal | null;
  factor: Factor | null;
  enableDate: number | null;
}

/** The serial number of one factor of `user`. */
async function serialOf(deps: AppDeps, user: Principal, factor: Factor): Promise<string> {
  const device = await deps.store.awsIdentities.findDeviceByFactor(user.accountId, factor.id);
  if (device !== null) return device.serialNumber;
  if (factor.hardwareTokenId !== null) {
    const token = await deps.store.hardwareTokens.findById(user.accountId, factor.hardwareTokenId);
    if (token !== null) return token.serial;
  }
  return derivedSerial(user.accountId, user.username, factor.id);
}

/**
 * Finds the factor of `user` a serial number names: an IAM virtual device, a hardware token of
 * the inventory assigned to the user, or a derived serial. Null when it names none of theirs.
 */
export async function factorForSerial(
  deps: AppDeps,
  user: Principal,
  serialNumber: string,
  reader: Pick<Repositories, 'awsIdentities' | 'hardwareTokens' | 'factors'> = deps.store,
): Promise<{ factor: Factor; device: AwsMfaDevice | null } | null> {
  const { accountId } = user;
  const device = await reader.awsIdentities.findDevice(accountId, serialNumber);
  let factorId: string | null = null;
  if (device !== null) factorId = device.factorId;
  else {
    const token = await reader.hardwareTokens.findBySerial(accountId, serialNumber);
    if (token !== null) factorId = token.principalId === user.id ? token.factorId : null;
    else {
      const prefix = `arn:aws:iam::${accountId}:mfa/${user.username}/`;
      if (serialNumber.startsWith(prefix)) factorId = serialNumber.slice(prefix.length);
    }
  }
  if (factorId === null) return null;
  const factor = await reader.factors.findById(accountId, factorId);
  if (factor === null || factor.principalId !== user.id) return null;
  return { factor, device };
}

/**
 * For STS: the enabled, code-taking factor of `user` a serial names, or null; read through
 * `reader` (the command's transaction), so the factor row is read once.
 */
export async function codeFactorForSerial(
  deps: AppDeps,
  reader: Pick<Repositories, 'awsIdentities' | 'hardwareTokens' | 'factors'>,
  user: Principal,
  serialNumber: string,
): Promise<Factor | null> {
  const found = await factorForSerial(deps, user, serialNumber, reader);
  if (found === null || found.factor.status !== 'enabled') return null;
  if (resolveFactorDriver(found.factor.kind).acceptsCodes === false) return null;
  return found.factor;
}

function noSuchDevice(serialNumber: string): HoldfastError {
  return new HoldfastError(
    'FACTOR_NOT_FOUND',
    `MFA device with serial number ${serialNumber} does not exist.`,
  );
}

/** The factor behind a device, unless it is gone or a pending one that expired. */
async function liveFactor(
  deps: AppDeps,
  reader: Pick<Repositories, 'factors'>,
  accountId: string,
  factorId: string,
): Promise<Factor | null> {
  const factor = await reader.factors.findById(accountId, factorId);
  if (factor === null) return null;
  if (factor.status === 'pending' && (factor.pendingExpiresAt ?? Infinity) <= deps.clock.now()) return null;
  return factor;
}

/**
 * Makes a serial number free for a new device, in `tx`: a pending device that expired (or whose
 * factor was removed elsewhere) frees its name; a live one, or a deactivated one (no factor by
 * design, kept until DeleteVirtualMFADevice, as in IAM), does not. False when it stays taken.
 */
async function freeSerial(
  deps: AppDeps,
  tx: Repositories,
  accountId: string,
  serialNumber: string,
): Promise<boolean> {
  const existing = await tx.awsIdentities.findDevice(accountId, serialNumber);
  if (existing === null) return true;
  if (existing.factorId === null || (await liveFactor(deps, tx, accountId, existing.factorId)) !== null) {
    return false;
  }
  await tx.awsIdentities.deleteDevice(accountId, serialNumber);
  return true;
}

/**
 * Stores the pending factor in `tx`; an enrolment refusal (G3 admission, the factor limit) is
 * recorded there and returned, so that the command commits it (the refusal counts) and fails.
 */
async function storeOrRefuse(
  deps: AppDeps,
  tx: Repositories,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; factor: Factor },
): Promise<HoldfastError | null> {
  try {
    await storePendingFactor(deps, tx, input);
    return null;
  } catch (err) {
    if (!(err instanceof HoldfastError)) throw err;
    if (ENROLMENT_REFUSALS.has(err.code)) {
      const { actor } = input;
      await writeAudit(deps, tx, {
        actor,
        ctx: input.ctx,
        fact: refusalFact({ actor, action: 'factor.create', target: actor.principal.id, error: err }),
      });
    }
    return err;
  }
}

/** A new virtual device, with its seed and QR code (returned only here). */
export interface CreatedVirtualDevice {
  serialNumber: string;
  secretBase32: string;
  qrCodePng: Uint8Array;
  factor: Factor;
}

/**
 * CreateVirtualMFADevice: a pending TOTP factor of the caller, owned by the calling credential
 * (G3), named by the device name; its serial is reserved in the account. The QR code encodes
 * `otpauth://totp/{DeviceName}@{UserName}?secret=…&issuer=…` (AWS encodes the device name and the
 * account; the issuer lets apps group it).
 */
export async function createVirtualMFADevice(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; name: string; path?: string },
): Promise<CreatedVirtualDevice> {
  const { actor } = input;
  const { principal } = actor;
  const path = input.path ?? '/';
  const serialNumber = virtualDeviceSerial(principal.accountId, path, input.name);
  const alreadyExists = (cause?: unknown) =>
    new HoldfastError(
      'AWS_MFA_DEVICE_ALREADY_EXISTS',
      'MFADevice entity at the same path and name already exists.',
      cause === undefined ? undefined : { cause },
    );
  // Authorized once, on the device ARN and its user (AWS: the device is the resource); the
  // device row and its pending factor are one change, in one transaction.
  const created = await runCommand(
    deps,
    actor,
    input.ctx,
    {
      action: ACTIONS.CreateVirtualMFADevice,
      resource: { accountId: principal.accountId, principal, arn: serialNumber },
    },
    async (uow) => {
      const { tx } = uow;
      if (!(await freeSerial(deps, tx, principal.accountId, serialNumber))) throw alreadyExists();
      const name = parseFactorName(input.name);
      // Counted even when the enrolment is refused (G4): refusals end the work after commit.
      const throttled = await enrolmentAttemptStep(deps, tx, {
        actor,
        ctx: input.ctx,
        action: 'factor.create',
      });
      if (throttled !== null) return uow.failAfterCommit(throttled);
      const { factor, secret } = newPendingTOTP(deps, actor, name);
      const refused = await storeOrRefuse(deps, tx, { actor, ctx: input.ctx, factor });
      if (refused !== null) return uow.failAfterCommit(refused);
      try {
        await tx.awsIdentities.insertDevice({
          accountId: principal.accountId,
          serialNumber,
          name: input.name,
          path,
          principalId: principal.id,
          factorId: factor.id,
          createdAt: deps.clock.now(),
        });
      } catch (err) {
        // Taken by a concurrent call: the whole change rolls back, factor included.
        throw alreadyExists(err);
      }
      uow.record({
        accountId: principal.accountId,
        action: 'factor.create',
        target: factor.id,
        details: { kind: 'totp', name },
      });
      const account = await tx.accounts.findById(principal.accountId);
      return { factor, secret, accountName: account?.name ?? null };
    },
  );
  const { factor, secret } = created;
  const qrCodePng = await deps.qrCodes.png(
    buildKeyURI({
      type: 'totp',
      issuer: deps.settings.mfa.issuer ?? created.accountName ?? 'Holdfast',
      accountName: `${input.name}@${principal.username}`,
      secret,
      algorithm: factor.params.algorithm,
      digits: factor.params.digits,
      period: factor.params.period,
    }),
  );
  return { serialNumber, secretBase32: encodeBase32(secret), qrCodePng, factor };
}

/**
 * EnableMFADevice: enables the pending factor a serial names (a virtual device created by this
 * credential, or a hardware token an administrator assigned to the user) with two consecutive
 * codes.
 */
export async function enableMFADevice(
  deps: AppDeps,
  input: {
    actor: Actor;
    ctx: RequestContext;
    accountId: string;
    userRef: string;
    serialNumber: string;
    codes: [string, string];
  },
): Promise<Factor> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  const found = await factorForSerial(deps, user, input.serialNumber);
  if (found === null) {
    // Authorized first, so a caller without the right learns nothing about devices.
    await authorize(
      deps,
      input.actor,
      ACTIONS.EnableMFADevice,
      { accountId: input.accountId, principal: user },
      input.ctx,
    );
    throw noSuchDevice(input.serialNumber);
  }
  return enableFactor(deps, {
    actor: input.actor,
    ctx: input.ctx,
    accountId: input.accountId,
    factorId: found.factor.id,
    userRef: user.id,
    codes: input.codes,
  });
}

/** ResyncMFADevice: re-synchronises one of the caller's own enabled devices (G1 step-up). */
export async function resyncMFADevice(
  deps: AppDeps,
  input: {
    actor: Actor & { kind: 'principal' };
    ctx: RequestContext;
    userRef: string;
    serialNumber: string;
    codes: [string, string];
  },
): Promise<Factor> {
  const { principal } = input.actor;
  const user = await requireUser(deps, principal.accountId, input.userRef);
  if (user.id !== principal.id) {
    await authorize(
      deps,
      input.actor,
      ACTIONS.ResyncMFADevice,
      { accountId: user.accountId, principal: user },
      input.ctx,
    );
    // Re-synchronising needs the device in hand: only its user does it.
    throw new HoldfastError('AUTH_FORBIDDEN', 'only the device user re-synchronises a device');
  }
  const found = await factorForSerial(deps, user, input.serialNumber);
  return resyncFactor(deps, {
    actor: input.actor,
    ctx: input.ctx,
    factorId: found?.factor.id ?? 'unknown',
    codes: input.codes,
  });
}

/**
 * DeactivateMFADevice: removes an enabled device from its user (G1 step-up; G5 when it was the
 * last). For an IAM virtual device the serial stays, unassigned and without a seed, until
 * DeleteVirtualMFADevice.
 */
export async function deactivateMFADevice(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; userRef: string; serialNumber: string },
): Promise<{ lastFactorRemoved: boolean }> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  const found = await factorForSerial(deps, user, input.serialNumber);
  if (found === null || found.factor.status !== 'enabled') {
    await authorize(
      deps,
      input.actor,
      ACTIONS.DeactivateMFADevice,
      { accountId: input.accountId, principal: user },
      input.ctx,
    );
    throw noSuchDevice(input.serialNumber);
  }
  const result = await removeFactor(deps, {
    actor: input.actor,
    ctx: input.ctx,
    accountId: input.accountId,
    factorId: found.factor.id,
    userRef: user.id,
  });
  if (found.device !== null)
    await deps.store.awsIdentities.detachDevice(input.accountId, found.device.serialNumber);
  return result;
}

/**
 * DeleteVirtualMFADevice: deletes an unassigned virtual device: a pending one (by the credential
 * that created it, or an administrator) or a deactivated one. An enabled device is refused.
 */
export async function deleteVirtualMFADevice(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; serialNumber: string },
): Promise<void> {
  const accountId = input.actor.principal.accountId;
  const device = await deps.store.awsIdentities.findDevice(accountId, input.serialNumber);
  const owner = device === null ? null : await deps.store.principals.findById(accountId, device.principalId);
  if (device === null || owner === null) {
    await authorize(
      deps,
      input.actor,
      ACTIONS.DeleteVirtualMFADevice,
      { accountId, arn: input.serialNumber },
      input.ctx,
    );
    throw noSuchDevice(input.serialNumber);
  }
  const factor =
    device.factorId === null ? null : await deps.store.factors.findById(accountId, device.factorId);
  if (factor !== null && factor.status === 'enabled') {
    await authorize(
      deps,
      input.actor,
      ACTIONS.DeleteVirtualMFADevice,
      { accountId, principal: owner },
      input.ctx,
    );
    throw new HoldfastError('AWS_MFA_DEVICE_IN_USE', 'MFA VirtualDevice in use. Must deactivate first.');
  }
  if (factor !== null) {
    await removeFactor(deps, {
      actor: input.actor,
      ctx: input.ctx,
      accountId,
      factorId: factor.id,
      userRef: owner.id,
    });
  } else {
    await authorize(
      deps,
      input.actor,
      ACTIONS.DeleteVirtualMFADevice,
      { accountId, principal: owner },
      input.ctx,
    );
  }
  await deps.store.transaction(async (tx) => {
    await tx.awsIdentities.deleteDevice(accountId, device.serialNumber);
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId,
        action: 'mfa_device.delete',
        target: owner.id,
        details: { serialNumber: device.serialNumber },
      },
    });
  });
}

/** ListMFADevices: a user's enabled devices of every kind that IAM knows of. */
export async function listMFADevices(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string },
): Promise<MfaDeviceView[]> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListMFADevices,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  const factors = (await deps.store.factors.listByPrincipal(input.accountId, user.id)).filter(
    (f) => f.status === 'enabled',
  );
  return Promise.all(
    factors.map(async (factor) => ({
      serialNumber: await serialOf(deps, user, factor),
      user,
      factor,
      enableDate: factor.enabledAt,
    })),
  );
}

/**
 * ListVirtualMFADevices: every virtual (authenticator-app) device of the account, assigned
 * (enabled) or not (pending, or deactivated and not yet deleted).
 */
export async function listVirtualMFADevices(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string },
): Promise<MfaDeviceView[]> {
  const { accountId } = input;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListVirtualMFADevices,
    { accountId, arn: `arn:aws:iam::${accountId}:mfa/*` },
    input.ctx,
  );
  const principals = new Map((await deps.store.principals.list(accountId)).map((p) => [p.id, p]));
  const out: MfaDeviceView[] = [];
  const seen = new Set<string>();
  for (const device of await deps.store.awsIdentities.listDevices(accountId)) {
    const factor =
      device.factorId === null ? null : await liveFactor(deps, deps.store, accountId, device.factorId);
    if (factor !== null) seen.add(factor.id);
    // Stale: its pending factor expired, or was removed outside IAM.
    if (device.factorId !== null && factor === null) continue;
    const enabled = factor !== null && factor.status === 'enabled';
    out.push({
      serialNumber: device.serialNumber,
      user: enabled ? (principals.get(factor.principalId) ?? null) : null,
      factor,
      enableDate: enabled ? factor.enabledAt : null,
    });
  }
  for (const factor of await deps.store.factors.listEnabledByAccount(accountId)) {
    if (seen.has(factor.id) || factor.kind !== 'totp') continue;
    const user = principals.get(factor.principalId);
    if (user === undefined) continue;
    out.push({
      serialNumber: derivedSerial(accountId, user.username, factor.id),
      user,
      factor,
      enableDate: factor.enabledAt,
    });
  }
  return out.sort((a, b) => (a.serialNumber < b.serialNumber ? -1 : a.serialNumber > b.serialNumber ? 1 : 0));
}

/** GetMFADevice: one device of a user by serial number. */
export async function getMFADevice(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; userRef: string; serialNumber: string },
): Promise<MfaDeviceView> {
  const user = await requireUser(deps, input.accountId, input.userRef);
  await authorize(
    deps,
    input.actor,
    ACTIONS.GetMFADevice,
    { accountId: input.accountId, principal: user },
    input.ctx,
  );
  const found = await factorForSerial(deps, user, input.serialNumber);
  if (found === null || found.factor.status !== 'enabled') throw noSuchDevice(input.serialNumber);
  return { serialNumber: input.serialNumber, user, factor: found.factor, enableDate: found.factor.enabledAt };
}
