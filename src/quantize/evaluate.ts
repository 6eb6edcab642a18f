import { fromFixedPoint } from '../core/fixed-point.js';
import { ZkError } from '../core/errors.js';
import { assertNever } from '../core/exhaustive.js';
import { inRange } from '../commit/poseidon.js';
import type { DivideGroup, GadgetGroup, IntForm, QuantizedGraph } from './plan.js';
import { evalTable } from './table.js';

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

/** Σ coefs·wires + bias: a form's integer value. */
export const evalForm = (f: IntForm, wires: readonly bigint[]): bigint => {
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

/** |x| and max(a, b) of bigints (Math's take numbers only). */
export const abs = (x: bigint): bigint => (x < 0n ? -x : x);
export const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

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

/**
 * Runs the plan on integer inputs (one array per graph input, at its scale), group by group in wire
 * order. With `checkRanges`, a value outside a range check (or a private input outside its range)
 * throws INPUT_OUT_OF_RANGE naming the layer: that input has no proof. Division by zero always throws.
 */
export function evaluate(graph: QuantizedGraph, inputs: readonly bigint[][], opts: { checkRanges: boolean }): Evaluation {
  const wires = new Array<bigint>(graph.wireCount);
  graph.weights.forEach((w) => w.values.forEach((v, k) => (wires[w.firstWire + k] = v)));
  graph.inputs.forEach((inp, i) => {
    inputs[i].forEach((v, k) => {
      if (opts.checkRanges && inp.range && !inRange(v, inp.range)) {
        const { bits, signed } = inp.range;
        // Said in the user's units too: the fixed-point range over 2^scale.
        const float = (x: bigint) => +fromFixedPoint(x, inp.scale).toPrecision(6);
        const [min, max] = signed ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n] : [0n, (1n << BigInt(bits)) - 1n];
        throw new ZkError(
          'INPUT_OUT_OF_RANGE',
          `input "${inp.name}"[${k}] = ${float(v)} is outside the range the circuit checks for this private input, ${float(min)} to ${float(max)} ` +
            `(in fixed point at scale ${inp.scale}: ${v} against the ${bits}-bit ${signed ? 'signed' : 'unsigned'} range); recompile with a calibration input that covers it`,
          { input: inp.name, index: k, bits, signed, value: float(v), min: float(min), max: float(max) },
        );
      }
      wires[inp.firstWire + k] = v;
    });
  });
  const peaks = graph.groups.map((g, gi) => runGroup(g, gi, wires, opts.checkRanges));
  const outputs = graph.outputs.map((o) => o.forms.map((f) => evalForm(f, wires)));
  return { wires, outputs, peaks };
}

/**
 * INPUT_OUT_OF_RANGE for a layer's range check. Where the checked value has a scale (the input of a
 * shift, table or round gadget), the message gives it and the checked range in the model's own
 * units, as the value would be in float, and then in fixed point.
 */
function outOfRange(g: GadgetGroup, index: number, x: bigint, bits: number, what = 'value'): never {
  const where = `at layer ${index} (${g.op} node ${g.node})`;
  const fixed = `it needs ${bitsFor(x)} signed bits, the circuit checks ${bits}`;
  const hint = 'recompile with a calibration input that covers this range';
  const details = { layer: index, node: g.node, op: g.op, bits, needed: bitsFor(x) };
  if (what !== 'value' || !('inScale' in g))
    throw new ZkError('INPUT_OUT_OF_RANGE', `${what} out of the circuit's calibrated range ${where}: ${fixed}; ${hint}`, details);
  const float = (v: bigint) => +fromFixedPoint(v, g.inScale).toPrecision(6);
  const limit = 1n << BigInt(Math.max(bits - 1, 0));
  const [value, min, max] = [float(x), float(-limit), float(limit)];
  throw new ZkError(
    'INPUT_OUT_OF_RANGE',
    `value ${value} out of the circuit's calibrated range ${where}: the circuit checks ${min} to ${max} there ` +
      `(in fixed point at scale ${g.inScale}: ${fixed}); ${hint}`,
    { ...details, value, min, max },
  );
}

/** Whether x fits a signed range check of `bits` bits: [−2^(bits−1), 2^(bits−1)). */
export const fits = (x: bigint, bits: number): boolean => {
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
          throw new ZkError('INPUT_OUT_OF_RANGE', `${g.what} at layer ${index} (${g.op} node ${g.node}), element ${k}`, {
            layer: index,
            node: g.node,
            op: g.op,
            element: k,
          });
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
      throw new ZkError(
        'INPUT_OUT_OF_RANGE',
        `division by ${b === 0n ? 'zero' : 'a negative value where the divisor is positive by construction'} at layer ${index} (${g.op} node ${g.node}), element ${k}`,
        { layer: index, node: g.node, op: g.op, element: k },
      );
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
