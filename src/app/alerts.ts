/**
 * Runs the built-in detection rules (src/core/alerts/rules.ts) over the audit stream in the
 * server process: reads the records after a stored cursor, gathers the facts each rule needs,
 * stores an alert per match (once per rule and event, however many servers scan) and queues
 * it, in the same transaction, as e-mail to the account's owners and admins and as a signed
 * webhook to every configured URL.
 */

import {
  ADMIN_CHANGE_ACTIONS,
  ENROLMENT_WINDOW_ENDED,
  evaluateRules,
  inInitialEnrolmentWindow,
  type RuleFacts,
} from '../core/alerts/rules.js';
import { MAX_INITIAL_ENROLMENT_WINDOW_MS } from '../core/policy/guardrails.js';
import type { Principal } from '../core/principals/types.js';
import type { Repositories } from '../core/ports.js';
import type { AuditRecord } from '../core/audit/event.js';
import type { Alert, AlertSeverity, AlertState } from '../core/recovery/types.js';
import { HoldfastError } from '../core/errors.js';
import { ACTIONS } from './actions.js';
import { peopleNamed, personName } from './people.js';
import { authorize } from './authorize.js';
import type { Actor, RequestContext } from './context.js';
import { newId, writeAudit, type AppDeps } from './deps.js';
import { runCommand } from './kernel.js';
import { adminsOf, emailAddressOf, queueMessage, recoverySettingsOf } from './recovery-support.js';
import { hasNoMailAddress } from './users.js';

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
    const windowMs = await initialWindowMsOf(deps.store, accountId);
    const withoutMfa: string[] = [];
    for (const a of admins) {
      if (!concerned.has(a.id) || withFactor.has(a.id)) continue;
      // Someone just created (or bootstrapped) has their initial window to enrol: not yet an alert.
      const everEnrolled = await deps.store.enrolment.everEnrolled(a.id);
      if (inInitialEnrolmentWindow({ createdAt: a.createdAt, everEnrolled, windowMs, now: record.time }))
        continue;
      withoutMfa.push(a.id);
    }
    facts.admins = { total: admins.length, withoutMfa };
  }
  return facts;
}

/** The account's initial enrolment window (G3), capped as the guardrail caps it. */
async function initialWindowMsOf(reader: Pick<Repositories, 'accounts'>, accountId: string): Promise<number> {
  const account = await reader.accounts.findById(accountId);
  return Math.min(
    MAX_INITIAL_ENROLMENT_WINDOW_MS,
    (account?.settings.initialEnrolmentWindowSeconds ?? Infinity) * 1000,
  );
}

/** How a person is named in a message: their e-mail (a real one) or user name, never an id alone. */
function nameOf(principal: Principal | null): string | null {
  if (principal === null) return null;
  return hasNoMailAddress(principal) ? principal.username : `${principal.username} <${principal.email}>`;
}

/** How often the scanner looks for initial enrolment windows that ended without a factor. */
const WINDOW_SWEEP_MS = 60_000;
const lastWindowSweep = new WeakMap<AppDeps, number>();

/**
 * Writes one `enrolment.window_ended` record for each active owner or admin whose initial
 * enrolment window has passed with no factor ever enabled (once per person). The scanner then
 * reads it like any other record, and "admin without MFA" fires from it: the alert comes when the
 * person could have enrolled and did not, not the moment they were created.
 */
export async function sweepEnrolmentWindows(deps: AppDeps): Promise<number> {
  const now = deps.clock.now();
  const last = lastWindowSweep.get(deps);
  if (last !== undefined && now - last < WINDOW_SWEEP_MS) return 0;
  lastWindowSweep.set(deps, now);
  let written = 0;
  for (const account of await deps.store.accounts.list()) {
    const windowMs = await initialWindowMsOf(deps.store, account.id);
    const admins = await adminsOf(deps.store, account.id);
    if (admins.length === 0) continue;
    // Only the administrators' factors are read, not every factor of the account.
    const late: typeof admins = [];
    for (const admin of admins) {
      if (now - admin.createdAt < windowMs) continue;
      const factors = await deps.store.factors.listByPrincipal(account.id, admin.id);
      if (!factors.some((f) => f.status === 'enabled')) late.push(admin);
    }
    if (late.length === 0) continue;
    const noted = new Set(
      (
        await deps.store.audit.query({ accountId: account.id, action: ENROLMENT_WINDOW_ENDED, limit: 10_000 })
      ).map((r) => r.target),
    );
    for (const admin of late) {
      if (noted.has(admin.id) || (await deps.store.enrolment.everEnrolled(admin.id))) continue;
      await deps.store.transaction((tx) =>
        writeAudit(deps, tx, {
          actor: null,
          ctx: { requestId: newId(deps, 'req_'), sourceIp: null, userAgent: 'holdfast-alerts' },
          fact: {
            accountId: account.id,
            action: ENROLMENT_WINDOW_ENDED,
            target: admin.id,
            details: { role: admin.role, windowSeconds: Math.floor(windowMs / 1000) },
          },
        }),
      );
      written++;
    }
  }
  return written;
}

