import type { Kysely } from 'kysely';
import type { EnrolmentGrant, EnrolmentRepository } from '../../core/ports.js';
import type { EnrolmentGrantsTable, Schema } from '../schema.js';

function toGrant(row: EnrolmentGrantsTable): EnrolmentGrant {
  return {
    id: row.id,
    accountId: row.account_id,
    principalId: row.principal_id,
    tokenHash: row.token_hash,
    reason: row.reason,
    issuedBy: row.issued_by,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
  };
}

/** Enrolment grants and first-enrolment records on Kysely. */
export function enrolmentRepository(db: Kysely<Schema>): EnrolmentRepository {
  return {
    async insertGrant(grant) {
      await db
        .insertInto('enrolment_grants')
        .values({
          id: grant.id,
          account_id: grant.accountId,
          principal_id: grant.principalId,
          token_hash: grant.tokenHash,
          reason: grant.reason,
          issued_by: grant.issuedBy,
          created_at: grant.createdAt,
          expires_at: grant.expiresAt,
          used_at: grant.usedAt,
        })
        .execute();
    },
    async consumeGrant(input) {
      // The conditional UPDATE is the single-use guarantee: of two concurrent uses, one changes a row.
      const result = await db
        .updateTable('enrolment_grants')
        .set({ used_at: input.now })
        .where('token_hash', '=', input.tokenHash)
        .where('principal_id', '=', input.principalId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', input.now)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return null;
      const row = await db
        .selectFrom('enrolment_grants')
        .selectAll()
        .where('token_hash', '=', input.tokenHash)
        .executeTakeFirst();
      return row ? toGrant(row) : null;
    },
    async markEnrolled(input) {
      const existing = await db
        .selectFrom('enrolment_history')
        .select('principal_id')
        .where('principal_id', '=', input.principalId)
        .executeTakeFirst();
      if (existing !== undefined) return;
      await db
        .insertInto('enrolment_history')
        .values({ principal_id: input.principalId, account_id: input.accountId, first_enabled_at: input.now })
        .execute();
    },
    async everEnrolled(principalId) {
      const row = await db
        .selectFrom('enrolment_history')
        .select('principal_id')
        .where('principal_id', '=', principalId)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
