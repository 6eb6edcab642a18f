import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { compileCircom } from '../circuit/compile.js';
import { emitCircom } from '../circuit/emit.js';
import { commit } from '../commit/poseidon.js';
import { type CommitmentSpecs, weightsDigest } from '../commit/public.js';
import { DEFAULT_VISIBILITY, type ModelVisibility } from '../commit/visibility.js';
import { isZkError, ZkError } from '../core/errors.js';
import { quantizeInputs } from '../io/input.js';
import { loadOnnx } from '../onnx/load.js';
import type { OnnxGraph } from '../onnx/graph.js';
import { sizeOf } from '../onnx/graph.js';
import { calibrate } from '../quantize/evaluate.js';
import { quantizeForPlan } from '../quantize/input.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import { planToJson } from '../quantize/serialize.js';
import { quantizeGraph } from '../quantize/trace.js';
import { runReference } from '../reference/onnxruntime.js';
import { type AccuracyReport, type ModelInfo, modelFiles } from './layout.js';

export interface CompileOptions {
  /** Fraction bits of the fixed point; by default calibration picks it (AUTO_SCALES). */
  scale?: number;
  /** Extra range bits above the largest value seen in calibration (default 2: 4× margin). */
  headroomBits?: number;
  /** Calibration samples, each one flat array per graph input; random ones when absent. */
  samples?: number[][][];
  name?: string;
  /** What proofs reveal (default: public input and output, weights fixed in the circuit). */
  visibility?: ModelVisibility;
  progress?: (stage: string, fraction: number) => void;
}

export const DEFAULT_SCALE = 8;
export const DEFAULT_HEADROOM = 2;

/**
 * ONNX bytes → a compiled model directory: quantized plan, circom program, r1cs, witness wasm and
 * model.json with shapes, scales, per-layer constraints and the accuracy against onnxruntime.
 */
export async function compileModel(onnx: Uint8Array, outDir: string, options: CompileOptions = {}): Promise<ModelInfo> {
  const headroomBits = options.headroomBits ?? DEFAULT_HEADROOM;
  if (options.scale !== undefined && (!Number.isInteger(options.scale) || options.scale < 1 || options.scale > 32)) {
    throw new ZkError('INPUT_INVALID', `scale must be a whole number of bits from 1 to 32, got ${options.scale}`);
  }
  const progress = options.progress ?? (() => {});
  const visibility = options.visibility ?? DEFAULT_VISIBILITY;
  progress('parse', 0);
  const graph = loadOnnx(onnx);
  const samples = options.samples ?? randomSamples(graph, 8);
  progress('quantize', 0.05);
  const quantizeAt = async (scale: number) => {
    const quantized = calibrate(quantizeGraph(graph, { scale, visibility }), samples.map((s) => toIntegers(quantizedInputsOf(graph, scale), s)), headroomBits);
    return { scale, quantized, accuracy: await measureAccuracy(onnx, graph, quantized, samples) };
  };
  const { scale, quantized, accuracy } = options.scale !== undefined ? await quantizeAt(options.scale) : await calibrateScale(quantizeAt);
  const files = modelFiles(outDir);
  mkdirSync(files.buildDir, { recursive: true });
  progress('circom', 0.15);
  const source = emitCircom(quantized, options.name ?? graph.name);
  const compiled = await compileCircom(files.buildDir, source.code);
  const info: ModelInfo = {
    format: 'zkinfer-model/1',
    name: options.name ?? graph.name,
    onnxSha256: createHash('sha256').update(onnx).digest('hex'),
    scale,
    headroomBits,
    visibility,
    inputs: quantized.inputs.map((inp, i) => ({ name: inp.name, dims: inp.dims, dtype: inp.dtype, scale: inp.scale, signal: source.inputSignals[i] })),
    outputs: quantized.outputs.map((o, i) => ({ name: o.name, dims: o.dims, dtype: o.dtype, scale: o.scale, signal: source.outputSignals[i] })),
    layers: source.layers,
    constraints: { layers: source.layers.reduce((s, l) => s + l.constraints, 0), r1cs: compiled.constraints },
    publicSignals: compiled.publicSignals,
    publicLayout: source.publicLayout,
    commitments: await commitmentSpecs(quantized, source.packing),
    accuracy,
    compileSeconds: compiled.seconds,
  };
  writeFileSync(files.onnx, onnx);
  writeFileSync(files.plan, planToJson(quantized));
  writeFileSync(files.info, JSON.stringify(info, null, 2) + '\n');
  progress('done', 1);
  return info;
}

