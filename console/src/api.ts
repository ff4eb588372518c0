/**
 * The console's one way to the JSON API under /v1. Cookie-authenticated writes carry the
 * session's CSRF token in X-CSRF-Token (the server checks it; see docs/errors.md
 * AUTH_CSRF_FAILED). Error bodies (`{"error": {"code", "message", "requestId"}}`) become
 * `ApiError`s, and a call refused with MFA_STEP_UP_REQUIRED is retried once after the step-up
 * handler (the dialog) succeeds.
 */

/** Cookie the server sets next to the HttpOnly session cookie, readable by this script. */
const CSRF_COOKIE = 'holdfast_csrf';

/** An error answer of the API, by code (clients act on the code, never on the message). */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly requestId: string | null;
  readonly details: Record<string, unknown>;

  constructor(input: {
    code: string;
    status: number;
    message: string;
    requestId?: string | null;
    details?: Record<string, unknown>;
  }) {
    super(input.message);
    this.name = 'ApiError';
    this.code = input.code;
    this.status = input.status;
    this.requestId = input.requestId ?? null;
    this.details = input.details ?? {};
  }
}

/** Whether a value is an ApiError with one of the given codes. */
export function isApiError(err: unknown, ...codes: string[]): err is ApiError {
  return err instanceof ApiError && (codes.length === 0 || codes.includes(err.code));
}

/** Asks the user to verify a factor again; resolves true when the session was stepped up. */
export type StepUpHandler = () => Promise<boolean>;

let stepUpHandler: StepUpHandler | null = null;
let csrfFallback: string | null = null;
let unauthorisedHandler: (() => void) | null = null;

/** Installs the step-up dialog. */
export function onStepUpRequired(handler: StepUpHandler): void {
  stepUpHandler = handler;
}

/** Installs what happens when the session is gone (the router sends the user to sign-in). */
export function onSessionLost(handler: () => void): void {
  unauthorisedHandler = handler;
}

/** Remembers the CSRF token a sign-in or GET /v1/session answered (used if the cookie is unreadable). */
export function rememberCSRFToken(token: string | null): void {
  csrfFallback = token;
}

function csrfToken(): string | null {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return csrfFallback;
}

/** Options of one API call. */
export interface CallOptions {
  /** Query parameters; undefined and empty values are left out. */
  query?: Record<string, string | number | undefined>;
  /** Do not open the step-up dialog (the dialog's own calls). */
  noStepUp?: boolean;
}

const SAFE = new Set(['GET', 'HEAD']);

async function send(method: string, path: string, body: unknown, options: CallOptions): Promise<unknown> {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (!SAFE.has(method)) {
    const token = csrfToken();
    if (token !== null) headers['x-csrf-token'] = token;
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError({ code: 'NETWORK_ERROR', status: 0, message: 'the server could not be reached' });
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (res.ok) return parsed;
  const error = (parsed as { error?: Record<string, unknown> } | null)?.error;
  if (error && typeof error.code === 'string') {
    const { code, message, requestId, ...details } = error;
    throw new ApiError({
      code,
      status: res.status,
      message: typeof message === 'string' ? message : code,
      requestId: typeof requestId === 'string' ? requestId : null,
      details,
    });
  }
  throw new ApiError({ code: `HTTP_${res.status}`, status: res.status, message: res.statusText });
}

/** One API call; answers the parsed JSON body (null for 204). */
export async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  options: CallOptions = {},
): Promise<T> {
  try {
    return (await send(method, path, body, options)) as T;
  } catch (err) {
    if (isApiError(err, 'MFA_STEP_UP_REQUIRED') && !options.noStepUp && stepUpHandler !== null) {
      // Retried once: a second refusal reaches the page as an ordinary error.
      if (await stepUpHandler()) return (await send(method, path, body, options)) as T;
    }
    if (isApiError(err, 'AUTH_SESSION_REQUIRED', 'AUTH_SESSION_INVALID') && unauthorisedHandler !== null) {
      unauthorisedHandler();
    }
    throw err;
  }
}

/** GET. */
export const get = <T>(path: string, options?: CallOptions) => call<T>('GET', path, undefined, options);
/** POST with a JSON body. */
export const post = <T>(path: string, body?: unknown, options?: CallOptions) =>
  call<T>('POST', path, body, options);
/** PATCH with a JSON body. */
export const patch = <T>(path: string, body: unknown) => call<T>('PATCH', path, body);
/** DELETE. */
export const del = <T = null>(path: string) => call<T>('DELETE', path);

/** Encodes one path segment (ids and serials come from the server but are never trusted as paths). */
export const seg = (value: string) => encodeURIComponent(value);
