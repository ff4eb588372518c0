/**
 * Recognises a unique-constraint violation from either database driver (SQLite:
 * SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY; PostgreSQL: SQLSTATE 23505) and says which constraint
 * or columns it names, so use cases can answer with their own codes (USER_EMAIL_TAKEN, ...).
 * Returns null for any other error.
 */
export function uniqueViolation(err: unknown): { text: string } | null {
  const e = err as { code?: unknown; message?: unknown; detail?: unknown; constraint?: unknown } | null;
  if (e === null || typeof e !== 'object') return null;
  const code = typeof e.code === 'string' ? e.code : '';
  const isUnique =
    code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  if (!isUnique) return null;
  return { text: [e.message, e.detail, e.constraint].filter((v) => typeof v === 'string').join(' ') };
}
