import { ZkError } from '../core/errors.js';
import type { DType } from '../onnx/graph.js';
import { type Affine, combine, constant, isConstant, wireForm } from './affine.js';
import { bitsFor } from './evaluate.js';
import { evalFunction } from './functions.js';
import type { ModelVisibility } from '../commit/visibility.js';
import type { GadgetGroup, IntForm, PlanInput, PlanOutput, PlanWeight, QuantizedGraph, TableFunction } from './plan.js';

/** Where a gadget comes from, for error messages, comments in the circuit and per-layer counts. */
export interface Origin {
  node: string;
  op: string;
}

/**
 * Builds the QuantizedGraph (plan.ts): collects wires and gadget groups while the tracer walks the
 * graph, and `build()` returns the plan. (It emits no circom: circuit/emit.ts prints the plan.) Each gadget quantizes its input
 * forms at the smallest scale that represents their coefficients exactly (up to `scale` fraction
 * bits), then shifts back down to `scale`: constant weights are free, and a value is only ever
 * rescaled by a gadget that range-checks it anyway.
 */
export class PlanBuilder {
  private readonly wireScales: number[] = [];
  private readonly groups: GadgetGroup[] = [];
  private readonly inputs: PlanInput[] = [];
  private readonly weights: PlanWeight[] = [];
  /** Wires known to be 0 or 1 (boolean inputs, zero tests, signs, products of booleans). */
  private readonly boolWires = new Set<number>();
  /** Forms known to be 0 or 1 (Or, Xor, Not of booleans…), by identity. */
  private readonly boolForms = new WeakSet<Affine>();
  /** For an index form computed by ArgMax: its one-hot indicators, by identity. */
  private readonly oneHots = new WeakMap<Affine, Affine[]>();
  /** Forms that are Σ hot_k·values[k] for a one-hot vector `hot` (a lookup in a constant table), by identity. */
  private readonly choices = new WeakMap<Affine, { hot: Affine[]; values: number[] }>();

  /** Gadget output wires so far: each costs at least one non-linear constraint. */
  private gadgetWires = 0;

  /** `maxConstraints`: refuse (TOO_LARGE) once the gadgets need more, before they are built. */
  constructor(
    readonly scale: number,
    readonly visibility: ModelVisibility,
    private readonly maxConstraints = Number.POSITIVE_INFINITY,
  ) {}

  addInput(name: string, dims: number[], dtype: DType, count: number): Affine[] {
    // Integers and booleans enter exactly; floats at the working scale.
    const inputScale = dtype === 'float' ? this.scale : 0;
    const firstWire = this.newWires(count, inputScale, false);
    this.inputs.push({ name, dims, dtype, scale: inputScale, firstWire });
    if (dtype !== 'bool') return Array.from({ length: count }, (_, i) => wireForm(firstWire + i));
    // Booleans are checked to be 0 or 1 in the circuit (one constraint each); the model reads the checked wires.
    const checked = this.newWires(count, 0);
    this.groups.push({
      kind: 'boolean',
      node: name,
      op: 'input',
      firstWire: checked,
      inputs: Array.from({ length: count }, (_, i) => ({ wires: [firstWire + i], coefs: [1n], bias: 0n })),
    });
    for (let i = 0; i < count; i++) this.boolWires.add(checked + i);
    return Array.from({ length: count }, (_, i) => wireForm(checked + i));
  }

  /**
   * A weight tensor as wires at the working scale (weights not `fixed`). Its values are known now, so
   * its range check is exactly the signed width they need: a multiplication by it then costs one
   * constraint per use, and the check `bits` per weight.
   */
  addWeights(name: string, dims: number[], values: ArrayLike<number>): Affine[] {
    const quantized = Array.from(values, (v) => toBigInt(v * 2 ** this.scale));
    const bits = quantized.reduce((b, q) => Math.max(b, bitsFor(q)), 1);
    const firstWire = this.newWires(quantized.length, this.scale, false);
    this.weights.push({ name, dims, scale: this.scale, bits, firstWire, values: quantized });
    return quantized.map((_, i) => wireForm(firstWire + i));
  }

