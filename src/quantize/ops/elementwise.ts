import { type DType, dtypeOfElemType } from '../../onnx/graph.js';
import { type Affine, add, combine, constant, isConstant, scale, shift, sub } from '../affine.js';
import { broadcastDims, broadcastIndex, type SymTensor } from '../tensor.js';
import type { OpContext, OpImpl } from './context.js';
import { outputSize } from './shape.js';

/** The dtype of a result over two operands: float over int over bool. */
export const widerType = (a: DType, b: DType): DType => (a === 'float' || b === 'float' ? 'float' : a === 'int' || b === 'int' ? 'int' : 'bool');

/**
 * Broadcasts tensors to one shape (ONNX multidirectional broadcasting); their element lists, aligned.
 * The output is bounded before the index arrays are allocated: [n,1] + [1,n] is n² elements from two
 * small inputs.
 */
export function broadcast(ctx: OpContext, ...ts: SymTensor[]): { dims: number[]; data: Affine[][] } {
  let dims = ts[0].dims;
  for (const t of ts.slice(1)) dims = broadcastDims(dims, t.dims) ?? ctx.shapeError(`shapes ${ts.map((x) => `[${x.dims}]`).join(' and ')} do not broadcast`);
  outputSize(ctx, dims);
  return { dims, data: ts.map((t) => Array.from(broadcastIndex(t.dims, dims), (i) => t.data[i])) };
}

/** Broadcasts two tensors and combines their element lists, column by column so gadgets stay grouped. */
export function binary(ctx: OpContext, a: SymTensor, b: SymTensor, f: (x: Affine[], y: Affine[]) => Affine[]): SymTensor {
  const {
    dims,
    data: [xs, ys],
  } = broadcast(ctx, a, b);
  return { dims, dtype: widerType(a.dtype, b.dtype), data: f(xs, ys) };
}

const zipWith = (f: (x: Affine, y: Affine) => Affine) => (xs: Affine[], ys: Affine[]) => xs.map((x, i) => f(x, ys[i]));
const map = (t: SymTensor, f: (x: Affine) => Affine): SymTensor => ({ ...t, data: t.data.map(f) });

const mul = (ctx: OpContext, xs: Affine[], ys: Affine[]): Affine[] => ctx.builder.product(xs, ys, ctx.origin);

/** a / b: by a constant it folds into a linear form; by a computed value it is a divide gadget (b = 0 has no proof). */
function div(ctx: OpContext, xs: Affine[], ys: Affine[]): Affine[] {
  if (ys.some((y) => isConstant(y) && y.bias === 0)) ctx.fail('division by zero');
  return ctx.builder.divide(xs, ys, ctx.origin);
}

/**
 * x^e for constant exponents: whole exponents from 0 to 16 by repeated squaring (products, exact up to
 * the rescales), any other exponent by a table of x^e (x ≥ 0 for fractional e, as ONNX gives NaN below).
 */
function pow(ctx: OpContext, xs: Affine[], ys: Affine[]): Affine[] {
  const exps = ys.map((y) => {
    if (!isConstant(y)) ctx.fail('the exponent must be a constant');
    return y.bias;
  });
  if (xs.every(isConstant)) return xs.map((x, i) => constant(x.bias ** exps[i]));
  const small = (e: number) => Number.isInteger(e) && e >= 0 && e <= 16;
  const out = [...xs];
  const bySquaring = exps.flatMap((e, i) => (small(e) ? [i] : []));
  if (bySquaring.length)
    powSquaring(
      ctx,
      bySquaring.map((i) => xs[i]),
      bySquaring.map((i) => exps[i]),
    ).forEach((v, k) => (out[bySquaring[k]] = v));
  for (const e of new Set(exps.filter((v) => !small(v)))) {
    const idx = exps.flatMap((v, i) => (v === e ? [i] : []));
    ctx.builder
      .table(
        idx.map((i) => xs[i]),
        { name: 'pow', params: [e, 2 ** -(ctx.builder.scale + 1)] },
        ctx.origin,
      )
      .forEach((v, k) => (out[idx[k]] = v));
  }
  return out;
}

