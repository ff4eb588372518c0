/**
 * Committed security events for the watchers of this process (the metrics of the HTTP face).
 * The store is wrapped once, where the app is built: every audit record appended and every alert
 * stored through it is noted per unit of work, and the events they stand for
 * (core/audit/security-events.ts) are handed on only once that unit has committed. A unit that
 * rolls back hands on nothing; a refusal that commits before its error is thrown
 * (`failAfterCommit`) is handed on like any other record. No face counts for itself.
 */

import type { AuditEvent } from '../core/audit/event.js';
import {
  securityEventOfAlert,
  securityEventsOfAudit,
  type CountedSecurityEvent,
} from '../core/audit/security-events.js';
import type { Repositories, Store } from '../core/ports.js';
import type { Alert } from '../core/recovery/types.js';

/** Receives the security events of one committed unit of work. */
export type SecurityEventListener = (events: readonly CountedSecurityEvent[]) => void;

/** The watchers of one app: add one, get its removal. */
export interface SecurityEventHub {
  subscribe(listener: SecurityEventListener): () => void;
  /** Hands events on to every watcher; a watcher that throws never disturbs the command. */
  publish(events: readonly CountedSecurityEvent[]): void;
}

/** A hub with no watcher yet. */
export function createSecurityEventHub(): SecurityEventHub {
  const listeners = new Set<SecurityEventListener>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(events) {
      if (events.length === 0) return;
      for (const listener of listeners) {
        try {
          listener(events);
        } catch {
          // A watcher's fault is its own: the change has committed whatever it does.
        }
      }
    },
  };
}

/** What one unit of work appended and stored, kept until it commits. */
interface Noted {
  audit: AuditEvent[];
  alerts: Alert[];
}

function eventsOf(noted: Noted): CountedSecurityEvent[] {
  return [...noted.audit.flatMap(securityEventsOfAudit), ...noted.alerts.map(securityEventOfAlert)];
}

/** The unit's repositories, noting audit appends and stored alerts into `noted`. */
function noting(tx: Repositories, noted: Noted): Repositories {
  return {
    ...tx,
    audit: {
      ...tx.audit,
      append: async (event, input) => {
        const appended = await tx.audit.append(event, input);
        noted.audit.push(event);
        return appended;
      },
    },
    recovery: {
      ...tx.recovery,
      insertAlert: async (alert) => {
        const stored = await tx.recovery.insertAlert(alert);
        if (stored) noted.alerts.push(alert);
        return stored;
      },
    },
  };
}

/** `store`, with the security events of every committed unit of work published to `hub`. */
export function publishCommittedSecurityEvents(store: Store, hub: SecurityEventHub): Store {
  return {
    ...store,
    // Outside a transaction an append or an alert commits on its own.
    audit: {
      ...store.audit,
      append: async (event, input) => {
        const appended = await store.audit.append(event, input);
        hub.publish(securityEventsOfAudit(event));
        return appended;
      },
    },
    recovery: {
      ...store.recovery,
      insertAlert: async (alert) => {
        const stored = await store.recovery.insertAlert(alert);
        if (stored) hub.publish([securityEventOfAlert(alert)]);
        return stored;
      },
    },
    transaction: async (work) => {
      const noted: Noted = { audit: [], alerts: [] };
      const value = await store.transaction((tx) => {
        // A unit of work may be run again (a retried transaction): only its last run counts.
        noted.audit = [];
        noted.alerts = [];
        return work(noting(tx, noted));
      });
      hub.publish(eventsOf(noted));
      return value;
    },
  };
}
