import type {
  AccessKeyRepository,
  AwsIdentityRepository,
  TemporaryCredentialRepository,
} from './access-keys/credentials.js';
import type { AuditCheckpoint } from './audit/checkpoint.js';
import type { IamRepository } from './aws/iam-records.js';
import type { AuditEvent, AuditOutcome, AuditRecord, SealedAuditRecord } from './audit/event.js';
import type { Factor } from './factors/factor.js';
import type { HardwareToken } from './factors/hardware-token/inventory.js';
import type { Flow } from './flows/flow.js';
import type { OidcRepository } from './oidc/oidc.js';
import type { Account, Principal, PrincipalStatus, Role } from './principals/types.js';
import type { RecoveryRepository } from './recovery/types.js';
import type { Session, SessionAuth } from './sessions/session.js';
import type { ThrottlePolicy, ThrottleState } from './throttle.js';

/** Accounts (tenants). */
export interface AccountRepository {
  insert(account: Account): Promise<void>;
  findById(id: string): Promise<Account | null>;
  findByName(name: string): Promise<Account | null>;
  list(): Promise<Account[]>;
  updateSettings(id: string, settings: Account['settings']): Promise<void>;
}

/** Principals of one account; every lookup is scoped by account (MISSION.md failure 6). */
export interface PrincipalRepository {
  insert(principal: Principal): Promise<void>;
  update(principal: Principal): Promise<void>;
  findById(accountId: string, id: string): Promise<Principal | null>;
  /** Finds by e-mail (case-insensitive) or user name within the account. */
  findByLogin(accountId: string, login: string): Promise<Principal | null>;
  list(accountId: string): Promise<Principal[]>;
  /** Active owners and admins of the account (an index lookup, however many users it has). */
  listActiveAdmins(accountId: string): Promise<Principal[]>;
  countActiveOwners(accountId: string): Promise<number>;
  /** The principals of the account among these ids (absent ids are left out), in one query. */
  findByIds(accountId: string, ids: readonly string[]): Promise<Principal[]>;
  /**
   * One page of the account's principals with their enabled second-factor counts, searched,
   * filtered and sorted by the database (two queries: the page and the count of matches).
   */
  query(accountId: string, q: PrincipalQuery): Promise<{ rows: ListedPrincipal[]; total: number }>;
}

