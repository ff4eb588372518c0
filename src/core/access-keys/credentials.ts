/**
 * Stored machine credentials of the AWS-compatible face: long-term access keys of users,
 * temporary (STS) credentials, roles with their trust policies, and the serial numbers of
 * MFA devices created through IAM. Secrets are kept sealed (SigV4 is symmetric, so the server
 * must recover them); session tokens are kept only as their SHA-256.
 */

/** Status of a long-term access key (IAM `statusType`; `Expired` is never stored). */
export type AccessKeyStatus = 'Active' | 'Inactive';

/** Most long-term access keys one user holds (AWS IAM quota "Access keys per user": 2). */
export const MAX_ACCESS_KEYS_PER_USER = 2;

/** A long-term (`AKIA…`) access key of a principal. */
export interface AccessKey {
  id: string;
  accountId: string;
  principalId: string;
  status: AccessKeyStatus;
  /** The secret access key sealed under the master key with context `accesskey:<id>`. */
  secretSealed: string;
  createdAt: number;
  lastUsedAt: number | null;
  lastUsedService: string | null;
  /**
   * Set when guardrail G5 deactivated the key because its principal lost its last factor;
   * cleared when someone re-activates it.
   */
  deactivatedByGuardrail: boolean;
}

/** The MFA facts a temporary credential carries (null: issued without MFA). */
export interface CredentialMfa {
  factorId: string;
  kind: string;
  assurance: string;
  /** When the code was verified (ms since the epoch): drives `aws:MultiFactorAuthAge`. */
  at: number;
  /** The device serial number the code was given for. */
  serialNumber: string;
}

/** What a temporary credential was issued by. */
/**
 * `web-identity`: a role session of an external OpenID Connect provider's token
 * (AssumeRoleWithWebIdentity); no Holdfast user stands behind it, `principalId` is the role's id.
 */
export type TemporaryCredentialSource = 'session-token' | 'assumed-role' | 'web-identity';

/** A temporary (`ASIA…`) credential from GetSessionToken or AssumeRole. */
export interface TemporaryCredential {
  id: string;
  accountId: string;
  /** The IAM user behind it (for AssumeRole: the user at the start of the chain). */
  principalId: string;
  source: TemporaryCredentialSource;
  /** For assumed-role sessions: the role and the session name. */
  roleId: string | null;
  roleSessionName: string | null;
  /** The secret access key sealed with context `tempkey:<id>`. */
  secretSealed: string;
  /** SHA-256 (hex) of the session token; the token itself is never stored. */
  tokenHash: string;
  mfa: CredentialMfa | null;
  /** The access key id that asked for it (long-term or temporary). */
  parentKeyId: string;
  /**
   * The long-term key at the start of its chain: deactivating or deleting that key ends it.
   * Defaults to `parentKeyId` when that is a long-term key.
   */
  sourceKeyId?: string | null;
  /**
   * For assumed-role sessions: the session policy given to AssumeRole (JSON), which the role's
   * permission policies are intersected with; null or absent: none.
   */
  sessionPolicy?: string | null;
  /** When it was issued (ms since the epoch): `aws:TokenIssueTime`. */
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** An IAM role: a trust policy saying who may assume it. */
export interface AwsRole {
  /** `AROA` + 16 characters. */
  id: string;
  accountId: string;
  name: string;
  path: string;
  description: string;
  /** The trust policy (JSON text), as given. */
  trustPolicy: string;
  /** Longest session AssumeRole may grant, in seconds (3600–43200). */
  maxSessionDuration: number;
  createdAt: number;
}

/**
 * A virtual MFA device created through IAM: its serial number (the device ARN) and the factor
 * behind it. `factorId` is null once the device was deactivated (the factor and its seed are
 * gone; the serial stays until DeleteVirtualMFADevice).
 */
export interface AwsMfaDevice {
  accountId: string;
  serialNumber: string;
  name: string;
  path: string;
  /** The principal that created it. */
  principalId: string;
  factorId: string | null;
  createdAt: number;
}

/** Long-term access keys. Looked up in the database on every request: a new key works at once. */
export interface AccessKeyRepository {
  insert(key: AccessKey): Promise<void>;
  findById(id: string): Promise<AccessKey | null>;
  listByPrincipal(accountId: string, principalId: string): Promise<AccessKey[]>;
  /** Keys of every principal of an account (for the account summary). */
  countByAccount(accountId: string): Promise<number>;
  setStatus(input: { id: string; status: AccessKeyStatus; byGuardrail: boolean }): Promise<boolean>;
  /** Deactivates every active key of a principal (guardrail G5); returns how many. */
  deactivateAllForPrincipal(input: { accountId: string; principalId: string }): Promise<number>;
  recordUse(input: { id: string; now: number; service: string }): Promise<void>;
  delete(id: string): Promise<boolean>;
}

/** Temporary credentials, looked up by access key id and checked against the token hash. */
export interface TemporaryCredentialRepository {
  insert(credential: TemporaryCredential): Promise<void>;
  findById(id: string): Promise<TemporaryCredential | null>;
  /** Revokes every live credential of a principal except `exceptId`; returns how many. */
  revokeAllForPrincipal(input: {
    accountId: string;
    principalId: string;
    now: number;
    exceptId?: string;
  }): Promise<number>;
  /**
   * Revokes the live credentials of a principal derived from a credential: minted with a code of
   * `factorId`, or descending from the long-term key `sourceKeyId`, or (`withoutMfa`) carrying no
   * MFA facts; with none of these, all of them. Never `exceptId`. Returns how many.
   */
  revokeDerived(input: {
    accountId: string;
    principalId: string;
    now: number;
    factorId?: string;
    sourceKeyId?: string;
    withoutMfa?: boolean;
    exceptId?: string;
  }): Promise<number>;
  /** Deletes credentials that expired before `now`. */
  deleteExpired(now: number): Promise<number>;
}

/** Roles, MFA device serials, and the removal of a deleted user's remaining records. */
export interface AwsIdentityRepository {
  insertRole(role: AwsRole): Promise<void>;
  /** Finds a role by name, case-insensitively (IAM names are). */
  findRole(accountId: string, name: string): Promise<AwsRole | null>;
  findRoleById(accountId: string, id: string): Promise<AwsRole | null>;
  /** Every role of an account, by name (case-insensitive order). */
  listRoles(accountId: string): Promise<AwsRole[]>;
  /** Saves a role's description, trust policy and maximum session duration. */
  updateRole(role: AwsRole): Promise<void>;
  /** Deletes a role; false when there was none. Its sessions end (they no longer resolve). */
  deleteRole(accountId: string, id: string): Promise<boolean>;
  countRoles(accountId: string): Promise<number>;
  insertDevice(device: AwsMfaDevice): Promise<void>;
  findDevice(accountId: string, serialNumber: string): Promise<AwsMfaDevice | null>;
  findDeviceByFactor(accountId: string, factorId: string): Promise<AwsMfaDevice | null>;
  listDevices(accountId: string): Promise<AwsMfaDevice[]>;
  /** Detaches a device from its factor (deactivation keeps the serial until deletion). */
  detachDevice(accountId: string, serialNumber: string): Promise<void>;
  deleteDevice(accountId: string, serialNumber: string): Promise<boolean>;
  /**
   * Deletes a principal and the records that only describe it (sessions, setup tokens, recovery
   * codes, enrolment history and grants, MFA failure state). The caller checked that no factor,
   * key or policy remains.
   */
  deletePrincipal(accountId: string, principalId: string): Promise<void>;
}