function powSquaring(ctx: OpContext, xs: Affine[], exps: number[]): Affine[] {
  // Columns of equal exponent become one product group per squaring step.
  let result = exps.map(() => constant(1));
  let base = xs;
  for (let bit = 1; exps.some((e) => e >= bit); bit <<= 1) {
    const take = exps.map((e) => (e & bit) !== 0);
    if (take.some(Boolean))
      result = ctx.builder.product(
        result,
        base.map((b, i) => (take[i] ? b : constant(1))),
        ctx.origin,
      );
    if (exps.some((e) => e >= bit << 1)) base = ctx.builder.product(base, base, ctx.origin);
  }
  return result;
}

const binaryOp =
  (f: (ctx: OpContext, xs: Affine[], ys: Affine[]) => Affine[]): OpImpl =>
  (ctx) => [binary(ctx, ctx.input(0), ctx.input(1), (xs, ys) => f(ctx, xs, ys))];

/** A variadic op folded pairwise (Sum, Max, Min, Mean's sum). */
const variadic =
  (f: (ctx: OpContext, xs: Affine[], ys: Affine[]) => Affine[]): OpImpl =>
  (ctx) => {
    let acc = ctx.input(0);
    for (let i = 1; i < ctx.inputCount; i++) acc = binary(ctx, acc, ctx.input(i), (xs, ys) => f(ctx, xs, ys));
    return [acc];
  };

/** max(x, y) = y + relu(x − y): one ReLU gadget per pair. */
export const maxOf = (ctx: OpContext, xs: Affine[], ys: Affine[], exact = false): Affine[] =>
  reluOf(
    ctx,
    xs.map((x, i) => sub(x, ys[i])),
    exact,
  ).map((r, i) => add(ys[i], r));
/** min(x, y) = x − relu(x − y). */
export const minOf = (ctx: OpContext, xs: Affine[], ys: Affine[], exact = false): Affine[] =>
  reluOf(
    ctx,
    xs.map((x, i) => sub(x, ys[i])),
    exact,
  ).map((r, i) => sub(xs[i], r));
/** ReLU rounded to the working scale, or `exact` at the forms' own scale. */
const reluOf = (ctx: OpContext, xs: Affine[], exact: boolean): Affine[] => (exact ? ctx.builder.reluExact(xs, ctx.origin) : ctx.builder.relu(xs, ctx.origin));

/** LeakyRelu and PRelu: y = α·x + (1 − α)·relu(x), linear in relu(x), so one ReLU gadget. */
function leaky(ctx: OpContext, x: SymTensor, alpha: SymTensor): SymTensor {
  if (!broadcastDims(alpha.dims, x.dims)?.every((d, i) => d === x.dims[i])) ctx.shapeError(`slope [${alpha.dims}] does not broadcast to [${x.dims}]`);
  const slopeIndex = broadcastIndex(alpha.dims, x.dims);
  const relu = ctx.builder.relu(x.data, ctx.origin);
  return {
    ...x,
    data: x.data.map((xi, i) => {
      const a = alpha.data[slopeIndex[i]];
      if (!isConstant(a)) ctx.fail('the slope must be a constant');
      return combine([
        [xi, a.bias],
        [relu[i], 1 - a.bias],
      ]);
    }),
  };
}

/** clip(x) = lo + relu(x − lo) − relu(x − hi). */
export function clip(ctx: OpContext, x: SymTensor, lo: number, hi: number): SymTensor {
  const data = Number.isFinite(lo)
    ? ctx.builder
        .relu(
          x.data.map((v) => shift(v, -lo)),
          ctx.origin,
        )
        .map((r) => shift(r, lo))
    : x.data;
  if (!Number.isFinite(hi)) return { ...x, data };
  const over = ctx.builder.relu(
    data.map((v) => shift(v, -hi)),
    ctx.origin,
  );
  return { ...x, data: data.map((v, i) => sub(v, over[i])) };
}

