import { ZkError } from '../core/errors.js';
import type { DType } from '../onnx/graph.js';
import { type Affine, combine, constant, isConstant, wireForm } from './affine.js';
import type { GadgetGroup, IntForm, PlanInput, PlanOutput, QuantizedGraph } from './plan.js';

/** Where a gadget comes from, for error messages, comments in the circuit and per-layer counts. */
export interface Origin {
  node: string;
  op: string;
}

/**
 * Collects wires and gadget groups while the tracer walks the graph. Each gadget quantizes its input
 * forms at the smallest scale that represents their coefficients exactly (up to `scale` fraction
 * bits), then shifts back down to `scale`: constant weights are free, and a value is only ever
 * rescaled by a gadget that range-checks it anyway.
 */
export class CircuitBuilder {
  private readonly wireScales: number[] = [];
  private readonly groups: GadgetGroup[] = [];
  private readonly inputs: PlanInput[] = [];

  constructor(readonly scale: number) {}

  addInput(name: string, dims: number[], dtype: DType, count: number): Affine[] {
    // Integers and booleans enter exactly; floats at the working scale.
    const inputScale = dtype === 'float' ? this.scale : 0;
    const firstWire = this.newWires(count, inputScale);
    this.inputs.push({ name, dims, dtype, scale: inputScale, firstWire });
    return Array.from({ length: count }, (_, i) => wireForm(firstWire + i));
  }

  /** max(x, 0) elementwise; constant elements fold without a gadget. */
  relu(xs: readonly Affine[], origin: Origin): Affine[] {
    return this.shiftGroup(xs, origin, true);
  }

  /** Brings forms whose scale exceeds the working scale back to it (round to nearest). */
  rescale(xs: readonly Affine[], origin: Origin): Affine[] {
    const needs = xs.some((x) => this.formScale(x) > this.scale);
    return needs ? this.shiftGroup(xs, origin, false) : [...xs];
  }

  /** a·b elementwise, one constraint each; computed operand pairs are first rescaled to the working scale. */
  product(as: readonly Affine[], bs: readonly Affine[], origin: Origin): Affine[] {
    // A constant factor is linear: it folds into the other form, which then needs no rescale.
    const live = as.map((x, i) => !isConstant(x) && !isConstant(bs[i]));
    const out: Affine[] = as.map((x, i) =>
      live[i] ? x : isConstant(x) ? combine([[bs[i], x.bias]]) : combine([[x, bs[i].bias]]),
    );
    const idx = live.flatMap((l, i) => (l ? [i] : []));
    if (idx.length === 0) return out;
    const a = this.rescale(idx.map((i) => as[i]), origin);
    const b = this.rescale(idx.map((i) => bs[i]), origin);
    const scaleA = this.groupScale(a);
    const scaleB = this.groupScale(b);
    const outScale = scaleA + scaleB;
    const firstWire = this.newWires(idx.length, outScale);
    this.groups.push({
      kind: 'product', ...origin, outScale, firstWire,
      a: a.map((x) => this.quantizeForm(x, scaleA, 0n)),
      b: b.map((x) => this.quantizeForm(x, scaleB, 0n)),
    });
    idx.forEach((i, k) => (out[i] = wireForm(firstWire + k)));
    return out;
  }

  /**
   * Finishes the graph: each output tensor is read at one scale, exact for all its elements. Output
   * forms feed no range check, so their coefficients keep `scale` significant bits however small
   * they are (a mean over 300 values keeps 1/300 to 8 significant bits) at no cost in constraints.
   */
  build(outputs: ReadonlyArray<{ name: string; dims: number[]; dtype: DType; forms: readonly Affine[] }>): QuantizedGraph {
    const planOutputs: PlanOutput[] = outputs.map((o) => {
      const live = o.forms.filter((f) => !isConstant(f));
      const outScale = live.length ? this.groupScale(live, true) : this.scale;
      return { name: o.name, dims: o.dims, dtype: o.dtype, scale: outScale, forms: o.forms.map((f) => this.quantizeForm(f, outScale, 0n)) };
    });
    return { scale: this.scale, wireCount: this.wireScales.length, inputs: this.inputs, groups: this.groups, outputs: planOutputs };
  }

  private shiftGroup(xs: readonly Affine[], origin: Origin, relu: boolean): Affine[] {
    const out = xs.map((x) => (isConstant(x) ? constant(relu ? Math.max(0, x.bias) : x.bias) : x));
    const idx = xs.flatMap((x, i) => (isConstant(x) ? [] : [i]));
    if (idx.length === 0) return out;
    const inScale = this.groupScale(idx.map((i) => xs[i]));
    const shift = Math.max(0, inScale - this.scale);
    const outScale = inScale - shift;
    // Adding half of the divisor before the floor rounds to nearest.
    const half = shift > 0 ? 1n << BigInt(shift - 1) : 0n;
    const firstWire = this.newWires(idx.length, outScale);
    this.groups.push({
      kind: 'shift', ...origin, relu, inScale, shift, outScale, bits: 0, firstWire,
      inputs: idx.map((i) => this.quantizeForm(xs[i], inScale, half)),
    });
    idx.forEach((i, k) => (out[i] = wireForm(firstWire + k)));
    return out;
  }

  private newWires(count: number, wireScale: number): number {
    const first = this.wireScales.length;
    for (let i = 0; i < count; i++) this.wireScales.push(wireScale);
    return first;
  }

  /**
   * The smallest scale at which every coefficient of the form is an integer, up to `scale` fraction
   * bits (absolute precision), or with `significant`, up to `scale` significant bits.
   */
  private formScale(x: Affine, significant = false): number {
    const budget = (c: number) => this.scale + (significant ? magnitudeBits(c) : 0);
    // The bias counts too: on an integer wire (scale 0), n + 0.3 must not be read as n + 0.5.
    let s = fractionBits(x.bias, this.scale);
    for (const [w, c] of x.terms) s = Math.max(s, this.wireScales[w] + fractionBits(c, budget(c)));
    return s;
  }

  private groupScale(xs: readonly Affine[], significant = false): number {
    return xs.reduce((s, x) => Math.max(s, this.formScale(x, significant)), 0);
  }

  private quantizeForm(x: Affine, atScale: number, offset: bigint): IntForm {
    const wires: number[] = [];
    const coefs: bigint[] = [];
    for (const [w, c] of x.terms) {
      const k = toBigInt(c * 2 ** (atScale - this.wireScales[w]));
      if (k !== 0n) {
        wires.push(w);
        coefs.push(k);
      }
    }
    return { wires, coefs, bias: toBigInt(x.bias * 2 ** atScale) + offset };
  }
}

function fractionBits(c: number, max: number): number {
  for (let k = 0; k < max; k++) {
    const v = c * 2 ** k;
    if (Math.abs(v - Math.round(v)) <= 1e-9 * Math.max(1, Math.abs(v))) return k;
  }
  return max;
}

/** Leading zero fraction bits of a small coefficient (0 for |c| >= 1), capped so scales stay sane. */
const magnitudeBits = (c: number): number => Math.min(24, Math.max(0, -Math.floor(Math.log2(Math.abs(c)))));

function toBigInt(v: number): bigint {
  if (!Number.isFinite(v)) throw new ZkError('INPUT_INVALID', `a constant of the model is not finite (${v})`);
  return BigInt(Math.round(v));
}
