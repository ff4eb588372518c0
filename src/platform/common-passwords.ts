import { dictionary } from '@zxcvbn-ts/language-common';

let cached: ReadonlySet<string> | undefined;

/**
 * The bundled list of commonly used and breached passwords (the password frequency list that
 * ships with @zxcvbn-ts/language-common), lower-cased, for NIST SP 800-63B §5.1.1.2 blocklisting.
 */
export function commonPasswords(): ReadonlySet<string> {
  if (cached === undefined) {
    const words = (dictionary as Record<string, unknown>)['passwords-common'];
    if (!Array.isArray(words))
      throw new Error('common password list missing from @zxcvbn-ts/language-common');
    cached = new Set(words.map((w) => String(w).toLowerCase()));
  }
  return cached;
}
