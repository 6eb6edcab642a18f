import type { DType } from '../onnx/graph.js';

/**
 * The quantized graph: integer affine forms over wires, and the gadget groups that make new wires.
 * It is both the circuit's specification (the emitter prints it) and its reference semantics
 * (evaluate.ts runs it on integers exactly as the witness calculator will).
 */

/** Σ coefs[t]·wire[wires[t]] + bias, all integers (field elements once in the circuit). */
export interface IntForm {
  wires: number[];
  coefs: bigint[];
  bias: bigint;
}

/**
 * `shift` groups: out = floor(in / 2^shift), optionally ReLU'd, with `in` range-checked to `bits`
 * signed bits. One bit decomposition gives the range check, the remainder and the sign.
 * `product` groups: out = a·b, one constraint each.
 */
export type GadgetGroup =
  | {
      kind: 'shift';
      node: string;
      op: string;
      relu: boolean;
      inScale: number;
      shift: number;
      outScale: number;
      /** Signed range width of the input; set by calibration. */
      bits: number;
      firstWire: number;
      inputs: IntForm[];
    }
  | {
      kind: 'product';
      node: string;
      op: string;
      outScale: number;
      firstWire: number;
      a: IntForm[];
      b: IntForm[];
    };

export interface PlanInput {
  name: string;
  dims: number[];
  dtype: DType;
  scale: number;
  firstWire: number;
}

export interface PlanOutput {
  name: string;
  dims: number[];
  dtype: DType;
  scale: number;
  forms: IntForm[];
}

export interface QuantizedGraph {
  /** Fixed-point bits of activations and weights. */
  scale: number;
  wireCount: number;
  inputs: PlanInput[];
  groups: GadgetGroup[];
  outputs: PlanOutput[];
}

export const groupSize = (g: GadgetGroup): number => (g.kind === 'shift' ? g.inputs.length : g.a.length);

/** Non-linear constraints a group costs: the bit decomposition, plus one per ReLU or product. */
export const groupConstraints = (g: GadgetGroup): number =>
  g.kind === 'shift' ? g.inputs.length * (g.bits + (g.relu ? 1 : 0)) : g.a.length;
