import type { Kysely } from 'kysely';
import type { RecoveryCodeRepository } from '../../core/ports.js';
import type { Schema } from '../schema.js';

/**
 * The provenance of a set that counts as a second factor: issued from an MFA session of a
 * principal with an enabled factor. `legacy` (written before provenance was recorded) and `void`
 * (left over when a first factor was enabled) never count.
 */
const COUNTS = 'mfa';

/** Recovery codes on Kysely. */
export function recoveryCodeRepository(db: Kysely<Schema>): RecoveryCodeRepository {
  return {
    async replaceSet({ accountId, principalId, codes, now, issued }) {
      await db.deleteFrom('recovery_codes').where('principal_id', '=', principalId).execute();
      if (codes.length === 0) return;
      await db
        .insertInto('recovery_codes')
        .values(
          codes.map((c) => ({
            id: c.id,
            account_id: accountId,
            principal_id: principalId,
            code_hash: c.codeHash,
            created_at: now,
            used_at: null,
            provenance: issued === undefined ? 'void' : COUNTS,
            issued_factor_id: issued?.factorId ?? null,
            issued_session_id: issued?.sessionId ?? null,
          })),
        )
        .execute();
    },
    async consume({ principalId, codeHash, now }) {
      const result = await db
        .updateTable('recovery_codes')
        .set({ used_at: now })
        .where('principal_id', '=', principalId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .where('provenance', '=', COUNTS)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async countRemaining(principalId) {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('principal_id', '=', principalId)
        .where('used_at', 'is', null)
        .where('provenance', '=', COUNTS)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async principalsWithCodes(accountId) {
      const rows = await db
        .selectFrom('recovery_codes')
        .select('principal_id')
        .distinct()
        .where('account_id', '=', accountId)
        .where('used_at', 'is', null)
        .where('provenance', '=', COUNTS)
        .execute();
      return rows.map((r) => r.principal_id);
    },
    async voidAll(principalId) {
      const result = await db
        .updateTable('recovery_codes')
        .set({ provenance: 'void' })
        .where('principal_id', '=', principalId)
        .where('provenance', '=', COUNTS)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      // Used codes keep their provenance: they are history (a recovery session names one).
      return Number(result.numUpdatedRows);
    },
    async usedAt({ principalId, usedAt }) {
      const row = await db
        .selectFrom('recovery_codes')
        .select('id')
        .where('principal_id', '=', principalId)
        .where('used_at', '=', usedAt)
        .where('provenance', '=', COUNTS)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