  /** max(x, 0) elementwise; constant elements fold without a gadget. */
  relu(xs: readonly Affine[], origin: Origin): Affine[] {
    return this.shiftGroup(xs, origin, true);
  }

  /** max(x, 0) at the forms' own scale: exact, where relu() rounds forms finer than the working scale. */
  reluExact(xs: readonly Affine[], origin: Origin): Affine[] {
    return this.shiftGroup(xs, origin, true, Infinity);
  }

  /** Whether x is known to be 0 or 1. */
  isBoolean(x: Affine): boolean {
    if (this.boolForms.has(x)) return true;
    if (isConstant(x)) return x.bias === 0 || x.bias === 1;
    if (x.terms.size !== 1) return false;
    const [[w, c]] = x.terms;
    return this.boolWires.has(w) && ((c === 1 && x.bias === 0) || (c === -1 && x.bias === 1));
  }

  /** Records forms as 0 or 1 (the op proves it). */
  markBoolean<T extends Affine>(xs: T[]): T[] {
    xs.forEach((x) => this.boolForms.add(x));
    return xs;
  }

  /** Bounds of a form whose wires are all known booleans; undefined when a wire is unbounded. */
  bounds(x: Affine): [number, number] | undefined {
    let lo = x.bias;
    let hi = x.bias;
    for (const [w, c] of x.terms) {
      if (!this.boolWires.has(w)) return undefined;
      if (c < 0) lo += c;
      else hi += c;
    }
    return [lo, hi];
  }

  setOneHot(index: Affine, hot: Affine[]): void {
    this.oneHots.set(index, hot);
  }

  oneHotOf(index: Affine): Affine[] | undefined {
    return this.oneHots.get(index);
  }

  setChoice(x: Affine, hot: Affine[], values: number[]): void {
    this.choices.set(x, { hot, values });
  }

  choiceOf(x: Affine): { hot: Affine[]; values: number[] } | undefined {
    return this.choices.get(x);
  }

  /** Each form must be 0 for the input to have a proof (free: linear constraints). */
  assertZero(xs: readonly Affine[], origin: Origin, what: string): void {
    const live = xs.filter((x) => !isConstant(x));
    for (const x of xs) if (isConstant(x) && x.bias !== 0) throw new ZkError('MODEL_INVALID', `node ${origin.node} (${origin.op}): ${what}`, { ...origin });
    if (!live.length) return;
    const atScale = this.groupScale(live);
    this.groups.push({ kind: 'assert', ...origin, what, firstWire: this.wireScales.length, inputs: live.map((x) => this.quantizeForm(x, atScale, 0n)) });
  }

  /**
   * Each distinct wide form (two or more wire terms) as a new wire pinned to it by one linear
   * constraint (a `linear` group, no non-linear constraint): later forms then read one wire instead
   * of its terms. The wire is at the scale where the forms' coefficients are integers, so it holds
   * the form exactly (up to `scale` fraction bits per coefficient, as any gadget input). Forms whose
   * bounds or one-hot structure an op may still ask about (booleans, lookups) stay folded.
   */
  materialise(xs: readonly Affine[], origin: Origin): Affine[] {
    const wide = [...new Set(xs)].filter(
      (x) => x.terms.size > 1 && this.bounds(x) === undefined && !this.isBoolean(x) && !this.oneHots.has(x) && !this.choices.has(x),
    );
    if (!wide.length) return [...xs];
    const outScale = this.groupScale(wide);
    const firstWire = this.newWires(wide.length, outScale, false);
    this.groups.push({ kind: 'linear', ...origin, outScale, firstWire, inputs: wide.map((x) => this.quantizeForm(x, outScale, 0n)) });
    const wires = new Map(wide.map((x, k) => [x, wireForm(firstWire + k)]));
    return xs.map((x) => wires.get(x) ?? x);
  }

