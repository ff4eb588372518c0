/** Tables of migration 0006 (contacts, verification tokens, recovery requests, alerts). */

/** `contacts` */
export interface ContactsTable {
  id: string;
  account_id: string;
  principal_id: string;
  kind: string;
  address: string;
  status: string;
  created_at: number;
  verified_at: number | null;
}

/** `verification_tokens` */
export interface VerificationTokensTable {
  id: string;
  token_hash: string;
  account_id: string;
  principal_id: string;
  purpose: string;
  subject_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  attempts: number;
}

/** `recovery_requests` */
export interface RecoveryRequestsTable {
  id: string;
  account_id: string;
  principal_id: string;
  kind: string;
  state: string;
  requested_by: string | null;
  evidence: string;
  reason: string;
  email_verified_at: number | null;
  phone_verified_at: number | null;
  approvals_required: number;
  wait_ms: number;
  wait_until: number | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
  cancelled_at: number | null;
  cancelled_by: string | null;
}

/** `recovery_approvals` */
export interface RecoveryApprovalsTable {
  request_id: string;
  approver_id: string;
  account_id: string;
  created_at: number;
}

/** `recovery_settings` */
export interface RecoverySettingsTable {
  account_id: string;
  document: string;
  updated_at: number;
}

/** `alerts` */
export interface AlertsTable {
  id: string;
  account_id: string;
  rule_id: string;
  severity: string;
  event_id: string;
  principal_id: string | null;
  summary: string;
  details: string;
  created_at: number;
  /** Migration 0019: the acknowledgement (all three null while the alert is open). */
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  acknowledged_note: string | null;
}

/** The tables of migration 0006. */
export interface RecoverySchema {
  contacts: ContactsTable;
  verification_tokens: VerificationTokensTable;
  recovery_requests: RecoveryRequestsTable;
  recovery_approvals: RecoveryApprovalsTable;
  recovery_settings: RecoverySettingsTable;
  alerts: AlertsTable;
}
