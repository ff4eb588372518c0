/** Shapes of the /v1 answers the console reads (see /v1/openapi.json). */

/** A user (never a hash). */
export interface User {
  id: string;
  accountId: string;
  username: string;
  email: string;
  role: string;
  status: string;
  hasPassword: boolean;
  createdAt: string;
}

/** A session (never its token). */
export interface Session {
  id: string;
  channel: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  methods: string[];
  mfa: { factorId: string; kind: string; assurance: string; at: string } | null;
  sourceIp: string | null;
  userAgent: string | null;
  current: boolean;
}

/** GET /v1/session. */
export interface CurrentSession {
  session: Session;
  user: User;
  account: { id: string; name: string };
  csrfToken: string;
}

/** A factor (never its secret). */
export interface Factor {
  id: string;
  kind: string;
  name: string;
  status: string;
  assurance: string;
  adminProvisioned: boolean;
  createdAt: string;
  enabledAt: string | null;
  lastUsedAt: string | null;
  pendingExpiresAt: string | null;
}

/** A factor the sign-in flow offers. */
export interface OfferedFactor {
  id: string;
  kind: string;
  name: string;
  lastUsedAt: string | null;
}

/** POST /v1/sign-in and /v1/sign-in/second-factor answers. */
export type SignInAnswer =
  | {
      status: 'signed_in';
      session: Session;
      user: User;
      csrfToken?: string;
      reviewFactors?: boolean;
      recoveryCodesRemaining?: number | null;
    }
  | {
      status: 'second_factor_required';
      flowId: string;
      expiresAt: string;
      factors: OfferedFactor[];
      recoveryCodes: boolean;
    };

/** A hardware token in the inventory (never its seed). */
export interface HardwareToken {
  id: string;
  serial: string;
  manufacturer: string | null;
  model: string | null;
  mode: string;
  algorithm: string;
  digits: number;
  period: number | null;
  state: string;
  userId: string | null;
  factorId: string | null;
  importId: string;
  importedAt: string;
  updatedAt: string;
}

/** One audit record as GET /v1/audit answers it. */
export interface AuditRecord {
  seq: number;
  eventId: string;
  eventTime: string;
  eventName: string;
  userIdentity: { type: string; principalId: string | null };
  target: string | null;
  sourceIPAddress: string | null;
  outcome: string;
  errorCode: string | null;
  details: Record<string, unknown> | null;
}

/** A user the lock-out insights name. */
export interface AtRiskUser {
  id: string;
  email: string;
  role: string;
  enabledFactors: number;
  recoveryCodes: boolean;
}

/** GET /v1/insights/lockout-risk. */
export interface LockoutRisk {
  usersWithoutFactors: AtRiskUser[];
  usersWithSingleFactor: AtRiskUser[];
  usersWithoutRecoveryCodes: AtRiskUser[];
  administrators: number;
  singleAdministrator: boolean;
}

/** One finding of POST /v1/policies/lint. */
export interface LintFinding {
  severity: 'error' | 'warning';
  code: string;
  statement?: number | null;
  sid?: string | null;
  message: string;
}
