import type { Kysely } from 'kysely';
import type { SessionRepository } from '../../core/ports.js';
import type { Session, SessionChannel } from '../../core/sessions/session.js';
import type { Schema, SessionsTable } from '../schema.js';

function toSession(row: SessionsTable): Session {
  return {
    id: row.id,
    accountId: row.account_id,
    principalId: row.principal_id,
    channel: row.channel as SessionChannel,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    auth: JSON.parse(row.auth),
    sourceIp: row.source_ip,
    userAgent: row.user_agent,
  };
}

/** Sessions on Kysely, keyed for lookup by token hash. */
export function sessionRepository(db: Kysely<Schema>): SessionRepository {
  return {
    async insert(s, tokenHash) {
      await db
        .insertInto('sessions')
        .values({
          id: s.id,
          token_hash: tokenHash,
          account_id: s.accountId,
          principal_id: s.principalId,
          channel: s.channel,
          created_at: s.createdAt,
          last_seen_at: s.lastSeenAt,
          expires_at: s.expiresAt,
          revoked_at: s.revokedAt,
          revoked_reason: s.revokedReason,
          auth: JSON.stringify(s.auth),
          source_ip: s.sourceIp,
          user_agent: s.userAgent,
        })
        .execute();
    },
    async findByTokenHash(tokenHash) {
      const row = await db
        .selectFrom('sessions')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row ? toSession(row) : null;
    },
    async findById(accountId, id) {
      const row = await db
        .selectFrom('sessions')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toSession(row) : null;
    },
    async touch(id, now) {
      await db
        .updateTable('sessions')
        .set({ last_seen_at: now })
        .where('id', '=', id)
        .where('last_seen_at', '<', now)
        .execute();
    },
    async updateAuth(id, auth) {
      await db
        .updateTable('sessions')
        .set({ auth: JSON.stringify(auth) })
        .where('id', '=', id)
        .execute();
    },
    async listLive(accountId, principalId, now) {
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(toSession);
    },
    async revoke({ id, now, reason }) {
      const result = await db
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: reason })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async revokeAllForPrincipal({ accountId, principalId, now, reason, exceptId }) {
      let query = db
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: reason })
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .where('revoked_at', 'is', null);
      if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
