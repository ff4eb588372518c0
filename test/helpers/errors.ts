/**
 * Assertions that name the error they expect. A bare `.toThrow()` passes on any failure (a
 * typo, a missing mock, a database down); these pass only on the Holdfast error code asked for.
 * Plain programming errors (a `TypeError` from a guard) are pinned by message instead.
 */
import { expect } from 'vitest';
import { HoldfastError, type ErrorCode } from '../../src/core/errors.js';

function checked(err: unknown, code: ErrorCode): HoldfastError {
  expect(err, `expected a HoldfastError ${code}`).toBeInstanceOf(HoldfastError);
  expect((err as HoldfastError).code).toBe(code);
  return err as HoldfastError;
}

/** `run()` throws a HoldfastError with `code`; returns it for further checks. */
export function expectCode(run: () => unknown, code: ErrorCode): HoldfastError {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) throw new Error(`expected ${code}, nothing was thrown`);
  return checked(thrown, code);
}

/** `promise` rejects with a HoldfastError with `code`; returns it for further checks. */
export async function expectRejectCode(
  promise: PromiseLike<unknown>,
  code: ErrorCode,
): Promise<HoldfastError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) throw new Error(`expected ${code}, the promise resolved`);
  return checked(thrown, code);
}

/** The driver codes of a constraint violation, by constraint kind (SQLite / PostgreSQL SQLSTATE). */
const CONSTRAINT_CODES = {
  unique: ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY', '23505'],
  foreignKey: ['SQLITE_CONSTRAINT_FOREIGNKEY', '23503'],
} as const;

/**
 * `promise` rejects because the database refused a row on a constraint of this kind (a unique
 * name, a key still referenced), as either driver reports it; any other failure fails the test.
 */
export async function expectConstraintViolation(
  promise: PromiseLike<unknown>,
  kind: keyof typeof CONSTRAINT_CODES,
): Promise<void> {
  let thrown: unknown;
  try {
    await promise;
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) throw new Error(`expected a ${kind} constraint violation, the promise resolved`);
  expect(CONSTRAINT_CODES[kind] as readonly string[]).toContain((thrown as { code?: unknown }).code);
}
