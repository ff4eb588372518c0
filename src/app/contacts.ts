/**
 * Contact channels: a verified e-mail address (required for owners and admins) and an optional
 * verified phone per principal. They are recovery and notification channels, never sign-in
 * factors; phone is labelled weak (NIST SP 800-63B §5.1.3.3: SMS is a restricted authenticator,
 * exposed to SIM swap and number porting). A change needs a fresh second factor (G1 through the
 * `holdfast:UpdateContact` action), notifies the old and the new address, and takes effect only
 * once the new address proves it receives our messages.
 */

import { HoldfastError } from '../core/errors.js';
import type { Repositories } from '../core/ports.js';
import type { Principal } from '../core/principals/types.js';
import type { Contact, ContactKind } from '../core/recovery/types.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, writeAudit, type AppDeps } from './deps.js';
import {
  checkCode,
  emailAddressOf,
  findLinkToken,
  issueCode,
  issueLinkToken,
  maskAddress,
  normaliseAddress,
  queueMessage,
  verifiedContact,
} from './recovery-support.js';

/** A contact as shown to its owner. */
export interface ContactView {
  id: string;
  kind: ContactKind;
  address: string;
  status: Contact['status'];
  /** Phone is a weak channel (SIM swap); e-mail is ordinary. */
  strength: 'ordinary' | 'weak';
  verifiedAt: number | null;
}

/** The caller's contacts and whether a verified e-mail is required of them. */
export async function listContacts(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext },
): Promise<{ contacts: ContactView[]; emailRequired: boolean; emailVerified: boolean }> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListContacts,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const contacts = await deps.store.recovery.listContacts(principal.accountId, principal.id);
  return {
    contacts: contacts.map((c) => ({
      id: c.id,
      kind: c.kind,
      address: c.address,
      status: c.status,
      strength: c.kind === 'phone' ? 'weak' : 'ordinary',
      verifiedAt: c.verifiedAt,
    })),
    emailRequired: principal.role === 'owner' || principal.role === 'admin',
    emailVerified: contacts.some((c) => c.kind === 'email' && c.status === 'verified'),
  };
}

async function startVerification(
  deps: AppDeps,
  input: { principal: Principal; kind: ContactKind; address: string; ctx: RequestContext; actor: Actor },
): Promise<{ contactId: string }> {
  const { principal, kind, address } = input;
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const existing = await tx.recovery.listContacts(principal.accountId, principal.id);
    for (const c of existing)
      if (c.kind === kind && c.status === 'pending') await tx.recovery.deleteContact(c.id);
    const old = existing.find((c) => c.kind === kind && c.status === 'verified') ?? null;
    const contact: Contact = {
      id: newId(deps, 'cnt_'),
      accountId: principal.accountId,
      principalId: principal.id,
      kind,
      address,
      status: 'pending',
      createdAt: now,
      verifiedAt: null,
    };
    await tx.recovery.insertContact(contact);
    if (kind === 'email') {
      const { token } = await issueLinkToken(deps, tx, {
        principal,
        purpose: 'contact_verify',
        subjectId: contact.id,
      });
      await queueMessage(deps, tx, {
        accountId: principal.accountId,
        principalId: principal.id,
        channel: 'email',
        template: 'contact.verify_email',
        recipient: address,
        secret: token,
      });
    } else {
      const code = await issueCode(deps, tx, { principal, purpose: 'contact_verify', subjectId: contact.id });
      await queueMessage(deps, tx, {
        accountId: principal.accountId,
        principalId: principal.id,
        channel: 'sms',
        template: 'contact.verify_phone',
        recipient: address,
        secret: code,
      });
    }
    if (old !== null && old.address !== address) {
      // The old address hears of the change first: if it was not its owner, they can react.
      await queueMessage(deps, tx, {
        accountId: principal.accountId,
        principalId: principal.id,
        channel: old.kind === 'email' ? 'email' : 'sms',
        template: 'contact.change_requested',
        recipient: old.address,
        payload: { kind, newAddress: maskAddress(address) },
      });
    }
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: principal.accountId,
        action: 'contact.change_request',
        target: principal.id,
        details: {
          kind,
          address: maskAddress(address),
          contactId: contact.id,
          replaces: old !== null,
          security: true,
        },
      },
    });
    return { contactId: contact.id };
  });
}

/**
 * Starts changing (or setting) the caller's e-mail or phone: needs step-up MFA, sends a link or a
 * code to the new address and a notice to the old one. The old address stays in force until the
 * new one is verified.
 */
export async function requestContactChange(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; kind: ContactKind; address: string },
): Promise<{ contactId: string }> {
  const { principal } = input.actor;
  const address = normaliseAddress(input.kind, input.address);
  await authorize(
    deps,
    input.actor,
    ACTIONS.UpdateContact,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  return startVerification(deps, {
    principal,
    kind: input.kind,
    address,
    ctx: input.ctx,
    actor: input.actor,
  });
}

/**
 * Verifies the address the principal already has on file (its sign-up e-mail). It changes no
 * address, so it needs no step-up; the link still has to be followed.
 */
export async function verifyCurrentEmail(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext },
): Promise<{ contactId: string }> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListContacts,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const current = await verifiedContact(deps.store, principal, 'email');
  if (current !== null && current.address === principal.email) return { contactId: current.id };
  return startVerification(deps, {
    principal,
    kind: 'email',
    address: normaliseAddress('email', principal.email),
    ctx: input.ctx,
    actor: input.actor,
  });
}

