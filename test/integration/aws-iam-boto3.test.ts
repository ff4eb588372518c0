/**
 * The IAM Query API driven by boto3 (the AWS SDK for Python, Debian's python3-boto3), beside the
 * JS SDK suites, on SQLite and PostgreSQL: test/fixtures/boto3/iam_suite.py runs a sample of the
 * managed-policy, group, user and simulation operations against a listening server and checks
 * what boto3 parsed (its own URL-decoding of documents, its paginator, its error parsing); then the
 * Debian AWS CLI checks a few of the same answers its own way.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { iamWorld, type IamWorld } from '../helpers/aws-iam-sdk.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';

const run = promisify(execFile);
const SUITE = fileURLToPath(new URL('../fixtures/boto3/iam_suite.py', import.meta.url));

describe.skipIf(withoutClients('python3-boto3')).each(DATABASE_KINDS)(
  'IAM through boto3 [$name]',
  ({ name }) => {
    let w: IamWorld;
    let endpoint: string;
    beforeAll(async () => {
      // boto3 signs with the wall clock: the server's clock starts there.
      w = await iamWorld(name, { clock: new ManualClock(Date.now()) });
      const address = await w.server.listen({ host: '127.0.0.1', port: 0 });
      endpoint = address.replace('localhost', '127.0.0.1');
    }, 60_000);
    afterAll(async () => {
      await w?.close();
    });

    it('runs the boto3 sample: policies, versions, groups, users, tags, boundaries, simulation, G2', async () => {
      const { stdout } = await run(clientPath('python3-boto3'), [SUITE], {
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          AWS_EC2_METADATA_DISABLED: 'true',
          HOLDFAST_ENDPOINT: endpoint,
          HOLDFAST_ACCOUNT: w.accountId,
          HOLDFAST_USER: w.user.username,
          HOLDFAST_MFA_ID: w.admin.mfaKeys.accessKeyId,
          HOLDFAST_MFA_SECRET: w.admin.mfaKeys.secretAccessKey,
          HOLDFAST_MFA_TOKEN: w.admin.mfaKeys.sessionToken!,
          HOLDFAST_KEY_ID: w.admin.keys.accessKeyId,
          HOLDFAST_KEY_SECRET: w.admin.keys.secretAccessKey,
        },
      });
      const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { checked: string[] };
      expect(report.checked).toEqual([
        'managed policies and versions',
        'MalformedPolicyDocument',
        'list_policies paginator',
        'groups',
        'users, tags, boundaries',
        'simulate_principal_policy',
        'guardrail G2 on long-term keys',
      ]);
    }, 90_000);

    it.skipIf(withoutClients('aws'))(
      'the Debian AWS CLI: decoded policy versions, its own pagination, simulation',
      async () => {
        const cli = async (...args: string[]) =>
          JSON.parse(
            (
              await run(clientPath('aws'), ['--endpoint-url', endpoint, '--output', 'json', 'iam', ...args], {
                timeout: 60_000,
                env: {
                  PATH: process.env.PATH ?? '/usr/bin:/bin',
                  HOME: process.env.HOME ?? '/tmp',
                  AWS_ACCESS_KEY_ID: w.admin.mfaKeys.accessKeyId,
                  AWS_SECRET_ACCESS_KEY: w.admin.mfaKeys.secretAccessKey,
                  AWS_SESSION_TOKEN: w.admin.mfaKeys.sessionToken!,
                  AWS_CONFIG_FILE: '/dev/null',
                  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
                  AWS_EC2_METADATA_DISABLED: 'true',
                  AWS_DEFAULT_REGION: 'eu-central-1',
                  AWS_PAGER: '',
                },
              })
            ).stdout,
          ) as Record<string, unknown>;
        const document = {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }],
        };
        const created = (await cli(
          'create-policy',
          '--policy-name',
          'CliPolicy',
          '--path',
          '/cli/',
          '--policy-document',
          JSON.stringify(document),
        )) as { Policy: { Arn: string; PolicyId: string } };
        expect(created.Policy.PolicyId).toMatch(/^ANPA/);
        const version = (await cli(
          'get-policy-version',
          '--policy-arn',
          created.Policy.Arn,
          '--version-id',
          'v1',
        )) as {
          PolicyVersion: { Document: unknown };
        };
        expect(version.PolicyVersion.Document).toEqual(document);
        // --page-size 1: the CLI follows Marker/IsTruncated itself and joins the pages.
        const listed = (await cli('list-policies', '--scope', 'Local', '--page-size', '1')) as {
          Policies: Array<{ PolicyName: string }>;
        };
        expect(listed.Policies.map((p) => p.PolicyName).sort()).toEqual([
          'Boto3Readers',
          'Boto3Second',
          'CliPolicy',
        ]);
        const simulated = (await cli(
          'simulate-principal-policy',
          '--policy-source-arn',
          `arn:aws:iam::${w.accountId}:user/${w.user.username}`,
          '--action-names',
          'iam:DeactivateMFADevice',
          '--resource-arns',
          `arn:aws:iam::${w.accountId}:mfa/${w.user.username}/phone`,
        )) as {
          EvaluationResults: Array<{ EvalDecision: string; EvalDecisionDetails: Record<string, string> }>;
        };
        expect(simulated.EvaluationResults[0]).toMatchObject({
          EvalDecision: 'explicitDeny',
          EvalDecisionDetails: { 'holdfast:G1': 'explicitDeny' },
        });
      },
      120_000,
    );
  },
);
