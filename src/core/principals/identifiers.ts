import { HoldfastError } from '../errors.js';
import { randomString, type RandomSource } from '../random.js';

const DIGITS = '0123456789';
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Creates a 12-digit account id whose first digit is not 0 (so it never loses a digit as a number). */
export function newAccountId(random: RandomSource): string {
  return randomString(random, '123456789', 1) + randomString(random, DIGITS, 11);
}

/** Creates a principal id in the shape of an AWS unique user id (`AIDA` + 16 characters). */
export function newPrincipalId(random: RandomSource): string {
  return 'AIDA' + randomString(random, ID_ALPHABET, 16);
}

/** True for a syntactically valid 12-digit account id. */
export function isAccountId(value: string): boolean {
  return /^[0-9]{12}$/.test(value);
}

const ACCOUNT_NAME = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?$/;
/** Validates an account name (DNS-label shape, 3–63 characters, lower case). */
export function parseAccountName(value: string): string {
  const name = value.trim().toLowerCase();
  if (!ACCOUNT_NAME.test(name) || name.length < 3) {
    throw new HoldfastError('REQUEST_INVALID', 'account name must be 3-63 characters of a-z, 0-9 and -');
  }
  return name;
}

const USERNAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;
/** Validates a user name with the character set AWS IAM allows for user names. */
export function parseUsername(value: string): string {
  if (!USERNAME.test(value)) {
    throw new HoldfastError('REQUEST_INVALID', 'user name must be 1-64 characters of A-Z a-z 0-9 +=,.@_-');
  }
  return value;
}

/** Normalises and validates an e-mail address (lower-cased; a deliberately simple shape check). */
export function parseEmail(value: string): string {
  const email = value.trim().toLowerCase();
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new HoldfastError('REQUEST_INVALID', 'not a valid e-mail address');
  }
  return email;
}

/** Derives a default user name from an e-mail address. */
export function usernameFromEmail(email: string): string {
  return email.replace(/[^A-Za-z0-9+=,.@_-]/g, '_').slice(0, 64);
}