  /** How far the plan has grown: rollback(mark()) undoes everything after it (an op tried two ways). */
  mark(): { wires: number; groups: number; gadgetWires: number } {
    return { wires: this.wireScales.length, groups: this.groups.length, gadgetWires: this.gadgetWires };
  }

  rollback(to: { wires: number; groups: number; gadgetWires: number }): void {
    this.wireScales.length = to.wires;
    this.groups.length = to.groups;
    this.gadgetWires = to.gadgetWires;
    for (const w of this.boolWires) if (w >= to.wires) this.boolWires.delete(w);
  }

  /** Brings forms whose scale exceeds the working scale back to it (round to nearest). */
  rescale(xs: readonly Affine[], origin: Origin, toScale = this.scale, opts: { proven?: boolean } = {}): Affine[] {
    const needs = xs.some((x) => this.formScale(x) > toScale);
    if (!needs) return [...xs];
    const out = this.shiftGroup(xs, origin, false, toScale);
    const g = this.groups[this.groups.length - 1];
    if (opts.proven && g.kind === 'shift') g.proven = true;
    return out;
  }

  /**
   * a·b elementwise, one constraint each; computed operand pairs are first rescaled to the working
   * scale, unless `rescale` is false (the product then carries both operands' scales).
   */
  product(as: readonly Affine[], bs: readonly Affine[], origin: Origin, opts: { rescale?: boolean } = {}): Affine[] {
    // A constant factor is linear: it folds into the other form, which then needs no rescale.
    const live = as.map((x, i) => !isConstant(x) && !isConstant(bs[i]));
    const out: Affine[] = as.map((x, i) => (live[i] ? x : isConstant(x) ? combine([[bs[i], x.bias]]) : combine([[x, bs[i].bias]])));
    const idx = live.flatMap((l, i) => (l ? [i] : []));
    if (idx.length === 0) return out;
    const rescale = opts.rescale ?? true;
    const a = rescale
      ? this.rescaleOnce(
          idx.map((i) => as[i]),
          origin,
        )
      : idx.map((i) => as[i]);
    const b = rescale
      ? this.rescaleOnce(
          idx.map((i) => bs[i]),
          origin,
        )
      : idx.map((i) => bs[i]);
    const scaleA = this.groupScale(a);
    const scaleB = this.groupScale(b);
    const outScale = scaleA + scaleB;
    const firstWire = this.newWires(idx.length, outScale);
    idx.forEach((i, k) => this.isBoolean(as[i]) && this.isBoolean(bs[i]) && this.boolWires.add(firstWire + k));
    this.groups.push({
      kind: 'product',
      ...origin,
      outScale,
      firstWire,
      a: a.map((x) => this.quantizeForm(x, scaleA, 0n)),
      b: b.map((x) => this.quantizeForm(x, scaleB, 0n)),
    });
    idx.forEach((i, k) => (out[i] = wireForm(firstWire + k)));
    return out;
  }

  /** rescale() of each distinct form once (a MatMul reads every element of a row or column many times). */
  private rescaleOnce(xs: readonly Affine[], origin: Origin): Affine[] {
    if (!xs.some((x) => this.formScale(x) > this.scale)) return [...xs];
    const slot = new Map<Affine, number>();
    const unique: Affine[] = [];
    const at = xs.map((x) => {
      let k = slot.get(x);
      if (k === undefined) slot.set(x, (k = unique.push(x) - 1));
      return k;
    });
    const done = this.rescale(unique, origin);
    return at.map((k) => done[k]);
  }

