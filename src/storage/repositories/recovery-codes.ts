import type { Kysely } from 'kysely';
import type { RecoveryCodeRepository } from '../../core/ports.js';
import type { Schema } from '../schema.js';

/** Recovery codes on Kysely. */
export function recoveryCodeRepository(db: Kysely<Schema>): RecoveryCodeRepository {
  return {
    async replaceSet({ accountId, principalId, codes, now }) {
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
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async countRemaining(principalId) {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('principal_id', '=', principalId)
        .where('used_at', 'is', null)
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
        .execute();
      return rows.map((r) => r.principal_id);
    },
  };
}
