import type { Kysely } from 'kysely';
import type {
  WebAuthnChallenge,
  WebAuthnChallengePurpose,
  WebAuthnCredential,
  WebAuthnRepository,
} from '../../core/ports.js';
import type { Schema, WebAuthnChallengesTable, WebAuthnCredentialsTable } from '../schema.js';

const flag = (b: boolean) => (b ? 1 : 0);

function toCredential(row: WebAuthnCredentialsTable): WebAuthnCredential {
  return {
    factorId: row.factor_id,
    accountId: row.account_id,
    principalId: row.principal_id,
    credentialId: row.credential_id,
    publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64url')),
    algorithm: Number(row.algorithm),
    signCount: Number(row.sign_count),
    transports: JSON.parse(row.transports) as string[],
    aaguid: row.aaguid,
    backupEligible: Number(row.backup_eligible) === 1,
    backedUp: Number(row.backed_up) === 1,
    userVerified: Number(row.user_verified) === 1,
    attestationFormat: row.attestation_format,
    attestationVerified: Number(row.attestation_verified) === 1,
    aaguidAllowed: Number(row.aaguid_allowed) === 1,
    discoverable: Number(row.discoverable) === 1,
    userHandle: row.user_handle,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

function toChallenge(row: WebAuthnChallengesTable): WebAuthnChallenge {
  return {
    id: row.id,
    purpose: row.purpose as WebAuthnChallengePurpose,
    challenge: row.challenge,
    accountId: row.account_id,
    principalId: row.principal_id,
    sessionId: row.session_id,
    flowId: row.flow_id,
    data: JSON.parse(row.data) as WebAuthnChallenge['data'],
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
  };
}

/** WebAuthn credentials, ceremony challenges and FIDO metadata on Kysely. */
export function webAuthnRepository(db: Kysely<Schema>): WebAuthnRepository {
  return {
    async insertCredential(c) {
      await db
        .insertInto('webauthn_credentials')
        .values({
          factor_id: c.factorId,
          account_id: c.accountId,
          principal_id: c.principalId,
          credential_id: c.credentialId,
          public_key: Buffer.from(c.publicKey).toString('base64url'),
          algorithm: c.algorithm,
          sign_count: c.signCount,
          transports: JSON.stringify(c.transports),
          aaguid: c.aaguid,
          backup_eligible: flag(c.backupEligible),
          backed_up: flag(c.backedUp),
          user_verified: flag(c.userVerified),
          attestation_format: c.attestationFormat,
          attestation_verified: flag(c.attestationVerified),
          aaguid_allowed: flag(c.aaguidAllowed),
          discoverable: flag(c.discoverable),
          user_handle: c.userHandle,
          created_at: c.createdAt,
          last_used_at: c.lastUsedAt,
        })
        .execute();
    },
    async findCredential(accountId, credentialId) {
      const row = await db
        .selectFrom('webauthn_credentials')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('credential_id', '=', credentialId)
        .executeTakeFirst();
      return row ? toCredential(row) : null;
    },
    async findCredentialByFactor(factorId) {
      const row = await db
        .selectFrom('webauthn_credentials')
        .selectAll()
        .where('factor_id', '=', factorId)
        .executeTakeFirst();
      return row ? toCredential(row) : null;
    },
    async listCredentials(accountId, principalId) {
      const rows = await db
        .selectFrom('webauthn_credentials')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .orderBy('created_at')
        .orderBy('factor_id')
        .execute();
      return rows.map(toCredential);
    },
    async recordUse({ factorId, expectedCount, newCount, backedUp, now }) {
      const result = await db
        .updateTable('webauthn_credentials')
        .set({ sign_count: newCount, backed_up: flag(backedUp), last_used_at: now })
        .where('factor_id', '=', factorId)
        .where('sign_count', '=', expectedCount)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await db
        .updateTable('factors')
        .set({ last_used_at: now, failed_attempts: 0 })
        .where('id', '=', factorId)
        .execute();
      return true;
    },
    async insertChallenge(c) {
      await db
        .insertInto('webauthn_challenges')
        .values({
          id: c.id,
          purpose: c.purpose,
          challenge: c.challenge,
          account_id: c.accountId,
          principal_id: c.principalId,
          session_id: c.sessionId,
          flow_id: c.flowId,
          data: JSON.stringify(c.data),
          created_at: c.createdAt,
          expires_at: c.expiresAt,
          used_at: c.usedAt,
        })
        .execute();
    },
    async findChallenge(id) {
      const row = await db
        .selectFrom('webauthn_challenges')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toChallenge(row) : null;
    },
    async consumeChallenge({ id, now }) {
      const result = await db
        .updateTable('webauthn_challenges')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async cancelRegistrations({ principalId, now, exceptId }) {
      let query = db
        .updateTable('webauthn_challenges')
        .set({ used_at: now })
        .where('principal_id', '=', principalId)
        .where('purpose', '=', 'register')
        .where('used_at', 'is', null)
        .where('expires_at', '>', now);
      if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async deleteExpiredChallenges(now) {
      const result = await db
        .deleteFrom('webauthn_challenges')
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async putMetadata(r) {
      await db.deleteFrom('webauthn_metadata').where('account_id', '=', r.accountId).execute();
      await db
        .insertInto('webauthn_metadata')
        .values({
          account_id: r.accountId,
          serial_number: r.serialNumber,
          next_update: r.nextUpdate,
          entries: r.entries,
          imported_at: r.importedAt,
        })
        .execute();
    },
    async getMetadata(accountId) {
      const row = await db
        .selectFrom('webauthn_metadata')
        .selectAll()
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return row
        ? {
            accountId: row.account_id,
            serialNumber: Number(row.serial_number),
            nextUpdate: row.next_update,
            entries: row.entries,
            importedAt: Number(row.imported_at),
          }
        : null;
    },
  };
}
