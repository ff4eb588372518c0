/**
 * The users CSV of a bulk import: a header row naming `email` and `role` (and optionally
 * `username`), in any order and case, then one user per row. Fields follow RFC 4180 (commas,
 * double-quoted fields with `""` for a quote, CRLF or LF line ends). Pure: the app checks the
 * rows against the account.
 */

/** One user row of the file (`line` counts from 1, the header being line 1). */
export interface UserCsvRow {
  line: number;
  email: string;
  role: string;
  username: string | null;
}

/** A row the file itself gets wrong (before any lookup). */
export interface UserCsvProblem {
  line: number;
  code: 'REQUEST_INVALID';
  message: string;
}

/** Most rows one import takes. */
export const MAX_IMPORT_ROWS = 2000;

/** Splits CSV text into records of fields (RFC 4180 §2). */
function records(text: string): Array<{ line: number; fields: string[] }> {
  const out: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let startLine = 1;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0]!.trim() === '')) out.push({ line: startLine, fields });
    fields = [];
    field = '';
  };
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  while (i < body.length) {
    const c = body[i]!;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++;
      endRecord();
      line++;
      startLine = line;
    } else field += c;
    i++;
  }
  if (field !== '' || fields.length > 0) endRecord();
  return out;
}

/** Parses the import file; problems are reported per line, never thrown. */
export function parseUserCsv(text: string): { rows: UserCsvRow[]; problems: UserCsvProblem[] } {
  const all = records(text);
  const problems: UserCsvProblem[] = [];
  const header = all.shift();
  if (header === undefined) {
    return { rows: [], problems: [{ line: 1, code: 'REQUEST_INVALID', message: 'the file is empty' }] };
  }
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const at = (name: string) => names.indexOf(name);
  if (at('email') < 0 || at('role') < 0) {
    return {
      rows: [],
      problems: [
        {
          line: header.line,
          code: 'REQUEST_INVALID',
          message: 'the header row must name the columns email and role',
        },
      ],
    };
  }
  const unknown = names.filter((n) => !['email', 'role', 'username'].includes(n));
  if (unknown.length > 0) {
    problems.push({
      line: header.line,
      code: 'REQUEST_INVALID',
      message: `unknown column ${unknown.join(', ')} (allowed: email, role, username)`,
    });
  }
  if (all.length > MAX_IMPORT_ROWS) {
    problems.push({
      line: all[MAX_IMPORT_ROWS]!.line,
      code: 'REQUEST_INVALID',
      message: `at most ${MAX_IMPORT_ROWS} users per import`,
    });
    return { rows: [], problems };
  }
  const rows: UserCsvRow[] = [];
  for (const r of all) {
    if (r.fields.length !== names.length) {
      problems.push({
        line: r.line,
        code: 'REQUEST_INVALID',
        message: `expected ${names.length} fields, found ${r.fields.length}`,
      });
      continue;
    }
    const username = at('username') < 0 ? '' : r.fields[at('username')]!.trim();
    rows.push({
      line: r.line,
      email: r.fields[at('email')]!.trim(),
      role: r.fields[at('role')]!.trim().toLowerCase(),
      username: username === '' ? null : username,
    });
  }
  if (rows.length === 0 && problems.length === 0) {
    problems.push({ line: header.line, code: 'REQUEST_INVALID', message: 'the file has no user rows' });
  }
  return { rows, problems };
}
