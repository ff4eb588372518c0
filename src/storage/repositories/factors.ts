import { sql, type Kysely } from 'kysely';
import type { AssuranceLevel, Factor, FactorKind, FactorStatus } from '../../core/factors/factor.js';
import type { FactorRepository } from '../../core/ports.js';
import type { FactorsTable, Schema } from '../schema.js';

function toFactor(row: FactorsTable): Factor {
  return {
    id: row.id,
    accountId: row.account_id,
    principalId: row.principal_id,
    kind: row.kind as FactorKind,
    name: row.name,
    status: row.status as FactorStatus,
    assurance: row.assurance as AssuranceLevel,
    adminProvisioned: row.admin_provisioned === 1,
    hardwareTokenId: row.hardware_token_id,
    secretSealed: row.secret_sealed,
    params: JSON.parse(row.params),
    lastCounter: row.last_counter === null ? null : Number(row.last_counter),
    driftSteps: row.drift_steps,
    failedAttempts: row.failed_attempts,
    createdAt: row.created_at,
    enabledAt: row.enabled_at,
    lastUsedAt: row.last_used_at,
    pendingSessionId: row.pending_session_id,
    pendingExpiresAt: row.pending_expires_at,
    pendingAttempts: row.pending_attempts,
    ...(row.enrolment_grant_id !== null ? { enrolmentGrantId: row.enrolment_grant_id } : {}),
  };
}

/** Factors on Kysely. */
export function factorRepository(db: Kysely<Schema>): FactorRepository {
  return {
    async insert(f) {
      await db
        .insertInto('factors')
        .values({
          id: f.id,
          account_id: f.accountId,
          principal_id: f.principalId,
          kind: f.kind,
          name: f.name,
          status: f.status,
          assurance: f.assurance,
          admin_provisioned: f.adminProvisioned ? 1 : 0,
          hardware_token_id: f.hardwareTokenId,
          secret_sealed: f.secretSealed,
          params: JSON.stringify(f.params),
          last_counter: f.lastCounter,
          drift_steps: f.driftSteps,
          failed_attempts: f.failedAttempts,
          created_at: f.createdAt,
          enabled_at: f.enabledAt,
          last_used_at: f.lastUsedAt,
          pending_session_id: f.pendingSessionId,
          pending_expires_at: f.pendingExpiresAt,
          pending_attempts: f.pendingAttempts,
          enrolment_grant_id: f.enrolmentGrantId ?? null,
        })
        .execute();
    },
    async findById(accountId, id) {
      const row = await db
        .selectFrom('factors')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toFactor(row) : null;
    },
    async listByPrincipal(accountId, principalId) {
      const rows = await db
        .selectFrom('factors')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toFactor);
    },
    async listEnabledByAccount(accountId) {
      const rows = await db
        .selectFrom('factors')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('status', '=', 'enabled')
        .execute();
      return rows.map(toFactor);
    },
    async acceptCode({ id, lastCounter, driftSteps, now }) {
      const result = await db
        .updateTable('factors')
        .set({ last_counter: lastCounter, drift_steps: driftSteps, last_used_at: now, failed_attempts: 0 })
        .where('id', '=', id)
        .where('status', '=', 'enabled')
        .where((eb) => eb.or([eb('last_counter', 'is', null), eb('last_counter', '<', lastCounter)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async enable({ id, lastCounter, driftSteps, now }) {
      const result = await db
        .updateTable('factors')
        .set({
          status: 'enabled',
          enabled_at: now,
          last_counter: lastCounter,
          drift_steps: driftSteps,
          pending_session_id: null,
          pending_expires_at: null,
        })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async recordFailure(id) {
      await db
        .updateTable('factors')
        .set({ failed_attempts: sql`failed_attempts + 1` })
        .where('id', '=', id)
        .execute();
    },
    async recordPendingFailure(id) {
      await db
        .updateTable('factors')
        .set({ pending_attempts: sql`pending_attempts + 1` })
        .where('id', '=', id)
        .execute();
      const row = await db
        .selectFrom('factors')
        .select('pending_attempts')
        .where('id', '=', id)
        .executeTakeFirst();
      return row?.pending_attempts ?? 0;
    },
    async rename({ id, name }) {
      await db.updateTable('factors').set({ name }).where('id', '=', id).execute();
    },
    async delete(id) {
      // A WebAuthn factor's credential goes with it (its credential id may then be registered again).
      await db.deleteFrom('webauthn_credentials').where('factor_id', '=', id).execute();
      await db.deleteFrom('factors').where('id', '=', id).execute();
    },
    async cancelPending({ accountId, principalId, exceptId }) {
      let query = db
        .selectFrom('factors')
        .select('id')
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .where('status', '=', 'pending')
        .where('admin_provisioned', '=', 0);
      if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
      const ids = (await query.execute()).map((r) => r.id);
      if (ids.length > 0) {
        await db.deleteFrom('factors').where('id', 'in', ids).where('status', '=', 'pending').execute();
      }
      return ids;
    },
    async deleteExpiredPending({ accountId, principalId, now }) {
      await db
        .deleteFrom('factors')
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .where('status', '=', 'pending')
        .where('pending_expires_at', 'is not', null)
        .where('pending_expires_at', '<=', now)
        .execute();
    },
  };
}
