import { HoldfastError } from '../errors.js';

/** Longest password accepted; NIST SP 800-63B §5.1.1.2 asks for at least 64, the issue for 128. */
export const PASSWORD_MAX_LENGTH = 256;
/** Default minimum length (NIST SP 800-63B allows 8; we ask for 12). */
export const PASSWORD_DEFAULT_MIN_LENGTH = 12;

/** Options for checking a new password. */
export interface PasswordRuleOptions {
  minLength: number;
  /** Lower-cased list of common or breached passwords to reject. */
  commonPasswords: ReadonlySet<string>;
  /** Words specific to the context (account name, e-mail, user name) that must not be the password. */
  contextWords?: readonly string[];
}

/**
 * Checks a new password against NIST SP 800-63B §5.1.1.2: a length floor, a generous ceiling,
 * no composition rules, and rejection of commonly used or context-specific passwords.
 * Length counts Unicode code points after NFKC normalisation, as §5.1.1.2 recommends.
 */
export function checkPasswordRules(password: string, options: PasswordRuleOptions): void {
  const normalised = password.normalize('NFKC');
  const length = [...normalised].length;
  if (length < options.minLength) {
    throw new HoldfastError(
      'PASSWORD_TOO_SHORT',
      `password must have at least ${options.minLength} characters`,
      {
        details: { minLength: options.minLength },
      },
    );
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new HoldfastError(
      'PASSWORD_TOO_LONG',
      `password must have at most ${PASSWORD_MAX_LENGTH} characters`,
      {
        details: { maxLength: PASSWORD_MAX_LENGTH },
      },
    );
  }
  const lower = normalised.toLowerCase();
  // A common word with digits or symbols stuck on the end ("password2024!") is still common.
  const stem = lower.replace(/[^\p{L}]+$/u, '');
  if (options.commonPasswords.has(lower) || options.commonPasswords.has(stem) || isRepetitive(lower)) {
    throw new HoldfastError('PASSWORD_TOO_COMMON');
  }
  for (const word of options.contextWords ?? []) {
    if (word.length >= 3 && lower === word.toLowerCase()) throw new HoldfastError('PASSWORD_TOO_COMMON');
  }
}

/** A password made of one repeated character or a short repeated pattern ("abcabcabcabc"). */
function isRepetitive(value: string): boolean {
  for (let size = 1; size <= 3; size++) {
    const unit = value.slice(0, size);
    if (unit.repeat(Math.ceil(value.length / size)).slice(0, value.length) === value) return true;
  }
  return false;
}