  /**
   * fn(x) elementwise by a piecewise-linear table (see table.ts); constant elements fold. The input
   * is rounded to the working scale inside the gadget; the output wire is at that scale plus the
   * working scale (a slope needs those fraction bits), which later gadgets shift back for free.
   * `inputScale` keeps more input bits; `extraOutputBits` finer slopes, for flat functions on wide ranges.
   */
  table(xs: readonly Affine[], fn: TableFunction, origin: Origin, opts: { inputScale?: number; extraOutputBits?: number } = {}): Affine[] {
    const out = xs.map((x) => (isConstant(x) ? constant(evalFunction(fn, x.bias)) : x));
    const idx = xs.flatMap((x, i) => (isConstant(x) ? [] : [i]));
    if (idx.length === 0) return out;
    const inScale = this.groupScale(idx.map((i) => xs[i]));
    const shift = Math.max(0, inScale - (opts.inputScale ?? this.scale));
    const outScale = inScale - shift + this.scale + (opts.extraOutputBits ?? 0);
    const half = shift > 0 ? 1n << BigInt(shift - 1) : 0n;
    const firstWire = this.newWires(idx.length, outScale);
    this.groups.push({
      kind: 'table',
      ...origin,
      fn,
      inScale,
      shift,
      outScale,
      bits: 0,
      window: 0,
      leaves: [],
      low: 0n,
      high: 0n,
      maxError: 0,
      firstWire,
      inputs: idx.map((i) => this.quantizeForm(xs[i], inScale, half)),
    });
    idx.forEach((i, k) => (out[i] = wireForm(firstWire + k)));
    return out;
  }

  /**
   * a / b elementwise, rounded to `outScale` fraction bits (default: the working scale). A constant
   * divisor folds into a linear form. With `positive`, b ≥ 1 (in its integer units) is part of what
   * the gadget proves; otherwise b may have either sign. b = 0 has no proof: the prover refuses it.
   * `bMax`/`qMax` are bounds the op proves (|b| and |q| in integer units), used instead of calibration.
   */
  divide(
    as: readonly Affine[],
    bs: readonly Affine[],
    origin: Origin,
    opts: { positive?: boolean; outScale?: number; bMax?: (bScale: number) => bigint; qMax?: bigint } = {},
  ): Affine[] {
    const out = as.map((a, i) => {
      const b = bs[i];
      if (!isConstant(b)) return a;
      if (b.bias === 0) throw new ZkError('MODEL_INVALID', `node ${origin.node} (${origin.op}): division by the constant 0`, { ...origin });
      return combine([[a, 1 / b.bias]]);
    });
    const idx = bs.flatMap((b, i) => (isConstant(b) ? [] : [i]));
    if (idx.length === 0) return out;
    const outScale = opts.outScale ?? this.scale;
    const scaleA = this.groupScale(idx.map((i) => as[i]));
    let scaleB = this.groupScale(idx.map((i) => bs[i]));
    // q = a·2^k / b at scale scaleA + k − scaleB; a finer b stands in for a negative k.
    let k = outScale - scaleA + scaleB;
    if (k < 0) {
      scaleB -= k;
      k = 0;
    }
    const firstWire = this.newWires(idx.length, outScale);
    this.groups.push({
      kind: 'divide',
      ...origin,
      k,
      positive: opts.positive ?? false,
      outScale,
      bBits: 0,
      qBits: 0,
      ...(opts.bMax ? { bMax: opts.bMax(scaleB) } : {}),
      ...(opts.qMax !== undefined ? { qMax: opts.qMax } : {}),
      firstWire,
      a: idx.map((i) => this.quantizeForm(as[i], scaleA, 0n)),
      b: idx.map((i) => this.quantizeForm(bs[i], scaleB, 0n)),
    });
    idx.forEach((i, j) => (out[i] = wireForm(firstWire + j)));
    return out;
  }

  /** 1 where x = 0, else 0 (exact on the quantized values); three constraints each, no range check. */
  isZero(xs: readonly Affine[], origin: Origin): Affine[] {
    return this.exactGroup(xs, origin, 'zero', (v) => (v === 0 ? 1 : 0));
  }

  /** 1 where x ≥ 0, else 0: the sign bit of a range check. */
  nonNegative(xs: readonly Affine[], origin: Origin): Affine[] {
    return this.exactGroup(xs, origin, 'sign', (v) => (v >= 0 ? 1 : 0));
  }

