import { ZkError } from '../core/errors.js';
import { assertNever } from '../core/exhaustive.js';
import { inRange } from '../commit/poseidon.js';
import { INPUT_LIMIT } from '../io/input.js';
import type { DivideGroup, GadgetGroup, IntForm, QuantizedGraph, TableGroup } from './plan.js';
import { SATURATION_HEADROOM, evalTable, fitTable, saturationWindow, tableInputScale, tableOutputBound } from './table.js';

/**
 * The quantized model's reference semantics on integers: exactly what the circuit computes. Used to
 * calibrate range widths, to reject an input before proving if it would overflow one, and to check
 * the circuit against.
 */
export interface Evaluation {
  wires: bigint[];
  outputs: bigint[][];
  /**
   * Per group, the largest |value| seen by each of its range checks: the input for shift, table,
   * sign and round groups; [|b|, |q|] for divisions; none for products and zero tests.
   */
  peaks: bigint[][];
}

const evalForm = (f: IntForm, wires: readonly bigint[]): bigint => {
  let acc = f.bias;
  for (let t = 0; t < f.wires.length; t++) acc += f.coefs[t] * wires[f.wires[t]];
  return acc;
};

/** floor(x / 2^k) for signed x: BigInt's >> already floors toward −∞. */
const floorShift = (x: bigint, k: number): bigint => x >> BigInt(k);

/** floor(x / d) for d > 0 (BigInt division truncates toward zero). */
const floorDiv = (x: bigint, d: bigint): bigint => {
  const q = x / d;
  return q * d > x ? q - 1n : q;
};

const abs = (x: bigint): bigint => (x < 0n ? -x : x);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** round(x / 2^k), ties to even (ONNX Round). */
export function roundHalfEven(x: bigint, k: number): bigint {
  if (k === 0) return x;
  const q = floorShift(x, k);
  const r = x - (q << BigInt(k));
  const half = 1n << BigInt(k - 1);
  return r > half || (r === half && (q & 1n) === 1n) ? q + 1n : q;
}

/** round(a·2^k / b), ties upward: the divide gadget's semantics. */
export function divideRound(a: bigint, b: bigint, k: number): bigint {
  const absB = abs(b);
  const na = b < 0n ? -a : a;
  return floorDiv(2n * (na << BigInt(k)) + absB, 2n * absB);
}

export function evaluate(graph: QuantizedGraph, inputs: readonly bigint[][], opts: { checkRanges: boolean }): Evaluation {
  const wires = new Array<bigint>(graph.wireCount);
  graph.weights.forEach((w) => w.values.forEach((v, k) => (wires[w.firstWire + k] = v)));
  graph.inputs.forEach((inp, i) => {
    inputs[i].forEach((v, k) => {
      if (opts.checkRanges && inp.range && !inRange(v, inp.range)) {
        const { bits, signed } = inp.range;
        // Said in the user's units too: the fixed-point range over 2^scale.
        const float = (x: bigint) => +(Number(x) / 2 ** inp.scale).toPrecision(6);
        const [min, max] = signed ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n] : [0n, (1n << BigInt(bits)) - 1n];
        throw new ZkError('INPUT_OUT_OF_RANGE',
          `input "${inp.name}"[${k}] = ${float(v)} is outside the range the circuit checks for this private input, ${float(min)} to ${float(max)} ` +
            `(in fixed point at scale ${inp.scale}: ${v} against the ${bits}-bit ${signed ? 'signed' : 'unsigned'} range); recompile with a calibration input that covers it`,
          { input: inp.name, index: k, bits, signed, value: float(v), min: float(min), max: float(max) });
      }
      wires[inp.firstWire + k] = v;
    });
  });
  const peaks = graph.groups.map((g, gi) => runGroup(g, gi, wires, opts.checkRanges));
  const outputs = graph.outputs.map((o) => o.forms.map((f) => evalForm(f, wires)));
  return { wires, outputs, peaks };
}

function outOfRange(g: GadgetGroup, index: number, x: bigint, bits: number, what = 'value'): never {
  throw new ZkError('INPUT_OUT_OF_RANGE',
    `${what} out of the circuit's calibrated range at layer ${index} (${g.op} node ${g.node}): it needs ${bitsFor(x)} signed bits, the circuit checks ${bits}; recompile with a calibration input that covers this range`,
    { layer: index, node: g.node, op: g.op, bits, needed: bitsFor(x) });
}

/** Whether x fits a signed range check of `bits` bits: [−2^(bits−1), 2^(bits−1)). */
const fits = (x: bigint, bits: number): boolean => {
  const limit = 1n << BigInt(Math.max(bits - 1, 0));
  return x >= -limit && x < limit;
};

