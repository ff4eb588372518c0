/** Kysely table types of the OpenID Connect provider (migration 0018). */
export interface OidcClientsTable {
  id: string;
  account_id: string;
  name: string;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  public: number;
  secret_sealed: string | null;
  minimum_assurance: string | null;
  created_at: number;
}

export interface OidcRecordsTable {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  subject: string | null;
  client_id: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

export interface OidcSigningKeysTable {
  id: string;
  private_sealed: string;
  created_at: number;
  retires_at: number | null;
}

export interface OidcConsentsTable {
  principal_id: string;
  client_id: string;
  account_id: string;
  scopes: string;
  granted_at: number;
}

/** External identity providers registered with IAM CreateOpenIDConnectProvider (migration 0019). */
export interface OidcIdentityProvidersTable {
  account_id: string;
  host_path: string;
  url: string;
  client_ids: string;
  thumbprints: string;
  tags: string;
  created_at: number;
}

/** The provider's tables, merged into the store's Schema. */
export interface OidcSchema {
  oidc_identity_providers: OidcIdentityProvidersTable;
  oidc_clients: OidcClientsTable;
  oidc_records: OidcRecordsTable;
  oidc_signing_keys: OidcSigningKeysTable;
  oidc_consents: OidcConsentsTable;
}
