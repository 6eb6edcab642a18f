/**
 * Elementwise arithmetic with broadcasting: Add, Sub, Mul, Div, Pow and the variadic Sum, Max, Min.
 *
 * Each op on a small seeded model against real onnxruntime (no circom), with the tolerances of the
 * error model in support/op-check.ts (checkOp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { LSB, dotTol, checkOp, shiftGroups, productGroups, uniform, checkFolded } from './support/op-check.js';

test('Add/Sub with broadcasting and constants: no gadget', async (t) => {
  const rng = mulberry32(61);
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .input('y', [3, 1])
    .initializer('c', [4], randomTensor(rng, [4], 1))
    .node('Add', ['x', 'y'], ['s'])
    .node('Sub', ['x', 'c'], ['d'])
    .node('Sub', ['c', 'y'], ['e']) // constant on the left, [4] − [3,1] → [3,4]
    .node('Add', ['s', 'c'], ['sc'])
    .outputShapes({ s: [2, 3, 4], d: [2, 3, 4], e: [3, 4], sc: [2, 3, 4] })
    .build();
  // Two rounded inputs (2^-9 each) and a constant rounded at 2^-8.
  await checkFolded(t, bytes, 2 * LSB);
});

test('Mul/Div with broadcasting and constants', async (t) => {
  const rng = mulberry32(62);
  const signs = uniform(rng, 4, 0, 1).map((v) => (v < 0.5 ? -1 : 1));
  const divisor = uniform(rng, 4, 0.5, 1.5).map((v, i) => v * signs[i]);
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .input('y', [3, 1])
    .initializer('c', [4], randomTensor(rng, [4], 1))
    .initializer('d', [4], divisor)
    .initializer('two', [], [2])
    .node('Mul', ['x', 'c'], ['xc']) // constant: folds
    .node('Mul', ['two', 'x'], ['x2']) // constant scalar on the left
    .node('Div', ['x', 'd'], ['xd']) // constant divisor: folds, |1/d| ≤ 2
    .node('Mul', ['x', 'y'], ['xy']) // both computed: product gadgets
    .outputShapes({ xc: [2, 3, 4], x2: [2, 3, 4], xd: [2, 3, 4], xy: [2, 3, 4] })
    .build();
  // Worst term: x/d with |1/d| ≤ 2 → 2^-9·(2 + 1) = 1.5 LSB; x·y ≤ 2^-9·(1 + 1).
  const { plan } = await checkOp(t, bytes, { tol: dotTol(1, 2, 1, 1) });
  assert.equal(plan.groups.length, 1);
  assert.equal(productGroups(plan)[0].a.length, 24);
});

test('Mul/Div by constants after computed layers fold: no rescale gadget', async (t) => {
  const rng = mulberry32(64);
  const bytes = new OnnxBuilder()
    .input('x', [1, 4])
    .input('y', [4, 3])
    .initializer('W', [4, 3], randomTensor(rng, [4, 3], 1))
    .initializer('half', [], [0.5])
    .initializer('three', [3], [3, -1.5, 0.75])
    .node('MatMul', ['x', 'W'], ['m']) // a form at scale 16
    .node('Mul', ['m', 'half'], ['mh'])
    .node('Div', ['mh', 'three'], ['lin'])
    .node('MatMul', ['x', 'y'], ['p']) // product wires at scale 16
    .node('Mul', ['three', 'p'], ['pc'])
    .outputShapes({ lin: [1, 3], pc: [1, 3] })
    .build();
  // lin: K = 4 terms with folded coefficients w·0.5/d, |c| ≤ 0.5/0.75 ≈ 0.67 → ≤ 4.3 LSB.
  // pc: 3·(4 products of ≤ 1 LSB each) ≤ 3 × 5 LSB, the bound used.
  const { plan } = await checkOp(t, bytes, { tol: 3 * dotTol(4, 1, 1, 1) });
  assert.equal(shiftGroups(plan).length, 0, 'multiplying by a constant is linear');
  assert.equal(productGroups(plan).length, 1);
});

test('Pow with exponent 2 and 3', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 5])
    .initializer('two', [], [2])
    .initializer('three', [], [3])
    .node('Pow', ['x', 'two'], ['sq'])
    .node('Pow', ['x', 'three'], ['cube'])
    .outputShapes({ sq: [2, 5], cube: [2, 5] })
    .build();
  // x²: 2^-9·2|x| ≤ 1 LSB. x³ = x·rescale(x²): |x|·(1 LSB + 2^-9 rescale) + |x²|·2^-9 ≤ 2 LSB.
  const { plan } = await checkOp(t, bytes, { tol: 3 * LSB });
  // x² alone: one product group, read at scale 16 (1·x² folds). x³: x², rescale x² to scale 8, x·x².
  assert.equal(productGroups(plan).length, 3);
  assert.equal(shiftGroups(plan).length, 1);
});

test('Sum/Max/Min variadic with broadcasting', async (t) => {
  const rng = mulberry32(63);
  const bytes = new OnnxBuilder()
    .input('a', [2, 3])
    .input('b', [3])
    .input('c', [2, 1])
    .initializer('k', [3], randomTensor(rng, [3], 1))
    .node('Sum', ['a', 'b', 'c'], ['s'])
    .node('Max', ['a', 'b', 'c'], ['mx'])
    .node('Min', ['a', 'b', 'k'], ['mn'])
    .node('Max', ['a'], ['one']) // a single input is the identity
    .outputShapes({ s: [2, 3], mx: [2, 3], mn: [2, 3], one: [2, 3] })
    .build();
  // Sum: three rounded inputs (1.5 LSB); Max/Min through shift-0 ReLUs are exact.
  const { plan } = await checkOp(t, bytes, { tol: 2 * LSB });
  assert.equal(plan.groups.length, 4, 'one ReLU group per pairwise max/min');
  assert.ok(shiftGroups(plan).every((g) => g.shift === 0));
});
