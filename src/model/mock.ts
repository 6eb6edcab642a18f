import type { TensorSpec } from '../core/tensor-spec.js';
import { fromFixedPoint } from '../core/fixed-point.js';
import { ZkError } from '../core/errors.js';
import { evaluate } from '../quantize/evaluate.js';
import { groupConstraints } from '../quantize/plan.js';
import { checkWitness, type WitnessViolation } from '../quantize/witness-check.js';
import { toIntegers, toleranceFor } from './accuracy.js';
import { checkSample, type CompileOptions, quantizeModel } from './compile.js';
import type { AccuracyReport } from './layout.js';

/** One output of a mock run: the plan's value (what a proof would show) next to the reference. */
export interface MockOutput extends Pick<TensorSpec, 'name' | 'dims' | 'scale'> {
  values: number[];
  reference: number[];
  maxAbsError: number;
}

export interface MockResult {
  scale: number;
  outputs: MockOutput[];
  /** Largest error over all outputs, and the tolerance the scale states for this input. */
  maxAbsError: number;
  tolerance: number;
  withinTolerance: boolean;
  /** Gadget constraints the witness breaks; empty when a proof exists. */
  violations: WitnessViolation[];
  /** Non-linear constraints of the plan's gadgets (the r1cs adds a few linear ones). */
  constraints: number;
  /** The compile's accuracy on its calibration samples. */
  calibration: AccuracyReport;
}

export interface MockOptions extends CompileOptions {
  /**
   * The expected outputs for `input` (e.g. the ONNX reference's `output_data`); onnxruntime's
   * float outputs when absent.
   */
  expected?: number[][];
}

/**
 * EZKL-style mock: everything a proof of `input` would check, without circom, keys or a proof. The
 * model is quantized and calibrated as `compile` does (on `samples`, else on the input itself), the
 * integer plan runs on the input with every range check on, and the witness it yields is checked
 * against every gadget's constraints (checkWitness). The outputs are compared element by element
 * with `expected` or onnxruntime. Throws what compile throws (ONNX_UNSUPPORTED, INACCURATE unless
 * `acceptError`), and INPUT_OUT_OF_RANGE when the input leaves the calibrated ranges.
 */
export async function mockModel(onnx: Uint8Array, input: number[][], options: MockOptions = {}): Promise<MockResult> {
  const expectedFor = options.expected;
  const {
    prepared,
    scale,
    quantized,
    accuracy,
    reference: referenceOf,
  } = await quantizeModel(onnx, {
    ...options,
    samples: options.samples ?? [input],
    // The expected outputs stand for the reference on the input itself when it is the only sample.
    ...(expectedFor && !options.samples ? { reference: async () => expectedFor } : {}),
  });
  if (options.samples) checkSample(prepared.graph, input);
  const { wires, outputs } = evaluate(quantized, toIntegers(quantized.inputs, input), { checkRanges: true });
  const violations = checkWitness(quantized, wires);
  // Without samples the input was the calibration sample: its reference run is reused.
  const expected = options.expected ?? (await referenceOf(input));
  if (expected.length !== outputs.length)
    throw new ZkError('SHAPE_MISMATCH', `the model has ${outputs.length} outputs, the expected values ${expected.length}`);
  let maxAbsReference = 0;
  const mocked = quantized.outputs.map((o, i): MockOutput => {
    const values = outputs[i].map((v) => fromFixedPoint(v, o.scale));
    const reference = expected[i];
    if (reference.length !== values.length) throw new ZkError('SHAPE_MISMATCH', `output ${o.name}: ${values.length} values, expected ${reference.length}`);
    let maxAbsError = 0;
    values.forEach((v, k) => {
      maxAbsReference = Math.max(maxAbsReference, Math.abs(reference[k]));
      const e = Math.abs(v - reference[k]);
      maxAbsError = Math.max(maxAbsError, Number.isNaN(e) ? Infinity : e);
    });
    return { name: o.name, dims: o.dims, scale: o.scale, values, reference, maxAbsError };
  });
  const maxAbsError = Math.max(0, ...mocked.map((o) => o.maxAbsError));
  const tolerance = toleranceFor(scale, maxAbsReference);
  return {
    scale,
    outputs: mocked,
    maxAbsError,
    tolerance,
    withinTolerance: maxAbsError <= tolerance,
    violations,
    constraints: quantized.groups.reduce((s, g) => s + groupConstraints(g), 0),
    calibration: accuracy,
  };
}
