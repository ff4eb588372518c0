import type { Kysely, Migration } from 'kysely';

/**
 * IAM records beside policies and groups (core/aws/iam-records.ts): managed-policy versions and
 * their state (path, default version, next version number), tags on IAM resources (keys unique
 * without regard to case, as IAM compares them), permissions boundaries, the account password
 * policy, and the IAM paths of users and groups (`/` when absent).
 */
export const migration0015: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('managed_policy_state')
      .addColumn('policy_id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('path', 'varchar(512)', (c) => c.notNull())
      .addColumn('default_version', 'varchar(16)', (c) => c.notNull())
      .addColumn('next_version', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('policy_versions')
      .addColumn('policy_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('version_id', 'varchar(16)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('policy_versions_pk', ['policy_id', 'version_id'])
      .execute();
    await db.schema
      .createTable('iam_tags')
      .addColumn('subject_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('key_lower', 'varchar(512)', (c) => c.notNull())
      .addColumn('subject_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('tag_key', 'varchar(512)', (c) => c.notNull())
      .addColumn('tag_value', 'varchar(1024)', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('iam_tags_pk', ['subject_id', 'key_lower'])
      .execute();
    await db.schema
      .createTable('permissions_boundaries')
      .addColumn('subject_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('subject_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('policy_id', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('permissions_boundaries_policy')
      .on('permissions_boundaries')
      .column('policy_id')
      .execute();
    await db.schema
      .createTable('iam_paths')
      .addColumn('subject_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('subject_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(12)', (c) => c.notNull())
      .addColumn('path', 'varchar(512)', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('password_policies')
      .addColumn('account_id', 'varchar(12)', (c) => c.primaryKey())
      .addColumn('document', 'text', (c) => c.notNull())
      .execute();
  },
};
