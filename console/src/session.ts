import { ApiError, get, rememberCSRFToken } from './api.js';
import type { CurrentSession } from './types.js';

let current: CurrentSession | null = null;

/** Roles that see the admin pages (the server decides what each may actually do). */
const ADMIN_ROLES = new Set(['owner', 'admin', 'helpdesk']);

/** Reloads the signed-in session from GET /v1/session; null when signed out. */
export async function loadSession(): Promise<CurrentSession | null> {
  try {
    current = await get<CurrentSession>('/v1/session');
    rememberCSRFToken(current.csrfToken);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    current = null;
    rememberCSRFToken(null);
  }
  return current;
}

/** The session last loaded. */
export function currentSession(): CurrentSession | null {
  return current;
}

/** Forgets the session (after sign-out or when the server says it ended). */
export function forgetSession(): void {
  current = null;
  rememberCSRFToken(null);
}

/** Whether the signed-in user may see the admin pages. */
export function isAdmin(): boolean {
  return current !== null && ADMIN_ROLES.has(current.user.role);
}
