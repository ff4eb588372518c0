import { sql, type Kysely } from 'kysely';
import type { Repositories, Store } from '../core/ports.js';
import { rethrowAsConflict } from './conflicts.js';
import type { Database, Dialect } from './connect.js';
import {
  accessKeyRepository,
  awsIdentityRepository,
  temporaryCredentialRepository,
} from './repositories/access-keys.js';
import { accountRepository } from './repositories/accounts.js';
import { auditRepository } from './repositories/audit.js';
import { auditSealer } from './audit-sealer.js';
import { factorRepository } from './repositories/factors.js';
import { flowRepository } from './repositories/flows.js';
import { hardwareTokenRepository } from './repositories/hardware-tokens.js';
import { mfaStateRepository } from './repositories/mfa-state.js';
import { oidcRepository } from './repositories/oidc.js';
import { outboxRepository } from './repositories/outbox.js';
import { policyRepository } from './repositories/policies.js';
import { iamRepository } from './repositories/iam.js';
import { enrolmentRepository } from './repositories/enrolment.js';
import { recoveryCodeRepository } from './repositories/recovery-codes.js';
import { recoveryRepository } from './repositories/recovery.js';
import { metaRepository } from './repositories/meta.js';
import { sealedValueRepository } from './sealed-values.js';
import { principalRepository } from './repositories/principals.js';
import { sessionRepository } from './repositories/sessions.js';
import { setupTokenRepository } from './repositories/setup-tokens.js';
import { throttleRepository } from './repositories/throttle.js';
import { webAuthnRepository } from './repositories/webauthn.js';
import type { Schema } from './schema.js';

/** Repositories over a database handle or an open transaction. */
export function createRepositories(db: Kysely<Schema>, dialect: Dialect): Repositories {
  return {
    accounts: accountRepository(db),
    principals: principalRepository(db, dialect),
    setupTokens: setupTokenRepository(db),
    sessions: sessionRepository(db),
    flows: flowRepository(db),
    audit: auditRepository(db, dialect),
    throttle: throttleRepository(db),
    meta: metaRepository(db),
    factors: factorRepository(db),
    recoveryCodes: recoveryCodeRepository(db),
    hardwareTokens: hardwareTokenRepository(db, dialect),
    mfaState: mfaStateRepository(db),
    outbox: outboxRepository(db, dialect),
    policies: policyRepository(db),
    iam: iamRepository(db),
    enrolment: enrolmentRepository(db),
    webauthn: webAuthnRepository(db),
    accessKeys: accessKeyRepository(db),
    temporaryCredentials: temporaryCredentialRepository(db),
    awsIdentities: awsIdentityRepository(db),
    recovery: recoveryRepository(db),
    sealedValues: sealedValueRepository(db, dialect),
    oidc: oidcRepository(db),
  };
}

/** The store over an open database: repositories, and transactions that commit a change with its audit record. */
export function createStore(database: Database): Store {
  const { kysely, dialect } = database;
  // PostgreSQL appends audit records unsealed; a commit that appended asks the sealer for a pass soon.
  const sealer = dialect === 'postgres' ? auditSealer(kysely) : null;
  const run: Store['transaction'] =
    sealer === null
      ? groupCommit(database)
      : async (work) => {
          let appended = false;
          const value = await kysely.transaction().execute((trx) => {
            const tx = createRepositories(trx, dialect);
            const append = tx.audit.append;
            return work({
              ...tx,
              audit: {
                ...tx.audit,
                append: (event, input) => {
                  appended = true;
                  return append(event, input);
                },
              },
            });
          });
          if (appended) sealer.soon();
          return value;
        };
  // A unique-constraint refusal leaves as a typed StorageConflict, whatever the driver.
  const transaction: Store['transaction'] = (work) => run(work).catch(rethrowAsConflict);
  const repos = createRepositories(kysely, dialect);
  return {
    ...repos,
    audit: {
      ...repos.audit,
      // An append outside a transaction gets one of its own (SQLite links it to the last record there).
      append: (event, input) => transaction((tx) => tx.audit.append(event, input)),
      // Outside a transaction the chain is read linked up to every committed record (PostgreSQL
      // links after commit): the reader sees its own writes, in the chain.
      ...(sealer === null
        ? {}
        : {
            scan: async (afterSeq: number, limit: number) => {
              await sealer.seal();
              return repos.audit.scan(afterSeq, limit);
            },
            head: async () => {
              await sealer.seal();
              return repos.audit.head();
            },
          }),
    },
    sealAudit: sealer === null ? () => Promise.resolve({ sealed: 0, voided: [] }) : () => sealer.seal(),
    // A hit must lock its row through the read and the write.
    throttle: { ...repos.throttle, hit: (input) => transaction((tx) => tx.throttle.hit(input)) },
    transaction,
  };
}

interface Unit {
  work: (tx: Repositories) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for SQLite. SQLite has one writer; so the units of work that arrive in one turn
 * of the event loop run one after another inside ONE transaction and share one COMMIT. When
 * the batch holds several units, each runs in a savepoint of its own (a unit that fails is
 * rolled back alone and its caller gets its error); a batch of one needs no savepoint (its
 * failure rolls back the transaction). No caller hears of success before the COMMIT is
 * durable: on a file in asynchronous-sync mode the next batch starts as soon as this one has
 * committed, while the WAL sync that makes it durable runs off the event loop, and the units
 * are settled when that sync completes. A unit must not start another top-level transaction
 * and wait for it (it would wait for its own batch).
 */
function groupCommit(database: Database): Store['transaction'] {
  const { kysely } = database;
  let queue: Unit[] = [];
  let scheduled = false;
  let previous: Promise<void> = Promise.resolve();

  const runBatch = async (trx: Kysely<Schema>, batch: Unit[], settled: Array<() => void>) => {
    const repos = createRepositories(trx, 'sqlite');
    if (batch.length === 1) {
      const unit = batch[0]!;
      const value = await unit.work(repos);
      settled.push(() => unit.resolve(value));
      return;
    }
    for (const unit of batch) {
      await sql`savepoint unit`.execute(trx);
      try {
        const value = await unit.work(repos);
        await sql`release savepoint unit`.execute(trx);
        settled.push(() => unit.resolve(value));
      } catch (error) {
        await sql`rollback to savepoint unit`.execute(trx);
        await sql`release savepoint unit`.execute(trx);
        settled.push(() => unit.reject(error));
      }
    }
  };

  const flush = async (): Promise<void> => {
    const batch = queue;
    queue = [];
    scheduled = false;
    const settled: Array<() => void> = [];
    let durable: Promise<void>;
    try {
      if (database.deferredDurabilityTransaction !== undefined) {
        ({ durable } = await database.deferredDurabilityTransaction((trx) => runBatch(trx, batch, settled)));
      } else {
        await kysely.transaction().execute((trx) => runBatch(trx, batch, settled));
        durable = Promise.resolve();
      }
    } catch (error) {
      for (const unit of batch) unit.reject(error);
      return;
    }
    // Not awaited: the next batch may commit while this one's sync is on the disk.
    durable.then(
      () => {
        for (const settle of settled) settle();
      },
      (error: unknown) => {
        for (const unit of batch) unit.reject(error);
      },
    );
  };

  return <T>(work: (tx: Repositories) => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        // Collect the units the rest of this turn produces, then commit them together.
        setImmediate(() => {
          // flush settles every unit itself; the catch only keeps the chain alive whatever happens.
          previous = previous.then(flush).catch(() => undefined);
        });
      }
    });
}
