import type { Kysely } from 'kysely';
import type { Repositories, Store } from '../core/ports.js';
import type { Database, Dialect } from './connect.js';
import { accountRepository } from './repositories/accounts.js';
import { auditRepository } from './repositories/audit.js';
import { factorRepository } from './repositories/factors.js';
import { flowRepository } from './repositories/flows.js';
import { hardwareTokenRepository } from './repositories/hardware-tokens.js';
import { mfaStateRepository } from './repositories/mfa-state.js';
import { outboxRepository } from './repositories/outbox.js';
import { recoveryCodeRepository } from './repositories/recovery-codes.js';
import { metaRepository } from './repositories/meta.js';
import { principalRepository } from './repositories/principals.js';
import { sessionRepository } from './repositories/sessions.js';
import { setupTokenRepository } from './repositories/setup-tokens.js';
import { throttleRepository } from './repositories/throttle.js';
import type { Schema } from './schema.js';

/** Repositories over a database handle or an open transaction. */
export function createRepositories(db: Kysely<Schema>, dialect: Dialect): Repositories {
  return {
    accounts: accountRepository(db),
    principals: principalRepository(db),
    setupTokens: setupTokenRepository(db),
    sessions: sessionRepository(db),
    flows: flowRepository(db),
    audit: auditRepository(db, dialect),
    throttle: throttleRepository(db, dialect),
    meta: metaRepository(db),
    factors: factorRepository(db),
    recoveryCodes: recoveryCodeRepository(db),
    hardwareTokens: hardwareTokenRepository(db),
    mfaState: mfaStateRepository(db),
    outbox: outboxRepository(db),
  };
}

/** The store over an open database: repositories, and transactions that commit a change with its audit record. */
export function createStore(database: Database): Store {
  const { kysely, dialect } = database;
  const transaction: Store['transaction'] = (work) =>
    kysely.transaction().execute((trx) => work(createRepositories(trx, dialect)));
  const repos = createRepositories(kysely, dialect);
  return {
    ...repos,
    // An append outside a transaction would not hold the chain lock through its insert.
    audit: { ...repos.audit, append: (event, input) => transaction((tx) => tx.audit.append(event, input)) },
    // A hit must lock its row through the read and the write.
    throttle: { ...repos.throttle, hit: (input) => transaction((tx) => tx.throttle.hit(input)) },
    transaction,
  };
}
