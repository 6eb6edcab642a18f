/**
 * Smooth functions as table gadgets, division by computed values (the divide gadget), Softmax,
 * LogSoftmax, fractional Pow, LayerNormalization/InstanceNormalization and TopK.
 *
 * Each op on a small seeded model against real onnxruntime (no circom), with the tolerances of the
 * error model in support/op-check.ts (checkOp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantizeInputs } from '../src/io/input.js';
import { loadOnnx } from '../src/onnx/load.js';
import { calibrate } from '../src/quantize/calibrate.js';
import { evaluate } from '../src/quantize/evaluate.js';
import { quantizeGraph } from '../src/quantize/trace.js';
import { runReference } from '../src/reference/onnxruntime.js';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { SCALE, LSB, HEADROOM, dotTol, tableTol, softmaxTol, checkOp, tableGroups, divideGroups, assertZkError } from './support/op-check.js';

test('Sigmoid, Tanh and Erf on [-6, 6): one table each, within the fit plus input rounding', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 8])
    .node('Sigmoid', ['x'], ['s'])
    .node('Tanh', ['x'], ['t'])
    .node('Erf', ['x'], ['e'])
    .outputShapes({ s: [2, 8], t: [2, 8], e: [2, 8] })
    .build();
  // Slopes: sigmoid ≤ 1/4, tanh ≤ 1, erf ≤ 2/√π ≈ 1.13.
  const { plan } = await checkOp(t, bytes, { tol: tableTol(1.13), amp: 6 });
  const tables = tableGroups(plan);
  assert.equal(plan.groups.length, 3);
  for (const g of tables) {
    assert.ok(g.kind === 'table' && g.maxError <= 0.5 * LSB, `${g.kind === 'table' && g.fn.name}: fit error ${g.kind === 'table' && g.maxError}`);
    assert.ok(g.kind === 'table' && g.bits - g.shift > g.window, 'saturating functions have a window');
    assert.ok(g.kind === 'table' && g.leaves.length <= 40, `${g.kind === 'table' && g.leaves.length} leaves`);
  }
});

test('Sigmoid and Tanh saturate beyond their window and beyond the calibrated range instead of failing', async () => {
  const bytes = new OnnxBuilder().input('x', [1, 6]).node('Sigmoid', ['x'], ['s']).node('Tanh', ['x'], ['t']).output('s', [1, 6]).output('t', [1, 6]).build();
  const graph = loadOnnx(bytes);
  const raw = quantizeGraph(graph, { scale: SCALE });
  const toInts = (s: number[][]) =>
    quantizeInputs(
      s,
      raw.inputs.map((i) => i.scale),
      raw.inputs.map((i) => i.name),
    );
  const rng = mulberry32(3);
  // Calibrated on [-1, 1) only.
  const plan = calibrate(
    raw,
    Array.from({ length: 4 }, () => toInts([Array.from(randomTensor(rng, [1, 6], 1))])),
    HEADROOM,
  );
  const far = [-31.9, -20, -8.5, 9, 17, 31.9];
  const ours = evaluate(plan, toInts([far]), { checkRanges: true }).outputs;
  const reference = await runReference(bytes, graph.inputs, [far]);
  ours.forEach((out, o) => out.forEach((v, k) => assert.ok(Math.abs(Number(v) / 2 ** plan.outputs[o].scale - reference[o][k]) <= LSB / 4, `${far[k]}`)));
  // 4× the window (±8) is the range check: beyond it the prover refuses, naming the layer.
  assertZkError(() => evaluate(plan, toInts([[40, 0, 0, 0, 0, 0]]), { checkRanges: true }), 'INPUT_OUT_OF_RANGE', 'Sigmoid_0');
});

test('Tanh after Gemm: the table drops the input bits below the working scale (rounding)', async (t) => {
  const rng = mulberry32(81);
  const bytes = new OnnxBuilder()
    .input('x', [1, 4])
    .initializer('W', [3, 4], randomTensor(rng, [3, 4], 1))
    .node('Gemm', ['x', 'W'], ['h'], { transB: 1 })
    .node('Tanh', ['h'], ['y'])
    .output('y', [1, 3])
    .build();
  // The dot product's error (K = 4 terms) times tanh' ≤ 1, the input rounding inside the table, the fit.
  const { plan } = await checkOp(t, bytes, { tol: dotTol(4, 1, 1) + tableTol(1) });
  const g = tableGroups(plan)[0];
  assert.ok(g.kind === 'table' && g.shift === 8 && g.outScale === 16);
});

test('Exp, Log, Sqrt and Softplus on their domains (tables without a window)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 6])
    .node('Exp', ['x'], ['e'])
    .node('Log', ['x'], ['l'])
    .node('Sqrt', ['x'], ['r'])
    .node('Softplus', ['x'], ['p'])
    .outputShapes({ e: [2, 6], l: [2, 6], r: [2, 6], p: [2, 6] })
    .build();
  // x ∈ [0.5, 2.5): exp ≤ 12.2 (slope alike), log' ≤ 2, sqrt' ≤ 0.71, softplus' < 1.
  const { plan } = await checkOp(t, bytes, { tol: tableTol(12.2, 12.2), amp: 1, offset: 1.5 });
  assert.equal(tableGroups(plan).length, 4);
  assert.ok(
    tableGroups(plan).every((g) => g.kind === 'table' && g.bits - g.shift === g.window),
    'no saturation window',
  );
});

test('Elu, Selu, Celu, Softsign, Gelu (erf and tanh forms), Mish, HardSigmoid', async (t) => {
  const bytes = new OnnxBuilder({ opset: 20 })
    .input('x', [2, 6])
    .node('Elu', ['x'], ['elu'], { alpha: 0.7 })
    .node('Selu', ['x'], ['selu'])
    .node('Celu', ['x'], ['celu'], { alpha: 1.5 })
    .node('Softsign', ['x'], ['softsign'])
    .node('Gelu', ['x'], ['gelu'])
    .node('Gelu', ['x'], ['geluTanh'], { approximate: 'tanh' })
    .node('Mish', ['x'], ['mish'])
    .node('HardSigmoid', ['x'], ['hs'], { alpha: 0.3, beta: 0.4 })
    .outputShapes({ elu: [2, 6], selu: [2, 6], celu: [2, 6], softsign: [2, 6], gelu: [2, 6], geluTanh: [2, 6], mish: [2, 6], hs: [2, 6] })
    .build();
  // x ∈ [-3, 3): slopes ≤ 1.76 (Selu), |f| ≤ 3.2; HardSigmoid's α rounded to 2^-8 (on |x| ≤ 3: 0.5 LSB).
  const { plan } = await checkOp(t, bytes, { tol: tableTol(1.76, 3.2, 0.5), amp: 3 });
  assert.equal(tableGroups(plan).length, 7);
});

test('Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Atanh on [-0.9, 0.9)', async (t) => {
  const b = new OnnxBuilder().input('x', [2, 6]);
  const ops = ['Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Atanh'];
  for (const op of ops) b.node(op, ['x'], [op.toLowerCase()]);
  for (const op of ops) b.output(op.toLowerCase(), [2, 6]);
  // Slopes ≤ 5.3 (atanh at 0.9), |f| ≤ 2.7 (acos at −0.9).
  const { plan } = await checkOp(t, b.build(), { tol: tableTol(5.3, 2.7), amp: 0.9 });
  assert.equal(tableGroups(plan).length, ops.length);
});

test('HardSwish: x·HardSigmoid(x), two ReLUs and a product', async (t) => {
  const bytes = new OnnxBuilder({ opset: 14 }).input('x', [2, 6]).node('HardSwish', ['x'], ['y']).output('y', [2, 6]).build();
  // The gate's 1/6 is kept to 2^-8 (1/6 → 43/256, off by 0.0013·|x|), then |x| ≤ 3 times the gate's
  // error, the gate times x's rounding and the product's rescale: ≤ 3.7 LSB.
  const { plan } = await checkOp(t, bytes, { tol: 4 * LSB, amp: 3 });
  assert.deepEqual(
    plan.groups.map((g) => g.kind),
    ['shift', 'shift', 'product'],
  );
});

test('Div by a computed divisor (either sign) and Reciprocal: one divide gadget each, rounded to the LSB', async (t) => {
  const bytes = new OnnxBuilder()
    .input('a', [2, 3])
    .input('b', [2, 3])
    .node('Div', ['a', 'b'], ['q'])
    .node('Neg', ['b'], ['nb'])
    .node('Div', ['a', 'nb'], ['qn'])
    .node('Reciprocal', ['b'], ['r'])
    .outputShapes({ q: [2, 3], qn: [2, 3], r: [2, 3] })
    .build();
  // a, b ∈ [1, 3): q = a/b rounded (0.5 LSB), plus δa/|b| + |a|·δb/b² ≤ (0.5 + 1.5) LSB.
  const { plan } = await checkOp(t, bytes, { tol: 2.5 * LSB, amp: 1, offset: 2 });
  const groups = divideGroups(plan);
  assert.equal(groups.length, 3);
  assert.ok(groups.every((g) => g.kind === 'divide' && !g.positive && g.outScale === SCALE));
});

test('x / (2x) (the corpus model 1l_eltwise_div) is exactly 1/2 wherever x ≠ 0, and x = 0 is refused', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 5])
    .initializer('two', [], [2])
    .node('Mul', ['x', 'two'], ['x2'])
    .node('Div', ['x', 'x2'], ['y'])
    .output('y', [1, 5])
    .build();
  const { plan } = await checkOp(t, bytes, { tol: 0, amp: 1, offset: 2 });
  const ints = quantizeInputs(
    [[0.5, 0, 1, 1, 1]],
    plan.inputs.map((i) => i.scale),
    plan.inputs.map((i) => i.name),
  );
  assertZkError(() => evaluate(plan, ints, { checkRanges: true }), 'INPUT_OUT_OF_RANGE', 'division by zero', 'Div_1');
});

test('Softmax opset 13 on the last axis and axis 1, and opset 11 (the axes from `axis` on flattened)', async (t) => {
  const b13 = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .node('Softmax', ['x'], ['last'])
    .node('Softmax', ['x'], ['mid'], { axis: 1 })
    .outputShapes({ last: [2, 3, 4], mid: [2, 3, 4] })
    .build();
  const { plan } = await checkOp(t, b13, { tol: softmaxTol(4), amp: 3 });
  assert.equal(tableGroups(plan).length, 2);
  assert.ok(divideGroups(plan).every((g) => g.kind === 'divide' && g.positive && g.a.length === (g.a.length === 6 ? 6 : 8)));
  const b11 = new OnnxBuilder({ opset: 11 }).input('x', [2, 3, 4]).node('Softmax', ['x'], ['y'], { axis: 1 }).output('y', [2, 3, 4]).build();
  const { plan: p11 } = await checkOp(t, b11, { tol: softmaxTol(12), amp: 3 });
  const d = divideGroups(p11)[0];
  assert.ok(d.kind === 'divide' && d.a.length === 2, 'opset 11 flattens [3, 4] into one row per batch');
});

test('LogSoftmax: x − max − log Σ exp, with a log table on [1, n]', async (t) => {
  const bytes = new OnnxBuilder().input('x', [3, 5]).node('LogSoftmax', ['x'], ['y']).output('y', [3, 5]).build();
  // x − max exact but for input rounding (2 LSB/2), log table 0.5·log(5) LSB, log' ≤ 1 times Σ of 5 exps (7.5 LSB).
  const { plan } = await checkOp(t, bytes, { tol: (1 + 0.5 * Math.log(5) + 7.5) * LSB, amp: 2 });
  assert.equal(tableGroups(plan).length, 2);
});

test('Softmax costs no more than its parts: max tree, one table per element, one division per row', async () => {
  const bytes = new OnnxBuilder().input('x', [1, 10]).node('Softmax', ['x'], ['y'], { axis: -1 }).output('y', [1, 10]).build();
  const graph = loadOnnx(bytes);
  const raw = quantizeGraph(graph, { scale: SCALE });
  const rng = mulberry32(5);
  const plan = calibrate(raw, [quantizeInputs([Array.from(randomTensor(rng, [1, 10], 2))], [SCALE], ['x'])], HEADROOM);
  assert.deepEqual(
    plan.groups.map((g) => g.kind),
    ['shift', 'shift', 'shift', 'shift', 'table', 'divide', 'product'],
  );
  assert.deepEqual(
    plan.groups.map((g) => (g.kind === 'product' || g.kind === 'divide' ? g.a.length : g.inputs.length)),
    [5, 2, 1, 1, 10, 1, 10],
  );
});

test('Pow with fractional and negative exponents: a table of x^e', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 5])
    .initializer('e1', [], [-0.1])
    .initializer('e2', [], [0.5])
    .initializer('e3', [], [-2])
    .initializer('e4', [], [2.5])
    .node('Pow', ['x', 'e1'], ['a'])
    .node('Pow', ['x', 'e2'], ['b'])
    .node('Pow', ['x', 'e3'], ['c'])
    .node('Pow', ['x', 'e4'], ['d'])
    .outputShapes({ a: [2, 5], b: [2, 5], c: [2, 5], d: [2, 5] })
    .build();
  // x ∈ [0.5, 2.5): |x^-2| ≤ 4 with slope ≤ 16; x^2.5 ≤ 9.9 with slope ≤ 9.9.
  const { plan } = await checkOp(t, bytes, { tol: tableTol(16, 9.9), amp: 1, offset: 1.5 });
  assert.equal(tableGroups(plan).length, 4);
});

test('LayerNormalization (last axis, and axis 1 over two axes) and InstanceNormalization', async (t) => {
  const rng = mulberry32(17);
  const bytes = new OnnxBuilder({ opset: 17 })
    .input('x', [2, 3, 8])
    .initializer('g8', [8], randomTensor(rng, [8], 1))
    .initializer('b8', [8], randomTensor(rng, [8], 1))
    .initializer('g24', [3, 8], randomTensor(rng, [3, 8], 1))
    .initializer('g3', [3], randomTensor(rng, [3], 1))
    .initializer('b3', [3], randomTensor(rng, [3], 1))
    .node('LayerNormalization', ['x', 'g8', 'b8'], ['ln'])
    .node('LayerNormalization', ['x', 'g24'], ['ln2'], { axis: 1, epsilon: 1e-3 })
    .node('InstanceNormalization', ['x', 'g3', 'b3'], ['in'])
    .outputShapes({ ln: [2, 3, 8], ln2: [2, 3, 8], in: [2, 3, 8] })
    .build();
  // Inputs in [-2, 2) (variance ≈ 1.3): y = (x − mean)/σ with x rounded (2^-9/σ ≤ 0.45 LSB per term,
  // through the mean too: ≤ 0.9 LSB), invStd to 2^-12 relative (|y| ≤ 3: 0.2 LSB) and the table's
  // fit, times |γ| ≤ 1: within 2 LSB.
  const { plan } = await checkOp(t, bytes, { tol: 2 * LSB, amp: 2 });
  assert.equal(tableGroups(plan).length, 3);
});

test('TopK largest and smallest, sorted, with ties broken toward the lower index (values and indices)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 7])
    .input('n', [3, 6], 'int64')
    .initializerInt64('k3', [1], [3])
    .initializerInt64('k6', [1], [6])
    .node('TopK', ['x', 'k3'], ['v', 'i'], { axis: 1 })
    .node('TopK', ['n', 'k6'], ['nv', 'ni'], { axis: -1, largest: 0 })
    .node('TopK', ['n', 'k3'], ['tv', 'ti'], { axis: 0 })
    .output('v', [2, 3])
    .output('i', [2, 3], 'int64')
    .output('nv', [3, 6], 'int64')
    .output('ni', [3, 6], 'int64')
    .output('tv', [3, 6], 'int64')
    .output('ti', [3, 6], 'int64')
    .build();
  await checkOp(t, bytes, { tol: 0.5 * LSB, seed: 3 });
});
