/**
 * ARN-style resource names (shared/reference/aws-iam-sts.md: IAM ARNs are
 * `arn:aws:iam::<account>:<type>/<name>`). Every authorization names its resource this way.
 */

/** The account itself (account-level reads and settings). */
export function accountArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}

/** A user. */
export function userArn(accountId: string, username: string): string {
  return `arn:aws:iam::${accountId}:user/${username}`;
}

/** An MFA device (a virtual device's serial number is this ARN). */
export function mfaArn(accountId: string, deviceName: string): string {
  return `arn:aws:iam::${accountId}:mfa/${deviceName}`;
}

/** A session of an assumed role, as STS names it. */
export function assumedRoleArn(accountId: string, roleName: string, sessionName: string): string {
  return `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;
}

/** A customer managed policy. */
export function policyArn(accountId: string, name: string): string {
  return `arn:aws:iam::${accountId}:policy/${name}`;
}

/** A group. */
export function groupArn(accountId: string, name: string): string {
  return `arn:aws:iam::${accountId}:group/${name}`;
}

/** A hardware token of the inventory (`*` for the whole inventory). */
export function hardwareTokenArn(accountId: string, serial: string): string {
  return `arn:aws:iam::${accountId}:hardware-token/${serial}`;
}

/** Reads the policy name out of a managed-policy ARN of `accountId`; null when it is not one. */
export function policyNameFromArn(accountId: string, arn: string): string | null {
  const prefix = `arn:aws:iam::${accountId}:policy/`;
  if (!arn.startsWith(prefix)) return null;
  const rest = arn.slice(prefix.length);
  const name = rest.slice(rest.lastIndexOf('/') + 1);
  return name === '' ? null : name;
}

/** A role (`arn:aws:iam::ACCOUNT:role{Path}{Name}`; the path is `/` or `/…/`). */
export function roleArn(role: { accountId: string; path: string; name: string }): string {
  return `arn:aws:iam::${role.accountId}:role${role.path}${role.name}`;
}

/** IAM's role name rule (1–64 of `[\w+=,.@-]`). */
const ROLE_ARN = /^arn:aws:iam::([0-9]{12}):role(\/(?:[\u0021-\u007E]*\/)?)([\w+=,.@-]{1,64})$/;

/**
 * Reads `arn:aws:iam::ACCOUNT:role/[path/]NAME`; null when the text is not a role ARN. The path
 * is returned as stored (`/` or `/…/`), so `roleArn(parseRoleArn(x)!) === x`.
 */
export function parseRoleArn(arn: string): { accountId: string; path: string; name: string } | null {
  const m = ROLE_ARN.exec(arn);
  return m === null ? null : { accountId: m[1]!, path: m[2]!, name: m[3]! };
}

/** An OpenID Connect identity provider (`arn:aws:iam::ACCOUNT:oidc-provider/HOST[/PATH]`). */
export function oidcProviderArn(accountId: string, hostPath: string): string {
  return `arn:aws:iam::${accountId}:oidc-provider/${hostPath}`;
}

const OIDC_PROVIDER_ARN = /^arn:aws:iam::([0-9]{12}):oidc-provider\/([\u0021-\u007E]{1,255})$/;

/** Reads an OpenID Connect provider ARN; null when the text is not one. */
export function parseOidcProviderArn(arn: string): { accountId: string; hostPath: string } | null {
  const m = OIDC_PROVIDER_ARN.exec(arn);
  return m === null ? null : { accountId: m[1]!, hostPath: m[2]! };
}
