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