function runGroup(g: GadgetGroup, index: number, wires: bigint[], checkRanges: boolean): bigint[] {
  const out = (k: number, v: bigint) => (wires[g.firstWire + k] = v);
  switch (g.kind) {
    case 'product':
      g.a.forEach((a, k) => out(k, evalForm(a, wires) * evalForm(g.b[k], wires)));
      return [];
    case 'zero':
      g.inputs.forEach((f, k) => out(k, evalForm(f, wires) === 0n ? 1n : 0n));
      return [];
    case 'linear':
      g.inputs.forEach((f, k) => out(k, evalForm(f, wires)));
      return [];
    case 'boolean':
      g.inputs.forEach((f, k) => {
        const v = evalForm(f, wires);
        if (v !== 0n && v !== 1n) throw new ZkError('INPUT_OUT_OF_RANGE', `boolean input ${g.node}[${k}] is ${v}, not 0 or 1`, { input: g.node, index: k });
        out(k, v);
      });
      return [];
    case 'divide':
      return runDivide(g, index, wires, checkRanges);
    case 'assert':
      g.inputs.forEach((f, k) => {
        if (evalForm(f, wires) !== 0n) {
          throw new ZkError('INPUT_OUT_OF_RANGE', `${g.what} at layer ${index} (${g.op} node ${g.node}), element ${k}`, { layer: index, node: g.node, op: g.op, element: k });
        }
      });
      return [];
    case 'shift':
    case 'table':
    case 'sign':
    case 'round':
      break;
    default:
      return assertNever(g, 'gadget kind');
  }
  let peak = 0n;
  g.inputs.forEach((f, k) => {
    const x = evalForm(f, wires);
    peak = max(peak, abs(x));
    if (checkRanges && !fits(x, g.bits)) outOfRange(g, index, x, g.bits);
    switch (g.kind) {
      case 'shift': {
        const q = floorShift(x, g.shift);
        return out(k, g.relu && q < 0n ? 0n : q);
      }
      case 'table':
        return out(k, evalTable(g, x));
      case 'sign':
        return out(k, x >= 0n ? 1n : 0n);
      case 'round':
        return out(k, g.mode === 'trunc' ? (x < 0n ? -(-x >> BigInt(g.shift)) : x >> BigInt(g.shift)) : roundHalfEven(x, g.shift));
      default:
        return assertNever(g, 'gadget kind');
    }
  });
  return [peak];
}

function runDivide(g: DivideGroup, index: number, wires: bigint[], checkRanges: boolean): bigint[] {
  let peakB = 0n;
  let peakQ = 0n;
  g.a.forEach((af, k) => {
    const a = evalForm(af, wires);
    const b = evalForm(g.b[k], wires);
    if (b === 0n || (g.positive && b < 0n)) {
      throw new ZkError('INPUT_OUT_OF_RANGE', `division by ${b === 0n ? 'zero' : 'a negative value where the divisor is positive by construction'} at layer ${index} (${g.op} node ${g.node}), element ${k}`,
        { layer: index, node: g.node, op: g.op, element: k });
    }
    const q = divideRound(a, b, g.k);
    peakB = max(peakB, abs(b));
    peakQ = max(peakQ, abs(q));
    if (checkRanges) {
      const half = 1n << BigInt(g.bBits - 1);
      if (g.positive ? b > half : !fits(b, g.bBits)) outOfRange(g, index, b, g.bBits, 'divisor');
      if (!fits(q, g.qBits)) outOfRange(g, index, q, g.qBits, 'quotient');
    }
    wires[g.firstWire + k] = q;
  });
  return [peakB, peakQ];
}

/** Signed bits needed to hold x: the range [-2^(b-1), 2^(b-1)). */
export function bitsFor(x: bigint): number {
  const m = x < 0n ? -x - 1n : x;
  return m.toString(2).length + (m === 0n ? 0 : 1);
}

/** Largest bit width a range check may have: a decomposition into at most 252 bits is unique in BN254's field. */
export const MAX_RANGE_BITS = 252;

function checkWidth(bits: number, g: GadgetGroup, i: number): number {
  if (bits > MAX_RANGE_BITS) {
    throw new ZkError('INPUT_OUT_OF_RANGE', `layer ${i} (${g.op} node ${g.node}) needs ${bits} bits, more than the field allows; lower the scale`, { layer: i, node: g.node });
  }
  return bits;
}

/**
 * Sets every range width from the peaks seen on calibration inputs, plus `headroom` bits of margin,
 * and fits the tables of `table` groups to their ranges. A shift's width must also cover the shift,
 * so the quotient keeps a sign bit. Groups are calibrated in order, each on the outputs of the
 * calibrated groups before it, so a table's approximation error is part of what later layers see.
 */
