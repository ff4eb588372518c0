import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_CODES, HoldfastError, isHoldfastError, type ErrorCode } from '../../core/errors.js';
import { HTTP_STATUS } from '../error-status.js';

/** Database faults (storage/faults.ts): answered 503 with Retry-After, never as an internal error. */
const STORAGE_FAULTS: ReadonlySet<ErrorCode> = new Set([
  'STORAGE_UNAVAILABLE',
  'STORAGE_FULL',
  'STORAGE_READ_ONLY',
]);
/** How long a client should wait before retrying after a database fault. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

/** Translates Fastify's own errors (parsing, validation, limits) into Holdfast codes. */
function fromFastify(err: FastifyError): HoldfastError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HoldfastError('REQUEST_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HoldfastError('REQUEST_UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HoldfastError('REQUEST_MALFORMED');
    case 'FST_ERR_VALIDATION':
      return new HoldfastError(
        'REQUEST_INVALID',
        `${err.validationContext ?? 'request'}${err.message.replace(/^[a-z]+/, '')}`,
      );
  }
  if (err.validation !== undefined) return new HoldfastError('REQUEST_INVALID', err.message);
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
    return new HoldfastError('REQUEST_MALFORMED', 'the body is not valid JSON');
  }
  return null;
}

/** The one error shape: `{"error": {"code", "message", "requestId"}}` (plus non-secret details). */
export function registerErrorHandling(server: FastifyInstance): void {
  server.setErrorHandler((err: FastifyError, request, reply) => {
    const known = isHoldfastError(err) ? err : fromFastify(err);
    const error = known ?? new HoldfastError('INTERNAL_ERROR');
    const storage = STORAGE_FAULTS.has(error.code);
    if (known === null || storage) {
      request.log.error({ err }, 'request failed');
    }
    const status = HTTP_STATUS[error.code];
    if (error.code === 'AUTH_THROTTLED' && typeof error.details?.retryAfterSeconds === 'number') {
      void reply.header('retry-after', String(error.details.retryAfterSeconds));
    }
    // A database that is gone, busy, full or read-only is a temporary condition (RFC 9110 §10.2.3).
    if (storage) void reply.header('retry-after', String(STORAGE_RETRY_AFTER_SECONDS));
    // INTERNAL_ERROR never echoes the underlying message: it could carry anything.
    const message = known === null ? ERROR_CODES.INTERNAL_ERROR : error.message;
    return reply.status(status).send({
      error: { code: error.code, message, requestId: request.id, ...(error.details ?? {}) },
    });
  });
  server.setNotFoundHandler((request, reply) => {
    const code: ErrorCode = 'REQUEST_ROUTE_NOT_FOUND';
    return reply
      .status(HTTP_STATUS[code])
      .send({ error: { code, message: ERROR_CODES[code], requestId: request.id } });
  });
}
