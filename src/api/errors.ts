/**
 * The one place where errors become HTTP responses: every ZkError code has its status here (the
 * Record type makes a new code a compile error until it is mapped), and errors raised by Express's
 * body parsers and multer are translated to ZkErrors first.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { type ErrorBody, errorBody, errorDocs, isZkError, ZkError, type ZkErrorCode } from '../core/errors.js';
import { storageFault } from '../store/faults.js';

export const HTTP_STATUS: Record<ZkErrorCode, number> = {
  ONNX_MALFORMED: 400,
  ONNX_UNSUPPORTED: 422,
  MODEL_INVALID: 422,
  SHAPE_MISMATCH: 400,
  INPUT_INVALID: 400,
  INPUT_OUT_OF_RANGE: 400,
  RANGE_TOO_WIDE: 422,
  PTAU_INVALID: 500,
  INACCURATE: 422,
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
  STORAGE_FAILED: 503,
  INTERNAL: 500,
};

/** body-parser's errors carry `type` (http-errors); multer's are MulterErrors with a `code`. */
function toZkError(e: unknown): ZkError {
  if (isZkError(e)) return e;
  const fault = storageFault(e);
  if (fault) return fault;
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

/**
 * A server file path in an error (a stage's message naming a ptau, an upload, a build directory,
 * onnxruntime's own sources) keeps only its last segment: clients learn nothing of the server's
 * layout. API paths (/v1/..., any version) are the client's own and stay. The one path scrubber: every error a
 * client sees passes clientError.
 */
const FILE_PATH = /(?<![\w.])(?:\/(?!v\d+\/)[^\s'"`:,;()[\]/\\]+)+\/([^\s'"`:,;()[\]/\\]+)/g;

/**
 * An error as a client may see it: server paths reduced to their file names (see FILE_PATH), and
 * `docs`, the README anchor explaining its code.
 */
export function clientError(body: ErrorBody): ErrorBody {
  const scrubbed = JSON.parse(JSON.stringify(body).replace(FILE_PATH, '…/$1')) as ErrorBody;
  return { ...scrubbed, docs: errorDocs(body.code) };
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const zk = toZkError(err);
  const status = HTTP_STATUS[zk.code];
  if (status >= 500) req.log.error({ err }, 'request failed');
  if (zk.code === 'QUEUE_FULL') res.set('Retry-After', String(zk.details?.retryAfterSeconds ?? 1));
  if (zk.code === 'UNAUTHORIZED') res.set('WWW-Authenticate', 'Bearer');
  // type() first: a handler may have set another content type before it threw.
  res
    .status(status)
    .type('application/json')
    .json({ error: clientError(errorBody(zk)) });
};

export const notFound: RequestHandler = (req) => {
  throw new ZkError('NOT_FOUND', `no route ${req.method} ${req.path}`);
};
