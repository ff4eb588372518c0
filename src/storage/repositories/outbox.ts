import type { Kysely } from 'kysely';
import type { OutboxRepository } from '../../core/ports.js';
import type { Schema } from '../schema.js';

/** The transactional outbox on Kysely. */
export function outboxRepository(db: Kysely<Schema>): OutboxRepository {
  return {
    async insert(m) {
      await db
        .insertInto('outbox')
        .values({
          id: m.id,
          account_id: m.accountId,
          principal_id: m.principalId,
          channel: m.channel,
          template: m.template,
          payload: JSON.stringify(m.payload),
          created_at: m.createdAt,
          sent_at: null,
          attempts: 0,
        })
        .execute();
    },
    async listForPrincipal(principalId) {
      const rows = await db
        .selectFrom('outbox')
        .selectAll()
        .where('principal_id', '=', principalId)
        .orderBy('created_at')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        accountId: r.account_id,
        principalId: r.principal_id,
        channel: r.channel as 'email',
        template: r.template,
        payload: JSON.parse(r.payload),
        createdAt: r.created_at,
      }));
    },
  };
}
