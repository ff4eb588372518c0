/**
 * docs/aws-api.md lists every operation the AWS Query API answers, one table row each (service,
 * operation, supported, difference from AWS), and nothing the router does not answer.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AWS_OPERATIONS } from '../../src/http/aws/router.js';

const doc = readFileSync(new URL('../../docs/aws-api.md', import.meta.url), 'utf8');
const rows = [...doc.matchAll(/^\|\s*(iam|sts)\s*\|\s*`([A-Za-z]+)`\s*\|\s*([a-z]+)\s*\|(.*)\|\s*$/gm)].map(
  (m) => ({
    key: `${m[1]}:${m[2]}`,
    supported: m[3]!,
    difference: m[4]!.trim(),
  }),
);

describe('docs/aws-api.md: the table of supported operations', () => {
  it('has one row per operation of the router, and no other', () => {
    const routed = Object.entries(AWS_OPERATIONS).flatMap(([service, ops]) =>
      Object.keys(ops).map((name) => `${service}:${name}`),
    );
    const documented = rows.map((r) => r.key);
    expect(new Set(documented).size, 'a row appears twice').toBe(documented.length);
    expect([...documented].sort()).toEqual([...routed].sort());
  });
  it('says yes or partial, and a partial row names its difference', () => {
    for (const row of rows) {
      expect(['yes', 'partial'], row.key).toContain(row.supported);
      if (row.supported === 'partial') expect(row.difference, row.key).not.toBe('');
    }
  });
});
