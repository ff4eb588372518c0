import { parentPort, workerData } from 'node:worker_threads';
import { isHoldfastError } from '../core/errors.js';
import { parsePSKC, type ParsePSKCOptions } from '../core/factors/pskc/parse-pskc.js';

// Worker body for parsePSKCInWorker: parse once, post the result or the error's code.
try {
  const result = parsePSKC(workerData as ParsePSKCOptions);
  parentPort!.postMessage({ ok: true, result });
} catch (err) {
  if (isHoldfastError(err))
    parentPort!.postMessage({ ok: false, code: err.code, message: err.message, details: err.details });
  else
    parentPort!.postMessage({
      ok: false,
      code: 'PSKC_MALFORMED',
      message: 'the PSKC file could not be parsed',
    });
}