/** The packing of hashed parts, with the weights commitment (or digest of public weights) computed now. */
async function commitmentSpecs(plan: QuantizedGraph, packing: ReturnType<typeof emitCircom>['packing']): Promise<CommitmentSpecs> {
  const { visibility } = plan;
  const specs: CommitmentSpecs = {};
  if (visibility.input === 'hashed') specs.input = packing.input;
  if (visibility.output === 'hashed') specs.output = packing.output;
  if (visibility.weights === 'hashed' && packing.weights) {
    specs.weights = { tensors: packing.weights, value: String(await commit(plan.weights.map((w) => w.values), packing.weights)) };
  }
  if (visibility.weights === 'public' && plan.weights.length) specs.weightsSha256 = weightsDigest(plan.weights.flatMap((w) => w.values));
  return specs;
}

/** Scales calibration tries when the caller fixes none, smallest (cheapest circuit) first. */
export const AUTO_SCALES = [DEFAULT_SCALE, 10, 12, 14];

/**
 * The smallest scale whose error on the calibration samples is within the tolerance it promises;
 * if none is, the most accurate one tried (model.json then says it is not within tolerance).
 */
async function calibrateScale<T extends { accuracy: AccuracyReport }>(quantizeAt: (scale: number) => Promise<T>): Promise<T> {
  let best: T | undefined;
  for (const scale of AUTO_SCALES) {
    let tried: T;
    try {
      tried = await quantizeAt(scale);
    } catch (e) {
      // A larger scale can need more range bits than the field holds: stop at the last one that fit.
      if (best && isZkError(e) && e.code === 'INPUT_OUT_OF_RANGE') break;
      throw e;
    }
    if (tried.accuracy.withinTolerance) return tried;
    if (!best || tried.accuracy.maxAbsError < best.accuracy.maxAbsError) best = tried;
  }
  return best!;
}

const quantizedInputsOf = (graph: OnnxGraph, scale: number) => graph.inputs.map((i) => ({ name: i.name, scale: i.dtype === 'float' ? scale : 0 }));

const toIntegers = (inputs: { name: string; scale: number }[], sample: number[][]): bigint[][] =>
  quantizeInputs(sample, inputs.map((i) => i.scale), inputs.map((i) => i.name));

/** Without calibration data: uniform floats in [-1, 1), booleans, and small integers, seeded. */
function randomSamples(graph: OnnxGraph, count: number): number[][][] {
  let seed = 0x2545f491;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: count }, () =>
    graph.inputs.map((inp) =>
      Array.from({ length: sizeOf(inp.dims) }, () => (inp.dtype === 'float' ? next() * 2 - 1 : inp.dtype === 'bool' ? Math.round(next()) : Math.floor(next() * 4))),
    ),
  );
}

/**
 * The promise we state: outputs within 2^(4 − scale) of the float model, relative to the larger of 1
 * and the model's largest output (1/16 at the default scale of 8).
 */
export const toleranceFor = (scale: number, maxAbsReference: number): number => 2 ** (4 - scale) * Math.max(1, maxAbsReference);

async function measureAccuracy(onnx: Uint8Array, graph: OnnxGraph, plan: QuantizedGraph, samples: number[][][]): Promise<AccuracyReport> {
  let maxAbsReference = 0;
  const perOutput = plan.outputs.map((o) => ({ name: o.name, maxAbsError: 0 }));
  for (const sample of samples) {
    const reference = await runReference(onnx, graph.inputs, sample);
    const ours = quantizeForPlan(plan, sample).outputs;
    ours.forEach((out, o) =>
      out.forEach((v, k) => {
        const ref = reference[o][k];
        maxAbsReference = Math.max(maxAbsReference, Math.abs(ref));
        perOutput[o].maxAbsError = Math.max(perOutput[o].maxAbsError, Math.abs(Number(v) / 2 ** plan.outputs[o].scale - ref));
      }),
    );
  }
  const maxAbsError = Math.max(0, ...perOutput.map((o) => o.maxAbsError));
  const tolerance = toleranceFor(plan.scale, maxAbsReference);
  return { samples: samples.length, maxAbsError, maxAbsReference, tolerance, withinTolerance: maxAbsError <= tolerance, perOutput };
}
