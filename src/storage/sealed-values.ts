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

/**
 * Sealed secrets kept inside a JSON column: an undelivered outbox message carries the link or code
 * it will send sealed in its payload's `sealedSecret` (dropped once delivered). Key rotation walks
 * these too, or a message queued before a rotation could never be delivered after it.
 */
export const SEALED_JSON_FIELDS = [
  {
    table: 'outbox',
    keyColumn: 'id',
    jsonColumn: 'payload',
    field: 'sealedSecret',
    context: (id: string) => `outbox:${id}`,
  },
] as const;

/** Every table holding sealed values (rotation locks them all). */
const SEALED_TABLES = [...SEALED_COLUMNS.map((c) => c.table), ...SEALED_JSON_FIELDS.map((f) => f.table)];

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
  for (const field of SEALED_JSON_FIELDS) {
    const rows = await db
      .selectFrom(field.table)
      .select([`${field.keyColumn} as k`, `${field.jsonColumn} as j`])
      .where('sent_at', 'is', null)
      .execute();
    for (const row of rows as Array<{ k: string; j: string }>) {
      const sealed = (JSON.parse(row.j) as Record<string, unknown>)[field.field];
      if (typeof sealed === 'string' && sealed.startsWith('v1.')) {
        out.push({ table: field.table, key: row.k, context: field.context(row.k), sealed });
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
  const field = SEALED_JSON_FIELDS.find((f) => f.table === value.table);
  if (field !== undefined) {
    const row = (await db
      .selectFrom(field.table)
      .select(`${field.jsonColumn} as j`)
      .where(field.keyColumn, '=', value.key)
      .executeTakeFirstOrThrow()) as { j: string };
    const json = { ...(JSON.parse(row.j) as Record<string, unknown>), [field.field]: resealed };
    await db
      .updateTable(field.table)
      .set({ [field.jsonColumn]: JSON.stringify(json) } as never)
      .where(field.keyColumn, '=', value.key)
      .execute();
    return;
  }
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
      await sql.raw(`lock table ${SEALED_TABLES.join(', ')} in exclusive mode`).execute(db);
    },
    list: () => listSealedValues(db),
    replace: (value, resealed) => replaceSealedValue(db, value, resealed),
  };
}
