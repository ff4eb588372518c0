import type { Kysely, Migration } from 'kysely';

/**
 * The OpenID Connect provider (docs/oidc.md): clients registered per account (the secret sealed
 * under the master key), the library's own records (authorization codes, tokens, sessions,
 * grants, interactions, device codes) as JSON with the columns it looks them up by, the signing
 * keys (private JWKs sealed under the master key), and the consent each user gave each client.
 */
export const migration0018: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('oidc_clients')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('name', 'varchar(128)', (c) => c.notNull())
      .addColumn('redirect_uris', 'text', (c) => c.notNull())
      .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull())
      .addColumn('public', 'integer', (c) => c.notNull())
      .addColumn('secret_sealed', 'text')
      .addColumn('minimum_assurance', 'varchar(32)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('oidc_clients_account').on('oidc_clients').column('account_id').execute();

    await db.schema
      .createTable('oidc_records')
      .addColumn('model', 'varchar(48)', (c) => c.notNull())
      .addColumn('id', 'varchar(256)', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('grant_id', 'varchar(256)')
      .addColumn('user_code', 'varchar(64)')
      .addColumn('uid', 'varchar(256)')
      .addColumn('subject', 'varchar(64)')
      .addColumn('client_id', 'varchar(64)')
      .addColumn('expires_at', 'bigint')
      .addColumn('consumed_at', 'bigint')
      .addPrimaryKeyConstraint('oidc_records_pk', ['model', 'id'])
      .execute();
    await db.schema.createIndex('oidc_records_grant').on('oidc_records').column('grant_id').execute();
    await db.schema.createIndex('oidc_records_uid').on('oidc_records').columns(['model', 'uid']).execute();
    await db.schema
      .createIndex('oidc_records_user_code')
      .on('oidc_records')
      .columns(['model', 'user_code'])
      .execute();
    await db.schema
      .createIndex('oidc_records_subject_client')
      .on('oidc_records')
      .columns(['subject', 'client_id'])
      .execute();
    await db.schema.createIndex('oidc_records_expires').on('oidc_records').column('expires_at').execute();

    await db.schema
      .createTable('oidc_signing_keys')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('private_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('retires_at', 'bigint')
      .execute();

    await db.schema
      .createTable('oidc_consents')
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('client_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('granted_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('oidc_consents_pk', ['principal_id', 'client_id'])
      .execute();
  },
};