/** Search, filters, sort and window of {@link PrincipalRepository.query}. */
export interface PrincipalQuery {
  /** Case-insensitive text found in the e-mail address or user name (taken literally). */
  search?: string;
  role?: Role;
  status?: PrincipalStatus;
  /** Enabled second factors: none (no MFA), exactly one, or two and more. */
  factors?: '0' | '1' | '2+';
  sort: 'email' | 'username' | 'role' | 'status' | 'createdAt' | 'factors';
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

/** A listed principal with the number of its enabled second factors. */
export type ListedPrincipal = Principal & { enabledFactors: number };

/** A one-time token (stored only as a hash) for setting a first password. */
export interface SetupToken {
  tokenHash: string;
  accountId: string;
  principalId: string;
  purpose: 'password_setup';
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

/** One-time setup tokens. */
export interface SetupTokenRepository {
  insert(token: SetupToken): Promise<void>;
  findByHash(tokenHash: string): Promise<SetupToken | null>;
  /** Marks the token used if it is unused and unexpired; returns it, or null (atomic: single use). */
  consume(tokenHash: string, now: number): Promise<SetupToken | null>;
  /** Invalidates every unused token of the principal. */
  revokeForPrincipal(accountId: string, principalId: string, now: number): Promise<void>;
}

/** Sessions, looked up by the SHA-256 hash of their token. */
export interface SessionRepository {
  insert(session: Session, tokenHash: string): Promise<void>;
  /** Deletes sessions that expired or were revoked before `before` (retention); returns how many. */
  deleteEndedBefore(before: number): Promise<number>;
  findByTokenHash(tokenHash: string): Promise<Session | null>;
  findById(accountId: string, id: string): Promise<Session | null>;
  touch(id: string, now: number): Promise<void>;
  /** Records a new authentication of a live session (step-up). */
  updateAuth(id: string, auth: SessionAuth): Promise<void>;
  listLive(accountId: string, principalId: string, now: number): Promise<Session[]>;
  revoke(input: { id: string; now: number; reason: string }): Promise<boolean>;
  /** Revokes every live session of a principal except `exceptId`; returns how many. */
  revokeAllForPrincipal(input: {
    accountId: string;
    principalId: string;
    now: number;
    reason: string;
    exceptId?: string;
  }): Promise<number>;
  /**
   * Revokes the live sessions of a principal derived from a credential: those in which
   * `factorId` was verified, or (`withoutMfa`) those without MFA facts; except `exceptId`.
   */
  revokeDerived(input: {
    accountId: string;
    principalId: string;
    now: number;
    reason: string;
    factorId?: string;
    withoutMfa?: boolean;
    exceptId?: string;
  }): Promise<number>;
}

/** Stored flows (state machines). */
export interface FlowRepository {
  insert(flow: Flow): Promise<void>;
  findById(id: string): Promise<Flow | null>;
  /** Saves a flow only if it was not changed meanwhile (`updatedAt` as a version). */
  update(flow: Flow, expectedUpdatedAt: number): Promise<boolean>;
  /** Deletes flows that expired before `before` (retention); returns how many went. */
  deleteExpired(before: number): Promise<number>;
}

/** Filters for reading the audit log. */
export interface AuditQuery {
  accountId?: string;
  afterSeq?: number;
  limit: number;
  action?: string;
  actorId?: string;
  /** Records this principal made or that name it as their target. */
  about?: string;
  /** Newest first (default: oldest first, after `afterSeq`). */
  newestFirst?: boolean;
  /** Only records before this sequence number (paging newest first). */
  beforeSeq?: number;
  /** Only records with exactly this target. */
  target?: string;
  outcome?: AuditOutcome;
  /** Only records at or after this time (ms since the epoch). */
  fromTime?: number;
  /** Only records before this time (ms since the epoch). */
  toTime?: number;
}

/** The append-only, hash-chained audit log. */
export interface AuditRepository {
  /**
   * Appends one record inside the current transaction. SQLite links it to the last record at
   * once; PostgreSQL writes it unsealed (no lock shared with other writers) for the sealer to
   * link after it commits (`Store.sealAudit`, docs/audit-log.md).
   */
  append(event: AuditEvent, input: { now: number; eventId: string }): Promise<AuditRecord>;
  /**
   * Sealed records in sequence order after `afterSeq` (whole log, all accounts), for
   * verification, export and the alert scanner. Sealed records form an unbroken prefix of the
   * log, so a reader that follows it never skips a record that commits later. Outside a
   * transaction the store seals what has committed first, so a reader sees its own writes.
   */
  scan(afterSeq: number, limit: number): Promise<SealedAuditRecord[]>;
  /** Records, sealed or not (an unsealed one has null hashes). */
  query(query: AuditQuery): Promise<AuditRecord[]>;
  /** Records of events (void records, numbers whose transaction rolled back, are not counted). */
  count(): Promise<number>;
  /** Records written but not yet linked into the chain (always 0 on SQLite). */
  countUnsealed(): Promise<number>;
  /**
   * The sealed record with the highest sequence number (whether or not the chain verifies), or
   * null. Outside a transaction the store seals first, as for `scan`.
   */
  head(): Promise<{ seq: number; hash: string } | null>;
  /** The hashes of the records at these sequence numbers (absent ones are missing from the map). */
  hashesAt(seqs: readonly number[]): Promise<Map<number, string>>;
  /** Stores a signed checkpoint of the chain head (rows are only ever added). */
  insertCheckpoint(checkpoint: AuditCheckpoint): Promise<void>;
  /** The most recently written checkpoint (highest time), or null. */
  latestCheckpoint(): Promise<AuditCheckpoint | null>;
  /** Checkpoints ordered by (seq, id), after the given position, for verification. */
  scanCheckpoints(after: { seq: number; id: string } | null, limit: number): Promise<AuditCheckpoint[]>;
  /**
   * Event ids named by stored alerts that no audit record carries (at most `limit`); alerts
   * created at or before `createdAfter` are not looked at (their events may be archived).
   */
  alertEventsMissing(limit: number, createdAfter?: number): Promise<string[]>;
  /**
   * Removes records and checkpoints up to and including `seq` (they were written to a segment
   * file first: retention); returns how many of each went.
   */
  deleteThrough(seq: number): Promise<{ records: number; checkpoints: number }>;
}

/** Throttle counters (per login, per source address). */
export interface ThrottleRepository {
  get(keys: readonly string[]): Promise<ThrottleState[]>;
  put(state: ThrottleState): Promise<void>;
  clear(key: string): Promise<void>;
  /**
   * Counts one attempt against `key` atomically (row-locked): refused with the remaining wait
   * when the key is in its delay, otherwise counted as a failure until `release` or `clear` says
   * it succeeded. Counting before verifying is what stops a burst of concurrent guesses.
   */
  hit(input: {
    key: string;
    policy: ThrottlePolicy;
    now: number;
  }): Promise<{ allowed: boolean; waitMs: number }>;
  /** Takes back one counted attempt (it succeeded), and the wait it set. */
  release(key: string): Promise<void>;
  /** Deletes throttle rows and known clients past their expiry; returns how many rows went. */
  prune(now: number): Promise<number>;
  /** A live known client by the hash of its secret (a client token, or a principal's network). */
  findKnownClient(input: { secretHash: string; now: number }): Promise<KnownClient | null>;
  /**
   * Records a known client (or refreshes the one with the same secret hash), keeping at most
   * `keep` of that kind per principal (the least recently used go first).
   */
  rememberKnownClient(input: { client: KnownClient; keep: number }): Promise<void>;
}

/** A client token or network that signed in before as a principal (OWASP device cookie). */
export interface KnownClient {
  id: string;
  accountId: string;
  principalId: string;
  kind: 'token' | 'source';
  secretHash: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
}

/** Small key/value facts about the installation (key canary, encrypted pepper). */
export interface MetaRepository {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  /** This build's schema migrations the database has not applied yet (readiness). */
  pendingMigrations(): Promise<string[]>;
}

/** Second factors. Code acceptance is a conditional update: that is the replay guarantee. */
export interface FactorRepository {
  insert(factor: Factor): Promise<void>;
  findById(accountId: string, id: string): Promise<Factor | null>;
  listByPrincipal(accountId: string, principalId: string): Promise<Factor[]>;
  /** Enabled factors of every principal of an account (for insights). */
  listEnabledByAccount(accountId: string): Promise<Factor[]>;
  /**
   * Saves an accepted code: succeeds only if no step/counter at or above `lastCounter` was
   * accepted before (of 20 concurrent uses of one code, exactly one changes the row).
   */
  acceptCode(input: { id: string; lastCounter: number; driftSteps: number; now: number }): Promise<boolean>;
  /** Turns a pending factor into an enabled one with its first accepted counter. */
  enable(input: { id: string; lastCounter: number; driftSteps: number; now: number }): Promise<boolean>;
  recordFailure(id: string): Promise<void>;
  recordPendingFailure(id: string): Promise<number>;
  rename(input: { id: string; name: string }): Promise<void>;
  delete(id: string): Promise<void>;
  /** Removes a principal's pending factors that expired before `now`. */
  deleteExpiredPending(input: { accountId: string; principalId: string; now: number }): Promise<void>;
  /**
   * Deletes every pending factor of a principal that it created itself (admin-assigned tokens
   * stay), except `exceptId`; returns the ids deleted.
   */
  cancelPending(input: { accountId: string; principalId: string; exceptId?: string }): Promise<string[]>;
}

/** Recovery codes, stored only as keyed hashes. */
export interface RecoveryCodeRepository {
  /**
   * Replaces the principal's set. `issued` names the MFA session (and its factor) the set was
   * issued from: only such a set counts as a second factor; without it the codes are stored void.
   */
  replaceSet(input: {
    accountId: string;
    principalId: string;
    codes: Array<{ id: string; codeHash: string }>;
    now: number;
    issued?: { factorId: string; sessionId: string };
  }): Promise<void>;
  /** Marks the code used if it is unused and counts; true for exactly one of concurrent uses. */
  consume(input: { principalId: string; codeHash: string; now: number }): Promise<boolean>;
  /** Unused codes that count. */
  countRemaining(principalId: string): Promise<number>;
  /** Principals of the account with at least one unused code that counts. */
  principalsWithCodes(accountId: string): Promise<string[]>;
  /** Voids the principal's codes (they no longer count); the number of unused codes voided. */
  voidAll(principalId: string): Promise<number>;
  /** Whether a code that counts was used by the principal at exactly `usedAt`. */
  usedAt(input: { principalId: string; usedAt: number }): Promise<boolean>;
}

/** The hardware token inventory of each account. */
export interface HardwareTokenRepository {
  insertMany(tokens: HardwareToken[]): Promise<void>;
  findBySerial(accountId: string, serial: string): Promise<HardwareToken | null>;
  findById(accountId: string, id: string): Promise<HardwareToken | null>;
  /**
   * Reads a token inside a transaction and holds it until commit (PostgreSQL: a row lock; SQLite's
   * transactions already exclude other writers), so two changes to one token run one after the
   * other and the second sees the first.
   */
  findByIdForUpdate(accountId: string, id: string): Promise<HardwareToken | null>;
  /** Tokens ordered by serial; optionally one state, after a serial, at most `limit`. */
  list(
    accountId: string,
    page?: { state?: HardwareToken['state']; afterSerial?: string; limit?: number },
  ): Promise<HardwareToken[]>;
  update(token: HardwareToken): Promise<void>;
  /** Serials among `serials` that the account already holds. */
  existingSerials(accountId: string, serials: readonly string[]): Promise<string[]>;
}

/** Consecutive second-factor failures per principal (NIST SP 800-63B §5.2.2), and suspension. */
export interface MfaState {
  principalId: string;
  accountId: string;
  consecutiveFailures: number;
  suspendedAt: number | null;
  updatedAt: number;
  /** When the suspension lifts by itself (null: at suspendedAt plus the default; docs/mfa.md). */
  suspendedUntil: number | null;
  /** Per-principal guessing budget: the GCRA theoretical arrival time (src/app/mfa.ts). */
  budgetUntil: number;
  /** Source keys a second factor of this principal succeeded from, with the last success time. */
  knownSources: Array<{ key: string; at: number }>;
}

/** Stored MFA failure state. */
export interface MfaStateRepository {
  get(principalId: string): Promise<MfaState | null>;
  /**
   * Reads the state, creating it if needed, and (inside a transaction) holds its row lock until
   * commit, so the attempts of one user are decided one at a time on an up-to-date count.
   */
  lock(input: { principalId: string; accountId: string; now: number }): Promise<MfaState>;
  put(state: MfaState): Promise<void>;
  /** Adds one failure atomically and returns the new state. */
  recordFailure(input: { principalId: string; accountId: string; now: number }): Promise<MfaState>;
}

/** Where a stored policy document applies: a managed policy (attached to users and groups), inline on one user or group, or account-wide (caps every identity policy). */
/** `role`: an inline policy of an IAM role (owner: the role id). */
export type PolicyScope = 'managed' | 'user' | 'group' | 'role' | 'account';

/** A customer policy document as stored. */
export interface StoredPolicy {
  id: string;
  accountId: string;
  scope: PolicyScope;
  /** The user or group an inline policy belongs to; null for managed and account policies. */
  ownerId: string | null;
  name: string;
  description: string;
  document: string;
  createdAt: number;
  updatedAt: number;
}

/** A group of principals; policies attached to it apply to its members. */
export interface PolicyGroup {
  id: string;
  accountId: string;
  name: string;
  createdAt: number;
}

/** Customer policies, groups and attachments. */
export interface PolicyRepository {
  /** Inserts a policy, or replaces the document of the one with the same scope, owner and name. */
  put(policy: StoredPolicy): Promise<StoredPolicy>;
  find(input: {
    accountId: string;
    scope: PolicyScope;
    ownerId: string | null;
    name: string;
  }): Promise<StoredPolicy | null>;
  list(input: { accountId: string; scope: PolicyScope; ownerId?: string | null }): Promise<StoredPolicy[]>;
  /** Deletes a policy and its attachments. */
  delete(id: string): Promise<void>;
  /** Attaches a managed policy; false when it already was. */
  attach(input: {
    policyId: string;
    subjectType: 'user' | 'group' | 'role';
    subjectId: string;
    accountId: string;
    now: number;
  }): Promise<boolean>;
  /** Detaches; false when it was not attached. */
  detach(input: { policyId: string; subjectId: string }): Promise<boolean>;
  /** Number of users and groups a managed policy is attached to. */
  attachmentCount(policyId: string): Promise<number>;
  /** Managed policies attached directly to a user or group. */
  attachedTo(subjectId: string): Promise<StoredPolicy[]>;
  /** Every document that applies to a principal (inline, attached, through groups) and the account-wide ones. */
  effectiveFor(accountId: string, principalId: string): Promise<{ identity: string[]; account: string[] }>;
  insertGroup(group: PolicyGroup): Promise<void>;
  findGroup(accountId: string, name: string): Promise<PolicyGroup | null>;
  listGroups(accountId: string): Promise<PolicyGroup[]>;
  /** Adds a member; false when it already was one. */
  addMember(input: { groupId: string; principalId: string; accountId: string }): Promise<boolean>;
  removeMember(input: { groupId: string; principalId: string }): Promise<boolean>;
  groupsOf(principalId: string): Promise<PolicyGroup[]>;
  members(groupId: string): Promise<string[]>;
}

/** A one-time grant to enrol a factor without an MFA session (issued by recovery or an admin reset). */
export interface EnrolmentGrant {
  id: string;
  accountId: string;
  principalId: string;
  /** SHA-256 of the token; the token itself is shown once. */
  tokenHash: string;
  reason: string;
  issuedBy: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

/** Enrolment grants and each principal's first enrolment. */
export interface EnrolmentRepository {
  insertGrant(grant: EnrolmentGrant): Promise<void>;
  /** Uses a live grant of this principal once (conditional update); null when none matches. */
  consumeGrant(input: {
    tokenHash: string;
    principalId: string;
    now: number;
  }): Promise<EnrolmentGrant | null>;
  /** Records the first time a principal enabled a factor (later calls change nothing). */
  markEnrolled(input: { principalId: string; accountId: string; now: number }): Promise<void>;
  /** True when the principal has ever had an enabled factor. */
  everEnrolled(principalId: string): Promise<boolean>;
}

/** A message written in the same transaction as the change that causes it (transactional outbox). */
export interface OutboxMessage {
  id: string;
  accountId: string | null;
  principalId: string | null;
  /** E-mail, an SMS through the phone provider (recovery codes only), or a signed webhook. */
  channel: 'email' | 'sms' | 'webhook';
  template: string;
  payload: Record<string, string | number | boolean | null>;
  createdAt: number;
  /** Fixed recipient (an address, number or URL); null: the principal's address at delivery time. */
  recipient?: string | null;
}

/** An outbox row with its delivery state. */
export interface OutboxEntry extends OutboxMessage {
  recipient: string | null;
  attempts: number;
  sentAt: number | null;
  failedAt: number | null;
  nextAttemptAt: number | null;
  lastError: string | null;
}

/** Where a message stands: waiting (or being retried), delivered, or given up after its attempts. */
export type OutboxState = 'pending' | 'sent' | 'failed';

/** The transactional outbox (a delivery worker sends what is written here). */
export interface OutboxRepository {
  insert(message: OutboxMessage): Promise<void>;
  listForPrincipal(principalId: string): Promise<OutboxMessage[]>;
  /**
   * Claims up to `limit` due messages for `leaseMs` (conditional update): a message claimed by
   * one worker is not claimed by another until its lease runs out (a crashed worker's claim).
   */
  claimDue(input: {
    now: number;
    limit: number;
    claimId: string;
    leaseMs: number;
    /** Only these channels (those with a transport configured). */
    channels: OutboxMessage['channel'][];
  }): Promise<OutboxEntry[]>;
  /** Marks a claimed message sent, replacing its payload (secrets dropped); false if the claim was lost. */
  markSent(input: {
    id: string;
    claimId: string;
    now: number;
    payload: OutboxMessage['payload'];
  }): Promise<boolean>;
  /** Records a failed attempt: retried at `nextAttemptAt`, or given up when that is null. */
  markFailed(input: {
    id: string;
    claimId: string;
    now: number;
    error: string;
    nextAttemptAt: number | null;
  }): Promise<void>;
  /**
   * Messages newest first, optionally of one account and only the unsent, or of one delivery
   * state (`pending`: neither sent nor given up), skipping `offset` rows.
   */
  list(input: {
    accountId?: string;
    pendingOnly?: boolean;
    state?: OutboxState;
    limit: number;
    offset?: number;
  }): Promise<OutboxEntry[]>;
  /** Deletes messages delivered before `before` (retention); returns how many went. */
  deleteSentBefore(before: number): Promise<number>;
  /** The undelivered messages per channel: still pending (and the oldest's creation), given up. */
  backlog(): Promise<OutboxBacklog[]>;
}

/** One channel's undelivered messages (metrics, read at scrape time). */
export interface OutboxBacklog {
  channel: OutboxMessage['channel'];
  pending: number;
  /** When the oldest pending message was queued; null with none pending. */
  oldestPendingAt: number | null;
  /** Messages whose delivery was given up (attempts exhausted). */
  failed: number;
}

/** The credential behind a `webauthn` factor (W3C WebAuthn Level 2 §6.5.1 attested credential data). */
export interface WebAuthnCredential {
  factorId: string;
  accountId: string;
  principalId: string;
  /** Credential ID, base64url; unique within the account. */
  credentialId: string;
  /** COSE_Key bytes (RFC 9052 §7). */
  publicKey: Uint8Array;
  /** COSE algorithm (-7 ES256, -8 EdDSA, -257 RS256). */
  algorithm: number;
  /** Last accepted signature counter (0: the authenticator keeps none). */
  signCount: number;
  transports: string[];
  /** Canonical AAGUID of the model (all zeros when hidden). */
  aaguid: string;
  /** BE flag, fixed at creation (Level 3 §6.1.3). */
  backupEligible: boolean;
  /** BS flag as last seen. */
  backedUp: boolean;
  /** UV flag at registration. */
  userVerified: boolean;
  attestationFormat: string;
  /** The attestation chained to a trust anchor from the account's FIDO metadata. */
  attestationVerified: boolean;
  /** The model was explicitly on the account's allow-list (with verified attestation). */
  aaguidAllowed: boolean;
  /** Registered as a discoverable passkey (can sign in without a password). */
  discoverable: boolean;
  /** The user handle (base64url) the authenticator stores and returns for discoverable credentials. */
  userHandle: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** What a WebAuthn ceremony is for. */
export type WebAuthnChallengePurpose = 'register' | 'sign_in' | 'step_up' | 'passkey';

/** A ceremony challenge kept server-side: single use, short-lived. */
export interface WebAuthnChallenge {
  id: string;
  purpose: WebAuthnChallengePurpose;
  /** base64url challenge as sent to the browser. */
  challenge: string;
  accountId: string | null;
  /** The principal the ceremony is for (registering or signing in), when known. */
  principalId: string | null;
  /** The session that asked (registration, step-up); only it may answer. */
  sessionId: string | null;
  /** The sign-in flow that asked. */
  flowId: string | null;
  data: Record<string, string | number | boolean | null>;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

/** An account's imported FIDO metadata catalog (MDS3 BLOB entries, parsed and signature-checked). */
export interface WebAuthnMetadataRecord {
  accountId: string;
  serialNumber: number;
  nextUpdate: string;
  /** JSON of the catalog entries (roots base64 DER). */
  entries: string;
  importedAt: number;
}

/** WebAuthn credentials, challenges and metadata. */
export interface WebAuthnRepository {
  insertCredential(credential: WebAuthnCredential): Promise<void>;
  findCredential(accountId: string, credentialId: string): Promise<WebAuthnCredential | null>;
  findCredentialByFactor(factorId: string): Promise<WebAuthnCredential | null>;
  listCredentials(accountId: string, principalId: string): Promise<WebAuthnCredential[]>;
  /**
   * Records an accepted assertion: the new counter and backup state, only if the stored counter
   * is still `expectedCount` (two uses of one counter value cannot both win). Also marks the
   * factor used.
   */
  recordUse(input: {
    factorId: string;
    expectedCount: number;
    newCount: number;
    backedUp: boolean;
    now: number;
  }): Promise<boolean>;
  insertChallenge(challenge: WebAuthnChallenge): Promise<void>;
  findChallenge(id: string): Promise<WebAuthnChallenge | null>;
  /** Marks a live, unused challenge used; true for exactly one of concurrent callers. */
  consumeChallenge(input: { id: string; now: number }): Promise<boolean>;
  /** Uses up every live registration challenge of a principal except `exceptId`; returns how many. */
  cancelRegistrations(input: { principalId: string; now: number; exceptId?: string }): Promise<number>;
  /** Deletes challenges that expired before `now`. */
  deleteExpiredChallenges(now: number): Promise<number>;
  putMetadata(record: WebAuthnMetadataRecord): Promise<void>;
  getMetadata(accountId: string): Promise<WebAuthnMetadataRecord | null>;
}

/** Every repository. */
export interface Repositories {
  accounts: AccountRepository;
  principals: PrincipalRepository;
  setupTokens: SetupTokenRepository;
  sessions: SessionRepository;
  flows: FlowRepository;
  audit: AuditRepository;
  throttle: ThrottleRepository;
  meta: MetaRepository;
  factors: FactorRepository;
  recoveryCodes: RecoveryCodeRepository;
  hardwareTokens: HardwareTokenRepository;
  mfaState: MfaStateRepository;
  outbox: OutboxRepository;
  policies: PolicyRepository;
  /** Managed-policy versions, tags, permissions boundaries, the password policy. */
  iam: IamRepository;
  enrolment: EnrolmentRepository;
  webauthn: WebAuthnRepository;
  accessKeys: AccessKeyRepository;
  temporaryCredentials: TemporaryCredentialRepository;
  awsIdentities: AwsIdentityRepository;
  recovery: RecoveryRepository;
  sealedValues: SealedValueRepository;
  oidc: OidcRepository;
}

/** One value sealed under the master key, and where it lives. */
export interface SealedValue {
  table: string;
  key: string;
  /** The context (AAD) it was sealed under. */
  context: string;
  sealed: string;
}

/** Every value sealed under the master key, for re-encryption when the key rotates. */
export interface SealedValueRepository {
  /**
   * Keeps every writer of a sealed value out until the transaction ends (PostgreSQL locks the
   * tables; SQLite's write transaction already excludes other writers).
   */
  lockForRotation(): Promise<void>;
  /** Every sealed value (values that are not in the sealed format are skipped). */
  list(): Promise<SealedValue[]>;
  /** Replaces one sealed value. */
  replace(value: SealedValue, resealed: string): Promise<void>;
}

/**
 * A unique constraint refused a row: raised by the store's transactions, whatever the database,
 * so use cases answer with their own codes (USER_EMAIL_TAKEN, FACTOR_NAME_TAKEN, ...) without
 * reading driver error codes.
 */
export class StorageConflict extends Error {
  /** The table whose constraint refused the row. */
  readonly table: string;
  /** The columns the constraint covers (empty when the database did not say). */
  readonly columns: readonly string[];

