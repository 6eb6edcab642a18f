/**
 * The one error type of zkinfer. Every stage throws a ZkError with a code; the API maps codes to
 * HTTP statuses in one place and the CLI prints `code: message`.
 */
export type ZkErrorCode =
  | 'ONNX_MALFORMED' // the file is not a decodable ONNX model
  | 'ONNX_UNSUPPORTED' // an op, attribute or dtype we do not compile
  | 'SHAPE_MISMATCH' // shapes that do not agree (in the graph or in an input)
  | 'INPUT_INVALID' // an input that is not finite numbers of the right shape
  | 'INPUT_OUT_OF_RANGE' // a value that overflows the circuit's calibrated range
  | 'PTAU_INVALID' // a powers-of-tau file that is malformed, fails verification or is too small
  | 'COMPILE_FAILED' // circom rejected the generated program
  | 'WITNESS_FAILED' // the witness calculator rejected the input
  | 'PROOF_INVALID' // a proof or its claimed output does not verify
  | 'ARTIFACT_MISSING' // a compiled model directory lacks a file the step needs
  | 'NOT_FOUND'
  | 'UNAUTHORIZED' // a missing or wrong API key
  | 'FORBIDDEN' // the resource exists but its owner did not make it available (e.g. proving artifacts)
  | 'TOO_LARGE' // a body, model file or circuit over the configured limit
  | 'CONFLICT' // the resource is not in a state that allows the request (model not ready, job finished)
  | 'QUEUE_FULL' // the proof queue is at its limit; retry later
  | 'TIMEOUT' // a job ran past its time limit
  | 'CANCELLED' // a job was cancelled
  | 'WORKER_CRASHED' // the worker running a job died (crash, out of memory)
  | 'UNAVAILABLE' // the service is shutting down
  | 'INTERNAL';

export class ZkError extends Error {
  override readonly name = 'ZkError';
  constructor(
    readonly code: ZkErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function isZkError(e: unknown): e is ZkError {
  return e instanceof ZkError;
}

/** A ZkError as plain data: what the API returns, the store keeps and workers send across threads. */
export interface ErrorBody {
  code: ZkErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** Anything thrown → ErrorBody; errors that are not ZkErrors are INTERNAL, with their message. */
export function errorBody(e: unknown): ErrorBody {
  if (isZkError(e)) return e.details === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, details: e.details };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export const fromErrorBody = (b: ErrorBody): ZkError => new ZkError(b.code, b.message, b.details);
