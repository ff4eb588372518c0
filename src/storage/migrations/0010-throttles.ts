import { sql, type Kysely, type Migration } from 'kysely';

/** The longest window any throttle policy had before rows carried their own expiry. */
const OLD_WINDOW_MS = 24 * 3_600_000;

/**
 * Password and recovery throttles keyed on the resolved principal: throttle rows carry the time
 * after which they mean nothing (so a periodic job can prune them), and known clients (a
 * browser or client that signed in before, or a network a principal signed in from) let the
 * real user skip the per-login delay an attacker can impose (OWASP Authentication Cheat Sheet).
 */
export const migration0010: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('throttle')
      .addColumn('expires_at', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`update throttle set expires_at = case
        when next_allowed_at > last_failure_at + ${sql.lit(OLD_WINDOW_MS)} then next_allowed_at
        else last_failure_at + ${sql.lit(OLD_WINDOW_MS)} end`.execute(db);
    await db.schema.createIndex('throttle_expires').on('throttle').column('expires_at').execute();

    await db.schema
      .createTable('known_clients')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('kind', 'varchar(8)', (c) => c.notNull())
      .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('known_clients_principal')
      .on('known_clients')
      .columns(['principal_id', 'kind', 'last_used_at'])
      .execute();
    await db.schema.createIndex('known_clients_expires').on('known_clients').column('expires_at').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('known_clients').execute();
    await db.schema.dropIndex('throttle_expires').execute();
    await db.schema.alterTable('throttle').dropColumn('expires_at').execute();
  },
};
