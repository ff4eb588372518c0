/**
 * The words of every message the outbox carries, rendered at delivery time (so a link is built
 * from the public URL of the server sending it, and a sealed secret is opened only then).
 */

import type { OutboxMessage } from '../core/ports.js';

/** A rendered message. */
export interface RenderedMessage {
  subject: string;
  text: string;
}

type Payload = OutboxMessage['payload'];

const when = (ms: unknown): string => (typeof ms === 'number' ? new Date(ms).toISOString() : 'soon');
const who = (p: Payload): string => (typeof p.username === 'string' ? p.username : 'a user');

/** Builds the link of a page for a token. */
function link(base: string, path: string, token: string): string {
  return `${base.replace(/\/$/, '')}${path}?token=${encodeURIComponent(token)}`;
}

const RENDERERS: Record<string, (p: Payload, secret: string | null, base: string) => RenderedMessage> = {
  'factor.added': (p) => ({
    subject: 'A second factor was added to your account',
    text: `A second factor${typeof p.factorName === 'string' ? ` ("${p.factorName}")` : ''} was added to your account. If this was not you, contact your administrator now.`,
  }),
  'factor.sms_code': (p, secret) => ({
    subject: 'Holdfast sign-in code',
    text: `Holdfast ${p.purpose === 'enrol' ? 'code to confirm this phone' : 'sign-in code'}: ${secret ?? ''}. It expires in 5 minutes. Never give it to anyone who calls you.`,
  }),
  'factor.removed': (p) => ({
    subject: 'A second factor was removed from your account',
    text: `The second factor${typeof p.factorName === 'string' ? ` "${p.factorName}"` : ''} was removed${p.byAdmin === true ? ' by an administrator' : ''}. If this was not you, contact your administrator now.`,
  }),
  'recovery_code.used': (p) => ({
    subject: 'A recovery code was used to sign in',
    text: `A recovery code was used to sign in to your account. ${String(p.remaining ?? 0)} codes remain. If this was not you, contact your administrator now.`,
  }),
  'mfa.suspended': () => ({
    subject: 'Second-factor sign-in suspended',
    text: 'Too many wrong second-factor codes were entered for your account; second-factor sign-in from places you never signed in from is suspended for a day. From your usual device and network you can still sign in, and a recovery code always works. If this was not you, someone may know your password: change it, and contact your administrator.',
  }),
  'mfa.suspension_lifted': () => ({
    subject: 'Second-factor sign-in is no longer suspended',
    text: 'The suspension of second-factor sign-in on your account was lifted. If you did not expect this, contact your administrator.',
  }),
  'contact.verify_email': (_p, secret, base) => ({
    subject: 'Confirm your e-mail address',
    text: `Confirm this address for your Holdfast account by opening:\n\n${link(base, '/contacts/verify', secret ?? '')}\n\nIt becomes your address only once confirmed. If you did not ask for this, ignore this message.`,
  }),
  'contact.verify_phone': (_p, secret) => ({
    subject: 'Holdfast code',
    text: `Holdfast: your phone confirmation code is ${secret ?? ''}. It expires in 10 minutes.`,
  }),
  'contact.change_requested': (p) => ({
    subject: 'A change of your contact details was requested',
    text: `Someone signed in to your account asked to replace your ${String(p.kind)} with ${String(p.newAddress)}. It takes effect only once the new address is confirmed. If this was not you, contact your administrator now.`,
  }),
  'contact.changed': (p) => ({
    subject: 'Your contact details changed',
    text: `Your ${String(p.kind)} is now ${String(p.address)}. If this was not you, contact your administrator now.`,
  }),
  'recovery.verify_email': (_p, secret, base) => ({
    subject: 'Account recovery: confirm it is you',
    text: `Someone asked to recover your account. To continue, open this link and enter the code sent to your phone:\n\n${link(base, '/recovery/verify', secret ?? '')}\n\nIf this was not you, ignore this message: nothing changes without both.`,
  }),
  'recovery.verify_phone': (_p, secret) => ({
    subject: 'Holdfast recovery code',
    text: `Holdfast account recovery code: ${secret ?? ''}. Never give it to anyone who calls you.`,
  }),
  'recovery.pending': (p, secret, base) => ({
    subject:
      p.audience === 'target'
        ? `Your second factors will be reset at ${when(p.waitUntil)}`
        : `${p.kind === 'helpdesk' ? 'An MFA reset' : 'An account recovery'} of ${who(p)} takes effect at ${when(p.waitUntil)}`,
    text: `${p.kind === 'helpdesk' ? 'A help-desk MFA reset' : 'A self-service account recovery'} of ${who(p)} (${String(p.role ?? 'user')}) takes effect at ${when(p.waitUntil)}. Then the existing second factors are removed and a one-time enrolment link is sent to the user.${p.evidence ? `\nVerification recorded: ${String(p.evidence)}.` : ''}\n\nIf this was not you or you did not expect it, cancel it with one click:\n\n${link(base, '/recovery/cancel', secret ?? '')}`,
  }),
  'reset.requested': (p, secret, base) => ({
    subject: `An MFA reset of ${who(p)} was requested`,
    text: `A help-desk MFA reset of ${who(p)} (${String(p.role ?? 'user')}) was requested and awaits a second approver. Verification recorded: ${String(p.evidence ?? 'none')}.\n\nIf this was not you or you did not expect it, cancel it with one click:\n\n${link(base, '/recovery/cancel', secret ?? '')}`,
  }),
  'recovery.cancelled': (p) => ({
    subject: `The ${p.kind === 'helpdesk' ? 'MFA reset' : 'account recovery'} of ${who(p)} was cancelled`,
    text: `The ${p.kind === 'helpdesk' ? 'MFA reset' : 'account recovery'} of ${who(p)} was cancelled. Nothing changed.`,
  }),
  'recovery.completed': (p) => ({
    subject: `The ${p.kind === 'helpdesk' ? 'MFA reset' : 'account recovery'} of ${who(p)} took effect`,
    text: `The waiting period ended without a cancel. ${who(p)}'s second factors were removed, sessions ended and access keys deactivated; they must enrol a new factor with a one-time grant.`,
  }),
  'recovery.grant': (p, secret, base) => ({
    subject: 'Enrol a new second factor',
    text: `Your account recovery is complete. Sign in with your password and enrol a new second factor with this one-time enrolment grant (valid until ${when(p.expiresAt)}):\n\n${secret ?? ''}\n\nOr open ${base.replace(/\/$/, '')}/enrol#grant=${encodeURIComponent(secret ?? '')}`,
  }),
  'recovery.code_completed': (p) => ({
    subject: 'You recovered your account with a recovery code',
    text: `Your account was recovered with a recovery code: ${String(p.factorsRemoved ?? 0)} old factors were removed and ${String(p.sessionsRevoked ?? 0)} other sessions ended. If this was not you, contact your administrator now.`,
  }),
  'password_reset.link': (_p, secret, base) => ({
    subject: 'Reset your password',
    text: `Open this link to set a new password (valid for one hour):\n\n${link(base, '/password-reset', secret ?? '')}\n\nYour second factor is still needed to sign in. If you did not ask for this, ignore this message.`,
  }),
  'password_reset.done': () => ({
    subject: 'Your password was changed',
    text: 'Your password was reset and every session ended. Your second factors are unchanged. If this was not you, contact your administrator now.',
  }),
  'enrolment_grant.issued': (p, secret, base) => ({
    subject: 'Enrol a new second factor',
    text: `An administrator sent you a one-time enrolment grant so you can add a second factor to your account (valid until ${when(p.expiresAt)}). Sign in with your password and open:\n\n${base.replace(/\/$/, '')}/enrol#grant=${encodeURIComponent(secret ?? '')}\n\nIf you did not ask your administrator for this, tell them now.`,
  }),
  'user.invitation': (p, secret, base) => ({
    subject: `You are invited to ${String(p.accountName)} on Holdfast`,
    text:
      `${p.invitedBy ? String(p.invitedBy) : 'An administrator'} created a Holdfast account for you in ` +
      `${String(p.accountName)} (user name ${String(p.username)}, role ${String(p.role)}).\n\n` +
      `Open this link to choose your password (it works once, until ${when(p.expiresAt)}):\n\n` +
      `${base.replace(/\/$/, '')}/setup#token=${encodeURIComponent(secret ?? '')}\n\n` +
      `Then sign in at ${base.replace(/\/$/, '')}/sign-in with account ${String(p.accountName)} and add a second factor. ` +
      'If you did not expect this, ignore this message.',
  }),
  alert: (p) => ({
    subject: `[Holdfast alert ${String(p.severity)}] ${String(p.summary)}`,
    text:
      `${String(p.summary)} (${String(p.severity)}).\n\n` +
      (p.principalName ? `Concerning: ${String(p.principalName)}\n` : '') +
      (p.actorName ? `Done by: ${String(p.actorName)}\n` : '') +
      `When: ${when(p.createdAt)}\n\n` +
      `Rule ${String(p.ruleId)}; account ${String(p.accountId)}; event ${String(p.eventId)}` +
      (p.principalId ? `; user id ${String(p.principalId)}` : '') +
      '.\nOpen Alerts in the Holdfast console to acknowledge it.',
  }),
};

/** Renders a message; unknown templates get a neutral text. */
export function renderMessage(input: {
  template: string;
  payload: Payload;
  secret: string | null;
  publicUrl: string;
}): RenderedMessage {
  const render = RENDERERS[input.template];
  if (render === undefined) {
    return { subject: 'Holdfast notification', text: `Notification: ${input.template}` };
  }
  return render(input.payload, input.secret, input.publicUrl);
}
