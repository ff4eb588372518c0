import { describe, expect, it } from 'vitest';
import { HoldfastError } from '../errors.js';
import { checkPasswordRules, PASSWORD_MAX_LENGTH } from './password-rules.js';

const common = new Set(['password', 'qwerty123456', 'iloveyou']);
const check = (password: string, minLength = 12, contextWords: string[] = []) =>
  checkPasswordRules(password, { minLength, commonPasswords: common, contextWords });
const codeOf = (fn: () => void) => {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as HoldfastError).code;
  }
};

describe('password rules (NIST SP 800-63B §5.1.1.2)', () => {
  it('accepts a long passphrase without composition rules', () => {
    expect(codeOf(() => check('correct horse battery staple'))).toBeNull();
    expect(codeOf(() => check('alllowercaseletters'))).toBeNull();
  });
  it('rejects passwords under the minimum length, counted in code points', () => {
    expect(codeOf(() => check('elevenchars'))).toBe('PASSWORD_TOO_SHORT');
    expect(codeOf(() => check('😀😀😀😀😀😀😀😀😀😀😀'))).toBe('PASSWORD_TOO_SHORT');
    expect(codeOf(() => check('😀😀😀😀😀😀😀😀😀😀😀x'))).toBeNull();
  });
  it('honours a configured minimum', () => {
    expect(codeOf(() => check('eightchr', 8))).toBeNull();
    expect(codeOf(() => check('sevench', 8))).toBe('PASSWORD_TOO_SHORT');
  });
  it('accepts up to the maximum and no further', () => {
    expect(codeOf(() => check('a1'.repeat(64)))).toBe('PASSWORD_TOO_COMMON'); // repetitive
    expect(
      codeOf(() => check('x'.repeat(10) + 'correct horse battery staple '.repeat(4).slice(0, 118))),
    ).toBeNull();
    const long = Array.from({ length: PASSWORD_MAX_LENGTH + 1 }, (_, i) =>
      String.fromCharCode(97 + ((i * 7) % 26)),
    ).join('');
    expect(codeOf(() => check(long))).toBe('PASSWORD_TOO_LONG');
    expect(codeOf(() => check(long.slice(0, PASSWORD_MAX_LENGTH)))).toBeNull();
  });
  it('rejects common passwords, also with digits or symbols appended, in any case', () => {
    expect(codeOf(() => check('QWERTY123456'))).toBe('PASSWORD_TOO_COMMON');
    expect(codeOf(() => check('password2024!'))).toBe('PASSWORD_TOO_COMMON');
    expect(codeOf(() => check('iloveyou12345678'))).toBe('PASSWORD_TOO_COMMON');
  });
  it('rejects repetitive and context-specific passwords', () => {
    expect(codeOf(() => check('aaaaaaaaaaaaaaaa'))).toBe('PASSWORD_TOO_COMMON');
    expect(codeOf(() => check('abcabcabcabcabc'))).toBe('PASSWORD_TOO_COMMON');
    expect(codeOf(() => check('alice@example.com', 12, ['alice@example.com']))).toBe('PASSWORD_TOO_COMMON');
  });
});