async function makeVerified(
  deps: AppDeps,
  tx: Repositories,
  input: { contact: Contact; ctx: RequestContext; actor: Actor | null },
): Promise<Contact> {
  const { contact } = input;
  const now = deps.clock.now();
  const principal = await tx.principals.findById(contact.accountId, contact.principalId);
  if (principal === null) throw new HoldfastError('VERIFICATION_INVALID');
  const old = await verifiedContact(tx, principal, contact.kind);
  if (contact.kind === 'email' && contact.address !== principal.email) {
    const clash = await tx.principals.findByLogin(principal.accountId, contact.address);
    if (clash !== null && clash.id !== principal.id) throw new HoldfastError('USER_EMAIL_TAKEN');
    await tx.principals.update({ ...principal, email: contact.address, updatedAt: now });
  }
  if (!(await tx.recovery.verifyContact({ id: contact.id, now })))
    throw new HoldfastError('VERIFICATION_INVALID');
  for (const address of new Set([contact.address, ...(old !== null ? [old.address] : [])])) {
    await queueMessage(deps, tx, {
      accountId: contact.accountId,
      principalId: contact.principalId,
      channel: contact.kind === 'email' ? 'email' : 'sms',
      template: 'contact.changed',
      recipient: address,
      payload: { kind: contact.kind, address: maskAddress(contact.address) },
    });
  }
  await writeAudit(deps, tx, {
    actor: input.actor,
    ctx: input.ctx,
    fact: {
      accountId: contact.accountId,
      action: 'contact.verify',
      target: contact.principalId,
      details: {
        kind: contact.kind,
        address: maskAddress(contact.address),
        contactId: contact.id,
        security: true,
      },
    },
  });
  return { ...contact, status: 'verified', verifiedAt: now };
}

/** Follows an e-mail verification link: the new address takes effect now. */
export async function verifyContactLink(
  deps: AppDeps,
  input: { ctx: RequestContext; token: string },
): Promise<{ kind: ContactKind }> {
  return deps.store.transaction(async (tx) => {
    const token = await findLinkToken(deps, tx, { token: input.token, purposes: ['contact_verify'] });
    if (token === null || !(await tx.recovery.consumeToken({ id: token.id, now: deps.clock.now() }))) {
      throw new HoldfastError('VERIFICATION_INVALID');
    }
    const contact = await tx.recovery.findContact(token.accountId, token.subjectId);
    if (contact === null || contact.status !== 'pending') throw new HoldfastError('VERIFICATION_INVALID');
    const done = await makeVerified(deps, tx, { contact, ctx: input.ctx, actor: null });
    return { kind: done.kind };
  });
}

/** Enters the code sent to a new phone number (in the session that asked for the change). */
export async function verifyPhoneCode(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; code: string },
): Promise<{ kind: ContactKind }> {
  const { principal } = input.actor;
  await authorize(
    deps,
    input.actor,
    ACTIONS.ListContacts,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  const result = await deps.store.transaction(async (tx) => {
    const pending = (await tx.recovery.listContacts(principal.accountId, principal.id)).find(
      (c) => c.kind === 'phone' && c.status === 'pending',
    );
    if (pending === undefined) return null;
    if (
      !(await checkCode(deps, tx, { purpose: 'contact_verify', subjectId: pending.id, code: input.code }))
    ) {
      return null;
    }
    return makeVerified(deps, tx, { contact: pending, ctx: input.ctx, actor: input.actor });
  });
  if (result === null) throw new HoldfastError('VERIFICATION_INVALID');
  return { kind: result.kind };
}

/**
 * Removes the caller's phone (step-up MFA, like any change of a recovery channel). The e-mail
 * address cannot be removed, only replaced: it is where reset notices and grants go.
 */
export async function removeContact(
  deps: AppDeps,
  input: { actor: Actor & { kind: 'principal' }; ctx: RequestContext; kind: ContactKind },
): Promise<{ removed: number }> {
  const { principal } = input.actor;
  if (input.kind === 'email') throw new HoldfastError('CONTACT_REQUIRED');
  await authorize(
    deps,
    input.actor,
    ACTIONS.UpdateContact,
    { accountId: principal.accountId, principal },
    input.ctx,
  );
  return deps.store.transaction(async (tx) => {
    const phones = (await tx.recovery.listContacts(principal.accountId, principal.id)).filter(
      (c) => c.kind === 'phone',
    );
    for (const c of phones) await tx.recovery.deleteContact(c.id);
    const verified = phones.find((c) => c.status === 'verified');
    if (verified !== undefined) {
      await queueMessage(deps, tx, {
        accountId: principal.accountId,
        principalId: principal.id,
        channel: 'email',
        template: 'contact.changed',
        recipient: await emailAddressOf(tx, principal),
        payload: { kind: 'phone', address: 'removed' },
      });
    }
    await writeAudit(deps, tx, {
      actor: input.actor,
      ctx: input.ctx,
      fact: {
        accountId: principal.accountId,
        action: 'contact.remove',
        target: principal.id,
        details: { kind: 'phone', removed: phones.length, security: true },
      },
    });
    return { removed: phones.length };
  });
}
