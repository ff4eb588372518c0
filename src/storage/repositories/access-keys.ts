import { sql, type Kysely } from 'kysely';
import type {
  AccessKey,
  AccessKeyRepository,
  AccessKeyStatus,
  AwsIdentityRepository,
  AwsMfaDevice,
  AwsRole,
  CredentialMfa,
  TemporaryCredential,
  TemporaryCredentialRepository,
  TemporaryCredentialSource,
} from '../../core/access-keys/credentials.js';
import type {
  AccessKeysTable,
  AwsMfaDevicesTable,
  AwsRolesTable,
  Schema,
  TemporaryCredentialsTable,
} from '../schema.js';

function toAccessKey(row: AccessKeysTable): AccessKey {
  return {
    id: row.id,
    accountId: row.account_id,
    principalId: row.principal_id,
    status: row.status as AccessKeyStatus,
    secretSealed: row.secret_sealed,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    lastUsedService: row.last_used_service,
    deactivatedByGuardrail: row.deactivated_by_guardrail === 1,
  };
}

/** Long-term access keys on Kysely. */
export function accessKeyRepository(db: Kysely<Schema>): AccessKeyRepository {
  return {
    async insert(key) {
      await db
        .insertInto('access_keys')
        .values({
          id: key.id,
          account_id: key.accountId,
          principal_id: key.principalId,
          status: key.status,
          secret_sealed: key.secretSealed,
          created_at: key.createdAt,
          last_used_at: key.lastUsedAt,
          last_used_service: key.lastUsedService,
          deactivated_by_guardrail: key.deactivatedByGuardrail ? 1 : 0,
        })
        .execute();
    },
    async findById(id) {
      const row = await db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toAccessKey(row) : null;
    },
    async listByPrincipal(accountId, principalId) {
      const rows = await db
        .selectFrom('access_keys')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toAccessKey);
    },
    async countByAccount(accountId) {
      const row = await db
        .selectFrom('access_keys')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('account_id', '=', accountId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async setStatus(input) {
      const result = await db
        .updateTable('access_keys')
        .set({ status: input.status, deactivated_by_guardrail: input.byGuardrail ? 1 : 0 })
        .where('id', '=', input.id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async deactivateAllForPrincipal(input) {
      const result = await db
        .updateTable('access_keys')
        .set({ status: 'Inactive', deactivated_by_guardrail: 1 })
        .where('account_id', '=', input.accountId)
        .where('principal_id', '=', input.principalId)
        .where('status', '=', 'Active')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async recordUse(input) {
      await db
        .updateTable('access_keys')
        .set({ last_used_at: input.now, last_used_service: input.service })
        .where('id', '=', input.id)
        .execute();
    },
    async delete(id) {
      const result = await db.deleteFrom('access_keys').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

function toTemporaryCredential(row: TemporaryCredentialsTable): TemporaryCredential {
  return {
    id: row.id,
    accountId: row.account_id,
    principalId: row.principal_id,
    source: row.source as TemporaryCredentialSource,
    roleId: row.role_id,
    roleSessionName: row.role_session_name,
    secretSealed: row.secret_sealed,
    tokenHash: row.token_hash,
    mfa: row.mfa === null ? null : (JSON.parse(row.mfa) as CredentialMfa),
    parentKeyId: row.parent_key_id,
    sourceKeyId: row.source_key_id,
    ...(row.session_policy === null ? {} : { sessionPolicy: row.session_policy }),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/** Temporary STS credentials on Kysely. */
export function temporaryCredentialRepository(db: Kysely<Schema>): TemporaryCredentialRepository {
  return {
    async insert(c) {
      await db
        .insertInto('temporary_credentials')
        .values({
          id: c.id,
          account_id: c.accountId,
          principal_id: c.principalId,
          source: c.source,
          role_id: c.roleId,
          role_session_name: c.roleSessionName,
          secret_sealed: c.secretSealed,
          token_hash: c.tokenHash,
          mfa: c.mfa === null ? null : JSON.stringify(c.mfa),
          parent_key_id: c.parentKeyId,
          created_at: c.createdAt,
          expires_at: c.expiresAt,
          revoked_at: c.revokedAt,
          factor_id: c.mfa === null || c.mfa.factorId === '' ? null : c.mfa.factorId,
          session_policy: c.sessionPolicy ?? null,
          source_key_id:
            c.sourceKeyId !== undefined
              ? c.sourceKeyId
              : c.parentKeyId.startsWith('AKIA')
                ? c.parentKeyId
                : null,
        })
        .execute();
    },
    async findById(id) {
      const row = await db
        .selectFrom('temporary_credentials')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toTemporaryCredential(row) : null;
    },
    async revokeAllForPrincipal(input) {
      let query = db
        .updateTable('temporary_credentials')
        .set({ revoked_at: input.now })
        .where('account_id', '=', input.accountId)
        .where('principal_id', '=', input.principalId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', input.now);
      if (input.exceptId !== undefined) query = query.where('id', '!=', input.exceptId);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async revokeDerived(input) {
      let query = db
        .updateTable('temporary_credentials')
        .set({ revoked_at: input.now })
        .where('account_id', '=', input.accountId)
        .where('principal_id', '=', input.principalId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', input.now);
      if (input.factorId !== undefined) query = query.where('factor_id', '=', input.factorId);
      if (input.sourceKeyId !== undefined) {
        const key = input.sourceKeyId;
        query = query.where((eb) => eb.or([eb('source_key_id', '=', key), eb('parent_key_id', '=', key)]));
      }
      if (input.withoutMfa === true) query = query.where('mfa', 'is', null);
      if (input.exceptId !== undefined) query = query.where('id', '!=', input.exceptId);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async deleteExpired(now) {
      const result = await db
        .deleteFrom('temporary_credentials')
        .where('expires_at', '<', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function toRole(row: AwsRolesTable): AwsRole {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    path: row.path,
    description: row.description,
    trustPolicy: row.trust_policy,
    maxSessionDuration: Number(row.max_session_duration),
    createdAt: Number(row.created_at),
  };
}

function toDevice(row: AwsMfaDevicesTable): AwsMfaDevice {
  return {
    accountId: row.account_id,
    serialNumber: row.serial_number,
    name: row.name,
    path: row.path,
    principalId: row.principal_id,
    factorId: row.factor_id,
    createdAt: Number(row.created_at),
  };
}

/** Tables holding rows about one principal that go with it when it is deleted. */
const PRINCIPAL_RECORDS = [
  'sessions',
  'verification_tokens',
  'recovery_codes',
  'enrolment_grants',
  'enrolment_history',
  'mfa_state',
] as const;

/** IAM records keyed by their subject (a user, group, role or policy id). */
const IAM_SUBJECT_RECORDS = ['iam_tags', 'iam_paths', 'permissions_boundaries'] as const;

/** Roles, device serials and user deletion on Kysely. */
export function awsIdentityRepository(db: Kysely<Schema>): AwsIdentityRepository {
  return {
    async insertRole(role) {
      await db
        .insertInto('aws_roles')
        .values({
          id: role.id,
          account_id: role.accountId,
          name: role.name,
          name_key: role.name.toLowerCase(),
          path: role.path,
          description: role.description,
          trust_policy: role.trustPolicy,
          max_session_duration: role.maxSessionDuration,
          created_at: role.createdAt,
        })
        .execute();
    },
    async findRole(accountId, name) {
      const row = await db
        .selectFrom('aws_roles')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('name_key', '=', name.toLowerCase())
        .executeTakeFirst();
      return row ? toRole(row) : null;
    },
    async findRoleById(accountId, id) {
      const row = await db
        .selectFrom('aws_roles')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toRole(row) : null;
    },
    async listRoles(accountId) {
      const rows = await db
        .selectFrom('aws_roles')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('name_key')
        .execute();
      return rows.map(toRole);
    },
    async updateRole(role) {
      await db
        .updateTable('aws_roles')
        .set({
          description: role.description,
          trust_policy: role.trustPolicy,
          max_session_duration: role.maxSessionDuration,
        })
        .where('account_id', '=', role.accountId)
        .where('id', '=', role.id)
        .execute();
    },
    async deleteRole(accountId, id) {
      const result = await db
        .deleteFrom('aws_roles')
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async countRoles(accountId) {
      const row = await db
        .selectFrom('aws_roles')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('account_id', '=', accountId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async insertDevice(device) {
      await db
        .insertInto('aws_mfa_devices')
        .values({
          account_id: device.accountId,
          serial_number: device.serialNumber,
          name: device.name,
          path: device.path,
          principal_id: device.principalId,
          factor_id: device.factorId,
          created_at: device.createdAt,
        })
        .execute();
    },
    async findDevice(accountId, serialNumber) {
      const row = await db
        .selectFrom('aws_mfa_devices')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('serial_number', '=', serialNumber)
        .executeTakeFirst();
      return row ? toDevice(row) : null;
    },
    async findDeviceByFactor(accountId, factorId) {
      const row = await db
        .selectFrom('aws_mfa_devices')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('factor_id', '=', factorId)
        .executeTakeFirst();
      return row ? toDevice(row) : null;
    },
    async listDevices(accountId) {
      const rows = await db
        .selectFrom('aws_mfa_devices')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('serial_number')
        .execute();
      return rows.map(toDevice);
    },
    async detachDevice(accountId, serialNumber) {
      await db
        .updateTable('aws_mfa_devices')
        .set({ factor_id: null })
        .where('account_id', '=', accountId)
        .where('serial_number', '=', serialNumber)
        .execute();
    },
    async deleteDevice(accountId, serialNumber) {
      const result = await db
        .deleteFrom('aws_mfa_devices')
        .where('account_id', '=', accountId)
        .where('serial_number', '=', serialNumber)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async deletePrincipal(accountId, principalId) {
      for (const table of PRINCIPAL_RECORDS) {
        await sql`delete from ${sql.table(table)} where principal_id = ${principalId}`.execute(db);
      }
      await db
        .deleteFrom('aws_mfa_devices')
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .execute();
      await db
        .deleteFrom('temporary_credentials')
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .execute();
      // The user's IAM records (tags, path, permissions boundary) go with it.
      for (const table of IAM_SUBJECT_RECORDS) {
        await sql`delete from ${sql.table(table)} where subject_id = ${principalId}`.execute(db);
      }
      await db
        .deleteFrom('principals')
        .where('account_id', '=', accountId)
        .where('id', '=', principalId)
        .execute();
    },
  };
}
