/**
 * Relu, LeakyRelu, PRelu and Clip: ReLU gadgets (shift groups), exact when no bits are dropped.
 *
 * Each op on a small seeded model against real onnxruntime (no circom), with the tolerances of the
 * error model in support/op-check.ts (checkOp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { LSB, dotTol, checkOp, shiftGroups } from './support/op-check.js';
import { gemmRelu } from './support/models.js';

test('Relu on an input: one shift-0 ReLU group', async (t) => {
  const bytes = new OnnxBuilder().input('x', [2, 5]).node('Relu', ['x'], ['y']).output('y', [2, 5]).build();
  // Exact but for input rounding (2^-9).
  const { plan } = await checkOp(t, bytes, { tol: 1 * LSB });
  assert.equal(plan.groups.length, 1);
  const g = shiftGroups(plan)[0];
  assert.ok(g.relu);
  assert.equal(g.shift, 0);
});

test('Relu after Gemm makes exactly one shift group with relu=true', async (t) => {
  const bytes = gemmRelu({ seed: 51, inputs: 4, units: 3, amp: 1 });
  // K = 4 terms, then one rounding shift (2^-9).
  const { plan } = await checkOp(t, bytes, { tol: dotTol(4, 1, 1, 1) });
  assert.equal(plan.groups.length, 1);
  const g = plan.groups[0];
  assert.equal(g.kind, 'shift');
  assert.ok(g.kind === 'shift' && g.relu && g.shift === 8 && g.inputs.length === 3, JSON.stringify({ ...g, inputs: undefined }));
  assert.equal(g.op, 'Relu');
});

test('LeakyRelu alpha 0.1', async (t) => {
  const bytes = new OnnxBuilder().input('x', [2, 6]).node('LeakyRelu', ['x'], ['y'], { alpha: 0.1 }).output('y', [2, 6]).build();
  // y = 0.1·x + 0.9·relu(x): two rounded coefficients (2^-9 each) on |x| ≤ 1, plus input rounding.
  const { plan } = await checkOp(t, bytes, { tol: 2 * LSB });
  assert.equal(plan.groups.length, 1);
});

test('PRelu with a per-channel slope [C,1,1]', async (t) => {
  const rng = mulberry32(52);
  const bytes = new OnnxBuilder()
    .input('x', [1, 3, 4, 4])
    .initializer('slope', [3, 1, 1], randomTensor(rng, [3, 1, 1], 0.5))
    .node('PRelu', ['x', 'slope'], ['y'])
    .output('y', [1, 3, 4, 4])
    .build();
  // As LeakyRelu: coefficients α and 1 − α rounded to 2^-9 each.
  const { plan } = await checkOp(t, bytes, { tol: 2 * LSB });
  assert.equal(plan.groups.length, 1);
});

test('Clip (opset 13) with min and max inputs, only min, only max', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [3, 5])
    .initializer('lo', [], [-0.5])
    .initializer('hi', [], [0.6])
    .node('Clip', ['x', 'lo', 'hi'], ['both'])
    .node('Clip', ['x', 'lo'], ['onlyMin'])
    .node('Clip', ['x', '', 'hi'], ['onlyMax'])
    .outputShapes({ both: [3, 5], onlyMin: [3, 5], onlyMax: [3, 5] })
    .build();
  // Shift-0 ReLUs are exact; input rounding and the bound 0.6 rounded to 2^-8 (≤ 2^-9 each).
  const { plan } = await checkOp(t, bytes, { tol: 1 * LSB });
  assert.equal(plan.groups.length, 4, 'two ReLUs for [lo, hi], one for each one-sided clip');
});
