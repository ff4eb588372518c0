import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { HoldfastError } from '../core/errors.js';
import type { Repositories } from '../core/ports.js';
import { ACTIONS } from './actions.js';
import type { RequestContext } from './context.js';
import type { AppDeps } from './deps.js';
import { runCommand } from './kernel.js';

/** A store whose transactions record what they appended and whether they committed. */
function fakeDeps() {
  const log = { transactions: 0, committed: [] as string[][], rolledBack: 0 };
  const store = {
    async transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
      log.transactions++;
      const appended: string[] = [];
      const tx = {
        audit: {
          append: (event: { action: string }) => {
            appended.push(event.action);
            return Promise.resolve();
          },
        },
      } as unknown as Repositories;
      try {
        const value = await work(tx);
        log.committed.push(appended);
        return value;
      } catch (err) {
        log.rolledBack++;
        throw err;
      }
    },
  };
  const deps = {
    store,
    clock: new ManualClock(Date.UTC(2026, 0, 1)),
    random: { bytes: (n: number) => new Uint8Array(n) },
  } as unknown as AppDeps;
  return { deps, log };
}

const ctx: RequestContext = { requestId: 'req', sourceIp: null, userAgent: 'test' };
const fact = { accountId: 'acc', action: 'thing.change', target: 't' };

describe('runCommand', () => {
  it('runs the work in one transaction and writes its one audit record there', async () => {
    const { deps, log } = fakeDeps();
    const value = await runCommand(deps, { kind: 'operator' }, ctx, null, async (uow) => {
      uow.record(fact);
      return Promise.resolve(42);
    });
    expect(value).toBe(42);
    expect(log.transactions).toBe(1);
    expect(log.committed).toEqual([['thing.change']]);
  });

  it("appends the face's call record after the command's record, in the same transaction", async () => {
    const { deps, log } = fakeDeps();
    const calls: string[] = [];
    const withCall: RequestContext = {
      ...ctx,
      call: {
        async appendWithChange(tx, change) {
          calls.push(change.action);
          await tx.audit.append({ action: 'aws.call' } as never, { now: 0, eventId: 'evt' });
        },
      },
    };
    await runCommand(deps, { kind: 'operator' }, withCall, null, (uow) => {
      uow.record(fact);
      return Promise.resolve(null);
    });
    expect(calls).toEqual(['thing.change']);
    expect(log.committed).toEqual([['thing.change', 'aws.call']]);
  });

  it('a work that sets no record, or two, is rolled back with INTERNAL_ERROR', async () => {
    const { deps, log } = fakeDeps();
    await expect(
      runCommand(deps, { kind: 'operator' }, ctx, null, () => Promise.resolve(1)),
    ).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    await expect(
      runCommand(deps, { kind: 'operator' }, ctx, null, (uow) => {
        uow.record(fact);
        uow.record(fact);
        return Promise.resolve(1);
      }),
    ).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(log.rolledBack).toBe(2);
    expect(log.committed).toEqual([]);
  });

  it('failAfterCommit commits what the work counted, then throws its refusal', async () => {
    const { deps, log } = fakeDeps();
    const refusal = new HoldfastError('MFA_FAILED');
    await expect(
      runCommand(deps, null, ctx, null, async (uow) => {
        await uow.tx.audit.append({ action: 'auth.mfa_sign_in' } as never, { now: 0, eventId: 'evt' });
        return uow.failAfterCommit(refusal);
      }),
    ).rejects.toBe(refusal);
    expect(log.rolledBack).toBe(0);
    expect(log.committed).toEqual([['auth.mfa_sign_in']]);
  });

  it('an error thrown by the work rolls everything back', async () => {
    const { deps, log } = fakeDeps();
    await expect(
      runCommand(deps, { kind: 'operator' }, ctx, null, (uow) => {
        uow.record(fact);
        throw new HoldfastError('FACTOR_NAME_TAKEN');
      }),
    ).rejects.toMatchObject({ code: 'FACTOR_NAME_TAKEN' });
    expect(log.committed).toEqual([]);
    expect(log.rolledBack).toBe(1);
  });

  it('an authorized command needs an actor; the operator passes without a store read', async () => {
    const { deps, log } = fakeDeps();
    const authorization = { action: ACTIONS.CreateVirtualMFADevice, resource: { accountId: 'acc' } };
    await expect(runCommand(deps, null, ctx, authorization, () => Promise.resolve(1))).rejects.toMatchObject({
      code: 'AUTH_SESSION_REQUIRED',
    });
    expect(log.transactions).toBe(0);
    await runCommand(deps, { kind: 'operator' }, ctx, authorization, (uow) => {
      uow.record(fact);
      return Promise.resolve(1);
    });
    expect(log.committed).toEqual([['thing.change']]);
  });
});
