import type { Kysely } from 'kysely';
import type {
  Alert,
  Contact,
  RecoveryRepository,
  RecoveryRequest,
  VerificationToken,
} from '../../core/recovery/types.js';
import type {
  AlertsTable,
  ContactsTable,
  RecoveryRequestsTable,
  VerificationTokensTable,
} from '../recovery-schema.js';
import type { Schema } from '../schema.js';

const num = (v: number | null): number | null => (v === null ? null : Number(v));

function toContact(r: ContactsTable): Contact {
  return {
    id: r.id,
    accountId: r.account_id,
    principalId: r.principal_id,
    kind: r.kind as Contact['kind'],
    address: r.address,
    status: r.status as Contact['status'],
    createdAt: Number(r.created_at),
    verifiedAt: num(r.verified_at),
  };
}

function toToken(r: VerificationTokensTable): VerificationToken {
  return {
    id: r.id,
    tokenHash: r.token_hash,
    accountId: r.account_id,
    principalId: r.principal_id,
    purpose: r.purpose as VerificationToken['purpose'],
    subjectId: r.subject_id,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    usedAt: num(r.used_at),
    attempts: Number(r.attempts),
  };
}

function toAlert(r: AlertsTable): Alert {
  return {
    id: r.id,
    accountId: r.account_id,
    ruleId: r.rule_id,
    severity: r.severity as Alert['severity'],
    eventId: r.event_id,
    principalId: r.principal_id,
    summary: r.summary,
    details: JSON.parse(r.details),
    createdAt: Number(r.created_at),
    acknowledged:
      r.acknowledged_at === null
        ? null
        : { at: Number(r.acknowledged_at), by: r.acknowledged_by ?? '', note: r.acknowledged_note ?? '' },
  };
}

function requestRow(r: RecoveryRequest): RecoveryRequestsTable {
  return {
    id: r.id,
    account_id: r.accountId,
    principal_id: r.principalId,
    kind: r.kind,
    state: r.state,
    requested_by: r.requestedBy,
    evidence: JSON.stringify(r.evidence),
    reason: r.reason,
    email_verified_at: r.emailVerifiedAt,
    phone_verified_at: r.phoneVerifiedAt,
    approvals_required: r.approvalsRequired,
    wait_ms: r.waitMs,
    wait_until: r.waitUntil,
    expires_at: r.expiresAt,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    completed_at: r.completedAt,
    cancelled_at: r.cancelledAt,
    cancelled_by: r.cancelledBy,
  };
}

