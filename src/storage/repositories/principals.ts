import type { Kysely } from 'kysely';
import type { PrincipalRepository } from '../../core/ports.js';
import type { Principal, PrincipalStatus, Role } from '../../core/principals/types.js';
import type { PrincipalsTable, Schema } from '../schema.js';

function toPrincipal(row: PrincipalsTable): Principal {
  return {
    id: row.id,
    accountId: row.account_id,
    username: row.username,
    email: row.email,
    role: row.role as Role,
    status: row.status as PrincipalStatus,
    passwordHash: row.password_hash,
    passwordChangedAt: row.password_changed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRow(p: Principal): PrincipalsTable {
  return {
    id: p.id,
    account_id: p.accountId,
    username: p.username,
    email: p.email,
    role: p.role,
    status: p.status,
    password_hash: p.passwordHash,
    password_changed_at: p.passwordChangedAt,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

/** Principals on Kysely; every query is scoped by account id. */
export function principalRepository(db: Kysely<Schema>): PrincipalRepository {
  return {
    async insert(principal) {
      await db.insertInto('principals').values(toRow(principal)).execute();
    },
    async update(principal) {
      const { id, account_id, created_at: _created, ...rest } = toRow(principal);
      await db
        .updateTable('principals')
        .set(rest)
        .where('id', '=', id)
        .where('account_id', '=', account_id)
        .execute();
    },
    async findById(accountId, id) {
      const row = await db
        .selectFrom('principals')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toPrincipal(row) : null;
    },
    async findByLogin(accountId, login) {
      const row = await db
        .selectFrom('principals')
        .selectAll()
        .where('account_id', '=', accountId)
        .where((eb) => eb.or([eb('email', '=', login.toLowerCase()), eb('username', '=', login)]))
        .executeTakeFirst();
      return row ? toPrincipal(row) : null;
    },
    async list(accountId) {
      const rows = await db
        .selectFrom('principals')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toPrincipal);
    },
    async listActiveAdmins(accountId) {
      const rows = await db
        .selectFrom('principals')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('role', 'in', ['owner', 'admin'])
        .where('status', '=', 'active')
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toPrincipal);
    },
    async countActiveOwners(accountId) {
      const row = await db
        .selectFrom('principals')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', accountId)
        .where('role', '=', 'owner')
        .where('status', '=', 'active')
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
