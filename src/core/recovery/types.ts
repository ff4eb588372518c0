/**
 * Contact channels, recovery and reset requests, verification tokens and alerts: the domain
 * types and the repository the app layer needs (implemented in storage/).
 */

/** A channel to reach a principal outside Holdfast. Phone is a recovery channel only, labelled weak. */
export type ContactKind = 'email' | 'phone';

/** A principal's contact address. At most one verified and one pending of each kind. */
export interface Contact {
  id: string;
  accountId: string;
  principalId: string;
  kind: ContactKind;
  address: string;
  /** `pending` until the address proves it receives our messages; only then does it take effect. */
  status: 'pending' | 'verified';
  createdAt: number;
  verifiedAt: number | null;
}

/** What a one-time verification token proves. */
export type VerificationPurpose =
  'contact_verify' | 'recovery_email' | 'recovery_phone' | 'password_reset' | 'cancel';

/** A one-time link token or code, stored only as a hash. */
export interface VerificationToken {
  id: string;
  /** SHA-256 (links) or HMAC under the installation pepper (short codes) of the secret. */
  tokenHash: string;
  accountId: string;
  principalId: string;
  purpose: VerificationPurpose;
  /** What it applies to: a contact id, a request id. */
  subjectId: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  attempts: number;
}

/** Self-service recovery (the user proves their channels) or an admin-assisted reset. */
export type RecoveryKind = 'self_service' | 'helpdesk';

/** States of a recovery or reset request. */
export type RecoveryState =
  'verifying' | 'awaiting_approval' | 'waiting' | 'completed' | 'cancelled' | 'expired';

/** One recorded verification step of a help-desk reset. */
export interface EvidenceItem {
  kind: string;
  /** What was done and seen (no secrets: the code read out is not recorded, only that it matched). */
  note: string;
}

/** A stored recovery or reset request. */
export interface RecoveryRequest {
  id: string;
  accountId: string;
  /** The principal whose factors are recovered or reset. */
  principalId: string;
  kind: RecoveryKind;
  state: RecoveryState;
  /** Who opened it (helpdesk or admin); null for self-service. */
  requestedBy: string | null;
  evidence: EvidenceItem[];
  reason: string;
  emailVerifiedAt: number | null;
  phoneVerifiedAt: number | null;
  approvalsRequired: number;
  approvals: string[];
  /** The waiting period applied once verified and approved. */
  waitMs: number;
  /** When the waiting period ends; null until it starts. */
  waitUntil: number | null;
  /** Deadline of the verifying / approval states. */
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
  cancelledAt: number | null;
  cancelledBy: string | null;
}

/** Severity of an alert. */
export type AlertSeverity = 'low' | 'medium' | 'high' | 'critical';

/** An alert raised by a detection rule. */
export interface Alert {
  id: string;
  accountId: string;
  ruleId: string;
  severity: AlertSeverity;
  /** The audit event that raised it. */
  eventId: string;
  principalId: string | null;
  summary: string;
  details: Record<string, string | number | boolean | null>;
  createdAt: number;
  /** Who acknowledged it, when, with what note; null while it is open. */
  acknowledged: AlertAcknowledgement | null;
}

/** An administrator's acknowledgement of an alert. */
export interface AlertAcknowledgement {
  at: number;
  /** The principal who acknowledged it. */
  by: string;
  note: string;
}

/** Which alerts a list shows: open ones, acknowledged ones, or both. */
export type AlertState = 'open' | 'acknowledged';

/** Storage of contacts, verification tokens, recovery/reset requests, settings and alerts. */
export interface RecoveryRepository {
  insertContact(contact: Contact): Promise<void>;
  listContacts(accountId: string, principalId: string): Promise<Contact[]>;
  findContact(accountId: string, id: string): Promise<Contact | null>;
  /** Deletes a contact row. */
  deleteContact(id: string): Promise<void>;
  /** Marks a pending contact verified (and replaces the verified one of its kind); false if not pending. */
  verifyContact(input: { id: string; now: number }): Promise<boolean>;

  insertToken(token: VerificationToken): Promise<void>;
  findTokenByHash(tokenHash: string): Promise<VerificationToken | null>;
  /** The newest unused token of a purpose for a subject. */
  findLiveToken(input: {
    purpose: string;
    subjectId: string;
    now: number;
  }): Promise<VerificationToken | null>;
  /** Marks a live token used (conditional update: single use); false when it was not live. */
  consumeToken(input: { id: string; now: number }): Promise<boolean>;
  /** Counts one wrong attempt; returns the new count. */
  recordTokenFailure(id: string): Promise<number>;
  /** Invalidates every unused token of a purpose for a subject or principal. */
  revokeTokens(input: {
    purpose: string;
    subjectId?: string;
    principalId?: string;
    now: number;
  }): Promise<void>;

  insertRequest(request: RecoveryRequest): Promise<void>;
  findRequest(accountId: string, id: string): Promise<RecoveryRequest | null>;
  /** A request by id across accounts (for public links and the scheduler). */
  findRequestById(id: string): Promise<RecoveryRequest | null>;
  listRequests(input: {
    accountId: string;
    states?: RecoveryState[];
    principalId?: string;
  }): Promise<RecoveryRequest[]>;
  /** Saves a request only if it was not changed meanwhile (`updatedAt` as a version). */
  updateRequest(request: RecoveryRequest, expectedUpdatedAt: number): Promise<boolean>;
  /** Requests whose waiting period is over at `now` (all accounts). */
  dueRequests(now: number, limit: number): Promise<RecoveryRequest[]>;
  /** Records an approval; false when this approver had approved already. */
  addApproval(input: {
    requestId: string;
    accountId: string;
    approverId: string;
    now: number;
  }): Promise<boolean>;

  getSettings(accountId: string): Promise<Record<string, unknown>>;
  putSettings(input: { accountId: string; document: Record<string, unknown>; now: number }): Promise<void>;

  /** Inserts an alert unless the same rule already fired for the same event; true when inserted. */
  insertAlert(alert: Alert): Promise<boolean>;
  /** An account's alerts newest first, optionally of one severity, rule and state. */
  listAlerts(input: {
    accountId: string;
    limit: number;
    afterCreatedAt?: number;
    severity?: AlertSeverity;
    ruleId?: string;
    state?: AlertState;
  }): Promise<Alert[]>;
  findAlert(accountId: string, id: string): Promise<Alert | null>;
  /** Acknowledges an open alert (conditional update); false when it was acknowledged already. */
  acknowledgeAlert(input: {
    accountId: string;
    id: string;
    acknowledgement: AlertAcknowledgement;
  }): Promise<boolean>;
}
