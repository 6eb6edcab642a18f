/** The first stage of the pipeline: an ONNX model as plain typed data, free of protobuf objects. */

/** Element types we distinguish; everything numeric is held as float64 in `data`. */
export type DType = 'float' | 'int' | 'bool';

/** A constant tensor (initializer, Constant node or folded value), row-major. */
export interface ConstTensor {
  dims: number[];
  dtype: DType;
  data: Float64Array;
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
