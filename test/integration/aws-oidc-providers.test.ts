/**
 * IAM OpenID Connect provider operations through the AWS SDK for JavaScript v3, on SQLite and
 * PostgreSQL: create (ARN `oidc-provider/HOST[/PATH]`, tags), get (URL without its scheme, as
 * IAM answers), list, the client-id and thumbprint changes, delete, and the refusals with IAM's
 * wire codes (EntityAlreadyExists, NoSuchEntity, InvalidInput, LimitExceeded, AccessDenied).
 */
import {
  AddClientIDToOpenIDConnectProviderCommand,
  CreateOpenIDConnectProviderCommand,
  DeleteOpenIDConnectProviderCommand,
  GetAccountSummaryCommand,
  GetOpenIDConnectProviderCommand,
  ListOpenIDConnectProvidersCommand,
  RemoveClientIDFromOpenIDConnectProviderCommand,
  UpdateOpenIDConnectProviderThumbprintCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { iamWorld, sdkError, type IamWorld } from '../helpers/aws-iam-sdk.js';

const THUMB_A = '9e99a48a9960b14926bb7f3b02e22da2b0ab7280';
const THUMB_B = 'A031C46782E6E6C662C2C87C76DA9AA62CCABD8E';

describe.each(DATABASE_KINDS)('IAM OpenID Connect providers through the JS SDK [$name]', ({ name }) => {
  let w: IamWorld;
  beforeAll(async () => {
    w = await iamWorld(name);
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  const arnOf = (hostPath: string) => `arn:aws:iam::${w.accountId}:oidc-provider/${hostPath}`;

  it('creates, reads, lists, changes and deletes a provider with IAM shapes', async () => {
    const created = await w.admin.iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: 'https://token.ci.example.com/',
        ClientIDList: ['sts.amazonaws.com', 'deploy'],
        ThumbprintList: [THUMB_A],
        Tags: [{ Key: 'team', Value: 'platform' }],
      }),
    );
    expect(created.OpenIDConnectProviderArn).toBe(arnOf('token.ci.example.com'));
    expect(created.Tags).toEqual([{ Key: 'team', Value: 'platform' }]);

    const got = await w.admin.iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: created.OpenIDConnectProviderArn }),
    );
    expect(got.Url).toBe('token.ci.example.com');
    expect(got.ClientIDList).toEqual(['sts.amazonaws.com', 'deploy']);
    expect(got.ThumbprintList).toEqual([THUMB_A]);
    expect(got.CreateDate).toBeInstanceOf(Date);
    expect(got.Tags).toEqual([{ Key: 'team', Value: 'platform' }]);

    // A path is part of the provider's name; no thumbprint is needed.
    const withPath = await w.admin.iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: 'https://idp.example.org/realms/ops',
        ClientIDList: ['x'],
      }),
    );
    expect(withPath.OpenIDConnectProviderArn).toBe(arnOf('idp.example.org/realms/ops'));
    const list = await w.admin.iam.send(new ListOpenIDConnectProvidersCommand({}));
    const summary = (await w.admin.iam.send(new GetAccountSummaryCommand({}))).SummaryMap!;
    expect(summary['Providers']).toBe(2);
    expect(list.OpenIDConnectProviderList!.map((p) => p.Arn).sort()).toEqual(
      [arnOf('idp.example.org/realms/ops'), arnOf('token.ci.example.com')].sort(),
    );

    const arn = created.OpenIDConnectProviderArn!;
    await w.admin.iam.send(
      new AddClientIDToOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: 'grafana' }),
    );
    // Adding one already there, or removing one that is not, changes nothing and does not fail.
    await w.admin.iam.send(
      new AddClientIDToOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: 'deploy' }),
    );
    await w.admin.iam.send(
      new RemoveClientIDFromOpenIDConnectProviderCommand({
        OpenIDConnectProviderArn: arn,
        ClientID: 'sts.amazonaws.com',
      }),
    );
    await w.admin.iam.send(
      new RemoveClientIDFromOpenIDConnectProviderCommand({
        OpenIDConnectProviderArn: arn,
        ClientID: 'never-there',
      }),
    );
    await w.admin.iam.send(
      new UpdateOpenIDConnectProviderThumbprintCommand({
        OpenIDConnectProviderArn: arn,
        ThumbprintList: [THUMB_B],
      }),
    );
    const changed = await w.admin.iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }),
    );
    expect(changed.ClientIDList).toEqual(['deploy', 'grafana']);
    expect(changed.ThumbprintList).toEqual([THUMB_B.toLowerCase()]);

    await w.admin.iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
    expect(
      await sdkError(
        w.admin.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
      ),
    ).toEqual({
      code: 'NoSuchEntity',
      message: `OpenIDConnect provider not found for arn ${arn}`,
    });
    expect(
      (
        await sdkError(
          w.admin.iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
        )
      ).code,
    ).toBe('NoSuchEntity');
    const records = await w.inst.store.audit.scan(0, 1_000_000);
    expect(
      records.filter((r) => r.action.startsWith('oidc.identity_provider.')).map((r) => r.action),
    ).toEqual([
      'oidc.identity_provider.create',
      'oidc.identity_provider.create',
      'oidc.identity_provider.update',
      'oidc.identity_provider.update',
      'oidc.identity_provider.update',
      'oidc.identity_provider.update',
      'oidc.identity_provider.update',
      'oidc.identity_provider.delete',
    ]);
    await w.admin.iam.send(
      new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: withPath.OpenIDConnectProviderArn }),
    );
  });

  it('answers IAM wire codes for a duplicate, a bad URL, a bad thumbprint and the quotas, storing nothing', async () => {
    const url = 'https://dup.example.com';
    await w.admin.iam.send(new CreateOpenIDConnectProviderCommand({ Url: url, ClientIDList: ['a'] }));
    expect(
      await sdkError(
        w.admin.iam.send(new CreateOpenIDConnectProviderCommand({ Url: `${url}/`, ClientIDList: ['b'] })),
      ),
    ).toEqual({ code: 'EntityAlreadyExists', message: `Provider with url ${url} already exists.` });
    for (const bad of [
      'http://plain.example.com',
      'https://q.example.com/?a=b',
      'https://f.example.com/#x',
      'https://user:pw@u.example.com',
      'ftp://example.com',
      'not a url',
    ]) {
      expect(
        (await sdkError(w.admin.iam.send(new CreateOpenIDConnectProviderCommand({ Url: bad })))).code,
        bad,
      ).toBe('InvalidInput');
    }
    expect(
      (
        await sdkError(
          w.admin.iam.send(
            new CreateOpenIDConnectProviderCommand({ Url: 'https://t.example.com', ThumbprintList: ['abc'] }),
          ),
        )
      ).code,
    ).toBe('InvalidInput');
    expect(
      (
        await sdkError(
          w.admin.iam.send(
            new CreateOpenIDConnectProviderCommand({
              Url: 'https://t.example.com',
              ThumbprintList: Array.from({ length: 6 }, (_, i) => String(i).repeat(40)),
            }),
          ),
        )
      ).code,
    ).toBe('LimitExceeded');
    expect(
      (
        await sdkError(
          w.admin.iam.send(
            new CreateOpenIDConnectProviderCommand({
              Url: 'https://t.example.com',
              ClientIDList: Array.from({ length: 101 }, (_, i) => `client-${i}`),
            }),
          ),
        )
      ).code,
    ).toBe('LimitExceeded');
    const arns = (
      await w.admin.iam.send(new ListOpenIDConnectProvidersCommand({}))
    ).OpenIDConnectProviderList!.map((p) => p.Arn);
    expect(arns).toEqual([arnOf('dup.example.com')]);
    // A malformed ARN is InvalidInput; another account's provider is never found.
    expect(
      (
        await sdkError(
          w.admin.iam.send(
            new GetOpenIDConnectProviderCommand({
              OpenIDConnectProviderArn: 'arn:aws:iam::123:role/not-a-provider',
            }),
          ),
        )
      ).code,
    ).toBe('InvalidInput');
    expect(
      (
        await sdkError(
          w.admin.iam.send(
            new GetOpenIDConnectProviderCommand({
              OpenIDConnectProviderArn: 'arn:aws:iam::999999999999:oidc-provider/dup.example.com',
            }),
          ),
        )
      ).code,
    ).toBe('NoSuchEntity');
    await w.admin.iam.send(
      new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arnOf('dup.example.com') }),
    );
  });

  it('attack: a plain user, and an administrator key without MFA, cannot register an issuer of their own', async () => {
    const evil = { Url: 'https://evil.example.net', ClientIDList: ['evil'] };
    const asUser = await sdkError(w.user.iam.send(new CreateOpenIDConnectProviderCommand(evil)));
    expect(asUser.code).toBe('AccessDenied');
    const stolenKey = await sdkError(
      w.admin.iamWithoutMfa.send(new CreateOpenIDConnectProviderCommand(evil)),
    );
    expect(stolenKey.code).toBe('AccessDenied');
    expect(stolenKey.message).toContain('guardrail G2');
    expect(await w.inst.store.oidc.listIdentityProviders(w.accountId)).toEqual([]);
    // The real administrator, with MFA, still can.
    await w.admin.iam.send(new CreateOpenIDConnectProviderCommand(evil));
    await w.admin.iam.send(
      new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arnOf('evil.example.net') }),
    );
  });
});
