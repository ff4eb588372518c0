/**
 * Database faults as Holdfast errors. A database that is gone (PostgreSQL restarting, a network
 * cut), busy (every pooled connection taken, a statement past its timeout, an SQLite lock held
 * elsewhere), full (the disk under SQLite) or read-only must answer as the temporary condition it
 * is: a typed error the HTTP face turns into 503 with Retry-After, never an internal error with
 * a driver's message. This file and conflicts.ts are the only readers of driver error codes.
 */
import { HoldfastError, isHoldfastError } from '../core/errors.js';
import type { Store } from '../core/ports.js';

/** Node's socket errors that mean "the database server is not there (now)". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
]);

/** The pg driver's own errors (no SQLSTATE) when a connection fails or the pool is exhausted. */
const PG_CONNECTION_MESSAGES = [
  /^Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /Client was closed and is not queryable/i,
  /connect ECONNREFUSED/i,
];

function codeOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/**
 * The Holdfast error for a database fault, or null when `err` is not one (a bug, a constraint:
 * those keep their own handling). Messages are fixed texts: no URL, query or value leaks out.
 */
export function storageFault(err: unknown): HoldfastError | null {
  if (err === null || typeof err !== 'object' || isHoldfastError(err)) return null;
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : '';
  if (code !== null) {
    // SQLite (better-sqlite3 names the extended result code).
    if (code === 'SQLITE_FULL') {
      return new HoldfastError('STORAGE_FULL', 'the disk holding the database is full; nothing was written', {
        cause: err,
      });
    }
    if (code.startsWith('SQLITE_READONLY')) {
      return new HoldfastError('STORAGE_READ_ONLY', 'the database file or its folder is read-only', {
        cause: err,
      });
    }
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      return new HoldfastError('STORAGE_UNAVAILABLE', 'the database is locked by another process', {
        cause: err,
      });
    }
    if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) {
      return new HoldfastError('STORAGE_UNAVAILABLE', 'the database file cannot be read or written', {
        cause: err,
      });
    }
    // PostgreSQL SQLSTATE (Appendix A of its manual): class 08 connection exception, 57P01-03
    // shutting down or starting up, 53300 too many connections, 57014 statement timeout.
    if (/^08[0-9A-Z]{3}$/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code)) {
      return new HoldfastError('STORAGE_UNAVAILABLE', 'the database is not reachable', { cause: err });
    }
    if (code === '57014') {
      return new HoldfastError('STORAGE_UNAVAILABLE', 'the database did not answer in time', { cause: err });
    }
    // The file system under SQLite (checked at start, before SQLite opens the file).
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
      return new HoldfastError(
        'STORAGE_READ_ONLY',
        code === 'EROFS'
          ? 'the database is on a read-only file system'
          : 'the database file or its folder is not writable by this user',
        { cause: err },
      );
    }
    if (code === 'ENOSPC') {
      return new HoldfastError('STORAGE_FULL', 'the disk holding the database is full; nothing was written', {
        cause: err,
      });
    }
    if (NETWORK_CODES.has(code)) {
      return new HoldfastError('STORAGE_UNAVAILABLE', 'the database is not reachable', { cause: err });
    }
  }
  if (PG_CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) {
    return new HoldfastError('STORAGE_UNAVAILABLE', 'the database is not reachable', { cause: err });
  }
  // Node wraps "every address refused" in an AggregateError whose parts carry the codes.
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const fault = storageFault(inner);
      if (fault !== null) return fault;
    }
  }
  return null;
}

function translate(err: unknown): never {
  throw storageFault(err) ?? err;
}

function wrapMethods<T extends object>(target: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(target)) {
    wrapped[name] =
      typeof value === 'function'
        ? (...args: unknown[]) => {
            let result: unknown;
            try {
              result = (value as (...a: unknown[]) => unknown).apply(target, args);
            } catch (err) {
              translate(err);
            }
            return result instanceof Promise ? result.catch(translate) : result;
          }
        : value;
  }
  return wrapped as T;
}

/**
 * The store with every database fault turned into its Holdfast error: each repository method
 * called outside a transaction, and each transaction as a whole (what its work's statements
 * raised comes out of it).
 */
export function withStorageFaults(store: Store): Store {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(store)) {
    if (typeof value === 'function') wrapped[name] = wrapMethods({ [name]: value })[name];
    else if (value !== null && typeof value === 'object') wrapped[name] = wrapMethods(value as object);
    else wrapped[name] = value;
  }
  return wrapped as unknown as Store;
}
