/**
 * The URL of an external OpenID Connect issuer as IAM CreateOpenIDConnectProvider takes it and as
 * STS AssumeRoleWithWebIdentity matches a token's `iss` against it: `https://host[:port][/path]`
 * without query, fragment or user information (OpenID Connect Discovery 1.0 §3: "a case-sensitive
 * URL using the https scheme that contains scheme, host, and optionally, port number and path
 * components and no query or fragment components"). Plain `http` is accepted for loopback hosts
 * only, so a test issuer can run on 127.0.0.1 without a certificate.
 */

/** A parsed issuer: its URL without a trailing slash and the part after the scheme. */
export interface IssuerUrl {
  /** `https://host[:port][/path]`, no trailing slash. */
  url: string;
  /** `host[:port][/path]`: what the provider ARN and the condition keys (`HOST:aud`) name. */
  hostPath: string;
}

/** True for a host name that stays on this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Parses an issuer URL; null when it is not one this server accepts. */
export function parseIssuerUrl(text: string): IssuerUrl | null {
  if (text.length < 1 || text.length > 255 || /[\s\p{Cc}]/u.test(text)) return null;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) return null;
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '') return null;
  if (text.includes('?') || text.includes('#')) return null;
  if (u.hostname === '') return null;
  const path = u.pathname.replace(/\/+$/, '');
  const hostPath = `${u.host}${path}`;
  return { url: `${u.protocol}//${hostPath}`, hostPath };
}
