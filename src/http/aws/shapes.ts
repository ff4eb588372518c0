/**
 * Result writers for the IAM (2010-05-08) and STS (2011-06-15) operations Holdfast answers.
 * Each takes a plain input and returns the members of `{Action}Result`, in the element names,
 * nesting and order of the AWS service models, for {@link writeSuccessResponse}. Operations
 * without output return `null` (AWS then sends `ResponseMetadata` only).
 *
 * Times are epoch milliseconds. Policy documents are given as JSON text and written
 * URL-encoded, as IAM returns every `policyDocumentType` member. Blobs
 * (`Base32StringSeed`, `QRCodePNG`) are written base64.
 */

import {
  xmlBlob,
  xmlBoolean,
  xmlElement,
  xmlInteger,
  xmlList,
  xmlMap,
  xmlOptionalText,
  xmlStringList,
  xmlText,
  xmlTimestamp,
  type XmlChild,
  type XmlElement,
} from './xml.js';

/** The members of a `{Action}Result`, or `null` for an operation without output. */
export type AwsResult = XmlChild[] | null;

/** A tag on a user, role, policy or MFA device. */
export interface TagShape {
  key: string;
  value: string;
}

/** A permissions boundary attached to a user or role. */
export interface PermissionsBoundaryShape {
  /** The policy ARN. */
  arn: string;
}

/** An IAM user (model shape `User`). */
export interface IamUserShape {
  path: string;
  userName: string;
  userId: string;
  arn: string;
  createDate: number;
  passwordLastUsed?: number | undefined;
  permissionsBoundary?: PermissionsBoundaryShape | undefined;
  tags?: readonly TagShape[] | undefined;
}

/** Access key status (model enum `statusType`). */
export type AccessKeyStatus = 'Active' | 'Inactive' | 'Expired';

/** A page of a paginated IAM list: `IsTruncated` and, when truncated, `Marker`. */
export interface PageShape {
  isTruncated: boolean;
  /** Opaque cursor for the next page; written only when `isTruncated`. */
  marker?: string | undefined;
}

function tagsElement(tags: readonly TagShape[] | undefined): XmlElement | undefined {
  if (!tags || tags.length === 0) return undefined;
  return xmlList(
    'Tags',
    tags.map((t) => [xmlText('Key', t.key), xmlText('Value', t.value)]),
  );
}

/** `IsTruncated` and, when truncated, `Marker`: the members every paginated IAM list ends with. */
export function pageMembers(page: PageShape): XmlChild[] {
  return [
    xmlBoolean('IsTruncated', page.isTruncated),
    page.isTruncated ? xmlOptionalText('Marker', page.marker) : undefined,
  ];
}

/** A list result: its elements, then the page members. */
export function pagedResult(items: XmlChild[], page: PageShape): AwsResult {
  return [...items, ...pageMembers(page)];
}

function timestampOrNothing(name: string, value: number | undefined): XmlElement | undefined {
  return value === undefined ? undefined : xmlTimestamp(name, value);
}

/** URL-encodes a policy document as IAM returns it (the CLI URL-decodes, the JS SDK does not). */
export function encodePolicyDocument(json: string): string {
  return encodeURIComponent(json);
}

function userMembers(user: IamUserShape): XmlChild[] {
  return [
    xmlText('Path', user.path),
    xmlText('UserName', user.userName),
    xmlText('UserId', user.userId),
    xmlText('Arn', user.arn),
    xmlTimestamp('CreateDate', user.createDate),
    timestampOrNothing('PasswordLastUsed', user.passwordLastUsed),
    user.permissionsBoundary
      ? xmlElement('PermissionsBoundary', [
          xmlText('PermissionsBoundaryType', 'PermissionsBoundaryPolicy'),
          xmlText('PermissionsBoundaryArn', user.permissionsBoundary.arn),
        ])
      : undefined,
    tagsElement(user.tags),
  ];
}

function userElement(user: IamUserShape): XmlElement {
  return xmlElement('User', userMembers(user));
}

// ---------------------------------------------------------------------------------------------
// IAM users

/** CreateUser: `<User>`. */
export function createUserResult(input: { user: IamUserShape }): AwsResult {
  return [userElement(input.user)];
}