/** Contacts, verification tokens, recovery requests, settings and alerts on Kysely. */
export function recoveryRepository(db: Kysely<Schema>): RecoveryRepository {
  const withApprovals = async (rows: RecoveryRequestsTable[]): Promise<RecoveryRequest[]> => {
    if (rows.length === 0) return [];
    const approvals = await db
      .selectFrom('recovery_approvals')
      .select(['request_id', 'approver_id'])
      .where(
        'request_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      accountId: r.account_id,
      principalId: r.principal_id,
      kind: r.kind as RecoveryRequest['kind'],
      state: r.state as RecoveryRequest['state'],
      requestedBy: r.requested_by,
      evidence: JSON.parse(r.evidence),
      reason: r.reason,
      emailVerifiedAt: num(r.email_verified_at),
      phoneVerifiedAt: num(r.phone_verified_at),
      approvalsRequired: Number(r.approvals_required),
      approvals: approvals.filter((a) => a.request_id === r.id).map((a) => a.approver_id),
      waitMs: Number(r.wait_ms),
      waitUntil: num(r.wait_until),
      expiresAt: Number(r.expires_at),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      completedAt: num(r.completed_at),
      cancelledAt: num(r.cancelled_at),
      cancelledBy: r.cancelled_by,
    }));
  };

  return {
    async insertContact(c) {
      await db
        .insertInto('contacts')
        .values({
          id: c.id,
          account_id: c.accountId,
          principal_id: c.principalId,
          kind: c.kind,
          address: c.address,
          status: c.status,
          created_at: c.createdAt,
          verified_at: c.verifiedAt,
        })
        .execute();
    },
    async listContacts(accountId, principalId) {
      const rows = await db
        .selectFrom('contacts')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('principal_id', '=', principalId)
        .orderBy('created_at')
        .execute();
      return rows.map(toContact);
    },
    async findContact(accountId, id) {
      const row = await db
        .selectFrom('contacts')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toContact(row) : null;
    },
    async deleteContact(id) {
      await db.deleteFrom('contacts').where('id', '=', id).execute();
    },
    async verifyContact({ id, now }) {
      const row = await db.selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirst();
      if (row === undefined || row.status !== 'pending') return false;
      const result = await db
        .updateTable('contacts')
        .set({ status: 'verified', verified_at: now })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      // The new address replaces the verified one of its kind, and any other pending one.
      await db
        .deleteFrom('contacts')
        .where('account_id', '=', row.account_id)
        .where('principal_id', '=', row.principal_id)
        .where('kind', '=', row.kind)
        .where('id', '!=', id)
        .execute();
      return true;
    },

    async insertToken(t) {
      await db
        .insertInto('verification_tokens')
        .values({
          id: t.id,
          token_hash: t.tokenHash,
          account_id: t.accountId,
          principal_id: t.principalId,
          purpose: t.purpose,
          subject_id: t.subjectId,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
          used_at: t.usedAt,
          attempts: t.attempts,
        })
        .execute();
    },
    async findTokenByHash(tokenHash) {
      const row = await db
        .selectFrom('verification_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async findLiveToken({ purpose, subjectId, now }) {
      const row = await db
        .selectFrom('verification_tokens')
        .selectAll()
        .where('purpose', '=', purpose)
        .where('subject_id', '=', subjectId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async consumeToken({ id, now }) {
      const result = await db
        .updateTable('verification_tokens')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async recordTokenFailure(id) {
      await db
        .updateTable('verification_tokens')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .execute();
      const row = await db
        .selectFrom('verification_tokens')
        .select('attempts')
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(row?.attempts ?? 0);
    },
    async revokeTokens({ purpose, subjectId, principalId, now }) {
      let q = db
        .updateTable('verification_tokens')
        .set({ used_at: now })
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null);
      if (subjectId !== undefined) q = q.where('subject_id', '=', subjectId);
      if (principalId !== undefined) q = q.where('principal_id', '=', principalId);
      await q.execute();
    },

    async insertRequest(r) {
      await db.insertInto('recovery_requests').values(requestRow(r)).execute();
    },
    async findRequest(accountId, id) {
      const rows = await db
        .selectFrom('recovery_requests')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .execute();
      return (await withApprovals(rows))[0] ?? null;
    },
    async findRequestById(id) {
      const rows = await db.selectFrom('recovery_requests').selectAll().where('id', '=', id).execute();
      return (await withApprovals(rows))[0] ?? null;
    },
    async listRequests({ accountId, states, principalId }) {
      let q = db.selectFrom('recovery_requests').selectAll().where('account_id', '=', accountId);
      if (states !== undefined && states.length > 0) q = q.where('state', 'in', states);
      if (principalId !== undefined) q = q.where('principal_id', '=', principalId);
      return withApprovals(await q.orderBy('created_at', 'desc').limit(500).execute());
    },
    async updateRequest(r, expectedUpdatedAt) {
      const { id: _id, ...row } = requestRow(r);
      const result = await db
        .updateTable('recovery_requests')
        .set(row)
        .where('id', '=', r.id)
        .where('updated_at', '=', expectedUpdatedAt)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async dueRequests(now, limit) {
      const rows = await db
        .selectFrom('recovery_requests')
        .selectAll()
        .where('state', '=', 'waiting')
        .where('wait_until', '<=', now)
        .orderBy('wait_until')
        .limit(limit)
        .execute();
      return withApprovals(rows);
    },
    async addApproval({ requestId, accountId, approverId, now }) {
      const existing = await db
        .selectFrom('recovery_approvals')
        .select('approver_id')
        .where('request_id', '=', requestId)
        .where('approver_id', '=', approverId)
        .executeTakeFirst();
      if (existing !== undefined) return false;
      await db
        .insertInto('recovery_approvals')
        .values({ request_id: requestId, approver_id: approverId, account_id: accountId, created_at: now })
        .execute();
      return true;
    },

    async getSettings(accountId) {
      const row = await db
        .selectFrom('recovery_settings')
        .select('document')
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return row ? (JSON.parse(row.document) as Record<string, unknown>) : {};
    },
    async putSettings({ accountId, document, now }) {
      const existing = await db
        .selectFrom('recovery_settings')
        .select('account_id')
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      if (existing === undefined) {
        await db
          .insertInto('recovery_settings')
          .values({ account_id: accountId, document: JSON.stringify(document), updated_at: now })
          .execute();
      } else {
        await db
          .updateTable('recovery_settings')
          .set({ document: JSON.stringify(document), updated_at: now })
          .where('account_id', '=', accountId)
          .execute();
      }
    },

    async insertAlert(a) {
      const existing = await db
        .selectFrom('alerts')
        .select('id')
        .where('rule_id', '=', a.ruleId)
        .where('event_id', '=', a.eventId)
        .executeTakeFirst();
      if (existing !== undefined) return false;
      await db
        .insertInto('alerts')
        .values({
          id: a.id,
          account_id: a.accountId,
          rule_id: a.ruleId,
          severity: a.severity,
          event_id: a.eventId,
          principal_id: a.principalId,
          summary: a.summary.slice(0, 200),
          details: JSON.stringify(a.details),
          created_at: a.createdAt,
          acknowledged_at: null,
          acknowledged_by: null,
          acknowledged_note: null,
        })
        .execute();
      return true;
    },
    async listAlerts({ accountId, limit, afterCreatedAt, severity, ruleId, state }) {
      let q = db.selectFrom('alerts').selectAll().where('account_id', '=', accountId);
      if (afterCreatedAt !== undefined) q = q.where('created_at', '>', afterCreatedAt);
      if (severity !== undefined) q = q.where('severity', '=', severity);
      if (ruleId !== undefined) q = q.where('rule_id', '=', ruleId);
      if (state === 'open') q = q.where('acknowledged_at', 'is', null);
      if (state === 'acknowledged') q = q.where('acknowledged_at', 'is not', null);
      const rows = await q.orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
      return rows.map(toAlert);
    },
    async findAlert(accountId, id) {
      const row = await db
        .selectFrom('alerts')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? null : toAlert(row);
    },
    async acknowledgeAlert({ accountId, id, acknowledgement }) {
      const result = await db
        .updateTable('alerts')
        .set({
          acknowledged_at: acknowledgement.at,
          acknowledged_by: acknowledgement.by,
          acknowledged_note: acknowledgement.note,
        })
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .where('acknowledged_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
