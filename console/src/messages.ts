import { ApiError } from './api.js';
import { describeWebAuthnError } from './webauthn-errors.js';

/**
 * Error codes in words. The API's own message is shown only for codes not listed here; the
 * code is always shown too, so a person can quote it to an administrator.
 */
const WORDS: Readonly<Record<string, string>> = {
  AUTH_INVALID_CREDENTIALS: 'The account, user name or password is not right.',
  AUTH_THROTTLED: 'Too many attempts. Wait a little and try again.',
  AUTH_SESSION_REQUIRED: 'Please sign in.',
  AUTH_SESSION_INVALID: 'Your session has ended. Please sign in again.',
  AUTH_CSRF_FAILED: 'The request was refused because it did not come from this console. Reload the page.',
  AUTH_FORBIDDEN: 'You are not allowed to do this.',
  AUTH_SETUP_TOKEN_INVALID: 'This setup link is used or expired. Ask your administrator for a new one.',
  FLOW_NOT_FOUND: 'This sign-in attempt is no longer valid. Start again.',
  FLOW_EXPIRED: 'This sign-in attempt took too long. Start again.',
  FLOW_INVALID_TRANSITION: 'This sign-in attempt cannot continue. Start again.',
  MFA_FAILED: 'That code was not accepted. Check the factor you chose and try a fresh code.',
  MFA_SUSPENDED:
    'Second-factor sign-in is suspended after too many failures. Use account recovery or ask an administrator.',
  MFA_STEP_UP_REQUIRED: 'This needs a fresh second-factor check.',
  STEP_UP_CANCELLED: 'Cancelled: the action needs a fresh second-factor check.',
  FACTOR_CODE_INVALID: 'That code was not accepted. Wait for a new code and try again.',
  FACTOR_PENDING_EXPIRED: 'This enrolment expired or had too many wrong codes. Start again.',
  FACTOR_NOT_PENDING: 'This factor is already enabled.',
  FACTOR_WRONG_SESSION: 'This enrolment was started in another session.',
  FACTOR_ADMIN_PROVISIONED:
    'This factor was provided by an administrator; only an administrator can remove it.',
  FACTOR_NAME_TAKEN: 'You already have a factor with this name.',
  FACTOR_LIMIT_REACHED: 'You already have the most factors allowed. Remove one first.',
  FACTOR_NOT_FOUND: 'That factor no longer exists.',
  WEBAUTHN_REGISTRATION_FAILED:
    'The key’s answer was not accepted (it may have taken too long, or come from another address). Start the registration again.',
  WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED: 'Your organisation does not allow this model of key.',
  WEBAUTHN_CREDENTIAL_EXISTS: 'This key is already registered.',
  ENROLMENT_GRANT_REQUIRED:
    'Adding a factor now needs an enrolment grant. Ask an administrator for one, or use the link sent to you.',
  ENROLMENT_GRANT_INVALID: 'That enrolment grant is not valid (used, expired or for someone else).',
  RECOVERY_CODES_NOT_SET: 'You have no recovery codes.',
  PASSWORD_TOO_SHORT: 'That password is too short.',
  PASSWORD_TOO_LONG: 'That password is too long.',
  PASSWORD_TOO_COMMON: 'That password is too common or easy to guess; choose another.',
  PASSWORD_MISMATCH: 'The current password is not right.',
  SESSION_NOT_FOUND: 'That session no longer exists.',
  USER_NOT_FOUND: 'No such user in this account.',
  HARDWARE_TOKEN_NOT_FOUND: 'No token with this serial number in the inventory.',
  HARDWARE_TOKEN_UNAVAILABLE: 'This token cannot be assigned now (it is assigned, lost or retired).',
  HARDWARE_TOKEN_SERIAL_TAKEN: 'The inventory already holds a token from this file; nothing was imported.',
  PSKC_FORBIDDEN_DTD: 'The file contains markup declarations (DOCTYPE or ENTITY), which are refused.',
  PSKC_MALFORMED: 'The file is not a valid PSKC key container.',
  PSKC_TOO_LARGE: 'The file is too large or holds too many tokens.',
  PSKC_KEY_REQUIRED: 'The file is encrypted: enter its pre-shared key.',
  PSKC_DECRYPT_FAILED: 'The file could not be decrypted: check the pre-shared key.',
  PSKC_MAC_MISSING: 'The encrypted file carries no integrity check (MAC) and is refused.',
  PSKC_UNSUPPORTED: 'The file uses an algorithm or encoding Holdfast does not support.',
  REQUEST_INVALID: 'Some of the values entered are not valid.',
  REQUEST_TOO_LARGE: 'That is too large to send.',
  REQUEST_ROUTE_NOT_FOUND: 'This server does not offer that function.',
  NETWORK_ERROR: 'The server could not be reached. Check your connection and try again.',
  INTERNAL_ERROR: 'Something went wrong on the server.',
};

/** Words for an error, with its code (and request id, which helps an administrator find the log line). */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const words = WORDS[err.code] ?? err.message;
    const retry =
      typeof err.details.retryAfterSeconds === 'number'
        ? ` Retry in ${err.details.retryAfterSeconds} s.`
        : '';
    const ref = err.requestId ? `, request ${err.requestId}` : '';
    return `${words}${retry} (${err.code}${ref})`;
  }
  // A WebAuthn ceremony the browser ended (cancelled, timed out, wrong address, no matching key).
  const ceremony = describeWebAuthnError(err);
  if (ceremony !== null) return ceremony;
  return 'The console could not finish this. Reload the page and try again.';
}
