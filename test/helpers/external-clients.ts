/**
 * The independent programs some suites drive (oathtool, pass + pass otp, python3-pskc, the AWS
 * CLI, Chromium): where they are, and whether a suite that needs them is skipped. The logic lives
 * in scripts/external-clients.mjs, shared with `npm test`, which prints one banner at the end
 * naming each missing program and its `apt-get install` line. Outside CI a missing client skips
 * the suites that need it; in CI (CI=1 or CI=true) nothing is skipped and the run fails.
 *
 *   describe.skipIf(withoutClients('aws', 'oathtool'))('...', () => { ... AWS_CLI ... });
 */
import {
  externalClients,
  externalClientsToSkip,
  type ExternalClientId,
} from '../../scripts/external-clients.mjs';

export type { ExternalClientId };

const found = externalClients();

/** True when a client among `ids` is missing and this run is not CI: skip the suite. */
export function withoutClients(...ids: ExternalClientId[]): boolean {
  return externalClientsToSkip(found, ids);
}

/**
 * The path to run for a client: the program found on PATH (/usr/bin first), or for
 * 'python3-pskc' the python3 that imports pskc. When it is missing (only reached in CI, where
 * nothing is skipped), Debian's path, so the suite fails on the missing program.
 */
export function clientPath(id: ExternalClientId): string {
  const fallback: Record<ExternalClientId, string> = {
    oathtool: '/usr/bin/oathtool',
    pass: '/usr/bin/pass',
    'pass-otp': '/usr/lib/password-store/extensions/otp.bash',
    'python3-pskc': process.env.HOLDFAST_TEST_PYTHON ?? '/usr/bin/python3',
    'python3-boto3': process.env.HOLDFAST_TEST_BOTO3_PYTHON ?? '/usr/bin/python3',
    aws: '/usr/bin/aws',
    chromium: '/usr/bin/chromium',
  };
  return found[id] ?? fallback[id];
}