  constructor(input: { table: string; columns: readonly string[]; cause?: unknown }) {
    super(`unique constraint on ${input.table}(${input.columns.join(', ')})`, { cause: input.cause });
    this.name = 'StorageConflict';
    this.table = input.table;
    this.columns = input.columns;
  }
}

/** The store: repositories plus a transaction in which a change and its audit record commit together. */
export interface Store extends Repositories {
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>;
  /**
   * Links every committed unsealed audit record into the hash chain, waiting for another
   * process's sealer and for transactions still holding a lower sequence number (PostgreSQL; a
   * no-op on SQLite). Never call it inside a transaction. Verification, checkpoints, archives
   * and exports call it first so they see the chain linked up to its head.
   */
  sealAudit(): Promise<AuditSealResult>;
}

/** What one sealing pass did. */
export interface AuditSealResult {
  /** Records linked into the chain. */
  sealed: number;
  /** Sequence numbers no committed record held, now filled by void records. */
  voided: number[];
}

/** Authenticated encryption of secrets at rest under the master key (envelope, key id in the output). */
export interface SecretBox {
  /** Encrypts `plaintext`, binding it to `context` (additional authenticated data). */
  seal(plaintext: Uint8Array, context: string): string;
  /** Decrypts and authenticates; throws CRYPTO_DECRYPT_FAILED when tampered or under an unknown key. */
  open(sealed: string, context: string): Uint8Array;
  /** Id of the key new ciphertexts are sealed under. */
  readonly currentKeyId: string;
}

/** Draws QR codes of otpauth key URIs (error correction M, a two-module margin). */
export interface QrCodeRenderer {
  /** PNG bytes. */
  png(text: string): Promise<Uint8Array>;
  /** An SVG document. */
  svg(text: string): Promise<string>;
}

/** Password hashing, off the event loop. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** True when the hash was made with weaker parameters than the current ones. */
  needsRehash(hash: string): boolean;
}
