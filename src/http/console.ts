import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ACTIONS } from '../app/actions.js';

/**
 * The built console. `src/http/console.ts` and `dist/http/console.js` both sit two levels below
 * the project root, so one relative URL finds `dist/console/` from either.
 */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/** Paths the console's client-side router owns; each answers the console's index.html. */
export const CONSOLE_PATHS = [
  '/',
  '/sign-in',
  '/setup',
  '/recover/*',
  '/enrol',
  '/security',
  '/admin',
  '/admin/*',
] as const;

/** Where the console's hashed build output is served from (Vite's `assetsDir`). */
export const CONSOLE_ASSET_PREFIX = '/assets/';

/** Content types of the files a Vite build emits; anything else is not served. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/**
 * One file name, no directory part: letters, digits, dot, dash and underscore, not starting with
 * a dot. Anything else (`..`, `/`, `%2f`, backslashes, NUL) is refused before touching the disk,
 * so no request can name a file outside the asset folder.
 */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Holdfast console not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>The Holdfast console was not built</h1>
<p>This server has no built web console. Run <code>npm run build</code> (it writes
<code>dist/console/</code>) and reload this page. The JSON API under <code>/v1</code> works meanwhile.</p>
</main></body></html>`;

/** Options of the console plugin. */
export interface ConsoleOptions {
  /** Folder holding the built console (index.html and assets/); defaults to `dist/console/`. */
  root?: string;
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/**
 * Serves the web console: index.html for `/` and the console's own paths, hashed assets under
 * `/assets/` with year-long immutable caching. When the console was not built, its pages answer a
 * 503 page saying so.
 */
export async function registerConsole(server: FastifyInstance, options: ConsoleOptions = {}): Promise<void> {
  const root = options.root ?? CONSOLE_DIR;
  const assets = join(root, 'assets');
  const routeConfig = { config: { action: ACTIONS.Public, auth: 'none' as const }, schema: { hide: true } };

  const sendIndex = async (reply: FastifyReply) => {
    let html: Buffer;
    try {
      // Read on every request: index.html is small, and a rebuild takes effect without a restart.
      html = await readFile(join(root, 'index.html'));
    } catch (err) {
      if (!isMissing(err)) throw err;
      return reply
        .status(503)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(NOT_BUILT_PAGE);
    }
    // index.html names the current hashed assets, so it must be revalidated on every load.
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html);
  };

  for (const path of CONSOLE_PATHS) {
    server.get(path, routeConfig, async (_request, reply) => sendIndex(reply));
  }

  server.get(`${CONSOLE_ASSET_PREFIX}*`, routeConfig, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const type = CONTENT_TYPES[extname(name)];
    if (!ASSET_NAME.test(name) || type === undefined) return reply.callNotFound();
    let body: Buffer;
    try {
      body = await readFile(join(assets, name));
    } catch (err) {
      if (isMissing(err)) return reply.callNotFound();
      throw err;
    }
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .type(type)
      .send(body);
  });
}

/** A loopback IP literal in a Host header (`127.0.0.1:8080`, `[::1]:8080`), with its port. */
const LOOPBACK_IP_HOST = /^(?:127(?:\.\d{1,3}){3}|\[::1\])(?::(\d{1,5}))?$/;

/**
 * Sends a browser that opened a console page at a loopback IP address (`http://127.0.0.1:PORT`)
 * to the same page on `http://localhost:PORT`. Browsers refuse an IP address as a WebAuthn
 * relying-party id (W3C WebAuthn Level 2 §5.1.3 step 7) and treat the two names as different
 * sites (cookies, passkeys), so the console lives on one origin. Only page loads move: a GET that
 * asks for HTML without credentials of its own; API calls, AWS clients and scripts are answered
 * where they are. The fragment of a setup link (`#token=…`) survives the redirect (browsers
 * carry it over when the new location has none, RFC 9110 §10.2.2), so the token never reaches
 * the server.
 */
export function loopbackPageRedirect(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  const host = request.headers.host ?? '';
  const match = LOOPBACK_IP_HOST.exec(host);
  if (match === null) return undefined;
  if (request.headers.authorization !== undefined) return undefined;
  if (!(request.headers.accept ?? '').includes('text/html')) return undefined;
  const path = request.url;
  if (path.startsWith('/v1/') || path === '/v1' || path.startsWith(CONSOLE_ASSET_PREFIX)) return undefined;
  const port = match[1] === undefined ? '' : `:${match[1]}`;
  return reply.header('cache-control', 'no-store').redirect(`http://localhost${port}${path}`, 307);
}
