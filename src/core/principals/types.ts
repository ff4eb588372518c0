/** Roles a principal can hold inside one account; `owner` is the account's root principal. */
export const ROLES = ['owner', 'admin', 'helpdesk', 'user'] as const;
/** A principal's role. */
export type Role = (typeof ROLES)[number];

/** Lifecycle of a principal. Disabled principals cannot sign in and have no live sessions. */
export type PrincipalStatus = 'active' | 'disabled';

/** Per-account settings; every field has a safe default. */
export interface AccountSettings {
  /** Minimum password length (NIST SP 800-63B §5.1.1.2 requires at least 8; we default to 12). */
  passwordMinLength?: number;
  /** Step-up age for factor removal and similar (G1); can only tighten the 15-minute default. */
  stepUpMaxAgeSeconds?: number;
  /** How long a new principal may enrol its first factor without a grant (G3); can only tighten 7 days. */
  initialEnrolmentWindowSeconds?: number;
  /** Second approver for every help-desk reset, not only of owners and admins. */
  requireSecondApprover?: boolean;
  /** WebAuthn attestation asked for at registration: `none` (default) or `direct` (docs/webauthn.md). */
  webauthnAttestation?: 'none' | 'direct';
  /** Authenticator models (AAGUIDs) allowed to register; absent: every model. Needs verified attestation. */
  webauthnAllowedAAGUIDs?: string[];
  /**
   * Text-message (SMS) codes may be enrolled and sent (default false: a weak, restricted factor).
   * Through the API only the owner, with a fresh second factor, can turn it on.
   */
  smsOtpAllowed?: boolean;
}

/** An account (tenant). Accounts share nothing (MISSION.md failure 6). */
export interface Account {
  /** 12 decimal digits, as AWS account ids. */
  id: string;
  name: string;
  createdAt: number;
  settings: AccountSettings;
}

/** A principal (the owner or a user) of one account. */
export interface Principal {
  /** Stable id, `AIDA` + 16 Base32 characters (the shape of an AWS unique user id). */
  id: string;
  accountId: string;
  /** Login name, unique within the account. */
  username: string;
  /** Normalised (lower-case) e-mail, unique within the account. */
  email: string;
  role: Role;
  status: PrincipalStatus;
  /** PHC-formatted argon2id hash, or null until the principal sets a password. */
  passwordHash: string | null;
  passwordChangedAt: number | null;
  createdAt: number;
  updatedAt: number;
}
