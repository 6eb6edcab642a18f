/**
 * Data movement (Flatten, Reshape, Transpose, Squeeze/Unsqueeze, Concat, Slice, Pad, Gather on
 * constant indices, Split, Expand, Identity, Cast) and shape subgraphs folded to constants: every one
 * costs no gadget and is exact up to input rounding.
 *
 * Each op on a small seeded model against real onnxruntime (no circom), with the tolerances of the
 * error model in support/op-check.ts (checkOp).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { QuantizedGraph } from '../src/quantize/plan.js';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { LSB, checkFolded } from './support/op-check.js';

/** Data movement copies wires: the only error is the input's rounding, ≤ 2^-9. */
const MOVE_TOL = 1 * LSB;

const checkMovement = (t: TestContext, bytes: Uint8Array, tol = MOVE_TOL): Promise<QuantizedGraph> => checkFolded(t, bytes, tol);

test('Flatten (axis 2 and default)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 2, 2])
    .node('Flatten', ['x'], ['a'], { axis: 2 })
    .node('Flatten', ['x'], ['b'])
    .node('Flatten', ['x'], ['c'], { axis: -1 })
    .outputShapes({ a: [6, 4], b: [2, 12], c: [12, 2] })
    .build();
  await checkMovement(t, bytes);
});

test('Reshape with 0 and -1', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .initializerInt64('s1', [2], [0, -1])
    .initializerInt64('s2', [3], [-1, 0, 2])
    .initializerInt64('s3', [4], [4, 1, -1, 3])
    .node('Reshape', ['x', 's1'], ['a'])
    .node('Reshape', ['x', 's2'], ['b'])
    .node('Reshape', ['x', 's3'], ['c'])
    .outputShapes({ a: [2, 12], b: [4, 3, 2], c: [4, 1, 2, 3] })
    .build();
  await checkMovement(t, bytes);
});

test('Transpose (perm and default reversal)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 2, 3, 4])
    .node('Transpose', ['x'], ['a'], { perm: [0, 2, 1, 3] })
    .node('Transpose', ['x'], ['b'])
    .node('Transpose', ['x'], ['c'], { perm: [3, 1, 0, 2] })
    .outputShapes({ a: [1, 3, 2, 4], b: [4, 3, 2, 1], c: [4, 2, 1, 3] })
    .build();
  await checkMovement(t, bytes);
});

test('Squeeze/Unsqueeze with opset-13 axes inputs', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 3, 1, 4])
    .initializerInt64('sq', [2], [0, -2])
    .initializerInt64('unsq', [2], [0, -1])
    .node('Squeeze', ['x', 'sq'], ['a'])
    .node('Squeeze', ['x'], ['b']) // no axes: every 1
    .node('Unsqueeze', ['a', 'unsq'], ['c'])
    .outputShapes({ a: [3, 4], b: [3, 4], c: [1, 3, 4, 1] })
    .build();
  await checkMovement(t, bytes);
});

test('Concat on axis 1 and a negative axis, with a constant part', async (t) => {
  const rng = mulberry32(71);
  const bytes = new OnnxBuilder()
    .input('x', [2, 3])
    .input('y', [2, 2])
    .initializer('k', [2, 1], randomTensor(rng, [2, 1], 1))
    .node('Concat', ['x', 'y', 'k'], ['a'], { axis: 1 })
    .node('Concat', ['y', 'x'], ['b'], { axis: -1 })
    .node('Concat', ['x', 'x'], ['c'], { axis: -2 })
    .outputShapes({ a: [2, 6], b: [2, 5], c: [4, 3] })
    .build();
  await checkMovement(t, bytes);
});

test('Slice with steps and negative indices', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [4, 6])
    .initializerInt64('st1', [2], [0, -1])
    .initializerInt64('en1', [2], [4, -100])
    .initializerInt64('ax1', [2], [0, 1])
    .initializerInt64('sp1', [2], [2, -2])
    .initializerInt64('st2', [1], [-3])
    .initializerInt64('en2', [1], [1000])
    .initializerInt64('ax2', [1], [-1])
    .initializerInt64('st3', [1], [-1])
    .initializerInt64('en3', [1], [-(2 ** 53) + 1]) // "to the start" (ONNX uses INT64_MIN-ish sentinels)
    .initializerInt64('sp3', [1], [-1])
    .initializerInt64('st4', [1], [1])
    .initializerInt64('en4', [1], [-1])
    .node('Slice', ['x', 'st1', 'en1', 'ax1', 'sp1'], ['a']) // rows 0,2; cols 5,3,1
    .node('Slice', ['x', 'st2', 'en2', 'ax2'], ['b']) // cols 3..5
    .node('Slice', ['x', 'st3', 'en3', 'ax2', 'sp3'], ['c']) // cols reversed
    .node('Slice', ['x', 'st4', 'en4'], ['d']) // axes default [0]: rows 1..2
    .outputShapes({ a: [2, 3], b: [4, 3], c: [4, 6], d: [2, 6] })
    .build();
  await checkMovement(t, bytes);
});

test('Slice with a negative step and a start before the axis clamps the start to 0', async (t) => {
  // ONNX: for negative steps, starts are clamped to [0, dim − 1], ends to [−1, dim − 1].
  const bytes = new OnnxBuilder()
    .input('x', [2, 5])
    .initializerInt64('st', [1], [-100])
    .initializerInt64('en', [1], [-200])
    .initializerInt64('ax', [1], [1])
    .initializerInt64('sp', [1], [-1])
    .node('Slice', ['x', 'st', 'en', 'ax', 'sp'], ['y']) // element 0 only
    .output('y', [2, 1])
    .build();
  await checkMovement(t, bytes);
});

