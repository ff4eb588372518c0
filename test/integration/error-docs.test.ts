import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.js';
import { HTTP_STATUS } from '../../src/http/error-status.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `([A-Z0-9_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => [
    m[1]!,
    { status: Number(m[2]), meaning: m[3]! },
  ]),
);

describe('docs/errors.md', () => {
  it('lists every error code with its HTTP status, and nothing else', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, row] of rows)
      expect(row.status, code).toBe(HTTP_STATUS[code as keyof typeof HTTP_STATUS]);
  });
  it('uses SCREAMING_SNAKE codes with a module prefix', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^[A-Z]+_[A-Z0-9_]+$/);
  });
  it('maps every code to a 4xx or 5xx status', () => {
    for (const status of Object.values(HTTP_STATUS)) expect(status >= 400 && status < 600).toBe(true);
  });
});
