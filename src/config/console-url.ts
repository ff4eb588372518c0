import type { Config } from './config.js';

/**
 * Whether a listening host or a Host header names this machine's loopback interface (or every
 * interface): `localhost`, any 127.0.0.0/8 address, `::1`, `0.0.0.0` or `::`. Such a server is
 * reached at `http://localhost:PORT` by a browser on the same machine.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    bare === 'localhost' ||
    bare === '::1' ||
    bare === '::' ||
    bare === '0.0.0.0' ||
    /^127(\.\d{1,3}){3}$/.test(bare)
  );
}

/**
 * The base URL people are given for the console, setup links and links in messages. A configured
 * `HOLDFAST_PUBLIC_URL` wins. Without one, a server on a loopback or wildcard address is given as
 * `http://localhost:PORT`: browsers accept WebAuthn on plain http only for `localhost`, and refuse
 * an IP address as relying-party id (W3C WebAuthn Level 2 §5.1.3 step 7), so `127.0.0.1` would
 * break passkeys. Any other host is given as it listens.
 */
export function consoleBaseUrl(
  config: Pick<Config, 'publicUrl' | 'host' | 'port' | 'tlsCert'>,
  port: number = config.port,
): string {
  if (config.publicUrl !== null) return config.publicUrl.replace(/\/+$/, '');
  const scheme = config.tlsCert !== null && config.tlsCert !== undefined ? 'https' : 'http';
  const host = isLoopbackHost(config.host) ? 'localhost' : config.host;
  const shown = host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${shown}:${port}`;
}

/**
 * Whether console pages asked for at a loopback IP address should be sent to the same port on
 * `localhost`: only when no public URL is configured and every WebAuthn origin is on `localhost`
 * (an operator who set their own origins chose their own address).
 */
export function redirectsLoopbackToLocalhost(config: Pick<Config, 'publicUrl' | 'webauthn'>): boolean {
  return (
    config.publicUrl === null &&
    config.webauthn.origins.length > 0 &&
    config.webauthn.origins.every((origin) => new URL(origin).hostname === 'localhost')
  );
}