test('Pad constant with value, edge, reflect', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .initializerInt64('pads', [6], [0, 1, 2, 0, 2, 1])
    .initializer('value', [], [0.5])
    .node('Pad', ['x', 'pads', 'value'], ['c'])
    .node('Pad', ['x', 'pads'], ['z']) // constant 0
    .node('Pad', ['x', 'pads'], ['e'], { mode: 'edge' })
    .node('Pad', ['x', 'pads'], ['r'], { mode: 'reflect' })
    .outputShapes({ c: [2, 6, 7], z: [2, 6, 7], e: [2, 6, 7], r: [2, 6, 7] })
    .build();
  await checkMovement(t, bytes);
});

test('Gather on constant indices (axis 0, axis 1, 2-D and scalar indices, negative)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [3, 4])
    .initializerInt64('i1', [3], [2, 0, -1])
    .initializerInt64('i2', [2, 2], [0, 3, 1, -4])
    .initializerInt64('i0', [], [2])
    .node('Gather', ['x', 'i1'], ['a'])
    .node('Gather', ['x', 'i2'], ['b'], { axis: 1 })
    .node('Gather', ['x', 'i0'], ['c'], { axis: -1 })
    .outputShapes({ a: [3, 4], b: [3, 2, 2], c: [3] })
    .build();
  await checkMovement(t, bytes);
});

test('Split (sizes input, and equal parts)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 6])
    .initializerInt64('sizes', [3], [1, 2, 3])
    .node('Split', ['x', 'sizes'], ['a', 'b', 'c'], { axis: 1 })
    .node('Split', ['x'], ['top', 'bottom'])
    .node('Split', ['x'], ['p', 'q', 'r'], { axis: -1 })
    .outputShapes({ a: [2, 1], b: [2, 2], c: [2, 3], top: [1, 6], bottom: [1, 6], p: [2, 2], q: [2, 2], r: [2, 2] })
    .build();
  await checkMovement(t, bytes);
});

test('Expand (bidirectional broadcast)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [3, 1])
    .initializerInt64('shape', [3], [2, 3, 4])
    .initializerInt64('small', [2], [1, 1])
    .node('Expand', ['x', 'shape'], ['a'])
    .node('Expand', ['x', 'small'], ['b']) // a smaller shape keeps x's
    .outputShapes({ a: [2, 3, 4], b: [3, 1] })
    .build();
  await checkMovement(t, bytes);
});

test('Identity and Cast (float→float, int input→float)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 3])
    .input('n', [2, 3], 'int64')
    .initializer('half', [], [0.5])
    .initializer('frac', [], [0.3])
    .node('Identity', ['x'], ['a'])
    .node('Cast', ['x'], ['b'], { to: 1 })
    .node('Cast', ['n'], ['nf'], { to: 1 })
    .node('Mul', ['nf', 'half'], ['nh'])
    .node('Add', ['nh', 'frac'], ['c']) // n/2 + 0.3: the bias needs fraction bits on an integer wire
    .node('Add', ['nf', 'x'], ['d'])
    .outputShapes({ a: [2, 3], b: [2, 3], c: [2, 3], d: [2, 3] })
    .build();
  // Integers enter exactly; 0.3 rounded to 2^-8 (2^-9), x rounded (2^-9).
  await checkMovement(t, bytes, 1 * LSB);
});

test('Shape→Gather→Unsqueeze→Concat→Reshape folds to constants: no gadget', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .initializerInt64('zero', [], [0])
    .initializerInt64('axes0', [1], [0])
    .initializerInt64('minusOne', [1], [-1])
    .node('Shape', ['x'], ['s'])
    .node('Gather', ['s', 'zero'], ['batch'], { axis: 0 })
    .node('Unsqueeze', ['batch', 'axes0'], ['batch1'])
    .node('Concat', ['batch1', 'minusOne'], ['target'], { axis: 0 })
    .node('Reshape', ['x', 'target'], ['y'])
    .output('y', [2, 12])
    .output('s', [3], 'int64')
    .output('target', [2], 'int64')
    .build();
  const plan = await checkMovement(t, bytes);
  assert.deepEqual(plan.outputs[0].dims, [2, 12]);
});

test('integer Div on folded shapes truncates like onnxruntime', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .initializerInt64('one', [], [1])
    .initializerInt64('two', [1], [2])
    .initializerInt64('minusOne', [1], [-1])
    .node('Shape', ['x'], ['s'])
    .node('Gather', ['s', 'one'], ['c'], { axis: 0 }) // 3
    .node('Div', ['s', 'two'], ['halves']) // [1, 1, 2]
    .node('Div', ['c', 'two'], ['half']) // 3 / 2 = 1
    .node('Mul', ['s', 'minusOne'], ['neg']) // [-2, -3, -4]
    .node('Div', ['neg', 'two'], ['negHalves']) // truncation toward zero: [-1, -1, -2]
    .output('halves', [3], 'int64')
    .output('half', [1], 'int64')
    .output('negHalves', [3], 'int64')
    .build();
  await checkMovement(t, bytes);
});
