/** The first stage of the pipeline: an ONNX model as plain typed data, free of protobuf objects. */
import { ZkError } from '../core/errors.js';

/** Element types we distinguish; everything numeric is held as float64 in `data`. */
export type DType = 'float' | 'int' | 'bool';

/**
 * Our dtype of an ONNX element type (a TensorProto.DataType code): FLOAT, FLOAT16, DOUBLE, BFLOAT16
 * are 'float', BOOL 'bool', the integer types 'int'; undefined for the others (strings, complex,
 * float8, 4-bit), which callers refuse by name rather than take for integers.
 */
export function dtypeOfElemType(code: number): DType | undefined {
  if (code === 9) return 'bool';
  if ([1, 10, 11, 16].includes(code)) return 'float';
  return [2, 3, 4, 5, 6, 7, 12, 13].includes(code) ? 'int' : undefined;
}

/** A constant tensor (initializer, Constant node or folded value), row-major. */
export interface ConstTensor {
  dims: number[];
  dtype: DType;
  data: Float64Array;
  /** The ONNX element type (TensorProto.DataType), where the width matters (QuantizeLinear's zero point). */
  elemType?: number;
}

export type AttributeValue = number | number[] | string | string[] | ConstTensor;

export interface OnnxNode {
  /** The node's name, or a synthesized `opType_index` when the file has none. */
  name: string;
  opType: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface ValueInfo {
  name: string;
  /** Symbolic dimensions are 1 unless the user sets them (see resolveDims in src/model/prepare.ts). */
  dims: number[];
  dtype: DType;
  /** The declared element type, as onnxruntime names it ('float32', 'int32', 'uint8', 'bool'…). */
  elemType?: string;
  /** The name of each symbolic dimension ('' for a fixed one); absent when every dimension is fixed. */
  dimParams?: string[];
}

export interface OnnxGraph {
  name: string;
  opset: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, ConstTensor>;
  /** Nodes in topological order. */
  nodes: OnnxNode[];
}

export const sizeOf = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/**
 * Elements one tensor may hold: inputs, initializers and every intermediate tensor. The tracer keeps
 * an affine form of some hundred bytes per element (an input of 2^24 elements took 4.7 GB), and a
 * tensor this large is far beyond a circuit that can be proven anyway.
 */
export const MAX_ELEMENTS = 1 << 20;

/**
 * The element count of `dims`, refused before anything is allocated for it: ONNX_MALFORMED for a
 * dimension that is not a size, TOO_LARGE past MAX_ELEMENTS. `what` names the tensor in errors.
 */
export function boundedSize(dims: readonly number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ZkError('ONNX_MALFORMED', `${what}: dimension ${d} is not a size`, { dims: dims.slice(0, 8) });
    n *= d;
  }
  if (n > MAX_ELEMENTS) {
    throw new ZkError(
      'TOO_LARGE',
      `${what}: dims [${dims.slice(0, 8)}${dims.length > 8 ? ',…' : ''}] hold more than ${MAX_ELEMENTS} elements, the limit for one tensor`,
      { dims: dims.slice(0, 8), limit: MAX_ELEMENTS },
    );
  }
  return n;
}
