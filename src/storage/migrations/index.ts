import type { Migration, MigrationProvider } from 'kysely';
import { migration0001 } from './0001-initial.js';
import { migration0002 } from './0002-factors.js';
import { migration0003 } from './0003-authorization.js';
import { migration0004 } from './0004-access-keys.js';
import { migration0005 } from './0005-webauthn.js';
import { migration0006 } from './0006-recovery.js';
import { migration0007 } from './0007-mfa-hardening.js';
import { migration0008 } from './0008-credential-binding.js';
import { migration0009 } from './0009-policy-lockout.js';
import { migration0010 } from './0010-throttles.js';
import { migration0011 } from './0011-audit-checkpoints.js';
import { migration0012 } from './0012-operations.js';
import { migration0013 } from './0013-single-use-tokens.js';
import { migration0014 } from './0014-role-sessions.js';
import { migration0015 } from './0015-iam-records.js';
import { migration0017 } from './0017-admin-lookup.js';
import { migration0018 } from './0018-oidc.js';
import { migration0019 } from './0019-oidc-identity-providers.js';
import { migration0020 } from './0020-alert-acknowledgement.js';
import { migration0021 } from './0021-audit-sealing.js';

/** Every migration in order; names sort lexically. The same set serves SQLite and PostgreSQL. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': migration0001,
  '0002-factors': migration0002,
  '0003-authorization': migration0003,
  '0004-access-keys': migration0004,
  '0005-webauthn': migration0005,
  '0006-recovery': migration0006,
  '0007-mfa-hardening': migration0007,
  '0008-credential-binding': migration0008,
  '0009-policy-lockout': migration0009,
  '0010-throttles': migration0010,
  '0011-audit-checkpoints': migration0011,
  '0012-operations': migration0012,
  '0013-single-use-tokens': migration0013,
  '0014-role-sessions': migration0014,
  '0015-iam-records': migration0015,
  '0017-admin-lookup': migration0017,
  '0018-oidc': migration0018,
  '0019-oidc-identity-providers': migration0019,
  '0020-alert-acknowledgement': migration0020,
  '0021-audit-sealing': migration0021,
};

/** A provider that reads the migrations from code (no file-system scan, works from dist/). */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};
