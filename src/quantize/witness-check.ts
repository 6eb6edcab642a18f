import { inRange } from '../commit/poseidon.js';
import { assertNever } from '../core/exhaustive.js';
import { sizeOf } from '../onnx/graph.js';
import { divideRound, evalForm, fits, roundHalfEven } from './evaluate.js';
import type { GadgetGroup, IntForm, QuantizedGraph } from './plan.js';
import { evalTable } from './table.js';

/** A gadget constraint a witness breaks: which layer, node and element, and what fails. */
export interface WitnessViolation {
  layer: number;
  node: string;
  op: string;
  element: number;
  what: string;
}

/**
 * Checks a full witness (every wire of the plan) against each gadget's relations, as the circuit's
 * constraints state them over integers (checkNoWrap proved at calibration that no form reaches the
 * field's modulus, so integer and field arithmetic agree): range checks, products, the division's
 * quotient, table values, zero and sign tests, assertions. This is the mock prover: it says whether
 * a proof would exist for this witness, without keys. Returns every violation (empty: satisfied).
 */
export function checkWitness(plan: QuantizedGraph, wires: readonly bigint[]): WitnessViolation[] {
  const violations: WitnessViolation[] = [];
  // Private and hashed inputs are range-checked in the circuit (boolean ones by their `boolean` group).
  plan.inputs.forEach((inp) => {
    const range = inp.range;
    if (!range) return;
    for (let k = 0; k < sizeOf(inp.dims); k++) {
      if (!inRange(wires[inp.firstWire + k], range))
        violations.push({ layer: -1, node: inp.name, op: 'input', element: k, what: `input outside its ${range.bits}-bit range check` });
    }
  });
  plan.groups.forEach((g, layer) => {
    const fail = (element: number, what: string) => violations.push({ layer, node: g.node, op: g.op, element, what });
    checkGroup(g, wires, fail);
  });
  return violations;
}

function checkGroup(g: GadgetGroup, wires: readonly bigint[], fail: (element: number, what: string) => void): void {
  const out = (k: number) => wires[g.firstWire + k];
  switch (g.kind) {
    case 'product':
      return g.a.forEach((a, k) => out(k) !== evalForm(a, wires) * evalForm(g.b[k], wires) && fail(k, 'out ≠ a·b'));
    case 'assert':
      return g.inputs.forEach((f, k) => evalForm(f, wires) !== 0n && fail(k, g.what));
    case 'linear':
      return g.inputs.forEach((f, k) => out(k) !== evalForm(f, wires) && fail(k, 'out ≠ its linear form'));
    case 'zero':
      return g.inputs.forEach((f, k) => out(k) !== (evalForm(f, wires) === 0n ? 1n : 0n) && fail(k, 'out ≠ [x = 0]'));
    case 'boolean':
      return g.inputs.forEach((f, k) => {
        const x = evalForm(f, wires);
        if ((x !== 0n && x !== 1n) || out(k) !== x) fail(k, 'x·(x − 1) ≠ 0');
      });
    case 'divide':
      return g.a.forEach((af, k) => {
        const a = evalForm(af, wires);
        const b = evalForm(g.b[k], wires);
        if (b === 0n || (g.positive && b < 0n)) return fail(k, 'divisor out of its domain');
        if (!fits(2n * (b < 0n ? -b : b), g.bBits + 1)) return fail(k, `divisor outside ${g.bBits} bits`);
        if (!fits(out(k), g.qBits)) return fail(k, `quotient outside ${g.qBits} bits`);
        if (out(k) !== divideRound(a, b, g.k)) fail(k, 'q·2|b| + r ≠ 2a·2^k + |b| with 0 ≤ r < 2|b|');
      });
    case 'shift':
    case 'table':
    case 'sign':
    case 'round':
      return g.inputs.forEach((f, k) => {
        const x = evalForm(f, wires);
        if (!fits(x, g.bits)) return fail(k, `input outside its ${g.bits}-bit range check`);
        if (out(k) !== expected(g, x)) fail(k, `out ≠ ${g.kind}(x)`);
      });
    default:
      return assertNever(g, 'gadget kind');
  }
}

function expected(g: Extract<GadgetGroup, { bits: number; inputs: IntForm[] }>, x: bigint): bigint {
  switch (g.kind) {
    case 'shift': {
      const q = x >> BigInt(g.shift);
      return g.relu && q < 0n ? 0n : q;
    }
    case 'table':
      return evalTable(g, x);
    case 'sign':
      return x >= 0n ? 1n : 0n;
    case 'round':
      return g.mode === 'trunc' ? (x < 0n ? -(-x >> BigInt(g.shift)) : x >> BigInt(g.shift)) : roundHalfEven(x, g.shift);
    default:
      return assertNever(g, 'gadget kind');
  }
}
