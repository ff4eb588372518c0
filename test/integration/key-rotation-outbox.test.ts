/**
 * A master-key rotation while messages wait in the outbox: the setup link an invitation carries is
 * sealed in the message under the master key, so the rotation must seal it again under the new
 * key, or the invitation could never be delivered (and the old key is gone).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { openInstallation, rotateMasterKey } from '../../src/installation.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { createTestInstallation, createUserWithPassword } from '../helpers/installation.js';
import { PASSWORD } from '../helpers/mfa.js';

const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };

describe.each(DATABASE_KINDS)('key rotation and the outbox [$name]', ({ name }) => {
  it('re-seals the secret of an undelivered message: after the rotation it opens and its link works', async () => {
    const inst = await createTestInstallation(name);
    let reopened: Awaited<ReturnType<typeof openInstallation>> | null = null;
    try {
      const { accountId } = await createUserWithPassword(inst, {
        accountName: 'acme',
        email: 'owner@acme.test',
        password: PASSWORD,
      });
      await inst.app.createUser({
        actor: { kind: 'operator' },
        ctx,
        accountId,
        email: 'invitee@acme.test',
        invite: true,
      });
      const [queued] = await inst.store.outbox.list({ accountId, pendingOnly: true, limit: 10 });
      const sealedBefore = queued!.payload.sealedSecret as string;
      expect(sealedBefore).toMatch(/^v1\./);

      const rotated = await rotateMasterKey(inst);
      expect(rotated.resealed).toBeGreaterThan(0);
      await inst.close();

      // Only the new key from here on.
      reopened = await openInstallation(
        loadConfig(
          { db: inst.fresh.url, dataDir: inst.fresh.dataDir },
          { HOLDFAST_LOG_LEVEL: 'silent', HOLDFAST_MASTER_KEY: rotated.newKeyForEnv! },
        ),
        { clock: inst.clock },
      );
      const [after] = await reopened.store.outbox.list({ accountId, pendingOnly: true, limit: 10 });
      const sealedAfter = after!.payload.sealedSecret as string;
      expect(sealedAfter).not.toBe(sealedBefore);
      expect(sealedAfter.startsWith(`v1.${rotated.newKeyId}.`)).toBe(true);
      const secret = Buffer.from(reopened.secretBox.open(sealedAfter, `outbox:${after!.id}`)).toString(
        'utf8',
      );
      const token = secret.includes('#token=') ? secret.slice(secret.indexOf('#token=') + 7) : secret;
      // The invitation's setup token still sets the invitee's password.
      const { principal } = await reopened.app.completeSetup({
        ctx,
        token,
        password: 'a long and unusual passphrase',
      });
      expect(principal.email).toBe('invitee@acme.test');
    } finally {
      await reopened?.close();
      await inst.fresh.cleanup();
    }
  });
});
