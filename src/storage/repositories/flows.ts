import type { Kysely } from 'kysely';
import type { Flow } from '../../core/flows/flow.js';
import type { FlowRepository } from '../../core/ports.js';
import type { FlowsTable, Schema } from '../schema.js';

function toFlow(row: FlowsTable): Flow {
  return {
    id: row.id,
    kind: row.kind,
    accountId: row.account_id,
    principalId: row.principal_id,
    state: row.state,
    attempts: row.attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    data: JSON.parse(row.data),
  };
}

/** Flows on Kysely, with optimistic concurrency on `updated_at`. */
export function flowRepository(db: Kysely<Schema>): FlowRepository {
  return {
    async insert(flow) {
      await db
        .insertInto('flows')
        .values({
          id: flow.id,
          kind: flow.kind,
          account_id: flow.accountId,
          principal_id: flow.principalId,
          state: flow.state,
          attempts: flow.attempts,
          created_at: flow.createdAt,
          updated_at: flow.updatedAt,
          expires_at: flow.expiresAt,
          data: JSON.stringify(flow.data),
        })
        .execute();
    },
    async findById(id) {
      const row = await db.selectFrom('flows').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toFlow(row) : null;
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('flows').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async update(flow, expectedUpdatedAt) {
      const result = await db
        .updateTable('flows')
        .set({
          state: flow.state,
          attempts: flow.attempts,
          updated_at: flow.updatedAt,
          expires_at: flow.expiresAt,
          data: JSON.stringify(flow.data),
          principal_id: flow.principalId,
        })
        .where('id', '=', flow.id)
        .where('updated_at', '=', expectedUpdatedAt)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
