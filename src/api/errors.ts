/**
 * The one place where errors become HTTP responses: every ZkError code has its status here (the
 * Record type makes a new code a compile error until it is mapped), and errors raised by Express's
 * body parsers and multer are translated to ZkErrors first.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { errorBody, isZkError, ZkError, type ZkErrorCode } from '../core/errors.js';

export const HTTP_STATUS: Record<ZkErrorCode, number> = {
  ONNX_MALFORMED: 400,
  ONNX_UNSUPPORTED: 422,
  SHAPE_MISMATCH: 400,
  INPUT_INVALID: 400,
  INPUT_OUT_OF_RANGE: 400,
  PTAU_INVALID: 500,
  COMPILE_FAILED: 422,
  WITNESS_FAILED: 422,
  PROOF_INVALID: 400,
  ARTIFACT_MISSING: 500,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  TOO_LARGE: 413,
  CONFLICT: 409,
  QUEUE_FULL: 429,
  TIMEOUT: 504,
  CANCELLED: 409,
  WORKER_CRASHED: 500,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** body-parser's errors carry `type` (http-errors); multer's are MulterErrors with a `code`. */
function toZkError(e: unknown): ZkError {
  if (isZkError(e)) return e;
  if (e instanceof multer.MulterError) {
    const tooLarge = e.code === 'LIMIT_FILE_SIZE' || e.code === 'LIMIT_FIELD_VALUE' || e.code === 'LIMIT_PART_COUNT';
    return new ZkError(tooLarge ? 'TOO_LARGE' : 'INPUT_INVALID', `upload rejected: ${e.message}${e.field ? ` (${e.field})` : ''}`);
  }
  const http = e as { type?: string; status?: number; message?: string; limit?: number };
  if (http.type === 'entity.too.large') return new ZkError('TOO_LARGE', `the request body is over the limit of ${http.limit} bytes`, { limit: http.limit });
  if (http.type === 'entity.parse.failed') return new ZkError('INPUT_INVALID', `the body is not valid JSON: ${http.message}`);
  if (typeof http.status === 'number' && http.status >= 400 && http.status < 500) return new ZkError('INPUT_INVALID', http.message ?? 'bad request');
  return new ZkError('INTERNAL', 'internal error');
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const zk = toZkError(err);
  const status = HTTP_STATUS[zk.code];
  if (status >= 500) req.log.error({ err }, 'request failed');
  if (zk.code === 'QUEUE_FULL') res.set('Retry-After', String(zk.details?.retryAfterSeconds ?? 1));
  if (zk.code === 'UNAUTHORIZED') res.set('WWW-Authenticate', 'Bearer');
  // type() first: a handler may have set another content type before it threw.
  res.status(status).type('application/json').json({ error: errorBody(zk) });
};

export const notFound: RequestHandler = (req) => {
  throw new ZkError('NOT_FOUND', `no route ${req.method} ${req.path}`);
};
