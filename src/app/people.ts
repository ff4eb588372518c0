/**
 * How administrators see people: by e-mail address (or, for a principal without a mailbox, its
 * user name), never by id alone. Pages look names up for a whole page of rows in one query.
 */

import type { Principal } from '../core/principals/types.js';
import type { AppDeps } from './deps.js';
import { hasNoMailAddress } from './users.js';

/** The name of one principal: their e-mail address, or the user name of one without a mailbox. */
export function personName(principal: Principal): string {
  return hasNoMailAddress(principal) ? principal.username : principal.email;
}

/** The names of the account's principals among these ids (others are left out), in one query. */
export async function peopleNamed(
  deps: AppDeps,
  accountId: string,
  ids: Iterable<string>,
): Promise<Map<string, string>> {
  const found = await deps.store.principals.findByIds(accountId, [...new Set(ids)]);
  return new Map(found.map((p) => [p.id, personName(p)]));
}
