/**
 * Pools and reductions: MaxPool, AveragePool, GlobalAveragePool/GlobalMaxPool and
 * ReduceMean/ReduceSum/ReduceMax/ReduceMin (the rest of the Reduce family is in ops-reduce.test.ts).
 *
 * Each op on a small seeded model against real onnxruntime (no circom), with the tolerances of the
 * error model in support/op-check.ts (checkOp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxBuilder } from './support/onnx-builder.js';
import { LSB, dotTol, checkOp, shiftGroups, checkFolded } from './support/op-check.js';

test('MaxPool 2x2 s2, 3x3 s1 with pads, ceil_mode', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 2, 7, 7])
    .node('MaxPool', ['x'], ['a'], { kernel_shape: [2, 2], strides: [2, 2] })
    .node('MaxPool', ['x'], ['b'], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] })
    .node('MaxPool', ['x'], ['c'], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 })
    .node('MaxPool', ['x'], ['d'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 })
    .outputShapes({ a: [1, 2, 3, 3], b: [1, 2, 7, 7], c: [1, 2, 4, 4], d: [1, 2, 4, 4] })
    .build();
  // Max via shift-0 ReLUs: exact, only input rounding (2^-9).
  const { plan } = await checkOp(t, bytes, { tol: 1 * LSB });
  assert.ok(shiftGroups(plan).every((g) => g.shift === 0 && g.relu));
});

test('AveragePool count_include_pad 0 and 1 with pads', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 2, 7, 7])
    .node('AveragePool', ['x'], ['ex'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 0 })
    .node('AveragePool', ['x'], ['inc'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 })
    .node('AveragePool', ['x'], ['plain'], { kernel_shape: [2, 2], strides: [2, 2] })
    .outputShapes({ ex: [1, 2, 4, 4], inc: [1, 2, 4, 4], plain: [1, 2, 3, 3] })
    .build();
  // K ≤ 9 terms with coefficients 1/9 … 1/4 (|c| ≤ 0.25), each rounded to 2^-8.
  await checkFolded(t, bytes, dotTol(9, 0.25, 1, 1));
});

test('GlobalAveragePool and GlobalMaxPool', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 3, 4, 5])
    .node('GlobalAveragePool', ['x'], ['avg'])
    .node('GlobalMaxPool', ['x'], ['max'])
    .outputShapes({ avg: [1, 3, 1, 1], max: [1, 3, 1, 1] })
    .build();
  // Mean of 20: coefficient 1/20 rounded to 2^-8 (error 2^-9 each, on |x| ≤ 1) — K = 20 terms of
  // |c| = 0.05; max exact.
  const { plan } = await checkOp(t, bytes, { tol: dotTol(20, 0.05, 1, 1) });
  assert.ok(
    shiftGroups(plan).every((g) => g.shift === 0 && g.relu),
    'only the max costs gadgets',
  );
});

test('ReduceMean/ReduceSum/ReduceMax/ReduceMin with axes and keepdims 0/1', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .initializerInt64('lastAxis', [1], [-1])
    .node('ReduceMean', ['x'], ['mean'], { axes: [1], keepdims: 0 })
    .node('ReduceSum', ['x', 'lastAxis'], ['sum'], { keepdims: 1 }) // opset 13: axes as an input
    .node('ReduceSum', ['x'], ['sumAll'], { keepdims: 0 })
    .node('ReduceMax', ['x'], ['max'], { axes: [0, 2], keepdims: 1 })
    .node('ReduceMax', ['x'], ['maxLast'], { axes: [-1], keepdims: 0 })
    .node('ReduceMin', ['x'], ['min'], { keepdims: 0 }) // all axes → scalar
    .node('ReduceMin', ['x'], ['min1'], { axes: [1] })
    .outputShapes({ mean: [2, 4], sum: [2, 3, 1], sumAll: [], max: [1, 3, 1], maxLast: [2, 3], min: [], min1: [2, 1, 4] })
    .build();
  // Worst: the sum of all 24 elements, 24 rounded inputs (24 · 2^-9 = 12 LSB); the mean of 3 with
  // coefficient 1/3 rounded to 2^-8 is ≤ 3·(1/3 + 1)/2 LSB. Max/Min exact.
  const { plan } = await checkOp(t, bytes, { tol: dotTol(24, 0, 1, 1) });
  assert.ok(shiftGroups(plan).every((g) => g.shift === 0 && g.relu));
});

test('ReduceMean over 300 values of about 50: output forms keep 8 significant bits of 1/300', async (t) => {
  const bytes = new OnnxBuilder().input('x', [1, 1, 300]).node('ReduceMean', ['x'], ['y'], { keepdims: 0 }).output('y', []).build();
  // 1/300 kept to 8 significant bits is off by at most 2^-9 relative: ≤ 80·2^-9 ≈ 0.16 on a mean below 80
  // (compileModel's promise, 2^(4 − scale)·max(1, |output|), would allow 3.1).
  await checkOp(t, bytes, { tol: 80 * 2 ** -9, amp: 30, offset: 50 });
});
