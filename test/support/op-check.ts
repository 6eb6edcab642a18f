/**
 * One small model against real onnxruntime (no circom), for the per-family op tests: quantize, calibrate
 * on a few seeded samples with 2 bits of headroom, evaluate the integer semantics (range checks on) on
 * fresh samples, and compare every output element with onnxruntime's float32 output.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ModelVisibility } from '../../src/commit/visibility.js';
import { ZkError, type ZkErrorCode } from '../../src/core/errors.js';
import { parseInputs, quantizeInputs } from '../../src/io/input.js';
import { sizeOf } from '../../src/onnx/graph.js';
import { loadOnnx } from '../../src/onnx/load.js';
import { calibrate } from '../../src/quantize/calibrate.js';
import { evaluate } from '../../src/quantize/evaluate.js';
import type { QuantizedGraph } from '../../src/quantize/plan.js';
import { quantizeGraph } from '../../src/quantize/trace.js';
import { runReference } from '../../src/reference/onnxruntime.js';
import { OnnxBuilder, mulberry32, randomTensor } from './onnx-builder.js';

export interface OpCheck {
  /** Absolute tolerance per output element. */
  tol: number;
  scale?: number;
  seed?: number;
  /** Float inputs uniform in [offset − amp, offset + amp). */
  amp?: number;
  offset?: number;
  /** Fixed inputs instead of random ones (one flat array per graph input, per sample). */
  samples?: number[][][];
  visibility?: ModelVisibility;
  /** Also check the plan's output dims against onnxruntime's output shapes (on the first sample). */
  checkDims?: boolean;
}

/**
 * Runs the plan on fixed-point inputs (range checks on) and asserts every output element is within
 * `tol` of onnxruntime's `reference`; returns the largest |error|.
 */
export function assertNearReference(plan: QuantizedGraph, inputs: bigint[][], reference: number[][], tol: number): number {
  const ours = evaluate(plan, inputs, { checkRanges: true }).outputs;
  assert.equal(ours.length, reference.length);
  let maxErr = 0;
  ours.forEach((out, o) => {
    assert.equal(out.length, reference[o].length, `output ${plan.outputs[o].name} length`);
    out.forEach((v, k) => {
      const got = Number(v) / 2 ** plan.outputs[o].scale;
      const err = Math.abs(got - reference[o][k]);
      maxErr = Math.max(maxErr, err);
      assert.ok(err <= tol, `${plan.outputs[o].name}[${k}]: ${got} vs onnxruntime ${reference[o][k]} (|err| ${err} > tol ${tol})`);
    });
  });
  return maxErr;
}

/** Runs the check; returns the calibrated plan and the largest error seen. */
export async function checkAgainstOrt(bytes: Uint8Array, opts: OpCheck): Promise<{ plan: QuantizedGraph; maxErr: number }> {
  const graph = loadOnnx(bytes);
  const rng = mulberry32(opts.seed ?? 99);
  const sample = (): number[][] =>
    graph.inputs.map((inp) =>
      inp.dtype === 'float'
        ? Array.from(randomTensor(rng, inp.dims, opts.amp ?? 1), (v) => Math.fround(v + (opts.offset ?? 0)))
        : Array.from({ length: sizeOf(inp.dims) }, () => (inp.dtype === 'bool' ? Math.floor(rng() * 2) : Math.floor(rng() * 9) - 4)),
    );
  const raw = quantizeGraph(graph, { scale: opts.scale ?? 8, visibility: opts.visibility });
  const toInts = (s: number[][]) =>
    quantizeInputs(
      s,
      raw.inputs.map((i) => i.scale),
      raw.inputs.map((i) => i.name),
    );
  const calibration = opts.samples ?? Array.from({ length: 4 }, sample);
  const plan = calibrate(raw, calibration.map(toInts), 2);
  let maxErr = 0;
  for (const [round, s] of (opts.samples ?? Array.from({ length: 3 }, sample)).entries()) {
    const reference = await runReference(bytes, graph.inputs, s);
    if (opts.checkDims && round === 0) {
      assert.deepEqual(
        plan.outputs.map((o) => o.dims),
        await ortDims(bytes, s),
        'output shapes',
      );
    }
    maxErr = Math.max(maxErr, assertNearReference(plan, toInts(s), reference, opts.tol));
  }
  return { plan, maxErr };
}

