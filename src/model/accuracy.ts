import { fromFixedPoint } from '../core/fixed-point.js';
import onnxProto from 'onnx-proto';
import { ZkError } from '../core/errors.js';
import { quantizeInputs } from '../io/input.js';
import { calibrate } from '../quantize/calibrate.js';
import { quantizeForPlan } from '../quantize/input.js';
import type { QuantizedGraph } from '../quantize/plan.js';
import { quantizeGraph } from '../quantize/trace.js';
import { runReference } from '../reference/onnxruntime.js';
import type { AccuracyReport, Divergence } from './layout.js';
import type { PreparedGraph } from './prepare.js';

/**
 * The promise we state: outputs within 2^(4 − scale) of the float model, relative to the larger of 1
 * and the model's largest output (1/16 at the default scale of 8).
 */
export const toleranceFor = (scale: number, maxAbsReference: number): number => 2 ** (4 - scale) * Math.max(1, maxAbsReference);

/** Float samples → the plan's fixed-point inputs. */
export const toIntegers = (inputs: readonly { name: string; scale: number }[], sample: readonly number[][]): bigint[][] =>
  quantizeInputs(
    sample,
    inputs.map((i) => i.scale),
    inputs.map((i) => i.name),
  );

/** The plan's outputs on one sample, as floats (range checks on: an out-of-range value throws). */
export function planOutputs(plan: QuantizedGraph, sample: readonly number[][]): number[][] {
  return quantizeForPlan(plan, sample).outputs.map((out, o) => out.map((v) => fromFixedPoint(v, plan.outputs[o].scale)));
}

/** The float model's outputs on a sample of the compiled inputs. */
export type Reference = (sample: readonly number[][]) => Promise<number[][]>;

/**
 * onnxruntime on the original model, fixed inputs filled in; each sample runs once, since the float
 * outputs do not depend on the scale and calibration measures up to four scales on the same samples.
 */
export function onnxruntimeReference(onnx: Uint8Array, prepared: PreparedGraph): Reference {
  const runs = new WeakMap<readonly number[][], Promise<number[][]>>();
  return (sample) => {
    let run = runs.get(sample);
    if (!run) runs.set(sample, (run = runReference(onnx, prepared.referenceInputs, prepared.referenceValues(sample))));
    return run;
  };
}

/**
 * The plan against the reference on every sample, element by element: the largest error, the output
 * element where it occurs (`worst`), and whether it is within the tolerance the scale states.
 */
export async function measureAccuracy(reference: Reference, plan: QuantizedGraph, samples: readonly number[][][]): Promise<AccuracyReport> {
  let maxAbsError = 0;
  let maxAbsReference = 0;
  let worst: AccuracyReport['worst'];
  const perOutput = plan.outputs.map((o) => ({ name: o.name, maxAbsError: 0 }));
  for (const [s, sample] of samples.entries()) {
    const expected = await reference(sample);
    planOutputs(plan, sample).forEach((out, o) =>
      out.forEach((v, k) => {
        const ref = expected[o][k];
        maxAbsReference = Math.max(maxAbsReference, Math.abs(ref));
        const error = Math.abs(v - ref);
        perOutput[o].maxAbsError = Math.max(perOutput[o].maxAbsError, Number.isNaN(error) ? Infinity : error);
        // NaN (a reference that is not finite) is an error too: the plan computes finite numbers only.
        if (error > maxAbsError || (Number.isNaN(error) && !Number.isNaN(maxAbsError))) {
          maxAbsError = Number.isNaN(error) ? Infinity : error;
          worst = { output: plan.outputs[o].name, index: k, sample: s, value: v, reference: ref };
        }
      }),
    );
  }
  const tolerance = toleranceFor(plan.scale, maxAbsReference);
  return {
    samples: samples.length,
    maxAbsError,
    maxAbsReference,
    tolerance,
    withinTolerance: maxAbsError <= tolerance,
    perOutput,
    ...(worst ? { worst } : {}),
  };
}

/**
 * The first node (in graph order) whose output, in a plan that exposes every node's output, is
 * further from onnxruntime's intermediate value than the tolerance for that value's size: where the
 * plan starts to compute something else. Both sides run a copy of the model whose graph outputs are
 * all node outputs. Undefined when no node diverges (the error then builds up gradually).
 */
export async function firstDivergence(
  onnx: Uint8Array,
  prepared: PreparedGraph,
  scale: number,
  headroomBits: number,
  samples: readonly number[][][],
  sample: readonly number[][],
): Promise<Divergence | undefined> {
  const { graph } = prepared;
  const known = new Set([...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]);
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const wide = { ...graph, outputs: [...producer.keys()].filter((o) => o && !known.has(o)).map((name) => ({ name, dims: [], dtype: 'float' as const })) };
  let names: string[];
  let ours: number[][];
  let reference: number[][];
  try {
    const base = quantizeGraph(wide, { scale, skipMissingOutputs: true });
    const plan = calibrate(
      base,
      samples.map((s) => toIntegers(base.inputs, s)),
      headroomBits,
    );
    names = plan.outputs.map((o) => o.name);
    ours = planOutputs(plan, sample);
    reference = await runReference(withOutputs(onnx, names), prepared.referenceInputs, prepared.referenceValues(sample));
  } catch {
    return undefined;
  }
  for (const [i, name] of names.entries()) {
    const ref = reference[i];
    const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const tolerance = toleranceFor(scale, maxRef);
    let error = 0;
    let index = 0;
    ours[i].forEach((v, k) => {
      const e = Math.abs(v - ref[k]);
      if (!(e <= error)) [error, index] = [Number.isNaN(e) ? Infinity : e, k];
    });
    if (ours[i].length !== ref.length) [error, index] = [Infinity, 0];
    if (error > tolerance) {
      const node = producer.get(name)!;
      return { node: node.name, op: node.opType, output: name, index, error, tolerance, value: ours[i][index], reference: ref[index] };
    }
  }
  return undefined;
}

/** The model with every named value also a graph output (onnxruntime infers their types). */
function withOutputs(onnx: Uint8Array, names: readonly string[]): Uint8Array {
  const { ModelProto, ValueInfoProto } = onnxProto.onnx;
  const m = ModelProto.decode(onnx);
  const graph = m.graph!;
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  graph.output = names.map((name) => (existing.has(name) ? graph.output!.find((o) => o.name === name)! : ValueInfoProto.create({ name })));
  return ModelProto.encode(m).finish();
}

/** The error a compile fails with when the plan does not compute what the model does. */
export function accuracyError(accuracy: AccuracyReport, divergence: Divergence | undefined): ZkError {
  const w = accuracy.worst;
  const where = w ? `output ${w.output}[${w.index}] is ${fmt(w.value)} where onnxruntime gives ${fmt(w.reference)}` : 'an output';
  const first = divergence
    ? `; the first node to diverge is ${divergence.node} (${divergence.op}): ${divergence.output}[${divergence.index}] is ${fmt(divergence.value)}, onnxruntime ${fmt(divergence.reference)}`
    : '';
  return new ZkError(
    'INACCURATE',
    `the quantized model does not compute what the ONNX model does: ${where}, an error of ${fmt(accuracy.maxAbsError)} against the stated tolerance of ${fmt(accuracy.tolerance)}${first}. ` +
      'Try a larger --scale or calibration inputs like the real ones; --accept-error compiles it anyway (and every proof says so)',
    { ...accuracy, ...(divergence ? { divergence } : {}) },
  );
}

const fmt = (v: number): string => (Number.isFinite(v) ? String(+v.toPrecision(6)) : String(v));
