/**
 * The one path from float inputs to what a circuit proves: quantized at the plan's input scales and
 * run through the reference evaluator with the circuit's range checks. The service checks a request
 * with it before queueing, the prover before its witness, and the client library before proving on
 * the user's machine, so all three accept and refuse the same inputs and compute the same integers.
 */
import { quantizeInputs } from '../io/input.js';
import { evaluate } from './evaluate.js';
import type { QuantizedGraph } from './plan.js';

export interface QuantizedRun {
  /** Fixed-point inputs, one flat row-major array per graph input. */
  inputs: bigint[][];
  /** The outputs the circuit must compute on them (fixed point at the output scales). */
  outputs: bigint[][];
}

/**
 * Float inputs (one flat row-major array per graph input) → their fixed-point integers and the
 * outputs. Errors: INPUT_OUT_OF_RANGE for a value past the fixed-point range or past a range the
 * circuit checks (naming the layer).
 */
export function quantizeForPlan(plan: QuantizedGraph, values: readonly number[][]): QuantizedRun {
  const inputs = quantizeInputs(
    values,
    plan.inputs.map((i) => i.scale),
    plan.inputs.map((i) => i.name),
  );
  return { inputs, outputs: evaluate(plan, inputs, { checkRanges: true }).outputs };
}
