import type { Kysely } from 'kysely';
import type { SessionRepository } from '../../core/ports.js';
import type { Session, SessionAuth, SessionChannel } from '../../core/sessions/session.js';
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

/** The factor ids a session's `factor_ids` column lists. */
function factorIdsOf(text: string): string[] {
  return text === '' ? [] : text.split(' ');
}

/** Adds the factor of `auth` (if any) to a `factor_ids` list. */
function withFactorOf(text: string, auth: SessionAuth): string {
  const id = auth.factor?.factorId;
  if (id === undefined || id === '') return text;
  const ids = factorIdsOf(text);
  return ids.includes(id) ? text : [...ids, id].join(' ');
}

/** Sessions on Kysely, keyed for lookup by token hash. */
export function sessionRepository(db: Kysely<Schema>): SessionRepository {
  return {
    async deleteEndedBefore(before) {
      const result = await db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<', before), eb('revoked_at', '<', before)]))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
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
          factor_ids: withFactorOf('', s.auth),
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
      // Every factor verified in the session is remembered: removing any of them ends it.
      const row = await db
        .selectFrom('sessions')
        .select('factor_ids')
        .where('id', '=', id)
        .executeTakeFirst();
      await db
        .updateTable('sessions')
        .set({ auth: JSON.stringify(auth), factor_ids: withFactorOf(row?.factor_ids ?? '', auth) })
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
    async revokeDerived({ accountId, principalId, now, reason, factorId, withoutMfa, exceptId }) {
      const rows = await db
        .selectFrom('sessions')
        .select(['id', 'auth', 'factor_ids'])
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .execute();
      const doomed = rows.filter((row) => {
        if (row.id === exceptId) return false;
        if (factorId !== undefined && !factorIdsOf(row.factor_ids).includes(factorId)) return false;
        if (withoutMfa === true && (JSON.parse(row.auth) as SessionAuth).factor !== null) return false;
        return true;
      });
      let revoked = 0;
      for (const row of doomed) {
        const result = await db
          .updateTable('sessions')
          .set({ revoked_at: now, revoked_reason: reason })
          .where('id', '=', row.id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        revoked += Number(result.numUpdatedRows);
      }
      return revoked;
    },
  };
}
