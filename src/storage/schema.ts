import type { RecoverySchema } from './recovery-schema.js';
import type { OidcSchema } from './repositories/oidc-schema.js';
/** Kysely table types. Times are integer milliseconds since the epoch; JSON is stored as text. */
export interface AccountsTable {
  id: string;
  name: string;
  created_at: number;
  settings: string;
}

export interface PrincipalsTable {
  id: string;
  account_id: string;
  username: string;
  email: string;
  role: string;
  status: string;
  password_hash: string | null;
  password_changed_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  account_id: string;
  principal_id: string;
  channel: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  auth: string;
  source_ip: string | null;
  user_agent: string | null;
  /** Factors verified in the session, space-separated (migration 0008). */
  factor_ids: string;
}

export interface FlowsTable {
  id: string;
  kind: string;
  account_id: string | null;
  principal_id: string | null;
  state: string;
  attempts: number;
  created_at: number;
  updated_at: number;
  expires_at: number;
  data: string;
}

export interface AuditLogTable {
  seq: number;
  event_id: string;
  time: number;
  account_id: string | null;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target: string | null;
  source_ip: string | null;
  user_agent: string | null;
  outcome: string;
  error_code: string | null;
  details: string;
  /** Null while unsealed: PostgreSQL links records after they commit (migration 0021). */
  prev_hash: string | null;
  hash: string | null;
}

/** Signed checkpoints of the audit chain head (migration 0011). */
export interface AuditCheckpointsTable {
  id: string;
  seq: number;
  hash: string;
  time: number;
  mac: string;
}

export interface ThrottleTable {
  key: string;
  failures: number;
  last_failure_at: number;
  next_allowed_at: number;
  /** After this the row means nothing and may be pruned (0010). */
  expires_at: number;
}

