import type { Kysely, Migration } from 'kysely';

/**
 * External OpenID Connect identity providers registered per account with IAM
 * CreateOpenIDConnectProvider (docs/oidc.md): the issuer URL, keyed per account by the URL
 * without its scheme (as the provider's ARN names it), the accepted client ids (audiences), the
 * thumbprints and tags as JSON, and the creation time.
 */
export const migration0019: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('oidc_identity_providers')
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('host_path', 'varchar(255)', (c) => c.notNull())
      .addColumn('url', 'varchar(255)', (c) => c.notNull())
      .addColumn('client_ids', 'text', (c) => c.notNull())
      .addColumn('thumbprints', 'text', (c) => c.notNull())
      .addColumn('tags', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('oidc_identity_providers_pk', ['account_id', 'host_path'])
      .execute();
  },
};
