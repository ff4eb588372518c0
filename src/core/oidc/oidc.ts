/**
 * OpenID Connect provider: the stored shapes (clients, the provider's own records, signing keys,
 * remembered consent) and the repository port they are kept through. The provider itself is the
 * `oidc-provider` library, mounted by the HTTP face (src/http/oidc/); docs/oidc.md.
 */

/** A relying party registered by an account's administrators (OpenID Connect Core 1.0 §2). */
export interface OidcClient {
  /** `client_id`: `hfc_` + 22 base64url characters; unique across the installation. */
  id: string;
  accountId: string;
  name: string;
  /** Compared exactly (RFC 9700 §4.1.3: no pattern, no prefix matching). */
  redirectUris: string[];
  /** Where RP-initiated logout may send the browser back to (exact match as well). */
  postLogoutRedirectUris: string[];
  /** A public client (browser app, CLI) has no secret and must use PKCE (RFC 7636). */
  public: boolean;
  /** The client secret sealed under the master key (null for a public client). */
  secretSealed: string | null;
  /** Least assurance level (an `ALL_ASSURANCE_LEVELS` name or `mfa`) every sign-in must reach; null: any MFA. */
  minimumAssurance: string | null;
  createdAt: number;
}

/** One record of the provider's own state (codes, tokens, sessions, grants, interactions). */
export interface OidcRecord {
  model: string;
  id: string;
  /** The library's payload as JSON. */
  payload: string;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  /** The subject (`sub`) and client the record belongs to, when it names them. */
  subject: string | null;
  clientId: string | null;
  expiresAt: number | null;
  consumedAt: number | null;
}

/** A signing key of the provider: an RSA private JWK sealed under the master key. */
export interface OidcSigningKey {
  /** `kid` of the key in the JWKS. */
  id: string;
  privateSealed: string;
  createdAt: number;
  /** Until when a superseded key is still published for verification; null while current. */
  retiresAt: number | null;
}

/** Consent a user gave one client, remembered until the user revokes it. */
export interface OidcConsent {
  accountId: string;
  principalId: string;
  clientId: string;
  scopes: string[];
  grantedAt: number;
}

/**
 * An external OpenID Connect identity provider registered in an account (IAM
 * CreateOpenIDConnectProvider): STS AssumeRoleWithWebIdentity accepts its ID tokens for the
 * account's roles whose trust policy names it.
 */
export interface OidcIdentityProvider {
  accountId: string;
  /** The issuer URL without its scheme (`host[/path]`): the ARN's resource and the condition-key prefix. */
  hostPath: string;
  /** The issuer URL as registered (`https://host[/path]`; `http://` only on loopback). */
  url: string;
  /** Audiences (`aud`) accepted from this provider. */
  clientIds: string[];
  /** Certificate thumbprints (40 hex characters each) as given; kept and returned, see docs/oidc.md. */
  thumbprints: string[];
  tags: { key: string; value: string }[];
  createdAt: number;
}

/** Storage of the OpenID Connect provider. */
export interface OidcRepository {
  insertIdentityProvider(provider: OidcIdentityProvider): Promise<void>;
  findIdentityProvider(accountId: string, hostPath: string): Promise<OidcIdentityProvider | null>;
  listIdentityProviders(accountId: string): Promise<OidcIdentityProvider[]>;
  /** Replaces the client ids, thumbprints and tags of a provider; false when there is none. */
  updateIdentityProvider(
    provider: Pick<OidcIdentityProvider, 'accountId' | 'hostPath' | 'clientIds' | 'thumbprints' | 'tags'>,
  ): Promise<boolean>;
  deleteIdentityProvider(accountId: string, hostPath: string): Promise<boolean>;

  insertClient(client: OidcClient): Promise<void>;
  findClient(id: string): Promise<OidcClient | null>;
  listClients(accountId: string): Promise<OidcClient[]>;
  /** Deletes the client and everything issued to it; false when the account has no such client. */
  deleteClient(accountId: string, id: string): Promise<boolean>;

  upsertRecord(record: OidcRecord): Promise<void>;
  findRecord(model: string, id: string): Promise<OidcRecord | null>;
  findRecordByUserCode(model: string, userCode: string): Promise<OidcRecord | null>;
  findRecordByUid(model: string, uid: string): Promise<OidcRecord | null>;
  /** Marks a record consumed (once: false when it already was). */
  consumeRecord(model: string, id: string, now: number): Promise<boolean>;
  destroyRecord(model: string, id: string): Promise<void>;
  /** Deletes every record of a grant (all its codes and tokens). */
  revokeGrant(grantId: string): Promise<void>;
  /** Deletes every record a subject holds for a client (consent revoked). */
  revokeSubjectClient(subject: string, clientId: string): Promise<number>;
  /** Deletes records past their expiry; how many went. */
  pruneRecords(now: number): Promise<number>;

  listSigningKeys(): Promise<OidcSigningKey[]>;
  insertSigningKey(key: OidcSigningKey): Promise<void>;
  /** Marks every current key except `exceptId` as retiring at `retiresAt`; drops keys retired before `now`. */
  supersedeSigningKeys(input: { exceptId: string; retiresAt: number; now: number }): Promise<void>;

  findConsent(principalId: string, clientId: string): Promise<OidcConsent | null>;
  putConsent(consent: OidcConsent): Promise<void>;
  listConsents(principalId: string): Promise<OidcConsent[]>;
  deleteConsent(principalId: string, clientId: string): Promise<boolean>;
}
