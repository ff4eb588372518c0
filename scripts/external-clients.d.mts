// Types for scripts/external-clients.mjs, which runs under plain Node (npm test) and in vitest.
export type ExternalClientId =
  'oathtool' | 'pass' | 'pass-otp' | 'python3-pskc' | 'python3-boto3' | 'aws' | 'chromium';

export interface ExternalClient {
  id: ExternalClientId;
  name: string;
  programs: string[];
  packages: string[];
  neededBy: string;
}

/** Where each client is (a program's absolute path, the python3 that imports pskc...), null when missing. */
export type FoundClients = Record<ExternalClientId, string | null>;

export const EXTERNAL_CLIENTS: ExternalClient[];
export const FOUND_VARIABLE: string;
export function clientsRequired(env?: NodeJS.ProcessEnv): boolean;
export function findProgram(name: string, env?: NodeJS.ProcessEnv): string | null;
export function detectExternalClients(env?: NodeJS.ProcessEnv): FoundClients;
export function missingClients(found: FoundClients): ExternalClient[];
export function aptInstallLine(clients: ExternalClient[], options?: { root?: boolean }): string;
export function missingClientsBanner(
  missing: ExternalClient[],
  options?: { required?: boolean; root?: boolean },
): string;
export function externalClients(env?: NodeJS.ProcessEnv): FoundClients;
export function externalClientsToSkip(
  found: FoundClients,
  ids: ExternalClientId[],
  env?: NodeJS.ProcessEnv,
): boolean;
