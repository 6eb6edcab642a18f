/**
 * Every op the quantizer supports, one small model at a time, against real onnxruntime (no circom):
 * build the model with OnnxBuilder from a seed, quantize at scale 8, calibrate on 4 random samples with
 * 2 bits of headroom, then evaluate the integer semantics on 3 fresh samples (with range checks on) and
 * compare the dequantized outputs with onnxruntime's float32 outputs.
 *
 * Error model at scale s = 8 (LSB = 2^-8), which the per-test tolerances below are built from:
 * - a float input is rounded to the 2^-8 grid: |δx| ≤ 2^-9;
 * - a folded coefficient c on a scale-8 wire is rounded to 2^-8 (the builder keeps at most `scale`
 *   fraction bits beyond the wire's scale): |δc| ≤ 2^-9; a bias is rounded at the form's scale (≥ 2^-8
 *   for float wires, 2^-16 once a coefficient needs all 8 bits);
 * - so one term c·x costs ≤ 2^-9·(|c| + |x|), and a K-term dot product ≤ K·(cmax + xmax)/2 · 2^-8;
 * - a shift gadget that drops bits rounds to nearest: ≤ 2^-9 each; a ReLU of scale-8 wires with ±1
 *   coefficients (Relu, Max, Min, Clip, MaxPool) has shift 0 and is exact;
 * - a product a·b of scale-8 operands is exact at scale 16, so it costs ≤ 2^-9·(|a| + |b|);
 * - onnxruntime computes in float32 (relative error ~1e-7 at these magnitudes): negligible.
 * `dotTol(K, cmax, xmax, extra)` is that bound plus `extra` LSBs; every test states its own.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { ZkError, type ZkErrorCode } from '../src/core/errors.js';
import { quantizeInputs } from '../src/io/input.js';
import { sizeOf } from '../src/onnx/graph.js';
import { loadOnnx } from '../src/onnx/load.js';
import { calibrate } from '../src/quantize/calibrate.js';
import { evaluate } from '../src/quantize/evaluate.js';
import type { QuantizedGraph } from '../src/quantize/plan.js';
import { quantizeGraph, unsupportedNodes } from '../src/quantize/trace.js';
import { runReference } from '../src/reference/onnxruntime.js';
import { OnnxBuilder, mulberry32, randomTensor } from './support/onnx-builder.js';
import { assertNearReference } from './support/op-check.js';

const SCALE = 8;
const LSB = 2 ** -SCALE;
const HEADROOM = 2;
const CALIBRATION_SAMPLES = 4;
const EVAL_SAMPLES = 3;

/** The worst-case error of a K-term dot product with |coef| ≤ cmax and |x| ≤ xmax, plus `extra` LSBs. */
const dotTol = (k: number, cmax = 1, xmax = 1, extra = 0): number => ((k * (cmax + xmax)) / 2 + extra) * LSB;

const report: { name: string; maxErr: number; tol: number }[] = [];
after(() => {
  const lines = report.map((r) => `  ${r.name.padEnd(58)} max |err| ${r.maxErr.toExponential(3).padStart(10)}   tol ${r.tol.toExponential(3)} (${(r.tol / LSB).toFixed(2)} LSB)`);
  console.log(`\nlargest error per test (LSB = 2^-${SCALE}):\n${lines.join('\n')}`);
});

interface CheckOptions {
  /** Absolute tolerance for every output element. */
  tol: number;
  seed?: number;
  /** Float inputs are uniform in [offset - amp, offset + amp). */
  amp?: number;
  offset?: number;
}

interface Checked {
  plan: QuantizedGraph;
  maxErr: number;
}

/** Output shapes from onnxruntime itself, to check the tracer's dims (runReference returns data only). */
async function ortDims(bytes: Uint8Array, sample: number[][]): Promise<number[][]> {
  const graph = loadOnnx(bytes);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    graph.inputs.forEach((inp, i) => {
      feeds[inp.name] = inp.dtype === 'float'
        ? new ort.Tensor('float32', Float32Array.from(sample[i]), inp.dims)
        : inp.dtype === 'bool'
          ? new ort.Tensor('bool', Uint8Array.from(sample[i]), inp.dims)
          : new ort.Tensor('int64', BigInt64Array.from(sample[i], (v) => BigInt(v)), inp.dims);
    });
    const out = await session.run(feeds);
    return session.outputNames.map((n) => [...out[n].dims]);
  } finally {
    await session.release();
  }
}

/** Quantize, calibrate, evaluate on fresh samples and compare with onnxruntime. */
async function check(t: TestContext, bytes: Uint8Array, opts: CheckOptions): Promise<Checked> {
  const graph = loadOnnx(bytes);
  const rng = mulberry32(opts.seed ?? 1234);
  const amp = opts.amp ?? 1;
  const offset = opts.offset ?? 0;
  const sample = (): number[][] =>
    graph.inputs.map((inp) =>
      inp.dtype === 'float'
        ? Array.from(randomTensor(rng, inp.dims, amp), (v) => Math.fround(v + offset))
        : Array.from({ length: sizeOf(inp.dims) }, () => (inp.dtype === 'bool' ? Math.floor(rng() * 2) : Math.floor(rng() * 9) - 4)),
    );
  const raw = quantizeGraph(graph, { scale: SCALE });
  const toInts = (s: number[][]) => quantizeInputs(s, raw.inputs.map((i) => i.scale), raw.inputs.map((i) => i.name));
  const plan = calibrate(raw, Array.from({ length: CALIBRATION_SAMPLES }, () => toInts(sample())), HEADROOM);
  let maxErr = 0;
  for (let round = 0; round < EVAL_SAMPLES; round++) {
    const s = sample();
    const reference = await runReference(bytes, graph.inputs, s);
    if (round === 0) {
      const dims = await ortDims(bytes, s);
      assert.deepEqual(plan.outputs.map((o) => o.dims), dims, 'output shapes');
    }
    maxErr = Math.max(maxErr, assertNearReference(plan, toInts(s), reference, opts.tol));
  }
  t.diagnostic(`max |err| ${maxErr.toExponential(3)} (${(maxErr / LSB).toFixed(3)} LSB), tol ${opts.tol.toExponential(3)}`);
  report.push({ name: t.name, maxErr, tol: opts.tol });
  return { plan, maxErr };
}

