/**
 * The one error type of zkinfer. Every stage throws a ZkError with a code; the API maps codes to
 * HTTP statuses in one place (src/api/errors.ts) and the CLI prints `code: message`. Each code has
 * one meaning, written here and in the README's "Error codes" section, whose anchor `docs` names.
 */
export const ERROR_CODES = {
  ONNX_MALFORMED: 'the file is not a decodable ONNX model, or onnxruntime cannot load it',
  ONNX_UNSUPPORTED: 'an op, attribute or dtype zkinfer does not compile (every such node is named)',
  MODEL_INVALID: 'the model itself holds a value no circuit can carry: a constant that is not finite, a division by the constant 0',
  SHAPE_MISMATCH: 'shapes that do not agree (in the graph or in an input)',
  INPUT_INVALID: 'a request, option or input that is not what it must be: not JSON, not finite numbers, a bad option',
  INPUT_OUT_OF_RANGE: "an input value outside the circuit's calibrated range (found when the input is checked or proven)",
  RANGE_TOO_WIDE: 'compiling: a layer would need more range bits than the BN254 field holds; lower the scale',
  PTAU_INVALID: 'a powers-of-tau file that is malformed, fails verification or is too small',
  INACCURATE: "the quantized model's error on the calibration inputs exceeds the tolerance it states",
  COMPILE_FAILED: 'circom rejected the generated program',
  WITNESS_FAILED: 'the witness calculator rejected the input',
  PROOF_INVALID: 'a proof or its claimed output does not verify',
  ARTIFACT_MISSING: 'a compiled model directory lacks a file the step needs',
  NOT_FOUND: 'no such model, job, artifact or route',
  UNAUTHORIZED: 'a missing or wrong API key',
  FORBIDDEN: 'the resource exists but its owner did not make it available (e.g. proving artifacts)',
  TOO_LARGE: 'a body, model file or circuit over the configured limit',
  CONFLICT: 'the resource is not in a state that allows the request (model not ready, job finished)',
  QUEUE_FULL: 'the proof queue is at its limit; retry later',
  TIMEOUT: 'a job ran past its time limit',
  CANCELLED: 'a job was cancelled',
  WORKER_CRASHED: 'the worker running a job died (crash, out of memory)',
  UNAVAILABLE: 'the service is shutting down',
  STORAGE_FAILED: 'the data store cannot write now (database locked, disk full, read-only)',
  INTERNAL: 'a bug: anything thrown that is not a ZkError',
} as const satisfies Record<string, string>;

export type ZkErrorCode = keyof typeof ERROR_CODES;
export const ZK_ERROR_CODES = Object.keys(ERROR_CODES) as ZkErrorCode[];

/** Where the README explains a code: its heading in "Error codes" (GitHub's anchor of `#### Error CODE`). */
export const errorDocs = (code: ZkErrorCode): string => `README.md#error-${code.toLowerCase()}`;

export class ZkError extends Error {
  override readonly name = 'ZkError';
  /**
   * @param details machine-readable facts (the node, the index, the limit); they reach clients
   * @param options `cause`: the error this one explains (a library's, the OS's); kept for logs, never sent to clients
   */
  constructor(
    readonly code: ZkErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** The README anchor explaining this error's code. */
  get docs(): string {
    return errorDocs(this.code);
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
  /** The README anchor of the code (added where the error leaves for a client: src/api/errors.ts clientError). */
  docs?: string;
}

/** Anything thrown → ErrorBody; errors that are not ZkErrors are INTERNAL, with their message. */
export function errorBody(e: unknown): ErrorBody {
  if (isZkError(e)) return e.details === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, details: e.details };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export const fromErrorBody = (b: ErrorBody): ZkError => new ZkError(b.code, b.message, b.details);

/**
 * zod's failure as an INPUT_INVALID ZkError: `what`, the first issue's path and message; the first
 * five issues (and `details`) in details; zod's error as the cause. The one place zod errors become
 * ZkErrors (requests, bundles, openings, configuration).
 */
export function fromZodError(
  error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] },
  what: string,
  details: Record<string, unknown> = {},
): ZkError {
  const issue = error.issues[0];
  const at = issue?.path.length ? ` ${issue.path.map(String).join('.')}` : '';
  return new ZkError('INPUT_INVALID', `${what}${at}: ${issue?.message ?? 'invalid'}`, { ...details, issues: error.issues.slice(0, 5) }, { cause: error });
}

type SafeParse<T> = { safeParse(v: unknown): { success: true; data: T } | { success: false; error: Parameters<typeof fromZodError>[0] } };

/** `schema.safeParse(value)`'s data, or the failure as fromZodError's ZkError. */
export function parseOrThrow<T>(schema: SafeParse<T>, value: unknown, what: string, details?: Record<string, unknown>): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw fromZodError(parsed.error, what, details);
}
