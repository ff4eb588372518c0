import type { Kysely } from 'kysely';
import type { Dialect } from '../connect.js';
import type { HardwareToken, HardwareTokenState } from '../../core/factors/hardware-token/inventory.js';
import type { HardwareTokenRepository } from '../../core/ports.js';
import type { HardwareTokensTable, Schema } from '../schema.js';

function toToken(row: HardwareTokensTable): HardwareToken {
  return {
    id: row.id,
    accountId: row.account_id,
    serial: row.serial,
    manufacturer: row.manufacturer,
    model: row.model,
    params: JSON.parse(row.params),
    secretSealed: row.secret_sealed,
    state: row.state as HardwareTokenState,
    principalId: row.principal_id,
    factorId: row.factor_id,
    importId: row.import_id,
    importedAt: row.imported_at,
    updatedAt: row.updated_at,
  };
}

function toRow(t: HardwareToken): HardwareTokensTable {
  return {
    id: t.id,
    account_id: t.accountId,
    serial: t.serial,
    manufacturer: t.manufacturer,
    model: t.model,
    params: JSON.stringify(t.params),
    secret_sealed: t.secretSealed,
    state: t.state,
    principal_id: t.principalId,
    factor_id: t.factorId,
    import_id: t.importId,
    imported_at: t.importedAt,
    updated_at: t.updatedAt,
  };
}

/** Rows per multi-row INSERT: stays under SQLite's 32,766 bound parameters (13 columns each). */
const INSERT_CHUNK = 500;

/** The hardware token inventory on Kysely. */
export function hardwareTokenRepository(db: Kysely<Schema>, dialect: Dialect): HardwareTokenRepository {
  return {
    async insertMany(tokens) {
      for (let i = 0; i < tokens.length; i += INSERT_CHUNK) {
        await db
          .insertInto('hardware_tokens')
          .values(tokens.slice(i, i + INSERT_CHUNK).map(toRow))
          .execute();
      }
    },
    async findBySerial(accountId, serial) {
      const row = await db
        .selectFrom('hardware_tokens')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('serial', '=', serial)
        .executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async findById(accountId, id) {
      const row = await db
        .selectFrom('hardware_tokens')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async findByIdForUpdate(accountId, id) {
      const query = db
        .selectFrom('hardware_tokens')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id);
      const row = await (dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async list(accountId, page = {}) {
      let query = db.selectFrom('hardware_tokens').selectAll().where('account_id', '=', accountId);
      if (page.state !== undefined) query = query.where('state', '=', page.state);
      if (page.afterSerial !== undefined) query = query.where('serial', '>', page.afterSerial);
      query = query.orderBy('serial');
      if (page.limit !== undefined) query = query.limit(page.limit);
      return (await query.execute()).map(toToken);
    },
    async update(token) {
      const { id, account_id, ...rest } = toRow(token);
      await db
        .updateTable('hardware_tokens')
        .set(rest)
        .where('id', '=', id)
        .where('account_id', '=', account_id)
        .execute();
    },
    async existingSerials(accountId, serials) {
      const found: string[] = [];
      for (let i = 0; i < serials.length; i += INSERT_CHUNK) {
        const rows = await db
          .selectFrom('hardware_tokens')
          .select('serial')
          .where('account_id', '=', accountId)
          .where('serial', 'in', serials.slice(i, i + INSERT_CHUNK))
          .execute();
        found.push(...rows.map((r) => r.serial));
      }
      return found;
    },
  };
}
