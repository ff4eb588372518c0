/**
 * IAM records kept beside policies and groups: the versions of customer managed policies, tags on
 * IAM resources, permissions boundaries and the account password policy. The store implements
 * `IamRepository`; the use cases in app/aws/ own the rules.
 */

import { sha256Hex } from '../crypto/hashing.js';

/** What a tag or boundary hangs on. */
export type IamSubjectType = 'policy' | 'user' | 'group' | 'role';

/** One IAM tag (AWS: key 1–128, value 0–256 characters). */
export interface IamTag {
  key: string;
  value: string;
}

/** One version of a managed policy. */
export interface PolicyVersionRecord {
  policyId: string;
  versionId: string;
  document: string;
  createdAt: number;
}

/** Where a managed policy's versions stand (absent: one version `v1`, the policy's document). */
export interface ManagedPolicyState {
  policyId: string;
  accountId: string;
  path: string;
  defaultVersion: string;
  /** The number of the next version (AWS never reuses a version id). */
  nextVersion: number;
}

/** A principal or group a managed policy is attached to. */
export interface PolicyAttachmentRecord {
  subjectType: string;
  subjectId: string;
}

/** The IAM records beyond policies, groups and attachments. */
export interface IamRepository {
  policyState(policyId: string): Promise<ManagedPolicyState | null>;
  putPolicyState(state: ManagedPolicyState): Promise<void>;
  /** Versions oldest first. */
  listPolicyVersions(policyId: string): Promise<PolicyVersionRecord[]>;
  insertPolicyVersion(version: PolicyVersionRecord & { accountId: string }): Promise<void>;
  /** False when there was no such version. */
  deletePolicyVersion(policyId: string, versionId: string): Promise<boolean>;
  /** Forgets a deleted policy's versions, state, tags and boundary uses. */
  deletePolicyRecords(policyId: string): Promise<void>;
  /** Who a managed policy is attached to. */
  attachmentsOf(policyId: string): Promise<PolicyAttachmentRecord[]>;
  /** Tags in the order they were first set. */
  listTags(subjectId: string): Promise<IamTag[]>;
  /** Replaces the whole tag set of a subject. */
  replaceTags(input: {
    accountId: string;
    subjectType: IamSubjectType;
    subjectId: string;
    tags: readonly IamTag[];
  }): Promise<void>;
  /** The managed policy id set as a subject's permissions boundary, or null. */
  boundaryOf(subjectId: string): Promise<string | null>;
  setBoundary(input: {
    accountId: string;
    subjectType: IamSubjectType;
    subjectId: string;
    policyId: string;
  }): Promise<void>;
  /** The default document of the subject's permissions boundary, or null (one statement). */
  boundaryDocumentOf(subjectId: string): Promise<string | null>;
  /** False when the subject had none. */
  deleteBoundary(subjectId: string): Promise<boolean>;
  /** How many users and roles use a managed policy as their boundary. */
  boundaryUsageCount(policyId: string): Promise<number>;
  /** The IAM path of a user or group; null when it lives at `/`. */
  pathOf(subjectId: string): Promise<string | null>;
  /** Sets a user's or group's path (`/` forgets it). */
  setPath(input: {
    accountId: string;
    subjectType: IamSubjectType;
    subjectId: string;
    path: string;
  }): Promise<void>;
  /** Renames a group. */
  renameGroup(groupId: string, name: string): Promise<void>;
  /** Deletes an empty group with its path and tags. */
  deleteGroup(groupId: string): Promise<void>;
  /** Renames an account (CreateAccountAlias: the alias is the account's name). */
  renameAccount(accountId: string, name: string): Promise<void>;
  /** The account password policy as stored (JSON), or null when none is set. */
  passwordPolicy(accountId: string): Promise<string | null>;
  putPasswordPolicy(accountId: string, document: string): Promise<void>;
  /** False when none was set. */
  deletePasswordPolicy(accountId: string): Promise<boolean>;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * An AWS-shaped unique id for a Holdfast id: the type prefix (`ANPA` for managed policies,
 * `AGPA` for groups, `AIDA` for users) and 17 characters of [A-Z2-7] derived from the id, so the
 * same resource always shows the same id.
 */
export function awsUniqueId(prefix: 'ANPA' | 'AGPA' | 'AIDA', id: string): string {
  const digest = sha256Hex(`holdfast-iam-id:${id}`);
  let out = '';
  for (let i = 0; i < 17; i++) out += ID_ALPHABET[parseInt(digest.slice(i * 2, i * 2 + 2), 16) % 32];
  return prefix + out;
}
