import { sql, type Kysely } from 'kysely';
import type { SealedValue, SealedValueRepository } from '../core/ports.js';
import type { Dialect } from './connect.js';
import type { Schema } from './schema.js';

/**
 * Every column that holds sealed (encrypted) secrets, with the context string (AAD) each value
 * was sealed under. Key rotation walks this list; a new sealed column must be added here.
 */
export const SEALED_COLUMNS = [
  { table: 'meta', keyColumn: 'key', valueColumn: 'value', context: (key: string) => `meta:${key}` },
  {
    table: 'factors',
    keyColumn: 'id',
    valueColumn: 'secret_sealed',
    context: (id: string) => `factor:${id}`,
  },
  {
    table: 'hardware_tokens',
    keyColumn: 'id',
    valueColumn: 'secret_sealed',
    context: (id: string) => `hwtoken:${id}`,
  },
  {
    table: 'access_keys',
    keyColumn: 'id',
    valueColumn: 'secret_sealed',
    context: (id: string) => `accesskey:${id}`,
  },
  {
    table: 'temporary_credentials',
    keyColumn: 'id',
    valueColumn: 'secret_sealed',
    context: (id: string) => `tempkey:${id}`,
  },
  {
    table: 'oidc_clients',
    keyColumn: 'id',
    valueColumn: 'secret_sealed',
    context: (id: string) => `oidc-client:${id}`,
  },
  {
    table: 'oidc_signing_keys',
    keyColumn: 'id',
    valueColumn: 'private_sealed',
    context: (id: string) => `oidc-key:${id}`,
  },
] as const;

export type { SealedValue } from '../core/ports.js';

/** Reads every sealed value (values that are not in the sealed format are skipped). */
export async function listSealedValues(db: Kysely<Schema>): Promise<SealedValue[]> {
  const out: SealedValue[] = [];
  for (const column of SEALED_COLUMNS) {
    const rows = await db
      .selectFrom(column.table)
      .select([`${column.keyColumn} as k`, `${column.valueColumn} as v`])
      .execute();
    for (const row of rows as Array<{ k: string; v: string | null }>) {
      if (row.v !== null && row.v.startsWith('v1.')) {
        out.push({ table: column.table, key: row.k, context: column.context(row.k), sealed: row.v });
      }
    }
  }
  return out;
}

/** Replaces one sealed value. */
export async function replaceSealedValue(
  db: Kysely<Schema>,
  value: SealedValue,
  resealed: string,
): Promise<void> {
  const column = SEALED_COLUMNS.find((c) => c.table === value.table)!;
  await db
    .updateTable(column.table)
    .set({ [column.valueColumn]: resealed } as never)
    .where(column.keyColumn, '=', value.key)
    .execute();
}

/** The sealed values behind the port key rotation uses. */
export function sealedValueRepository(db: Kysely<Schema>, dialect: Dialect): SealedValueRepository {
  return {
    async lockForRotation() {
      // SQLite: BEGIN IMMEDIATE already excludes other writers; PostgreSQL needs the tables locked.
      if (dialect !== 'postgres') return;
      await sql
        .raw(`lock table ${SEALED_COLUMNS.map((c) => c.table).join(', ')} in exclusive mode`)
        .execute(db);
    },
    list: () => listSealedValues(db),
    replace: (value, resealed) => replaceSealedValue(db, value, resealed),
  };
}
