import { describe, expect, it } from 'vitest';
import {
  ADMINISTRATION_WRITE_ACTIONS,
  ENROLMENT_ACTIONS,
  FACTOR_SENSITIVE_ACTIONS,
} from '../core/policy/catalog.js';
import { actionTraits, ALL_ACTIONS, type Action } from './actions.js';

describe('the action catalog', () => {
  const catalog = new Set<string>(ALL_ACTIONS);

  it('names every action the guardrails and the linter reason about', () => {
    for (const name of [...FACTOR_SENSITIVE_ACTIONS, ...ENROLMENT_ACTIONS, ...ADMINISTRATION_WRITE_ACTIONS]) {
      expect(catalog.has(name), name).toBe(true);
    }
  });

  it('treats every administration write as administration (G2) and factor removal as factor-sensitive (G1)', () => {
    for (const name of ADMINISTRATION_WRITE_ACTIONS) {
      expect(actionTraits(name as Action).administration, name).toBe(true);
    }
    expect(actionTraits('iam:DeactivateMFADevice').factorSensitive).toBe(true);
    expect(actionTraits('iam:ResyncMFADevice').factorSensitive).toBe(true);
    expect(actionTraits('iam:GetUser')).toEqual({ administration: false, factorSensitive: false });
  });

  it('uses IAM names for IAM operations and holdfast: for the rest, each once', () => {
    expect(new Set(ALL_ACTIONS).size).toBe(ALL_ACTIONS.length);
    for (const name of ALL_ACTIONS) expect(name).toMatch(/^(iam|sts|holdfast):[A-Z][A-Za-z]+$/);
  });
});