/** A client or network that signed in before as a principal (0010): skips the per-login delay. */
export interface KnownClientTable {
  id: string;
  account_id: string;
  principal_id: string;
  kind: string;
  secret_hash: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface FactorsTable {
  id: string;
  account_id: string;
  principal_id: string;
  kind: string;
  name: string;
  status: string;
  assurance: string;
  admin_provisioned: number;
  hardware_token_id: string | null;
  secret_sealed: string;
  params: string;
  last_counter: number | null;
  drift_steps: number;
  failed_attempts: number;
  created_at: number;
  enabled_at: number | null;
  last_used_at: number | null;
  pending_session_id: string | null;
  pending_expires_at: number | null;
  pending_attempts: number;
  /** The enrolment grant that admitted a pending factor (migration 0008). */
  enrolment_grant_id: string | null;
}

export interface RecoveryCodesTable {
  id: string;
  account_id: string;
  principal_id: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
  /** `mfa` (counts), `legacy` (before migration 0007) or `void` (migration 0007). */
  provenance: string;
  issued_factor_id: string | null;
  issued_session_id: string | null;
}

export interface HardwareTokensTable {
  id: string;
  account_id: string;
  serial: string;
  manufacturer: string | null;
  model: string | null;
  params: string;
  secret_sealed: string;
  state: string;
  principal_id: string | null;
  factor_id: string | null;
  import_id: string;
  imported_at: number;
  updated_at: number;
}

export interface MfaStateTable {
  principal_id: string;
  account_id: string;
  consecutive_failures: number;
  suspended_at: number | null;
  updated_at: number;
  /** When a suspension lifts by itself (migration 0007). */
  suspended_until: number | null;
  /** Per-principal guessing budget: GCRA theoretical arrival time (migration 0007). */
  budget_until: number;
  /** JSON: source keys a second factor succeeded from (migration 0007). */
  known_sources: string;
}

export interface OutboxTable {
  id: string;
  account_id: string | null;
  principal_id: string | null;
  channel: string;
  template: string;
  payload: string;
  created_at: number;
  sent_at: number | null;
  attempts: number;
  recipient: string | null;
  next_attempt_at: number | null;
  claim_id: string | null;
  claimed_until: number | null;
  last_error: string | null;
  failed_at: number | null;
}

/** The whole database. */
export interface PoliciesTable {
  id: string;
  account_id: string;
  scope: string;
  owner_id: string;
  name: string;
  description: string;
  document: string;
  created_at: number;
  updated_at: number;
}

export interface ManagedPolicyStateTable {
  policy_id: string;
  account_id: string;
  path: string;
  default_version: string;
  next_version: number;
}

export interface PolicyVersionsTable {
  policy_id: string;
  version_id: string;
  account_id: string;
  document: string;
  created_at: number;
}

export interface IamTagsTable {
  subject_id: string;
  key_lower: string;
  subject_type: string;
  account_id: string;
  tag_key: string;
  tag_value: string;
  position: number;
}

export interface PermissionsBoundariesTable {
  subject_id: string;
  subject_type: string;
  account_id: string;
  policy_id: string;
}

export interface IamPathsTable {
  subject_id: string;
  subject_type: string;
  account_id: string;
  path: string;
}

export interface PasswordPoliciesTable {
  account_id: string;
  document: string;
}

export interface PolicyGroupsTable {
  id: string;
  account_id: string;
  name: string;
  created_at: number;
}

export interface GroupMembersTable {
  group_id: string;
  principal_id: string;
  account_id: string;
}

export interface PolicyAttachmentsTable {
  policy_id: string;
  subject_type: string;
  subject_id: string;
  account_id: string;
  created_at: number;
}

export interface EnrolmentGrantsTable {
  id: string;
  account_id: string;
  principal_id: string;
  token_hash: string;
  reason: string;
  issued_by: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface EnrolmentHistoryTable {
  principal_id: string;
  account_id: string;
  first_enabled_at: number;
}

export interface WebAuthnCredentialsTable {
  factor_id: string;
  account_id: string;
  principal_id: string;
  credential_id: string;
  public_key: string;
  algorithm: number;
  sign_count: number;
  transports: string;
  aaguid: string;
  backup_eligible: number;
  backed_up: number;
  user_verified: number;
  attestation_format: string;
  attestation_verified: number;
  aaguid_allowed: number;
  discoverable: number;
  user_handle: string;
  created_at: number;
  last_used_at: number | null;
}

export interface WebAuthnChallengesTable {
  id: string;
  purpose: string;
  challenge: string;
  account_id: string | null;
  principal_id: string | null;
  session_id: string | null;
  flow_id: string | null;
  data: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface WebAuthnMetadataTable {
  account_id: string;
  serial_number: number;
  next_update: string;
  entries: string;
  imported_at: number;
}

export interface AccessKeysTable {
  id: string;
  account_id: string;
  principal_id: string;
  status: string;
  secret_sealed: string;
  created_at: number;
  last_used_at: number | null;
  last_used_service: string | null;
  deactivated_by_guardrail: number;
}

export interface TemporaryCredentialsTable {
  id: string;
  account_id: string;
  principal_id: string;
  source: string;
  role_id: string | null;
  role_session_name: string | null;
  secret_sealed: string;
  token_hash: string;
  mfa: string | null;
  parent_key_id: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  /** The factor whose code minted it (migration 0008). */
  factor_id: string | null;
  /** The long-term key at the start of its chain (migration 0008). */
  source_key_id: string | null;
  /** The session policy of an assumed-role session (migration 0014). */
  session_policy: string | null;
}

export interface AwsRolesTable {
  id: string;
  account_id: string;
  name: string;
  name_key: string;
  path: string;
  description: string;
  trust_policy: string;
  max_session_duration: number;
  created_at: number;
}

export interface AwsMfaDevicesTable {
  account_id: string;
  serial_number: string;
  name: string;
  path: string;
  principal_id: string;
  factor_id: string | null;
  created_at: number;
}

export interface Schema extends RecoverySchema, OidcSchema {
  accounts: AccountsTable;
  principals: PrincipalsTable;
  sessions: SessionsTable;
  flows: FlowsTable;
  audit_log: AuditLogTable;
  audit_checkpoints: AuditCheckpointsTable;
  throttle: ThrottleTable;
  known_clients: KnownClientTable;
  meta: MetaTable;
  factors: FactorsTable;
  recovery_codes: RecoveryCodesTable;
  hardware_tokens: HardwareTokensTable;
  mfa_state: MfaStateTable;
  outbox: OutboxTable;
  policies: PoliciesTable;
  policy_groups: PolicyGroupsTable;
  group_members: GroupMembersTable;
  policy_attachments: PolicyAttachmentsTable;
  enrolment_grants: EnrolmentGrantsTable;
  enrolment_history: EnrolmentHistoryTable;
  webauthn_credentials: WebAuthnCredentialsTable;
  webauthn_challenges: WebAuthnChallengesTable;
  webauthn_metadata: WebAuthnMetadataTable;
  access_keys: AccessKeysTable;
  temporary_credentials: TemporaryCredentialsTable;
  aws_roles: AwsRolesTable;
  aws_mfa_devices: AwsMfaDevicesTable;
  managed_policy_state: ManagedPolicyStateTable;
  policy_versions: PolicyVersionsTable;
  iam_tags: IamTagsTable;
  permissions_boundaries: PermissionsBoundariesTable;
  password_policies: PasswordPoliciesTable;
  iam_paths: IamPathsTable;
}
