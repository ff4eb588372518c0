/**
 * Login profiles and ChangePassword through the AWS SDK for JavaScript v3, on SQLite and
 * PostgreSQL: IAM's wording for a user without a password, the account's password rules on every
 * new password, sessions ending with a password reset, and stolen long-term keys refused before
 * they can take over a user's password.
 */
import {
  ChangePasswordCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteLoginProfileCommand,
  GetLoginProfileCommand,
  UpdateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { iamWorld, sdkError, type IamWorld } from '../helpers/aws-iam-sdk.js';
import { injectHttp, PASSWORD, uniqueIp } from '../helpers/mfa.js';

const NEW_PASSWORD = 'quiet harbour lanterns at dusk';

describe.each(DATABASE_KINDS)('IAM login profiles through the JS SDK [$name]', ({ name }) => {
  let w: IamWorld;
  beforeAll(async () => {
    w = await iamWorld(name);
    await w.admin.iam.send(new CreateUserCommand({ UserName: 'lp-user' }));
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  const signIn = async (login: string, password: string) =>
    (
      await injectHttp(w.server)({
        method: 'POST',
        url: '/v1/sign-in',
        body: { account: 'acme', login, password },
        ip: uniqueIp(),
      })
    ).status;

  it('gets, updates and deletes a login profile, with IAM wording when there is none', async () => {
    expect(await sdkError(w.admin.iam.send(new GetLoginProfileCommand({ UserName: 'lp-user' })))).toEqual({
      code: 'NoSuchEntity',
      message: 'Login Profile for User lp-user cannot be found.',
    });
    await w.admin.iam.send(new CreateLoginProfileCommand({ UserName: 'lp-user', Password: PASSWORD }));
    const profile = (await w.admin.iam.send(new GetLoginProfileCommand({ UserName: 'lp-user' })))
      .LoginProfile!;
    expect(profile.UserName).toBe('lp-user');
    expect(profile.CreateDate).toBeInstanceOf(Date);
    const weak = await sdkError(
      w.admin.iam.send(new UpdateLoginProfileCommand({ UserName: 'lp-user', Password: 'password123' })),
    );
    expect(weak.code).toBe('PasswordPolicyViolation');
    await w.admin.iam.send(new UpdateLoginProfileCommand({ UserName: 'lp-user', Password: NEW_PASSWORD }));
    expect(await signIn('lp-user', PASSWORD)).not.toBe(200);
    expect(await signIn('lp-user', NEW_PASSWORD)).toBe(200);
    await w.admin.iam.send(new DeleteLoginProfileCommand({ UserName: 'lp-user' }));
    expect((await sdkError(w.admin.iam.send(new GetLoginProfileCommand({ UserName: 'lp-user' })))).code).toBe(
      'NoSuchEntity',
    );
    expect(await signIn('lp-user', NEW_PASSWORD)).not.toBe(200);
  });

  it('ChangePassword: the old password must be right, the new one must pass the rules', async () => {
    const wrong = await sdkError(
      w.user.iam.send(
        new ChangePasswordCommand({ OldPassword: 'not my password at all', NewPassword: NEW_PASSWORD }),
      ),
    );
    expect(wrong.code).toBe('AccessDenied');
    const weak = await sdkError(
      w.user.iam.send(new ChangePasswordCommand({ OldPassword: PASSWORD, NewPassword: 'password123' })),
    );
    expect(weak.code).toBe('PasswordPolicyViolation');
    await w.user.iam.send(new ChangePasswordCommand({ OldPassword: PASSWORD, NewPassword: NEW_PASSWORD }));
    expect(await signIn('dev@acme.test', NEW_PASSWORD)).toBe(200);
  });

  it('attack: stolen long-term keys cannot set or remove anyone’s password, existing user or not', async () => {
    const before = await w.inst.store.principals.findById(w.accountId, w.user.userId);
    for (const userName of [w.user.username, 'nobody-here']) {
      for (const command of [
        new UpdateLoginProfileCommand({ UserName: userName, Password: 'attacker chosen passphrase 1' }),
        new DeleteLoginProfileCommand({ UserName: userName }),
      ]) {
        const refused = await sdkError(w.admin.iamWithoutMfa.send(command as never));
        expect(refused.code).toBe('AccessDenied');
        expect(refused.message).toContain('guardrail G2');
      }
    }
    // A plain user cannot reset another user's password either.
    const other = await sdkError(
      w.user.iam.send(
        new UpdateLoginProfileCommand({
          UserName: w.admin.username,
          Password: 'attacker chosen passphrase 1',
        }),
      ),
    );
    expect(other.code).toBe('AccessDenied');
    const after = await w.inst.store.principals.findById(w.accountId, w.user.userId);
    expect(after!.passwordHash).toBe(before!.passwordHash);
    expect(await signIn('dev@acme.test', NEW_PASSWORD)).toBe(200);
  });
});
