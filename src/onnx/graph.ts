/** The first stage of the pipeline: an ONNX model as plain typed data, free of protobuf objects. */

/** Element types we distinguish; everything numeric is held as float64 in `data`. */
export type DType = 'float' | 'int' | 'bool';

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
  /** Symbolic dimensions (batch) are resolved to 1. */
  dims: number[];
  dtype: DType;
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
