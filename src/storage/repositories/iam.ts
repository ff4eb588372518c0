import type { Kysely } from 'kysely';
import type { IamRepository } from '../../core/aws/iam-records.js';
import type { Schema } from '../schema.js';

/** Managed-policy versions, tags, permissions boundaries and password policies on Kysely. */
export function iamRepository(db: Kysely<Schema>): IamRepository {
  return {
    async policyState(policyId) {
      const row = await db
        .selectFrom('managed_policy_state')
        .selectAll()
        .where('policy_id', '=', policyId)
        .executeTakeFirst();
      return row === undefined
        ? null
        : {
            policyId: row.policy_id,
            accountId: row.account_id,
            path: row.path,
            defaultVersion: row.default_version,
            nextVersion: Number(row.next_version),
          };
    },
    async putPolicyState(state) {
      const values = {
        path: state.path,
        default_version: state.defaultVersion,
        next_version: state.nextVersion,
      };
      const updated = await db
        .updateTable('managed_policy_state')
        .set(values)
        .where('policy_id', '=', state.policyId)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) return;
      await db
        .insertInto('managed_policy_state')
        .values({ policy_id: state.policyId, account_id: state.accountId, ...values })
        .execute();
    },
    async listPolicyVersions(policyId) {
      const rows = await db
        .selectFrom('policy_versions')
        .selectAll()
        .where('policy_id', '=', policyId)
        .orderBy('created_at')
        .orderBy('version_id')
        .execute();
      return rows.map((r) => ({
        policyId: r.policy_id,
        versionId: r.version_id,
        document: r.document,
        createdAt: Number(r.created_at),
      }));
    },
    async insertPolicyVersion(v) {
      await db
        .insertInto('policy_versions')
        .values({
          policy_id: v.policyId,
          version_id: v.versionId,
          account_id: v.accountId,
          document: v.document,
          created_at: v.createdAt,
        })
        .execute();
    },
    async deletePolicyVersion(policyId, versionId) {
      const result = await db
        .deleteFrom('policy_versions')
        .where('policy_id', '=', policyId)
        .where('version_id', '=', versionId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async deletePolicyRecords(policyId) {
      await db.deleteFrom('policy_versions').where('policy_id', '=', policyId).execute();
      await db.deleteFrom('managed_policy_state').where('policy_id', '=', policyId).execute();
      await db.deleteFrom('iam_tags').where('subject_id', '=', policyId).execute();
    },
    async attachmentsOf(policyId) {
      const rows = await db
        .selectFrom('policy_attachments')
        .select(['subject_type', 'subject_id'])
        .where('policy_id', '=', policyId)
        .orderBy('subject_id')
        .execute();
      return rows.map((r) => ({ subjectType: r.subject_type, subjectId: r.subject_id }));
    },
    async listTags(subjectId) {
      const rows = await db
        .selectFrom('iam_tags')
        .select(['tag_key', 'tag_value'])
        .where('subject_id', '=', subjectId)
        .orderBy('position')
        .execute();
      return rows.map((r) => ({ key: r.tag_key, value: r.tag_value }));
    },
    async replaceTags(input) {
      await db.deleteFrom('iam_tags').where('subject_id', '=', input.subjectId).execute();
      if (input.tags.length === 0) return;
      await db
        .insertInto('iam_tags')
        .values(
          input.tags.map((t, i) => ({
            subject_id: input.subjectId,
            key_lower: t.key.toLowerCase(),
            subject_type: input.subjectType,
            account_id: input.accountId,
            tag_key: t.key,
            tag_value: t.value,
            position: i,
          })),
        )
        .execute();
    },
    async boundaryOf(subjectId) {
      const row = await db
        .selectFrom('permissions_boundaries')
        .select('policy_id')
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      return row?.policy_id ?? null;
    },
    async setBoundary(input) {
      await db.deleteFrom('permissions_boundaries').where('subject_id', '=', input.subjectId).execute();
      await db
        .insertInto('permissions_boundaries')
        .values({
          subject_id: input.subjectId,
          subject_type: input.subjectType,
          account_id: input.accountId,
          policy_id: input.policyId,
        })
        .execute();
    },
    async boundaryDocumentOf(subjectId) {
      const row = await db
        .selectFrom('permissions_boundaries')
        .innerJoin('policies', 'policies.id', 'permissions_boundaries.policy_id')
        .select('policies.document')
        .where('permissions_boundaries.subject_id', '=', subjectId)
        .executeTakeFirst();
      return row?.document ?? null;
    },
    async deleteBoundary(subjectId) {
      const result = await db
        .deleteFrom('permissions_boundaries')
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async boundaryUsageCount(policyId) {
      const row = await db
        .selectFrom('permissions_boundaries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('policy_id', '=', policyId)
        // A deleted user's boundary row is not a use (DeleteUser does not read this table).
        .where((eb) =>
          eb.or([
            eb('subject_type', '!=', 'user'),
            eb('subject_id', 'in', db.selectFrom('principals').select('id')),
          ]),
        )
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async pathOf(subjectId) {
      const row = await db
        .selectFrom('iam_paths')
        .select('path')
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      return row?.path ?? null;
    },
    async setPath(input) {
      await db.deleteFrom('iam_paths').where('subject_id', '=', input.subjectId).execute();
      if (input.path === '/') return;
      await db
        .insertInto('iam_paths')
        .values({
          subject_id: input.subjectId,
          subject_type: input.subjectType,
          account_id: input.accountId,
          path: input.path,
        })
        .execute();
    },
    async renameGroup(groupId, name) {
      await db.updateTable('policy_groups').set({ name }).where('id', '=', groupId).execute();
    },
    async deleteGroup(groupId) {
      await db.deleteFrom('iam_paths').where('subject_id', '=', groupId).execute();
      await db.deleteFrom('iam_tags').where('subject_id', '=', groupId).execute();
      await db.deleteFrom('policy_groups').where('id', '=', groupId).execute();
    },
    async renameAccount(accountId, name) {
      await db.updateTable('accounts').set({ name }).where('id', '=', accountId).execute();
    },
    async passwordPolicy(accountId) {
      const row = await db
        .selectFrom('password_policies')
        .select('document')
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return row?.document ?? null;
    },
    async putPasswordPolicy(accountId, document) {
      await db.deleteFrom('password_policies').where('account_id', '=', accountId).execute();
      await db.insertInto('password_policies').values({ account_id: accountId, document }).execute();
    },
    async deletePasswordPolicy(accountId) {
      const result = await db
        .deleteFrom('password_policies')
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
