/**
 * Plain words for what the audit log and the API name with codes. People read the words; the
 * code (an event name, an error code, a request id) stays one click away behind "Details", for
 * whoever they ask for help.
 */
import { h } from './dom.js';

/** Event names in words, as a person would say what happened. */
const EVENT_WORDS: Readonly<Record<string, string>> = {
  'auth.sign_in': 'Signed in with a password',
  'auth.password_verified': 'Password accepted',
  'auth.mfa_sign_in': 'Signed in with a second factor',
  'auth.passkey_sign_in': 'Signed in with a passkey',
  'auth.mfa_passkey_sign_in': 'Signed in with a passkey',
  'auth.mfa_step_up': 'Confirmed with a second factor',
  'auth.sign_in_flow_failed': 'Sign-in not completed',
  'auth.sign_out': 'Signed out',
  'session.step_up': 'Confirmed with a second factor',
  'session.revoke': 'Signed out a session',
  'session.revoke_all': 'Signed out every session',
  'authz.denied': 'Action refused',
  'factor.create': 'Started adding a factor',
  'factor.added': 'Factor added',
  'factor.enable': 'Factor turned on',
  'factor.assigned': 'Factor given by an administrator',
  'factor.remove': 'Factor removed',
  'factor.removed': 'Factor removed',
  'factor.rename': 'Factor renamed',
  'factor.resync': 'Hardware token resynchronised',
  'factor.pending_cancelled': 'Unfinished factor cancelled',
  'factor.challenge': 'Code sent',
  'factor.sms_code': 'Text message code sent',
  'recovery_code.regenerate': 'New recovery codes made',
  'recovery_code.use': 'Recovery code used',
  'recovery_code.void': 'Recovery codes cancelled',
  'mfa.suspend': 'Second-factor sign-in suspended',
  'mfa.suspension_lift': 'Second-factor suspension lifted',
  'recovery.start': 'Account recovery started',
  'recovery.verify': 'Account recovery step confirmed',
  'recovery.verify_email': 'Recovery e-mail confirmed',
  'recovery.verify_phone': 'Recovery phone confirmed',
  'recovery.wait_started': 'Recovery waiting period started',
  'recovery.cancel': 'Account recovery cancelled',
  'recovery.cancelled': 'Account recovery cancelled',
  'recovery.complete': 'Account recovered',
  'recovery.completed': 'Account recovered',
  'recovery.code_completed': 'Signed in with a recovery code',
  'recovery.with_code_complete': 'Signed in with a recovery code',
  'recovery.expire': 'Account recovery expired',
  'reset.request': 'Reset requested by the help desk',
  'reset.requested': 'Reset requested by the help desk',
  'reset.approval': 'Reset approved',
  'reset.approve': 'Reset approved',
  'reset.cancel': 'Reset cancelled',
  'reset.complete': 'Reset completed',
  'reset.expire': 'Reset expired',
  'reset.wait_started': 'Reset waiting period started',
  'contact.verify': 'Contact confirmed',
  'contact.change_request': 'Contact change requested',
  'contact.change_requested': 'Contact change requested',
  'contact.changed': 'Contact changed',
  'contact.remove': 'Contact removed',
  'user.password_change': 'Password changed',
  'user.password_reset': 'Password reset',
  'user.password_reset_request': 'Password reset requested',
  'user.setup_complete': 'Account set up',
  'user.setup_link_issue': 'Set-up link issued',
  'user.create': 'User added',
  'user.invitation': 'Invitation sent',
  'user.disable': 'Disabled',
  'user.enable': 'Re-enabled',
  'user.role_change': 'Role changed',
  'user.delete': 'User deleted',
  'enrolment_grant.issue': 'Enrolment grant issued',
  'access_key.create': 'Access key created',
  'access_key.update': 'Access key turned on or off',
  'access_key.delete': 'Access key deleted',
  'oidc.sign_in': 'Signed in to an application',
  'oidc.consent_revoked': 'Application access withdrawn',
  'oidc.logout': 'Signed out of an application',
  'hardware_token.import': 'Hardware tokens imported',
  'hardware_token.assign': 'Hardware token given to a user',
  'hardware_token.state': 'Hardware token state changed',
  'policy.put': 'Policy saved',
  'policy.delete': 'Policy deleted',
  'policy.attach': 'Policy attached',
  'policy.detach': 'Policy detached',
  'group.create': 'Group created',
  'group.update': 'Group changed',
  'group.delete': 'Group deleted',
  'account.settings': 'Account settings changed',
  'account.recovery_settings': 'Recovery settings changed',
  'alert.acknowledge': 'Alert acknowledged',
  'aws.call': 'AWS API call',
  'audit.archived': 'Audit records archived',
  'keys.rotate': 'Keys rotated',
  'enrolment.window_ended': 'Time to add a first factor ran out',
  'principal.last_factor_lost': 'Last second factor lost',
  'mfa_device.delete': 'MFA device deleted',
  'webauthn.clone_suspected': 'Possible copy of a security key',
};

/** An event name in words (a readable form of the name where none is written). */
export function eventWords(action: string): string {
  const words = EVENT_WORDS[action];
  if (words !== undefined) return words;
  const plain = action.replace(/[._]+/g, ' ').trim();
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}

/** A "Details" toggle holding codes for support; nothing when there is nothing to show. */
export function detailsToggle(lines: ReadonlyArray<string | null | undefined>): HTMLElement | null {
  const shown = lines.filter((l): l is string => typeof l === 'string' && l !== '');
  if (shown.length === 0) return null;
  return h(
    'details',
    { class: 'codes' },
    h('summary', {}, 'Details'),
    ...shown.map((line) => h('span', { class: 'code' }, line)),
  );
}
