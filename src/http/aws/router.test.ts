import { describe, expect, it } from 'vitest';
import type { AwsCaller } from '../../app/aws/access-keys.js';
import { HoldfastError } from '../../core/errors.js';
import { paginate } from './operation.js';
import { toAwsError } from './router.js';
import { AwsError } from './xml.js';

const caller = {
  user: { accountId: '123456789012', username: 'alice' },
  role: null,
  temporary: null,
} as unknown as AwsCaller;

const map = (err: unknown, action = 'iam:CreateUser') => toAwsError(err, { caller, action, service: 'iam' });

describe('toAwsError: Holdfast errors as AWS wire codes', () => {
  it.each([
    ['USER_NOT_FOUND', 'NoSuchEntity', 404],
    ['USER_NAME_TAKEN', 'EntityAlreadyExists', 409],
    ['AWS_ACCESS_KEY_LIMIT_REACHED', 'LimitExceeded', 409],
    ['FACTOR_LIMIT_REACHED', 'LimitExceeded', 409],
    ['AWS_USER_DELETE_CONFLICT', 'DeleteConflict', 409],
    ['AWS_MFA_DEVICE_IN_USE', 'DeleteConflict', 409],
    ['POLICY_LINT_FAILED', 'MalformedPolicyDocument', 400],
    ['FACTOR_CODE_INVALID', 'InvalidAuthenticationCode', 403],
    ['AWS_DURATION_INVALID', 'ValidationError', 400],
    ['REQUEST_INVALID', 'ValidationError', 400],
    ['AUTH_THROTTLED', 'Throttling', 400],
    ['INTERNAL_ERROR', 'ServiceFailure', 500],
  ] as const)('%s -> %s (%d)', (code, aws, status) => {
    const mapped = map(new HoldfastError(code));
    expect([mapped.code, mapped.status]).toEqual([aws, status]);
  });

  it('names the guardrail in AccessDenied, after the prefix aws-vault parses', () => {
    const err = new HoldfastError(
      'MFA_STEP_UP_REQUIRED',
      'G2: identity administration needs an MFA-authenticated session',
      {
        details: { guardrail: 'G2' },
      },
    );
    const mapped = map(err);
    expect(mapped.code).toBe('AccessDenied');
    expect(mapped.message).toMatch(
      /^User: arn:aws:iam::123456789012:user\/alice is not authorized to perform: iam:CreateUser/,
    );
    expect(mapped.message).toContain(
      'denied by guardrail G2: identity administration needs an MFA-authenticated session',
    );
  });

  it('says which policy decision refused when no guardrail did', () => {
    const implicit = map(new HoldfastError('AUTH_FORBIDDEN', 'x', { details: { decision: 'ImplicitDeny' } }));
    expect(implicit.message).toContain('because no identity-based policy allows the iam:CreateUser action');
    const explicit = map(new HoldfastError('AUTH_FORBIDDEN', 'x', { details: { decision: 'ExplicitDeny' } }));
    expect(explicit.message).toContain('with an explicit deny in an identity-based policy');
  });

  it('answers credential-scope refusals as AWS does', () => {
    const iam = map(
      new HoldfastError('AWS_SESSION_CREDENTIALS_REFUSED', 'x', { details: { reason: 'iam-without-mfa' } }),
    );
    expect(iam.code).toBe('InvalidClientTokenId');
    const sts = map(
      new HoldfastError('AWS_SESSION_CREDENTIALS_REFUSED', 'x', {
        details: { reason: 'session-token-from-session' },
      }),
    );
    expect([sts.code, sts.message]).toEqual([
      'AccessDenied',
      'Cannot call GetSessionToken with session credentials',
    ]);
  });

  it('uses the STS MFA messages: wrong or reused code, and unknown serial', () => {
    expect(map(new HoldfastError('MFA_FAILED')).message).toBe(
      'MultiFactorAuthentication failed with invalid MFA one time pass code.',
    );
    expect(
      map(new HoldfastError('MFA_FAILED', undefined, { details: { serialUnknown: true } })).message,
    ).toContain('unable to validate MFA code');
  });

  it('keeps AWS errors, and never echoes an unknown error', () => {
    const own = new AwsError('InvalidAction', 'nope');
    expect(map(own)).toBe(own);
    const unknown = map(new Error('secret detail AKIAXXXX'));
    expect(unknown.code).toBe('ServiceFailure');
    expect(unknown.message).not.toContain('secret');
  });
});

describe('paginate: Marker / MaxItems / IsTruncated', () => {
  const items = Array.from({ length: 5 }, (_, i) => i);
  it('walks every item exactly once through opaque markers', () => {
    const seen: number[] = [];
    let marker: string | undefined;
    for (;;) {
      const params = new Map([
        ['MaxItems', '2'],
        ...(marker === undefined ? [] : [['Marker', marker] as const]),
      ]);
      const page = paginate(params, items);
      seen.push(...page.items);
      if (!page.isTruncated) {
        expect(page.marker).toBeUndefined();
        break;
      }
      marker = page.marker;
    }
    expect(seen).toEqual(items);
  });
  it('defaults to 100 items and refuses a forged marker', () => {
    expect(paginate(new Map(), items)).toMatchObject({ items, isTruncated: false });
    expect(() => paginate(new Map([['Marker', 'not-ours']]), items)).toThrow(AwsError);
    expect(() => paginate(new Map([['MaxItems', '0']]), items)).toThrow(/greater than or equal to 1/);
  });
});
