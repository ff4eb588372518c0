/**
 * The signing keys of an external OpenID Connect provider (one registered with IAM
 * CreateOpenIDConnectProvider), for STS AssumeRoleWithWebIdentity: its discovery document
 * (`ISSUER/.well-known/openid-configuration`, OpenID Connect Discovery 1.0 §4) names the
 * `jwks_uri`, whose JWK Set verifies the ID token. Each fetch has a timeout and a size limit, both
 * URLs must be https (http only on a loopback host), the discovery document must name the same
 * issuer (Discovery §4.3), and the keys are kept per process for a short while; a token signed
 * with a key id the cached set lacks triggers one early refetch (the provider rotated), at most
 * once per minute per issuer.
 */

import { isLoopbackHost } from '../../core/oidc/issuer-url.js';
import type { JSONWebKeySet } from 'jose';

/** How long fetched keys are used before they are fetched again. */
export const JWKS_TTL_MS = 5 * 60_000;
/** The earliest refetch for an unknown key id. */
const REFETCH_AFTER_MS = 60_000;
/** Time allowed for each of the two requests. */
const FETCH_TIMEOUT_MS = 5_000;
/** Largest discovery document or JWK Set read. */
const MAX_BYTES = 64 * 1024;
/** Most keys kept of one set. */
const MAX_KEYS = 50;

/** The provider could not be reached, or answered something that is not usable. */
export class RemoteKeysError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteKeysError';
  }
}

interface Entry {
  jwks: JSONWebKeySet;
  fetchedAt: number;
}

const cache = new Map<string, Entry>();
const inflight = new Map<string, Promise<Entry>>();

function allowedUrl(text: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new RemoteKeysError('not a URL');
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
    throw new RemoteKeysError('not an https URL');
  }
  if (u.username !== '' || u.password !== '') throw new RemoteKeysError('URL with credentials');
  return u;
}

async function fetchJson(url: URL): Promise<unknown> {
  const res = await fetch(url, {
    redirect: 'error',
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    headers: { accept: 'application/json' },
  });
  if (res.status !== 200 || res.body === null) throw new RemoteKeysError(`HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_BYTES) throw new RemoteKeysError('response too large');
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BYTES) {
      await reader.cancel();
      throw new RemoteKeysError('response too large');
    }
    chunks.push(value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new RemoteKeysError('response is not JSON');
  }
}

async function load(issuer: string, now: number): Promise<Entry> {
  const discovery = await fetchJson(allowedUrl(`${issuer}/.well-known/openid-configuration`));
  if (typeof discovery !== 'object' || discovery === null)
    throw new RemoteKeysError('bad discovery document');
  const meta = discovery as Record<string, unknown>;
  const named = typeof meta['issuer'] === 'string' ? meta['issuer'].replace(/\/+$/, '') : null;
  if (named !== issuer) throw new RemoteKeysError('discovery document names another issuer');
  if (typeof meta['jwks_uri'] !== 'string') throw new RemoteKeysError('no jwks_uri');
  const set = await fetchJson(allowedUrl(meta['jwks_uri']));
  const keys = (set as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new RemoteKeysError('bad JWK Set');
  // Public signing keys only: a set that carries private members or encryption keys is refused
  // key by key, never used.
  const usable = keys
    .filter(
      (k): k is Record<string, unknown> =>
        typeof k === 'object' &&
        k !== null &&
        typeof (k as Record<string, unknown>)['kty'] === 'string' &&
        (k as Record<string, unknown>)['d'] === undefined &&
        ((k as Record<string, unknown>)['use'] === undefined ||
          (k as Record<string, unknown>)['use'] === 'sig'),
    )
    .slice(0, MAX_KEYS);
  if (usable.length === 0) throw new RemoteKeysError('no signing key');
  return { jwks: { keys: usable as unknown as JSONWebKeySet['keys'] }, fetchedAt: now };
}

/**
 * The JWK Set of `issuer` (`https://host[/path]`, no trailing slash). `kid`: the key id the token
 * names, so a set that lacks it is fetched again once the refetch interval allows.
 */
export async function remoteKeys(input: {
  issuer: string;
  kid: string | undefined;
  now: number;
}): Promise<JSONWebKeySet> {
  const cached = cache.get(input.issuer);
  const fresh = cached !== undefined && input.now - cached.fetchedAt < JWKS_TTL_MS;
  const knowsKid =
    cached !== undefined && (input.kid === undefined || cached.jwks.keys.some((k) => k.kid === input.kid));
  if (fresh && (knowsKid || input.now - cached.fetchedAt < REFETCH_AFTER_MS)) return cached.jwks;
  let pending = inflight.get(input.issuer);
  if (pending === undefined) {
    pending = load(input.issuer, input.now).finally(() => inflight.delete(input.issuer));
    inflight.set(input.issuer, pending);
  }
  try {
    const entry = await pending;
    cache.set(input.issuer, entry);
    return entry.jwks;
  } catch (err) {
    throw err instanceof RemoteKeysError ? err : new RemoteKeysError('the provider could not be reached');
  }
}

/** Forgets every cached key set (tests). */
export function forgetRemoteKeys(): void {
  cache.clear();
}