/**
 * A case of ../shared/cases: its network.onnx on its input.json, calibrated on that input, against
 * onnxruntime's value (written into the test, as the cases' README gives it).
 */
export function runCase(dir: string, scale = 8): { outputs: number[][]; plan: QuantizedGraph } {
  const graph = loadOnnx(readFileSync(join(dir, 'network.onnx')));
  const input = parseInputs(JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8')), graph.inputs);
  const raw = quantizeGraph(graph, { scale });
  const ints = quantizeInputs(
    input,
    raw.inputs.map((i) => i.scale),
    raw.inputs.map((i) => i.name),
  );
  const plan = calibrate(raw, [ints], 2);
  const outputs = evaluate(plan, ints, { checkRanges: true }).outputs.map((o, k) => o.map((v) => Number(v) / 2 ** plan.outputs[k].scale));
  return { outputs, plan };
}

/** Users' report cases and ONNX's operator suite (each case's output_data is the ONNX reference result). */
export { CASES, ONNX_NODE as NODE_SUITE } from './env.js';

/** A model whose only op (Det, a determinant) zkinfer refuses: for the tests of refusals. Every corpus model's ops are supported. */
export const unsupportedModel = (): Uint8Array => new OnnxBuilder().input('x', [2, 2]).node('Det', ['x'], ['y']).output('y', []).build();

// ---------------------------------------------------------------------------------------------
// The per-family op tests (ops-linear, ops-activation, ops-arithmetic, ops-table, ops-logic,
// ops-resize, ops-pool, ops-movement, ops-errors): each op on a small seeded model at scale 8,
// calibrated on 4 random samples with 2 bits of headroom, evaluated on 3 fresh ones (range checks
// on) against onnxruntime's float32 outputs and output shapes.
//
// Error model at scale s = 8 (LSB = 2^-8), which the per-test tolerances are built from:
// - a float input is rounded to the 2^-8 grid: |δx| ≤ 2^-9;
// - a folded coefficient c on a scale-8 wire is rounded to 2^-8 (the builder keeps at most `scale`
//   fraction bits beyond the wire's scale): |δc| ≤ 2^-9; a bias is rounded at the form's scale (≥ 2^-8
//   for float wires, 2^-16 once a coefficient needs all 8 bits);
// - so one term c·x costs ≤ 2^-9·(|c| + |x|), and a K-term dot product ≤ K·(cmax + xmax)/2 · 2^-8;
// - a shift gadget that drops bits rounds to nearest: ≤ 2^-9 each; a ReLU of scale-8 wires with ±1
//   coefficients (Relu, Max, Min, Clip, MaxPool) has shift 0 and is exact;
// - a product a·b of scale-8 operands is exact at scale 16, so it costs ≤ 2^-9·(|a| + |b|);
// - a table's own error is bounded by its fit: max |table − f| over every input of the window is at
//   most 0.5 LSB·max(1, |f|) (the fitter's target, checked on every grid point and recorded as the
//   group's maxError); on top of it comes the rounding of the input to the 2^-8 grid: ≤ 2^-9·max|f'|;
// - onnxruntime computes in float32 (relative error ~1e-7 at these magnitudes): negligible.
// ---------------------------------------------------------------------------------------------

/** The working scale of the per-family op tests. */
export const SCALE = 8;
export const LSB = 2 ** -SCALE;
/** Calibration headroom in bits. */
export const HEADROOM = 2;

/** The worst-case error of a K-term dot product with |coef| ≤ cmax and |x| ≤ xmax, plus `extra` LSBs. */
export const dotTol = (k: number, cmax = 1, xmax = 1, extra = 0): number => ((k * (cmax + xmax)) / 2 + extra) * LSB;
/** A table's fit (0.5 LSB·max(1, |f|)) plus the input's rounding (0.5 LSB·max|f'|), plus `extra` LSBs. */
export const tableTol = (maxSlope: number, maxAbs = 1, extra = 0): number => (0.5 * Math.max(1, maxAbs) + 0.5 * maxSlope + extra) * LSB;
/** Softmax's bound: each exp within ε = 1.5 LSB (fit 0.5 + rounding of x − max(x), 1), so y = e/Σe within ε·(1 + n). */
export const softmaxTol = (n: number): number => (1.5 * (1 + n) + 0.5) * LSB;

/** Output shapes from onnxruntime itself, to check the tracer's dims (runReference returns data only). */
export async function ortDims(bytes: Uint8Array, sample: number[][]): Promise<number[][]> {
  const graph = loadOnnx(bytes);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    graph.inputs.forEach((inp, i) => {
      feeds[inp.name] =
        inp.dtype === 'float'
          ? new ort.Tensor('float32', Float32Array.from(sample[i]), inp.dims)
          : inp.dtype === 'bool'
            ? new ort.Tensor('bool', Uint8Array.from(sample[i]), inp.dims)
            : new ort.Tensor(
                'int64',
                BigInt64Array.from(sample[i], (v) => BigInt(v)),
                inp.dims,
              );
    });
    const out = await session.run(feeds);
    return session.outputNames.map((n) => [...out[n].dims]);
  } finally {
    await session.release();
  }
}