  /** floor(x) elementwise, as an integer (scale 0) wire. */
  floor(xs: readonly Affine[], origin: Origin): Affine[] {
    return this.shiftGroup(xs, origin, false, 0, false);
  }

  /** round(x) elementwise, ties to even (or toward zero with `trunc`), as an integer (scale 0) wire. */
  roundHalfEven(xs: readonly Affine[], origin: Origin, mode: 'halfEven' | 'trunc' = 'halfEven'): Affine[] {
    const out = xs.map((x) => (isConstant(x) ? constant(mode === 'trunc' ? Math.trunc(x.bias) : roundEven(x.bias)) : x));
    const idx = xs.flatMap((x, i) => (isConstant(x) ? [] : [i]));
    if (idx.length === 0) return out;
    const inScale = this.groupScale(idx.map((i) => xs[i]));
    if (inScale === 0) return out;
    const firstWire = this.newWires(idx.length, 0);
    this.groups.push({
      kind: 'round',
      ...origin,
      ...(mode === 'trunc' ? { mode } : {}),
      inScale,
      shift: inScale,
      outScale: 0,
      bits: 0,
      firstWire,
      inputs: idx.map((i) => this.quantizeForm(xs[i], inScale, 0n)),
    });
    idx.forEach((i, k) => (out[i] = wireForm(firstWire + k)));
    return out;
  }

  /**
   * The forms as forms that are exact at their scale: a form whose coefficients or bias are off the
   * grid (a linear layer's 1/3, a bias of 0.1) is rounded onto a wire at the working scale by a shift
   * group; others are returned as they are. Exact tests between forms (ArgMax's max = v) need this:
   * a gadget quantizes its input form, so a difference of off-grid forms is not what it computed.
   */
  onGrid(xs: readonly Affine[], origin: Origin): Affine[] {
    const off = xs.flatMap((x, i) => (isConstant(x) || this.exactAt(x, this.formScale(x)) ? [] : [i]));
    if (!off.length) return [...xs];
    const toScale = Math.min(this.scale, ...off.map((i) => this.formScale(xs[i])));
    const rounded = this.shiftGroup(
      off.map((i) => xs[i]),
      origin,
      false,
      toScale,
    );
    const out = [...xs];
    off.forEach((i, k) => (out[i] = rounded[k]));
    return out;
  }

  /** Whether every coefficient and the bias of the form are integers at `atScale`. */
  private exactAt(x: Affine, atScale: number): boolean {
    const whole = (v: number) => Math.abs(v - Math.round(v)) <= 1e-9 * Math.max(1, Math.abs(v));
    if (!whole(x.bias * 2 ** atScale)) return false;
    for (const [w, c] of x.terms) if (!whole(c * 2 ** (atScale - this.wireScales[w]))) return false;
    return true;
  }

  /** The fixed-point scale an affine form is exact at (see formScale). */
  scaleOf(x: Affine): number {
    return this.formScale(x);
  }

  /** The scale of a wire. */
  wireScale(wire: number): number {
    return this.wireScales[wire];
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
    return {
      scale: this.scale,
      visibility: this.visibility,
      wireCount: this.wireScales.length,
      inputs: this.inputs,
      weights: this.weights,
      groups: this.groups,
      outputs: planOutputs,
    };
  }

