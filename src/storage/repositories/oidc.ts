import type { Kysely } from 'kysely';
import type {
  OidcClient,
  OidcConsent,
  OidcIdentityProvider,
  OidcRecord,
  OidcRepository,
  OidcSigningKey,
} from '../../core/oidc/oidc.js';
import type { Schema } from '../schema.js';
import type {
  OidcClientsTable,
  OidcConsentsTable,
  OidcIdentityProvidersTable,
  OidcRecordsTable,
} from './oidc-schema.js';

function toIdentityProvider(row: OidcIdentityProvidersTable): OidcIdentityProvider {
  return {
    accountId: row.account_id,
    hostPath: row.host_path,
    url: row.url,
    clientIds: JSON.parse(row.client_ids) as string[],
    thumbprints: JSON.parse(row.thumbprints) as string[],
    tags: JSON.parse(row.tags) as { key: string; value: string }[],
    createdAt: Number(row.created_at),
  };
}

function toClient(row: OidcClientsTable): OidcClient {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[],
    public: Number(row.public) === 1,
    secretSealed: row.secret_sealed,
    minimumAssurance: row.minimum_assurance,
    createdAt: Number(row.created_at),
  };
}

function toRecord(row: OidcRecordsTable): OidcRecord {
  return {
    model: row.model,
    id: row.id,
    payload: row.payload,
    grantId: row.grant_id,
    userCode: row.user_code,
    uid: row.uid,
    subject: row.subject,
    clientId: row.client_id,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}

function toConsent(row: OidcConsentsTable): OidcConsent {
  return {
    accountId: row.account_id,
    principalId: row.principal_id,
    clientId: row.client_id,
    scopes: JSON.parse(row.scopes) as string[],
    grantedAt: Number(row.granted_at),
  };
}

/** The OpenID Connect provider's storage on Kysely (SQLite and PostgreSQL alike). */
export function oidcRepository(db: Kysely<Schema>): OidcRepository {
  return {
    async insertIdentityProvider(provider) {
      await db
        .insertInto('oidc_identity_providers')
        .values({
          account_id: provider.accountId,
          host_path: provider.hostPath,
          url: provider.url,
          client_ids: JSON.stringify(provider.clientIds),
          thumbprints: JSON.stringify(provider.thumbprints),
          tags: JSON.stringify(provider.tags),
          created_at: provider.createdAt,
        })
        .execute();
    },
    async findIdentityProvider(accountId, hostPath) {
      const row = await db
        .selectFrom('oidc_identity_providers')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('host_path', '=', hostPath)
        .executeTakeFirst();
      return row ? toIdentityProvider(row) : null;
    },
    async listIdentityProviders(accountId) {
      const rows = await db
        .selectFrom('oidc_identity_providers')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('host_path')
        .execute();
      return rows.map(toIdentityProvider);
    },
    async updateIdentityProvider(provider) {
      const result = await db
        .updateTable('oidc_identity_providers')
        .set({
          client_ids: JSON.stringify(provider.clientIds),
          thumbprints: JSON.stringify(provider.thumbprints),
          tags: JSON.stringify(provider.tags),
        })
        .where('account_id', '=', provider.accountId)
        .where('host_path', '=', provider.hostPath)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async deleteIdentityProvider(accountId, hostPath) {
      const result = await db
        .deleteFrom('oidc_identity_providers')
        .where('account_id', '=', accountId)
        .where('host_path', '=', hostPath)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async insertClient(client) {
      await db
        .insertInto('oidc_clients')
        .values({
          id: client.id,
          account_id: client.accountId,
          name: client.name,
          redirect_uris: JSON.stringify(client.redirectUris),
          post_logout_redirect_uris: JSON.stringify(client.postLogoutRedirectUris),
          public: client.public ? 1 : 0,
          secret_sealed: client.secretSealed,
          minimum_assurance: client.minimumAssurance,
          created_at: client.createdAt,
        })
        .execute();
    },
    async findClient(id) {
      const row = await db.selectFrom('oidc_clients').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toClient(row) : null;
    },
    async listClients(accountId) {
      const rows = await db
        .selectFrom('oidc_clients')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toClient);
    },
    async deleteClient(accountId, id) {
      const result = await db
        .deleteFrom('oidc_clients')
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) !== 1) return false;
      await db.deleteFrom('oidc_records').where('client_id', '=', id).execute();
      await db.deleteFrom('oidc_consents').where('client_id', '=', id).execute();
      return true;
    },

    async upsertRecord(record) {
      const values = {
        payload: record.payload,
        grant_id: record.grantId,
        user_code: record.userCode,
        uid: record.uid,
        subject: record.subject,
        client_id: record.clientId,
        expires_at: record.expiresAt,
        consumed_at: record.consumedAt,
      };
      await db
        .insertInto('oidc_records')
        .values({ model: record.model, id: record.id, ...values })
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(values))
        .execute();
    },
    async findRecord(model, id) {
      const row = await db
        .selectFrom('oidc_records')
        .selectAll()
        .where('model', '=', model)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async findRecordByUserCode(model, userCode) {
      const row = await db
        .selectFrom('oidc_records')
        .selectAll()
        .where('model', '=', model)
        .where('user_code', '=', userCode)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async findRecordByUid(model, uid) {
      const row = await db
        .selectFrom('oidc_records')
        .selectAll()
        .where('model', '=', model)
        .where('uid', '=', uid)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },
    async consumeRecord(model, id, now) {
      // The conditional UPDATE is what makes a code or refresh token single use.
      const result = await db
        .updateTable('oidc_records')
        .set({ consumed_at: now })
        .where('model', '=', model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async destroyRecord(model, id) {
      await db.deleteFrom('oidc_records').where('model', '=', model).where('id', '=', id).execute();
    },
    async revokeGrant(grantId) {
      await db.deleteFrom('oidc_records').where('grant_id', '=', grantId).execute();
    },
    async revokeSubjectClient(subject, clientId) {
      const result = await db
        .deleteFrom('oidc_records')
        .where('subject', '=', subject)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async pruneRecords(now) {
      const result = await db
        .deleteFrom('oidc_records')
        .where('expires_at', 'is not', null)
        .where('expires_at', '<', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async listSigningKeys() {
      const rows = await db
        .selectFrom('oidc_signing_keys')
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map((row): OidcSigningKey => ({
        id: row.id,
        privateSealed: row.private_sealed,
        createdAt: Number(row.created_at),
        retiresAt: row.retires_at === null ? null : Number(row.retires_at),
      }));
    },
    async insertSigningKey(key) {
      await db
        .insertInto('oidc_signing_keys')
        .values({
          id: key.id,
          private_sealed: key.privateSealed,
          created_at: key.createdAt,
          retires_at: key.retiresAt,
        })
        .execute();
    },
    async supersedeSigningKeys(input) {
      await db
        .deleteFrom('oidc_signing_keys')
        .where('retires_at', 'is not', null)
        .where('retires_at', '<', input.now)
        .execute();
      await db
        .updateTable('oidc_signing_keys')
        .set({ retires_at: input.retiresAt })
        .where('id', '!=', input.exceptId)
        .where('retires_at', 'is', null)
        .execute();
    },

    async findConsent(principalId, clientId) {
      const row = await db
        .selectFrom('oidc_consents')
        .selectAll()
        .where('principal_id', '=', principalId)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return row ? toConsent(row) : null;
    },
    async putConsent(consent) {
      const values = {
        account_id: consent.accountId,
        scopes: JSON.stringify(consent.scopes),
        granted_at: consent.grantedAt,
      };
      await db
        .insertInto('oidc_consents')
        .values({ principal_id: consent.principalId, client_id: consent.clientId, ...values })
        .onConflict((oc) => oc.columns(['principal_id', 'client_id']).doUpdateSet(values))
        .execute();
    },
    async listConsents(principalId) {
      const rows = await db
        .selectFrom('oidc_consents')
        .selectAll()
        .where('principal_id', '=', principalId)
        .orderBy('granted_at')
        .execute();
      return rows.map(toConsent);
    },
    async deleteConsent(principalId, clientId) {
      const result = await db
        .deleteFrom('oidc_consents')
        .where('principal_id', '=', principalId)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}
