import { sha256Hex } from '../core/hash.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { compileCircom } from '../circuit/compile.js';
import { type CircuitSource, emitCircom } from '../circuit/emit.js';
import { commit } from '../commit/poseidon.js';
import { type CommitmentSpecs, publicSignalCount, weightsDigest } from '../commit/public.js';
import { bindWeights, DEFAULT_VISIBILITY, type ModelVisibility } from '../commit/visibility.js';
import { isZkError, ZkError } from '../core/errors.js';
import { loadOnnx } from '../onnx/load.js';
import type { OnnxGraph } from '../onnx/graph.js';
import { sizeOf } from '../onnx/graph.js';
import { calibrate } from '../quantize/calibrate.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import { planToJson } from '../quantize/serialize.js';
import { quantizeGraph } from '../quantize/trace.js';
import { checkPtauBudget, requiredPower } from '../setup/index.js';
import { DEFAULT_PROOF_SYSTEM, type ProofSystem } from '../core/systems.js';
import { PROOF_SYSTEM } from '../systems/index.js';
import { canonicalJson } from '../setup/keys.js';
import { accuracyError, firstDivergence, measureAccuracy, onnxruntimeReference, type Reference, toIntegers } from './accuracy.js';
import { type GraphSettings, hasGraphSettings, prepareGraph, type PreparedGraph } from './prepare.js';
import { type AccuracyReport, type BuildInfo, checkCircuit, type ModelInfo, modelFiles } from './layout.js';

export interface CompileOptions {
  /** Fraction bits of the fixed point; by default calibration picks it (AUTO_SCALES). */
  scale?: number;
  /** Extra range bits above the largest value seen in calibration (default 2: 4× margin). */
  headroomBits?: number;
  /** Calibration samples, each one flat array per graph input; random ones when absent. */
  samples?: number[][][];
  name?: string;
  /** What proofs reveal (default: public input and output, weights fixed in the circuit); private weights are bound as hashed ones. */
  visibility?: ModelVisibility;
  progress?: (stage: string, fraction: number) => void;
  /**
   * Refused (TOO_LARGE) from the plan's exact count, before circom runs: more constraints than
   * `constraints`, or a ptau above power `ptauPower` for `system` (default Groth16; see checkPtauBudget).
   */
  limits?: { constraints?: number; ptauPower?: number; system?: ProofSystem };
  /** Called with the pid of the circom process, so a cancelled build can stop it. */
  onProcess?: (pid: number) => void;
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
  /** The float outputs the accuracy was measured against (memoized per sample). */
  reference: Reference;
}

export { AUTO_SCALES, DEFAULT_HEADROOM, DEFAULT_SCALE } from './defaults.js';
import { AUTO_SCALES, DEFAULT_HEADROOM } from './defaults.js';

/** circom's optimisation level for every model: part of the recorded settings, as it changes the r1cs. */
// circom --O2 would substitute each dense dot product (a 785-term linear form in MNIST's MLP) into
// every constraint that uses it, A and B alike; snarkjs' prover walks all those coefficients on
// one thread. --O1 keeps them as linear constraints: on the MNIST MLP measured 24× fewer
// coefficients, a 5.6× smaller zkey, 2.6× faster compile and 2.1× faster prove, for 522 more
// (linear) constraints at the same ptau power.
const CIRCOM_OPTIMIZATION = 1;

/**
 * ONNX bytes → a compiled model directory: quantized plan, circom program, r1cs, witness wasm and
 * model.json with shapes, scales, per-layer constraints and the accuracy against onnxruntime.
 * Reproducible: the same ONNX bytes and options give byte-identical main.circom and main.r1cs on any
 * machine (calibration without samples is seeded; nothing records a time or a path), and model.json
 * `build` records the options (calibration samples go to calibration.json) for `zkinfer audit`.
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
  checkBudget(source, options.limits ?? {});
  const compiled = await compileCircom(files.buildDir, source.code, { optimization: CIRCOM_OPTIMIZATION, onProcess: options.onProcess });
  const name = options.name ?? graph.name;
  const calibration = options.samples ? canonicalJson(options.samples) : undefined;
  const build: BuildInfo = {
    settings: {
      name,
      scale,
      headroomBits,
      visibility,
      calibrationSha256: calibration === undefined ? null : sha256Hex(calibration),
      circomOptimization: CIRCOM_OPTIMIZATION,
      ...(hasGraphSettings(options.settings) ? { graph: options.settings } : {}),
      ...(options.acceptError ? { acceptError: true as const } : {}),
    },
    circomSha256: sha256Hex(source.code),
    r1csSha256: sha256Hex(readFileSync(compiled.r1csPath)),
  };
  const info: ModelInfo = {
    format: 'zkinfer-model/1',
    name,
    onnxSha256: sha256Hex(onnx),
    scale,
    headroomBits,
    visibility,
    inputs: quantized.inputs.map((inp, i) => ({ name: inp.name, dims: inp.dims, dtype: inp.dtype, scale: inp.scale, signal: source.inputSignals[i] })),
    outputs: quantized.outputs.map((o, i) => ({ name: o.name, dims: o.dims, dtype: o.dtype, scale: o.scale, signal: source.outputSignals[i] })),
    layers: source.layers,
    constraints: { layers: source.layers.reduce((s, l) => s + l.constraints, 0), nonLinear: compiled.nonLinear, r1cs: compiled.constraints },
    publicSignals: compiled.publicSignals,
    publicLayout: source.publicLayout,
    commitments: await commitmentSpecs(quantized, source.packing),
    accuracy,
    ...graphSettingsOf(prepared, options.settings),
    compileSeconds: compiled.seconds,
    build,
  };
  await checkCircuit(info, compiled.r1csPath);
  writeFileSync(files.onnx, onnx);
  if (calibration !== undefined) writeFileSync(files.calibration, `${calibration}\n`);
  writeFileSync(files.plan, planToJson(quantized));
  writeFileSync(files.info, `${JSON.stringify(info, null, 2)}\n`);
  progress('done', 1);
  return info;
}

/**
 * The plan counts the circuit's non-linear constraints exactly (checkCircuit holds the r1cs to it),
 * so the limits apply before circom runs.
 */
