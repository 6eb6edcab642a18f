/**
 * Arithmetic and normalization ops built from existing gadgets, each against onnxruntime (Swish, new
 * in opset 24, against the ONNX reference of the operator suite): Mod, CastLike, Mean, Swish,
 * Hardmax, Shrink, ThresholdedRelu, LpNormalization, RMSNormalization, MeanVarianceNormalization,
 * GroupNormalization, QuantizeLinear and DequantizeLinear. No new gadget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZkError } from '../src/core/errors.js';
import { loadOnnx } from '../src/onnx/load.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { NODE_SUITE, checkAgainstOrt, runCase } from './support/op-check.js';

const LSB = 2 ** -8;
const unary = (op: string, attrs: Record<string, number> = {}, opset = 13, dims = [2, 3, 4]) =>
  new OnnxBuilder({ opset }).input('x', dims).node(op, ['x'], ['y'], attrs).output('y').build();

test('Mod: computed integer and float dividends modulo ±2^k (fmod 0 and 1); other divisors of a computed dividend are refused by name', async () => {
  for (const fmod of [0, 1]) {
    const ints = new OnnxBuilder({ opset: 13 })
      .input('a', [6], 'int64')
      .initializerInt64('b', [6], [2, -2, 4, -4, 8, 1])
      .node('Mod', ['a', 'b'], ['y'], { fmod })
      .output('y', undefined, 'int64');
    await checkAgainstOrt(ints.build(), { tol: 0 });
  }
  const floats = new OnnxBuilder({ opset: 13 })
    .input('a', [8])
    .initializer('b', [8], [0.5, -0.5, 0.25, 1, 2, -2, 0.5, 1])
    .node('Mod', ['a', 'b'], ['y'], { fmod: 1 })
    .output('y');
  await checkAgainstOrt(floats.build(), { tol: LSB, amp: 3 });
  const odd = new OnnxBuilder({ opset: 13 }).input('a', [2]).initializer('b', [2], [3, 3]).node('Mod', ['a', 'b'], ['y'], { fmod: 1 }).output('y');
  assert.throws(
    () => quantizeGraph(loadOnnx(odd.build()), { scale: 8 }),
    (e: unknown) => e instanceof ZkError && /modulo 3/.test(e.message),
  );
});

test('CastLike takes the type of its second input; Mean of three broadcast inputs', async () => {
  const castLike = new OnnxBuilder({ opset: 15 })
    .input('x', [6])
    .initializerInt64('like', [1], [0])
    .node('CastLike', ['x', 'like'], ['y'])
    .output('y', undefined, 'int64');
  await checkAgainstOrt(castLike.build(), { tol: 0, amp: 4 });
  const mean = new OnnxBuilder({ opset: 13 }).input('a', [2, 3]).input('b', [3]).input('c', [2, 1]).node('Mean', ['a', 'b', 'c'], ['y']).output('y');
  await checkAgainstOrt(mean.build(), { tol: 2 * LSB });
});

test('Swish (opset 24) as the ONNX reference computes it', () => {
  const dir = join(NODE_SUITE, 'test_swish');
  const expected = (JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8')) as { output_data: number[][] }).output_data[0];
  const { outputs } = runCase(dir);
  outputs[0].forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 4 * LSB, `y[${i}]: ${v} vs ${expected[i]}`));
});

test('Hardmax along the last axis (opset 13) and over flattened axes (opset 11), after a linear layer', async () => {
  await checkAgainstOrt(unary('Hardmax', {}, 13), { tol: 0 });
  await checkAgainstOrt(unary('Hardmax', { axis: 1 }, 11), { tol: 0 });
  const rng = mulberry32(5);
  const afterGemm = new OnnxBuilder({ opset: 13 })
    .input('x', [3, 4])
    .initializer('w', [4, 5], randomTensor(rng, [4, 5], 1))
    .initializer('b', [5], randomTensor(rng, [5], 1))
    .node('Gemm', ['x', 'w', 'b'], ['s'])
    .node('Hardmax', ['s'], ['y'])
    .output('y');
  await checkAgainstOrt(afterGemm.build(), { tol: 0 });
});

test("ArgMax right after a Gemm (off-grid coefficients and bias) gives onnxruntime's class (it gave class 2 for 0 before its scores were put on the grid)", async () => {
  const b = new OnnxBuilder({ opset: 13 })
    .input('x', [1, 4])
    .initializer('w', [4, 3], [-1, 0.5, 0.5, 1.1, -0.3, -0.8, -1.7, -0.2, 1.9, -1.6, -0.7, 2.3])
    .initializer('c', [3], [-0.2, 1.9, -1.7])
    .node('Gemm', ['x', 'w', 'c'], ['s'])
    .node('ArgMax', ['s'], ['y'], { axis: 1, keepdims: 0 })
    .output('y', [1], 'int64');
  await checkAgainstOrt(b.build(), { tol: 0, samples: [[[-0.578512, 0.195652, -4.140351, -0.763359]]] });
  await checkAgainstOrt(b.build(), { tol: 0, amp: 3 });
});

test('Shrink (soft and hard) and ThresholdedRelu', async () => {
  await checkAgainstOrt(unary('Shrink', { lambd: 0.5, bias: 0.5 }), { tol: LSB, amp: 2 });
  await checkAgainstOrt(unary('Shrink', { lambd: 0.75 }), { tol: LSB, amp: 2 });
  await checkAgainstOrt(unary('ThresholdedRelu', { alpha: 0.25 }, 13), { tol: LSB, amp: 2 });
});

test('LpNormalization p = 2 and p = 1 along an axis', async () => {
  await checkAgainstOrt(unary('LpNormalization', { axis: -1, p: 2 }), { tol: 6 * LSB, amp: 2 });
  await checkAgainstOrt(unary('LpNormalization', { axis: 1, p: 1 }), { tol: 2 * LSB, offset: 1.5 });
});

test('RMSNormalization (opset 23) over the last axis and the last two, with a scale', async () => {
  for (const axis of [-1, 1]) {
    const rng = mulberry32(axis + 5);
    const inner = axis === -1 ? [4] : [3, 4];
    const b = new OnnxBuilder({ opset: 23, irVersion: 10 })
      .input('x', [2, 3, 4])
      .initializer('g', inner, randomTensor(rng, inner, 1))
      .node('RMSNormalization', ['x', 'g'], ['y'], { axis })
      .output('y');
    await checkAgainstOrt(b.build(), { tol: 8 * LSB });
  }
});

test('MeanVarianceNormalization (default axes) and GroupNormalization (opset 21)', async () => {
  await checkAgainstOrt(unary('MeanVarianceNormalization', {}, 13, [2, 3, 2, 2]), { tol: 12 * LSB });
  const rng = mulberry32(11);
  const g = new OnnxBuilder({ opset: 21, irVersion: 10 })
    .input('x', [2, 4, 3])
    .initializer('s', [4], randomTensor(rng, [4], 1))
    .initializer('b', [4], randomTensor(rng, [4], 1))
    .node('GroupNormalization', ['x', 's', 'b'], ['y'], { num_groups: 2 })
    .output('y');
  await checkAgainstOrt(g.build(), { tol: 12 * LSB });
});

test('DequantizeLinear per tensor and per axis is linear (no gadget)', async () => {
  const b = new OnnxBuilder({ opset: 13 }).input('q', [2, 3], 'int64').initializer('s', [3], [0.5, 0.25, 0.125]).initializerOf('z', 'int32', [3], [1, -2, 0]);
  const model = b.node('Cast', ['q'], ['q32'], { to: 6 }).node('DequantizeLinear', ['q32', 's', 'z'], ['y'], { axis: 1 }).output('y').build();
  const { plan } = await checkAgainstOrt(model, { tol: 0 });
  assert.equal(plan.groups.length, 0);
});

test('QuantizeLinear (uint8 and int8 zero points, per axis) then DequantizeLinear: a QDQ pair as onnxruntime', async () => {
  for (const [type, zero] of [
    ['uint8', 128],
    ['int8', -3],
  ] as const) {
    const b = new OnnxBuilder({ opset: 13 })
      .input('x', [2, 3])
      .initializer('s', [3], [0.02, 0.05, 0.1])
      .initializerOf('z', type === 'uint8' ? 'uint8' : 'int8', [3], [zero, 0, zero]);
    const model = b
      .node('QuantizeLinear', ['x', 's', 'z'], ['q'], { axis: 1 })
      .node('DequantizeLinear', ['q', 's', 'z'], ['y'], { axis: 1 })
      .output('y')
      .build();
    // |x| up to 4 saturates int8 at scale 0.02 (range ±2.5): the clamp is part of what is checked. One quantum (0.1) covers a tie rounded the other way.
    await checkAgainstOrt(model, { tol: 0.1 + LSB, amp: 4 });
  }
});