  /**
   * floor((x + half) / 2^shift) (round to nearest) down to the working scale, or with `toScale` to
   * that scale, and without `round` a plain floor.
   */
  private shiftGroup(xs: readonly Affine[], origin: Origin, relu: boolean, toScale = this.scale, round = true): Affine[] {
    const fold = (v: number) => (round || !Number.isFinite(toScale) ? v : Math.floor(v * 2 ** toScale) / 2 ** toScale);
    const out = xs.map((x) => (isConstant(x) ? constant(relu ? Math.max(0, fold(x.bias)) : fold(x.bias)) : x));
    const idx = xs.flatMap((x, i) => (isConstant(x) ? [] : [i]));
    if (idx.length === 0) return out;
    const inScale = this.groupScale(idx.map((i) => xs[i]));
    const shift = Number.isFinite(toScale) ? Math.max(0, inScale - toScale) : 0;
    const outScale = inScale - shift;
    // Adding half of the divisor before the floor rounds to nearest.
    const half = shift > 0 && round ? 1n << BigInt(shift - 1) : 0n;
    const firstWire = this.newWires(idx.length, outScale);
    this.groups.push({
      kind: 'shift',
      ...origin,
      relu,
      inScale,
      shift,
      outScale,
      bits: 0,
      firstWire,
      inputs: idx.map((i) => this.quantizeForm(xs[i], inScale, half)),
    });
    idx.forEach((i, k) => (out[i] = wireForm(firstWire + k)));
    return out;
  }

  /**
   * A group whose output is a 0/1 wire computed exactly from the form (zero tests, signs). The form
   * is taken at the scale of its wire terms, where it is an integer W plus the constant c·2^s: then
   * W + c·2^s ≥ 0 iff W + floor(c·2^s) ≥ 0, and W + c·2^s = 0 is impossible unless c·2^s is whole,
   * so comparisons against constants are exact on the quantized values, however fine the constant.
   */
  private exactGroup(xs: readonly Affine[], origin: Origin, kind: 'zero' | 'sign', fold: (v: number) => number): Affine[] {
    const out = xs.map((x) => (isConstant(x) ? constant(fold(x.bias)) : x));
    const idx = xs.flatMap((x, i) => (isConstant(x) ? [] : [i]));
    if (idx.length === 0) return out;
    const inScale = idx.reduce((s, i) => Math.max(s, this.termScale(xs[i])), 0);
    const live: number[] = [];
    const inputs: IntForm[] = [];
    for (const i of idx) {
      const c = xs[i].bias * 2 ** inScale;
      const whole = Math.abs(c - Math.round(c)) <= 1e-9 * Math.max(1, Math.abs(c));
      if (kind === 'zero' && !whole) {
        out[i] = constant(0);
        continue;
      }
      const form = this.quantizeForm({ bias: 0, terms: xs[i].terms }, inScale, 0n);
      form.bias = toBigInt(whole ? Math.round(c) : Math.floor(c));
      live.push(i);
      inputs.push(form);
    }
    if (!live.length) return out;
    const firstWire = this.newWires(live.length, 0);
    live.forEach((_, k) => this.boolWires.add(firstWire + k));
    this.groups.push(kind === 'zero' ? { kind, ...origin, firstWire, inputs } : { kind, ...origin, bits: 0, firstWire, inputs });
    live.forEach((i, k) => (out[i] = wireForm(firstWire + k)));
    return out;
  }

  /** The scale at which a form's wire terms are integers (its bias ignored). */
  private termScale(x: Affine): number {
    let s = 0;
    for (const [w, c] of x.terms) s = Math.max(s, this.wireScales[w] + fractionBits(c, this.scale));
    return s;
  }

  /**
   * `count` new wires at `wireScale`. A gadget's outputs (`gadget`, the default; not the graph's
   * inputs, weights or materialised forms) count toward maxConstraints, one each at least, before
   * anything is built for them.
   */
  private newWires(count: number, wireScale: number, gadget = true): number {
    if (gadget && (this.gadgetWires += count) > this.maxConstraints) {
      throw new ZkError(
        'TOO_LARGE',
        `the circuit would have more than ${this.maxConstraints} constraints (counted while planning, before compiling), the limit`,
        { limit: this.maxConstraints },
      );
    }
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

/** Round half to even, as ONNX Round. */
export function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

function toBigInt(v: number): bigint {
  if (!Number.isFinite(v)) throw new ZkError('MODEL_INVALID', `a constant of the model is not finite (${v})`);
  return BigInt(Math.round(v));
}
