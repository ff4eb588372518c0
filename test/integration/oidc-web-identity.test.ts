/**
 * STS AssumeRoleWithWebIdentity with ID tokens of an external OpenID Connect provider registered
 * in the account with IAM CreateOpenIDConnectProvider, through the AWS SDK for JavaScript v3 (and
 * the Debian AWS CLI when present) over real sockets. The external providers are tiny HTTP
 * servers on loopback serving a discovery document and a JWK Set, their tokens signed with
 * `jose`. Attacks: a token of an unregistered issuer, the wrong audience, an expired token, a
 * token not yet valid, a token naming a registered issuer but signed with another key, an
 * unsigned token, and a token of a provider registered in another account: each refused with
 * AWS's code, no credentials, and the real token still works afterwards.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleArn } from '../../src/core/policy/arn.js';
import {
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import { PASSWORD, WallClock } from '../helpers/mfa.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';
import { freePort } from '../helpers/processes.js';
import { closeServer } from '../helpers/teardown.js';

const execFileAsync = promisify(execFile);
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };
const operator = { kind: 'operator' } as const;

/** An OpenID Connect issuer on loopback: discovery and JWKS, and the key it signs with. */
interface Issuer {
  url: string;
  host: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  requests: number;
  close(): Promise<void>;
}

async function startIssuer(kid: string): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const issuer = { requests: 0 } as Issuer;
  const server: Server = createServer((req, res) => {
    issuer.requests++;
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(
        JSON.stringify({
          issuer: issuer.url,
          jwks_uri: `${issuer.url}/jwks`,
          id_token_signing_alg_values_supported: ['ES256'],
        }),
      );
    } else if (req.url === '/jwks') {
      res.end(JSON.stringify({ keys: [publicJwk] }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(issuer, {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    kid,
    privateKey,
    publicJwk,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
  return issuer;
}

/** An ID token as a CI system would issue it. */
async function idToken(
  signer: { privateKey: CryptoKey; kid: string },
  claims: { iss: string; aud: string | string[]; sub: string; exp?: number; nbf?: number; iat?: number },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...(claims.nbf === undefined ? {} : { nbf: claims.nbf }) })
    .setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'JWT' })
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .setSubject(claims.sub)
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 600);
  return jwt.sign(signer.privateKey);
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; message: string };
    return { name: e.name, message: e.message };
  }
  throw new Error('expected the call to fail');
}

