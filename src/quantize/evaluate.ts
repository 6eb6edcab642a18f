import { ZkError } from '../core/errors.js';
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
  return { ...graph, groups };
}
