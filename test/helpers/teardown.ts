/**
 * Teardown that cannot hang a suite: a browser that does not exit, or keep-alive connections a
 * browser leaves open to the test server, are cut after a grace period instead of waited for.
 */
import type { FastifyInstance } from 'fastify';

/** Resolves when `work` settles or after `ms`, whichever comes first (errors are swallowed). */
export async function settleWithin(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (work === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Closes a listening Fastify server, dropping idle and open connections first. */
export async function closeServer(server: FastifyInstance | undefined): Promise<void> {
  if (server === undefined) return;
  server.server.closeAllConnections();
  await settleWithin(server.close(), 10_000);
}
