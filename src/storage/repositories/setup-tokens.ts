import type { Kysely } from 'kysely';
import type { SetupToken, SetupTokenRepository } from '../../core/ports.js';
import type { VerificationTokensTable } from '../recovery-schema.js';
import type { Schema } from '../schema.js';

/**
 * Password-setup links are single-use tokens like the verification, reset and cancel tokens, and
 * live in the same table (`verification_tokens`, migration 0013) under their own purpose, with
 * the principal as their subject.
 */
const PURPOSE: SetupToken['purpose'] = 'password_setup';

/** The row id of a setup token: derived from its hash, which is what callers know it by. */
const idOf = (tokenHash: string) => `st_${tokenHash.slice(0, 29)}`;

function toToken(row: VerificationTokensTable): SetupToken {
  return {
    tokenHash: row.token_hash,
    accountId: row.account_id,
    principalId: row.principal_id,
    purpose: PURPOSE,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
  };
}

/** One-time setup tokens on Kysely. */
export function setupTokenRepository(db: Kysely<Schema>): SetupTokenRepository {
  const find = (tokenHash: string) =>
    db
      .selectFrom('verification_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', PURPOSE)
      .executeTakeFirst();
  return {
    async insert(token) {
      await db
        .insertInto('verification_tokens')
        .values({
          id: idOf(token.tokenHash),
          token_hash: token.tokenHash,
          account_id: token.accountId,
          principal_id: token.principalId,
          purpose: PURPOSE,
          subject_id: token.principalId,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          used_at: token.usedAt,
          attempts: 0,
        })
        .execute();
    },
    async findByHash(tokenHash) {
      const row = await find(tokenHash);
      return row ? toToken(row) : null;
    },
    async consume(tokenHash, now) {
      // The conditional UPDATE is the single-use guarantee: of two concurrent uses, one changes a row.
      const result = await db
        .updateTable('verification_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('purpose', '=', PURPOSE)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return null;
      const row = await find(tokenHash);
      return row ? toToken(row) : null;
    },
    async revokeForPrincipal(accountId, principalId, now) {
      await db
        .updateTable('verification_tokens')
        .set({ used_at: now })
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .where('purpose', '=', PURPOSE)
        .where('used_at', 'is', null)
        .execute();
    },
  };
}
