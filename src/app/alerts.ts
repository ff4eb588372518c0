/**
 * Runs the built-in detection rules (src/core/alerts/rules.ts) over the audit stream in the
 * server process: reads the records after a stored cursor, gathers the facts each rule needs,
 * stores an alert per match (once per rule and event, however many servers scan) and queues
 * it, in the same transaction, as e-mail to the account's owners and admins and as a signed
 * webhook to every configured URL.
 */

import { ADMIN_CHANGE_ACTIONS, evaluateRules, type RuleFacts } from '../core/alerts/rules.js';
import type { AuditRecord } from '../core/audit/event.js';
import type { Alert } from '../core/recovery/types.js';
import { ACTIONS } from './actions.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, type AppDeps } from './deps.js';
import { adminsOf, emailAddressOf, queueMessage, recoverySettingsOf } from './recovery-support.js';

/** Meta key of the last scanned audit sequence number. */
export const ALERT_CURSOR_KEY = 'alerts_cursor';
const MFA_ACTIONS = ['auth.mfa_sign_in', 'auth.mfa_step_up', 'auth.mfa_passkey_sign_in'];
const SUSPENSION_LOOKBACK_MS = 7 * 24 * 3_600_000;
/** How far back (in records) the scanner looks for a rule's history. */
const HISTORY_RECORDS = 5000;

async function factsFor(deps: AppDeps, record: AuditRecord, windowMinutes: number): Promise<RuleFacts> {
  const accountId = record.accountId!;
  const afterSeq = Math.max(0, record.seq - HISTORY_RECORDS);
  const facts: RuleFacts = { recentMfaFailures: [], suspendedRecently: false, admins: null };
  if (MFA_ACTIONS.includes(record.action) && record.outcome === 'failure') {
    const since = record.time - windowMinutes * 60_000;
    for (const action of MFA_ACTIONS) {
      const rows = await deps.store.audit.query({ accountId, action, afterSeq, limit: HISTORY_RECORDS });
      for (const r of rows) {
        if (r.seq <= record.seq && r.outcome === 'failure' && r.target === record.target && r.time >= since) {
          facts.recentMfaFailures.push(r.time);
        }
      }
    }
  }
  if (
    (record.action === 'auth.sign_in' || record.action === 'auth.mfa_sign_in') &&
    record.outcome === 'success'
  ) {
    const rows = await deps.store.audit.query({
      accountId,
      action: 'mfa.suspend',
      afterSeq,
      limit: HISTORY_RECORDS,
    });
    facts.suspendedRecently = rows.some(
      (r) =>
        r.seq < record.seq && r.target === record.target && r.time >= record.time - SUSPENSION_LOOKBACK_MS,
    );
  }
  if (ADMIN_CHANGE_ACTIONS.includes(record.action)) {
    const admins = await adminsOf(deps.store, accountId);
    const withFactor = new Set(
      (await deps.store.factors.listEnabledByAccount(accountId)).map((f) => f.principalId),
    );
    const concerned = new Set([record.target, record.actorId]);
    facts.admins = {
      total: admins.length,
      withoutMfa: admins.filter((a) => concerned.has(a.id) && !withFactor.has(a.id)).map((a) => a.id),
    };
  }
  return facts;
}

/** Stores one alert and queues its e-mails and webhooks in one transaction; false if it existed. */
async function raise(deps: AppDeps, alert: Alert, webhooks: readonly string[]): Promise<boolean> {
  return deps.store
    .transaction(async (tx) => {
      if (!(await tx.recovery.insertAlert(alert))) return false;
      const payload = {
        alertId: alert.id,
        ruleId: alert.ruleId,
        severity: alert.severity,
        summary: alert.summary,
        accountId: alert.accountId,
        principalId: alert.principalId,
        eventId: alert.eventId,
        createdAt: alert.createdAt,
      };
      for (const admin of await adminsOf(tx, alert.accountId)) {
        await queueMessage(deps, tx, {
          accountId: alert.accountId,
          principalId: admin.id,
          channel: 'email',
          template: 'alert',
          recipient: await emailAddressOf(tx, admin),
          payload,
        });
      }
      for (const url of webhooks) {
        await queueMessage(deps, tx, {
          accountId: alert.accountId,
          principalId: null,
          channel: 'webhook',
          template: 'alert',
          recipient: url,
          payload: { ...payload, details: JSON.stringify(alert.details) },
        });
      }
      return true;
    })
    .catch(() => false); // another server stored it first (unique rule + event)
}

/** One pass of the scanner over new audit records; returns how many alerts it raised. */
export async function scanForAlerts(
  deps: AppDeps,
  input: { webhooks?: readonly string[]; batch?: number } = {},
): Promise<{ scanned: number; raised: number }> {
  const cursor = Number((await deps.store.meta.get(ALERT_CURSOR_KEY)) ?? '0');
  const records = await deps.store.audit.scan(cursor, input.batch ?? 500);
  let raised = 0;
  const settingsCache = new Map<string, Awaited<ReturnType<typeof recoverySettingsOf>>>();
  for (const record of records) {
    if (record.accountId === null) continue;
    let settings = settingsCache.get(record.accountId);
    if (settings === undefined) {
      settings = await recoverySettingsOf(deps.store, record.accountId);
      settingsCache.set(record.accountId, settings);
    }
    const facts = await factsFor(deps, record, settings.thresholds.bruteForceWindowMinutes);
    for (const { rule, match } of evaluateRules(record, facts, settings)) {
      const ok = await raise(
        deps,
        {
          id: newId(deps, 'alr_'),
          accountId: record.accountId,
          ruleId: rule.id,
          severity: rule.severity,
          eventId: record.eventId,
          principalId: match.principalId,
          summary: match.summary,
          details: match.details,
          createdAt: deps.clock.now(),
        },
        input.webhooks ?? [],
      );
      if (ok) raised++;
    }
  }
  if (records.length > 0) {
    const last = records[records.length - 1]!.seq;
    // Several servers may scan: the cursor only moves forward.
    const now = Number((await deps.store.meta.get(ALERT_CURSOR_KEY)) ?? '0');
    if (last > now) await deps.store.meta.put(ALERT_CURSOR_KEY, String(last));
  }
  return { scanned: records.length, raised };
}

/** Lists the account's alerts, newest first (owners and admins; an MFA session, G2). */
export async function listAlerts(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; limit?: number },
): Promise<Alert[]> {
  await authorize(deps, input.actor, ACTIONS.ListAlerts, { accountId: input.accountId }, input.ctx);
  return deps.store.recovery.listAlerts({
    accountId: input.accountId,
    limit: Math.min(500, input.limit ?? 100),
  });
}
