import type { Migration, MigrationProvider } from 'kysely';
import { migration0001 } from './0001-initial.js';
import { migration0002 } from './0002-factors.js';
import { migration0003 } from './0003-authorization.js';
import { migration0004 } from './0004-access-keys.js';
import { migration0005 } from './0005-webauthn.js';
import { migration0006 } from './0006-recovery.js';

/** Every migration in order; names sort lexically. The same set serves SQLite and PostgreSQL. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': migration0001,
  '0002-factors': migration0002,
  '0003-authorization': migration0003,
  '0004-access-keys': migration0004,
  '0005-webauthn': migration0005,
  '0006-recovery': migration0006,
};

/** A provider that reads the migrations from code (no file-system scan, works from dist/). */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};