/** GetUser: `<User>`. */
export function getUserResult(input: { user: IamUserShape }): AwsResult {
  return [userElement(input.user)];
}

/** ListUsers: `<Users>` of `member` users, `IsTruncated`, `Marker`. */
export function listUsersResult(input: { users: readonly IamUserShape[] } & PageShape): AwsResult {
  return [xmlList('Users', input.users.map(userMembers)), ...pageMembers(input)];
}

/** DeleteUser: no output. */
export function deleteUserResult(): AwsResult {
  return null;
}

/** CreateLoginProfile: `<LoginProfile>` with `UserName`, `CreateDate`, `PasswordResetRequired`. */
export function createLoginProfileResult(input: {
  userName: string;
  createDate: number;
  passwordResetRequired?: boolean | undefined;
}): AwsResult {
  return [
    xmlElement('LoginProfile', [
      xmlText('UserName', input.userName),
      xmlTimestamp('CreateDate', input.createDate),
      input.passwordResetRequired === undefined
        ? undefined
        : xmlBoolean('PasswordResetRequired', input.passwordResetRequired),
    ]),
  ];
}

// ---------------------------------------------------------------------------------------------
// IAM access keys

/** Access key metadata (model shape `AccessKeyMetadata`), never with the secret. */
export interface AccessKeyMetadataShape {
  userName: string;
  accessKeyId: string;
  status: AccessKeyStatus;
  createDate: number;
}

/** CreateAccessKey: `<AccessKey>` with the secret, the only time it is ever returned. */
export function createAccessKeyResult(
  input: AccessKeyMetadataShape & { secretAccessKey: string },
): AwsResult {
  return [
    xmlElement('AccessKey', [
      xmlText('UserName', input.userName),
      xmlText('AccessKeyId', input.accessKeyId),
      xmlText('Status', input.status),
      xmlText('SecretAccessKey', input.secretAccessKey),
      xmlTimestamp('CreateDate', input.createDate),
    ]),
  ];
}

/** ListAccessKeys: `<AccessKeyMetadata>` of `member` keys (no secret), `IsTruncated`, `Marker`. */
export function listAccessKeysResult(
  input: { accessKeys: readonly AccessKeyMetadataShape[] } & PageShape,
): AwsResult {
  return [
    xmlList(
      'AccessKeyMetadata',
      input.accessKeys.map((k) => [
        xmlText('UserName', k.userName),
        xmlText('AccessKeyId', k.accessKeyId),
        xmlText('Status', k.status),
        xmlTimestamp('CreateDate', k.createDate),
      ]),
    ),
    ...pageMembers(input),
  ];
}

/** UpdateAccessKey: no output. */
export function updateAccessKeyResult(): AwsResult {
  return null;
}

/** DeleteAccessKey: no output. */
export function deleteAccessKeyResult(): AwsResult {
  return null;
}

// ---------------------------------------------------------------------------------------------
// IAM MFA devices

/** A virtual MFA device as listed (model shape `VirtualMFADevice`, without seed or tags). */
export interface VirtualMFADeviceShape {
  serialNumber: string;
  /** The user it is assigned to; absent while unassigned. */
  user?: IamUserShape | undefined;
  /** When it was enabled; absent while unassigned. */
  enableDate?: number | undefined;
}

/** CreateVirtualMFADevice input: the seed and QR code, returned only here. */
export interface CreatedVirtualMFADeviceShape {
  serialNumber: string;
  /** The Base32 secret as text (e.g. `JBSWY3DPEHPK3PXP`); the wire carries base64 of its ASCII. */
  base32StringSeed: string;
  /** The PNG bytes of the QR code; the wire carries their base64. */
  qrCodePNG: Uint8Array;
  tags?: readonly TagShape[] | undefined;
}

/** CreateVirtualMFADevice: `<VirtualMFADevice>` with `SerialNumber`, `Base32StringSeed`, `QRCodePNG`. */
export function createVirtualMFADeviceResult(input: CreatedVirtualMFADeviceShape): AwsResult {
  return [
    xmlElement('VirtualMFADevice', [
      xmlText('SerialNumber', input.serialNumber),
      // A blob member: base64 of the ASCII Base32 text (botocore and the JS SDK decode it once).
      xmlBlob('Base32StringSeed', new TextEncoder().encode(input.base32StringSeed)),
      xmlBlob('QRCodePNG', input.qrCodePNG),
      tagsElement(input.tags),
    ]),
  ];
}

