/**
 * STS AssumeRole with SerialNumber and TokenCode: the code is checked first, and the role's trust
 * policy then sees the assurance of the factor that verified it. A trust policy asking for
 * hardware assurance admits a user with an admin-provisioned hardware token, refuses the same
 * user's authenticator app, and a wrong code answers as any wrong code does. On SQLite and
 * PostgreSQL, in-process (SigV4 as the SDKs sign), time moved by the injected clock.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase32 } from '../../src/core/factors/otp/base32.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { awsQuery, xmlValue, type AwsKeys } from '../helpers/aws-query.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  expectStatus,
  injectHttp,
  PASSWORD,
  plainPSKC,
  STEP_MS,
  totpAt,
  uniqueIp,
  type Http,
} from '../helpers/mfa.js';

const operator = { kind: 'operator' as const };
const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };
const SERIAL = 'HWTOKEN-0001';
const SEED = Buffer.from('holdfast hw token 01');

describe.each(DATABASE_KINDS)(
  'AssumeRole with a TokenCode: the assurance of the verifying factor [$name]',
  ({ name }) => {
    let inst: TestInstallation;
    let server: FastifyInstance;
    let http: Http;
    let aws: ReturnType<typeof awsQuery>;
    let accountId: string;
    let username: string;
    let key: AwsKeys;
    let roleArn: string;
    let hardware: { id: string; secret: string };
    let app: { id: string; secret: string };

    const now = () => inst.clock.now();
    const assume = (serial: string, code: string) =>
      aws.sts(key, {
        Action: 'AssumeRole',
        RoleArn: roleArn,
        RoleSessionName: 'deploy',
        SerialNumber: serial,
        TokenCode: code,
      });

    beforeAll(async () => {
      inst = await createTestInstallation(name);
      ({ accountId } = await createUserWithPassword(inst, {
        accountName: 'acme',
        email: 'owner@acme.test',
        password: PASSWORD,
      }));
      server = await buildTestServer(inst);
      http = injectHttp(server);
      aws = awsQuery(server, now);
      const { userId } = await createUserWithPassword(inst, {
        accountName: 'acme',
        email: 'deployer@acme.test',
        password: PASSWORD,
        role: 'user',
      });
      username = (await inst.store.principals.findById(accountId, userId))!.username;
      // The user enrols an authenticator app, then an admin-provisioned hardware token.
      const ip = uniqueIp();
      const signIn = await http({
        method: 'POST',
        url: '/v1/sign-in',
        body: { account: 'acme', login: 'deployer@acme.test', password: PASSWORD },
        ip,
      });
      const token = signIn.body.token as string;
      const created = await http({
        method: 'POST',
        url: '/v1/factors/totp',
        body: { name: 'app' },
        token,
        ip,
      });
      app = { id: created.body.factor.id as string, secret: created.body.secret as string };
      expectStatus(
        await http({
          method: 'POST',
          url: `/v1/factors/${app.id}/enable`,
          body: { code: totpAt(app.secret, now()) },
          token,
          ip,
        }),
        200,
      );
      await inst.app.importHardwareTokens({
        actor: operator,
        ctx,
        accountId,
        pskcXml: plainPSKC(SERIAL, SEED),
      });
      const { factor } = await inst.app.assignHardwareToken({
        actor: operator,
        ctx,
        accountId,
        serial: SERIAL,
        userRef: userId,
      });
      hardware = { id: factor.id, secret: encodeBase32(SEED) };
      await inst.app.enableFactor({
        actor: operator,
        ctx,
        accountId,
        factorId: hardware.id,
        userRef: userId,
        code: totpAt(hardware.secret, now()),
      });
      const issued = await inst.app.createAccessKey({ actor: operator, ctx, accountId, userRef: userId });
      key = { accessKeyId: issued.key.id, secretAccessKey: issued.secretAccessKey };
      const role = await inst.app.createRole({
        actor: operator,
        ctx,
        accountId,
        name: 'deploy',
        trustPolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${accountId}:user/${username}` },
              Action: 'sts:AssumeRole',
              Condition: { NumericGreaterThanEquals: { 'holdfast:MfaAssuranceLevel': '30' } },
            },
          ],
        }),
      });
      roleArn = `arn:aws:iam::${accountId}:role/${role.name}`;
    });
    afterAll(async () => {
      await server?.close();
      await inst?.destroy();
    });

    it('a hardware token’s code meets a trust policy asking for hardware assurance', async () => {
      inst.clock.advance(STEP_MS);
      const res = await assume(SERIAL, totpAt(hardware.secret, now()));
      expect(res.status, res.body).toBe(200);
      expect(xmlValue(res.body, 'Arn')).toBe(`arn:aws:sts::${accountId}:assumed-role/deploy/deploy`);
      const issued = await inst.store.temporaryCredentials.findById(xmlValue(res.body, 'AccessKeyId')!);
      expect(issued?.mfa).toMatchObject({ factorId: hardware.id, assurance: 'hardware_otp' });
    });

    it('an authenticator app’s correct code does not (software assurance), and a wrong code answers as before', async () => {
      const refusals = async () =>
        (await inst.store.audit.scan(0, 1_000_000)).filter(
          (r) => r.action === 'sts.assume_role' && r.outcome === 'failure',
        );
      inst.clock.advance(STEP_MS);
      const soft = await assume(
        `arn:aws:iam::${accountId}:mfa/${username}/${app.id}`,
        totpAt(app.secret, now()),
      );
      expect(soft.code).toBe('AccessDenied');
      expect((await refusals()).at(-1)!.details).toMatchObject({ reason: 'trust-policy' });
      // A wrong code is refused by the second-factor check itself, before any trust policy.
      const before = (await refusals()).length;
      const good = totpAt(hardware.secret, now());
      const wrong = await assume(SERIAL, good === '000000' ? '111111' : '000000');
      expect(wrong.code).toBe('AccessDenied');
      expect((await refusals()).length).toBe(before);
    });
  },
);
