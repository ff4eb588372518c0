import type { Kysely } from 'kysely';
import type { AccountRepository } from '../../core/ports.js';
import type { Account } from '../../core/principals/types.js';
import type { AccountsTable, Schema } from '../schema.js';

function toAccount(row: AccountsTable): Account {
  return { id: row.id, name: row.name, createdAt: row.created_at, settings: JSON.parse(row.settings) };
}

/** Accounts on Kysely. */
export function accountRepository(db: Kysely<Schema>): AccountRepository {
  return {
    async insert(account) {
      await db
        .insertInto('accounts')
        .values({
          id: account.id,
          name: account.name,
          created_at: account.createdAt,
          settings: JSON.stringify(account.settings),
        })
        .execute();
    },
    async findById(id) {
      const row = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toAccount(row) : null;
    },
    async findByName(name) {
      const row = await db.selectFrom('accounts').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toAccount(row) : null;
    },
    async updateSettings(id, settings) {
      await db
        .updateTable('accounts')
        .set({ settings: JSON.stringify(settings) })
        .where('id', '=', id)
        .execute();
    },
    async list() {
      return (await db.selectFrom('accounts').selectAll().orderBy('created_at').execute()).map(toAccount);
    },
  };
}
