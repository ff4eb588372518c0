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