describe('STS AssumeRoleWithWebIdentity with tokens of a provider registered by CreateOpenIDConnectProvider', () => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let base: string;
  let ci: Issuer;
  let rogue: Issuer;
  let foreign: Issuer;
  let acmeId: string;
  let deployArn: string;
  let foreignRoleArn: string;
  let sts: STSClient;

  const assume = (token: string, role = deployArn, session = 'build-1') =>
    sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: role,
        RoleSessionName: session,
        WebIdentityToken: token,
      }),
    );
  const goodToken = () =>
    idToken(ci, { iss: ci.url, aud: 'ci-deploy', sub: 'repo:acme/app:ref:refs/heads/main' });
  const issuedCount = async () =>
    (await inst.store.audit.query({ limit: 1000, newestFirst: true })).filter(
      (r) => r.action === 'sts.assume_role_with_web_identity' && r.outcome === 'success',
    ).length;

  beforeAll(async () => {
    ci = await startIssuer('ci-key-1');
    rogue = await startIssuer('ci-key-1');
    foreign = await startIssuer('globex-key');
    const port = await freePort();
    base = `http://localhost:${port}`;
    inst = await createTestInstallation('sqlite', { clock: new WallClock() });
    acmeId = (
      await createUserWithPassword(inst, {
        accountName: 'acme',
        email: 'owner@acme.test',
        password: PASSWORD,
      })
    ).accountId;
    const globexId = (
      await createUserWithPassword(inst, {
        accountName: 'globex',
        email: 'owner@globex.test',
        password: PASSWORD,
      })
    ).accountId;
    const { buildServer } = await import('../../src/http/server.js');
    server = await buildServer({ app: inst.app, trustedProxies: [], publicUrl: base });
    await server.listen({ host: '127.0.0.1', port });

    const registered = await inst.app.createOpenIDConnectProvider({
      actor: operator,
      ctx,
      accountId: acmeId,
      url: ci.url,
      clientIds: ['ci-deploy'],
      thumbprints: [],
    });
    expect(registered.arn).toBe(`arn:aws:iam::${acmeId}:oidc-provider/${ci.host}`);
    // The foreign issuer is registered by the other account only.
    await inst.app.createOpenIDConnectProvider({
      actor: operator,
      ctx,
      accountId: globexId,
      url: foreign.url,
      clientIds: ['ci-deploy'],
      thumbprints: [],
    });
    const trust = (host: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: `arn:aws:iam::${acmeId}:oidc-provider/${host}` },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: { [`${host}:aud`]: 'ci-deploy' },
              StringLike: { [`${host}:sub`]: 'repo:acme/*' },
            },
          },
        ],
      });
    deployArn = roleArn(
      await inst.app.createRole({
        actor: operator,
        ctx,
        accountId: acmeId,
        name: 'deploy',
        trustPolicy: trust(ci.host),
      }),
    );
    // An acme role whose trust policy names the foreign issuer, which acme never registered.
    foreignRoleArn = roleArn(
      await inst.app.createRole({
        actor: operator,
        ctx,
        accountId: acmeId,
        name: 'foreign-trust',
        trustPolicy: trust(foreign.host),
      }),
    );
    sts = new STSClient({
      endpoint: base,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAUNUSED0000000000', secretAccessKey: 'unused' },
      maxAttempts: 1,
    });
  }, 60_000);

  afterAll(async () => {
    sts?.destroy();
    await closeServer(server);
    await inst?.destroy();
    await Promise.all([ci, rogue, foreign].map((i) => i?.close()));
  });

  it('trades a registered provider’s token for role credentials, with sub and aud conditions', async () => {
    const token = await goodToken();
    const assumed = await assume(token);
    expect(assumed.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${acmeId}:assumed-role/deploy/build-1`);
    expect(assumed.Provider).toBe(`arn:aws:iam::${acmeId}:oidc-provider/${ci.host}`);
    expect(assumed.SubjectFromWebIdentityToken).toBe('repo:acme/app:ref:refs/heads/main');
    expect(assumed.Audience).toBe('ci-deploy');
    expect(assumed.Credentials?.AccessKeyId).toMatch(/^ASIA/);
    const who = await new STSClient({
      endpoint: base,
      region: 'eu-west-1',
      credentials: {
        accessKeyId: assumed.Credentials!.AccessKeyId!,
        secretAccessKey: assumed.Credentials!.SecretAccessKey!,
        sessionToken: assumed.Credentials!.SessionToken!,
      },
    }).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::${acmeId}:assumed-role/deploy/build-1`);
    expect(who.Account).toBe(acmeId);

    // The keys are fetched once and kept: a second call does not ask the provider again.
    const before = ci.requests;
    await assume(await goodToken(), deployArn, 'build-2');
    expect(ci.requests).toBe(before);

    // A subject the trust policy does not name is refused by the policy.
    const other = await idToken(ci, {
      iss: ci.url,
      aud: 'ci-deploy',
      sub: 'repo:evil/app:ref:refs/heads/main',
    });
    expect(await failure(assume(other))).toMatchObject({ name: 'AccessDenied' });

    if (!withoutClients('aws')) {
      const { stdout } = await execFileAsync(
        clientPath('aws'),
        [
          'sts',
          'assume-role-with-web-identity',
          '--endpoint-url',
          base,
          '--region',
          'eu-west-1',
          '--role-arn',
          deployArn,
          '--role-session-name',
          'cli-1',
          '--web-identity-token',
          await goodToken(),
          '--output',
          'json',
        ],
        {
          env: {
            PATH: process.env['PATH'] ?? '',
            HOME: '/nonexistent',
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
        },
      );
      const answer = JSON.parse(stdout) as { AssumedRoleUser: { Arn: string }; Provider: string };
      expect(answer.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${acmeId}:assumed-role/deploy/cli-1`);
      expect(answer.Provider).toBe(`arn:aws:iam::${acmeId}:oidc-provider/${ci.host}`);
    }
  });

  it('attack: forged, misdirected, stale and foreign tokens get no credentials; the real one still works', async () => {
    const issuedBefore = await issuedCount();
    const now = Math.floor(Date.now() / 1000);
    const sub = 'repo:acme/app:ref:refs/heads/main';

    // An issuer nobody registered, with a key of its own.
    const unregistered = await failure(
      assume(await idToken(rogue, { iss: rogue.url, aud: 'ci-deploy', sub })),
    );
    expect(unregistered).toEqual({
      name: 'InvalidIdentityTokenException',
      message: `No OpenIDConnect provider found in your account for ${rogue.url}`,
    });
    // The registered issuer's name, signed with the attacker's key (same kid).
    const forged = await failure(assume(await idToken(rogue, { iss: ci.url, aud: 'ci-deploy', sub })));
    expect(forged).toEqual({
      name: 'InvalidIdentityTokenException',
      message: 'Signature verification failed for the ID Token provided.',
    });
    // The right key, meant for another audience.
    const wrongAud = await failure(assume(await idToken(ci, { iss: ci.url, aud: 'grafana', sub })));
    expect(wrongAud).toEqual({ name: 'InvalidIdentityTokenException', message: 'Incorrect token audience' });
    // Expired (beyond the minute of clock skew allowed): AWS answers ExpiredTokenException.
    const expired = await failure(
      assume(await idToken(ci, { iss: ci.url, aud: 'ci-deploy', sub, iat: now - 7200, exp: now - 3600 })),
    );
    expect(expired.name).toBe('ExpiredTokenException');
    // Not valid yet, or issued in the future.
    const early = await failure(
      assume(await idToken(ci, { iss: ci.url, aud: 'ci-deploy', sub, nbf: now + 3600 })),
    );
    expect(early.name).toBe('InvalidIdentityTokenException');
    const future = await failure(
      assume(await idToken(ci, { iss: ci.url, aud: 'ci-deploy', sub, iat: now + 3600, exp: now + 7200 })),
    );
    expect(future.name).toBe('InvalidIdentityTokenException');
    // Unsigned (`alg: none`) and garbage.
    const payload = Buffer.from(
      JSON.stringify({ iss: ci.url, aud: 'ci-deploy', sub, iat: now, exp: now + 600 }),
    ).toString('base64url');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    expect((await failure(assume(none))).name).toBe('InvalidIdentityTokenException');
    expect((await failure(assume('not.a.jwt'))).name).toBe('InvalidIdentityTokenException');
    // A provider registered in ANOTHER account, against this account's role that names it.
    const foreignToken = await idToken(foreign, { iss: foreign.url, aud: 'ci-deploy', sub });
    expect(await failure(assume(foreignToken, foreignRoleArn))).toEqual({
      name: 'InvalidIdentityTokenException',
      message: `No OpenIDConnect provider found in your account for ${foreign.url}`,
    });
    // Nor does a token of acme's provider reach the foreign-trust role (its policy names another provider).
    expect((await failure(assume(await goodToken(), foreignRoleArn))).name).toBe('AccessDenied');

    expect(await issuedCount()).toBe(issuedBefore);
    const refusals = (await inst.store.audit.query({ limit: 1000, newestFirst: true })).filter(
      (r) => r.action === 'sts.assume_role_with_web_identity' && r.outcome === 'failure',
    );
    expect(refusals.length).toBeGreaterThanOrEqual(9);
    expect(JSON.stringify(refusals)).not.toContain(foreignToken);

    // The real token still works.
    expect((await assume(await goodToken(), deployArn, 'after-attack')).Credentials?.AccessKeyId).toMatch(
      /^ASIA/,
    );
  });

  it('stops accepting the provider once it is deleted or the audience removed', async () => {
    const arn = `arn:aws:iam::${acmeId}:oidc-provider/${ci.host}`;
    await inst.app.removeClientIDFromOpenIDConnectProvider({
      actor: operator,
      ctx,
      accountId: acmeId,
      arn,
      clientId: 'ci-deploy',
    });
    expect(await failure(assume(await goodToken()))).toEqual({
      name: 'InvalidIdentityTokenException',
      message: 'Incorrect token audience',
    });
    await inst.app.addClientIDToOpenIDConnectProvider({
      actor: operator,
      ctx,
      accountId: acmeId,
      arn,
      clientId: 'ci-deploy',
    });
    await assume(await goodToken(), deployArn, 'again');
    await inst.app.deleteOpenIDConnectProvider({ actor: operator, ctx, accountId: acmeId, arn });
    expect((await failure(assume(await goodToken()))).message).toBe(
      `No OpenIDConnect provider found in your account for ${ci.url}`,
    );
  });
});