/** Stores one alert and queues its e-mails and webhooks in one transaction; false if it existed. */
async function raise(
  deps: AppDeps,
  alert: Alert,
  webhooks: readonly string[],
  actorId: string | null,
): Promise<boolean> {
  return deps.store
    .transaction(async (tx) => {
      if (!(await tx.recovery.insertAlert(alert))) return false;
      const concerned =
        alert.principalId === null ? null : await tx.principals.findById(alert.accountId, alert.principalId);
      const actor = actorId === null ? null : await tx.principals.findById(alert.accountId, actorId);
      const payload = {
        principalName: nameOf(concerned),
        actorName: nameOf(actor),
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
        // An administrator created through the AWS API has no mailbox: nothing is sent to the
        // placeholder address (it would never arrive); they read alerts in the console.
        const recipient = await emailAddressOf(tx, admin);
        if (hasNoMailAddress({ ...admin, email: recipient })) continue;
        await queueMessage(deps, tx, {
          accountId: alert.accountId,
          principalId: admin.id,
          channel: 'email',
          template: 'alert',
          recipient,
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
  await sweepEnrolmentWindows(deps);
  const cursor = Number((await deps.store.meta.get(ALERT_CURSOR_KEY)) ?? '0');
  // The scanner follows the linked chain (it never skips a record that commits late): link first.
  await deps.store.sealAudit();
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
          acknowledged: null,
        },
        input.webhooks ?? [],
        record.actorId,
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

/** Which alerts a list shows (every filter optional). */
export interface AlertFilters {
  severity?: AlertSeverity;
  /** A rule id, e.g. `HF-RESET`. */
  ruleId?: string;
  state?: AlertState;
}

/** An alert with the people it names: the person concerned and who acknowledged it. */
export interface NamedAlert extends Alert {
  principalName: string | null;
  acknowledgedByName: string | null;
}

/** Lists the account's alerts, newest first (owners and admins; an MFA session, G2). */
export async function listAlerts(
  deps: AppDeps,
  input: { actor: Actor; ctx?: RequestContext; accountId: string; limit?: number } & AlertFilters,
): Promise<NamedAlert[]> {
  await authorize(deps, input.actor, ACTIONS.ListAlerts, { accountId: input.accountId }, input.ctx);
  const alerts = await deps.store.recovery.listAlerts({
    accountId: input.accountId,
    limit: Math.min(500, input.limit ?? 100),
    ...(input.severity === undefined ? {} : { severity: input.severity }),
    ...(input.ruleId === undefined ? {} : { ruleId: input.ruleId }),
    ...(input.state === undefined ? {} : { state: input.state }),
  });
  // Everyone the page names, in one query (never one per alert).
  const ids = new Set<string>();
  for (const a of alerts) {
    if (a.principalId !== null) ids.add(a.principalId);
    if (a.acknowledged !== null) ids.add(a.acknowledged.by);
  }
  const people = await peopleNamed(deps, input.accountId, ids);
  return alerts.map((a) => ({
    ...a,
    principalName: a.principalId === null ? null : (people.get(a.principalId) ?? null),
    acknowledgedByName: a.acknowledged === null ? null : (people.get(a.acknowledged.by) ?? null),
  }));
}

/** Longest acknowledgement note. */
export const MAX_ALERT_NOTE = 500;
/** Control characters other than tab and line breaks (a note is shown as text, one paragraph). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Acknowledges an open alert with a note (owners and admins; an MFA session, G2): who and when
 * are stored with it, and the one audit record `alert.acknowledge` names the alert and its rule.
 * An unknown alert, one acknowledged already or a bad note changes nothing.
 */
export async function acknowledgeAlert(
  deps: AppDeps,
  input: { actor: Actor; ctx: RequestContext; accountId: string; alertId: string; note: string },
): Promise<NamedAlert> {
  const note = input.note.trim();
  if (note.length > MAX_ALERT_NOTE || CONTROL.test(note)) {
    throw new HoldfastError(
      'ALERT_NOTE_INVALID',
      `the note must be at most ${MAX_ALERT_NOTE} characters of text`,
    );
  }
  if (input.actor.kind !== 'principal') throw new HoldfastError('AUTH_FORBIDDEN');
  const by = input.actor.principal;
  return runCommand(
    deps,
    input.actor,
    input.ctx,
    { action: ACTIONS.AcknowledgeAlert, resource: { accountId: input.accountId } },
    async (uow) => {
      const alert = await uow.tx.recovery.findAlert(input.accountId, input.alertId);
      if (alert === null) throw new HoldfastError('ALERT_NOT_FOUND');
      if (alert.acknowledged !== null) throw new HoldfastError('ALERT_ALREADY_ACKNOWLEDGED');
      const acknowledgement = { at: deps.clock.now(), by: by.id, note };
      // Conditional: of two administrators acknowledging at once, one wins; the other is told.
      if (
        !(await uow.tx.recovery.acknowledgeAlert({
          accountId: input.accountId,
          id: alert.id,
          acknowledgement,
        }))
      )
        throw new HoldfastError('ALERT_ALREADY_ACKNOWLEDGED');
      uow.record({
        accountId: input.accountId,
        action: 'alert.acknowledge',
        target: alert.id,
        details: { ruleId: alert.ruleId, severity: alert.severity, note },
      });
      const concerned =
        alert.principalId === null
          ? null
          : await uow.tx.principals.findById(input.accountId, alert.principalId);
      return {
        ...alert,
        acknowledged: acknowledgement,
        principalName: concerned === null ? null : personName(concerned),
        acknowledgedByName: personName(by),
      };
    },
  );
}
