import { randomBytes } from 'node:crypto';
import { operatorContext } from './app/context.js';
import { writeAudit } from './app/deps.js';
import type { Installation } from './installation.js';
import { keyRingFrom, ringKeys, writeKeyFile } from './platform/master-key.js';
import { createSecretBox, keyIdOf } from './platform/secret-box.js';
import { sql } from 'kysely';
import { listSealedValues, replaceSealedValue, SEALED_COLUMNS } from './storage/sealed-values.js';
import { createRepositories } from './storage/store.js';

/** What a rotation did. */
export interface RotationResult {
  oldKeyId: string;
  newKeyId: string;
  resealed: number;
  /** Base64 of the new key when the key came from HOLDFAST_MASTER_KEY (the operator must store it). */
  newKeyForEnv: string | null;
}

/**
 * Rotates the master key: a new key becomes current, every sealed value is re-encrypted under
 * it in one transaction, and the old key is dropped. With a key file, the file first holds both
 * keys (so a crash at any point leaves every value readable), then only the new one.
 * Running servers keep the old key in memory: stop them first and start them after.
 */
export async function rotateMasterKey(
  installation: Installation,
  onProgress?: (done: number, total: number) => void,
): Promise<RotationResult> {
  const { keyRing, database } = installation;
  const newKey = randomBytes(32);
  const oldKeys = ringKeys(keyRing.ring);
  const bothRing = keyRingFrom([newKey, ...oldKeys]);
  if (keyRing.origin.kind === 'file') writeKeyFile(keyRing.origin.path, [newKey, ...oldKeys]);
  const box = createSecretBox(bothRing);
  const resealed = await database.kysely.transaction().execute(async (trx) => {
    // No sealed row may be written while the rotation runs (SQLite: BEGIN IMMEDIATE already
    // excludes other writers; PostgreSQL needs the tables locked).
    if (database.dialect === 'postgres') {
      await sql
        .raw(`lock table ${SEALED_COLUMNS.map((c) => c.table).join(', ')} in exclusive mode`)
        .execute(trx);
    }
    const values = await listSealedValues(trx);
    let done = 0;
    for (const value of values) {
      await replaceSealedValue(trx, value, box.seal(box.open(value.sealed, value.context), value.context));
      onProgress?.(++done, values.length);
    }
    await writeAudit(installation.app.deps, createRepositories(trx, database.dialect), {
      actor: { kind: 'operator' },
      ctx: operatorContext('keys-rotate'),
      fact: {
        accountId: null,
        action: 'keys.rotate',
        target: keyIdOf(newKey),
        details: { oldKeyId: keyRing.ring.currentId, newKeyId: keyIdOf(newKey), resealed: values.length },
      },
    });
    return values.length;
  });
  if (keyRing.origin.kind === 'file') writeKeyFile(keyRing.origin.path, [newKey]);
  return {
    oldKeyId: keyRing.ring.currentId,
    newKeyId: keyIdOf(newKey),
    resealed,
    newKeyForEnv: keyRing.origin.kind === 'env' ? newKey.toString('base64') : null,
  };
}