/** EnableMFADevice: no output. */
export function enableMFADeviceResult(): AwsResult {
  return null;
}

/** ResyncMFADevice: no output. */
export function resyncMFADeviceResult(): AwsResult {
  return null;
}

/** DeactivateMFADevice: no output. */
export function deactivateMFADeviceResult(): AwsResult {
  return null;
}

/** DeleteVirtualMFADevice: no output. */
export function deleteVirtualMFADeviceResult(): AwsResult {
  return null;
}

/** An MFA device assigned to a user (model shape `MFADevice`). */
export interface MFADeviceShape {
  userName: string;
  serialNumber: string;
  enableDate: number;
}

/** ListMFADevices: `<MFADevices>` of `member` devices, `IsTruncated`, `Marker`. */
export function listMFADevicesResult(input: { devices: readonly MFADeviceShape[] } & PageShape): AwsResult {
  return [
    xmlList(
      'MFADevices',
      input.devices.map((d) => [
        xmlText('UserName', d.userName),
        xmlText('SerialNumber', d.serialNumber),
        xmlTimestamp('EnableDate', d.enableDate),
      ]),
    ),
    ...pageMembers(input),
  ];
}

/** The `AssignmentStatus` filter of ListVirtualMFADevices (model enum `assignmentStatusType`). */
export type AssignmentStatus = 'Assigned' | 'Unassigned' | 'Any';

/** The values `AssignmentStatus` accepts, for the request reader. */
export const ASSIGNMENT_STATUSES: readonly AssignmentStatus[] = ['Assigned', 'Unassigned', 'Any'];

/**
 * Keeps the devices matching `AssignmentStatus`: `Assigned` = has a user, `Unassigned` = has
 * none, `Any` (the default) = all.
 */
export function filterByAssignmentStatus<D extends VirtualMFADeviceShape>(
  devices: readonly D[],
  status: AssignmentStatus = 'Any',
): D[] {
  if (status === 'Any') return [...devices];
  return devices.filter((d) => (status === 'Assigned') === (d.user !== undefined));
}

/**
 * ListVirtualMFADevices: `<VirtualMFADevices>` of `member` devices with `SerialNumber`, and,
 * when assigned, `User` and `EnableDate`; `IsTruncated`, `Marker`. No seed, no tags.
 */
export function listVirtualMFADevicesResult(
  input: { devices: readonly VirtualMFADeviceShape[] } & PageShape,
): AwsResult {
  return [
    xmlList(
      'VirtualMFADevices',
      input.devices.map((d) => [
        xmlText('SerialNumber', d.serialNumber),
        d.user ? userElement(d.user) : undefined,
        timestampOrNothing('EnableDate', d.enableDate),
      ]),
    ),
    ...pageMembers(input),
  ];
}

/** GetMFADevice: `UserName`, `SerialNumber`, `EnableDate`, `Certifications` (map). */
export function getMFADeviceResult(input: {
  userName?: string | undefined;
  serialNumber: string;
  enableDate?: number | undefined;
  certifications?: Readonly<Record<string, string>> | undefined;
}): AwsResult {
  const certifications = input.certifications ? Object.entries(input.certifications) : [];
  return [
    xmlOptionalText('UserName', input.userName),
    xmlText('SerialNumber', input.serialNumber),
    timestampOrNothing('EnableDate', input.enableDate),
    certifications.length > 0 ? xmlMap('Certifications', certifications) : undefined,
  ];
}

// ---------------------------------------------------------------------------------------------
// IAM policies

/** PutUserPolicy: no output. */
export function putUserPolicyResult(): AwsResult {
  return null;
}

/** GetUserPolicy: `UserName`, `PolicyName`, `PolicyDocument` (URL-encoded JSON). */
export function getUserPolicyResult(input: {
  userName: string;
  policyName: string;
  /** The policy as JSON text. */
  policyDocument: string;
}): AwsResult {
  return [
    xmlText('UserName', input.userName),
    xmlText('PolicyName', input.policyName),
    xmlText('PolicyDocument', encodePolicyDocument(input.policyDocument)),
  ];
}