export function calibrate(graph: QuantizedGraph, samples: readonly bigint[][][], headroom: number): QuantizedGraph {
  let current = graph;
  // Tables change what later layers see once fitted: run again until every group is calibrated.
  const pending = () => current.groups.findIndex((g) => g.kind === 'table' && g.leaves.length === 0);
  for (let pass = 0; ; pass++) {
    const peaks = current.groups.map(() => [] as bigint[]);
    for (const s of samples) {
      evaluate(current, s, { checkRanges: false }).peaks.forEach((p, i) => p.forEach((v, j) => (peaks[i][j] = max(peaks[i][j] ?? 0n, v))));
    }
    const firstTable = pending();
    const groups = current.groups.map((g, i): GadgetGroup => {
      // Groups after an unfitted table wait for the next pass, when their inputs are final.
      if (firstTable >= 0 && i > firstTable) return g;
      return calibrateGroup(g, i, peaks[i], headroom, current.scale);
    });
    current = { ...current, groups };
    if (firstTable < 0) break;
    if (pass > current.groups.length) throw new ZkError('INTERNAL', 'calibration did not converge');
  }
  current = useProvenRanges({ ...current, inputs: calibrateInputs(current, samples, headroom) });
  checkNoWrap(current);
  return current;
}

/** Private and hashed inputs are range-checked in the circuit: to their calibrated width, like any range. */
function calibrateInputs(graph: QuantizedGraph, samples: readonly bigint[][][], headroom: number): QuantizedGraph['inputs'] {
  if (graph.visibility.input === 'public') return graph.inputs;
  return graph.inputs.map((inp, i) => {
    if (inp.dtype === 'bool') return { ...inp, range: { bits: 1, signed: false } };
    const values = samples.flatMap((s) => s[i]);
    const peak = values.reduce((a, v) => max(a, abs(v)), 0n);
    // Non-negative data (pixels, counts) saves the sign bit of every check.
    const signed = values.some((v) => v < 0n);
    return { ...inp, range: { bits: (signed ? bitsFor(peak) : peak.toString(2).length) + headroom, signed } };
  });
}

/**
 * Where the largest possible |input| of a range check is known from the gadgets before it (tables,
 * signs, booleans, checked ranges) rather than from the 2^64 input bound, and is narrower than the
 * calibrated width, the check takes the proven width: fewer constraints, and never out of range.
 * Shift groups marked `proven` (an op that needs it, such as LayerNorm's 1/σ, large for a row of
 * equal values) take it even when wider.
 */
function useProvenRanges(graph: QuantizedGraph): QuantizedGraph {
  const groups = [...graph.groups];
  walkBounds({ ...graph, groups }, (g, i, inputBound) => {
    if (g.kind !== 'shift' && g.kind !== 'round' && g.kind !== 'sign') return;
    if (inputBound >= NO_WRAP_LIMIT) return;
    const proven = Math.max(bitsFor(inputBound), g.kind === 'sign' ? 2 : g.shift + 2);
    if (proven < g.bits || (g.kind === 'shift' && g.proven && proven !== g.bits)) groups[i] = { ...g, bits: checkWidth(proven, g, i) };
    return groups[i];
  });
  return { ...graph, groups };
}

function calibrateGroup(g: GadgetGroup, i: number, peaks: bigint[], headroom: number, scale: number): GadgetGroup {
  const width = (peak: bigint | undefined) => bitsFor(peak ?? 0n) + headroom;
  switch (g.kind) {
    case 'product':
    case 'zero':
    case 'assert':
    case 'boolean':
    case 'linear':
      return g;
    case 'shift':
    case 'round':
      return { ...g, bits: checkWidth(Math.max(width(peaks[0]), g.shift + 2), g, i) };
    case 'sign':
      return { ...g, bits: checkWidth(Math.max(width(peaks[0]), 1), g, i) };
    case 'divide':
      return {
        ...g,
        bBits: checkWidth(g.bMax !== undefined ? bitsFor(g.bMax) : Math.max(width(peaks[0]), 2), g, i),
        qBits: checkWidth(g.qMax !== undefined ? bitsFor(g.qMax) : Math.max(width(peaks[1]), 2), g, i),
      };
    case 'table':
      return g.leaves.length ? g : calibrateTable(g, i, peaks[0] ?? 0n, headroom, scale);
    default:
      return assertNever(g, 'gadget kind');
  }
}

