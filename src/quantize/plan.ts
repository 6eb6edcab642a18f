import type { TensorSpec } from '../core/tensor-spec.js';
import { assertNever } from '../core/exhaustive.js';
import type { DigitRange } from '../commit/poseidon.js';
import type { ModelVisibility } from '../commit/visibility.js';

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
 */
export interface ShiftGroup {
  kind: 'shift';
  node: string;
  op: string;
  relu: boolean;
  inScale: number;
  shift: number;
  outScale: number;
  /** Signed range width of the input; set by calibration. */
  bits: number;
  /** Take the width proven from the gadgets before (when finite), not calibration's. */
  proven?: boolean;
  firstWire: number;
  inputs: IntForm[];
}

/** `product` groups: out = a·b, one constraint each. */
export interface ProductGroup {
  kind: 'product';
  node: string;
  op: string;
  outScale: number;
  firstWire: number;
  a: IntForm[];
  b: IntForm[];
}

/** A smooth unary function as the table gadget knows it: a name from functions.ts and its parameters. */
export interface TableFunction {
  name: string;
  params: number[];
}

/**
 * One segment of a table: the window positions w whose top `depth` bits equal `index`, i.e.
 * [index·2^(window−depth), (index+1)·2^(window−depth)). On it, out = c0 + c1·w.
 */
export interface TableLeaf {
  depth: number;
  index: number;
  c0: bigint;
  c1: bigint;
}

/**
 * `table` groups: a piecewise-linear approximation of a unary function. The input is range-checked
 * to `bits` signed bits by one bit decomposition; v = floor(in / 2^shift) is the value at scale
 * `inScale − shift`. Inside the window [−2^(window−1), 2^(window−1)) the position w = v + 2^(window−1)
 * selects a leaf by its top bits, and out = c0 + c1·w; below the window out = `low`, above it `high`
 * (saturation; only when `bits − shift > window`). Leaves and window are set by calibration.
 */
export interface TableGroup {
  kind: 'table';
  node: string;
  op: string;
  fn: TableFunction;
  inScale: number;
  shift: number;
  outScale: number;
  bits: number;
  window: number;
  leaves: TableLeaf[];
  low: bigint;
  high: bigint;
  /** Largest |table − f| over every input of the window, in real units (set with the leaves). */
  maxError: number;
  firstWire: number;
  inputs: IntForm[];
}

/**
 * `divide` groups: out = round(a·2^k / b) (ties away from −∞), by a witness quotient q and remainder
 * r with q·2|b| + r = 2a'·2^k + |b|, 0 ≤ r < 2|b| and q range-checked to `qBits` signed bits. With
 * `positive`, b ≥ 1 is enforced by those checks; otherwise b is range-checked to `bBits` signed bits
 * and its sign taken from the decomposition. b = 0 has no witness. `bBits` bounds 2|b| < 2^bBits.
 */
export interface DivideGroup {
  kind: 'divide';
  node: string;
  op: string;
  k: number;
  positive: boolean;
  outScale: number;
  bBits: number;
  qBits: number;
  /** Proven bounds set by the op (|b| ≤ bMax, |q| ≤ qMax): calibration does not narrow them. */
  bMax?: bigint;
  qMax?: bigint;
  firstWire: number;
  a: IntForm[];
  b: IntForm[];
}

/** `zero` groups: out = 1 if in = 0 else 0; three constraints, no range check (forms cannot wrap). */
export interface ZeroGroup {
  kind: 'zero';
  node: string;
  op: string;
  firstWire: number;
  inputs: IntForm[];
}

/** `sign` groups: out = 1 if in ≥ 0 else 0, the top bit of a `bits`-bit range check. */
export interface SignGroup {
  kind: 'sign';
  node: string;
  op: string;
  bits: number;
  firstWire: number;
  inputs: IntForm[];
}

/**
 * `round` groups: out = round(in / 2^shift), ties to even (ONNX Round), or with mode `trunc` toward
 * zero (a Cast from float to an integer type); `in` range-checked to `bits`.
 */
export interface RoundGroup {
  kind: 'round';
  node: string;
  op: string;
  mode?: 'halfEven' | 'trunc';
  inScale: number;
  shift: number;
  outScale: number;
  bits: number;
  firstWire: number;
  inputs: IntForm[];
}

/**
 * `assert` groups: each form must be 0 (a linear constraint, free), e.g. that a computed index hit
 * exactly one position. They make no wires; an input that breaks one has no proof.
 */
export interface AssertGroup {
  kind: 'assert';
  node: string;
  op: string;
  /** What the assertion means, for the prover's error message. */
  what: string;
  firstWire: number;
  inputs: IntForm[];
}

