/**
 * Small ONNX models that more than one test file builds (the examples users see are in
 * scripts/example-models.ts): each from a seed, so every file sees the same bytes.
 */
import { OnnxBuilder, mulberry32, randomTensor } from './onnx-builder.js';

/**
 * `input` [1, inputs] → Gemm (transB, `units` outputs, weights and bias uniform in ±amp) → `h` → Relu
 * → `output` [1, units]: one range-checked ReLU per unit over every input.
 */
export function gemmRelu({ seed, inputs, units, amp }: { seed: number; inputs: number; units: number; amp: number }): Uint8Array {
  const rng = mulberry32(seed);
  return new OnnxBuilder()
    .input('input', [1, inputs])
    .initializer('W', [units, inputs], randomTensor(rng, [units, inputs], amp))
    .initializer('B', [units], randomTensor(rng, [units], amp))
    .node('Gemm', ['input', 'W', 'B'], ['h'], { transB: 1 })
    .node('Relu', ['h'], ['output'])
    .output('output', [1, units])
    .build();
}

/**
 * A two-level decision tree walked by computed indices, the shape of hummingbird's tree traversal
 * (next = 2·node + [x > threshold[node]]): from `x` [1, 1], node = 1 + [x > t0], `leafIdx` =
 * 2·[x > t0] + [x > t[node]] (0..3), `value` = leaves[leafIdx]. Returns the builder without outputs so
 * a test can read `value`, `leafIdx`, `c0` ([x > 0.1] as int64) or `root` (the int64 [0]) further.
 */
export function treeWalk(): OnnxBuilder {
  return new OnnxBuilder()
    .input('x', [1, 1])
    .initializerInt64('root', [1], [0])
    .initializer('thresholds', [3], [0.1, -0.3, 0.45])
    .initializerInt64('two', [], [2])
    .initializerInt64('one', [], [1])
    .initializer('leaves', [4], [-1.5, 0.25, 2, 3.75])
    .node('Gather', ['thresholds', 'root'], ['t0'])
    .node('Greater', ['x', 't0'], ['g0'])
    .node('Cast', ['g0'], ['c0'], { to: 7 })
    .node('Add', ['c0', 'one'], ['n1']) // node 1 or 2
    .node('Gather', ['thresholds', 'n1'], ['t1'])
    .node('Unsqueeze', ['t1', 'root'], ['t1u'])
    .node('Greater', ['x', 't1u'], ['g1'])
    .node('Cast', ['g1'], ['c1'], { to: 7 })
    .node('Mul', ['c0', 'two'], ['c0x2'])
    .node('Add', ['c0x2', 'c1'], ['leaf']) // 0..3
    .node('Squeeze', ['leaf', 'root'], ['leafIdx'])
    .node('Gather', ['leaves', 'leafIdx'], ['value']);
}

/** x [1, 4] → MatMul ×≈0.001 → Relu → MatMul ×≈1000 → y [1, 1]: the small weight vanishes at 8 fraction bits inside a range check. */
export function smallWeights(): Uint8Array {
  return new OnnxBuilder()
    .input('x', [1, 4])
    .initializer('W1', [4, 2], [0.001, 0.002, 0.0015, 0.001, 0.002, 0.001, 0.001, 0.0025])
    .initializer('W2', [2, 1], [1000, 800])
    .node('MatMul', ['x', 'W1'], ['h'])
    .node('Relu', ['h'], ['r'])
    .node('MatMul', ['r', 'W2'], ['y'])
    .output('y', [1, 1])
    .build();
}

/** Three calibration samples for smallWeights. */
export const SMALL_WEIGHTS_SAMPLES = [[[1, 0.5, -0.25, 0.8]], [[0.3, 0.9, 0.6, -0.4]], [[-0.7, 0.2, 1, 0.6]]];
