import { ZkError } from '../core/errors.js';
import { assertNever } from '../core/exhaustive.js';
import { INPUT_LIMIT } from '../io/input.js';
import { abs, max } from './evaluate.js';
import type { GadgetGroup, IntForm, QuantizedGraph } from './plan.js';
import { tableOutputBound } from './table.js';

/** Half of BN254's scalar field, less a range check's width: below it a form's integer value is its field value. */
export const NO_WRAP_LIMIT = 2n ** 252n;

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
export function walkBounds(graph: QuantizedGraph, visit: (g: GadgetGroup, index: number, inputBound: bigint) => GadgetGroup | undefined, strict = false): void {
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
    if (strict && b >= NO_WRAP_LIMIT) throw new ZkError('RANGE_TOO_WIDE', `${where} could wrap around the field for large inputs; lower the scale`, { where });
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
    const g =
      visit(
        g0,
        i,
        inputs.reduce((m, f) => max(m, formBound(f, where)), 0n),
      ) ?? g0;
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