const shiftGroups = (p: QuantizedGraph) => p.groups.filter((g) => g.kind === 'shift');
const productGroups = (p: QuantizedGraph) => p.groups.filter((g) => g.kind === 'product');

function assertZkError(f: () => unknown, code: ZkErrorCode, ...fragments: (string | RegExp)[]): ZkError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ZkError, `expected a ZkError ${code}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const f of fragments) {
    if (typeof f === 'string') assert.ok(caught.message.includes(f), `message "${caught.message}" should mention ${f}`);
    else assert.match(caught.message, f);
  }
  return caught;
}

const f = OnnxBuilder.float;
/** Uniform in [lo, hi). */
const uniform = (rng: () => number, n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());

// ---------------------------------------------------------------------------------------------
// Linear layers
// ---------------------------------------------------------------------------------------------

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
  const { plan } = await check(t, bytes, { tol: dotTol(4, 0.5, 1, 1) });
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
    .output('y1', [2, 3])
    .output('y2', [2, 3])
    .build();
  // K = 6 terms, coefficients up to alpha·|w| ≤ 1.5.
  const { plan } = await check(t, bytes, { tol: dotTol(6, 1.5, 1, 1) });
  assert.equal(plan.groups.length, 0);
});

test('Gemm with both operands computed uses one product group', async (t) => {
  const bytes = new OnnxBuilder()
    .input('a', [2, 3])
    .input('b', [3, 2])
    .node('Gemm', ['a', 'b'], ['y'], { alpha: 0.5 })
    .output('y', [2, 2])
    .build();
  // K = 3 products, each ≤ 2^-9·(|a| + |b|) = 2^-8, then alpha 0.5 (exact).
  const { plan } = await check(t, bytes, { tol: dotTol(3, 1, 1, 1) });
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
    .output('y', [3, 5])
    .output('yv', [5])
    .output('lv', [3])
    .build();
  // K = 4 terms, |w|, |x| ≤ 1.
  const { plan } = await check(t, bytes, { tol: dotTol(4, 1, 1, 1) });
  assert.equal(plan.groups.length, 0);
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
    .output('right', [2, 3, 5])
    .output('left', [2, 3, 4])
    .output('leftBatched', [2, 2, 4])
    .build();
  // At most K = 4 terms.
  const { plan } = await check(t, bytes, { tol: dotTol(4, 1, 1, 1) });
  assert.equal(plan.groups.length, 0);
});

test('MatMul with both operands computed: product gadgets, batch broadcast', async (t) => {
  const bytes = new OnnxBuilder()
    .input('a', [2, 3, 4])
    .input('b', [2, 4, 2])
    .input('c', [4, 3])
    .node('MatMul', ['a', 'b'], ['y']) // [2,3,2]
    .node('MatMul', ['a', 'c'], ['z']) // [2,3,3] with c broadcast over the batch
    .output('y', [2, 3, 2])
    .output('z', [2, 3, 3])
    .build();
  // K = 4 products, each ≤ 2^-9·(|a| + |b|) ≤ 2^-8.
  const { plan } = await check(t, bytes, { tol: dotTol(4, 1, 1, 1) });
  assert.equal(shiftGroups(plan).length, 0, 'scale-8 operands need no rescale');
  assert.deepEqual(productGroups(plan).map((g) => g.a.length), [2 * 3 * 2 * 4, 2 * 3 * 3 * 4]);
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
  const { plan } = await check(t, bytes, { tol: 3 * 3 * 7 * LSB });
  assert.deepEqual(shiftGroups(plan).map((g) => g.kind === 'shift' && g.inputs.length), [6, 12], 'one rescale per element of xa (2×3) and yb (3×4), not per product');
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
  const { plan } = await check(t, bytes, { tol: dotTol(27, 1, 1, 1) });
  assert.equal(plan.groups.length, 0);
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
  const { plan } = await check(t, bytes, { tol: dotTol(18, 1, 1, 1) });
  assert.equal(plan.groups.length, 0);
});

test('Conv 1-D stride 2 asymmetric pads, and SAME_UPPER without bias', async (t) => {
  const rng = mulberry32(33);
  const bytes = new OnnxBuilder()
    .input('x', [1, 3, 10])
    .initializer('W', [2, 3, 3], randomTensor(rng, [2, 3, 3], 1))
    .initializer('B', [2], randomTensor(rng, [2], 1))
    .node('Conv', ['x', 'W', 'B'], ['y'], { strides: [2], pads: [1, 2] })
    .node('Conv', ['x', 'W'], ['z'], { strides: [3], auto_pad: 'SAME_UPPER' })
    .output('y', [1, 2, 6])
    .output('z', [1, 2, 4])
    .build();
  // K = 3 channels × 3 taps = 9 terms.
  const { plan } = await check(t, bytes, { tol: dotTol(9, 1, 1, 1) });
  assert.equal(plan.groups.length, 0);
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
  const { plan } = await check(t, bytes, { tol: dotTol(1, 1.42, 1, 1) });
  assert.equal(plan.groups.length, 0);
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
  const { plan } = await check(t, bytes, { tol: dotTol(18, 1.42, 1, 1) });
  assert.equal(plan.groups.length, 0);
});

// ---------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------

test('Relu on an input: one shift-0 ReLU group', async (t) => {
  const bytes = new OnnxBuilder().input('x', [2, 5]).node('Relu', ['x'], ['y']).output('y', [2, 5]).build();
  // Exact but for input rounding (2^-9).
  const { plan } = await check(t, bytes, { tol: 1 * LSB });
  assert.equal(plan.groups.length, 1);
  const g = shiftGroups(plan)[0];
  assert.ok(g.relu);
  assert.equal(g.shift, 0);
});

test('Relu after Gemm makes exactly one shift group with relu=true', async (t) => {
  const rng = mulberry32(51);
  const bytes = new OnnxBuilder()
    .input('x', [1, 4])
    .initializer('W', [3, 4], randomTensor(rng, [3, 4], 1))
    .initializer('b', [3], randomTensor(rng, [3], 1))
    .node('Gemm', ['x', 'W', 'b'], ['h'], { transB: 1 })
    .node('Relu', ['h'], ['y'])
    .output('y', [1, 3])
    .build();
  // K = 4 terms, then one rounding shift (2^-9).
  const { plan } = await check(t, bytes, { tol: dotTol(4, 1, 1, 1) });
  assert.equal(plan.groups.length, 1);
  const g = plan.groups[0];
  assert.equal(g.kind, 'shift');
  assert.ok(g.kind === 'shift' && g.relu && g.shift === 8 && g.inputs.length === 3, JSON.stringify({ ...g, inputs: undefined }));
  assert.equal(g.op, 'Relu');
});

test('LeakyRelu alpha 0.1', async (t) => {
  const bytes = new OnnxBuilder().input('x', [2, 6]).node('LeakyRelu', ['x'], ['y'], { alpha: 0.1 }).output('y', [2, 6]).build();
  // y = 0.1·x + 0.9·relu(x): two rounded coefficients (2^-9 each) on |x| ≤ 1, plus input rounding.
  const { plan } = await check(t, bytes, { tol: 2 * LSB });
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
  const { plan } = await check(t, bytes, { tol: 2 * LSB });
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
    .output('both', [3, 5])
    .output('onlyMin', [3, 5])
    .output('onlyMax', [3, 5])
    .build();
  // Shift-0 ReLUs are exact; input rounding and the bound 0.6 rounded to 2^-8 (≤ 2^-9 each).
  const { plan } = await check(t, bytes, { tol: 1 * LSB });
  assert.equal(plan.groups.length, 4, 'two ReLUs for [lo, hi], one for each one-sided clip');
});

// ---------------------------------------------------------------------------------------------
// Elementwise arithmetic
// ---------------------------------------------------------------------------------------------

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
    .output('s', [2, 3, 4])
    .output('d', [2, 3, 4])
    .output('e', [3, 4])
    .output('sc', [2, 3, 4])
    .build();
  // Two rounded inputs (2^-9 each) and a constant rounded at 2^-8.
  const { plan } = await check(t, bytes, { tol: 2 * LSB });
  assert.equal(plan.groups.length, 0);
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
    .output('xc', [2, 3, 4])
    .output('x2', [2, 3, 4])
    .output('xd', [2, 3, 4])
    .output('xy', [2, 3, 4])
    .build();
  // Worst term: x/d with |1/d| ≤ 2 → 2^-9·(2 + 1) = 1.5 LSB; x·y ≤ 2^-9·(1 + 1).
  const { plan } = await check(t, bytes, { tol: dotTol(1, 2, 1, 1) });
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
    .output('lin', [1, 3])
    .output('pc', [1, 3])
    .build();
  // lin: K = 4 terms with folded coefficients w·0.5/d, |c| ≤ 0.5/0.75 ≈ 0.67 → ≤ 4.3 LSB.
  // pc: 3·(4 products of ≤ 1 LSB each) ≤ 3 × 5 LSB, the bound used.
  const { plan } = await check(t, bytes, { tol: 3 * dotTol(4, 1, 1, 1) });
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
    .output('sq', [2, 5])
    .output('cube', [2, 5])
    .build();
  // x²: 2^-9·2|x| ≤ 1 LSB. x³ = x·rescale(x²): |x|·(1 LSB + 2^-9 rescale) + |x²|·2^-9 ≤ 2 LSB.
  const { plan } = await check(t, bytes, { tol: 3 * LSB });
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
    .output('s', [2, 3])
    .output('mx', [2, 3])
    .output('mn', [2, 3])
    .output('one', [2, 3])
    .build();
  // Sum: three rounded inputs (1.5 LSB); Max/Min through shift-0 ReLUs are exact.
  const { plan } = await check(t, bytes, { tol: 2 * LSB });
  assert.equal(plan.groups.length, 4, 'one ReLU group per pairwise max/min');
  assert.ok(shiftGroups(plan).every((g) => g.shift === 0));
});

// ---------------------------------------------------------------------------------------------
// Smooth functions (table gadgets), division by computed values, Softmax
//
// A table's own error is bounded by its fit: max |table − f| over every input of the window is at
// most 0.5 LSB·max(1, |f|) (the fitter's target, checked on every grid point and recorded as the
// group's maxError). On top of it comes the rounding of the input to the 2^-8 grid: ≤ 2^-9·max|f'|.
// ---------------------------------------------------------------------------------------------

const tableGroups = (p: QuantizedGraph) => p.groups.filter((g) => g.kind === 'table');
const divideGroups = (p: QuantizedGraph) => p.groups.filter((g) => g.kind === 'divide');
/** Table fit (0.5 LSB · max(1, |f|)) plus input rounding (2^-9 · max|f'|), plus `extra` LSBs. */
const tableTol = (maxSlope: number, maxAbs = 1, extra = 0): number => (0.5 * Math.max(1, maxAbs) + 0.5 * maxSlope + extra) * LSB;

test('Sigmoid, Tanh and Erf on [-6, 6): one table each, within the fit plus input rounding', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 8])
    .node('Sigmoid', ['x'], ['s'])
    .node('Tanh', ['x'], ['t'])
    .node('Erf', ['x'], ['e'])
    .output('s', [2, 8])
    .output('t', [2, 8])
    .output('e', [2, 8])
    .build();
  // Slopes: sigmoid ≤ 1/4, tanh ≤ 1, erf ≤ 2/√π ≈ 1.13.
  const { plan } = await check(t, bytes, { tol: tableTol(1.13), amp: 6 });
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
  const toInts = (s: number[][]) => quantizeInputs(s, raw.inputs.map((i) => i.scale), raw.inputs.map((i) => i.name));
  const rng = mulberry32(3);
  // Calibrated on [-1, 1) only.
  const plan = calibrate(raw, Array.from({ length: 4 }, () => toInts([Array.from(randomTensor(rng, [1, 6], 1))])), HEADROOM);
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
  const { plan } = await check(t, bytes, { tol: dotTol(4, 1, 1) + tableTol(1) });
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
    .output('e', [2, 6])
    .output('l', [2, 6])
    .output('r', [2, 6])
    .output('p', [2, 6])
    .build();
  // x ∈ [0.5, 2.5): exp ≤ 12.2 (slope alike), log' ≤ 2, sqrt' ≤ 0.71, softplus' < 1.
  const { plan } = await check(t, bytes, { tol: tableTol(12.2, 12.2), amp: 1, offset: 1.5 });
  assert.equal(tableGroups(plan).length, 4);
  assert.ok(tableGroups(plan).every((g) => g.kind === 'table' && g.bits - g.shift === g.window), 'no saturation window');
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
    .output('elu', [2, 6])
    .output('selu', [2, 6])
    .output('celu', [2, 6])
    .output('softsign', [2, 6])
    .output('gelu', [2, 6])
    .output('geluTanh', [2, 6])
    .output('mish', [2, 6])
    .output('hs', [2, 6])
    .build();
  // x ∈ [-3, 3): slopes ≤ 1.76 (Selu), |f| ≤ 3.2; HardSigmoid's α rounded to 2^-8 (on |x| ≤ 3: 0.5 LSB).
  const { plan } = await check(t, bytes, { tol: tableTol(1.76, 3.2, 0.5), amp: 3 });
  assert.equal(tableGroups(plan).length, 7);
});

test('Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Atanh on [-0.9, 0.9)', async (t) => {
  const b = new OnnxBuilder().input('x', [2, 6]);
  const ops = ['Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Atanh'];
  for (const op of ops) b.node(op, ['x'], [op.toLowerCase()]);
  for (const op of ops) b.output(op.toLowerCase(), [2, 6]);
  // Slopes ≤ 5.3 (atanh at 0.9), |f| ≤ 2.7 (acos at −0.9).
  const { plan } = await check(t, b.build(), { tol: tableTol(5.3, 2.7), amp: 0.9 });
  assert.equal(tableGroups(plan).length, ops.length);
});

test('HardSwish: x·HardSigmoid(x), two ReLUs and a product', async (t) => {
  const bytes = new OnnxBuilder({ opset: 14 }).input('x', [2, 6]).node('HardSwish', ['x'], ['y']).output('y', [2, 6]).build();
  // The gate's 1/6 is kept to 2^-8 (1/6 → 43/256, off by 0.0013·|x|), then |x| ≤ 3 times the gate's
  // error, the gate times x's rounding and the product's rescale: ≤ 3.7 LSB.
  const { plan } = await check(t, bytes, { tol: 4 * LSB, amp: 3 });
  assert.deepEqual(plan.groups.map((g) => g.kind), ['shift', 'shift', 'product']);
});

test('Div by a computed divisor (either sign) and Reciprocal: one divide gadget each, rounded to the LSB', async (t) => {
  const bytes = new OnnxBuilder()
    .input('a', [2, 3])
    .input('b', [2, 3])
    .node('Div', ['a', 'b'], ['q'])
    .node('Neg', ['b'], ['nb'])
    .node('Div', ['a', 'nb'], ['qn'])
    .node('Reciprocal', ['b'], ['r'])
    .output('q', [2, 3])
    .output('qn', [2, 3])
    .output('r', [2, 3])
    .build();
  // a, b ∈ [1, 3): q = a/b rounded (0.5 LSB), plus δa/|b| + |a|·δb/b² ≤ (0.5 + 1.5) LSB.
  const { plan } = await check(t, bytes, { tol: 2.5 * LSB, amp: 1, offset: 2 });
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
  const { plan } = await check(t, bytes, { tol: 0, amp: 1, offset: 2 });
  const ints = quantizeInputs([[0.5, 0, 1, 1, 1]], plan.inputs.map((i) => i.scale), plan.inputs.map((i) => i.name));
  assertZkError(() => evaluate(plan, ints, { checkRanges: true }), 'INPUT_OUT_OF_RANGE', 'division by zero', 'Div_1');
});

/** Softmax's bound: each exp within ε = 1.5 LSB (fit 0.5 + rounding of x − max(x), 1), so y = e/Σe within ε·(1 + n). */
const softmaxTol = (n: number): number => (1.5 * (1 + n) + 0.5) * LSB;

test('Softmax opset 13 on the last axis and axis 1, and opset 11 (the axes from `axis` on flattened)', async (t) => {
  const b13 = new OnnxBuilder()
    .input('x', [2, 3, 4])
    .node('Softmax', ['x'], ['last'])
    .node('Softmax', ['x'], ['mid'], { axis: 1 })
    .output('last', [2, 3, 4])
    .output('mid', [2, 3, 4])
    .build();
  const { plan } = await check(t, b13, { tol: softmaxTol(4), amp: 3 });
  assert.equal(tableGroups(plan).length, 2);
  assert.ok(divideGroups(plan).every((g) => g.kind === 'divide' && g.positive && g.a.length === (g.a.length === 6 ? 6 : 8)));
  const b11 = new OnnxBuilder({ opset: 11 }).input('x', [2, 3, 4]).node('Softmax', ['x'], ['y'], { axis: 1 }).output('y', [2, 3, 4]).build();
  const { plan: p11 } = await check(t, b11, { tol: softmaxTol(12), amp: 3 });
  const d = divideGroups(p11)[0];
  assert.ok(d.kind === 'divide' && d.a.length === 2, 'opset 11 flattens [3, 4] into one row per batch');
});

test('LogSoftmax: x − max − log Σ exp, with a log table on [1, n]', async (t) => {
  const bytes = new OnnxBuilder().input('x', [3, 5]).node('LogSoftmax', ['x'], ['y']).output('y', [3, 5]).build();
  // x − max exact but for input rounding (2 LSB/2), log table 0.5·log(5) LSB, log' ≤ 1 times Σ of 5 exps (7.5 LSB).
  const { plan } = await check(t, bytes, { tol: (1 + 0.5 * Math.log(5) + 7.5) * LSB, amp: 2 });
  assert.equal(tableGroups(plan).length, 2);
});

test('Softmax costs no more than its parts: max tree, one table per element, one division per row', async () => {
  const bytes = new OnnxBuilder().input('x', [1, 10]).node('Softmax', ['x'], ['y'], { axis: -1 }).output('y', [1, 10]).build();
  const graph = loadOnnx(bytes);
  const raw = quantizeGraph(graph, { scale: SCALE });
  const rng = mulberry32(5);
  const plan = calibrate(raw, [quantizeInputs([Array.from(randomTensor(rng, [1, 10], 2))], [SCALE], ['x'])], HEADROOM);
  assert.deepEqual(plan.groups.map((g) => g.kind), ['shift', 'shift', 'shift', 'shift', 'table', 'divide', 'product']);
  assert.deepEqual(plan.groups.map((g) => (g.kind === 'product' || g.kind === 'divide' ? g.a.length : g.inputs.length)), [5, 2, 1, 1, 10, 1, 10]);
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
    .output('a', [2, 5])
    .output('b', [2, 5])
    .output('c', [2, 5])
    .output('d', [2, 5])
    .build();
  // x ∈ [0.5, 2.5): |x^-2| ≤ 4 with slope ≤ 16; x^2.5 ≤ 9.9 with slope ≤ 9.9.
  const { plan } = await check(t, bytes, { tol: tableTol(16, 9.9), amp: 1, offset: 1.5 });
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
    .output('ln', [2, 3, 8])
    .output('ln2', [2, 3, 8])
    .output('in', [2, 3, 8])
    .build();
  // Inputs in [-2, 2) (variance ≈ 1.3): y = (x − mean)/σ with x rounded (2^-9/σ ≤ 0.45 LSB per term,
  // through the mean too: ≤ 0.9 LSB), invStd to 2^-12 relative (|y| ≤ 3: 0.2 LSB) and the table's
  // fit, times |γ| ≤ 1: within 2 LSB.
  const { plan } = await check(t, bytes, { tol: 2 * LSB, amp: 2 });
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
  await check(t, bytes, { tol: 0.5 * LSB, seed: 3 });
});

// ---------------------------------------------------------------------------------------------
// Comparisons, logic and selection: exact on the quantized values (no error beyond input rounding)
// ---------------------------------------------------------------------------------------------

const groupKinds = (p: QuantizedGraph) => p.groups.map((g) => g.kind);

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
  const { plan } = await check(t, bytes, { tol: 0, seed: 2 });
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
    .output('w', [2, 4])
    .output('wc', [2, 4])
    .build();
  // Selection copies rounded inputs: 2^-9.
  const { plan } = await check(t, bytes, { tol: 0.5 * LSB });
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
  const { plan } = await check(t, bytes, { tol: 0 });
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
  await check(t, bytes, { tol: 0, seed: 7 });
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
    .output('label', [1])
    .output('row', [1, 3])
    .output('best', [1, 1])
    .output('k', [1, 1], 'int64')
    .output('kmin', [1, 1], 'int64')
    .build();
  // The rows are constants picked exactly (rounded to 2^-8 in the table: 2^-9), the best value a rounded input.
  const { plan } = await check(t, bytes, { tol: 0.5 * LSB });
  const kinds = groupKinds(plan);
  assert.ok(!kinds.includes('assert'), 'an ArgMax index needs no range assertion');
  assert.equal(kinds.filter((k) => k === 'zero').length, 1, 'the only zero tests are the ArgMax’s');
  // Only the ArgMax and picking a computed value (x at the index: one product per candidate) cost constraints.
  assert.deepEqual([...new Set(plan.groups.map((g) => g.node))], ['ArgMax_0', 'Gather_3'], 'the lookups and the ArgMax of a looked-up row cost nothing');
});

test('Gather, GatherElements and OneHot by indices computed from booleans (a tree walk)', async (t) => {
  // next = 2·node + [x > threshold[node]]: the shape of hummingbird's tree traversal.
  const bytes = new OnnxBuilder()
    .input('x', [1, 1])
    .initializerInt64('root', [1], [0])
    .initializer('thresholds', [3], [0.1, -0.3, 0.45])
    .initializerInt64('two', [], [2])
    .initializerInt64('one', [], [1])
    .initializer('leaves', [4], [-1.5, 0.25, 2, 3.75])
    .initializerInt64('depth', [], [4])
    .initializerInt64('offOn', [2], [0, 1])
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
    .node('Gather', ['leaves', 'leafIdx'], ['value'])
    .node('OneHot', ['leafIdx', 'depth', 'offOn'], ['hot'])
    .node('Neg', ['x'], ['nx'])
    .node('Concat', ['x', 'nx'], ['pair'], { axis: 1 })
    .node('GatherElements', ['pair', 'c0'], ['again'], { axis: 1 }) // x, or −x once x > 0.1
    .output('value', [1])
    .output('hot', [1, 4], 'int64')
    .output('again', [1, 1])
    .build();
  const { plan } = await check(t, bytes, { tol: 0.5 * LSB, amp: 1 });
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
    .output('g', [2, 2])
    .output('gc', [2, 2])
    .output('sc', [2, 5])
    .output('sa', [2, 5])
    .build();
  // Random int indices lie in [−4, 4]: in range for an axis of 5. Copies and sums of rounded inputs.
  await check(t, bytes, { tol: 1 * LSB });
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
  await check(t, bytes, { tol: 0.5 * LSB });
});

test('a computed index out of range has no proof (Gather), while OneHot gives all off like ONNX', () => {
  const bytes = new OnnxBuilder()
    .input('n', [1, 3], 'int64')
    .initializer('table', [4], [1, 2, 3, 4])
    .initializerInt64('depth', [], [4])
    .initializer('offOn', [2], [-1, 1])
    .node('Gather', ['table', 'n'], ['g'])
    .node('OneHot', ['n', 'depth', 'offOn'], ['h'])
    .output('g', [1, 3])
    .output('h', [1, 3, 4])
    .build();
  const plan = calibrate(quantizeGraph(loadOnnx(bytes), { scale: SCALE }), [[[0n, 1n, 2n]]], HEADROOM);
  const read = (p: QuantizedGraph, out: bigint[], o = 0) => out.map((v) => Number(v) / 2 ** p.outputs[o].scale);
  assert.deepEqual(read(plan, evaluate(plan, [[-1n, 3n, 0n]], { checkRanges: true }).outputs[0]), [4, 4, 1]);
  assertZkError(() => evaluate(plan, [[4n, 0n, 0n]], { checkRanges: true }), 'INPUT_OUT_OF_RANGE', 'out of range', 'Gather_0');
  // OneHot alone: index 9 of depth 4 is all off.
  const hot = new OnnxBuilder().input('n', [1, 2], 'int64').initializerInt64('depth', [], [4]).initializer('offOn', [2], [-1, 1])
    .node('OneHot', ['n', 'depth', 'offOn'], ['h']).output('h', [1, 2, 4]).build();
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
    .output('abs', [3, 6])
    .output('sign', [3, 6])
    .output('floor', [3, 6])
    .output('ceil', [3, 6])
    .output('round', [3, 6])
    .output('roundTies', [1, 6])
    .output('floorInt', [1, 6])
    .build();
  // Abs within input rounding; Floor/Ceil/Round of x·4 exact except within 2^-9 of a step (not sampled).
  const { plan } = await check(t, bytes, { tol: 0.5 * LSB, amp: 4, seed: 5 });
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
  const { plan } = await check(t, bytes, { tol: 0, amp: 4, seed: 6 });
  assert.ok(plan.groups.some((g) => g.kind === 'round' && g.mode === 'trunc'));
});

// ---------------------------------------------------------------------------------------------
// Tile, Resize/Upsample and ConvTranspose: index maps and constant weights, no gadget
// ---------------------------------------------------------------------------------------------

test('Tile', async (t) => {
  const bytes = new OnnxBuilder().input('x', [2, 3]).initializerInt64('r', [2], [2, 3]).node('Tile', ['x', 'r'], ['y']).output('y', [4, 9]).build();
  const { plan } = await check(t, bytes, { tol: 0.5 * LSB });
  assert.equal(plan.groups.length, 0);
});

test('Resize nearest (every nearest_mode), linear and cubic, by scales and by sizes; Upsample', async (t) => {
  const b = new OnnxBuilder({ opset: 13 })
    .input('x', [1, 2, 3, 4])
    .initializer('roi', [0], [])
    .initializer('up', [4], [1, 1, 2, 1.5])
    .initializer('none', [0], [])
    .initializerInt64('sizes', [4], [1, 2, 5, 3]);
  const outs: [string, number[]][] = [];
  const modes: [string, Record<string, string>, string, number[]][] = [
    ['n1', { mode: 'nearest' }, 'up', [1, 2, 6, 6]],
    ['n2', { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' }, 'up', [1, 2, 6, 6]],
    ['n3', { mode: 'nearest', nearest_mode: 'ceil', coordinate_transformation_mode: 'align_corners' }, 'sizes', [1, 2, 5, 3]],
    ['n4', { mode: 'nearest', nearest_mode: 'round_prefer_ceil', coordinate_transformation_mode: 'tf_half_pixel_for_nn' }, 'up', [1, 2, 6, 6]],
    ['l1', { mode: 'linear' }, 'up', [1, 2, 6, 6]],
    ['l2', { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, 'sizes', [1, 2, 5, 3]],
    ['l3', { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, 'sizes', [1, 2, 5, 3]],
    ['c1', { mode: 'cubic' }, 'up', [1, 2, 6, 6]],
    ['c2', { mode: 'cubic', exclude_outside: 1 as unknown as string, cubic_coeff_a: -0.5 as unknown as string }, 'sizes', [1, 2, 5, 3]],
  ];
  for (const [name, attrs, how, dims] of modes) {
    b.node('Resize', how === 'up' ? ['x', 'roi', 'up'] : ['x', 'roi', 'none', 'sizes'], [name], attrs);
    outs.push([name, dims]);
  }
  for (const [name, dims] of outs) b.output(name, dims);
  // Weights (products over two axes) are rounded to 2^-8 each: ≤ 16 taps of |w| ≤ 1.3 on |x| ≤ 1.
  const { plan } = await check(t, b.build(), { tol: dotTol(16, 0.2, 1, 1) });
  assert.equal(plan.groups.length, 0);
  const up = new OnnxBuilder({ opset: 9 }).input('x', [1, 1, 2, 3]).initializer('s', [4], [1, 1, 2, 2]).node('Upsample', ['x', 's'], ['y']).output('y', [1, 1, 4, 6]).build();
  await check(t, up, { tol: 0.5 * LSB });
});

test('ConvTranspose: strides, pads, output_padding, dilations, groups, output_shape', async (t) => {
  const rng = mulberry32(33);
  const bytes = new OnnxBuilder()
    .input('x', [1, 4, 3, 3])
    .initializer('W', [4, 3, 3, 3], randomTensor(rng, [4, 3, 3, 3], 1))
    .initializer('Wg', [4, 1, 2, 2], randomTensor(rng, [4, 1, 2, 2], 1))
    .initializer('B', [3], randomTensor(rng, [3], 1))
    .node('ConvTranspose', ['x', 'W', 'B'], ['a'], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] })
    .node('ConvTranspose', ['x', 'Wg'], ['g'], { group: 2, dilations: [2, 1] })
    .node('ConvTranspose', ['x', 'W'], ['s'], { strides: [2, 2], output_shape: [7, 8] })
    .output('a', [1, 3, 6, 6])
    .output('g', [1, 2, 5, 4])
    .output('s', [1, 3, 7, 8])
    .build();
  // At most 4 channels × 9 taps = 36 terms, |w| ≤ 1.
  const { plan } = await check(t, bytes, { tol: dotTol(36, 1, 1, 1) });
  assert.equal(plan.groups.length, 0);
});

// ---------------------------------------------------------------------------------------------
// Pools and reductions
// ---------------------------------------------------------------------------------------------

test('MaxPool 2x2 s2, 3x3 s1 with pads, ceil_mode', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 2, 7, 7])
    .node('MaxPool', ['x'], ['a'], { kernel_shape: [2, 2], strides: [2, 2] })
    .node('MaxPool', ['x'], ['b'], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] })
    .node('MaxPool', ['x'], ['c'], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 })
    .node('MaxPool', ['x'], ['d'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 })
    .output('a', [1, 2, 3, 3])
    .output('b', [1, 2, 7, 7])
    .output('c', [1, 2, 4, 4])
    .output('d', [1, 2, 4, 4])
    .build();
  // Max via shift-0 ReLUs: exact, only input rounding (2^-9).
  const { plan } = await check(t, bytes, { tol: 1 * LSB });
  assert.ok(shiftGroups(plan).every((g) => g.shift === 0 && g.relu));
});

test('AveragePool count_include_pad 0 and 1 with pads', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 2, 7, 7])
    .node('AveragePool', ['x'], ['ex'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 0 })
    .node('AveragePool', ['x'], ['inc'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 })
    .node('AveragePool', ['x'], ['plain'], { kernel_shape: [2, 2], strides: [2, 2] })
    .output('ex', [1, 2, 4, 4])
    .output('inc', [1, 2, 4, 4])
    .output('plain', [1, 2, 3, 3])
    .build();
  // K ≤ 9 terms with coefficients 1/9 … 1/4 (|c| ≤ 0.25), each rounded to 2^-8.
  const { plan } = await check(t, bytes, { tol: dotTol(9, 0.25, 1, 1) });
  assert.equal(plan.groups.length, 0);
});

test('GlobalAveragePool and GlobalMaxPool', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 3, 4, 5])
    .node('GlobalAveragePool', ['x'], ['avg'])
    .node('GlobalMaxPool', ['x'], ['max'])
    .output('avg', [1, 3, 1, 1])
    .output('max', [1, 3, 1, 1])
    .build();
  // Mean of 20: coefficient 1/20 rounded to 2^-8 (error 2^-9 each, on |x| ≤ 1) — K = 20 terms of
  // |c| = 0.05; max exact.
  const { plan } = await check(t, bytes, { tol: dotTol(20, 0.05, 1, 1) });
  assert.ok(shiftGroups(plan).every((g) => g.shift === 0 && g.relu), 'only the max costs gadgets');
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
    .output('mean', [2, 4])
    .output('sum', [2, 3, 1])
    .output('sumAll', [])
    .output('max', [1, 3, 1])
    .output('maxLast', [2, 3])
    .output('min', [])
    .output('min1', [2, 1, 4])
    .build();
  // Worst: the sum of all 24 elements, 24 rounded inputs (24 · 2^-9 = 12 LSB); the mean of 3 with
  // coefficient 1/3 rounded to 2^-8 is ≤ 3·(1/3 + 1)/2 LSB. Max/Min exact.
  const { plan } = await check(t, bytes, { tol: dotTol(24, 0, 1, 1) });
  assert.ok(shiftGroups(plan).every((g) => g.shift === 0 && g.relu));
});

test('ReduceMean over 300 values of about 50: output forms keep 8 significant bits of 1/300', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 1, 300])
    .node('ReduceMean', ['x'], ['y'], { keepdims: 0 })
    .output('y', [])
    .build();
  // 1/300 kept to 8 significant bits is off by at most 2^-9 relative: ≤ 80·2^-9 ≈ 0.16 on a mean below 80
  // (compileModel's promise, 2^(4 − scale)·max(1, |output|), would allow 3.1).
  await check(t, bytes, { tol: 80 * 2 ** -9, amp: 30, offset: 50 });
});

// ---------------------------------------------------------------------------------------------
// Data movement: every one of these must cost no gadget and be exact up to input rounding.
// ---------------------------------------------------------------------------------------------

/** Data movement copies wires: the only error is the input's rounding, ≤ 2^-9. */
const MOVE_TOL = 1 * LSB;

async function checkMovement(t: TestContext, bytes: Uint8Array, tol = MOVE_TOL): Promise<QuantizedGraph> {
  const { plan } = await check(t, bytes, { tol });
  assert.equal(plan.groups.length, 0, 'data movement costs no gadget');
  return plan;
}

test('Flatten (axis 2 and default)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [2, 3, 2, 2])
    .node('Flatten', ['x'], ['a'], { axis: 2 })
    .node('Flatten', ['x'], ['b'])
    .node('Flatten', ['x'], ['c'], { axis: -1 })
    .output('a', [6, 4])
    .output('b', [2, 12])
    .output('c', [12, 2])
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
    .output('a', [2, 12])
    .output('b', [4, 3, 2])
    .output('c', [4, 1, 2, 3])
    .build();
  await checkMovement(t, bytes);
});

test('Transpose (perm and default reversal)', async (t) => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 2, 3, 4])
    .node('Transpose', ['x'], ['a'], { perm: [0, 2, 1, 3] })
    .node('Transpose', ['x'], ['b'])
    .node('Transpose', ['x'], ['c'], { perm: [3, 1, 0, 2] })
    .output('a', [1, 3, 2, 4])
    .output('b', [4, 3, 2, 1])
    .output('c', [4, 2, 1, 3])
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
    .output('a', [3, 4])
    .output('b', [3, 4])
    .output('c', [1, 3, 4, 1])
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
    .output('a', [2, 6])
    .output('b', [2, 5])
    .output('c', [4, 3])
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
    .output('a', [2, 3])
    .output('b', [4, 3])
    .output('c', [4, 6])
    .output('d', [2, 6])
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
    .output('c', [2, 6, 7])
    .output('z', [2, 6, 7])
    .output('e', [2, 6, 7])
    .output('r', [2, 6, 7])
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
    .output('a', [3, 4])
    .output('b', [3, 2, 2])
    .output('c', [3])
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
    .output('a', [2, 1])
    .output('b', [2, 2])
    .output('c', [2, 3])
    .output('top', [1, 6])
    .output('bottom', [1, 6])
    .output('p', [2, 2])
    .output('q', [2, 2])
    .output('r', [2, 2])
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
    .output('a', [2, 3, 4])
    .output('b', [3, 1])
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
    .output('a', [2, 3])
    .output('b', [2, 3])
    .output('c', [2, 3])
    .output('d', [2, 3])
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

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

test('unsupported ops throw ONNX_UNSUPPORTED naming the node and the op', () => {
  const bytes = new OnnxBuilder()
    .input('x', [1, 4])
    .node('Relu', ['x'], ['r'])
    .node('Det', ['r'], ['s'])
    .node('Unique', ['s'], ['y'])
    .output('y')
    .build();
  const graph = loadOnnx(bytes);
  graph.nodes[1].name = 'my_gate';
  assert.deepEqual(unsupportedNodes(graph), [{ node: 'my_gate', op: 'Det' }, { node: 'Unique_2', op: 'Unique' }]);
  const e = assertZkError(() => quantizeGraph(graph, { scale: SCALE }), 'ONNX_UNSUPPORTED', 'my_gate', 'Det', 'Unique_2', 'Unique');
  assert.deepEqual(e.details?.nodes, [{ node: 'my_gate', op: 'Det' }, { node: 'Unique_2', op: 'Unique' }]);

  const one = loadOnnx(new OnnxBuilder().input('x', [1, 4]).node('NonZero', ['x'], ['y']).output('y').build());
  assertZkError(() => quantizeGraph(one, { scale: SCALE }), 'ONNX_UNSUPPORTED', 'NonZero_0', 'NonZero');
});

test('an op used in a way the quantizer cannot compile throws ONNX_UNSUPPORTED naming the node', () => {
  const pow = loadOnnx(new OnnxBuilder().input('x', [2]).input('y', [2]).node('Pow', ['x', 'y'], ['z']).output('z', [2]).build());
  assertZkError(() => quantizeGraph(pow, { scale: SCALE }), 'ONNX_UNSUPPORTED', 'Pow_0', 'Pow', 'exponent');
  // Conv multiplies by a computed kernel (a product per tap); ConvTranspose needs a constant one.
  const kernel = loadOnnx(new OnnxBuilder().input('x', [1, 1, 4]).input('w', [1, 1, 2]).node('ConvTranspose', ['x', 'w'], ['y']).output('y', [1, 1, 5]).build());
  assertZkError(() => quantizeGraph(kernel, { scale: SCALE }), 'ONNX_UNSUPPORTED', 'ConvTranspose_0', 'kernel');
});

test('Reshape to an impossible shape throws SHAPE_MISMATCH', () => {
  const reshape = (shape: number[]) =>
    loadOnnx(new OnnxBuilder().input('x', [2, 3]).initializerInt64('s', [shape.length], shape).node('Reshape', ['x', 's'], ['y']).output('y').build());
  assertZkError(() => quantizeGraph(reshape([4, 2]), { scale: SCALE }), 'SHAPE_MISMATCH', 'Reshape_0');
  // 6 elements do not split into rows of 4: -1 would have to be 1.5.
  assertZkError(() => quantizeGraph(reshape([4, -1]), { scale: SCALE }), 'SHAPE_MISMATCH', 'Reshape_0');
  assertZkError(() => quantizeGraph(reshape([-1, -1]), { scale: SCALE }), 'SHAPE_MISMATCH', 'Reshape_0');
});

test('a graph reading an undefined value throws ONNX_MALFORMED', () => {
  const bytes = new OnnxBuilder().input('x', [2]).node('Relu', ['x'], ['r']).node('Neg', ['r'], ['y']).output('y', [2]).build();
  const graph = loadOnnx(bytes);
  graph.nodes[1].inputs[0] = 'ghost';
  assertZkError(() => quantizeGraph(graph, { scale: SCALE }), 'ONNX_MALFORMED', 'ghost', 'Neg_1');
  const noOutput = loadOnnx(bytes);
  noOutput.outputs[0] = { ...noOutput.outputs[0], name: 'nowhere' };
  assertZkError(() => quantizeGraph(noOutput, { scale: SCALE }), 'ONNX_MALFORMED', 'nowhere');
});

test('loadOnnx on random bytes or an empty buffer throws ONNX_MALFORMED', () => {
  assertZkError(() => loadOnnx(new Uint8Array(0)), 'ONNX_MALFORMED');
  for (let seed = 1; seed <= 200; seed++) {
    const rng = mulberry32(seed);
    const bytes = Uint8Array.from({ length: 1 + Math.floor(rng() * 256) }, () => Math.floor(rng() * 256));
    assertZkError(() => loadOnnx(bytes), 'ONNX_MALFORMED');
  }
  // A truncated real model is not a model either.
  const model = new OnnxBuilder().input('x', [2]).node('Relu', ['x'], ['y']).output('y', [2]).build();
  assertZkError(() => loadOnnx(model.subarray(0, model.length - 3)), 'ONNX_MALFORMED');
});
