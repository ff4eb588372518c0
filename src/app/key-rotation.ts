import type { SecretBox } from '../core/ports.js';
import { operatorContext } from './context.js';
import { writeAudit, type AppDeps } from './deps.js';

/** Input of {@link resealSecrets}. */
export interface ResealInput {
  /** Opens under the old keys and seals under the new current key. */
  box: SecretBox;
  oldKeyId: string;
  newKeyId: string;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/**
 * The database half of a master-key rotation (`holdfast keys rotate`): in one transaction, with
 * every writer of a sealed value kept out, each sealed value is opened and sealed again under
 * the new key, and one audit record says so. Returns how many values were re-encrypted.
 */
export async function resealSecrets(deps: AppDeps, input: ResealInput): Promise<number> {
  const { box } = input;
  return deps.store.transaction(async (tx) => {
    await tx.sealedValues.lockForRotation();
    const values = await tx.sealedValues.list();
    let done = 0;
    for (const value of values) {
      await tx.sealedValues.replace(value, box.seal(box.open(value.sealed, value.context), value.context));
      input.onProgress?.(++done, values.length);
    }
    await writeAudit(deps, tx, {
      actor: { kind: 'operator' },
      ctx: operatorContext('keys-rotate'),
      fact: {
        accountId: null,
        action: 'keys.rotate',
        target: input.newKeyId,
        details: { oldKeyId: input.oldKeyId, newKeyId: input.newKeyId, resealed: values.length },
      },
    });
    return values.length;
  });
}
