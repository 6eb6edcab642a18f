/**
 * Gemm, MatMul, Conv and BatchNormalization: constant weights fold into linear forms (no gadget);
 * a product of two computed operands is the product gadget.
 *
 * Each op on a small seeded model against real onnxruntime (no circom), with the tolerances of the
 * error model in support/op-check.ts (checkOp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { LSB, dotTol, checkOp, shiftGroups, productGroups, uniform, checkFolded } from './support/op-check.js';

const f = OnnxBuilder.float;

test('Gemm transA/transB, alpha 0.5, beta 2, bias [n] broadcast', async (t) => {
  const rng = mulberry32(11);
  const bytes = new OnnxBuilder()
    .input('a', [4, 3]) // transA: A is [k, m]
    .initializer('B', [5, 4], randomTensor(rng, [5, 4], 1)) // transB: B is [n, k]
    .initializer('C', [5], randomTensor(rng, [5], 1))
    .node('Gemm', ['a', 'B', 'C'], ['y'], { transA: 1, transB: 1, alpha: 0.5, beta: f(2) })
    .output('y', [3, 5])
    .build();
  // K = 4 terms with folded coefficients alpha·w ≤ 0.5 and |x| ≤ 1; beta·C is rounded at 2^-16.
  const { plan } = await checkOp(t, bytes, { tol: dotTol(4, 0.5, 1, 1) });
  assert.equal(plan.groups.length, 0, 'a linear graph costs no gadget');
});

test('Gemm bias [m,1] broadcast, and Gemm without C (alpha 1.5)', async (t) => {
  const rng = mulberry32(12);
  const bytes = new OnnxBuilder()
    .input('a', [2, 6])
    .initializer('B', [6, 3], randomTensor(rng, [6, 3], 1))
    .initializer('C', [2, 1], randomTensor(rng, [2, 1], 1))
    .node('Gemm', ['a', 'B', 'C'], ['y1'], { beta: 0.25 })
    .node('Gemm', ['a', 'B'], ['y2'], { alpha: 1.5 })
    .outputShapes({ y1: [2, 3], y2: [2, 3] })
    .build();
  // K = 6 terms, coefficients up to alpha·|w| ≤ 1.5.
  await checkFolded(t, bytes, dotTol(6, 1.5, 1, 1));
});

test('Gemm with both operands computed uses one product group', async (t) => {
  const bytes = new OnnxBuilder().input('a', [2, 3]).input('b', [3, 2]).node('Gemm', ['a', 'b'], ['y'], { alpha: 0.5 }).output('y', [2, 2]).build();
  // K = 3 products, each ≤ 2^-9·(|a| + |b|) = 2^-8, then alpha 0.5 (exact).
  const { plan } = await checkOp(t, bytes, { tol: dotTol(3, 1, 1, 1) });
  assert.equal(plan.groups.length, 1);
  assert.equal(productGroups(plan)[0].a.length, 12);
});

test('MatMul 2-D and 1-D operands with a constant weight', async (t) => {
  const rng = mulberry32(21);
  const bytes = new OnnxBuilder()
    .input('x', [3, 4])
    .input('v', [4])
    .initializer('W', [4, 5], randomTensor(rng, [4, 5], 1))
    .initializer('L', [3, 4], randomTensor(rng, [3, 4], 1))
    .node('MatMul', ['x', 'W'], ['y'])
    .node('MatMul', ['v', 'W'], ['yv']) // [4]·[4,5] → [5]
    .node('MatMul', ['L', 'v'], ['lv']) // [3,4]·[4] → [3]
    .outputShapes({ y: [3, 5], yv: [5], lv: [3] })
    .build();
  // K = 4 terms, |w|, |x| ≤ 1.
  await checkFolded(t, bytes, dotTol(4, 1, 1, 1));
});

test('MatMul batched 3-D, constant on the right and on the left (broadcast batch)', async (t) => {
  const rng = mulberry32(22);
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .initializer('W', [4, 5], randomTensor(rng, [4, 5], 1))
    .initializer('L', [3, 3], randomTensor(rng, [3, 3], 1))
    .initializer('LB', [2, 2, 3], randomTensor(rng, [2, 2, 3], 1))
    .node('MatMul', ['x', 'W'], ['right']) // [2,3,4]·[4,5] → [2,3,5]
    .node('MatMul', ['L', 'x'], ['left']) // [3,3]·[2,3,4] → [2,3,4]
    .node('MatMul', ['LB', 'x'], ['leftBatched']) // [2,2,3]·[2,3,4] → [2,2,4]
    .outputShapes({ right: [2, 3, 5], left: [2, 3, 4], leftBatched: [2, 2, 4] })
    .build();
  // At most K = 4 terms.
  await checkFolded(t, bytes, dotTol(4, 1, 1, 1));
});

test('MatMul with both operands computed: product gadgets, batch broadcast', async (t) => {
  const bytes = new OnnxBuilder()
    .input('a', [2, 3, 4])
    .input('b', [2, 4, 2])
    .input('c', [4, 3])
    .node('MatMul', ['a', 'b'], ['y']) // [2,3,2]
    .node('MatMul', ['a', 'c'], ['z']) // [2,3,3] with c broadcast over the batch
    .outputShapes({ y: [2, 3, 2], z: [2, 3, 3] })
    .build();
  // K = 4 products, each ≤ 2^-9·(|a| + |b|) ≤ 2^-8.
  const { plan } = await checkOp(t, bytes, { tol: dotTol(4, 1, 1, 1) });
  assert.equal(shiftGroups(plan).length, 0, 'scale-8 operands need no rescale');
  assert.deepEqual(
    productGroups(plan).map((g) => g.a.length),
    [2 * 3 * 2 * 4, 2 * 3 * 3 * 4],
  );
});

test('MatMul of two computed operands finer than the working scale rescales each element once', async (t) => {
  const rng = mulberry32(23);
  const bytes = new OnnxBuilder()
    .input('x', [2, 3])
    .input('y', [3, 4])
    .initializer('A', [3, 3], randomTensor(rng, [3, 3], 1))
    .initializer('B', [4, 4], randomTensor(rng, [4, 4], 1))
    .node('MatMul', ['x', 'A'], ['xa']) // scale 16
    .node('MatMul', ['y', 'B'], ['yb']) // scale 16
    .node('MatMul', ['xa', 'yb'], ['z'])
    .output('z', [2, 4])
    .build();
  // Each operand element: K = 3 folded terms (≤ 3 LSB, then a rescale of 0.5 LSB), |values| ≤ 3; the
  // product of two such: ≤ 3·(3.5 + 3.5) LSB per term, 3 terms.
  const { plan } = await checkOp(t, bytes, { tol: 3 * 3 * 7 * LSB });
  assert.deepEqual(
    shiftGroups(plan).map((g) => g.kind === 'shift' && g.inputs.length),
    [6, 12],
    'one rescale per element of xa (2×3) and yb (3×4), not per product',
  );
  assert.equal(productGroups(plan)[0].kind === 'product' && productGroups(plan)[0].a.length, 24);
});

test('Conv 2-D stride 2, pads, bias', async (t) => {
  const rng = mulberry32(31);
  const bytes = new OnnxBuilder()
    .input('x', [1, 3, 7, 7])
    .initializer('W', [4, 3, 3, 3], randomTensor(rng, [4, 3, 3, 3], 1))
    .initializer('B', [4], randomTensor(rng, [4], 1))
    .node('Conv', ['x', 'W', 'B'], ['y'], { strides: [2, 2], pads: [1, 1, 1, 1], kernel_shape: [3, 3] })
    .output('y', [1, 4, 4, 4])
    .build();
  // K = 3 channels × 3×3 taps = 27 terms, |w|, |x| ≤ 1.
  await checkFolded(t, bytes, dotTol(27, 1, 1, 1));
});

test('Conv 2-D dilation 2, groups 2, asymmetric pads, bias', async (t) => {
  const rng = mulberry32(32);
  const bytes = new OnnxBuilder()
    .input('x', [1, 4, 8, 8])
    .initializer('W', [6, 2, 3, 3], randomTensor(rng, [6, 2, 3, 3], 1))
    .initializer('B', [6], randomTensor(rng, [6], 1))
    .node('Conv', ['x', 'W', 'B'], ['y'], { dilations: [2, 2], group: 2, pads: [2, 1, 2, 0] })
    .output('y', [1, 6, 8, 5])
    .build();
  // K = 2 channels per group × 9 taps = 18 terms.
  await checkFolded(t, bytes, dotTol(18, 1, 1, 1));
});

test('Conv 1-D stride 2 asymmetric pads, and SAME_UPPER without bias', async (t) => {
  const rng = mulberry32(33);
  const bytes = new OnnxBuilder()
    .input('x', [1, 3, 10])
    .initializer('W', [2, 3, 3], randomTensor(rng, [2, 3, 3], 1))
    .initializer('B', [2], randomTensor(rng, [2], 1))
    .node('Conv', ['x', 'W', 'B'], ['y'], { strides: [2], pads: [1, 2] })
    .node('Conv', ['x', 'W'], ['z'], { strides: [3], auto_pad: 'SAME_UPPER' })
    .outputShapes({ y: [1, 2, 6], z: [1, 2, 4] })
    .build();
  // K = 3 channels × 3 taps = 9 terms.
  await checkFolded(t, bytes, dotTol(9, 1, 1, 1));
});

test('BatchNormalization alone folds to an affine map', async (t) => {
  const rng = mulberry32(41);
  const bytes = new OnnxBuilder()
    .input('x', [1, 3, 4, 4])
    .initializer('gamma', [3], randomTensor(rng, [3], 1))
    .initializer('beta', [3], randomTensor(rng, [3], 1))
    .initializer('mean', [3], randomTensor(rng, [3], 0.5))
    .initializer('var', [3], uniform(rng, 3, 0.5, 1.5))
    .node('BatchNormalization', ['x', 'gamma', 'beta', 'mean', 'var'], ['y'], { epsilon: 1e-3 })
    .output('y', [1, 3, 4, 4])
    .build();
  // One term per element; coefficient γ/√(σ²+ε) ≤ 1/√0.5 ≈ 1.42.
  await checkFolded(t, bytes, dotTol(1, 1.42, 1, 1));
});

test('Conv then BatchNormalization folds into the convolution: no gadget', async (t) => {
  const rng = mulberry32(42);
  const bytes = new OnnxBuilder()
    .input('x', [1, 2, 5, 5])
    .initializer('W', [3, 2, 3, 3], randomTensor(rng, [3, 2, 3, 3], 1))
    .initializer('gamma', [3], randomTensor(rng, [3], 1))
    .initializer('beta', [3], randomTensor(rng, [3], 1))
    .initializer('mean', [3], randomTensor(rng, [3], 0.5))
    .initializer('var', [3], uniform(rng, 3, 0.5, 1.5))
    .node('Conv', ['x', 'W'], ['c'], { pads: [1, 1, 1, 1] })
    .node('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['y'])
    .output('y', [1, 3, 5, 5])
    .build();
  // K = 18 terms with folded coefficients w·γ/√(σ²+ε) ≤ 1.42.
  await checkFolded(t, bytes, dotTol(18, 1.42, 1, 1));
});
