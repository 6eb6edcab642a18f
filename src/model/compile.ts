import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { compileCircom } from '../circuit/compile.js';
import { emitCircom } from '../circuit/emit.js';
import { commit } from '../commit/poseidon.js';
import { type CommitmentSpecs, weightsDigest } from '../commit/public.js';
import { DEFAULT_VISIBILITY, type ModelVisibility } from '../commit/visibility.js';
import { isZkError, ZkError } from '../core/errors.js';
import { loadOnnx } from '../onnx/load.js';
import type { OnnxGraph } from '../onnx/graph.js';
import { sizeOf } from '../onnx/graph.js';
import { calibrate } from '../quantize/evaluate.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import { planToJson } from '../quantize/serialize.js';
import { quantizeGraph } from '../quantize/trace.js';
import { accuracyError, firstDivergence, measureAccuracy, onnxruntimeReference, type Reference, toIntegers } from './accuracy.js';
import { type GraphSettings, prepareGraph, type PreparedGraph } from './prepare.js';
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
  /** Symbolic dim sizes and inputs fixed as constants (see prepare.ts). */
  settings?: GraphSettings;
  /** Compile even when the measured error exceeds the stated tolerance (model.json and proofs say so). */
  acceptError?: boolean;
  /** The float outputs to measure against (default: onnxruntime on the model). */
  reference?: Reference;
}

/** The quantized model before circom: what `compile` emits and `mock` runs. */
export interface QuantizedModel {
  prepared: PreparedGraph;
  scale: number;
  quantized: QuantizedGraph;
  accuracy: AccuracyReport;
}

export const DEFAULT_SCALE = 8;
export const DEFAULT_HEADROOM = 2;

/**
 * ONNX bytes → a compiled model directory: quantized plan, circom program, r1cs, witness wasm and
 * model.json with shapes, scales, per-layer constraints and the accuracy against onnxruntime.
 */
export async function compileModel(onnx: Uint8Array, outDir: string, options: CompileOptions = {}): Promise<ModelInfo> {
  const progress = options.progress ?? (() => {});
  const { prepared, scale, quantized, accuracy } = await quantizeModel(onnx, options);
  const { graph } = prepared;
  const headroomBits = options.headroomBits ?? DEFAULT_HEADROOM;
  const visibility = quantized.visibility;
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
    ...graphSettingsOf(prepared, options.settings),
    compileSeconds: compiled.seconds,
  };
  writeFileSync(files.onnx, onnx);
  writeFileSync(files.plan, planToJson(quantized));
  writeFileSync(files.info, JSON.stringify(info, null, 2) + '\n');
  progress('done', 1);
  return info;
}

/**
 * ONNX bytes → the calibrated integer plan, and its accuracy against onnxruntime on the calibration
 * samples (or random ones). Fails with INACCURATE, naming the worst output element and the first
 * node that diverges, when the error exceeds the stated tolerance, unless `acceptError`.
 */
export async function quantizeModel(onnx: Uint8Array, options: CompileOptions = {}): Promise<QuantizedModel> {
  const headroomBits = options.headroomBits ?? DEFAULT_HEADROOM;
  if (options.scale !== undefined && (!Number.isInteger(options.scale) || options.scale < 1 || options.scale > 32)) {
    throw new ZkError('INPUT_INVALID', `scale must be a whole number of bits from 1 to 32, got ${options.scale}`);
  }
  const progress = options.progress ?? (() => {});
  const visibility = options.visibility ?? DEFAULT_VISIBILITY;
  progress('parse', 0);
  const prepared = prepareGraph(loadOnnx(onnx), options.settings, options.samples?.[0]);
  const { graph } = prepared;
  const samples = options.samples ?? randomSamples(graph, 8);
  samples.forEach((s) => checkSample(graph, s));
  const reference = options.reference ?? onnxruntimeReference(onnx, prepared);
  progress('quantize', 0.05);
  const quantizeAt = async (scale: number) => {
    const base = quantizeGraph(graph, { scale, visibility });
    const quantized = calibrate(base, samples.map((s) => toIntegers(base.inputs, s)), headroomBits);
    return { scale, quantized, accuracy: await measureAccuracy(reference, quantized, samples) };
  };
  const chosen = options.scale !== undefined ? await quantizeAt(options.scale) : await calibrateScale(quantizeAt);
  let { accuracy } = chosen;
  if (!accuracy.withinTolerance) {
    const worst = accuracy.worst ? samples[accuracy.worst.sample] : samples[0];
    const divergence = await firstDivergence(onnx, prepared, chosen.scale, headroomBits, samples, worst);
    accuracy = { ...accuracy, ...(divergence ? { divergence } : {}) };
    if (!options.acceptError) throw accuracyError(accuracy, divergence);
    accuracy.accepted = true;
  }
  return { prepared, scale: chosen.scale, quantized: chosen.quantized, accuracy };
}

const graphSettingsOf = (prepared: PreparedGraph, settings: GraphSettings = {}): Pick<ModelInfo, 'graphSettings'> => {
  const dims = Object.keys(prepared.dims).length ? { dims: prepared.dims } : {};
  const fix = settings.fix && Object.keys(settings.fix).length ? { fix: settings.fix } : {};
  return Object.keys(dims).length + Object.keys(fix).length ? { graphSettings: { ...dims, ...fix } } : {};
};

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

/** A sample must hold one row per compiled input, each of its size (SHAPE_MISMATCH otherwise). */
export function checkSample(graph: OnnxGraph, sample: readonly number[][]): void {
  if (sample.length !== graph.inputs.length) throw new ZkError('SHAPE_MISMATCH', `a sample has ${sample.length} input(s); the model takes ${graph.inputs.length} (${graph.inputs.map((i) => i.name).join(', ')})`);
  graph.inputs.forEach((inp, i) => {
    if (sample[i].length !== sizeOf(inp.dims)) throw new ZkError('SHAPE_MISMATCH', `input "${inp.name}" has ${sample[i].length} values; shape [${inp.dims}] needs ${sizeOf(inp.dims)}`, { input: inp.name });
  });
}

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