function checkBudget(source: CircuitSource, limits: NonNullable<CompileOptions['limits']>): void {
  const constraints = source.layers.reduce((s, l) => s + l.constraints, 0);
  if (limits.constraints !== undefined && constraints > limits.constraints) {
    throw new ZkError(
      'TOO_LARGE',
      `the circuit would have ${constraints} constraints (counted from the plan, before compiling), over the limit of ${limits.constraints}`,
      {
        constraints,
        limit: limits.constraints,
      },
    );
  }
  // The linear constraints circom keeps can still add a power at the edge: setup checks the r1cs again.
  // PLONK's gates are the non-linear constraints, the linear ones and the public signals: before
  // circom only the first and last are known, a lower bound that refuses no circuit that fits.
  if (limits.ptauPower !== undefined) {
    const nPublic = publicSignalCount(source.publicLayout);
    const system = limits.system ?? DEFAULT_PROOF_SYSTEM;
    const gates = PROOF_SYSTEM[system].countsPlonkGates ? constraints + nPublic : undefined;
    checkPtauBudget(requiredPower(constraints, nPublic, system, gates), limits.ptauPower, constraints);
  }
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
  const visibility = bindWeights(options.visibility ?? DEFAULT_VISIBILITY);
  progress('parse', 0);
  const prepared = prepareGraph(loadOnnx(onnx), options.settings, options.samples?.[0]);
  const { graph } = prepared;
  const samples = options.samples ?? randomSamples(graph, 8);
  samples.forEach((s) => checkSample(graph, s));
  const reference = options.reference ?? onnxruntimeReference(onnx, prepared);
  progress('quantize', 0.05);
  const quantizeAt = async (scale: number) => {
    const base = quantizeGraph(graph, { scale, visibility, maxConstraints: options.limits?.constraints });
    const quantized = calibrate(
      base,
      samples.map((s) => toIntegers(base.inputs, s)),
      headroomBits,
    );
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
  return { prepared, scale: chosen.scale, quantized: chosen.quantized, accuracy, reference };
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
    specs.weights = {
      tensors: packing.weights,
      value: String(
        await commit(
          plan.weights.map((w) => w.values),
          packing.weights,
        ),
      ),
    };
  }
  if (visibility.weights === 'public' && plan.weights.length) specs.weightsSha256 = weightsDigest(plan.weights.flatMap((w) => w.values));
  return specs;
}

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
      if (best && isZkError(e) && e.code === 'RANGE_TOO_WIDE') break;
      throw e;
    }
    if (tried.accuracy.withinTolerance) return tried;
    if (!best || tried.accuracy.maxAbsError < best.accuracy.maxAbsError) best = tried;
  }
  return best!;
}

/** A sample must hold one row per compiled input, each of its size (SHAPE_MISMATCH otherwise). */
export function checkSample(graph: OnnxGraph, sample: readonly number[][]): void {
  if (sample.length !== graph.inputs.length)
    throw new ZkError(
      'SHAPE_MISMATCH',
      `a sample has ${sample.length} input(s); the model takes ${graph.inputs.length} (${graph.inputs.map((i) => i.name).join(', ')})`,
    );
  graph.inputs.forEach((inp, i) => {
    if (sample[i].length !== sizeOf(inp.dims))
      throw new ZkError('SHAPE_MISMATCH', `input "${inp.name}" has ${sample[i].length} values; shape [${inp.dims}] needs ${sizeOf(inp.dims)}`, {
        input: inp.name,
      });
  });
}

/** Without calibration data: uniform floats in [-1, 1), booleans, and small integers, seeded. */
function randomSamples(graph: OnnxGraph, count: number): number[][][] {
  let seed = 0x2545f491;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  return Array.from({ length: count }, () =>
    graph.inputs.map((inp) =>
      Array.from({ length: sizeOf(inp.dims) }, () =>
        inp.dtype === 'float' ? next() * 2 - 1 : inp.dtype === 'bool' ? Math.round(next()) : Math.floor(next() * 4),
      ),
    ),
  );
}