function calibrateTable(g: TableGroup, i: number, peak: bigint, headroom: number, scale: number): TableGroup {
  const inputScale = tableInputScale(g);
  const lsb = 2 ** -scale;
  let range = Math.max(bitsFor(peak) + headroom, g.shift + 2) - g.shift;
  const saturation = saturationWindow(g.fn, inputScale, lsb);
  let window = range;
  if (saturation !== undefined) {
    // Saturating functions cover a fixed window and return their limits beyond it, with a wider range check.
    window = saturation;
    range = Math.max(range, saturation) + SATURATION_HEADROOM;
  }
  const bits = checkWidth(range + g.shift, g, i);
  const fit = fitTable(g.fn, { scale: inputScale, outScale: g.outScale, window, saturates: saturation !== undefined, lsb });
  return { ...g, bits, window, ...fit };
}

/** Half of BN254's scalar field, less a range check's width: below it a form's integer value is its field value. */
const NO_WRAP_LIMIT = 2n ** 252n;

/**
 * Proves no affine form can wrap around the field for any admissible input (|input| < 2^64, each
 * gadget output within its range check): then every range check constrains the true integer, and a
 * proof cannot be made for an input whose integer evaluation overflows.
 */
export function checkNoWrap(graph: QuantizedGraph): void {
  walkBounds(graph, () => undefined, true);
}

/**
 * Walks the groups in order with a bound on every wire (inputs |q| < 2^64, each gadget's output from
 * its range check or its nature). `visit` sees each group with the largest bound of its inputs and
 * may return a replacement (used before the group's output bound is set); with `strict`, any form
 * that could reach 2^252 throws.
 */
function walkBounds(graph: QuantizedGraph, visit: (g: GadgetGroup, index: number, inputBound: bigint) => GadgetGroup | undefined, strict = false): void {
  const bound = new Array<bigint>(graph.wireCount);
  for (const inp of graph.inputs) {
    const n = inp.dims.reduce((a, b) => a * b, 1);
    // A public input, booleans included, is bounded by what verifiers check (on-chain too): |q| < 2^64;
    // a private one by its range check in the circuit.
    const b = inp.range === undefined ? INPUT_LIMIT : 1n << BigInt(inp.range.bits);
    for (let k = 0; k < n; k++) bound[inp.firstWire + k] = b;
  }
  for (const w of graph.weights) w.values.forEach((_, k) => (bound[w.firstWire + k] = 1n << BigInt(w.bits - 1)));
  const check = (b: bigint, where: string): bigint => {
    if (strict && b >= NO_WRAP_LIMIT) throw new ZkError('INPUT_OUT_OF_RANGE', `${where} could wrap around the field for large inputs; lower the scale`, { where });
    return b;
  };
  const formBound = (f: IntForm, where: string): bigint => {
    let b = abs(f.bias);
    f.wires.forEach((w, t) => (b += abs(f.coefs[t]) * bound[w]));
    return check(b, where);
  };
  graph.groups.forEach((g0, i) => {
    const where = `layer ${i} (${g0.op} node ${g0.node})`;
    const inputs = g0.kind === 'product' || g0.kind === 'divide' ? [] : g0.inputs;
    const g = visit(g0, i, inputs.reduce((m, f) => max(m, formBound(f, where)), 0n)) ?? g0;
    const set = (k: number, b: bigint) => (bound[g.firstWire + k] = b);
    switch (g.kind) {
      case 'shift':
      case 'round':
        g.inputs.forEach((f, k) => (formBound(f, where), set(k, 1n << BigInt(g.bits - 1 - g.shift))));
        break;
      case 'table': {
        const out = tableOutputBound(g);
        g.inputs.forEach((f, k) => (formBound(f, where), set(k, out)));
        break;
      }
      case 'sign':
      case 'zero':
      case 'boolean':
        g.inputs.forEach((f, k) => (formBound(f, where), set(k, 1n)));
        break;
      case 'assert':
        g.inputs.forEach((f) => formBound(f, where));
        break;
      case 'linear':
        g.inputs.forEach((f, k) => set(k, formBound(f, where)));
        break;
      case 'product':
        g.a.forEach((a, k) => set(k, check(formBound(a, where) * formBound(g.b[k], where), where)));
        break;
      case 'divide': {
        const q = 1n << BigInt(g.qBits - 1);
        g.a.forEach((a, k) => {
          // The constraint q·2|b| + r = 2a'·2^k + |b|, with |b| < 2^bBits and r < 2^bBits.
          check(2n * (formBound(a, where) << BigInt(g.k)) + (1n << BigInt(g.bBits)), where);
          formBound(g.b[k], where);
          check(q * (1n << BigInt(g.bBits + 1)) + (1n << BigInt(g.bBits)), where);
          set(k, q);
        });
        break;
      }
      default:
        assertNever(g, 'gadget kind');
    }
  });
  graph.outputs.forEach((o) => o.forms.forEach((f) => formBound(f, `output ${o.name}`)));
}
