import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { HoldfastError, type ErrorCode, type ErrorDetails } from '../core/errors.js';
import type { ParsePSKCResult, PSKCParser } from '../core/factors/pskc/parse-pskc.js';

export type { PSKCParser } from '../core/factors/pskc/parse-pskc.js';

const WORKER_URL = new URL('./pskc-worker.js', import.meta.url);

/** Parses in the calling thread (tests on TypeScript sources, where no compiled worker exists). */
export const parsePSKCInline: PSKCParser = async (options) => {
  const { parsePSKC } = await import('../core/factors/pskc/parse-pskc.js');
  return parsePSKC(options);
};

/**
 * Parses in a worker thread: parsing 10,000 tokens is ~1 s of CPU, which would otherwise stall
 * every request the server is handling. Errors come back as their Holdfast codes.
 */
export const parsePSKCInWorker: PSKCParser = (options) => {
  if (import.meta.url.endsWith('.ts')) return parsePSKCInline(options);
  return new Promise((resolve, reject) => {
    const worker = new Worker(fileURLToPath(WORKER_URL), { workerData: options });
    worker.once(
      'message',
      (
        message:
          | { ok: true; result: ParsePSKCResult }
          | { ok: false; code: ErrorCode; message: string; details?: ErrorDetails },
      ) => {
        if (message.ok) resolve(message.result);
        else
          reject(
            new HoldfastError(
              message.code,
              message.message,
              message.details ? { details: message.details } : undefined,
            ),
          );
        void worker.terminate();
      },
    );
    worker.once('error', (cause) =>
      reject(new HoldfastError('INTERNAL_ERROR', 'PSKC parser failed', { cause })),
    );
  });
};
