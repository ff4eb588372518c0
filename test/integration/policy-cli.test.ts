import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_POLICY_DOCUMENTS } from '../../src/core/policy/builtin-roles.js';
import { AWS_FLAWED_NOV_2018 } from '../fixtures/aws-sample-policies.js';
import { assertCliBuilt, runCli } from '../helpers/processes.js';

describe('holdfast policy', () => {
  let dir: string;
  beforeAll(() => {
    assertCliBuilt();
    dir = mkdtempSync(join(tmpdir(), 'holdfast-policy-'));
  });

  it('lint flags the flawed AWS sample, says why, and exits 0 on warnings only', async () => {
    const file = join(dir, 'flawed.json');
    writeFileSync(file, JSON.stringify(AWS_FLAWED_NOV_2018));
    const text = await runCli(['policy', 'lint', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('MFA_SENSITIVE_WITHOUT_MFA');
    expect(text.stdout).toContain('iam:DeactivateMFADevice');
    expect(text.stdout).toContain('exempts it through NotAction');
    const json = (await runCli(['policy', 'lint', file, '--json'])).json<{
      errors: number;
      warnings: number;
      findings: Array<{ code: string }>;
    }>();
    expect(json.errors).toBe(0);
    expect(json.warnings).toBe(json.findings.length);
    expect(json.findings.map((f) => f.code)).toContain('MFA_SENSITIVE_WITHOUT_MFA');
  });

  it('lint exits 1 on errors, reads standard input, and reports an unreadable file with a code', async () => {
    const bad = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } },
        },
      ],
    });
    const res = await runCli(['policy', 'lint', '-', '--json'], { stdin: bad });
    expect(res.code).toBe(1);
    expect(res.json<{ findings: Array<{ code: string }> }>().findings.map((f) => f.code)).toEqual([
      'BOOL_ON_ABSENT_KEY',
    ]);
    const missing = await runCli(['policy', 'lint', join(dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.errorCode).toBe('REQUEST_INVALID');
  });

  it('show prints the built-in role policies', async () => {
    const res = await runCli(['policy', 'show', '--role', 'helpdesk']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual(JSON.parse(BUILTIN_POLICY_DOCUMENTS.helpdesk));
  });
});
