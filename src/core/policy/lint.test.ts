import { describe, expect, it } from 'vitest';
import { AWS_FLAWED_NOV_2018, AWS_MANAGE_OWN_MFA_PAGE } from '../../../test/fixtures/aws-sample-policies.js';
import { lintPolicy, type LintFinding } from './lint.js';

const doc = (statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const codes = (findings: LintFinding[]) => findings.map((f) => f.code).sort();

/** §5.6(b), the 21 Nov 2018 tutorial revision, and §5.5, the current "Security credentials page" sample. */
const AWS_2018_TUTORIAL = JSON.stringify(AWS_FLAWED_NOV_2018);
const AWS_SECURITY_CREDENTIALS_SAMPLE = JSON.stringify(AWS_MANAGE_OWN_MFA_PAGE);

describe('lintPolicy', () => {
  it('flags the 2018 AWS tutorial policy that let DeactivateMFADevice through without MFA, and says why', () => {
    const result = lintPolicy(AWS_2018_TUTORIAL);
    const deactivate = result.findings.find(
      (f) => f.code === 'MFA_SENSITIVE_WITHOUT_MFA' && f.message.includes('iam:DeactivateMFADevice'),
    );
    expect(deactivate).toBeDefined();
    expect(deactivate!.statement).toBe(0);
    expect(deactivate!.sid).toBe('AllowManageOwnVirtualMFADevice');
    expect(deactivate!.message).toContain('long-term access keys');
    expect(deactivate!.message).toContain('exempts it through NotAction');
    expect(deactivate!.message).toContain('BlockMostAccessUnlessSignedInWithMFA');
    expect(result.findings.some((f) => f.code === 'ENROLMENT_WITHOUT_MFA')).toBe(true);
    expect(result.errors).toBe(0);
  });

  it('does not flag DeactivateMFADevice in the current sample, whose deny covers it; still flags Resync', () => {
    const result = lintPolicy(AWS_SECURITY_CREDENTIALS_SAMPLE);
    const sensitive = result.findings.filter((f) => f.code === 'MFA_SENSITIVE_WITHOUT_MFA');
    expect(sensitive).toHaveLength(1);
    expect(sensitive[0]!.message).toContain('iam:ResyncMFADevice');
    expect(sensitive[0]!.message).not.toContain('iam:DeactivateMFADevice');
  });

  it('is an error to deny with Bool MultiFactorAuthPresent false (long-term keys bypass it)', () => {
    const result = lintPolicy(
      doc([
        { Sid: 'Admin', Effect: 'Allow', Action: 'iam:*', Resource: '*' },
        {
          Sid: 'DenyNoMfa',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } },
        },
      ]),
    );
    expect(result.errors).toBe(1);
    const pitfall = result.findings.find((f) => f.code === 'BOOL_ON_ABSENT_KEY')!;
    expect(pitfall.severity).toBe('error');
    expect(pitfall.statement).toBe(1);
    expect(pitfall.message).toContain('BoolIfExists');
    // The allow is exposed to long-term keys (the Bool deny does not apply to them) but not to sessions.
    const admin = result.findings.find((f) => f.code === 'ADMIN_WITHOUT_MFA')!;
    expect(admin.message).toContain('long-term access keys');
    expect(admin.message).not.toContain('a session without MFA');
    expect(admin.message).toContain('uses Bool');
    expect(codes(result.findings)).toContain('IAM_WILDCARD');
  });

  it('accepts the same policy with BoolIfExists: nothing is exposed', () => {
    const result = lintPolicy(
      doc([
        {
          Sid: 'Admin',
          Effect: 'Allow',
          Action: ['iam:CreateUser', 'iam:DeactivateMFADevice'],
          Resource: '*',
        },
        {
          Sid: 'DenyNoMfa',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
        },
      ]),
    );
    expect(result.findings).toEqual([]);
  });

  it('accepts allows conditioned on MFA presence or age', () => {
    const result = lintPolicy(
      doc([
        {
          Effect: 'Allow',
          Action: ['iam:DeactivateMFADevice', 'iam:CreateUser'],
          Resource: '*',
          Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
        },
        {
          Effect: 'Allow',
          Action: ['iam:DeleteUser'],
          Resource: '*',
          Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '900' } },
        },
      ]),
    );
    expect(result.findings).toEqual([]);
  });

  it('warns about BoolIfExists true in an allow (long-term keys get in without MFA)', () => {
    const result = lintPolicy(
      doc([
        {
          Sid: 'ConsoleCheckbox',
          Effect: 'Allow',
          Action: 'iam:CreateUser',
          Resource: '*',
          Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } },
        },
      ]),
    );
    expect(codes(result.findings)).toEqual(['ADMIN_WITHOUT_MFA', 'IF_EXISTS_ADMITS_LONG_TERM_KEYS']);
    const exposure = result.findings.find((f) => f.code === 'ADMIN_WITHOUT_MFA')!;
    expect(exposure.message).toContain('long-term access keys');
    expect(exposure.message).not.toContain('a session without MFA');
  });

  it('warns about Null used as an MFA test', () => {
    const result = lintPolicy(
      doc([
        {
          Effect: 'Allow',
          Action: 'iam:ListUsers',
          Resource: '*',
          Condition: { Null: { 'aws:MultiFactorAuthPresent': 'false' } },
        },
      ]),
    );
    expect(codes(result.findings)).toEqual(['NULL_IS_NOT_MFA']);
  });

  it('warns that a NotAction allow grants more than it seems, including administration', () => {
    const result = lintPolicy(
      doc([{ Sid: 'AllButBilling', Effect: 'Allow', NotAction: 'aws-portal:*', Resource: '*' }]),
    );
    expect(codes(result.findings)).toEqual([
      'ADMIN_WITHOUT_MFA',
      'ENROLMENT_WITHOUT_MFA',
      'MFA_SENSITIVE_WITHOUT_MFA',
      'NOT_ACTION_ALLOW',
    ]);
    expect(result.findings.every((f) => f.statement === 0 && f.sid === 'AllButBilling')).toBe(true);
  });

  it('warns about iam:* and * wildcards in allows', () => {
    for (const action of ['iam:*', '*', 'IAM:*']) {
      const result = lintPolicy(
        doc([
          {
            Effect: 'Allow',
            Action: action,
            Resource: '*',
            Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
          },
        ]),
      );
      expect(codes(result.findings)).toEqual(['IAM_WILDCARD']);
    }
  });

  it('reports a document that does not parse as one error with the parser code', () => {
    expect(lintPolicy('{')).toMatchObject({
      errors: 1,
      warnings: 0,
      findings: [{ code: 'POLICY_MALFORMED' }],
    });
    expect(lintPolicy(doc([{ Effect: 'Allow', Action: 'iam:GetUser' }])).findings[0]!.code).toBe(
      'POLICY_MALFORMED',
    );
  });

  it('ignores read-only self-service policies', () => {
    const result = lintPolicy(
      doc([
        {
          Effect: 'Allow',
          Action: ['iam:GetUser', 'iam:ListMFADevices'],
          Resource: 'arn:aws:iam::*:user/${aws:username}',
        },
      ]),
    );
    expect(result).toEqual({ findings: [], errors: 0, warnings: 0 });
  });
});