/**
 * `boolean` groups: out = in, with in·(in − 1) = 0 (one constraint): a boolean graph input is 0 or 1
 * inside the circuit, whatever a verifier checks, so gadgets that rely on it (And, Or, Where, a
 * one-hot built from booleans) stay sound, and later forms are bounded by 1.
 */
export interface BooleanGroup {
  kind: 'boolean';
  node: string;
  op: string;
  firstWire: number;
  inputs: IntForm[];
}

/**
 * `linear` groups: out = in, each output a wire pinned by one linear constraint and no non-linear one.
 * The tracer materialises wide forms this way where folding them into every reader would cost more:
 * a form of k terms read by f later forms costs k·f terms folded, k + f materialised (see
 * materialiseWhereCheaper in trace.ts). The wire is exact: the form is taken at the scale where its
 * coefficients are integers (or rounded there, as any gadget input is).
 */
export interface LinearGroup {
  kind: 'linear';
  node: string;
  op: string;
  outScale: number;
  firstWire: number;
  inputs: IntForm[];
}

export type GadgetGroup = ShiftGroup | ProductGroup | TableGroup | DivideGroup | ZeroGroup | SignGroup | RoundGroup | AssertGroup | BooleanGroup | LinearGroup;

export interface PlanInput extends TensorSpec {
  firstWire: number;
  /**
   * The range a private or hashed input is checked to inside the circuit, set by calibration:
   * unsigned when no calibration value is negative (booleans: 1 bit). Public inputs have none:
   * verifiers bound them to |q| < 2^64.
   */
  range?: DigitRange;
}

/**
 * A weight tensor that enters the circuit as wires (weights not `fixed`): its quantized values are
 * witness (or public) inputs, each range-checked to `bits` signed bits, the width its values need.
 */
export interface PlanWeight {
  name: string;
  dims: number[];
  scale: number;
  bits: number;
  firstWire: number;
  values: bigint[];
}

export interface PlanOutput extends TensorSpec {
  forms: IntForm[];
}

export interface QuantizedGraph {
  /** Fixed-point bits of activations and weights. */
  scale: number;
  visibility: ModelVisibility;
  wireCount: number;
  inputs: PlanInput[];
  /** Weights as wires, in wire order; empty when weights are fixed. */
  weights: PlanWeight[];
  groups: GadgetGroup[];
  outputs: PlanOutput[];
}

export const groupSize = (g: GadgetGroup): number => (g.kind === 'product' || g.kind === 'divide' ? g.a.length : g.inputs.length);

/** Multiplications the leaf tree of a table costs: one per split below the root, one for the slope, and the window test. */
export function tableConstraints(g: TableGroup): number {
  const windowed = g.bits - g.shift > g.window;
  // A tree of L leaves has L − 1 splits; the root's split is free (b, 1 − b) unless it is gated by the window flag.
  const splits = Math.max(0, g.leaves.length - 1) - (windowed || g.leaves.length <= 1 ? 0 : 1);
  const slopes = new Set(g.leaves.map((l) => l.c1));
  // One slope for every leaf folds into a constant times w, unless the window flag gates it.
  const slope = slopes.size > 1 || (windowed && !slopes.has(0n)) ? 1 : 0;
  return g.bits + splits + slope + (windowed ? 3 + (g.leaves.length <= 1 ? 1 : 0) : 0);
}

/** Non-linear constraints one element of a group costs (element k: divisions by a constant numerator save one). */
export function elementConstraints(g: GadgetGroup, k = 0): number {
  switch (g.kind) {
    case 'shift':
      return g.bits + (g.relu ? 1 : 0);
    case 'product':
      return 1;
    case 'table':
      return tableConstraints(g);
    case 'divide':
      // q·|b|, the q range check, 0 ≤ r and r < 2|b|; signed: b's range check, |b| and ±a.
      return 1 + g.qBits + 2 * g.bBits + (g.positive ? 0 : g.bBits + 1 + (g.a[k].wires.length ? 1 : 0));
    case 'zero':
      return 3;
    case 'boolean':
      return 1;
    case 'sign':
      return g.bits;
    case 'round':
      return g.mode === 'trunc' ? g.bits + 4 : g.bits + (g.shift > 1 ? 5 : g.shift === 1 ? 1 : 0);
    case 'assert':
    case 'linear':
      return 0;
    default:
      return assertNever(g, 'gadget kind');
  }
}

/** Non-linear constraints a group costs. */
export function groupConstraints(g: GadgetGroup): number {
  if (g.kind === 'divide') return g.a.reduce((s, _, k) => s + elementConstraints(g, k), 0);
  return groupSize(g) * elementConstraints(g);
}
