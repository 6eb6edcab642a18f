import { ZkError } from '../core/errors.js';
import { INPUT_LIMIT } from '../io/input.js';
import type { GadgetGroup, IntForm, QuantizedGraph } from './plan.js';

/**
 * The quantized model's reference semantics on integers: exactly what the circuit computes. Used to
 * calibrate range widths, to reject an input before proving if it would overflow one, and to check
 * the circuit against.
 */
export interface Evaluation {
  wires: bigint[];
  outputs: bigint[][];
  /** Per group, the largest |input| seen (shift groups only; 0 for products). */
  peaks: bigint[];
}

const evalForm = (f: IntForm, wires: readonly bigint[]): bigint => {
  let acc = f.bias;
  for (let t = 0; t < f.wires.length; t++) acc += f.coefs[t] * wires[f.wires[t]];
  return acc;
};

/** floor(x / 2^k) for signed x: BigInt's >> already floors toward −∞. */
const floorShift = (x: bigint, k: number): bigint => x >> BigInt(k);

const abs = (x: bigint): bigint => (x < 0n ? -x : x);

export function evaluate(graph: QuantizedGraph, inputs: readonly bigint[][], opts: { checkRanges: boolean }): Evaluation {
  const wires = new Array<bigint>(graph.wireCount);
  graph.inputs.forEach((inp, i) => inputs[i].forEach((v, k) => (wires[inp.firstWire + k] = v)));
  const peaks = graph.groups.map((g, gi) => runGroup(g, gi, wires, opts.checkRanges));
  const outputs = graph.outputs.map((o) => o.forms.map((f) => evalForm(f, wires)));
  return { wires, outputs, peaks };
}

function runGroup(g: GadgetGroup, index: number, wires: bigint[], checkRanges: boolean): bigint {
  if (g.kind === 'product') {
    g.a.forEach((a, k) => (wires[g.firstWire + k] = evalForm(a, wires) * evalForm(g.b[k], wires)));
    return 0n;
  }
  let peak = 0n;
  const limit = 1n << BigInt(Math.max(g.bits - 1, 0));
  g.inputs.forEach((f, k) => {
    const x = evalForm(f, wires);
    if (abs(x) > peak) peak = abs(x);
    if (checkRanges && (x >= limit || x < -limit)) {
      throw new ZkError('INPUT_OUT_OF_RANGE',
        `value out of the circuit's calibrated range at layer ${index} (${g.op} node ${g.node}): it needs ${bitsFor(x)} signed bits, the circuit checks ${g.bits}; recompile with a calibration input that covers this range`,
        { layer: index, node: g.node, op: g.op, bits: g.bits, needed: bitsFor(x) });
    }
    const q = floorShift(x, g.shift);
    wires[g.firstWire + k] = g.relu && q < 0n ? 0n : q;
  });
  return peak;
}

/** Signed bits needed to hold x: the range [-2^(b-1), 2^(b-1)). */
export function bitsFor(x: bigint): number {
  const m = x < 0n ? -x - 1n : x;
  return m.toString(2).length + (m === 0n ? 0 : 1);
}

/** Largest bit width a range check may have: a decomposition into at most 252 bits is unique in BN254's field. */
export const MAX_RANGE_BITS = 252;

/**
 * Sets every shift group's range width from the peaks seen on calibration inputs, plus `headroom`
 * bits of margin. The width must also cover the shift, so the quotient keeps a sign bit.
 */
export function calibrate(graph: QuantizedGraph, samples: readonly bigint[][][], headroom: number): QuantizedGraph {
  const peaks = graph.groups.map(() => 0n);
  for (const s of samples) evaluate(graph, s, { checkRanges: false }).peaks.forEach((p, i) => (peaks[i] = p > peaks[i] ? p : peaks[i]));
  const groups = graph.groups.map((g, i): GadgetGroup => {
    if (g.kind !== 'shift') return g;
    const bits = Math.max(bitsFor(peaks[i]) + headroom, g.shift + 2);
    if (bits > MAX_RANGE_BITS) {
      throw new ZkError('INPUT_OUT_OF_RANGE', `layer ${i} (${g.op} node ${g.node}) needs ${bits} bits, more than the field allows; lower the scale`, { layer: i, node: g.node });
    }
    return { ...g, bits };
  });
  const calibrated = { ...graph, groups };
  checkNoWrap(calibrated);
  return calibrated;
}

/** Half of BN254's scalar field, less a range check's width: below it a form's integer value is its field value. */
const NO_WRAP_LIMIT = 2n ** 252n;

/**
 * Proves no affine form can wrap around the field for any admissible input (|input| < 2^64, each
 * gadget output within its range check): then every range check constrains the true integer, and a
 * proof cannot be made for an input whose integer evaluation overflows.
 */
export function checkNoWrap(graph: QuantizedGraph): void {
  const bound = new Array<bigint>(graph.wireCount);
  for (const inp of graph.inputs) {
    const n = inp.dims.reduce((a, b) => a * b, 1);
    for (let k = 0; k < n; k++) bound[inp.firstWire + k] = inp.dtype === 'bool' ? 1n : INPUT_LIMIT;
  }
  const formBound = (f: IntForm, where: string): bigint => {
    let b = abs(f.bias);
    f.wires.forEach((w, t) => (b += abs(f.coefs[t]) * bound[w]));
    if (b >= NO_WRAP_LIMIT) throw new ZkError('INPUT_OUT_OF_RANGE', `${where} could wrap around the field for large inputs; lower the scale`, { where });
    return b;
  };
  graph.groups.forEach((g, i) => {
    const where = `layer ${i} (${g.op} node ${g.node})`;
    if (g.kind === 'shift') {
      g.inputs.forEach((f) => formBound(f, where));
      const out = 1n << BigInt(g.bits - 1 - g.shift);
      for (let k = 0; k < g.inputs.length; k++) bound[g.firstWire + k] = out;
    } else {
      g.a.forEach((a, k) => (bound[g.firstWire + k] = formBound(a, where) * formBound(g.b[k], where)));
    }
  });
  graph.outputs.forEach((o) => o.forms.forEach((f) => formBound(f, `output ${o.name}`)));
}