/** ListUserPolicies: `<PolicyNames>` of `member` names, `IsTruncated`, `Marker`. */
export function listUserPoliciesResult(input: { policyNames: readonly string[] } & PageShape): AwsResult {
  return [xmlStringList('PolicyNames', input.policyNames), ...pageMembers(input)];
}

/** DeleteUserPolicy: no output. */
export function deleteUserPolicyResult(): AwsResult {
  return null;
}

/** A customer managed policy (model shape `Policy`). */
export interface ManagedPolicyShape {
  policyName: string;
  policyId: string;
  arn: string;
  path: string;
  defaultVersionId: string;
  attachmentCount: number;
  permissionsBoundaryUsageCount: number;
  isAttachable: boolean;
  description?: string | undefined;
  createDate: number;
  updateDate: number;
  tags?: readonly TagShape[] | undefined;
}

/** CreatePolicy: `<Policy>`. */
export function createPolicyResult(input: { policy: ManagedPolicyShape }): AwsResult {
  const p = input.policy;
  return [
    xmlElement('Policy', [
      xmlText('PolicyName', p.policyName),
      xmlText('PolicyId', p.policyId),
      xmlText('Arn', p.arn),
      xmlText('Path', p.path),
      xmlText('DefaultVersionId', p.defaultVersionId),
      xmlInteger('AttachmentCount', p.attachmentCount),
      xmlInteger('PermissionsBoundaryUsageCount', p.permissionsBoundaryUsageCount),
      xmlBoolean('IsAttachable', p.isAttachable),
      xmlOptionalText('Description', p.description),
      xmlTimestamp('CreateDate', p.createDate),
      xmlTimestamp('UpdateDate', p.updateDate),
      tagsElement(p.tags),
    ]),
  ];
}

/** AttachUserPolicy: no output. */
export function attachUserPolicyResult(): AwsResult {
  return null;
}

/** DetachUserPolicy: no output. */
export function detachUserPolicyResult(): AwsResult {
  return null;
}

/** A managed policy attached to a user (model shape `AttachedPolicy`). */
export interface AttachedPolicyShape {
  policyName: string;
  policyArn: string;
}

/** ListAttachedUserPolicies: `<AttachedPolicies>` of `member`s, `IsTruncated`, `Marker`. */
export function listAttachedUserPoliciesResult(
  input: { policies: readonly AttachedPolicyShape[] } & PageShape,
): AwsResult {
  return [
    xmlList(
      'AttachedPolicies',
      input.policies.map((p) => [xmlText('PolicyName', p.policyName), xmlText('PolicyArn', p.policyArn)]),
    ),
    ...pageMembers(input),
  ];
}

// ---------------------------------------------------------------------------------------------
// IAM roles and account

/** An IAM role (model shape `Role`). */
export interface IamRoleShape {
  path: string;
  roleName: string;
  roleId: string;
  arn: string;
  createDate: number;
  /** The trust policy as JSON text; written URL-encoded. */
  assumeRolePolicyDocument?: string | undefined;
  description?: string | undefined;
  maxSessionDuration?: number | undefined;
  permissionsBoundary?: PermissionsBoundaryShape | undefined;
  tags?: readonly TagShape[] | undefined;
}

/** CreateRole: `<Role>` (AssumeRolePolicyDocument URL-encoded). */
export function createRoleResult(input: { role: IamRoleShape }): AwsResult {
  const r = input.role;
  return [
    xmlElement('Role', [
      xmlText('Path', r.path),
      xmlText('RoleName', r.roleName),
      xmlText('RoleId', r.roleId),
      xmlText('Arn', r.arn),
      xmlTimestamp('CreateDate', r.createDate),
      r.assumeRolePolicyDocument === undefined
        ? undefined
        : xmlText('AssumeRolePolicyDocument', encodePolicyDocument(r.assumeRolePolicyDocument)),
      xmlOptionalText('Description', r.description),
      r.maxSessionDuration === undefined ? undefined : xmlInteger('MaxSessionDuration', r.maxSessionDuration),
      r.permissionsBoundary
        ? xmlElement('PermissionsBoundary', [
            xmlText('PermissionsBoundaryType', 'PermissionsBoundaryPolicy'),
            xmlText('PermissionsBoundaryArn', r.permissionsBoundary.arn),
          ])
        : undefined,
      tagsElement(r.tags),
    ]),
  ];
}

