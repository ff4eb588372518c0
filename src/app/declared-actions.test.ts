/**
 * A face's declared action is the source of truth (DESIGN.md convention 7): a use case that
 * authorizes an action the route does not declare is refused before any decision, for every
 * actor, so a route and its use case cannot silently disagree. Every integration test that calls
 * a route runs through this check; here it is pinned on its own.
 */
import { describe, expect, it } from 'vitest';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { RequestContext } from './context.js';
import type { AppDeps } from './deps.js';

/** Nothing is reached before the check or for the operator: deps stay empty. */
const deps = {} as AppDeps;
const operator = { kind: 'operator' } as const;
const ctx = (declaredActions?: string[]): RequestContext => ({
  requestId: 'r1',
  sourceIp: null,
  userAgent: null,
  ...(declaredActions === undefined ? {} : { declaredActions }),
});

describe('authorize holds a use case to the action its route declares', () => {
  it('refuses an action the route did not declare (INTERNAL_ERROR), whoever asks', async () => {
    await expect(
      authorize(
        deps,
        operator,
        ACTIONS.DeleteVirtualMFADevice,
        { accountId: 'a' },
        ctx([ACTIONS.ListMFADevices]),
      ),
    ).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
  });

  it('lets the declared action and the route’s alsoAuthorizes through to the decision', async () => {
    const declared = ctx([ACTIONS.DeactivateMFADevice, ACTIONS.DeleteVirtualMFADevice]);
    await expect(
      authorize(deps, operator, ACTIONS.DeactivateMFADevice, { accountId: 'a' }, declared),
    ).resolves.toBeUndefined();
    await expect(
      authorize(deps, operator, ACTIONS.DeleteVirtualMFADevice, { accountId: 'a' }, declared),
    ).resolves.toBeUndefined();
  });

  it('leaves faces that declare nothing (the CLI, in-process callers) to the use case', async () => {
    await expect(
      authorize(deps, operator, ACTIONS.DeleteVirtualMFADevice, { accountId: 'a' }, ctx()),
    ).resolves.toBeUndefined();
    await expect(
      authorize(deps, operator, ACTIONS.DeleteVirtualMFADevice, { accountId: 'a' }),
    ).resolves.toBeUndefined();
  });
});
