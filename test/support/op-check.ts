/**
 * One small model against real onnxruntime (no circom), for the per-family op tests: quantize, calibrate
 * on a few seeded samples with 2 bits of headroom, evaluate the integer semantics (range checks on) on
 * fresh samples, and compare every output element with onnxruntime's float32 output.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelVisibility } from '../../src/commit/visibility.js';
import { parseInputs, quantizeInputs } from '../../src/io/input.js';
import { sizeOf } from '../../src/onnx/graph.js';
import { loadOnnx } from '../../src/onnx/load.js';
import { calibrate } from '../../src/quantize/calibrate.js';
import { evaluate } from '../../src/quantize/evaluate.js';
import type { QuantizedGraph } from '../../src/quantize/plan.js';
import { quantizeGraph } from '../../src/quantize/trace.js';
import { runReference } from '../../src/reference/onnxruntime.js';
import { REPO_ROOT } from './env.js';
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
}

/** Runs the check; returns the calibrated plan and the largest error seen. */
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
  const toInts = (s: number[][]) => quantizeInputs(s, raw.inputs.map((i) => i.scale), raw.inputs.map((i) => i.name));
  const calibration = opts.samples ?? Array.from({ length: 4 }, sample);
  const plan = calibrate(raw, calibration.map(toInts), 2);
  let maxErr = 0;
  for (const s of opts.samples ?? Array.from({ length: 3 }, sample)) {
    const reference = await runReference(bytes, graph.inputs, s);
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
  const ints = quantizeInputs(input, raw.inputs.map((i) => i.scale), raw.inputs.map((i) => i.name));
  const plan = calibrate(raw, [ints], 2);
  const outputs = evaluate(plan, ints, { checkRanges: true }).outputs.map((o, k) => o.map((v) => Number(v) / 2 ** plan.outputs[k].scale));
  return { outputs, plan };
}

/** Users' report cases (../shared/cases beside the repository). */
export const CASES = resolve(REPO_ROOT, '..', 'shared', 'cases');

/** ONNX's operator suite (../shared/onnx-node): each case's output_data is the ONNX reference result. */
export const NODE_SUITE = resolve(REPO_ROOT, '..', 'shared', 'onnx-node');

/** A model whose only op (Det, a determinant) zkinfer refuses: for the tests of refusals. Every corpus model's ops are supported. */
export const unsupportedModel = (): Uint8Array => new OnnxBuilder().input('x', [2, 2]).node('Det', ['x'], ['y']).output('y', []).build();
