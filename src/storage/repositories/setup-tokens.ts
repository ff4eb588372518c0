import type { Kysely } from 'kysely';
import type { SetupToken, SetupTokenRepository } from '../../core/ports.js';
import type { Schema, SetupTokensTable } from '../schema.js';

function toToken(row: SetupTokensTable): SetupToken {
  return {
    tokenHash: row.token_hash,
    accountId: row.account_id,
    principalId: row.principal_id,
    purpose: row.purpose as SetupToken['purpose'],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
  };
}

/** One-time setup tokens on Kysely. */
export function setupTokenRepository(db: Kysely<Schema>): SetupTokenRepository {
  return {
    async insert(token) {
      await db
        .insertInto('setup_tokens')
        .values({
          token_hash: token.tokenHash,
          account_id: token.accountId,
          principal_id: token.principalId,
          purpose: token.purpose,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          used_at: token.usedAt,
        })
        .execute();
    },
    async findByHash(tokenHash) {
      const row = await db
        .selectFrom('setup_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async consume(tokenHash, now) {
      // The conditional UPDATE is the single-use guarantee: of two concurrent uses, one changes a row.
      const result = await db
        .updateTable('setup_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return null;
      const row = await db
        .selectFrom('setup_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async revokeForPrincipal(accountId, principalId, now) {
      await db
        .updateTable('setup_tokens')
        .set({ used_at: now })
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .where('used_at', 'is', null)
        .execute();
    },
  };
}
