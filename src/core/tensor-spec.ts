import type { DType } from '../onnx/graph.js';

/**
 * A tensor of a compiled model as every stage after quantization names it: a plan's input or output,
 * model.json's, a proof bundle's, a mock run's, the API's view.
 */
export interface TensorSpec {
  name: string;
  /** Row-major shape, symbolic dims sized. */
  dims: number[];
  dtype: DType;
  /** Fixed-point fraction bits: the real value is integer / 2^scale (src/core/fixed-point.ts). */
  scale: number;
}