const report: { name: string; maxErr: number; tol: number }[] = [];

/**
 * checkAgainstOrt at scale 8 (seed 1234 unless given) with the output shapes checked, recording the
 * largest error per test: the test file prints them all as a table when it ends.
 */
export async function checkOp(
  t: TestContext,
  bytes: Uint8Array,
  opts: Omit<OpCheck, 'scale' | 'checkDims'>,
): Promise<{ plan: QuantizedGraph; maxErr: number }> {
  const checked = await checkAgainstOrt(bytes, { ...opts, seed: opts.seed ?? 1234, scale: SCALE, checkDims: true });
  t.diagnostic(`max |err| ${checked.maxErr.toExponential(3)} (${(checked.maxErr / LSB).toFixed(3)} LSB), tol ${opts.tol.toExponential(3)}`);
  if (report.length === 0) {
    after(() => {
      const lines = report.map(
        (r) => `  ${r.name.padEnd(58)} max |err| ${r.maxErr.toExponential(3).padStart(10)}   tol ${r.tol.toExponential(3)} (${(r.tol / LSB).toFixed(2)} LSB)`,
      );
      console.log(`\nlargest error per test (LSB = 2^-${SCALE}):\n${lines.join('\n')}`);
    });
  }
  report.push({ name: t.name, maxErr: checked.maxErr, tol: opts.tol });
  return checked;
}

export const shiftGroups = (p: QuantizedGraph) => p.groups.filter((g) => g.kind === 'shift');
export const productGroups = (p: QuantizedGraph) => p.groups.filter((g) => g.kind === 'product');
export const tableGroups = (p: QuantizedGraph) => p.groups.filter((g) => g.kind === 'table');
export const divideGroups = (p: QuantizedGraph) => p.groups.filter((g) => g.kind === 'divide');
export const groupKinds = (p: QuantizedGraph) => p.groups.map((g) => g.kind);

/** Asserts that f throws a ZkError with this code whose message mentions every fragment; returns it. */
export function assertZkError(f: () => unknown, code: ZkErrorCode, ...fragments: (string | RegExp)[]): ZkError {
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

/** Uniform in [lo, hi). */
export const uniform = (rng: () => number, n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());

/** checkOp for an op that folds into linear forms: asserts it costs no gadget; returns the plan. */
export async function checkFolded(t: TestContext, bytes: Uint8Array, tol: number): Promise<QuantizedGraph> {
  const { plan } = await checkOp(t, bytes, { tol });
  assert.deepEqual(
    plan.groups.map((g) => `${g.kind} (${g.node})`),
    [],
    'folds into linear forms: no gadget',
  );
  return plan;
}
