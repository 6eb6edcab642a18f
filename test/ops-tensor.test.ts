/**
 * Constant-only subgraphs folded at compile time (Range, EyeLike, NonZero), Trilu as a mask, Einsum
 * as sums of products, and the data-movement ops (DepthToSpace/SpaceToDepth, GatherND/ScatterND,
 * CumSum), each against onnxruntime. Also the einsum_trilu_range case with onnxruntime's value.
 * No new gadget (Einsum of two computed operands is the product gadget).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ZkError } from '../src/core/errors.js';
import { loadOnnx } from '../src/onnx/load.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { CASES, checkAgainstOrt, runCase } from './support/op-check.js';

const LSB = 2 ** -8;

test('Range on constants folds (no gadget); the result feeds a Gather', async () => {
  const b = new OnnxBuilder({ opset: 14 })
    .input('x', [4, 2])
    .initializerInt64('start', [], [3])
    .initializerInt64('limit', [], [-1])
    .initializerInt64('delta', [], [-1])
    .node('Range', ['start', 'limit', 'delta'], ['idx'])
    .node('Gather', ['x', 'idx'], ['y'], { axis: 0 })
    .output('y');
  const { plan } = await checkAgainstOrt(b.build(), { tol: LSB });
  assert.equal(plan.groups.length, 0);
});

test('Range with a computed bound is refused by name', () => {
  const b = new OnnxBuilder({ opset: 14 })
    .input('n', [], 'int64')
    .initializerInt64('start', [], [0])
    .initializerInt64('delta', [], [1])
    .node('Range', ['start', 'n', 'delta'], ['y'])
    .output('y', undefined, 'int64');
  assert.throws(
    () => quantizeGraph(loadOnnx(b.build()), { scale: 8 }),
    (e: unknown) => e instanceof ZkError && e.code === 'ONNX_UNSUPPORTED' && /Range.*limit/.test(e.message),
  );
});

test('Trilu upper and lower with k on a computed input, and on a constant (folded)', async () => {
  for (const [upper, k] of [
    [1, 0],
    [0, -1],
    [1, 2],
    [0, 1],
  ]) {
    const b = new OnnxBuilder({ opset: 14 }).input('x', [2, 3, 4]).initializerInt64('k', [], [k]).node('Trilu', ['x', 'k'], ['y'], { upper }).output('y');
    await checkAgainstOrt(b.build(), { tol: LSB });
  }
});

test('EyeLike (k, dtype) and NonZero of a constant fold', async () => {
  const b = new OnnxBuilder({ opset: 14 })
    .input('x', [3, 4])
    .initializer('shape', [3, 4], new Array(12).fill(0))
    .node('EyeLike', ['shape'], ['eye'], { k: 1 })
    .node('Mul', ['x', 'eye'], ['y'])
    .initializer('c', [2, 3], [0, 1, 0, 2, 0, 3])
    .node('NonZero', ['c'], ['nz'])
    .output('y')
    .output('nz', undefined, 'int64');
  await checkAgainstOrt(b.build(), { tol: LSB });
});

test('Einsum: attention scores (two computed operands), a constant projection, transpose, trace, ellipsis, implicit output', async () => {
  const rng = mulberry32(3);
  const twoComputed = new OnnxBuilder({ opset: 14 })
    .input('q', [2, 3, 4])
    .input('k', [2, 5, 4])
    .node('Einsum', ['q', 'k'], ['y'], { equation: 'bid,bjd->bij' })
    .output('y');
  await checkAgainstOrt(twoComputed.build(), { tol: 4 * LSB });
  const projection = new OnnxBuilder({ opset: 14 })
    .input('x', [2, 3, 4])
    .initializer('w', [4, 5], randomTensor(rng, [4, 5], 1))
    .node('Einsum', ['x', 'w'], ['y'], { equation: '...i,ij->...j' })
    .output('y');
  const { plan } = await checkAgainstOrt(projection.build(), { tol: 4 * LSB });
  assert.equal(plan.groups.length, 0, 'a constant operand folds');
  for (const [equation, dims] of [
    ['ij->ji', [3, 4]],
    ['ii', [3, 3]],
    ['bii->bi', [2, 3, 3]],
    ['ij,jk', [3, 3]],
  ] as const) {
    const b = new OnnxBuilder({ opset: 14 }).input('x', dims);
    const ops = equation.includes(',') ? ['x', 'x'] : ['x'];
    await checkAgainstOrt(b.node('Einsum', ops, ['y'], { equation }).output('y').build(), { tol: 4 * LSB });
  }
});

test('DepthToSpace (DCR, CRD) and SpaceToDepth are index maps', async () => {
  for (const mode of ['DCR', 'CRD']) {
    await checkAgainstOrt(
      new OnnxBuilder({ opset: 13 }).input('x', [1, 8, 2, 3]).node('DepthToSpace', ['x'], ['y'], { blocksize: 2, mode }).output('y').build(),
      { tol: LSB },
    );
  }
  await checkAgainstOrt(new OnnxBuilder({ opset: 13 }).input('x', [1, 2, 4, 6]).node('SpaceToDepth', ['x'], ['y'], { blocksize: 2 }).output('y').build(), {
    tol: LSB,
  });
});

test('GatherND (batch_dims 0 and 1) and ScatterND (none, add, mul, max) with constant indices', async () => {
  await checkAgainstOrt(
    new OnnxBuilder({ opset: 13 }).input('x', [2, 3, 4]).initializerInt64('i', [2, 2], [1, 2, 0, -1]).node('GatherND', ['x', 'i'], ['y']).output('y').build(),
    { tol: LSB },
  );
  await checkAgainstOrt(
    new OnnxBuilder({ opset: 13 })
      .input('x', [2, 3, 4])
      .initializerInt64('i', [2, 1], [2, 0])
      .node('GatherND', ['x', 'i'], ['y'], { batch_dims: 1 })
      .output('y')
      .build(),
    { tol: LSB },
  );
  for (const reduction of ['none', 'add', 'mul', 'max']) {
    const b = new OnnxBuilder({ opset: 18 })
      .input('x', [4, 3])
      .input('u', [2, 3])
      .initializerInt64('i', [2, 1], [3, 1])
      .node('ScatterND', ['x', 'i', 'u'], ['y'], { reduction })
      .output('y');
    await checkAgainstOrt(b.build(), { tol: 2 * LSB });
  }
});

test('CumSum along an axis, exclusive and reverse', async () => {
  for (const [exclusive, reverse] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ]) {
    const b = new OnnxBuilder({ opset: 14 })
      .input('x', [3, 4])
      .initializerInt64('axis', [], [-1])
      .node('CumSum', ['x', 'axis'], ['y'], { exclusive, reverse })
      .output('y');
    await checkAgainstOrt(b.build(), { tol: 2 * LSB });
  }
});

test("case einsum_trilu_range (Range position ids, Einsum attention, Trilu causal mask) gives onnxruntime's output", () => {
  const expected = [-1.2285000085830688, -0.6615999937057495, -0.8159218430519104, -0.6764664649963379, 0.10374456644058228, 0.7076721787452698];
  const { outputs } = runCase(join(CASES, 'einsum_trilu_range'));
  outputs[0].forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 0.01, `y[${i}]: ${v} vs ${expected[i]}`));
});