function clipBounds(ctx: OpContext): [number, number] {
  if (ctx.opset < 11) return [ctx.float('min', -Infinity), ctx.float('max', Infinity)];
  const bound = (i: number, fallback: number) => (ctx.optional(i) ? ctx.constInput(i, 'the clip bound')[0] : fallback);
  return [bound(1, -Infinity), bound(2, Infinity)];
}

const identity: OpImpl = (ctx) => [ctx.input(0)];

export function cast(ctx: OpContext): SymTensor[] {
  const x = ctx.input(0);
  const to = ctx.int('to', 1);
  const target = dtypeOfElemType(to);
  if (!target) return ctx.fail(`to = element type ${to}`);
  if (x.data.every(isConstant)) {
    const conv = (v: number) => (target === 'bool' ? Number(v !== 0) : target === 'int' ? Math.trunc(v) : v);
    return [{ dims: x.dims, dtype: target, data: x.data.map((v) => constant(conv(v.bias))) }];
  }
  // To bool: nonzero is true (a zero test, unless the values are 0/1 already).
  if (target === 'bool') {
    if (x.data.every((v) => ctx.builder.isBoolean(v))) return [{ ...x, dtype: target }];
    return [{ dims: x.dims, dtype: target, data: ctx.builder.markBoolean(ctx.builder.isZero(x.data, ctx.origin).map((z) => combine([[z, -1]], 1))) }];
  }
  // A computed float to an integer type truncates toward zero; other casts keep the value.
  if (x.dtype === 'float' && target === 'int' && !x.data.every((v) => ctx.builder.scaleOf(v) === 0)) {
    return [{ dims: x.dims, dtype: target, data: ctx.builder.roundHalfEven(x.data, ctx.origin, 'trunc') }];
  }
  return [{ ...x, dtype: target }];
}

/** Input slots of these ops that are weights (may be private wires; see weightInitializers in trace.ts). */
export const elementwiseWeightSlots: Record<string, readonly number[]> = { Add: [0, 1], Sub: [0, 1], Mul: [0, 1] };

export const elementwiseOps: Record<string, OpImpl> = {
  Add: binaryOp((_, xs, ys) => zipWith(add)(xs, ys)),
  Sub: binaryOp((_, xs, ys) => zipWith(sub)(xs, ys)),
  Mul: binaryOp(mul),
  Div: (ctx) => {
    const [a, b] = [ctx.input(0), ctx.input(1)];
    if (widerType(a.dtype, b.dtype) === 'float') return [binary(ctx, a, b, (xs, ys) => div(ctx, xs, ys))];
    // Integer Div (shape arithmetic such as size // 2) truncates toward zero, like onnxruntime.
    return [
      binary(ctx, a, b, (xs, ys) =>
        xs.map((x, i) => {
          if (!isConstant(x) || !isConstant(ys[i])) ctx.fail('integer division of a value computed from the inputs is not supported');
          if (ys[i].bias === 0) ctx.fail('division by zero');
          return constant(Math.trunc(x.bias / ys[i].bias));
        }),
      ),
    ];
  },
  Pow: binaryOp(pow),
  Sum: variadic((_, xs, ys) => zipWith(add)(xs, ys)),
  Max: variadic(maxOf),
  Min: variadic(minOf),
  Neg: (ctx) => [map(ctx.input(0), (x) => scale(x, -1))],
  Relu: (ctx) => [{ ...ctx.input(0), data: ctx.builder.relu(ctx.input(0).data, ctx.origin) }],
  LeakyRelu: (ctx) => [leaky(ctx, ctx.input(0), { dims: [], dtype: 'float', data: [constant(ctx.float('alpha', 0.01))] })],
  PRelu: (ctx) => [leaky(ctx, ctx.input(0), ctx.input(1))],
  Clip: (ctx) => [clip(ctx, ctx.input(0), ...clipBounds(ctx))],
  Identity: identity,
  Cast: cast,
};
