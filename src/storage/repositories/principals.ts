import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { PrincipalQuery, PrincipalRepository } from '../../core/ports.js';
import type { Dialect } from '../connect.js';
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

/** `text` as a LIKE pattern that matches it literally anywhere (escape character: backslash). */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Principals on Kysely; every query is scoped by account id. */
export function principalRepository(db: Kysely<Schema>, dialect: Dialect): PrincipalRepository {
  // Text sorts by code point on both engines (PostgreSQL's database collation would not).
  const collate = dialect === 'postgres' ? sql` collate "C"` : sql``;

  /** The account's principals, each with its enabled-factor count, narrowed by the query's filters. */
  function matching(accountId: string, q: PrincipalQuery) {
    const counts = db
      .selectFrom('factors')
      .select(['principal_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('account_id', '=', accountId)
      .where('status', '=', 'enabled')
      .groupBy('principal_id')
      .as('fc');
    const enabled = sql<number>`coalesce(fc.n, 0)`;
    let query = db
      .selectFrom('principals as p')
      .leftJoin(counts, 'fc.principal_id', 'p.id')
      .where('p.account_id', '=', accountId);
    const needle = (q.search ?? '').trim().toLowerCase();
    if (needle !== '') {
      const pattern = containsPattern(needle);
      query = query.where(
        sql<SqlBool>`(lower(p.email) like ${pattern} escape '\\' or lower(p.username) like ${pattern} escape '\\')`,
      );
    }
    if (q.role !== undefined) query = query.where('p.role', '=', q.role);
    if (q.status !== undefined) query = query.where('p.status', '=', q.status);
    const factorFilter: Record<'0' | '1' | '2+', Expression<SqlBool>> = {
      '0': sql<SqlBool>`${enabled} = 0`,
      '1': sql<SqlBool>`${enabled} = 1`,
      '2+': sql<SqlBool>`${enabled} >= 2`,
    };
    if (q.factors !== undefined) query = query.where(factorFilter[q.factors]);
    return { query, enabled };
  }

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
    async query(accountId, q) {
      const { query, enabled } = matching(accountId, q);
      const direction = q.order === 'desc' ? sql`desc` : sql`asc`;
      const key = {
        email: sql`lower(p.email)${collate}`,
        username: sql`lower(p.username)${collate}`,
        role: sql`p.role${collate}`,
        status: sql`p.status${collate}`,
        createdAt: sql`p.created_at`,
        factors: enabled,
      }[q.sort];
      const [rows, count] = await Promise.all([
        query
          .selectAll('p')
          .select(enabled.as('enabled_factors'))
          .orderBy(sql`${key} ${direction}`)
          // Ties keep a stable, meaningful order: by e-mail address, then id.
          .orderBy(sql`p.email${collate}`)
          .orderBy('p.id')
          .limit(q.limit)
          .offset(q.offset)
          .execute(),
        query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
      ]);
      return {
        rows: rows.map((row) => ({ ...toPrincipal(row), enabledFactors: Number(row.enabled_factors) })),
        total: Number(count.total),
      };
    },
    async findByIds(accountId, ids) {
      if (ids.length === 0) return [];
      const rows = await db
        .selectFrom('principals')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', 'in', [...new Set(ids)])
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
