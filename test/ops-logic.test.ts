/**
 * Comparisons, logic and selection, exact on the quantized values (no error beyond input rounding):
 * Less/Greater/Equal, Not/And/Or/Xor, Where, ArgMax/ArgMin, Gather/GatherElements/ScatterElements/OneHot
 * by computed indices, Abs/Sign/Floor/Ceil/Round and Cast.
 *
 * Each op on a small seeded model against real onnxruntime (no circom), with the tolerances of the
 * error model in support/op-check.ts (checkOp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOnnx } from '../src/onnx/load.js';
import { calibrate } from '../src/quantize/calibrate.js';
import { evaluate } from '../src/quantize/evaluate.js';
import type { QuantizedGraph } from '../src/quantize/plan.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { SCALE, LSB, HEADROOM, checkOp, groupKinds, assertZkError } from './support/op-check.js';
import { treeWalk } from './support/models.js';

test('Less/Greater/LessOrEqual/GreaterOrEqual against inputs and fine constants; Equal on integers', async (t) => {
  const bytes = new OnnxBuilder()
    .input('a', [2, 5])
    .input('b', [2, 5])
    .input('n', [2, 5], 'int64')
    .input('m', [2, 5], 'int64')
    // Constants between grid points: a comparison must not round them onto the grid.
    .initializer('th', [5], [0.1234567, -0.5, 0.00390625, 0.3001, -0.7777])
    .node('Less', ['a', 'b'], ['lt'])
    .node('Greater', ['a', 'th'], ['gt'])
    .node('LessOrEqual', ['th', 'b'], ['le'])
    .node('GreaterOrEqual', ['a', 'b'], ['ge'])
    .node('Equal', ['n', 'm'], ['eq'])
    .node('Less', ['n', 'm'], ['nlt'])
    .output('lt', [2, 5], 'bool')
    .output('gt', [2, 5], 'bool')
    .output('le', [2, 5], 'bool')
    .output('ge', [2, 5], 'bool')
    .output('eq', [2, 5], 'bool')
    .output('nlt', [2, 5], 'bool')
    .build();
  // Exact: the quantized inputs are compared exactly, and rounding an input by 2^-9 only flips a
  // comparison within 2^-9 of the other side (the samples are not that close).
  const { plan } = await checkOp(t, bytes, { tol: 0, seed: 2 });
  assert.deepEqual(groupKinds(plan).sort(), ['sign', 'sign', 'sign', 'sign', 'sign', 'zero']);
});

test('a comparison with a constant between grid points is exact on the quantized input', () => {
  const bytes = new OnnxBuilder().input('x', [1, 4]).initializer('th', [], [0.3001]).node('Less', ['x', 'th'], ['y']).output('y', [1, 4], 'bool').build();
  const plan = calibrate(quantizeGraph(loadOnnx(bytes), { scale: SCALE }), [[[0n, 1n, -1n, 100n]]], HEADROOM);
  // 0.3001·256 = 76.83: x < 0.3001 for x = 76/256, not for 77/256.
  const out = evaluate(plan, [[76n, 77n, 76n, 77n]], { checkRanges: true }).outputs[0];
  assert.deepEqual(out, [1n, 0n, 1n, 0n]);
});

test('Not/And/Or/Xor on booleans, Equal of booleans, Where with computed and constant branches', async (t) => {
  const bytes = new OnnxBuilder()
    .input('p', [2, 4], 'bool')
    .input('q', [2, 4], 'bool')
    .input('x', [2, 4])
    .input('y', [1, 4])
    .initializer('three', [], [3])
    .node('Not', ['p'], ['np'])
    .node('And', ['p', 'q'], ['and'])
    .node('Or', ['np', 'q'], ['or'])
    .node('Xor', ['p', 'q'], ['xor'])
    .node('Equal', ['and', 'xor'], ['eq'])
    .node('Where', ['or', 'x', 'y'], ['w'])
    .node('Where', ['xor', 'three', 'x'], ['wc'])
    .output('np', [2, 4], 'bool')
    .output('and', [2, 4], 'bool')
    .output('or', [2, 4], 'bool')
    .output('xor', [2, 4], 'bool')
    .output('eq', [2, 4], 'bool')
    .outputShapes({ w: [2, 4], wc: [2, 4] })
    .build();
  // Selection copies rounded inputs: 2^-9.
  const { plan } = await checkOp(t, bytes, { tol: 0.5 * LSB });
  assert.ok(plan.groups.every((g) => g.kind === 'product' || g.kind === 'zero' || g.kind === 'boolean'));
});

test('ArgMax/ArgMin on floats (keepdims, axes, select_last_index) and on booleans', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 5])
    .input('b', [3, 6], 'bool')
    .node('ArgMax', ['x'], ['a2'], { axis: 2 })
    .node('ArgMin', ['x'], ['a1'], { axis: 1, keepdims: 0 })
    .node('ArgMax', ['x'], ['a0'], { axis: 0, select_last_index: 1 })
    .node('Cast', ['b'], ['bi'], { to: 6 }) // int32 (onnxruntime has no boolean ArgMax); still 0/1 to the compiler
    .node('ArgMax', ['bi'], ['bmax'], { axis: 1, keepdims: 0 })
    .node('ArgMin', ['bi'], ['bmin'], { axis: 1, keepdims: 0, select_last_index: 1 })
    .output('a2', [2, 3, 1], 'int64')
    .output('a1', [2, 5], 'int64')
    .output('a0', [1, 3, 5], 'int64')
    .output('bmax', [3], 'int64')
    .output('bmin', [3], 'int64')
    .build();
  const { plan } = await checkOp(t, bytes, { tol: 0 });
  // The boolean rows take the running product alone: one constraint per element, no comparisons.
  assert.equal(plan.groups.filter((g) => g.node === 'ArgMax_4' && g.kind !== 'product').length, 0);
});

test('ArgMax with ties picks the first (or last) maximum, like onnxruntime', async (t) => {
  const bytes = new OnnxBuilder()
    .input('n', [4, 5], 'int64')
    .node('ArgMax', ['n'], ['first'], { axis: 1 })
    .node('ArgMax', ['n'], ['last'], { axis: 1, select_last_index: 1 })
    .node('ArgMin', ['n'], ['minFirst'], { axis: 1 })
    .output('first', [4, 1], 'int64')
    .output('last', [4, 1], 'int64')
    .output('minFirst', [4, 1], 'int64')
    .build();
  // Integers from −4 to 4 in rows of 5: ties are common.
  await checkOp(t, bytes, { tol: 0, seed: 7 });
});

test('Gather by a computed index (ArgMax, then a table lookup) costs no more than the ArgMax', async (t) => {
  const rng = mulberry32(91);
  const bytes = new OnnxBuilder()
    .input('x', [1, 6])
    .initializer('labels', [6], [10, 20, 30, 40, 50, 60])
    .initializer('table', [6, 3], randomTensor(rng, [6, 3], 1))
    .node('ArgMax', ['x'], ['i'], { axis: 1, keepdims: 0 })
    .node('Gather', ['labels', 'i'], ['label'])
    .node('Gather', ['table', 'i'], ['row'])
    .node('Gather', ['x', 'i'], ['best'], { axis: 1 })
    .node('ArgMax', ['row'], ['k'], { axis: 1 }) // the best column of the looked-up row: known per table row
    .node('ArgMin', ['row'], ['kmin'], { axis: 1, select_last_index: 1 })
    .outputShapes({ label: [1], row: [1, 3], best: [1, 1] })
    .output('k', [1, 1], 'int64')
    .output('kmin', [1, 1], 'int64')
    .build();
  // The rows are constants picked exactly (rounded to 2^-8 in the table: 2^-9), the best value a rounded input.
  const { plan } = await checkOp(t, bytes, { tol: 0.5 * LSB });
  const kinds = groupKinds(plan);
  assert.ok(!kinds.includes('assert'), 'an ArgMax index needs no range assertion');
  assert.equal(kinds.filter((k) => k === 'zero').length, 1, 'the only zero tests are the ArgMax’s');
  // Only the ArgMax and picking a computed value (x at the index: one product per candidate) cost constraints.
  assert.deepEqual([...new Set(plan.groups.map((g) => g.node))], ['ArgMax_0', 'Gather_3'], 'the lookups and the ArgMax of a looked-up row cost nothing');
});

test('Gather, GatherElements and OneHot by indices computed from booleans (a tree walk)', async (t) => {
  const bytes = treeWalk()
    .initializerInt64('depth', [], [4])
    .initializerInt64('offOn', [2], [0, 1])
    .node('OneHot', ['leafIdx', 'depth', 'offOn'], ['hot'])
    .node('Neg', ['x'], ['nx'])
    .node('Concat', ['x', 'nx'], ['pair'], { axis: 1 })
    .node('GatherElements', ['pair', 'c0'], ['again'], { axis: 1 }) // x, or −x once x > 0.1
    .output('value', [1])
    .output('hot', [1, 4], 'int64')
    .output('again', [1, 1])
    .build();
  const { plan } = await checkOp(t, bytes, { tol: 0.5 * LSB, amp: 1 });
  assert.ok(!groupKinds(plan).includes('zero'), 'indices made of booleans split on the booleans, no zero tests');
});

test('GatherElements and ScatterElements with indices from an input (every candidate position tested)', async (t) => {
  const bytes = new OnnxBuilder({ opset: 16 })
    .input('data', [2, 5])
    .input('idx', [2, 2], 'int64')
    .input('upd', [2, 2])
    .initializerInt64('cidx', [2, 2], [4, 0, -1, 2])
    .node('GatherElements', ['data', 'idx'], ['g'], { axis: 1 })
    .node('GatherElements', ['data', 'cidx'], ['gc'], { axis: 1 })
    .node('ScatterElements', ['data', 'cidx', 'upd'], ['sc'], { axis: 1 })
    .node('ScatterElements', ['data', 'cidx', 'upd'], ['sa'], { axis: 1, reduction: 'add' })
    .outputShapes({ g: [2, 2], gc: [2, 2], sc: [2, 5], sa: [2, 5] })
    .build();
  // Random int indices lie in [−4, 4]: in range for an axis of 5. Copies and sums of rounded inputs.
  await checkOp(t, bytes, { tol: 1 * LSB });
});

test('ScatterElements with computed (distinct) indices', async (t) => {
  const bytes = new OnnxBuilder({ opset: 16 })
    .input('data', [1, 6])
    .input('upd', [1, 2])
    .input('x', [1, 2])
    .node('ArgMax', ['x'], ['i'], { axis: 1 }) // 0 or 1
    .initializerInt64('three', [], [3])
    .node('Add', ['i', 'three'], ['j']) // 3 or 4
    .node('Concat', ['i', 'j'], ['ij'], { axis: 1 }) // distinct
    .node('ScatterElements', ['data', 'ij', 'upd'], ['y'], { axis: 1 })
    .output('y', [1, 6])
    .build();
  await checkOp(t, bytes, { tol: 0.5 * LSB });
});

test('a computed index out of range has no proof (Gather), while OneHot gives all off like ONNX', () => {
  const bytes = new OnnxBuilder()
    .input('n', [1, 3], 'int64')
    .initializer('table', [4], [1, 2, 3, 4])
    .initializerInt64('depth', [], [4])
    .initializer('offOn', [2], [-1, 1])
    .node('Gather', ['table', 'n'], ['g'])
    .node('OneHot', ['n', 'depth', 'offOn'], ['h'])
    .outputShapes({ g: [1, 3], h: [1, 3, 4] })
    .build();
  const plan = calibrate(quantizeGraph(loadOnnx(bytes), { scale: SCALE }), [[[0n, 1n, 2n]]], HEADROOM);
  const read = (p: QuantizedGraph, out: bigint[], o = 0) => out.map((v) => Number(v) / 2 ** p.outputs[o].scale);
  assert.deepEqual(read(plan, evaluate(plan, [[-1n, 3n, 0n]], { checkRanges: true }).outputs[0]), [4, 4, 1]);
  assertZkError(() => evaluate(plan, [[4n, 0n, 0n]], { checkRanges: true }), 'INPUT_OUT_OF_RANGE', 'out of range', 'Gather_0');
  // OneHot alone: index 9 of depth 4 is all off.
  const hot = new OnnxBuilder()
    .input('n', [1, 2], 'int64')
    .initializerInt64('depth', [], [4])
    .initializer('offOn', [2], [-1, 1])
    .node('OneHot', ['n', 'depth', 'offOn'], ['h'])
    .output('h', [1, 2, 4])
    .build();
  const p2 = calibrate(quantizeGraph(loadOnnx(hot), { scale: SCALE }), [[[0n, 1n]]], HEADROOM);
  assert.deepEqual(read(p2, evaluate(p2, [[9n, -1n]], { checkRanges: true }).outputs[0]), [-1, -1, -1, -1, -1, -1, -1, 1]);
});

test('Abs, Sign, Floor, Ceil and Round (ties to even) on floats; integers pass through', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [3, 6])
    .input('n', [1, 6], 'int64')
    .initializer('half', [], [0.5])
    .node('Abs', ['x'], ['abs'])
    .node('Sign', ['x'], ['sign'])
    .node('Floor', ['x'], ['floor'])
    .node('Ceil', ['x'], ['ceil'])
    .node('Round', ['x'], ['round'])
    .node('Cast', ['n'], ['nf'], { to: 1 })
    .node('Mul', ['nf', 'half'], ['halves']) // exact ties: −2, −1.5 … 2
    .node('Round', ['halves'], ['roundTies'])
    .node('Floor', ['nf'], ['floorInt'])
    .outputShapes({ abs: [3, 6], sign: [3, 6], floor: [3, 6], ceil: [3, 6], round: [3, 6], roundTies: [1, 6], floorInt: [1, 6] })
    .build();
  // Abs within input rounding; Floor/Ceil/Round of x·4 exact except within 2^-9 of a step (not sampled).
  const { plan } = await checkOp(t, bytes, { tol: 0.5 * LSB, amp: 4, seed: 5 });
  assert.ok(groupKinds(plan).includes('round'));
});

test('Cast of computed values: float → int truncates toward zero, int and float → bool test for nonzero', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [3, 6])
    .input('n', [1, 6], 'int64')
    .initializer('half', [], [0.5])
    .node('Cast', ['x'], ['xi'], { to: 7 })
    .node('Cast', ['n'], ['nb'], { to: 9 })
    .node('Cast', ['n'], ['nf'], { to: 1 })
    .node('Mul', ['nf', 'half'], ['halves'])
    .node('Cast', ['halves'], ['xb'], { to: 9 }) // (a float within 2^-9 of 0 would round to false)
    .node('Cast', ['halves'], ['hi'], { to: 7 }) // −2, −1.5 … 2: exact fractions toward zero
    .output('xi', [3, 6], 'int64')
    .output('nb', [1, 6], 'bool')
    .output('xb', [1, 6], 'bool')
    .output('hi', [1, 6], 'int64')
    .build();
  const { plan } = await checkOp(t, bytes, { tol: 0, amp: 4, seed: 6 });
  assert.ok(plan.groups.some((g) => g.kind === 'round' && g.mode === 'trunc'));
});
