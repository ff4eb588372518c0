import { StorageConflict } from '../core/ports.js';

/**
 * The only place that reads driver error codes for unique constraints. SQLite reports
 * SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY with "UNIQUE constraint failed: t.a, t.b"; PostgreSQL
 * reports SQLSTATE 23505 with the table and "Key (a, b)=(...) already exists." Returns a
 * {@link StorageConflict} naming the table and columns, or null for any other error.
 */
export function storageConflictOf(err: unknown): StorageConflict | null {
  const e = err as { code?: unknown; message?: unknown; detail?: unknown; table?: unknown } | null;
  if (e === null || typeof e !== 'object') return null;
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const listed =
      typeof e.message === 'string' ? /constraint failed: (.*)$/.exec(e.message)?.[1] : undefined;
    const qualified = (listed ?? '').split(',').map((c) => c.trim().split('.'));
    const table = qualified[0]?.length === 2 ? qualified[0][0]! : '';
    const columns = qualified.filter((q) => q.length === 2).map((q) => q[1]!);
    return new StorageConflict({ table, columns, cause: err });
  }
  if (e.code === '23505') {
    const table = typeof e.table === 'string' ? e.table : '';
    const listed = typeof e.detail === 'string' ? /^Key \(([^)]*)\)=/.exec(e.detail)?.[1] : undefined;
    const columns = (listed ?? '')
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    return new StorageConflict({ table, columns, cause: err });
  }
  return null;
}

/** Rethrows `err`, as a {@link StorageConflict} when it is a unique-constraint refusal. */
export function rethrowAsConflict(err: unknown): never {
  throw storageConflictOf(err) ?? err;
}
