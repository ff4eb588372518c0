import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Authorization: customer policies (managed, inline on users and groups, account-wide), groups,
 * policy attachments, one-time enrolment grants, and each principal's first enrolment (guardrail
 * G3 treats "has or ever had an enabled factor" differently from a brand-new principal).
 */
export const migration0003: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // One table for every policy document. scope: managed | user | group | account; owner_id is
    // the user or group an inline policy belongs to ('' for managed and account policies).
    await db.schema
      .createTable('policies')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('scope', 'varchar(16)', (c) => c.notNull())
      .addColumn('owner_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('name', 'varchar(128)', (c) => c.notNull())
      .addColumn('description', 'varchar(1000)', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('policies_scope_owner_name', ['account_id', 'scope', 'owner_id', 'name'])
      .execute();

    await db.schema
      .createTable('policy_groups')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('name', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('policy_groups_account_name', ['account_id', 'name'])
      .execute();

    await db.schema
      .createTable('group_members')
      .addColumn('group_id', 'varchar(32)', (c) => c.notNull().references('policy_groups.id'))
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull().references('principals.id'))
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'principal_id'])
      .execute();
    await db.schema
      .createIndex('group_members_principal')
      .on('group_members')
      .column('principal_id')
      .execute();

    // Managed policies attached to a user or a group (subject_type: user | group).
    await db.schema
      .createTable('policy_attachments')
      .addColumn('policy_id', 'varchar(32)', (c) => c.notNull().references('policies.id'))
      .addColumn('subject_type', 'varchar(8)', (c) => c.notNull())
      .addColumn('subject_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('policy_attachments_pk', ['policy_id', 'subject_id'])
      .execute();
    await db.schema
      .createIndex('policy_attachments_subject')
      .on('policy_attachments')
      .column('subject_id')
      .execute();

    // One-time enrolment grants: only the SHA-256 of the token is stored.
    await db.schema
      .createTable('enrolment_grants')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('principal_id', 'varchar(32)', (c) => c.notNull().references('principals.id'))
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('reason', 'varchar(32)', (c) => c.notNull())
      .addColumn('issued_by', 'varchar(32)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();

    await db.schema
      .createTable('enrolment_history')
      .addColumn('principal_id', 'varchar(32)', (c) => c.primaryKey().references('principals.id'))
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('first_enabled_at', 'bigint', (c) => c.notNull())
      .execute();
    // Principals that enabled a factor before this table existed.
    await sql`
      INSERT INTO enrolment_history (principal_id, account_id, first_enabled_at)
      SELECT principal_id, MIN(account_id), MIN(enabled_at) FROM factors
      WHERE status = 'enabled' AND enabled_at IS NOT NULL
      GROUP BY principal_id
    `.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      'enrolment_history',
      'enrolment_grants',
      'policy_attachments',
      'group_members',
      'policy_groups',
      'policies',
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