/** Keys of GetAccountSummary's `SummaryMap` (model enum `summaryKeyType`). */
export type SummaryKey =
  | 'Users'
  | 'UsersQuota'
  | 'Groups'
  | 'GroupsQuota'
  | 'ServerCertificates'
  | 'ServerCertificatesQuota'
  | 'UserPolicySizeQuota'
  | 'GroupPolicySizeQuota'
  | 'GroupsPerUserQuota'
  | 'SigningCertificatesPerUserQuota'
  | 'AccessKeysPerUserQuota'
  | 'MFADevices'
  | 'MFADevicesInUse'
  | 'AccountMFAEnabled'
  | 'AccountAccessKeysPresent'
  | 'AccountPasswordPresent'
  | 'AccountSigningCertificatesPresent'
  | 'AttachedPoliciesPerGroupQuota'
  | 'AttachedPoliciesPerRoleQuota'
  | 'AttachedPoliciesPerUserQuota'
  | 'Policies'
  | 'PoliciesQuota'
  | 'PolicySizeQuota'
  | 'PolicyVersionsInUse'
  | 'PolicyVersionsInUseQuota'
  | 'VersionsPerPolicyQuota'
  | 'GlobalEndpointTokenVersion'
  | 'AssumeRolePolicySizeQuota'
  | 'RolePolicySizeQuota'
  | 'Roles'
  | 'RolesQuota'
  | 'InstanceProfiles'
  | 'InstanceProfilesQuota'
  | 'Providers';

/** GetAccountSummary: `<SummaryMap>` of `entry` key/value pairs (integers). */
export function getAccountSummaryResult(input: {
  summary: Readonly<Partial<Record<SummaryKey, number>>>;
}): AwsResult {
  const entries = Object.entries(input.summary).map(([key, value]): [string, string] => {
    if (!Number.isSafeInteger(value)) throw new Error(`SummaryMap ${key} is not an integer`);
    return [key, String(value)];
  });
  return [xmlMap('SummaryMap', entries)];
}

// ---------------------------------------------------------------------------------------------
// STS

/** Temporary credentials (model shape `Credentials`). */
export interface StsCredentialsShape {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: number;
}

function credentialsElement(c: StsCredentialsShape): XmlElement {
  return xmlElement('Credentials', [
    xmlText('AccessKeyId', c.accessKeyId),
    xmlText('SecretAccessKey', c.secretAccessKey),
    xmlText('SessionToken', c.sessionToken),
    xmlTimestamp('Expiration', c.expiration),
  ]);
}

/** GetSessionToken: `<Credentials>`. */
export function getSessionTokenResult(input: { credentials: StsCredentialsShape }): AwsResult {
  return [credentialsElement(input.credentials)];
}

/** AssumeRole: `<Credentials>`, `<AssumedRoleUser>`, `PackedPolicySize`, `SourceIdentity`. */
export function assumeRoleResult(input: {
  credentials: StsCredentialsShape;
  /** `ROLEID:SESSIONNAME`. */
  assumedRoleId: string;
  /** `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
  assumedRoleArn: string;
  packedPolicySize?: number | undefined;
  sourceIdentity?: string | undefined;
}): AwsResult {
  return [
    credentialsElement(input.credentials),
    xmlElement('AssumedRoleUser', [
      xmlText('AssumedRoleId', input.assumedRoleId),
      xmlText('Arn', input.assumedRoleArn),
    ]),
    input.packedPolicySize === undefined ? undefined : xmlInteger('PackedPolicySize', input.packedPolicySize),
    xmlOptionalText('SourceIdentity', input.sourceIdentity),
  ];
}

/** GetCallerIdentity: `UserId`, `Account`, `Arn`. */
export function getCallerIdentityResult(input: { userId: string; account: string; arn: string }): AwsResult {
  return [xmlText('UserId', input.userId), xmlText('Account', input.account), xmlText('Arn', input.arn)];
}
