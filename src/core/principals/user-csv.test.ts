import { describe, expect, it } from 'vitest';
import { parseUserCsv } from './user-csv.js';

describe('the users CSV of a bulk import (RFC 4180)', () => {
  it('reads the header in any order and case, quoted fields, CRLF, a BOM and blank lines', () => {
    const csv =
      '\uFEFFRole,Email,username\r\nadmin,"ann@acme.test",ann\r\n\r\nuser,"bob, jr@acme.test",\nuser,"c""q@acme.test",carl\n';
    expect(parseUserCsv(csv)).toEqual({
      rows: [
        { line: 2, email: 'ann@acme.test', role: 'admin', username: 'ann' },
        { line: 4, email: 'bob, jr@acme.test', role: 'user', username: null },
        { line: 5, email: 'c"q@acme.test', role: 'user', username: 'carl' },
      ],
      problems: [],
    });
  });

  it('reports a missing header column, unknown columns, short rows and an empty file by line', () => {
    expect(parseUserCsv('email,name\nann@acme.test,Ann\n').problems).toEqual([
      { line: 1, code: 'REQUEST_INVALID', message: 'the header row must name the columns email and role' },
    ]);
    const bad = parseUserCsv('email,role,team\nann@acme.test,user,x\nbob@acme.test,user\n');
    expect(bad.problems.map((p) => p.line)).toEqual([1, 3]);
    expect(parseUserCsv('').problems[0]!.message).toBe('the file is empty');
    expect(parseUserCsv('email,role\n').problems[0]!.message).toBe('the file has no user rows');
  });
});
