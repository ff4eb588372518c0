import type { Kysely } from 'kysely';
import type { PolicyGroup, PolicyRepository, PolicyScope, StoredPolicy } from '../../core/ports.js';
import type { PoliciesTable, PolicyGroupsTable, Schema } from '../schema.js';

function toPolicy(row: PoliciesTable): StoredPolicy {
  return {
    id: row.id,
    accountId: row.account_id,
    scope: row.scope as PolicyScope,
    ownerId: row.owner_id === '' ? null : row.owner_id,
    name: row.name,
    description: row.description,
    document: row.document,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toGroup(row: PolicyGroupsTable): PolicyGroup {
  return { id: row.id, accountId: row.account_id, name: row.name, createdAt: Number(row.created_at) };
}

/** Customer policies, groups and attachments on Kysely. */
export function policyRepository(db: Kysely<Schema>): PolicyRepository {
  const groupIdsOf = (principalId: string) =>
    db.selectFrom('group_members').select('group_id').where('principal_id', '=', principalId);

  return {
    async put(policy) {
      const owner = policy.ownerId ?? '';
      const existing = await db
        .selectFrom('policies')
        .selectAll()
        .where('account_id', '=', policy.accountId)
        .where('scope', '=', policy.scope)
        .where('owner_id', '=', owner)
        .where('name', '=', policy.name)
        .executeTakeFirst();
      if (existing !== undefined) {
        await db
          .updateTable('policies')
          .set({ document: policy.document, description: policy.description, updated_at: policy.updatedAt })
          .where('id', '=', existing.id)
          .execute();
        return {
          ...toPolicy(existing),
          document: policy.document,
          description: policy.description,
          updatedAt: policy.updatedAt,
        };
      }
      await db
        .insertInto('policies')
        .values({
          id: policy.id,
          account_id: policy.accountId,
          scope: policy.scope,
          owner_id: owner,
          name: policy.name,
          description: policy.description,
          document: policy.document,
          created_at: policy.createdAt,
          updated_at: policy.updatedAt,
        })
        .execute();
      return policy;
    },
    async find(input) {
      const row = await db
        .selectFrom('policies')
        .selectAll()
        .where('account_id', '=', input.accountId)
        .where('scope', '=', input.scope)
        .where('owner_id', '=', input.ownerId ?? '')
        .where('name', '=', input.name)
        .executeTakeFirst();
      return row ? toPolicy(row) : null;
    },
    async list(input) {
      let q = db
        .selectFrom('policies')
        .selectAll()
        .where('account_id', '=', input.accountId)
        .where('scope', '=', input.scope);
      if (input.ownerId !== undefined) q = q.where('owner_id', '=', input.ownerId ?? '');
      return (await q.orderBy('name').execute()).map(toPolicy);
    },
    async delete(id) {
      await db.deleteFrom('policy_attachments').where('policy_id', '=', id).execute();
      await db.deleteFrom('policies').where('id', '=', id).execute();
    },
    async attach(input) {
      const existing = await db
        .selectFrom('policy_attachments')
        .select('policy_id')
        .where('policy_id', '=', input.policyId)
        .where('subject_id', '=', input.subjectId)
        .executeTakeFirst();
      if (existing !== undefined) return false;
      await db
        .insertInto('policy_attachments')
        .values({
          policy_id: input.policyId,
          subject_type: input.subjectType,
          subject_id: input.subjectId,
          account_id: input.accountId,
          created_at: input.now,
        })
        .execute();
      return true;
    },
    async detach(input) {
      const result = await db
        .deleteFrom('policy_attachments')
        .where('policy_id', '=', input.policyId)
        .where('subject_id', '=', input.subjectId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async attachmentCount(policyId) {
      const row = await db
        .selectFrom('policy_attachments')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('policy_id', '=', policyId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async attachedTo(subjectId) {
      const rows = await db
        .selectFrom('policies')
        .selectAll()
        .where(
          'id',
          'in',
          db.selectFrom('policy_attachments').select('policy_id').where('subject_id', '=', subjectId),
        )
        .orderBy('name')
        .execute();
      return rows.map(toPolicy);
    },
    async effectiveFor(accountId, principalId) {
      // One statement: inline on the user, inline on its groups, managed ones attached to the
      // user or its groups, and the account-wide ones.
      const rows = await db
        .selectFrom('policies')
        .select(['scope', 'document'])
        .where('account_id', '=', accountId)
        .where((eb) =>
          eb.or([
            eb('scope', '=', 'account'),
            eb.and([eb('scope', '=', 'user'), eb('owner_id', '=', principalId)]),
            // A role session acts as its role: the role's inline policies.
            eb.and([eb('scope', '=', 'role'), eb('owner_id', '=', principalId)]),
            eb.and([eb('scope', '=', 'group'), eb('owner_id', 'in', groupIdsOf(principalId))]),
            eb(
              'id',
              'in',
              db
                .selectFrom('policy_attachments')
                .select('policy_id')
                .where((w) =>
                  w.or([w('subject_id', '=', principalId), w('subject_id', 'in', groupIdsOf(principalId))]),
                ),
            ),
          ]),
        )
        .orderBy('id')
        .execute();
      const identity: string[] = [];
      const account: string[] = [];
      for (const row of rows) (row.scope === 'account' ? account : identity).push(row.document);
      return { identity, account };
    },
    async insertGroup(group) {
      await db
        .insertInto('policy_groups')
        .values({ id: group.id, account_id: group.accountId, name: group.name, created_at: group.createdAt })
        .execute();
    },
    async findGroup(accountId, name) {
      const row = await db
        .selectFrom('policy_groups')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? toGroup(row) : null;
    },
    async listGroups(accountId) {
      const rows = await db
        .selectFrom('policy_groups')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('name')
        .execute();
      return rows.map(toGroup);
    },
    async addMember(input) {
      const existing = await db
        .selectFrom('group_members')
        .select('group_id')
        .where('group_id', '=', input.groupId)
        .where('principal_id', '=', input.principalId)
        .executeTakeFirst();
      if (existing !== undefined) return false;
      await db
        .insertInto('group_members')
        .values({ group_id: input.groupId, principal_id: input.principalId, account_id: input.accountId })
        .execute();
      return true;
    },
    async removeMember(input) {
      const result = await db
        .deleteFrom('group_members')
        .where('group_id', '=', input.groupId)
        .where('principal_id', '=', input.principalId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async groupsOf(principalId) {
      const rows = await db
        .selectFrom('policy_groups')
        .selectAll()
        .where('id', 'in', groupIdsOf(principalId))
        .orderBy('name')
        .execute();
      return rows.map(toGroup);
    },
    async members(groupId) {
      const rows = await db
        .selectFrom('group_members')
        .select('principal_id')
        .where('group_id', '=', groupId)
        .orderBy('principal_id')
        .execute();
      return rows.map((r) => r.principal_id);
    },
  };
}
