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

export interface SetupTokensTable {
  token_hash: string;
  account_id: string;
  principal_id: string;
  purpose: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
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
  prev_hash: string;
  hash: string;
}

export interface ThrottleTable {
  key: string;
  failures: number;
  last_failure_at: number;
  next_allowed_at: number;
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
}

export interface RecoveryCodesTable {
  id: string;
  account_id: string;
  principal_id: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
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

export interface Schema {
  accounts: AccountsTable;
  principals: PrincipalsTable;
  setup_tokens: SetupTokensTable;
  sessions: SessionsTable;
  flows: FlowsTable;
  audit_log: AuditLogTable;
  throttle: ThrottleTable;
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
}
